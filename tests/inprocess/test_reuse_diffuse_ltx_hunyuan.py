"""Reuse-Diffuse on LTX-Video and HunyuanVideo 1.5: ComfyUI's LTXV and HunyuanVideo15 models with tiny
random weights, 5-D latents, the causal anchor and held context of video_extension."""
import pytest
import torch

from inprocess.helpers import capture_inputs
from comfy_test_nodes import tiny, tiny_dit
from tolerance import fp32_close
from vidlift.nodes.glue.comfy_glue import holds_frames_clean
from vidlift.nodes.core.errors import NodeInputError
from vidlift.nodes.glue.model_families import comfy_class, video_adapter_for
from vidlift.nodes.vidrd import ReuseDiffuseExtender, ReuseDiffuseSampler
from vidlift.nodes.core.video_extension import VideoClip

STEPS, OVERLAP = 4, 2
# name: (model_base class, model, VAE, latent [1, C, 5, h, w], what the family's text encoder adds to a cond)
FAMILIES = {
    "ltx": ("comfy.model_base:LTXV", tiny_dit.ltxv, tiny.ltxv_vae_model, (1, 128, 5, 2, 2),
            {"attention_mask": torch.ones(1, 77, dtype=torch.long)}),
    "hunyuan15": ("comfy.model_base:HunyuanVideo15", tiny_dit.hunyuan_video15, tiny.hunyuan_video15_vae_model,
                  (1, 32, 5, 4, 4), {"pooled_output": None}),
}


@pytest.fixture(scope="module", params=list(FAMILIES))
def family(request):
    base, model, vae, shape, extra = FAMILIES[request.param]
    if comfy_class(base) is None:
        pytest.skip(f"this ComfyUI has no {base}")
    conds = tiny.conditioning(10), tiny.conditioning(11)
    for c in conds:
        c[0][1].update(extra)
    return request.param, model(), vae(), shape, conds


def first_clip(model, conds, shape):
    out = ReuseDiffuseSampler.execute(model, *conds, {"samples": torch.zeros(shape)}, 7, STEPS, 3.0).args
    return out[0]["samples"], out[1]


def extend(model, conds, shape, previous=None, clips=1, keep=True, overlap=OVERLAP):
    out = ReuseDiffuseExtender.execute(model, *conds, {"samples": torch.zeros(shape)}, 7, STEPS, 3.0, clips, overlap,
                                       1.0, 0.4, "reverse (reference)", keep, previous).args
    return out[0]["samples"], out[1]


def test_boundaries_line_up_in_latent_space(family):
    """The new clip's context positions are the previous clip's tail exactly (held by the inpaint mask; the LATENT
    in/out scaling rounds once each way), chained extenders equal one extender making more clips, and the long latent
    decodes in one VAE call to c·(T − 1) + 1 frames with the registry's causal factor c (8 LTX, 4 HunyuanVideo 1.5)."""
    _, model, vae, shape, conds = family
    clip0, last = first_clip(model, conds, shape)
    assert clip0.shape == shape and isinstance(last, VideoClip)
    kept, last1 = extend(model, conds, shape, last)               # keep_overlap: context (2 frames) + new (2 frames)
    assert kept.shape[2] == 4 and fp32_close(kept[:, :, :2], clip0[:, :, 3:5])
    assert (kept[:, :, 2:] - clip0[:, :, 3:5]).abs().max() > 1e-2               # the new frames are new
    new, last2 = extend(model, conds, shape, last1, keep=False)
    assert fp32_close(last2.latent[:, :, 1:3], last1.latent[:, :, 3:5])
    together, _ = extend(model, conds, shape, clips=3, keep=False)    # clip 0 + two extensions in one node
    assert together.shape[2] == 5 + 2 + 2
    assert torch.equal(together[:, :, :5], clip0) and fp32_close(together[:, :, 5:7], kept[:, :, 2:])
    assert fp32_close(together[:, :, 7:], new)
    c = video_adapter_for(model).temporal
    with torch.no_grad():
        assert vae.decode(together).reshape(-1, *vae.decode(together[:, :, :1]).shape[-3:]).shape[0] == c * 8 + 1


def test_what_the_model_sees_of_the_held_frames(family):
    """LTXV turns the mask into per-token timesteps: held frames (anchor + context: the first 3 latent frames, t-major
    tokens) at t = 0 with their clean latent. HunyuanVideo 1.5 has one t per sample: its held frames enter clean at the
    step's t > 0, and its concat input (32 image + 1 mask channels after the 32 latent ones) stays all zero, as in a
    T2V run: the node hands it a one-channel concat_mask, where ComfyUI would pass the channel-expanded inpaint
    mask (33 concat channels more than the model takes)."""
    name, model, _, shape, conds = family
    _, last = first_clip(model, conds, shape)
    probe, seen = capture_inputs(model)
    extend(probe, conds, shape, last)
    held = model.get_model_object("process_latent_in")(last.latent[:, :, 2:5])
    assert len(seen) in (STEPS, 2 * STEPS)
    tokens = shape[3] * shape[4]
    for x, t in seen:
        assert fp32_close(x[:1, :shape[1], :3], held)
        if name == "ltx":
            t = t.reshape(t.shape[0], -1)
            assert t.shape[1] == 5 * tokens and (t[:, :3 * tokens] == 0).all() and (t[:, 3 * tokens:] > 0).all()
        else:
            assert t.ndim == 1 and (t > 0).all()
            assert x.shape[1] == 65 and (x[:, 32:] == 0).all()
    assert holds_frames_clean(model) == (name == "ltx")


def test_holds_frames_clean_is_feature_detected_per_model_base():
    assert not holds_frames_clean(tiny_dit.wan21()) and holds_frames_clean(tiny_dit.wan22())


@pytest.mark.parametrize("case", ["short", "previous"])
def test_bad_inputs_offer_the_family_lengths_and_sizes(family, case):
    """Lengths are offered as c·n + 1 with the family's c, sizes with its VAE factor (LTX: 8, ×32; HunyuanVideo
    1.5: 4, ×16)."""
    _, model, _, shape, conds = family
    adapter = video_adapter_for(model)
    c, s = adapter.temporal, adapter.spatial
    if case == "short":
        short = (*shape[:2], 3, *shape[3:])
        match = (f"'latent': has 3 latent frames \\(length {2 * c + 1}\\).*at least 4.*length to {3 * c + 1} or more "
                 f"\\({c}·n \\+ 1 frames\\)")
        with pytest.raises(NodeInputError, match="Reuse-Diffuse Extender: input " + match):
            extend(model, conds, short, clips=2)
    else:
        wider = (*shape[:4], shape[4] + 1)
        match = (f"'previous': holds 5 latent frames.*length {4 * c + 1}, width {shape[4] * s} and height "
                 f"{shape[3] * s} \\({adapter.name}: {c}·n \\+ 1 frames, ×{s} VAE\\)")
        with pytest.raises(NodeInputError, match="Reuse-Diffuse Extender: input " + match):
            extend(model, conds, wider, previous=first_clip(model, conds, shape)[1])


def test_a_video_family_outside_the_registry_is_refused_by_name():
    model = tiny_dit.hunyuan_video()
    assert video_adapter_for(model) is None
    with pytest.raises(NodeInputError, match="Reuse-Diffuse Sampler: input 'model': is a HunyuanVideo video model "
                                             "\\(HunyuanVideo latents\\).*supported: Wan 2.2 5B, Wan 2.1, LTX-Video"):
        first_clip(model, (tiny.conditioning(10), tiny.conditioning(11)), (1, 16, 5, 4, 4))
