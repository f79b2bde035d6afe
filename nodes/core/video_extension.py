"""Reuse and Diffuse (VidRD, Gu et al. 2023) on native video latents [B, C, T, h, w] (Wan, LTX, HunyuanVideo):
extend a clip in latent space, clip by clip, with the causal VAE's first latent frame handled.

Causal offset. A causal video VAE encodes pixel frame 0 alone into latent frame 0 and each later group of c pixel
frames (c, the family's `temporal` in model_families.VIDEO_ADAPTERS: 4 Wan / HunyuanVideo 1.5, 8 LTX) into one
latent frame: latent frame L ≥ 1 holds pixel frames c(L−1)+1 … cL.
The previous clip's tail put at positions 0…M−1 of the next clip would set a c-frame latent in the one-frame slot
0, so the next clip's frames would run c−1 pixel frames off. Clip k+1 (T latent frames, M context frames) is laid
out instead as
    position 0          anchor: the previous clip's frame T−M−1 fills the one-frame slot (then dropped, as
                        ComfyUI's context windows do with `causal_window_fix`)
    positions 1 … M     context: the previous clip's frames T−M … T−1, held
    positions M+1 … T−1 new: T−1−M latent frames, c·(T−1−M) pixel frames
so clip k's position p is the long video's latent frame k·(T−1−M) + p: the new frames continue the long latent with
no gap and no repeat, and the whole video decodes in one VAE call.

Noise (FNR and PNS, VidRD §3.2): anchor and context keep the noise their frames had in the previous clip (their
re-noised states lie on its path); new frame p gets r/√(1+r²)·ε_prev[T+M−p] + ε_fresh/√(1+r²), the previous
clip's noise mirrored about the join (VidRD's time reversal) mixed with fresh noise.

Held context goes through ComfyUI's inpaint mask (`denoise_mask`, 0 = keep), and the result holds it exactly. What
the model sees of it is its model_base's choice (comfy_glue.holds_frames_clean): with per-frame timesteps (WAN22,
LTXV: `process_timestep` reads the mask) the held frames clean at t = 0; WAN21 sees them re-noised to the current σ
with their own noise at every step (latent re-noising); HunyuanVideo 1.5 sees their clean latent at the step's one t
(its `scale_latent_inpaint` returns it), with its concat mask channel set on them and a zero concat image.
"""
from __future__ import annotations

from typing import Callable

import torch

from .colour_anchor import anchored, statistics
from .noise import recycled
from .reuse_diffuse import ReuseClip

class VideoClip(ReuseClip):
    """reuse_diffuse.ReuseClip on a video latent (frames on dim 2): its N(0, I) noise and its sampled latent
    (LATENT scaling, `kept`), [B, C, T, h, w], CPU; the σ levels it was sampled on; k, counted from the chain's
    first clip (it picks the next fresh draw)."""
    dim = 2

    @property
    def latent(self) -> torch.Tensor:
        return self.kept


def context_sources(frames: int, overlap: int) -> torch.Tensor:
    """The previous clip's frames at positions 0 … M (anchor, then context): T−M−1 … T−1."""
    return torch.arange(frames - overlap - 1, frames)


def mirrored_sources(frames: int, overlap: int) -> torch.Tensor:
    """The previous clip's frame whose noise new position p = M+1 … T−1 recycles: T+M−p (mirrored about the join)."""
    return frames + overlap - torch.arange(overlap + 1, frames)


def long_index(clip: int, frames: int, overlap: int, position: int) -> int:
    """The long video's latent frame of clip k's position p (clip 0 is the first clip)."""
    return clip * (frames - 1 - overlap) + position


def pixel_frames(latent_frame: int, per_latent: int) -> range:
    """The pixel frames a causal VAE puts in latent frame L: {0} for L = 0, c(L−1)+1 … cL after."""
    return range(0, 1) if latent_frame == 0 else range(per_latent * (latent_frame - 1) + 1, per_latent * latent_frame + 1)


def extension_noise(previous: torch.Tensor, overlap: int, recycle: float, fresh: torch.Tensor) -> torch.Tensor:
    """FNR for anchor and context (their own previous noise), PNS for the new frames; all N(0, I) [B, C, T, h, w]."""
    frames = previous.shape[2]
    held = previous[:, :, context_sources(frames, overlap)]
    mirrored = previous[:, :, mirrored_sources(frames, overlap)]
    return torch.cat([held, recycled(mirrored, fresh[:, :, overlap + 1:], recycle)], dim=2)


def extension_start(previous: VideoClip, overlap: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The next clip's latent image (anchor and context from the previous clip, zeros after) and its denoise mask
    [B, 1, T, h, w] (0 = held)."""
    frames = previous.frames
    latent = torch.zeros_like(previous.latent)
    latent[:, :, :overlap + 1] = previous.latent[:, :, context_sources(frames, overlap)]
    mask = torch.ones_like(latent[:, :1])
    mask[:, :, :overlap + 1] = 0.0
    return latent, mask


Sample = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None", int], torch.Tensor]


def extend_video(sample: Sample, shape, clips: int, noise: Callable[[int], torch.Tensor], sigmas: torch.Tensor,
                 overlap: int, recycle: float = 0.0, keep_overlap: bool = False, previous: VideoClip | None = None,
                 colour_anchor: float = 0.0):
    """VidRD on a video latent: `clips` clips of `shape` [B, C, T, h, w], each continuing the last (or `previous`).
    sample(noise, latent_image, denoise_mask or None, clip index) runs the model's sampler on one clip; noise(k)
    is clip k's fresh N(0, I). Returns (the new latent frames along dim 2, the last clip as a VideoClip): without
    `previous` clip 0 whole, then each extension's new frames (with keep_overlap, its context frames too).
    colour_anchor: the strength with which each extension's new frames are matched to the chain's first clip's
    colour statistics (colour_anchor.py; 0 = off); the held frames stay exactly as held."""
    parts, first = [], 0 if previous is None else previous.clip + 1
    for k in range(first, first + clips):
        fresh = noise(k)
        if previous is None:
            eps, start, mask = fresh, torch.zeros(shape), None
        else:
            eps = extension_noise(previous.noise, overlap, recycle, fresh)
            start, mask = extension_start(previous, overlap)
        latent = sample(eps, start, mask, k).cpu()
        if previous is None:                                 # the chain's first clip sets the colours
            colours = statistics(latent, dim=2)
        else:
            colours = previous.anchor if previous.anchor is not None else statistics(previous.latent, dim=2)
            latent[:, :, overlap + 1:] = anchored(latent[:, :, overlap + 1:], colours, colour_anchor, dim=2)
        keep = 0 if previous is None else (1 if keep_overlap else overlap + 1)
        parts.append(latent[:, :, keep:])
        previous = VideoClip(eps.cpu(), latent, sigmas.float().cpu(), k, colours)
    return torch.cat(parts, dim=2), previous
