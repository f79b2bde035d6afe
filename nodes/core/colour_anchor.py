"""Colour anchoring for long videos: match every new clip's per-channel latent statistics to the *first* clip's.

Extending clip after clip from the previous clip lets small colour and contrast errors add up (each clip copies
the last one's drift). Anchoring measures the first clip once, per latent channel c, μ_c and σ_c over its frames
and pixels, and moves each later clip's new frames x toward them (a per-channel affine map, AdaIN-style):

    x' = x + a·((x − μ̂_c)·σ_c/σ̂_c + μ_c − x),   a ∈ [0, 1] the strength, μ̂_c, σ̂_c the new frames' statistics.

The map is affine in x, so the result has mean μ̂ + a(μ − μ̂) and std σ̂ + a(σ − σ̂) exactly (a = 1: the first
clip's); a = 0 returns the input tensor itself. Per-channel affine latent formats (SD's scale, Flux's shift and
scale, Wan's per-channel mean/std) commute with it, so it reads the same in model or LATENT units. Not in the papers:
the fix users of long-video packs ask for (anchor to the first chunk, not the previous one).
"""
from __future__ import annotations

from typing import NamedTuple

import torch

EPS = 1e-6    # σ̂ floor: a flat channel (σ̂ = 0) keeps its mean shift and gets no infinite gain


class Anchor(NamedTuple):
    """The first clip's per-channel statistics, shaped to broadcast over a clip (channels on dim 1)."""
    mean: torch.Tensor
    std: torch.Tensor


def reduce_dims(x: torch.Tensor, dim: int) -> tuple[int, ...]:
    """Axes a statistic runs over: all but channels (dim 1), and the batch too when frames are on dim 2 (each
    video of a native video latent [B, C, T, h, w] has its own colours)."""
    return tuple(d for d in range(x.ndim) if d != 1 and not (dim == 2 and d == 0))


def statistics(x: torch.Tensor, dim: int = 0) -> Anchor:
    """Per-channel mean and (population) std of x, in float64: frames in the batch [F, C, h, w] (dim 0) or a video
    latent [B, C, T, h, w] (dim 2)."""
    d = reduce_dims(x, dim)
    x64 = x.double()
    return Anchor(x64.mean(dim=d, keepdim=True), x64.std(dim=d, keepdim=True, correction=0))


def anchored(x: torch.Tensor, anchor: Anchor, strength: float, dim: int = 0, new: slice = slice(None)) -> torch.Tensor:
    """x with its frames moved toward `anchor`'s statistics by `strength` (the module's equation); the statistics
    are those of x's frames `new` (along `dim`) — e.g. without the overlap frames a clip repeats — and the map is
    applied to all of x. strength 0 returns x itself."""
    if strength == 0:
        return x
    idx = [slice(None)] * x.ndim
    idx[dim] = new
    mean, std = statistics(x[tuple(idx)], dim)
    gain = anchor.std.to(x.device) / std.clamp_min(EPS)
    x64 = x.double()
    target = (x64 - mean) * gain + anchor.mean.to(x.device)
    return (x64 + strength * (target - x64)).to(x.dtype)
