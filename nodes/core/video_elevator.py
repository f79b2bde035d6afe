"""VideoElevator (Zhang et al. 2024, arXiv 2403.05438): T2V/T2I alternating sampling, as the official pipeline.

The paper's sampling loop as VideoElevatorPipeline.__call__ implements it. Every step i of the T2I model's
N DDIM steps (timesteps t_i) *elevates spatial quality*: one DDIM step of the T2I model with CFG w_I and
cross-frame attention. At the refining steps *temporal motion refining* follows: the step's T2I x̂₀ is low-passed (LPFF, lpff.py; not at the last
refining step), re-noised to the same t_i with the T2V model's own schedule (T2V-based SDEdit,
x = x̂₀ + σ^V_{t_i}·ε), denoised K steps by the T2V model at t_i … t_{i+K−1} (CFG w_V), and the T2V's
last x̂₀ is DDIM-inverted by the T2I model (negative prompt, no CFG) up to t_{i+1}; the T2I latent of
step i is discarded. With PnP inversion every later step adds back the DDIM reconstruction error along
the inversion trajectory, x_{i+1} += x^inv_{i+1} − DDIM(x^inv_i, x̂₀⁺(x^inv_i)) (positive prompt, no
CFG), while the trajectory lasts. The two models meet only through clean latents x̂₀ (the paper's
"uniform projection to noise-free latents"), so each keeps its own noise schedule.

Written on x = a(σ)·x₀ + b(σ)·ε (sampling_math.py; EPS/V: x = x₀ + σ·ε). The models are k-diffusion
denoisers returning x̂₀: image(x, σ, guidance), guidance "cfg", "positive" or "negative", on the T2I
σ; video(x, σ) on the T2V model's σ at the same timesteps (a Wan 2.2 A14B expert pair switches on that σ,
is_high_noise).

Where we differ from the reference code, deliberately:
- Inversion keeps every frame on frame 0 for cross-frame attention. The reference's processor assumes
  two CFG halves, so in its uncond-only inversion batch frames F/2… attend to frame F/2 (§5(c)2).
- T2V steps run on the T2I grid t_i … t_{i+K−1} for both step types. The reference's LCM scheduler
  labels them with its own timesteps (879 where the latent is at 826, §5(c)4).
- The PnP correction at a refining step is skipped: refining discards that latent (same output, one
  U-Net call less per refining step).
- The last step ends at σ = 0 (ComfyUI's ddim_uniform: the output is the last x̂₀); diffusers' DDIM
  ends at ᾱ_0.
- LCM-type T2V steps draw their fresh noise from a second generator (seed + 1) where the reference
  uses the global RNG, so the SDEdit draws follow the reference's generator stream either way.
Kept as the reference: the mixed-noise prior; SDEdit with ᾱ^V at t_i; the inversion reading the clean
x̂₀ at ᾱ_0 (σ at t = 0) and evaluating the U-Net at each target timestep (DDIMInverseScheduler);
negative prompt for inversion, positive for PnP; LPFF on x̂₀ in float32; i + K ≤ N (§5(c)5).
"""
from __future__ import annotations

import torch

from .ddim_loop import Reporter, sample_ddim
from . import sampling_math as sm

# Wan 2.2 A14B's switch between its two experts, as its reference release configures it (`boundary` of T2V and I2V).
EXPERT_BOUNDARY = {"T2V": 0.875, "I2V": 0.9}
# The reference scripts' stable_steps (values N − i) at their own N (sd_zeroscope.py, sd_lavie.py, sd_animatelcm.py).
PRESETS = {"ZeroScope": (50, (45, 35, 25, 15)), "LaVie": (50, (45, 35, 30, 25, 20, 15)),
           "AnimateLCM": (30, (26, 21, 15, 9))}
VIDEO_STEPS = ("ddim", "lcm")


