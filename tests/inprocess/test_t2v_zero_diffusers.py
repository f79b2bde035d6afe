"""Fidelity: the pack's Text2Video-Zero equals diffusers' TextToVideoZeroPipeline on identical weights and noise.

The same tiny random U-Net is built in diffusers' layout and converted to ComfyUI's with ComfyUI's
own key map (comfy.utils.unet_to_diffusers); the prompt embeddings come from the pipeline's own
encode_prompt (real SD1 tokenizer, tiny CLIP); both draw their noise from torch.Generator(seed).

How the bounds follow from the arithmetic (u32 = 2⁻²⁴ ≈ 6.0e-8, u64 = 2⁻⁵³ ≈ 1.1e-16; every bound is relative to
the largest |latent| of the reference, M):
- **float64 against float64** (`test_float64_matches_diffusers`). ComfyUI's sampler keeps the latent in fp32 and casts
  every model output to fp32 (`samplers.CFGGuider.outer_sample`, `model_base._apply_model`), so the float64 side runs
  our sampler function (`sample_text2video_zero`) and our cross-frame patch on ComfyUI's `UNetModel` in float64
  directly, as `_apply_model` calls it (input scaled by 1/√(σ²+1), x̂₀ = x − σ·ε̂, CFG on x̂₀ as CFGGuider). Both
  sides read one float64 schedule (ᾱ_t = 1/(1 + σ_t²) of ComfyUI's table; diffusers' own fp32 ᾱ differ from it by
  ~u32) and the same fp32-drawn noise cast to float64; the time embeddings are computed in fp32 by identical
  formulas on both sides (bit-identical), and the motion warp copies float64 latents without rounding them. What is left is the order of float64 roundings: a U-Net pass accumulates sums of at most
  ~10³ terms through ~10² layers, |δε̂|/|ε̂| ≲ 10⁵·u64 ≈ 1e-11 per pass; 50 DDIM steps, each adding at most its
  ε̂ error times σ′ ≤ 15, give ≤ 50·15·1e-11 ≈ 1e-8·M. Asserted: 1e-8·M. Thread scheduling changes float64 sums
  at ~u64, six orders below the bound.
- **fp32 through the node** (`test_latents_match_diffusers`: ComfyUI's CFGGuider, KSAMPLER, fp32 state). The same
  count with u32: ≈ 10⁵·u32 ≈ 6e-3 per pass is the worst case, but rounding errors of long sums grow like √n, not
  n: ≈ √10⁵·u32 ≈ 2e-5 per pass, over 50 steps (errors add, DDIM is not expanding) ≤ 1e-3·M. Asserted: 1e-3·M;
  the failure that this replaces (1.03e-4 absolute at M = 68.5 under load) is 1.5e-6·M.
"""
import copy

import pytest
import torch

from comfy_test_nodes.diffusers_twin import comfy_from_diffusers, diffusers_unet, run_diffusers, text2video_zero_pipeline
from vidlift.nodes.core.cross_frame_attention import CrossFrameAttentionPatch
from vidlift.nodes.text2video_zero import Text2VideoZeroSampler, seeded_noise
from vidlift.nodes.core.schedule import alphas_cumprod, ddim_sigmas, leading_timesteps
from vidlift.nodes.core.text2video_zero import sample_text2video_zero

FP32_BOUND, FP64_BOUND = 1e-3, 1e-8


@pytest.fixture(scope="module")
def pipes():
    unet_d = diffusers_unet()
    return text2video_zero_pipeline(unet_d), comfy_from_diffusers(unet_d)


def to_diffusers_units(out, model):
    """ComfyUI returns the VE state at σ_0 in unscaled latent units; diffusers the DDPM z_0 in scaled units."""
    table = model.get_model_object("model_sampling").sigmas.double()
    return out * 0.18215 * alphas_cumprod(table)[0].sqrt().to(out.dtype)


def run_ours(model, cond, uncond, frames, seed, cfg, motion, chunk_size=8):
    table = model.get_model_object("model_sampling").sigmas.float()
    sigmas = ddim_sigmas(table, 50, final="alpha0")      # diffusers ends at ᾱ_0 (set_alpha_to_one=False)
    out = Text2VideoZeroSampler.execute(model, [[cond, {}]], [[uncond, {}]], {"samples": torch.zeros(frames, 4, 16, 16)},
                                        seed, cfg, motion, motion / 2, 50, 44, 47, chunk_size, sigmas=sigmas)
    return to_diffusers_units(out.args[0]["samples"], model)


def relative_error(ours, expected):
    return ((ours.double() - expected.double()).abs().max() / expected.double().abs().max()).item()


@pytest.mark.parametrize("frames,motion,cfg,seed", [(8, 12.0, 7.5, 0), (5, -40.0, 2.0, 3)])  # cfg ≤ 1 crashes the pipeline itself (torch.cat with None)
def test_latents_match_diffusers(pipes, frames, motion, cfg, seed):
    pipe, model = pipes
    expected = run_diffusers(pipe, frames, seed, cfg, motion)
    with torch.no_grad():
        cond, uncond = pipe.encode_prompt("a cat", "cpu", 1, True, None)
    ours = run_ours(model, cond, uncond, frames, seed, cfg, motion)
    assert ours.shape == expected.shape
    err = relative_error(ours, expected)
    assert err <= FP32_BOUND, f"max |Δ| / max |latent| = {err:.2e} (|latent| max {expected.abs().max():.2f})"
    assert expected.std() > 0.1 and (expected[1:] - expected[:1]).abs().max() > 0.1   # a real video, not a trivial match


