"""Text2Video-Zero sampling (Khachatryan et al. 2023, Sect. 3.3; diffusers' TextToVideoZeroPipeline).

Three phases on a DDIM schedule of N steps, with t0 < t1 counted from the end (T = step N−t1−1,
T′ = step N−t0−1; defaults 47/44 give T = 941, T′ = 881 for 50 steps):
  1. frame 1 alone, x_T^1 ~ N(0, I), DDIM from the start down to T (kept as x_T^1 of the video);
  2. frame 1 alone, on from T down to T′;
  3. frames k ≥ 2 get x_T^k = DDPM_forward(W_k(x_T′^1), T′ → T) (motion_warp.py), and all frames are
     denoised jointly from T with cross-frame attention (cross_frame_attention.py).
On any model (flow included) t0/t1 are positions in the model's own schedule: the paper's T = t1 and
T′ = t0 (Eq. 5–6: x_T^k = DDPM_forward(W_k(x_T′^1), T′ → T)) are the sampler's levels σ_T = sigmas[N−t1−1]
and σ_T′ = sigmas[N−t0−1], and the DDPM forward becomes sampling_math.renoise between them (its
marginal is a(σ_T)·x₀ + b(σ_T)·ε). Flow trap: a(σ_max = 1) = 0, so T must be < σ_max (t1 ≤ N − 2 on a
schedule starting at 1); the warped latent is re-noised to σ_T, never to pure noise.
Long videos follow the reference's chunking: every chunk is [frame 0] + the next chunk_size−1
frames, with the same seed, so frame 0 anchors every chunk; memory is bounded by the chunk.
Written as a k-diffusion sampler: `model(x, σ)` returns the CFG'd x̂₀.
"""
from __future__ import annotations

import torch
from tqdm.auto import tqdm

from .ddim_loop import Reporter, sample_ddim
from .motion_warp import max_offset_fraction, motion_offsets, warp_latents
from . import sampling_math as sm
from .schedule import ddpm_forward, timestep_of

DEFAULTS = dict(frames=8, steps=50, t0=44, t1=47, motion_x=12.0, motion_y=12.0, cfg=7.5, chunk_size=8)


def phase_indices(steps: int, t0: int, t1: int) -> tuple[int, int]:
    """Step indices of T and T′ in a schedule of `steps` steps (timesteps[-t1-1], timesteps[-t0-1])."""
    return steps - t1 - 1, steps - t0 - 1


def indices_problem(steps: int, t0: int, t1: int) -> tuple[str, str] | None:
    """(parameter, why) when (steps, t0, t1) cannot be used, or None."""
    if not 2 <= steps <= 1000:
        return "steps", f"must be at least 2 and at most 1000 (the model's training timesteps), got {steps}."
    if not 0 <= t0 < t1:
        return "t0", f"needs 0 ≤ t0 < t1 (T′ = step N−t0−1 comes after T = step N−t1−1); got t0={t0}, t1={t1}."
    if t1 > steps - 1:
        return "t1", f"t1={t1} is outside the {steps}-step schedule; it must be at most steps−1 = {steps - 1}."
    return None


def motion_problem(frames: int, motion_x: float, motion_y: float) -> tuple[str, str] | None:
    frac = max_offset_fraction(range(frames), motion_x, motion_y)
    if frac >= 1.0:
        limit = 512.0 / max(frames - 1, 1)
        return "motion_x/motion_y", (f"moves the last of {frames} frames by {frac:.2f}× the frame size, so it would "
                                     f"hold no content of the first frame; keep |motion| × (frames − 1) below 512, "
                                     f"i.e. |motion| < {limit:.1f}.")
    return None


def signal_problem(sigmas, co, i1: int) -> tuple[str, str] | None:
    """Flow trap: at σ_max of a flow model a(σ) = 0, so re-noising the warped latents there
    would erase the motion; T must sit below it."""
    if co.a(sigmas[i1]) > 0:
        return None
    return "t1", (f"puts T at σ = {float(sigmas[i1]):g}, the pure-noise level of this flow model, where the "
                  f"warped motion would be erased; use t1 ≤ steps − 2.")


