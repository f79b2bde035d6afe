"""Sampling math for any model type, through ComfyUI's `model_sampling`.

Every model type writes its noisy state as x_σ = a(σ)·x₀ + b(σ)·ε with per-level signal and noise
coefficients read off `model_sampling.noise_scaling(σ, noise, latent)`:
  a(σ) = noise_scaling(σ, 0, 1),  b(σ) = noise_scaling(σ, 1, 0)   (fresh float64 tensors).
EPS, V and EDM (ComfyUI's variance-exploding form x = x₀ + σ·ε): a = 1, b = σ. Flow (CONST):
a = 1 − σ, b = σ·noise_scale. The papers' VP form z = √ᾱ·x₀ + √(1 − ᾱ)·ε is the EPS state read
through c_in(σ) = 1/√(1 + σ²) (ᾱ = 1/(1 + σ²)); schedule.py keeps the SD-only ᾱ table parts.

Flow trap: a(1) = 0, so a state re-noised to σ_max = 1 holds no signal; nothing can be re-noised
to σ_max from a signal-bearing state (Text2Video-Zero's T must be < σ_max).
All coefficients are Python floats (float64); tensors stay in their dtype, so on the EPS form each
function is the same float arithmetic as schedule.py's (bit-identical SD results).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch


def _f64(sigma) -> torch.Tensor:
    return torch.tensor(float(sigma), dtype=torch.float64)


@dataclass(frozen=True)
class Coefficients:
    """a(σ), b(σ) and the model-input scale c_in(σ) (the model sees c_in·x), as float functions."""
    a: Callable[[float], float]
    b: Callable[[float], float]
    c_in: Callable[[float], float]


def coefficients(ms) -> Coefficients:
    """The coefficients of a `model_sampling`-like object (noise_scaling and calculate_input). One in
    ComfyUI's EPS/V form (a = 1, b = σ, c_in = 1/√(1 + σ²), probed) gets `VE`, schedule.py's arithmetic."""
    one, zero = (lambda: torch.ones((), dtype=torch.float64)), (lambda: torch.zeros((), dtype=torch.float64))
    co = Coefficients(a=lambda s: float(ms.noise_scaling(_f64(s), zero(), one())),
                      b=lambda s: float(ms.noise_scaling(_f64(s), one(), zero())),
                      c_in=lambda s: float(ms.calculate_input(_f64(s), one())))
    probe = (0.25, 3.0)
    if all(co.a(s) == 1.0 and co.b(s) == s and math.isclose(co.c_in(s), _ve_c_in(s), rel_tol=1e-12) for s in probe):
        return VE
    return co


def _ve_c_in(s: float) -> float:
    return 1.0 / (1.0 + float(s) ** 2) ** 0.5


# ComfyUI's form of discrete DDPM (EPS and V) models, x = x₀ + σ·ε; the default of the mechanisms.
VE = Coefficients(a=lambda s: 1.0, b=float, c_in=_ve_c_in)


def eps_from_x0(co: Coefficients, x: torch.Tensor, x0: torch.Tensor, sigma) -> torch.Tensor:
    """ε̂ = (x − a(σ)·x̂₀)/b(σ), the noise implied by a model's x̂₀ at σ."""
    return (x - co.a(sigma) * x0) / co.b(sigma)


def x0_from_eps(co: Coefficients, x: torch.Tensor, eps: torch.Tensor, sigma) -> torch.Tensor:
    """x̂₀ = (x − b(σ)·ε̂)/a(σ) (undefined at a(σ) = 0, a flow model's σ = 1)."""
    return (x - co.b(sigma) * eps) / co.a(sigma)