def test_chunked_long_video_matches_the_reference_chunk_loop(pipes):
    """diffusers docs' long-video recipe: per chunk, frame_ids = [0] + range(start, end), same seed, keep [1:]."""
    pipe, model = pipes
    frames, chunk, seed = 11, 5, 4
    starts = list(range(0, frames, chunk - 1))
    expected = torch.cat([run_diffusers(pipe, len(ids), seed, 7.5, 12.0, frame_ids=ids)[1:] for ids in
                          ([0] + list(range(s, e)) for s, e in zip(starts, starts[1:] + [frames]))])
    with torch.no_grad():
        cond, uncond = pipe.encode_prompt("a cat", "cpu", 1, True, None)
    ours = run_ours(model, cond, uncond, frames, seed, 7.5, 12.0, chunk_size=chunk)
    assert ours.shape == expected.shape == (frames, 4, 16, 16)
    assert relative_error(ours, expected) <= FP32_BOUND


# ---- float64 on both sides -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pipes64(pipes):
    """The same weights in float64: diffusers' pipeline on ComfyUI's schedule, ComfyUI's UNetModel in float64."""
    pipe, model = pipes
    pipe64 = copy.deepcopy(pipe).to(torch.float64)
    ac = alphas_cumprod(model.get_model_object("model_sampling").sigmas)       # float64, from ComfyUI's table
    pipe64.scheduler.alphas_cumprod = ac
    pipe64.scheduler.alphas = torch.cat([ac[:1], ac[1:] / ac[:-1]])           # Π alphas[t0:t1] = ᾱ_{t1−1}/ᾱ_{t0−1}
    pipe64.scheduler.final_alpha_cumprod = ac[0]
    return pipe64, comfy_from_diffusers(pipe.unet, dtype=torch.float64)


@pytest.fixture
def noise_drawn_in_fp32(monkeypatch):
    """diffusers draws its noise in the pipeline's dtype; ours is drawn in fp32 (as ComfyUI does): draw both in fp32."""
    import diffusers.pipelines.deprecated.text_to_video_synthesis.pipeline_text_to_video_zero as t2vz

    def randn_tensor(shape, generator=None, device=None, dtype=None, layout=None):
        return torch.randn(shape, generator=generator).to(dtype)
    monkeypatch.setattr(t2vz, "randn_tensor", randn_tensor)


def float64_denoiser(model, cond, uncond, cfg, patch):
    """x̂₀ with CFG, as BaseModel._apply_model and CFGGuider compute it, without their fp32 casts."""
    unet, ms = model.model.diffusion_model, model.get_model_object("model_sampling")

    def denoise(x, sigma, **_):
        n, s = x.shape[0], sigma.reshape(-1, 1, 1, 1)
        x_in = torch.cat([x, x]) / (s.repeat(2, 1, 1, 1) ** 2 + 1).sqrt()
        t = ms.timestep(sigma.float()).float().repeat(2)
        context = torch.cat([cond.expand(n, -1, -1), uncond.expand(n, -1, -1)])
        options = {"patches": {"attn1_patch": [patch]}, "cond_or_uncond": [0, 1], "sigmas": sigma}
        eps = unet(x_in, t, context=context, transformer_options=options)
        x0_cond, x0_uncond = (torch.cat([x, x]) - eps * s.repeat(2, 1, 1, 1)).chunk(2)
        return x0_uncond + cfg * (x0_cond - x0_uncond)
    return denoise


@pytest.mark.parametrize("frames,motion,cfg,seed,chunk", [(8, 12.0, 7.5, 0, 8), (5, -40.0, 2.0, 3, 8)])
def test_float64_matches_diffusers(pipes64, noise_drawn_in_fp32, frames, motion, cfg, seed, chunk):
    pipe, model = pipes64
    expected = run_diffusers(pipe, frames, seed, cfg, motion)
    assert expected.dtype == torch.float64
    with torch.no_grad():
        cond, uncond = pipe.encode_prompt("a cat", "cpu", 1, True, None)
    table = model.get_model_object("model_sampling").sigmas.double()
    sigmas = torch.cat([table[leading_timesteps(50)], table[:1]])
    shape = (4, 16, 16)
    with torch.no_grad():
        out = sample_text2video_zero(float64_denoiser(model, cond, uncond, cfg, CrossFrameAttentionPatch()),
                                     torch.zeros(frames, *shape, dtype=torch.float64), sigmas, disable=True,
                                     t0=44, t1=47, motion_x=motion, motion_y=motion / 2, chunk_size=chunk,
                                     first_frame_noise=seeded_noise(seed, shape, 0).double(), sigma_table=table,
                                     renoise=lambda n: seeded_noise(seed, shape, n).double())
    assert out.dtype == torch.float64
    ours = to_diffusers_units(out / 0.18215, model)      # the sampler works in ComfyUI's scaled latent (process_in)
    err = relative_error(ours, expected)
    assert err <= FP64_BOUND, f"max |Δ| / max |latent| = {err:.2e} (|latent| max {expected.abs().max():.2f})"
    assert (expected[1:] - expected[:1]).abs().max() > 0.1