def warped_frames(x: torch.Tensor, ids, motion_x: float, motion_y: float, eps: torch.Tensor, sigma_from, sigma_to,
                  sigma_table=None, co=sm.VE) -> torch.Tensor:
    """Eq. 5–6: frame k's state at T, x_T^k = DDPM_forward(W_k(x_T′^1), T′ → T), for each frame id k: frame 1's
    state x at σ_T′ translated by δ^k (motion_warp) and re-noised to σ_T with ε (one per id). sigma_table given (SD):
    the reference's ᾱ-table forward (schedule.ddpm_forward), else sampling_math.renoise with the coefficients co."""
    warped = warp_latents(x, motion_offsets(ids, motion_x, motion_y))
    if sigma_table is None:
        return sm.renoise(co, warped, sigma_from, sigma_to, eps.to(warped))
    t_from, t_to = timestep_of(sigma_table, sigma_from), timestep_of(sigma_table, sigma_to)
    return ddpm_forward(warped, sigma_table, t_from, t_to, eps.to(warped), sigma_from, sigma_to)


def chunk_plan(frames: int, chunk_size: int) -> list[list[int]]:
    """Frame ids per sampling pass. One pass when the video fits; else the reference's chunks
    [0] + range(start, end) with starts arange(0, frames, chunk_size−1), keeping ids[1:] of each."""
    if chunk_size < 2 or frames <= chunk_size:
        return [list(range(frames))]
    starts = list(range(0, frames, chunk_size - 1))
    ends = starts[1:] + [frames]
    return [[0] + list(range(s, e)) for s, e in zip(starts, ends)]


def model_calls(steps: int, t0: int, t1: int, frames: int, chunk_size: int) -> int:
    """Sampler steps in all (phases 1–2 once, phase 3 per chunk): the progress bar's length."""
    i1, i0 = phase_indices(steps, t0, t1)
    return i0 + len(chunk_plan(frames, chunk_size)) * (steps - i1)


@torch.no_grad()
def sample_text2video_zero(model, x, sigmas, extra_args=None, callback=None, disable=None,
                           t0=44, t1=47, motion_x=12.0, motion_y=12.0, chunk_size=0,
                           first_frame_noise=None, renoise=None, sigma_table=None, co=None, out_device=None):
    """Text2Video-Zero, Sect. 3.3 (Algorithm as in diffusers' TextToVideoZeroPipeline.__call__).

    x: [frames, C, h, w] initial state; only frame 0 is used, or `first_frame_noise` (N(0, I) in the
    DDPM form, as the reference draws it) when given. renoise(n) gives the ε of the T′ → T forward
    for n frames (called once per chunk, like the reference's re-seeded generator).
    co=None: an SD discrete schedule, ComfyUI's x = x₀ + σ·ε, with the reference's ᾱ-table forward
    (schedule.ddpm_forward on `sigma_table`, the model's σ_t for t = 0..999, comfy_glue.sigma_table). co given (any
    model_sampling, sampling_math.coefficients) and no sigma_table: the generic forward sampling_math.renoise.
    out_device: where finished chunks wait (ComfyUI's intermediate device) while later chunks sample; the video is
    returned on x's device (the KSAMPLER's output).
    """
    extra_args = {} if extra_args is None else extra_args
    steps, frames = len(sigmas) - 1, x.shape[0]
    i1, i0 = phase_indices(steps, t0, t1)
    if co is None:
        co = sm.VE
        if sigma_table is None:
            raise ValueError("an SD schedule needs its sigma_table (comfy_glue.sigma_table of the model)")
    elif sigma_table is None and not co.a(sigmas[i1]) > 0:
        raise ValueError(f"t1={t1} puts T at σ={float(sigmas[i1]):g}, where this model's signal coefficient "
                         f"a(σ) is 0 (σ_max of a flow model): the warped motion would be erased; lower t1.")
    report = Reporter(callback)
    x1 = x[:1] if first_frame_noise is None else sm.from_vp(co, first_frame_noise.to(x), sigmas[0])
    x1_t1 = sample_ddim(model, x1, sigmas[:i1 + 1], extra_args, report, True, co)   # phase 1: the first frame alone
    x1 = sample_ddim(model, x1_t1, sigmas[i1:i0 + 1], extra_args, report, True, co)  # phase 2: on to T′

    plan = chunk_plan(frames, chunk_size)
    out = []
    for ids in tqdm(plan, disable=disable or len(plan) == 1):
        n = len(ids) - 1
        eps = renoise(n) if renoise is not None else torch.randn((n, *x1.shape[1:]), dtype=x1.dtype, device=x1.device)
        xk = warped_frames(x1, ids[1:], motion_x, motion_y, eps, sigmas[i0], sigmas[i1], sigma_table, co)
        # phase 3: all frames jointly, cross-frame attention
        video = sample_ddim(model, torch.cat([x1_t1, xk]), sigmas[i1:], extra_args, report, True, co)
        out.append(video if len(plan) == 1 else video[1:].to(out_device or video.device))
    return torch.cat(out).to(x.device)
