"""VideoElevator's bridge between an image model's latents (frames in the batch) and a native video model's
latent video [1, C, T, h, w]; pure torch and callables.

A causal video VAE (Wan, HunyuanVideo: 4n+1 pixel frames ↔ n+1 latent frames; LTX: 8n+1) encodes pixel frame 0
alone and every later group of `temporal` frames into one latent frame. The two directions of one motion step:
  to_video:  x̂₀ᴵ [F, …] → decode_image → (pixels) → encode_video (one video) → [1, Cᵥ, T, hᵥ, wᵥ]
  to_image:  x̂₀ⱽ → decode_video → F frames → encode_frames (FRAME BY FRAME: an image model in a video VAE's latent
             space, Qwen-Image or Krea 2 in Wan 2.1's, must never compress time) → [F, …]
Re-noising with the T2V's own coefficients, its K steps and the T2I's inversion stay in video_elevator.elevate.

Shared latent space (Qwen-Image / Krea 2 T2I + Wan 2.1 T2V, one encoder): the causal encoder makes latent frame 0
of the video exactly the per-frame latent of pixel frame 0, and the causal decoder makes pixel frame 0 of the
video depend on latent frame 0 alone (both checked on ComfyUI's WanVAE in tests/inprocess/test_video_elevator_wan.py).
So frame 0 may skip the pixel round trip in both directions (`shared_frame0`); latent frames 1… each mix
`temporal` pixel frames and need the bridge. The round trip still decodes all F frames (the encoder's causal
cache starts at frame 0); what the shortcut saves is frame 0's VAE round-trip error and one per-frame encode.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch


def latent_frames(frames: int, temporal: int) -> int:
    """Latent frames of `frames` pixel frames: (F − 1)/temporal + 1 (Wan: 4n+1 → n+1)."""
    return (frames - 1) // temporal + 1


def pixel_frames(latent_t: int, temporal: int) -> int:
    """Pixel frames of `latent_t` latent frames: temporal·(T − 1) + 1."""
    return temporal * (latent_t - 1) + 1


def is_valid_count(frames: int, temporal: int) -> bool:
    return frames >= 1 and (frames - 1) % temporal == 0


def nearest_valid_count(frames: int, temporal: int) -> int:
    """The valid count (temporal·n + 1) nearest `frames`; the larger one on a tie."""
    below = pixel_frames(latent_frames(max(frames, 1), temporal), temporal)
    above = below + temporal
    return below if frames - below < above - frames else above


def frames_problem(frames: int, temporal: int, family: str, param: str = "latent"):
    """(param, text) when the T2V cannot take `frames` frames, else None."""
    if is_valid_count(frames, temporal):
        return None
    near = nearest_valid_count(frames, temporal)
    return param, (f"has {frames} frames (batch size) but the {family} video model needs {temporal}n+1 frames "
                   f"(1, {1 + temporal}, {1 + 2 * temporal}, …; its VAE turns {temporal}n+1 frames into n+1 latent "
                   f"frames); use {near} frames.")


def size_problem(height: int, width: int, multiple: int, why: str, param: str = "latent"):
    """(param, text) when a pixel size is not a multiple of `multiple`, else None; offers the nearest sizes."""
    if height % multiple == 0 and width % multiple == 0:
        return None
    near = [max(multiple, int(s / multiple + 0.5) * multiple) for s in (width, height)]   # ties upward
    return param, (f"makes {width}×{height} pixel frames but {why} need width and height multiples of {multiple}; "
                   f"use {near[0]}×{near[1]}.")


@dataclass
class Bridge:
    """The VAE ops of one cross-space pair, on sampler-space latents (latent formats' process_in/out applied by
    the callables). decode_image: [F, …] → pixels [F, H, W, 3]; encode_video: pixels → [1, Cᵥ, T, hᵥ, wᵥ];
    decode_video: the reverse → pixels [F, H, W, 3]; encode_frames: pixels → [F, …], each frame alone.
    shared_frame0: image and video latents share one space (module docstring)."""
    decode_image: Callable[[torch.Tensor], torch.Tensor]
    encode_video: Callable[[torch.Tensor], torch.Tensor]
    decode_video: Callable[[torch.Tensor], torch.Tensor]
    encode_frames: Callable[[torch.Tensor], torch.Tensor]
    shared_frame0: bool = False
    OPS_PER_REFINING = 4                       # decode, encode, decode, encode: the progress bar counts each

    def to_video(self, x0: torch.Tensor, tick=lambda: None) -> torch.Tensor:
        pixels = self.decode_image(x0)
        tick()
        video = self.encode_video(pixels)
        tick()
        if self.shared_frame0:                 # latent frame 0 of a causal video = frame 0's image latent
            video = video.clone()
            video[0, :, 0] = x0[0].reshape(video[0, :, 0].shape)
        return video

    def to_image(self, v0: torch.Tensor, tick=lambda: None) -> torch.Tensor:
        pixels = self.decode_video(v0)
        tick()
        if self.shared_frame0:                 # pixel frame 0 came from latent frame 0 alone: skip its round trip
            rest = self.encode_frames(pixels[1:])
            first = v0[0, :, 0].reshape(1, *rest.shape[1:]).to(rest)
            out = torch.cat([first, rest])
        else:
            out = self.encode_frames(pixels)
        tick()
        return out
