"""The Text2Video-Zero nodes on ComfyUI's real model classes (tiny random weights)."""
import pytest
import torch
from diffusers.pipelines.deprecated.text_to_video_synthesis import pipeline_text_to_video_zero as ref

from comfy_test_nodes import tiny
from vidlift.nodes.core.errors import NodeInputError
from vidlift.nodes.glue.model_patches import has_cross_frame_attention
from vidlift.nodes.text2video_zero import CrossFrameAttentionPatcher, MotionLatentWarp, Text2VideoZeroSampler
from vidlift.nodes.core.schedule import alphas_cumprod
from tolerance import fp32_close


def sample(model, conds, frames=4, seed=1, steps=10, t0=5, t1=8, chunk_size=8, motion=12.0, size=8):
    latent = {"samples": torch.zeros(frames, 4, size, size)}
    out = Text2VideoZeroSampler.execute(model, *conds, latent, seed, 5.0, motion, motion, steps, t0, t1, chunk_size)
    return out.args[0]["samples"]


def recording(model, seen):
    m = model.clone()
    m.set_model_attn1_patch(lambda n, c, v, o: (seen.append(n.shape[0]), (n, c, v))[1])
    return m


def test_same_seed_same_video_other_seed_other_video(unet, conds):
    a, b, c = sample(unet, conds), sample(unet, conds), sample(unet, conds, seed=2)
    assert a.shape == (4, 4, 8, 8) and torch.equal(a, b) and not torch.allclose(a, c)


def test_long_video_memory_is_bounded_by_the_chunk(unet, conds):
    seen = []
    out = sample(recording(unet, seen), conds, frames=13, chunk_size=4)
    assert out.shape[0] == 13 and torch.isfinite(out).all()
    assert max(seen) == 2 * 4                     # U-Net batches never exceed cond+uncond × chunk
    seen.clear()
    sample(recording(unet, seen), conds, frames=13, chunk_size=0)
    assert max(seen) == 2 * 13


def test_sampler_adds_cross_frame_attention_once(unet, conds):
    assert not has_cross_frame_attention(unet)
    patched = CrossFrameAttentionPatcher.execute(unet, "first", 1.0, True, True, True).args[0]
    assert has_cross_frame_attention(patched)
    assert torch.equal(sample(unet, conds), sample(patched, conds))   # not applied twice
    sparse = CrossFrameAttentionPatcher.execute(unet, "first+previous", 1.0, True, True, True).args[0]
    assert not torch.allclose(sample(sparse, conds), sample(unet, conds))


def test_motion_latent_warp_node_is_warp_then_ddpm_forward(unet):
    g = torch.Generator().manual_seed(0)
    at_t, at_t0 = torch.randn(1, 4, 16, 16, generator=g), torch.randn(1, 4, 16, 16, generator=g)
    out = MotionLatentWarp.execute(unet, {"samples": at_t}, {"samples": at_t0}, 5, 24.0, -8.0, 50, 44, 47, 9)
    out = out.args[0]["samples"]
    assert out.shape == (5, 4, 16, 16) and torch.equal(out[0], at_t[0])
    table = unet.get_model_object("model_sampling").sigmas.float()
    ac = alphas_cumprod(table)
    scale = 0.18215
    z0 = at_t0 * scale / (1 + table[881].double() ** 2).sqrt()                       # DDPM z at T′ = 881
    warped = ref.create_motion_field_and_warp_latents(24.0, -8.0, [1, 2, 3, 4], z0.float().repeat(4, 1, 1, 1))
    gen = torch.Generator().manual_seed(9)
    torch.randn((1, 4, 16, 16), generator=gen)                                       # the first frame's draw
    eps = torch.randn((4, 4, 16, 16), generator=gen)
    a = ac[940] / ac[880]                                                             # prod(alphas[881:941])
    z_t = a.sqrt() * warped.double() + (1 - a).sqrt() * eps.double()
    expected = z_t * (1 + table[941].double() ** 2).sqrt() / scale
    assert fp32_close(out[1:].double(), expected)


def test_an_unsupported_family_is_refused_by_name(conds):
    sd3 = tiny.unsupported_model()
    for call in (lambda: CrossFrameAttentionPatcher.execute(sd3, "first", 1.0, True, True, True),
                 lambda: sample(sd3, conds),
                 lambda: MotionLatentWarp.execute(sd3, {"samples": torch.zeros(1, 16, 8, 8)},
                                                  {"samples": torch.zeros(1, 16, 8, 8)}, 4, 12.0, 12.0, 50, 44, 47, 0)):
        with pytest.raises(NodeInputError, match=r"input 'model': model family .*MMDITWrapper is not supported "
                                                 r"\(supported: U-Net, Flux, Qwen-Image"):
            call()


@pytest.mark.parametrize("kwargs,match", [
    (dict(t0=8, t1=8), "Text2Video-Zero Sampler: input 't0'.*t0 < t1"),
    (dict(t0=3, t1=10), "t1=10 is outside the 10-step schedule"),
    (dict(motion=80.0, frames=8), "Text2Video-Zero Sampler: input 'motion_x/motion_y'.*below 512"),
])
def test_bad_settings_name_the_node_and_the_parameter(unet, conds, kwargs, match):
    with pytest.raises(NodeInputError, match=match):
        sample(unet, conds, **kwargs)


def test_five_d_latent_is_refused(unet, conds):
    with pytest.raises(NodeInputError, match="'latent'.*5-D"):
        Text2VideoZeroSampler.execute(unet, *conds, {"samples": torch.zeros(1, 4, 8, 8, 8)}, 0, 5.0, 12.0, 12.0,
                                      10, 5, 8, 8)
