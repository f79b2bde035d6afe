"""The papers' noise draws, one module for all: per-frame and per-clip seeded draws (Video LDM rollout, VidRD
chains), the reference draw order of Text2Video-Zero, and VidRD's progressive noise mixing (PNS)."""
from __future__ import annotations

import torch


def frame_noise(seed: int, frames, shape) -> torch.Tensor:
    """N(0, I) of each global frame id, [len(frames), *shape], from a generator seeded by (seed, frame):
    a frame's noise does not depend on the window it falls in, the video length or T and S, so a longer
    video with the same settings starts with the same frames, and no video-sized noise tensor is kept."""
    mix = lambda f: (seed * 0x9E3779B97F4A7C15 + (f + 1) * 0xBF58476D1CE4E5B9) % 2 ** 64  # noqa: E731
    return torch.stack([torch.randn(tuple(shape), generator=torch.Generator("cpu").manual_seed(mix(int(f))))
                        for f in frames])


def clip_noise(seed: int, clip: int, shape) -> torch.Tensor:
    """Clip k's N(0, I) draw from a generator seeded by (seed, k): a chain of nodes that continue one another
    draws what one node sampling all the clips draws."""
    return frame_noise(seed, [clip], shape)[0]


def recycled(reused: torch.Tensor, fresh: torch.Tensor, recycle: float) -> torch.Tensor:
    """VidRD's PNS: r/√(1+r²)·ε_reused + ε_fresh/√(1+r²), unit variance for N(0, I) inputs (r = 0: ε_fresh)."""
    return recycle / (1 + recycle ** 2) ** 0.5 * reused + fresh / (1 + recycle ** 2) ** 0.5


def seeded_noise(seed: int, shape, frames: int) -> torch.Tensor:
    """Text2Video-Zero's draws from one CPU generator, as its reference: x_T^1 first, then ε for `frames` frames."""
    g = torch.Generator("cpu").manual_seed(seed)
    first = torch.randn((1, *shape), generator=g)
    return first if frames == 0 else torch.randn((frames, *shape), generator=g)


def second_seed(seed: int) -> int:
    """A second generator's seed beside `seed` (0 ≤ seed < 2⁶⁴): seed + 1, wrapped to 0 past 2⁶⁴ − 1, which
    torch.Generator.manual_seed refuses."""
    return (seed + 1) % 2 ** 64
