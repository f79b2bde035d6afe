"""Text2Video-Zero motion dynamics in latent codes (Khachatryan et al. 2023, Sect. 3.3.1).

Frame k's latent is the first frame's latent at T′ translated by δ^k = λ·(k − 1)·δ, then
DDPM-forwarded from T′ to T. The translation follows the reference code exactly
(`create_motion_field` / `warp_single_latent` in diffusers' pipeline): the flow lives on a fixed
512×512 canvas whatever the latent size, the sampling grid is resized bilinearly to the latent,
and `grid_sample` uses nearest sampling with reflection padding. So out(x) = in(x + d_k) with
d_k ≈ round((λ·k − 0.5)·w/512) latent pixels: positive strength moves content left/up.
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

CANVAS = 512  # the reference's flow canvas, in pixels


def motion_offsets(frame_ids, strength_x: float, strength_y: float) -> torch.Tensor:
    """δ^k in canvas pixels for each frame id: [n, 2] = (λ·δ_x·id, λ·δ_y·id)."""
    ids = torch.as_tensor(list(frame_ids), dtype=torch.float32)
    return torch.stack([strength_x * ids, strength_y * ids], dim=1)


def sampling_grid(offsets: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """The reference's grid_sample grid for each offset: [n, h, w, 2] in [-1, 1]. Cached per (offsets, h, w):
    resizing the 512² canvas costs as much as a small model's forward, and every run of a node asks again."""
    return _grid(tuple(offsets.float().flatten().tolist()), h, w)


@functools.lru_cache(maxsize=32)
def _grid(offsets: tuple, h: int, w: int) -> torch.Tensor:
    with torch.inference_mode(False):   # an ordinary tensor, usable whether or not the caller records autograd
        ys, xs = torch.meshgrid(torch.arange(CANVAS), torch.arange(CANVAS), indexing="ij")
        off = torch.tensor(offsets, dtype=torch.float32).view(-1, 2)
        coords = torch.stack([xs, ys]).float()[None] + off[:, :, None, None]  # RAFT coords_grid + flow
        coords[:, 0] /= CANVAS
        coords[:, 1] /= CANVAS
        coords = F.interpolate(coords * 2.0 - 1.0, size=(h, w), mode="bilinear", align_corners=False)
        return coords.permute(0, 2, 3, 1)


def warp_latents(latent: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Translate one latent [1, C, h, w] (or one per offset) by each offset: [n, C, h, w]. Latents with more
    leading dims ([1, C, 1, h, w] of Wan-latent image models) move their last two dims the same way."""
    if latent.ndim != 4:
        flat = warp_latents(latent.reshape(latent.shape[0], -1, *latent.shape[-2:]), offsets)
        return flat.reshape(flat.shape[0], *latent.shape[1:])
    n = offsets.shape[0]
    grid = sampling_grid(offsets, latent.shape[-2], latent.shape[-1]).to(latent.device)
    src = latent.expand(n, -1, -1, -1) if latent.shape[0] == 1 else latent
    dtype = torch.float64 if latent.dtype == torch.float64 else torch.float32   # nearest sampling copies values:
    warped = F.grid_sample(src.to(dtype), grid.to(dtype), mode="nearest",      # never round a float64 latent
                           padding_mode="reflection", align_corners=False)
    return warped.to(latent.dtype)


def max_offset_fraction(frame_ids, strength_x: float, strength_y: float) -> float:
    """Largest |δ^k| as a fraction of the frame: ≥ 1 means some frame holds no original content."""
    off = motion_offsets(frame_ids, strength_x, strength_y).abs()
    return float(off.max()) / CANVAS if off.numel() else 0.0
