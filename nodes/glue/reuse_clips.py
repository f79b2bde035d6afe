"""VidRD (Reuse-Diffuse Sampler and Extender) run through ComfyUI: latents and the previous clip checked, clips
sampled by reuse_diffuse.sample_reuse_diffuse (frames in the batch, through a CFGGuider) or by
video_extension.extend_video (native video models: ComfyUI's euler with the context held by its inpaint mask)."""
from __future__ import annotations

import torch

from ..core.errors import NodeInputError, check, fail
from ..core.noise import clip_noise
from ..core.reuse_diffuse import output_frames, sample_reuse_diffuse
from ..core.prompt_schedule import clip_span
from ..core.video_extension import VideoClip, extend_video, long_index, pixel_frames
from .comfy_glue import (CONDS_KEY, Progress, require_family, require_image_latent, require_video_latent, run_sampler,
                         sample_held, sampling_schedule, video_device)
from .model_families import video_adapter_for, video_families
from .node_inputs import warn_unused
from .prompt_travel import schedule_of


def previous_problem(previous, frames: int, shape, sigmas: torch.Tensor):
    """Why clips of this latent and schedule cannot continue `previous` (a ReuseClip), or None."""
    if previous.frames != frames:
        return (f"is a clip of {previous.frames} frames but this latent has {frames} (its batch size); use a latent "
                f"of batch size {previous.frames}.")
    if tuple(previous.init.shape[1:]) != tuple(shape):
        return (f"holds latents of shape {list(previous.init.shape[1:])} but this latent has {list(shape)}; use the "
                f"previous clip's width and height.")
    return previous.schedule_problem(sigmas)


def checked_latent(node, model, latent) -> torch.Tensor:
    family = video_adapter_for(model)
    if family is not None:
        return require_video_latent(latent, model, node)
    fmt = model.get_model_object("latent_format")
    try:
        require_family(model, node)
    except NodeInputError as e:
        if getattr(fmt, "latent_dimensions", 2) != 3:
            raise
        raise NodeInputError(node, "model", f"is a {type(model.model).__name__} video model ({type(fmt).__name__} "
                                            f"latents), a family VidLift does not support; native video models "
                                            f"supported: {video_families()}.") from e
    return require_image_latent(latent, model, node)


def video_problem(family, x, overlap: int, extending: bool, previous):
    """Why clips of latent x cannot extend (or continue `previous`), or None; lengths are offered as c·n + 1 (c the
    family's causal factor), sizes in pixels (the family's VAE factor)."""
    c, s = family.temporal, family.spatial
    frames = x.shape[2]
    if previous is not None and not isinstance(previous, VideoClip):
        return "previous", "is a clip of an image model (frames in the batch); a video model cannot continue it."
    if extending and frames < overlap + 2:
        need = c * (overlap + 1) + 1
        return "latent", (f"has {frames} latent frames (length {c * (frames - 1) + 1}); an extension with overlap "
                          f"{overlap} needs at least {overlap + 2} (the causal first frame, {overlap} held, one new): "
                          f"set the video length to {need} or more ({c}·n + 1 frames), or lower overlap.")
    if previous is not None and tuple(previous.latent.shape) != tuple(x.shape):
        b, ch, t, h, w = previous.latent.shape
        return "previous", (f"holds {t} latent frames of {w}×{h} (batch {b}, {ch} channels) but this latent has "
                            f"{x.shape[2]} of {x.shape[4]}×{x.shape[3]} (batch {x.shape[0]}); use the previous clip's "
                            f"length {c * (t - 1) + 1}, width {w * s} and height {h * s} ({family.name}: "
                            f"{c}·n + 1 frames, ×{s} VAE).")
    return None