def parse_remaining(text: str) -> list[int]:
    """'45, 35, 25, 15' → [45, 35, 25, 15] (values N − i, the reference's `stable_steps`)."""
    out = []
    for item in text.replace(";", ",").replace(" ", ",").split(","):
        if item.strip():
            try:
                out.append(int(item))
            except ValueError:
                raise ValueError(f"{item.strip()!r} is not a whole number; write N − i values such as "
                                 f"45,35,25,15.") from None
    return out


def preset_remaining(name: str, steps: int) -> list[int]:
    """The preset's N − i values. At the reference's N exactly its list; for another N each step index
    is scaled, i = round(i_ref·N/N_ref), so the refining sits at the same fraction of the schedule."""
    n_ref, remaining = PRESETS[name]
    if steps == n_ref:
        return list(remaining)
    scaled = {steps - int((n_ref - r) * steps / n_ref + 0.5) for r in remaining}
    return sorted(scaled, reverse=True)


def schedule_problem(remaining: list[int], steps: int, video_steps: int) -> tuple[str, str] | None:
    """(parameter, why) when these refining steps cannot run, or None (i = N − r must be a step and i + K ≤ N).
    The parameter is "refine_steps" for the refining list, however it was given."""
    if video_steps < 1:
        return "video_steps", f"video_steps K must be at least 1, got {video_steps}."
    for r in remaining:
        if not 1 <= r <= steps:
            return "refine_steps", (f"refining step N − i = {r} is outside 1..{steps} (steps N = {steps}); each "
                                    f"value counts the steps left, e.g. 45,35,25,15 refines at i = 5,15,25,35 of 50.")
        if r < video_steps:
            return "refine_steps/video_steps", (
                f"refining step N − i = {r} (i = {steps - r}) leaves {r} steps but video_steps K = {video_steps} "
                f"T2V steps need i + K ≤ N; lower K or refine earlier.")
    return None


def refine_indices(remaining: list[int], steps: int) -> list[int]:
    return sorted({steps - r for r in remaining})


def model_calls(steps: int, refine: list[int], video_steps: int, pnp: bool = True, bridge_ops: int = 0) -> dict[str, int]:
    """Calls of `elevate` by kind: T2I steps, T2V steps, inversion steps, PnP corrections and, with a VAE bridge
    (video_bridge.Bridge, `bridge_ops` VAE decodes/encodes per refining), the bridge's VAE calls."""
    refine = sorted(set(refine))
    corrections = 0
    if pnp:  # after a refine at i: steps i+1 … up to the next refine (exclusive) and at most N−2
        for k, i in enumerate(refine):
            end = refine[k + 1] - 1 if k + 1 < len(refine) else steps - 1
            corrections += max(0, min(end, steps - 2) - i)
    calls = dict(image=steps, video=len(refine) * video_steps, inversion=sum(steps - i - 1 for i in refine),
                 pnp=corrections)
    return {**calls, "bridge": len(refine) * bridge_ops} if bridge_ops else calls


def is_high_noise(sigma: float, boundary: float) -> bool:
    """Wan 2.2 A14B's expert switch: the high-noise expert at t ≥ boundary·T, the low-noise one below (T = 1000 train
    timesteps, t on the shifted schedule). A flow model's t is 1000·σ, so the rule is σ ≥ boundary on the T2V's
    own σ."""
    return float(sigma) >= boundary


def mixed_noise(generator: torch.Generator, frames: int, shape, alpha: float) -> torch.Tensor:
    """The mixed-noise prior z_T = (α·b + r_f)/√(1 + α²): b shared by all frames, r_f per frame, drawn in
    this order from one CPU generator as the reference's `prepare_mixed_latents` (VP form, unit variance)."""
    base = torch.randn((1, *shape), generator=generator)
    res = torch.randn((frames, *shape), generator=generator)
    return (alpha * base + res) / (1 + alpha ** 2) ** 0.5


