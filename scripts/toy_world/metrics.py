"""Ground-truth metrics of the toy world, read from pixels only.

Per frame: every pixel is classified to its nearest palette colour (robust to blur and noise smaller than half the
palette's minimum distance, 0.32); the background is the most common class on the image border (the world keeps a
one-pixel margin free of the object); the object is the most common other class and its mask the pixels of that
class (blended edge pixels of a third class are ignored). Shape from the fill of the circumscribed circle:
A / (π (R + ½)²), R the largest mask-pixel distance from the centroid (½ for the pixel's extent) — about 1 for a
disk, 2/π = 0.64 for a square, 3√3/(4π) = 0.41 for an equilateral triangle.
"""
import re

import numpy as np
import torch

from .world import PALETTE, SHAPES

NAMES = list(PALETTE)
_PALETTE = torch.tensor([PALETTE[n] for n in NAMES], dtype=torch.float64)
DISK_MIN_FILL, SQUARE_MIN_FILL = 0.75, 0.58  # measured over sizes 6.4..12.8 px: disk 0.84..0.94, square 0.65..0.67, triangle 0.38..0.52
SHAPE_WORDS = {"disk": "disk", "ball": "disk", "circle": "disk", "square": "square", "triangle": "triangle"}
_CAPTION = re.compile(r"\ban? (\w+) (\w+) (?:moving (?:right|left|up|down) )?on an? (\w+) background\b")
_MOTION = re.compile(r"\bmoving (right|left|up|down)\b")


def caption_direction(caption):
    """'a red disk moving left on a blue background' -> 'left'; None when the caption names no motion."""
    m = _MOTION.search(caption.lower())
    return m.group(1) if m else None


def parse_caption(caption):
    """'a red ball on a blue background' -> ('red', 'disk', 'blue'); a ball or circle is a disk."""
    m = _CAPTION.search(caption.lower())
    if not m or m.group(1) not in PALETTE or m.group(2) not in SHAPE_WORDS or m.group(3) not in PALETTE:
        raise ValueError(f"toy world: cannot parse caption {caption!r}; expected 'a <colour> <shape> on a "
                         f"<colour> background' with colours {NAMES} and shapes {sorted(SHAPE_WORDS)}")
    return m.group(1), SHAPE_WORDS[m.group(2)], m.group(3)


def classify(frame):
    """[H,W,3] in 0..1 -> [H,W] long index of the nearest palette colour."""
    d = torch.cdist(frame.reshape(-1, 3).double(), _PALETTE)
    return d.argmin(dim=1).reshape(frame.shape[:2])


def shape_of(mask, centroid):
    """'disk' | 'square' | 'triangle' from a bool mask and its (x, y) centroid (see the module docstring)."""
    ys, xs = torch.nonzero(mask, as_tuple=True)
    r = torch.sqrt((xs.double() - centroid[0]) ** 2 + (ys.double() - centroid[1]) ** 2).max()
    fill = xs.numel() / (np.pi * (float(r) + 0.5) ** 2)
    return "disk" if fill >= DISK_MIN_FILL else "square" if fill >= SQUARE_MIN_FILL else "triangle"


def frame_stats(frame):
    """One frame [H,W,3] -> dict: background, object_colour, shape, area, centroid (x, y) float64, mask.
    Without any object pixel, object_colour and shape are None, area 0 and centroid NaN."""
    cls = classify(frame)
    border = torch.cat([cls[0], cls[-1], cls[1:-1, 0], cls[1:-1, -1]])
    bg = int(torch.bincount(border, minlength=len(NAMES)).argmax())
    counts = torch.bincount(cls.flatten(), minlength=len(NAMES))
    counts[bg] = 0
    if int(counts.max()) == 0:
        return {"background": NAMES[bg], "object_colour": None, "shape": None, "area": 0,
                "centroid": torch.full((2,), float("nan"), dtype=torch.float64),
                "mask": torch.zeros_like(cls, dtype=torch.bool), "background_mask": cls == bg}
    obj = int(counts.argmax())
    mask = cls == obj
    ys, xs = torch.nonzero(mask, as_tuple=True)
    centroid = torch.stack([xs.double().mean(), ys.double().mean()])
    return {"background": NAMES[bg], "object_colour": NAMES[obj], "shape": shape_of(mask, centroid),
            "area": int(mask.sum()), "centroid": centroid, "mask": mask, "background_mask": cls == bg}


def _mode_fraction(values):
    """Fraction of entries equal to the most common one (1.0 when all agree)."""
    return max(values.count(v) for v in set(values)) / len(values)


