"""Temporal VAE decoding in fixed overlapping windows (Video LDM §3.1.1 / VidRD's temporal decoder).

A temporal decoder (SVD's `VideoDecoder`) mixes frames inside one decode call, so the frames of a
call are its temporal window. We choose the windows ourselves — W frames, consecutive windows
overlapping by O frames, the last one aligned to the end — and cross-fade the overlaps linearly in
pixel space with weights that sum to one per frame. A window's outermost frames are decoded without
their neighbours (the decoder's time convolutions pad there), so they are off — the "flash" where
windows meet; the cross-fade gives them weight 0 (`edge_frames`: O // 4, at least 1 once O ≥ 3) and
ramps over the rest of the overlap, so every seam frame comes mostly from a window that saw both sides. Inside a window the frames can be split
spatially into overlapping tiles (never across frames). Peak memory is set by W and the tile size,
not by the number of frames; decoded windows are accumulated on the output device.
"""
from __future__ import annotations

from typing import Callable

import torch


def window_plan(frames: int, window: int, overlap: int) -> list[tuple[int, int]]:
    """[start, end) of each window: stride W − O, the last window ending at the last frame."""
    if frames <= window:
        return [(0, frames)]
    stride = window - overlap
    starts = list(range(0, frames - window, stride)) + [frames - window]
    return [(s, s + window) for s in starts]


def edge_frames(overlap: int) -> int:
    """Frames at each window edge that get no weight in an overlap of O frames: O // 4, at least 1 for O ≥ 3 (O ≤ 2
    leaves no room: a plain linear ramp)."""
    return max(1, overlap // 4) if overlap >= 3 else 0


def fade_in(k: int, edge=edge_frames) -> torch.Tensor:
    """The incoming window's weights over a k-frame overlap: 0 on its first edge_frames(k) frames, then a linear ramp
    to 1 at the overlap's other edge (k ≤ 2: (t + 1)/(k + 1))."""
    t, e = torch.arange(1, k + 1, dtype=torch.float64), edge(k)
    return ((t - e) / (k + 1 - 2 * e)).clamp(0, 1) if e else t / (k + 1)


def blend_weights(plan: list[tuple[int, int]], frames: int, edge=edge_frames) -> list[torch.Tensor]:
    """Per-window weights: ramps over each overlap that skip the windows' edge frames (fade_in; edge=lambda o: 0
    gives the plain linear cross-fade), normalised so every frame's weights sum to 1."""
    raw = []
    for i, (s, e) in enumerate(plan):
        w = torch.ones(e - s, dtype=torch.float64)
        if i > 0 and plan[i - 1][1] > s:                   # fade in over the overlap with the previous window
            w[:plan[i - 1][1] - s] = fade_in(plan[i - 1][1] - s, edge)
        if i + 1 < len(plan) and plan[i + 1][0] < e:       # fade out over the overlap with the next window
            k = e - plan[i + 1][0]
            w[-k:] = torch.minimum(w[-k:], 1 - fade_in(k, edge))
        raw.append(w)
    total = torch.zeros(frames, dtype=torch.float64)
    for (s, e), w in zip(plan, raw):
        total[s:e] += w
    return [(w / total[s:e]).float() for (s, e), w in zip(plan, raw)]


def tile_plan(size: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    """[start, end) of spatial tiles along one axis (latent pixels), the last aligned to the edge."""
    if tile <= 0 or size <= tile:
        return [(0, size)]
    stride = max(tile - overlap, 1)
    starts = list(range(0, size - tile, stride)) + [size - tile]
    return [(s, s + tile) for s in starts]


def feather(n: int, lead: int, trail: int) -> torch.Tensor:
    """1-D mask: ramps up over `lead` and down over `trail` samples, 1 elsewhere (never 0)."""
    m = torch.ones(n)
    if lead:
        m[:lead] = torch.arange(1, lead + 1) / (lead + 1)
    if trail:
        m[n - trail:] = torch.minimum(m[n - trail:], torch.arange(trail, 0, -1) / (trail + 1))
    return m


def decode_tiled(decode: Callable, z: torch.Tensor, tile: int, overlap: int, scale: int) -> torch.Tensor:
    """Decode all frames of z [T, C, h, w] tile by tile; tiles blend with feathered masks in pixel space."""
    rows, cols = tile_plan(z.shape[-2], tile, overlap), tile_plan(z.shape[-1], tile, overlap)
    if len(rows) == len(cols) == 1:
        return decode(z)
    out = norm = None
    for i, (y0, y1) in enumerate(rows):
        for j, (x0, x1) in enumerate(cols):
            px = decode(z[..., y0:y1, x0:x1])
            if out is None:
                out = torch.zeros(px.shape[:2] + (z.shape[-2] * scale, z.shape[-1] * scale), device=px.device)
                norm = torch.zeros(out.shape[-2:], device=px.device)
            up = (rows[i - 1][1] - y0) * scale if i else 0
            down = (y1 - rows[i + 1][0]) * scale if i + 1 < len(rows) else 0
            left = (cols[j - 1][1] - x0) * scale if j else 0
            right = (x1 - cols[j + 1][0]) * scale if j + 1 < len(cols) else 0
            mask = (feather(px.shape[-2], up, down)[:, None] * feather(px.shape[-1], left, right)[None]).to(px.device)
            out[..., y0 * scale:y1 * scale, x0 * scale:x1 * scale] += px * mask
            norm[y0 * scale:y1 * scale, x0 * scale:x1 * scale] += mask
    return out / norm


def decode_windows(decode: Callable, z: torch.Tensor, window: int, overlap: int, on_window=None,
                   edge=edge_frames) -> torch.Tensor:
    """Decode z [T, C, h, w] window by window; decode(z_window) -> pixels [w, 3, H, W] on the output device."""
    plan = window_plan(z.shape[0], window, overlap)
    out = None
    for (s, e), w in zip(plan, blend_weights(plan, z.shape[0], edge)):
        px = decode(z[s:e])
        if out is None:
            out = torch.zeros((z.shape[0],) + tuple(px.shape[1:]), device=px.device)
        out[s:e] += px * w.to(px.device).view(-1, 1, 1, 1)
        if on_window is not None:
            on_window()
    return out
