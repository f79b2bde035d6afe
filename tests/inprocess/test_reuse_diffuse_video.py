"""Reuse-Diffuse on a native video model: ComfyUI's WanModel (WAN21, WAN22) with tiny random weights."""
import pytest
import torch

from inprocess.helpers import capture_inputs
from comfy_test_nodes import tiny_dit
from tolerance import fp32_close
from vidlift.nodes.core.errors import NodeInputError
from vidlift.nodes.vidrd import ReuseDiffuseExtender, ReuseDiffuseSampler
from vidlift.nodes.core.video_extension import VideoClip

STEPS = 4


@pytest.fixture(scope="module")
def wan():
    return tiny_dit.wan21()


def empty(frames=5, channels=16, size=4):
    return {"samples": torch.zeros(1, channels, frames, size, size)}


def first_clip(model, conds, latent=None):
    out = ReuseDiffuseSampler.execute(model, *conds, latent or empty(), 7, STEPS, 3.0).args
    return out[0]["samples"], out[1]


def extend(model, conds, previous=None, clips=1, overlap=2, keep=True, recycle=1.0, latent=None):
    out = ReuseDiffuseExtender.execute(model, *conds, latent or empty(), 7, STEPS, 3.0, clips, overlap, recycle, 0.4,
                                       "reverse (reference)", keep, previous).args
    return out[0]["samples"], out[1]


def test_boundaries_line_up_in_latent_space(wan, conds):
    """The new clip's context positions are the previous clip's tail exactly (held by the inpaint mask; the LATENT
    in/out scaling of Wan21 rounds once each way), and chained extenders equal one extender making more clips."""
    clip0, last = first_clip(wan, conds)
    assert clip0.shape == (1, 16, 5, 4, 4) and isinstance(last, VideoClip)
    kept, last1 = extend(wan, conds, last)                  # keep_overlap: context (2 frames) + new (2 frames)
    assert kept.shape[2] == 4 and fp32_close(kept[:, :, :2], clip0[:, :, 3:5])
    assert (kept[:, :, 2:] - clip0[:, :, 3:5]).abs().max() > 1e-2          # the new frames are new
    new, last2 = extend(wan, conds, last1, keep=False)
    assert fp32_close(last2.latent[:, :, 1:3], last1.latent[:, :, 3:5])
    together, _ = extend(wan, conds, clips=3, keep=False)     # clip 0 + two extensions in one node
    assert together.shape[2] == 5 + 2 + 2
    assert torch.equal(together[:, :, :5], clip0) and fp32_close(together[:, :, 5:7], kept[:, :, 2:])
    assert fp32_close(together[:, :, 7:], new)


def test_wan21_holds_context_by_latent_renoising(wan, conds):
    """WAN21 has one timestep per sample: the held frames enter every step re-noised to that step's σ with their
    own (reused) noise, x = (1 − σ)·process_in(latent) + σ·ε (flow); the new frames are the sampler's state."""
    _, last = first_clip(wan, conds)
    model, seen = capture_inputs(wan)
    out, nxt = extend(model, conds, last)
    held = wan.get_model_object("process_latent_in")(last.latent[:, :, 2:5])
    sigmas = nxt.sigmas
    assert len(seen) in (STEPS, 2 * STEPS) and seen[0][1].ndim == 1     # cond+uncond in one call or two; scalar t
    for (x, t), sigma in zip(seen[::len(seen) // STEPS], sigmas[:-1]):
        want = (1 - sigma) * held + sigma * nxt.noise[:, :, :3]
        assert fp32_close(x[:1, :, :3], want, passes=2)
    assert not wan.wrappers and out.shape[2] == 4             # the input MODEL got no wrapper of ours


def test_wan22_sees_held_frames_clean_at_t0(conds):
    """WAN22 (Wan 2.2 5B) turns the mask into per-frame timesteps: held frames get t = 0 and their clean latent."""
    model = tiny_dit.wan22()
    latent = empty(channels=48)
    _, last = first_clip(model, conds, latent)
    probe, seen = capture_inputs(model)
    extend(probe, conds, last, latent=latent)
    assert seen
    held = model.get_model_object("process_latent_in")(last.latent[:, :, 2:5])
    for x, t in seen:
        assert t.shape[-1] == 5 and (t[:, :3] == 0).all() and (t[:, 3:] > 0).all()
        assert fp32_close(x[:1, :, :3], held)


@pytest.mark.parametrize("case,match", [
    (dict(latent=empty(frames=3)), "'latent'.*3 latent frames \\(length 9\\).*at least 4.*length to 13 or more"),
    (dict(latent={"samples": torch.zeros(4, 16, 4, 4)}), "'latent'.*needs a video latent"),
    (dict(latent=empty(channels=4)), "'latent'.*4 channels.*16-channel"),
    (dict(overlap=4), "'latent'.*overlap 4 needs at least 6"),
    (dict(previous=True, latent={"samples": torch.zeros(1, 16, 5, 4, 6)}), "'previous'.*holds 5 latent frames of 4×4"),
])
def test_bad_inputs_name_node_and_parameter(wan, conds, case, match):
    if case.pop("previous", False):
        case["previous"] = first_clip(wan, conds)[1]
    case.setdefault("clips", 2)
    with pytest.raises(NodeInputError, match="Reuse-Diffuse Extender: input " + match):
        extend(wan, conds, **case)
