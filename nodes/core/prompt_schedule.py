"""Prompt travel: a prompt schedule along a long video, and how much of each prompt a window or clip takes.

A schedule is a list of (start frame, prompt) with strictly increasing starts, the first at frame 0; prompt j holds
from its start to the next one's. A window or clip spanning frames F takes prompt j with weight

    w_j = |{f ∈ F : f holds prompt j}| / |F|,

so a window inside one prompt's span takes that prompt alone (its conditioning exactly), and a window across a switch
— context or overlap frames from before it, new frames after — takes the text embeddings of both, linearly blended in
the proportion of its frames (AnimateDiff's prompt travel blends embeddings between keyframes in the same way). Not in
the papers: they sample one prompt per video.
"""
from __future__ import annotations

import re

LINE = re.compile(r"^\s*(\d+)\s*:\s*(.*\S)\s*$")


def parse_schedule(text: str) -> tuple[list[tuple[int, str]], str | None]:
    """(schedule, None) from lines `frame: prompt` (blank lines and lines starting with # skipped), or ([], why)."""
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = LINE.match(line)
        if m is None:
            return [], f"line {number} ({line.strip()[:40]!r}) is not `frame: prompt` (e.g. `0: a red disk`)."
        entries.append((int(m.group(1)), m.group(2)))
    if not entries:
        return [], "is empty: write one line `frame: prompt` per prompt, the first at frame 0."
    if entries[0][0] != 0:
        return [], f"starts at frame {entries[0][0]}: the first prompt must start at frame 0 (`0: …`)."
    for (a, _), (b, _) in zip(entries, entries[1:]):
        if b <= a:
            return [], f"has frame {b} after frame {a}: frames must increase from line to line."
    return entries, None


def span_weights(starts: list[int], frames) -> list[float]:
    """w_j of the module docstring: the fraction of `frames` (frame indices) that hold prompt j."""
    frames = list(frames)
    counts = [0] * len(starts)
    for f in frames:
        counts[max(j for j, s in enumerate(starts) if s <= f)] += 1
    return [c / len(frames) for c in counts]


def contiguous_tail(frames) -> list[int]:
    """The run of consecutive frame indices that ends at the window's last frame: a window's own span, without an
    anchor frame held far before it (cross-frame attention's frame 0)."""
    ids = sorted(frames)
    start = len(ids) - 1
    while start > 0 and ids[start - 1] == ids[start] - 1:
        start -= 1
    return ids[start:]


def clip_span(clip: int, frames: int, overlap: int) -> range:
    """Frames of clip k of a Reuse-Diffuse chain on the video joined without repeats: each clip starts M frames
    before the previous one ends, k·(N − M) … k·(N − M) + N − 1."""
    return range(clip * (frames - overlap), clip * (frames - overlap) + frames)


def schedule_problem(starts: list[int], length: int) -> str | None:
    """Why a schedule does not fit a video of `length` frames (a prompt starting past its last frame), or None."""
    if starts[-1] >= length:
        return (f"has a prompt starting at frame {starts[-1]}, past the video's last frame {length - 1}: lower that "
                f"line's frame or make the video longer.")
    return None
