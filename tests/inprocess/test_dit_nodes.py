"""Every node on the DiT families: tiny random-weight ComfyUI Flux and Qwen-Image.

Text2Video-Zero on a tiny Flux is compared with a plain-tensor loop written here: the flow schedule's
Euler steps x′ = x + (σ′ − σ)·(x − x̂₀)/σ, the first frame alone to T′, the warp, the DDPM forward
between two flow levels x_T = (1−σ_T)/(1−σ_T′)·x_T′ + √(σ_T² − ((1−σ_T)σ_T′/(1−σ_T′))²)·ε, joint
denoising. Both sides call the same fp32 model on the same inputs; they differ only in how the step
arithmetic rounds, so tests/tolerance.py's per-pass bound applies. Skipped on a ComfyUI without the
DiT attn1_patch hook (0.3.75), with the adapter's reason.
"""
from __future__ import annotations

import math

import pytest
import torch
from comfy_test_nodes import tiny_dit
from tolerance import fp32_close
from vidlift.nodes.glue.dit_cross_frame import DiTCrossFramePatch
from vidlift.nodes.core.errors import NodeInputError
from vidlift.nodes.glue.model_families import adapter_for
from vidlift.nodes.core.motion_warp import motion_offsets, warp_latents
from vidlift.nodes.lpff import LPFFFilter
from vidlift.nodes.latent_shift import TemporalShiftPatcher
from vidlift.nodes.text2video_zero import CrossFrameAttentionPatcher, MotionLatentWarp, Text2VideoZeroSampler

SEED = 3


@pytest.fixture(scope="module")
def flux():
    return tiny_dit.flux()


@pytest.fixture(scope="module")
def qwen():
    return tiny_dit.qwen_image()


def need(model, capability="cross-frame attention"):
    problem = adapter_for(model).missing(capability)
    if problem:
        pytest.skip(f"this ComfyUI: {problem}")


def flux_conds(seed=1):
    g = torch.Generator().manual_seed(seed)
    return [[torch.randn(1, 5, 32, generator=g), {"pooled_output": torch.randn(1, 32, generator=g)}]]


def qwen_conds(seed=1):
    g = torch.Generator().manual_seed(seed)
    return [[torch.randn(1, 5, 32, generator=g), {}]]


def t2v_zero(model, conds, latent, cfg=1.0, steps=6, t0=3, t1=4, motion_x=64.0, chunk_size=0, negative=None):
    return Text2VideoZeroSampler.execute(model, conds, negative or conds, {"samples": latent}, SEED, cfg, motion_x,
                                         0.0, steps, t0, t1, chunk_size)[0]["samples"]


def test_text2video_zero_on_flux_equals_a_plain_tensor_loop(flux):
    """cfg 1 (guidance-distilled use: one chunk, no negative pass) on a 4-frame video."""
    need(flux)
    import comfy.samplers
    steps, t0, t1, frames = 6, 3, 4, 4
    out = t2v_zero(flux, flux_conds(), torch.zeros(frames, 16, 8, 8), steps=steps, t0=t0, t1=t1)

    ms, lf = flux.get_model_object("model_sampling"), flux.get_model_object("latent_format")
    sigmas = comfy.samplers.calculate_sigmas(ms, "simple", steps).float()
    patched = adapter_for(flux).install_cross_frame(flux)
    ctx, extra = flux_conds()[0]
    opts = {**patched.model_options["transformer_options"], "cond_or_uncond": [0]}

    def x0(x, s):
        n = x.shape[0]
        return patched.model.apply_model(x, s.expand(n), c_crossattn=ctx.expand(n, -1, -1),
                                         y=extra["pooled_output"].expand(n, -1), transformer_options=opts)

    def euler(x, i):
        return x + (sigmas[i + 1] - sigmas[i]) * (x - x0(x, sigmas[i])) / sigmas[i]

    g = torch.Generator("cpu").manual_seed(SEED)
    x1 = torch.randn(1, 16, 8, 8, generator=g)                      # σ_0 = 1: pure noise
    eps = torch.randn(frames - 1, 16, 8, 8, generator=g)
    i1, i0 = steps - t1 - 1, steps - t0 - 1
    for i in range(i0):
        if i == i1:
            x1_t1 = x1
        x1 = euler(x1, i)
    s_to, s_from = float(sigmas[i1]), float(sigmas[i0])
    r = (1 - s_to) / (1 - s_from)
    warped = warp_latents(x1, motion_offsets(range(1, frames), 64.0, 0.0))
    video = torch.cat([x1_t1, r * warped + math.sqrt(s_to ** 2 - (r * s_from) ** 2) * eps])
    for i in range(i1, steps):
        video = euler(video, i)
    assert fp32_close(out, lf.process_out(video), passes=steps)
    assert (out[1:] - out[:1]).abs().max() > 1e-2 * out.abs().max()   # frames differ: the warp moved them