def video_metrics(frames, caption):
    """frames [F,H,W,3] in 0..1 and the prompt's caption -> dict of floats:
    fidelity: fraction of frames whose object colour and background colour both match the caption;
    shape_fidelity: fraction whose shape matches; colour_consistency / shape_consistency: fraction of frames that
    agree with the clip's most common object colour / shape; area_cv: std/mean of the object area;
    speed: mean centroid displacement per frame (pixels); smoothness: mean norm of the centroid's second difference
    (0 for constant velocity); flicker: mean over consecutive frames of the mean absolute per-channel change over
    pixels that are background in both (0 for a static background)."""
    want_colour, want_shape, want_bg = parse_caption(caption)
    stats = [frame_stats(f) for f in frames]
    n = len(stats)
    out = {
        "fidelity": sum(s["object_colour"] == want_colour and s["background"] == want_bg for s in stats) / n,
        "shape_fidelity": sum(s["shape"] == want_shape for s in stats) / n,
        "colour_consistency": _mode_fraction([s["object_colour"] for s in stats]),
        "shape_consistency": _mode_fraction([s["shape"] for s in stats]),
    }
    areas = torch.tensor([float(s["area"]) for s in stats], dtype=torch.float64)
    out["area_cv"] = float(areas.std(unbiased=False) / areas.mean()) if areas.mean() > 0 else float("nan")
    c = torch.stack([s["centroid"] for s in stats])
    d1 = c[1:] - c[:-1]
    out["speed"] = float(d1.norm(dim=1).mean()) if n > 1 else float("nan")
    out["smoothness"] = float((d1[1:] - d1[:-1]).norm(dim=1).mean()) if n > 2 else float("nan")
    changes = []
    for t in range(1, n):
        both = stats[t]["background_mask"] & stats[t - 1]["background_mask"]
        if both.any():
            changes.append(float((frames[t].double() - frames[t - 1].double()).abs()[both].mean()))
    out["flicker"] = sum(changes) / len(changes) if changes else float("nan")
    return out


__all__ = ["parse_caption", "caption_direction", "classify", "shape_of", "frame_stats", "video_metrics",
           "motion_metrics", "SHAPES"]


def motion_metrics(frames, caption):
    """Motion of the object against the caption's direction ("moving right|left|up|down"), from pixels:
    direction_ok: 1.0 when the centroid's net displacement points the caption's way (its component along that
    direction is positive and larger than the one across it), else 0.0; axis_speed: net displacement along the
    direction per frame (px); median_second_difference: median over frames of ‖c[t+1] − 2c[t] + c[t−1]‖ (px; 0 for
    constant velocity, a bounce costs one or two frames). Frames without an object are left out (NaN if < 3)."""
    from .world import DIRECTIONS
    direction = caption_direction(caption)
    c = torch.stack([frame_stats(f)["centroid"] for f in frames])
    c = c[~torch.isnan(c).any(dim=1)]
    out = {"direction_ok": float("nan"), "axis_speed": float("nan"), "median_second_difference": float("nan")}
    if len(c) >= 3:
        d2 = c[2:] - 2 * c[1:-1] + c[:-2]
        out["median_second_difference"] = float(d2.norm(dim=1).median())
    if direction is not None and len(c) >= 2:
        u = torch.tensor(DIRECTIONS[direction], dtype=torch.float64)
        net = c[-1] - c[0]
        along, across = float(net @ u), float(abs(net[0] * u[1] - net[1] * u[0]))
        out["direction_ok"] = float(along > 0 and along > across)
        out["axis_speed"] = along / (len(c) - 1)
    return out


def _mode(values):
    return max(set(values), key=values.count)


