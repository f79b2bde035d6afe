"""Reuse and Diffuse (VidRD, Gu et al. 2023): extend a clip by reusing its noise and per-step latents.

As the official code (`model/pipeline.py::SDVideoPipeline.__call__`), for clip k+1 of N frames with
M overlap frames, noise recycle r and staged guidance g, over S DDIM steps:
  FNR  z^{k+1}_{t0}[j] = z^k_{t0}[N−1−j]                                   j < M
  PNS  z^{k+1}_{t0}[j] = r/√(1+r²)·z^k_{t0}[N−1−j] + η,  η ~ N(0, 1/(1+r²))  j ≥ M
  DSG  at step i, z^{k+1}_{t_i}[j] ← z^k_{t_i}[N−1−j]  while i < (M−j)·(S/M)·g,  j < M
The time reversal is the reference's (each extension starts as the previous clip played backwards);
`forward` maps frame j to the previous clip's frame (N−M+j) mod N instead — a documented deviation.
Written as a k-diffusion sampler; z is the DDPM-form noise, the sampler state x = z·√(1+σ₀²).
A run may continue a clip sampled earlier (a `ReuseClip`) and reports its own last clip as one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from tqdm.auto import tqdm

from .colour_anchor import Anchor, anchored, statistics
from .ddim_loop import Reporter, sample_ddim
from .noise import clip_noise, recycled
from . import sampling_math as sm

__all__ = ["ReuseClip", "clip_noise", "sample_reuse_diffuse"]      # clip_noise: the chains' draw (noise.py)

DEFAULTS = dict(clip_frames=8, overlap=4, recycle=4.0, guidance=0.4, steps=50, cfg=10.0)


@dataclass(frozen=True, eq=False)
class ReuseClip:
    """What clip k+1 needs from clip k, one record for both layouts (CPU tensors; the frame axis is `dim`).

    noise: the clip's N(0, I) initial noise z^k_{t0} (FNR/PNS read it). kept: what the next clip holds of it — here
    (frames in the batch, dim 0) the sampler state entering each step i (after DSG), x_i = z^k_{t_i}·√(1+σ_i²),
    [S, N, C, h, w], which DSG reads; video_extension.VideoClip (dim 2) keeps the sampled latent. sigmas: the S+1
    levels it was sampled on. clip: k, counted from the chain's first clip (it picks the next clip's noise draw).
    anchor: the chain's first clip's per-channel statistics (colour_anchor.py), which every later clip may match.
    """
    noise: torch.Tensor
    kept: torch.Tensor
    sigmas: torch.Tensor
    clip: int
    anchor: Anchor | None = None
    dim: ClassVar[int] = 0

    @property
    def frames(self) -> int:
        return self.noise.shape[self.dim]

    @property
    def init(self) -> torch.Tensor:
        return self.noise

    @property
    def history(self) -> torch.Tensor:
        return self.kept

    @property
    def steps(self) -> int:
        return len(self.sigmas) - 1

    def schedule_problem(self, sigmas: torch.Tensor) -> str | None:
        """Why a clip sampled on `sigmas` cannot continue this one, or None."""
        if self.steps != len(sigmas) - 1:
            return f"was sampled with {self.steps} steps but steps = {len(sigmas) - 1}; set steps to {self.steps}."
        if not torch.allclose(self.sigmas.double(), sigmas.double(), rtol=1e-5):
            return ("was sampled on another noise schedule (σ levels differ); use a model of the same family (and "
                    "shift).")
        return None


def staged_guidance_steps(overlap: int, steps: int, guidance: float) -> list[float]:
    """DSG: frame j < M is replaced while the step index i < (M − j)·(S/M)·g."""
    return [(overlap - j) * (steps / overlap) * guidance for j in range(overlap)]


def source_frames(frames: int, overlap: int, forward: bool = False) -> torch.Tensor:
    """Which frame of the previous clip each frame reuses: N−1−j (reference), or (N−M+j) mod N (forward)."""
    j = torch.arange(frames)
    return (frames - overlap + j) % frames if forward else frames - 1 - j


def reuse_noise(previous: torch.Tensor, source: torch.Tensor, overlap: int, recycle: float,
                fresh: torch.Tensor) -> torch.Tensor:
    """FNR for the first M frames, PNS for the rest; previous and fresh are N(0, I) [N, ...]."""
    reused = previous[source.to(previous.device)]
    return torch.cat([reused[:overlap], recycled(reused, fresh, recycle)[overlap:]])


def output_frames(clips: int, frames: int, overlap: int, keep_overlap: bool, continued: bool = False) -> int:
    """Frames returned for `clips` clips; a run that continues a previous clip returns only new clips."""
    new = clips * (frames if keep_overlap else frames - overlap)
    return new if continued or keep_overlap else new + overlap


@torch.no_grad()
def sample_reuse_diffuse(model, x, sigmas, extra_args=None, callback=None, disable=None, clip_frames=8, clips=2,
                         overlap=4, recycle=4.0, guidance=0.4, forward=False, keep_overlap=True, noise=None,
                         previous=None, report=None, co=sm.VE, out_device="cpu", colour_anchor=0.0, clip_args=None):
    """VidRD, FNR + PNS + DSG (official pipeline). noise(k) gives clip k's N(0, I) draw [N, C, h, w].
    With `previous` (a ReuseClip) every clip continues it, else the run starts with a clip 0 of its own;
    `report` receives the last clip as a ReuseClip (a KSAMPLER function must return the tensor). Finished clips go
    to `out_device` (ComfyUI's intermediate device), the video is returned on x's device (KSAMPLER's last step).
    co: the model's sampling coefficients (sampling_math; default ComfyUI's EPS/V form). colour_anchor: the strength
    with which every clip after the chain's first is matched to its colour statistics (colour_anchor.py; 0 = off).
    clip_args(k): extra arguments of clip k's model calls (e.g. the prompt of a prompt schedule at its frames)."""
    extra_args = {} if extra_args is None else extra_args
    steps, n = len(sigmas) - 1, clip_frames
    stages = staged_guidance_steps(overlap, steps, guidance)
    source = source_frames(n, overlap, forward)
    first = 0 if previous is None else previous.clip + 1
    init = None if previous is None else previous.init.to(x)
    history = None if previous is None else previous.history
    anchor = None if previous is None else previous.anchor
    video = x.new_empty((output_frames(clips, n, overlap, keep_overlap, previous is not None), *x.shape[1:]),
                        device=out_device)                   # the long video exists once, off the model's device
    filled = 0
    step = Reporter(callback)
    for k in tqdm(range(first, first + clips), disable=disable or clips < 2, desc="clips"):   # console bars
        draw = noise(k).to(x) if noise is not None else torch.randn_like(x[:n])
        init = draw if init is None else reuse_noise(init, source, overlap, recycle, draw)
        new_history = []

        def dsg(i, z, history=history, new_history=new_history):    # the frame nearest the join longest
            if history is not None:
                for j in range(overlap):
                    if i < stages[j]:
                        z[j] = history[i][source[j]].to(z)
            new_history.append(z.cpu())
            return z

        args = extra_args if clip_args is None else {**extra_args, **clip_args(k)}
        z = sample_ddim(model, sm.from_vp(co, init, sigmas[0]), sigmas, args, step, disable, co, hold=dsg)
        history = new_history
        if anchor is None:                                   # the chain's first clip sets the colours
            anchor = statistics(z)
        else:                                                # statistics of the new frames, not the reused ones
            z = anchored(z, anchor, colour_anchor, new=slice(overlap, None))
        part = z if keep_overlap or k == 0 else z[overlap:]
        video[filled:filled + part.shape[0]] = part.to(video)
        filled += part.shape[0]
    if report is not None:
        report(ReuseClip(init.cpu(), torch.stack(history), sigmas.float().cpu(), first + clips - 1, anchor))
    return video.to(x)