def test_text2video_zero_on_qwen_image_keeps_its_5d_layout_and_cfg(qwen):
    need(qwen)
    out = t2v_zero(qwen, qwen_conds(1), torch.zeros(3, 16, 8, 8), cfg=2.0, negative=qwen_conds(2))
    assert out.shape == (3, 16, 1, 8, 8) and torch.isfinite(out).all()
    again = t2v_zero(qwen, qwen_conds(1), torch.zeros(3, 16, 1, 8, 8), cfg=2.0, negative=qwen_conds(2))
    assert torch.equal(out, again)                                  # a 4-D empty latent is the same 5-D one


def test_flow_trap_t1_at_pure_noise_is_refused(flux):
    need(flux)
    with pytest.raises(NodeInputError, match="input 't1'.*pure-noise level.*t1 ≤ steps − 2"):
        t2v_zero(flux, flux_conds(), torch.zeros(2, 16, 8, 8), steps=6, t0=3, t1=5)


def test_motion_latent_warp_on_flow_maps_leftover_noise_latents(flux):
    """LATENTs with leftover noise of a flow model are x/(1−σ) (inverse_noise_scaling): warp and re-noise the
    state, hand back the LATENT at T. Hand-computed in float64."""
    import comfy.samplers
    g = torch.Generator().manual_seed(4)
    at_t, at_t0 = torch.randn(1, 16, 8, 8, generator=g), torch.randn(1, 16, 8, 8, generator=g)
    steps, t0, t1, frames, seed = 10, 6, 8, 3, 5
    out = MotionLatentWarp.execute(flux, {"samples": at_t}, {"samples": at_t0}, frames, 64.0, 0.0, steps, t0, t1,
                                   seed)[0]["samples"]
    lf, ms = flux.get_model_object("latent_format"), flux.get_model_object("model_sampling")
    sigmas = comfy.samplers.calculate_sigmas(ms, "simple", steps).double()
    s1, s0 = float(sigmas[steps - t1 - 1]), float(sigmas[steps - t0 - 1])
    gen = torch.Generator().manual_seed(seed)
    torch.randn((1, 16, 8, 8), generator=gen)
    eps = torch.randn((frames - 1, 16, 8, 8), generator=gen).double()
    state = (1 - s0) * lf.process_in(at_t0.double())
    r = (1 - s1) / (1 - s0)
    renoised = r * warp_latents(state, motion_offsets(range(1, frames), 64.0, 0.0)) \
        + math.sqrt(s1 ** 2 - (r * s0) ** 2) * eps
    expected = lf.process_out(renoised / (1 - s1))
    assert torch.equal(out[:1], at_t)
    assert (out[1:].double() - expected).abs().max() <= 1e-5 * expected.abs().max()   # fp32 output of f64 math


def test_patcher_nodes_install_dit_patches_on_the_chosen_blocks(flux, qwen):
    need(flux)
    m = CrossFrameAttentionPatcher.execute(flux, "first", 0.5, True, True, True, "single")[0]
    patches = m.model_options["transformer_options"]["patches"]["attn1_patch"]
    assert [(type(p), p.blocks, p.strength) for p in patches] == [(DiTCrossFramePatch, ("single",), 0.5)]
    assert "patches" not in flux.model_options["transformer_options"]           # the input MODEL untouched
    shifted = TemporalShiftPatcher.execute(qwen, 0.125, "before conv1", "zero", 1.0, True, True, True, "double")[0]
    replaced = shifted.model_options["transformer_options"]["patches_replace"]["dit"]
    assert sorted(replaced) == [("double_block", i) for i in range(2)]
    with pytest.raises(NodeInputError, match="Temporal Shift Patcher: input 'dit_blocks': selects none of the "
                                             "Qwen-Image model's blocks"):
        TemporalShiftPatcher.execute(qwen, 0.125, "before conv1", "zero", 1.0, True, True, True, "single")