def long_video_metrics(frames, caption, boundaries, window=16):
    """A long video [F,H,W,3] made of windows or clips whose first frames are `boundaries` (frame indices > 0):
    keeps_object: 1.0 when the most common (colour, shape) of the last `window` frames is that of the first `window`
    frames and the caption's colour; seam_ratio: the largest centroid jump across a boundary over the median
    frame-to-frame motion inside windows (floored at 0.5 px, the metric's precision, so a still object is not
    divided by ~0); no_seams: seam_ratio ≤ 2; speed_kept: mean |Δc| in the last window over that in the first."""
    want_colour = parse_caption(caption)[0]
    stats = [frame_stats(f) for f in frames]
    kind = [(s["object_colour"], s["shape"]) for s in stats]
    first, last = _mode(kind[:window]), _mode(kind[-window:])
    c = torch.stack([s["centroid"] for s in stats])
    step = (c[1:] - c[:-1]).norm(dim=1)                       # step[t-1]: frame t-1 → t
    cut = set(boundaries)
    inside = torch.stack([step[t - 1] for t in range(1, len(c)) if t not in cut])
    inside = inside[~torch.isnan(inside)]
    jumps = torch.stack([step[b - 1] for b in boundaries])
    median = max(float(inside.median()), 0.5) if len(inside) else float("nan")
    ratio = float(jumps.nan_to_num(float("inf")).max()) / median
    head, tail = step[:window - 1], step[-(window - 1):]
    return {"keeps_object": float(first == last and first[0] == want_colour), "seam_ratio": ratio,
            "no_seams": float(ratio <= 2.0), "inside_motion": median,
            "speed_kept": float(tail.nanmean() / head.nanmean()) if float(head.nanmean()) > 0 else float("nan")}


def latent_drift(latent, clip_frames):
    """Per-clip colour drift in latent space [F, C, h, w]: mean over channels of |Δ mean| and |Δ std| of the last
    clip against the first (per-channel statistics over the clip's frames and pixels)."""
    clips = latent.float().split(clip_frames)
    stats = [(c.mean(dim=(0, 2, 3)), c.std(dim=(0, 2, 3))) for c in clips if len(c) == clip_frames]
    (m0, s0), (m1, s1) = stats[0], stats[-1]
    return {"drift_mean": float((m1 - m0).abs().mean()), "drift_std": float((s1 - s0).abs().mean())}


def seam_flash(frames, plan, seamless=None):
    """Flashes where temporal decode windows meet, from pixels [F, H, W, 3]: per-frame mean brightness and mean
    colour (R, G, B); a step is |Δ| from frame t to t+1 (colour: the largest channel's). A seam's zone is the steps
    that touch the overlap [s, e) of two windows (s − 1 → s … e − 1 → e). *_ratio: the largest step in any zone over
    the median step outside them (the motion inside windows). With `seamless` (the same latent decoded in one call:
    every frame inside one window) *_excess: per zone, its largest step over the seamless decode's largest step in
    the same zone, the worst zone — how much larger a step is because windows meet there (1 = no flash)."""
    def steps(video):
        rgb = video.double().mean(dim=(1, 2))
        b = rgb.mean(dim=1)
        return {"brightness": (b[1:] - b[:-1]).abs(), "colour": (rgb[1:] - rgb[:-1]).abs().max(dim=1).values}
    zones = [[t for t in range(s - 1, e) if 0 <= t < len(frames) - 1] for (s, _), (_, e) in zip(plan[1:], plan[:-1])]
    inside = [t for t in range(len(frames) - 1) if not any(t in z for z in zones)]
    got = steps(frames)
    out = {f"{k}_ratio": float(max(v[z].max() for z in zones) / v[inside].median().clamp_min(1e-12))
           for k, v in got.items()}
    if seamless is not None:
        ref = steps(seamless)
        out.update({f"{k}_excess": float(max(v[z].max() / ref[k][z].max().clamp_min(1e-12) for z in zones))
                    for k, v in got.items()})
    return out


def prompt_switch(frames, before, after, at, window=16):
    """A prompt switch along a video [F, H, W, 3], from colour `before` to `after` at frame `at`: switch_frame, the
    first t whose frames t … t+3 all show an object of colour `after`; switched: such a t exists and the first
    `window` frames mostly show `before`;
    switch_delay: t − at; within_window: |t − at| ≤ window; switch_jump: the centroid step into frame t over the
    median step (floored at 0.5 px), the seam measure of long_video_metrics."""
    stats = [frame_stats(f) for f in frames]
    colours = [s["object_colour"] for s in stats]
    t = next((i for i in range(1, len(colours) - 3) if all(c == after for c in colours[i:i + 4])), None)
    first = _mode(colours[:window])
    out = {"switched": float(t is not None and first == before), "switch_frame": float("nan") if t is None else t}
    c = torch.stack([s["centroid"] for s in stats])
    step = (c[1:] - c[:-1]).norm(dim=1)
    median = max(float(step[~torch.isnan(step)].median()), 0.5)
    out["switch_delay"] = float("nan") if t is None else t - at
    out["within_window"] = float(t is not None and abs(t - at) <= window)
    out["switch_jump"] = float("nan") if t is None else float(step[t - 1].nan_to_num(float("inf"))) / median
    return out
