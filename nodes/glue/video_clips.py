"""Training clips for Latent-Shift fine-tuning: frames of a video, cut into clips of consecutive frames.

Latent-Shift (An et al. 2023, arXiv 2304.08477, framework figure) trains the U-Net on short videos whose
frames are encoded independently by the frozen VAE. A clip is the unit the temporal shift sees: its frames
sit together in one U-Net batch, in order, and are never mixed with another clip's frames. Clips come from an IMAGE
batch (frames in the batch axis) or from video files read with PyAV from a folder that must lie inside
ComfyUI's input directory.
"""
from __future__ import annotations

import os

import torch

VIDEO_EXTENSIONS = (".mp4", ".webm", ".mov", ".mkv", ".avi", ".gif", ".m4v")


def clip_bounds(frames: int, frames_per_clip: int) -> list[tuple[int, int]]:
    """[start, stop) of consecutive clips of `frames_per_clip` frames; a shorter tail of ≥ 2 frames is
    its own clip, a 1-frame tail is dropped (one frame has no neighbours to shift)."""
    bounds = [(s, min(s + frames_per_clip, frames)) for s in range(0, frames, frames_per_clip)]
    return [(a, b) for a, b in bounds if b - a >= 2]


def resolve_input_folder(name: str, input_dir: str) -> str:
    """The real path of `name` inside `input_dir`; ValueError with the reason if it is absolute, escapes
    the input directory (`..`, a symlink leading out) or is not a folder."""
    if not name.strip():
        raise ValueError("is empty.")
    if os.path.isabs(name) or os.path.splitdrive(name)[0]:
        raise ValueError(f"must be a folder relative to ComfyUI's input directory; the absolute path {name!r} "
                         f"is refused.")
    base = os.path.realpath(input_dir)
    path = os.path.realpath(os.path.join(base, name))
    if os.path.commonpath([base, path]) != base:
        raise ValueError(f"{name!r} leads outside ComfyUI's input directory ({base}); only folders inside it are read.")
    if not os.path.isdir(path):
        raise ValueError(f"there is no folder {name!r} in ComfyUI's input directory ({base}).")
    return path


def video_files(folder: str) -> list[str]:
    return sorted(os.path.join(folder, f) for f in os.listdir(folder)
                  if f.lower().endswith(VIDEO_EXTENSIONS) and os.path.isfile(os.path.join(folder, f)))


def read_video(path: str, max_frames: int) -> torch.Tensor:
    """The first `max_frames` frames of a video as an IMAGE tensor [F, H, W, 3] in [0, 1] (PyAV)."""
    import av
    frames = []
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            frames.append(torch.from_numpy(frame.to_ndarray(format="rgb24")))
            if len(frames) >= max_frames:
                break
    if not frames:
        return torch.zeros(0, 1, 1, 3)
    return torch.stack(frames).float() / 255.0


def fit_frames(images: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """IMAGE [F, H, W, C] → [F, height, width, 3]: centre crop to the aspect ratio, then bilinear resize."""
    import comfy.utils
    images = images[..., :3]
    if images.shape[1:3] == (height, width):
        return images
    x = comfy.utils.common_upscale(images.movedim(-1, 1), width, height, "bilinear", "center")
    return x.movedim(1, -1).clamp(0.0, 1.0)


def split_clips(images: torch.Tensor, frames_per_clip: int) -> list[torch.Tensor]:
    return [images[a:b] for a, b in clip_bounds(images.shape[0], frames_per_clip)]