def test_lpff_filters_frames_in_the_batch_of_5d_image_latents():
    g = torch.Generator().manual_seed(6)
    x = torch.randn(6, 16, 8, 8, generator=g)
    args = ("gaussian", "spatio-temporal (reference)", 0.5, 0.5, 4, 0)
    flat = LPFFFilter.execute({"samples": x}, *args)[0]["samples"]
    five = LPFFFilter.execute({"samples": x.unsqueeze(2)}, *args)[0]["samples"]
    assert five.shape == (6, 16, 1, 8, 8) and torch.equal(five.squeeze(2), flat)
    assert (flat - x).abs().max() > 1e-2                        # it filtered across the 6 frames


def test_long_video_samplers_run_on_flux_and_keep_given_frames(flux):
    """Context-Guided (start frames come back bit-exact, the rest is new) and Reuse-Diffuse (clips chain) on the
    flow schedule through the generic sampling math; the interpolation keeps its keyframes."""
    need(flux)
    from vidlift.nodes.video_ldm import ContextGuidedInterpolation, ContextGuidedSampler
    from vidlift.nodes.vidrd import ReuseDiffuseExtender
    m = adapter_for(flux).install_cross_frame(flux)
    conds = (flux_conds(1), flux_conds(2))
    start = torch.randn(2, 16, 8, 8, generator=torch.Generator().manual_seed(8))
    video = ContextGuidedSampler.execute(m, *conds, {"samples": torch.zeros(1, 16, 8, 8)}, SEED, 3, 2.0, 4, 6, 2,
                                         1.5, {"samples": start})[0]["samples"]
    assert video.shape == (6, 16, 8, 8) and torch.equal(video[:2], start) and torch.isfinite(video).all()
    assert (video[2:] - video[1:2]).abs().max() > 1e-3
    mid = ContextGuidedInterpolation.execute(m, *conds, {"samples": start}, SEED, 3, 2.0, 5, 1, 1.0)[0]["samples"]
    assert mid.shape == (5, 16, 8, 8) and torch.equal(mid[::4], start)
    clips = ReuseDiffuseExtender.execute(m, *conds, {"samples": torch.zeros(3, 16, 8, 8)}, SEED, 3, 2.0, 2, 1, 4.0,
                                         0.4, "reverse (reference)", False)[0]["samples"]
    assert clips.shape == (5, 16, 8, 8) and torch.isfinite(clips).all()


def test_alternating_ksampler_with_dit_t2i_and_t2v_of_one_latent_space(flux):
    """VideoElevator with both sides DiTs of the Flux latent space: T2V = Flux + temporal shift, T2I = Flux."""
    need(flux)
    need(flux, "temporal shift")
    from vidlift.nodes.video_elevator import CUSTOM, INVERSIONS, AlternatingKSampler
    t2v = adapter_for(flux).install_temporal_shift(flux)
    conds = (flux_conds(1), flux_conds(2))
    out = AlternatingKSampler.execute(flux, *conds, t2v, *conds, {"samples": torch.zeros(3, 16, 8, 8)}, SEED, 6, 2.0,
                                      2.0, CUSTOM, "4,2", 2, "ddim", "gaussian", 1.0, 0.4, INVERSIONS[1], 1.5,
                                      True)[0]["samples"]
    assert out.shape == (3, 16, 8, 8) and torch.isfinite(out).all()


def test_a_flux1_latent_on_a_flux2_model_is_refused_by_name(flux):
    """Flux.2 latents are 128 channels at /16 (2×2 packs of the /8 VAE latent): a 16-channel /8 latent (Empty SD3 /
    Flux.1 latent) cannot be a whole pack; the node names the parameter and the channels it needs."""
    need(flux)
    import comfy.latent_formats
    if not hasattr(comfy.latent_formats, "Flux2"):
        pytest.skip("this ComfyUI has no Flux.2 latent format")
    flux2 = flux.clone()
    flux2.add_object_patch("latent_format", comfy.latent_formats.Flux2())
    with pytest.raises(NodeInputError, match="Text2Video-Zero Sampler: input 'latent': has 16 channels but the model "
                                             "works on 128-channel latents"):
        t2v_zero(flux2, flux_conds(), torch.zeros(2, 16, 8, 8))
