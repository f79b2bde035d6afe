"""Latent-Shift's temporal shift (An et al. 2023), the parameter-free TSM operator (Lin et al. 2019).

Inside a ResBlock one portion of the channels is taken from the next frame (shifted backward in time)
and another from the previous frame (forward), so each frame sees its neighbours without new
parameters. TSM `ops/temporal_shift.py::TemporalShift.shift` with fold = C·fraction:
  out[:, f, :fold]       = x[:, f+1, :fold]        (zero after the last frame)
  out[:, f, fold:2·fold] = x[:, f−1, fold:2·fold]  (zero before the first frame)
  out[:, f, 2·fold:]     = x[:, f, 2·fold:]
Frames come from the batch as chunks × frames and are never shifted across chunks. One frame is the
identity (the paper: the fine-tuned model still makes images).
"""
from __future__ import annotations

import torch

BOUNDARIES = ("zero", "replicate", "loop")


def temporal_shift(x: torch.Tensor, frames: int, fraction: float = 0.125, boundary: str = "zero",
                   strength: float = 1.0) -> torch.Tensor:
    """x: [chunks·frames, C, ...] → same shape, channel portions shifted ±1 frame within each chunk."""
    fold = int(x.shape[1] * fraction)
    if frames <= 1 or fold == 0 or strength == 0.0:
        return x
    v = x.view(-1, frames, *x.shape[1:])
    back, fwd = v[:, :, :fold], v[:, :, fold:2 * fold]
    if boundary == "loop":
        new_back, new_fwd = back.roll(-1, 1), fwd.roll(1, 1)
    else:
        end = torch.zeros_like(back[:, :1]) if boundary == "zero" else back[:, -1:]
        start = torch.zeros_like(fwd[:, :1]) if boundary == "zero" else fwd[:, :1]
        new_back, new_fwd = torch.cat([back[:, 1:], end], 1), torch.cat([start, fwd[:, :-1]], 1)
    if strength != 1.0:
        new_back, new_fwd = torch.lerp(back, new_back, strength), torch.lerp(fwd, new_fwd, strength)
    return torch.cat([new_back, new_fwd, v[:, :, 2 * fold:]], 2).view_as(x)