def invert(image, x0: torch.Tensor, sigmas_up, report=None, co=sm.VE) -> list[torch.Tensor]:
    """DDIM inversion of a clean latent by the T2I model with the negative prompt, no CFG (§5(c)1).

    sigmas_up = [σ(t = 0), σ_{N−1}, …, σ_{i+1}]: x̂₀ is read as the sample at ᾱ_0 (the reference's
    `initial_alpha_cumprod`); each step evaluates the model at its target level. Returns the
    trajectory, VE states at σ_{N−1} … σ_{i+1} (the last is where sampling resumes)."""
    x, path = sm.from_vp(co, x0, sigmas_up[0]), []
    for s, s_next in zip(sigmas_up[:-1], sigmas_up[1:]):
        x_in = sm.read_at(co, x, s, s_next)
        denoised = image(x_in, s_next, "negative")
        if report is not None:
            report(x_in, denoised, s_next)
        x = sm.ddim_invert(co, x, sm.eps_from_x0(co, x_in, denoised, s_next), s, s_next)
        path.append(x)
    return path


@torch.no_grad()
def elevate(image, video, x, sigmas, video_sigmas, sigma_floor, refine, video_steps=8, noise=None, lpf=None,
            pnp=True, video_step="ddim", step_noise=None, callback=None, image_co=sm.VE, video_co=sm.VE, bridge=None):
    """The VideoElevator loop (module docstring). x: the VE state at sigmas[0]; sigmas: the T2I DDIM σ
    at t_0 … t_{N−1} then 0; video_sigmas: the T2V σ at t_0 … t_{N−1}; sigma_floor: the T2I σ at t = 0;
    refine: step indices i; noise(like): the SDEdit ε shaped like the T2V latent `like`; step_noise(like): the LCM
    steps' ε; lpf(x̂₀): LPFF or None; image_co/video_co: each model's sampling coefficients (sampling_math; default
    the EPS/V form); bridge: a video_bridge.Bridge when the T2V works in another latent space or layout (its x̂₀
    goes there and back through the VAEs, each VAE call a step of the callback), None when both share one."""
    steps, refine = len(sigmas) - 1, sorted(set(refine))
    if refine and (refine[0] < 0 or refine[-1] + video_steps > steps):
        raise ValueError(f"refining steps {refine} with K = {video_steps} need 0 ≤ i and i + K ≤ N = {steps}.")
    noise = noise or torch.randn_like
    report = Reporter(callback)
    path = []                                   # inversion trajectory; path[-1] is at the current level

    def refine_or_correct(i, x, x0, x_next):
        nonlocal path
        if i in refine:                                                 # temporal motion refining
            if lpf is not None and i != refine[-1]:
                x0 = lpf(x0)
            vs = video_sigmas
            tick = lambda: report.report(x, x0, sigmas[i])               # noqa: E731 (a bridge VAE call)
            x0_video = x0 if bridge is None else bridge.to_video(x0, tick)
            v = sm.noised(video_co, x0_video, noise(x0_video).to(x0_video), vs[i])   # T2V-based SDEdit at t_i
            levels = torch.cat([vs[i:i + video_steps], vs.new_zeros(1)])   # K T2V calls, the last x̂₀ kept
            v0 = sample_ddim(lambda v_, s: video(v_, s[0]), v, levels, None, report, True, video_co,
                             lcm_noise=(step_noise or torch.randn_like) if video_step == "lcm" else None)
            v0 = v0 if bridge is None else bridge.to_image(v0, tick)
            path = invert(image, v0, [sigma_floor] + [sigmas[k] for k in range(steps - 1, i, -1)], report.report,
                          image_co)
            return path[-1] if path else v0
        if pnp and len(path) > 1:                                       # PnP inversion correction
            x_inv = path.pop()
            x0_inv = report.report(x_inv, image(x_inv, sigmas[i], "positive"), sigmas[i])
            return x_next + path[-1] - sm.ddim_step(image_co, x_inv, x0_inv, sigmas[i], sigmas[i + 1])
        return x_next

    # spatial quality elevating: T2I DDIM steps with CFG, each refined or corrected after it
    return sample_ddim(lambda x_, s: image(x_, s[0], "cfg"), x, sigmas, None, report, True, image_co,
                       correct=refine_or_correct)
