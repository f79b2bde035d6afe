"""The Alternating KSampler with LTX-Video and HunyuanVideo 1.5 as T2V: ComfyUI's own LTXV / HunyuanVideo15
models and their VAEs (LTX's causal VideoVAE, HunyuanVideo 1.5's vae_refiner) at tiny widths, random weights; an
SD1.5-layout U-Net as T2I. A family whose ComfyUI class is missing is skipped with the reason."""
from dataclasses import dataclass
from typing import Callable

import pytest
import torch

from comfy_test_nodes import tiny, tiny_dit
from inprocess.helpers import CountingVAE, counting
from vidlift.nodes.core import video_elevator as ve
from vidlift.nodes.core.errors import NodeInputError
from vidlift.nodes.glue.model_families import comfy_class, video_adapter_for
from vidlift.nodes.video_elevator import CUSTOM, INVERSIONS, AlternatingKSampler

SIZE, SEED = 8, 3                                 # SD latents 8×8 = 64×64 pixels


@dataclass(frozen=True)
class Family:
    name: str
    base: str                                     # the model_base class the registry keys on
    model: Callable
    vae: Callable
    temporal: int
    frames: int                                   # c + 1: two latent frames
    latent: tuple                                 # the T2V's latent of `frames` frames at 64×64
    cond: dict                                    # what the family's text encoder puts beside the embedding
    model_in: int                                 # channels the diffusion model sees (HunyuanVideo 1.5 concats 32 + 1)
    causal_encoder: bool                          # every layer causal in time (HunyuanVideo 1.5: mid attention is not)

    def conds(self):
        out = tiny.conditioning(30), tiny.conditioning(31)
        for c in out:
            c[0][1].update(self.cond)
        return out


FAMILIES = {
    # LTX's T5 conditioning carries its token mask (LTXVModel.forward requires it); 9 = 8·1+1 frames → [1,128,2,2,2]
    "ltx": Family("LTX-Video", "comfy.model_base:LTXV", tiny_dit.ltxv, tiny.ltxv_vae_model, 8, 9, (1, 128, 2, 2, 2),
                  {"attention_mask": torch.ones(1, 77, dtype=torch.long)}, 128, True),
    # HunyuanVideo's model_base reads pooled_output (None: 1.5 has no vector_in); 5 = 4·1+1 frames → [1,32,2,4,4]
    "hunyuan15": Family("HunyuanVideo 1.5", "comfy.model_base:HunyuanVideo15", tiny_dit.hunyuan_video15,
                        tiny.hunyuan_video15_vae_model, 4, 5, (1, 32, 2, 4, 4), {"pooled_output": None}, 65, False),
}


@pytest.fixture(scope="module", params=list(FAMILIES))
def family(request):
    f = FAMILIES[request.param]
    if comfy_class(f.base) is None:
        pytest.skip(f"this ComfyUI has no {f.base}")
    return f, f.model(), f.vae()


@pytest.fixture(scope="module")
def sd_vae():
    return tiny.vae_model()


def run(image, video, conds, vconds, image_vae, video_vae, frames, size=SIZE, steps=6, refine="4,2", k=2):
    out = AlternatingKSampler.execute(image, *conds, video, *vconds, {"samples": torch.zeros(frames, 4, size, size)},
                                      SEED, steps, 5.0, 3.0, CUSTOM, refine, k, "ddim", "gaussian", 1.0, 0.4,
                                      INVERSIONS[0], 1.5, True, image_vae=image_vae, video_vae=video_vae)
    return out.args[0]["samples"]


