"""How a U-Net batch splits into chunks of frames.

ComfyUI concatenates one chunk per conditioning entry (uncond, cond, ...) along the batch axis, and
each chunk holds every frame of the video: batch = chunks × frames (comfy/samplers.py calc_cond_batch). The
order and number of chunks vary (cfg = 1 gives one chunk; low memory runs chunks separately;
several positive conditionings give several cond chunks), so every patch asks this module instead
of assuming "[uncond, cond]". Frames of one chunk are never split by ComfyUI.
"""
from __future__ import annotations

import math

import torch


def chunk_count(transformer_options: dict) -> int:
    """Number of conditioning chunks in the current U-Net batch (1 when ComfyUI did not say)."""
    return max(1, len(transformer_options.get("cond_or_uncond", ()) or ()))


def frames_per_chunk(batch: int, transformer_options: dict) -> int:
    chunks = chunk_count(transformer_options)
    if batch % chunks:
        raise ValueError(f"batch {batch} is not a multiple of the {chunks} conditioning chunks")
    return batch // chunks


def as_chunks(x: torch.Tensor, transformer_options: dict) -> torch.Tensor:
    """View a [chunks·frames, ...] activation as [chunks, frames, ...]; never mixes chunks."""
    chunks = chunk_count(transformer_options)
    return x.view(chunks, frames_per_chunk(x.shape[0], transformer_options), *x.shape[1:])


def anchor_frames(frames: int, anchor: int = 0) -> torch.Tensor:
    """Index of the anchor frame for every frame: all point at `anchor` (Text2Video-Zero, Eq. 6)."""
    return torch.full((frames,), min(max(anchor, 0), frames - 1), dtype=torch.long)


def previous_frames(frames: int) -> torch.Tensor:
    """Index of the previous frame for every frame; frame 0 is its own previous (sparse-causal)."""
    return (torch.arange(frames) - 1).clamp(min=0)


WINDOW_KEY = "vidlift_window"   # transformer_options key: global frame ids of the window our samplers run


def window_frame_ids(transformer_options: dict, frames: int) -> tuple[str, list[int]] | None:
    """Global frame index of each of the `frames` rows of a chunk when the video runs in windows.

    Returns (scheme, ids) or None when no window scheme is active or its ids do not fit the rows:
      "vidlift": our samplers' windows (`transformer_options["vidlift_window"]`, ids in batch order);
      "core": ComfyUI's context windows (`context_window.index_list`; with causal_window_fix the
              window has one extra leading row, frame `causal_anchor_index` = index_list[0] − 1,
              so the count comes from the rows, never from len(index_list); comfy/context_windows.py);
      "animatediff": AnimateDiff-Evolved's windows (`ad_params["sub_idxs"]`).
    """
    ids = transformer_options.get(WINDOW_KEY)
    if ids is not None and len(ids) == frames:
        return "vidlift", [int(i) for i in ids]
    window = transformer_options.get("context_window")
    if window is not None and getattr(window, "index_list", None) is not None:
        ids = [int(i) for i in window.index_list]
        if len(ids) == frames:
            return "core", ids
        if len(ids) + 1 == frames:
            lead = getattr(window, "causal_anchor_index", None)
            return "core", [int(lead) if lead is not None else ids[0] - 1] + ids
    ad = transformer_options.get("ad_params")
    if isinstance(ad, dict) and ad.get("sub_idxs") is not None and len(ad["sub_idxs"]) == frames:
        return "animatediff", [int(i) for i in ad["sub_idxs"]]
    return None


def preview_grid(x0: torch.Tensor, max_frames: int, dim: int = 0) -> torch.Tensor:
    """The frames of x0 (a window's or clip's x̂₀: [F, C, h, w], or [B, C, F, h, w] with dim 2) as one latent grid
    image for a latent previewer: up to `max_frames` frames evenly spaced (first and last included), ⌈√n⌉ per row,
    left to right and top to bottom, empty cells zero; [1, C, rows·h, cols·w] (dim 2: [1, C, 1, rows·h, cols·w])."""
    frames = x0[0].movedim(1, 0) if dim == 2 else x0
    n = frames.shape[0]
    pick = torch.linspace(0, n - 1, min(n, max(1, max_frames))).round().long().unique()
    frames = frames[pick.to(frames.device)]
    cols = math.ceil(math.sqrt(len(frames)))
    rows = math.ceil(len(frames) / cols)
    cells = torch.cat([frames, frames.new_zeros((rows * cols - len(frames), *frames.shape[1:]))])
    c, h, w = frames.shape[1:]
    grid = cells.view(rows, cols, c, h, w).permute(2, 0, 3, 1, 4).reshape(1, c, rows * h, cols * w)
    return grid.unsqueeze(2) if dim == 2 else grid
