"""Noise-schedule algebra in ComfyUI's parameterisation.

ComfyUI samples discrete DDPM models in the variance-exploding form x = x₀ + σ·ε (scaled latent
units), with σ_t = √((1 − ᾱ_t)/ᾱ_t). The papers write the variance-preserving form
z_t = √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε, so z_t = x/√(1 + σ_t²). Every function here takes the model's
table of σ_t (`model_sampling.sigmas`, index t = 0..999) and works on plain tensors. The SD-schedule
specifics live here (leading DDIM timesteps, the ᾱ-table forward with the T2V-Zero reference's
off-by-one); the step, inversion and read-at maps are sampling_math's on the EPS form (any model type
goes through sampling_math with its own coefficients).
"""
from __future__ import annotations

import torch

from . import sampling_math as sm


def alphas_cumprod(sigma_table: torch.Tensor) -> torch.Tensor:
    """ᾱ_t = 1/(1 + σ_t²), the DDPM cumulative product (float64)."""
    return 1.0 / (1.0 + sigma_table.double() ** 2)


def leading_timesteps(steps: int, train_steps: int = 1000, offset: int = 1) -> list[int]:
    """DDIM timesteps with "leading" spacing and steps_offset=1, as diffusers' SD schedulers.

    For 50 steps: t_i = 981 − 20·i, i.e. [981, 961, …, 21, 1] (DDIM, Song et al. 2021; diffusers' DDIMScheduler).
    """
    ratio = train_steps // steps
    return [i * ratio + offset for i in reversed(range(steps))]


def ddim_sigmas(sigma_table: torch.Tensor, steps: int, final: str = "zero") -> torch.Tensor:
    """σ at the leading DDIM timesteps, then the final level.

    `final="zero"` ends at σ = 0 as ComfyUI's `ddim_uniform` does (the output is the last x₀
    prediction); `final="alpha0"` ends at σ_0 = σ(t=0) as diffusers' DDIM with
    `set_alpha_to_one=False` does.
    """
    ts = leading_timesteps(steps, len(sigma_table))
    last = torch.zeros(()) if final == "zero" else sigma_table[0].float()
    return torch.cat([sigma_table[ts].float(), last.reshape(1)])


def timestep_of(sigma_table: torch.Tensor, sigma: float) -> int:
    """Nearest integer t for σ (argmin |log σ − log σ_t|, as ModelSamplingDiscrete.timestep)."""
    return int((sigma_table.double().log() - torch.tensor(float(sigma)).double().log()).abs().argmin())


def ve_to_vp(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """z = x/√(1 + σ²)."""
    return x / (1.0 + float(sigma) ** 2) ** 0.5


def vp_to_ve(z: torch.Tensor, sigma: float) -> torch.Tensor:
    """x = z·√(1 + σ²) (sampling_math.from_vp on the EPS form)."""
    return sm.from_vp(sm.VE, z, sigma)


def ddpm_forward(x: torch.Tensor, sigma_table: torch.Tensor, t_from: int, t_to: int, noise: torch.Tensor,
                 sigma_from: float | None = None, sigma_to: float | None = None,
                 reference_off_by_one: bool = True) -> torch.Tensor:
    """DDPM forward q(z_{t_to} | z_{t_from}) on a VE state: z' = √a·z + √(1 − a)·ε.

    The exact transition has a = ᾱ_{t_to}/ᾱ_{t_from}. Text2Video-Zero's reference code
    (`forward_loop`: prod(alphas[t0:t1])) uses a = ᾱ_{t_to−1}/ᾱ_{t_from−1}; we reproduce it by
    default so latents match the reference, the difference being negligible in practice.
    x is read at σ_from and returned at σ_to (default: the table's σ at t_from and t_to).
    """
    sigma_from = sigma_table[t_from] if sigma_from is None else sigma_from
    sigma_to = sigma_table[t_to] if sigma_to is None else sigma_to
    ac = torch.cat([torch.ones(1, dtype=torch.float64), alphas_cumprod(sigma_table)])  # ac[t+1] = ᾱ_t, ac[0] = 1
    shift = 0 if reference_off_by_one else 1
    a = ac[t_to + shift] / ac[t_from + shift]
    z = ve_to_vp(x.double(), sigma_from)
    z = a.sqrt() * z + (1 - a).sqrt() * noise.double()
    return vp_to_ve(z, sigma_to).to(x.dtype)


def ddim_step(x: torch.Tensor, denoised: torch.Tensor, sigma: float, sigma_next: float) -> torch.Tensor:
    """DDIM (η = 0): x' = x̂₀ + σ'·ε̂ with ε̂ = (x − x̂₀)/σ; ascending σ gives DDIM inversion.
    sampling_math.ddim_step on the EPS form (any model type: pass its coefficients there)."""
    return sm.ddim_step(sm.VE, x, denoised, sigma, sigma_next)


def read_at(x: torch.Tensor, sigma: float, sigma_new: float) -> torch.Tensor:
    """The same sample z = x/√(1 + σ²), given to a model as if it sat at σ_new: x·√(1 + σ_new²)/√(1 + σ²)."""
    return sm.read_at(sm.VE, x, sigma, sigma_new)


def ddim_invert(x: torch.Tensor, eps: torch.Tensor, sigma: float, sigma_next: float) -> torch.Tensor:
    """One DDIM inversion step (DDIM, Song et al. 2021, run from σ up to σ′), as diffusers' DDIMInverseScheduler.step.

    The sample z = x/√(1 + σ²) sits at the lower level σ; ε̂ is predicted at the *target* level σ′
    (the U-Net at t′ on `read_at(x, σ, σ′)`). Then x̂₀ = x − σ·ε̂ and x′ = x̂₀ + σ′·ε̂, i.e. in the VP
    form z′ = √ᾱ′·(z − √(1 − ᾱ)·ε̂)/√ᾱ + √(1 − ᾱ′)·ε̂.
    """
    return sm.ddim_invert(sm.VE, x, eps, sigma, sigma_next)
