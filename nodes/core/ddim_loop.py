"""The one step loop of every paper's sampler (Video LDM, VidRD, Text2Video-Zero, VideoElevator), k-diffusion style.

Written on x = a(σ)·x₀ + b(σ)·ε (sampling_math), so one loop serves EPS, V and flow models: DDIM (η = 0) is exact
DDIM on EPS/V and Euler on rectified flow. What the papers add around a step goes through two hooks, `hold` (the
state entering a step: held context frames, VidRD's staged guidance) and `correct` (the state leaving it:
VideoElevator's refining and PnP correction); `lcm_noise` makes the step LCM's x̂₀ + fresh noise.
"""
from __future__ import annotations

import torch
from tqdm.auto import trange

from . import sampling_math as sm


class Reporter:
    """A sampler callback that numbers model calls across loops: every report gets the running index i."""

    def __init__(self, callback=None):
        self.callback, self.done = callback, 0

    def __call__(self, d: dict) -> None:
        if self.callback is not None:
            self.callback({**d, "i": self.done})
        self.done += 1

    def report(self, x, denoised, sigma):
        """Report one model call made outside `sample_ddim`; returns its x̂₀."""
        self({"x": x, "i": self.done, "sigma": sigma, "sigma_hat": sigma, "denoised": denoised})
        return denoised


@torch.no_grad()
def sample_ddim(model, x, sigmas, extra_args=None, callback=None, disable=None, co=sm.VE, hold=None, correct=None,
                lcm_noise=None):
    """DDIM (η = 0), Song et al. 2021 Eq. 12: x′ = a′·x̂₀ + (b′/b)·(x − a·x̂₀) (sampling_math.ddim_step) per level.

    hold(i, x) → x: the state entering step i. correct(i, x, x̂₀, x′) → x′: the state leaving it. lcm_noise(x̂₀) given:
    LCM steps x′ = a′·x̂₀ + b′·ε with fresh ε from it, and x′ = x̂₀ at σ′ = 0 (as ComfyUI's sample_lcm)."""
    extra_args = {} if extra_args is None else extra_args
    for i in trange(len(sigmas) - 1, disable=disable, leave=False):
        if hold is not None:
            x = hold(i, x)
        denoised = model(x, sigmas[i] * x.new_ones([x.shape[0]]), **extra_args)
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigmas[i], "sigma_hat": sigmas[i], "denoised": denoised})
        if lcm_noise is None:
            x_next = sm.ddim_step(co, x, denoised, sigmas[i], sigmas[i + 1])
        elif float(sigmas[i + 1]) > 0:
            x_next = sm.noised(co, denoised, lcm_noise(denoised).to(denoised), sigmas[i + 1])
        else:
            x_next = denoised
        x = x_next if correct is None else correct(i, x, denoised, x_next)
    return x