def sample_video_clips(node, model, positive, negative, x, seed, steps, cfg, clips, previous=None, overlap=1,
                       recycle=0.0, keep_overlap=False, colour_anchor=0.0, **image_only):
    """Samples `clips` clips of a native video model (video_extension); staged guidance and direction are the
    frames-in-batch path's (here the context is held at every step, in the forward direction): a warning says so."""
    extending = clips > 1 or previous is not None
    fail(node, video_problem(video_adapter_for(model), x, overlap, extending, previous))
    if extending and image_only:
        warn_unused(node, "a native video model holds the context frames at every step, in the forward direction",
                    staged_guidance=image_only.get("guidance"),
                    direction="forward" if image_only.get("forward") else "reverse")
    sigmas = sampling_schedule(model, steps).sigmas
    problem = previous and previous.schedule_problem(sigmas)
    check(problem is None, node, "previous", problem or "")
    progress = Progress(model, clips * steps)
    if video_adapter_for(model).concat_mask:     # nothing marked as a given frame: the concat input of a T2V run
        positive, negative = (with_concat_mask(c, torch.ones(x[:, :1].shape)) for c in (positive, negative))

    first = 0 if previous is None else previous.clip + 1
    c, frames = video_adapter_for(model).temporal, x.shape[2]
    schedule = schedule_of(node, positive, negative, 1 + c * long_index(first + clips - 1, frames, overlap, frames - 1),
                           chained=True)

    def sample(noise, start, mask, k):
        done = (k - first) * steps
        pos = positive if schedule is None else schedule.at(video_clip_pixels(k, frames, overlap, c))
        return sample_held(model, pos, negative, cfg, noise, start, mask, sigmas, seed,
                           lambda i, x0, xi, total: progress(done + i, x0, xi, clips * steps))

    return extend_video(sample, tuple(x.shape), clips, lambda k: clip_noise(seed, k, x.shape), sigmas, overlap,
                        recycle, keep_overlap, previous, colour_anchor)


def video_clip_pixels(k: int, frames: int, overlap: int, per_latent: int) -> range:
    """The pixel frames of a video-model chain's clip k (T latent frames, M context): those of its latent frames
    long_index(k, …, 0) … long_index(k, …, T − 1), from the causal VAE's layout."""
    first, last = long_index(k, frames, overlap, 0), long_index(k, frames, overlap, frames - 1)
    return range(pixel_frames(first, per_latent)[0], pixel_frames(last, per_latent)[-1] + 1)


def with_concat_mask(cond, mask):
    """cond with a one-channel `concat_mask` (1 = generate) where it carries none (an I2V conditioning keeps its own):
    for families whose model would read the held-context inpaint mask as its concat input (VideoAdapter.concat_mask)."""
    return [[t, {"concat_mask": mask, **extra}] for t, extra in cond]


def sample_clips(node, model, positive, negative, x, seed, steps, cfg, clips, previous=None, **settings):
    """Samples `clips` clips of x's shape, continuing `previous` if given; returns (latent, last ReuseClip)."""
    if video_adapter_for(model) is not None:
        return sample_video_clips(node, model, positive, negative, x, seed, steps, cfg, clips, previous, **settings)
    check(not isinstance(previous, VideoClip), node, "previous",
          "is a clip of a video model (5-D latent); an image model cannot continue it.")
    frames, shape = x.shape[0], tuple(x.shape[1:])
    overlap = settings.get("overlap", 0)                     # the Sampler's one clip has none
    check(overlap < frames, node, "overlap",
          f"M = {overlap} must be smaller than the clip's {frames} frames (the latent's batch size).")
    sched = sampling_schedule(model, steps)
    sigmas = sched.sigmas
    if previous is not None:
        problem = previous_problem(previous, frames, shape, sigmas)
        check(problem is None, node, "previous", problem or "")
    last, first = [], 0 if previous is None else previous.clip + 1
    options = dict(clip_frames=frames, clips=clips, noise=lambda k: clip_noise(seed, k, (frames, *shape)),
                   previous=previous, report=last.append, co=sched.co, out_device=video_device(), **settings)
    schedule = schedule_of(node, positive, negative, clip_span(first + clips - 1, frames, overlap).stop, chained=True)
    if schedule is not None:     # prompt travel: each clip the prompts of its own frames, each call a run of its own
        options["clip_args"] = lambda k: {CONDS_KEY: (schedule.at(clip_span(k, frames, overlap)), negative)}
    out = run_sampler(model, positive, negative, cfg, (frames, *shape), sample_reuse_diffuse, options, sigmas,
                      clips * steps, seed, run_per_call=schedule is not None)
    assert out.shape[0] == output_frames(clips, frames, overlap, settings.get("keep_overlap", True),
                                         previous is not None)
    return out, last[0]