@torch.no_grad()
def test_registry_factor_is_the_vae_causal_factor(family):
    """The registry's c is the VAE's: 2c+1 frames encode to 3 latent frames and decode back to 2c+1. A causal encoder
    (LTX's: causal convolutions and per-position norms only) makes latent frame 0 hold pixel frame 0 alone, and pixel
    frame k ≥ 1 reach latent frame ⌈k/c⌉ first, never an earlier one, exactly. HunyuanVideo 1.5's encoder is causal up
    to its mid-block attention, which spans all latent frames: there the change reaches every latent frame, so only
    the counts are checked."""
    f, model, vae = family
    adapter = video_adapter_for(model)
    assert adapter is not None and adapter.name == f.name and adapter.temporal == f.temporal
    c = f.temporal
    pixels = torch.rand(2 * c + 1, 64, 64, 3, generator=torch.Generator().manual_seed(0))
    z = vae.encode(pixels)
    assert z.shape == (1, f.latent[1], 3, 64 // adapter.spatial, 64 // adapter.spatial)
    assert vae.decode(z).reshape(-1, 64, 64, 3).shape[0] == 2 * c + 1
    for k in (1, c, c + 1, 2 * c) if f.causal_encoder else ():
        changed = pixels.clone()
        changed[k] = 1 - changed[k]
        diff = (vae.encode(changed) - z)[0].transpose(0, 1).flatten(1).abs().amax(1)   # per latent frame
        first = -(-k // c)
        assert torch.all(diff[:first] == 0) and diff[first] > 1e-4, (k, diff)


def test_bridge_runs_and_counts_every_call(unet, conds, family, sd_vae, progress):
    """The analytic call counts of video_elevator.model_calls hold with each family as T2V (cond + uncond in one T2V
    call of the family's latent), and the VAE calls run decode → video encode → video decode → per-frame encode."""
    f, video, vae = family
    calls = []
    out = run(counting(unet, calls, "image"), counting(video, calls, "video"), conds, f.conds(),
              CountingVAE(sd_vae, "image_vae", calls), CountingVAE(vae, "video_vae", calls), f.frames)
    frames = f.frames
    assert out.shape == (frames, 4, SIZE, SIZE) and torch.isfinite(out).all()
    n = ve.model_calls(6, [2, 4], 2, True, 4)
    assert n == dict(image=6, video=4, inversion=3 + 1, pnp=1, bridge=8)
    assert calls.count(("image", (2 * frames, 4, SIZE, SIZE))) == n["image"]
    assert calls.count(("image", (frames, 4, SIZE, SIZE))) == n["inversion"] + n["pnp"]
    assert calls.count(("video", (2, f.model_in, *f.latent[2:]))) == n["video"]
    assert len(calls) == n["image"] + n["inversion"] + n["pnp"] + n["video"] + n["bridge"]
    per_refining = [("image_vae", "decode", (frames, 4, SIZE, SIZE)), ("video_vae", "encode", (frames, 64, 64, 3)),
                    ("video_vae", "decode", f.latent), ("image_vae", "encode", (frames, 64, 64, 3))]
    assert [c for c in calls if c[0].endswith("vae")] == per_refining * 2
    total = sum(n.values())
    assert progress[0] == ("total", total) and progress[1:] == [(v, total) for v in range(1, total + 1)]
    assert not unet.object_patches and not video.object_patches


def test_the_bridge_changes_the_video(unet, conds, family, sd_vae):
    f, video, vae = family
    a = run(unet, video, conds, f.conds(), sd_vae, vae, f.frames)
    assert torch.equal(a, run(unet, video, conds, f.conds(), sd_vae, vae, f.frames))
    assert (a - run(unet, video, conds, f.conds(), sd_vae, vae, f.frames, refine="")).abs().max() > 1e-3


@pytest.mark.parametrize("offset", [-1, 1, 2])
def test_frame_count_error_names_the_nearest_valid_count(unet, conds, family, sd_vae, offset):
    """c·n + 1 frames or an error naming node, parameter, the family's rule and the nearest valid count."""
    f, video, vae = family
    c, frames = f.temporal, f.frames + offset
    nearest = f.frames if offset < c / 2 else f.frames + c          # (c+1)+1 → c+1; (c+1)−1 = c → c+1
    words = f"{f.name} video model needs {c}n\\+1 frames.*use {nearest} frames"
    with pytest.raises(NodeInputError, match=f"T2V/T2I Alternating KSampler: input 'latent': has {frames} frames.*{words}"):
        run(unet, video, conds, f.conds(), sd_vae, vae, frames)


def test_size_error_offers_the_family_multiple(unet, conds, family, sd_vae):
    """Pixel sizes must suit the SD VAE (×8) and the video VAE × patch (LTX 32 × 1, HunyuanVideo 1.5 16 × 1)."""
    f, video, vae = family
    multiple = video_adapter_for(video).spatial * video_adapter_for(video).patch
    near = {32: "64×64", 16: "80×80"}[multiple]                      # 72 px → nearest multiple, ties upward
    with pytest.raises(NodeInputError, match=f"input 'latent': makes 72×72 .*multiples of {multiple}; use {near}"):
        run(unet, video, conds, f.conds(), sd_vae, vae, f.frames, size=9)