def ddim_step(co: Coefficients, x: torch.Tensor, x0: torch.Tensor, sigma, sigma_next) -> torch.Tensor:
    """DDIM (η = 0), Song et al. 2021 Eq. 12: x′ = a′·x̂₀ + b′·ε̂ with ε̂ = (x − a·x̂₀)/b, written
    x′ = a′·x̂₀ + (b′/b)·(x − a·x̂₀). Exact DDIM for EPS, Euler for rectified flow; σ′ > σ inverts."""
    a, a_next = co.a(sigma), co.a(sigma_next)
    return a_next * x0 + (x - a * x0) * (co.b(sigma_next) / co.b(sigma))


def ddim_invert(co: Coefficients, x: torch.Tensor, eps: torch.Tensor, sigma, sigma_next) -> torch.Tensor:
    """DDIM inversion as diffusers' DDIMInverseScheduler: x at the lower level σ, ε̂ predicted at the
    target σ′ (the model run on `read_at(co, x, σ, σ′)`). x̂₀ = (x − b·ε̂)/a, x′ = a′·x̂₀ + b′·ε̂,
    written x′ = (a′/a)·x + (b′ − (a′/a)·b)·ε̂ (EPS: x + (σ′ − σ)·ε̂)."""
    r = co.a(sigma_next) / co.a(sigma)
    if r == 1.0:                                   # EPS/V/EDM: schedule.ddim_invert's arithmetic
        return x + (co.b(sigma_next) - co.b(sigma)) * eps
    return x * r + (co.b(sigma_next) - r * co.b(sigma)) * eps


def renoise(co: Coefficients, x: torch.Tensor, sigma_from, sigma_to, noise: torch.Tensor) -> torch.Tensor:
    """DDPM forward q(x_σ | x_σ′), σ = sigma_to > σ′ = sigma_from (Ho et al. 2020 Eq. 4 between two levels):
    x_σ = (a/a′)·x_σ′ + √(b² − (a/a′)²·b′²)·ε, whose marginal given x₀ is a·x₀ + b·ε (variance b²).
    Flow trap: a(1) = 0, so re-noising to σ_max = 1 erases x_σ′ (callers must keep σ < σ_max)."""
    a, a_from, b, b_from = co.a(sigma_to), co.a(sigma_from), co.b(sigma_to), co.b(sigma_from)
    r = a / a_from
    var = b * b - (r * b_from) ** 2
    if var < -1e-12 * max(b * b, 1e-300):
        raise ValueError(f"cannot re-noise from σ′={float(sigma_from):g} to σ={float(sigma_to):g}: "
                         f"the target holds less noise relative to signal.")
    return (x.double() * r + math.sqrt(max(var, 0.0)) * noise.double()).to(x.dtype)


def read_at(co: Coefficients, x: torch.Tensor, sigma, sigma_new) -> torch.Tensor:
    """The same model input c_in(σ)·x given to a model as if it sat at σ_new: x·c_in(σ)/c_in(σ_new).
    EPS: x·√(1 + σ_new²)/√(1 + σ²) (the VP sample z unchanged); flow (c_in = 1): x unchanged."""
    if co.c_in is _ve_c_in:                        # schedule.read_at's arithmetic, bit for bit
        return x * ((1.0 + float(sigma_new) ** 2) / (1.0 + float(sigma) ** 2)) ** 0.5
    return x * (co.c_in(sigma) / co.c_in(sigma_new))


def from_vp(co: Coefficients, z: torch.Tensor, sigma) -> torch.Tensor:
    """The sampler state whose model input is z: x = z/c_in(σ) (EPS: z·√(1 + σ²), schedule.vp_to_ve)."""
    if co.c_in is _ve_c_in:
        return z * (1.0 + float(sigma) ** 2) ** 0.5
    return z / co.c_in(sigma)


def noised(co: Coefficients, x0: torch.Tensor, noise: torch.Tensor, sigma) -> torch.Tensor:
    """x_σ = a(σ)·x₀ + b(σ)·ε (SDEdit's start, Meng et al. 2022)."""
    return co.a(sigma) * x0 + co.b(sigma) * noise
