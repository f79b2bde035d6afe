"""Training data of Train Temporal Shift LoRA: clips of consecutive frames and the caption of each.

Latent-Shift (An et al. 2023, arXiv 2304.08477) fine-tunes on captioned videos; a clip is the unit the temporal shift
sees. Captions follow the convention of the common LoRA trainers: beside a video `walk.mp4` a text file `walk.txt`
holds its caption; for an IMAGE batch a multiline text gives one line per clip, in order. A clip without a caption
(None) trains with the node's `positive` conditioning.
"""
from __future__ import annotations

import logging
import os

from . import video_clips
from ..core.errors import check

CAPTION_EXTENSION = ".txt"


def caption_lines(text: str | None) -> list[str | None]:
    """One caption per line; trailing blank lines are dropped, a blank line inside means "use `positive`"."""
    lines = [] if not text else [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return [line or None for line in lines]


def read_caption(video_path: str) -> tuple[str | None, str | None]:
    """(caption, problem): the text file with the video's stem, or (None, None) when there is none."""
    path = os.path.splitext(video_path)[0] + CAPTION_EXTENSION
    if not os.path.exists(path):
        return None, None
    try:
        with open(path, encoding="utf-8") as f:
            text = " ".join(f.read().split())
    except (OSError, UnicodeDecodeError) as e:
        return None, f"the caption file {os.path.basename(path)} cannot be read as UTF-8 text: {e}"
    if not text:
        return None, f"the caption file {os.path.basename(path)} is empty: write the video's caption in it, or delete it."
    return text, None


def read_frames(path: str, max_frames: int, node: str):
    """The video's frames, or None (with a warning naming the file) when it is corrupt, unreadable or too short."""
    try:
        frames = video_clips.read_video(path, max_frames)
    except Exception as e:                      # noqa: BLE001 (PyAV raises many kinds for a broken file)
        logging.warning("%s: skipped %s, it cannot be decoded (%s)", node, os.path.basename(path), e)
        return None
    if frames.shape[0] < 2:
        logging.warning("%s: skipped %s, it has %d frame(s) (a clip needs 2)", node, os.path.basename(path),
                        frames.shape[0])
        return None
    return frames


def gather_clips(node, images, captions, video_folder, input_dir, frames_per_clip, max_frames_per_video, width,
                 height):
    """([IMAGE clip [F, H, W, 3]], [caption or None]) from the image batch and from the videos of the folder."""
    clips, texts = [], []
    if images is not None:
        check(images.shape[0] >= 2, node, "images",
              f"has {images.shape[0]} frame(s); a training clip needs at least 2 consecutive frames.")
        clips += video_clips.split_clips(images[..., :3], frames_per_clip)
        lines = caption_lines(captions)
        check(not lines or len(lines) == len(clips), node, "captions",
              f"has {len(lines)} line(s) but the image batch makes {len(clips)} clip(s) of {frames_per_clip} frames: "
              f"give one line per clip, in order (a blank line uses `positive`).")
        texts += lines or [None] * len(clips)
        height, width = images.shape[1:3]                  # videos are fitted to the image batch's size
    else:
        check(not caption_lines(captions), node, "captions",
              "gives captions for the image batch, but no images are connected (videos of video_folder take their "
              "captions from a .txt file beside each video).")
    if video_folder:
        try:
            folder = video_clips.resolve_input_folder(video_folder, input_dir)
        except ValueError as e:
            check(False, node, "video_folder", str(e))
        files = video_clips.video_files(folder)
        check(bool(files), node, "video_folder", f"has no video files ({', '.join(video_clips.VIDEO_EXTENSIONS)}).")
        found = 0
        for path in files:
            caption, problem = read_caption(path)
            check(problem is None, node, "video_folder", str(problem))
            frames = read_frames(path, max_frames_per_video, node)
            if frames is None:
                continue
            found += 1
            cut = video_clips.split_clips(video_clips.fit_frames(frames, width, height), frames_per_clip)
            clips, texts = clips + cut, texts + [caption] * len(cut)
        check(found > 0, node, "video_folder", "no video in it can be read with at least 2 frames (see the warnings "
                                               "naming each skipped file).")
    check(images is not None or bool(video_folder), node, "images",
          "connect the frames of a video (IMAGE batch) or name a video_folder inside ComfyUI's input directory.")
    return clips, texts
