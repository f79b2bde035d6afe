"""Float comparison bounds that follow from the arithmetic, not from what passed once.

fp32 (unit roundoff u = 2⁻²⁴ ≈ 6.0e-8). Two computations of the same math that differ only in the order of their
roundings — another batch composition (cond and uncond in one call or two), another thread split of a sum (machine
load), another order of two commuting patches — differ by the rounding of their longest sums. A tiny test U-Net
pass chains ~20 layers whose sums have at most ~600 terms (3×3×64 convolutions): about 10⁴ roundings per output.
Rounding errors of independent operations add like a random walk, ≈ √(10⁴)·u ≈ 6e-6 of the values' scale per
model pass; sampler steps add their passes' errors (a DDIM/Euler step is not expanding). So:

    |a − b| ≤ FP32_PER_PASS · passes · max|b|,   FP32_PER_PASS = 3e-5 (5× the estimate above)

A wrong result (a chunk attending to the other chunk, a patch not applied, a frame shifted) changes outputs at the
scale of the values, ≥ 1e-2 relative in every test that uses this bound — three orders above it.
"""
from __future__ import annotations

import torch

FP32_PER_PASS = 3e-5


def fp32_close(got: torch.Tensor, want: torch.Tensor, passes: int = 1) -> bool:
    """|got − want| ≤ FP32_PER_PASS · passes · max|want| (module docstring)."""
    got, want = got.double(), want.to(got.device).double()
    scale = want.abs().max().clamp_min(torch.finfo(torch.float32).tiny)
    return bool(got.shape == want.shape and (got - want).abs().max() <= FP32_PER_PASS * passes * scale)


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    return ((got.double() - want.double()).abs().max() / want.double().abs().max()).item()
