"""The Context-Guided Sampler and Interpolation (Video LDM) run through ComfyUI: latents checked, the video buffer on
ComfyUI's intermediate device, the windows sampled by context_guidance.sample_context_guided (frames in the batch:
every model call a run of its own; native video models: ComfyUI's context windows, video_windows.py)."""
from __future__ import annotations

import torch

from ..core.context_guidance import (causal_rollout_plan, interpolated_frames, interpolation_plan, rollout_plan,
                                     sample_context_guided, video_problem)
from ..core.errors import NodeInputError, check, fail
from ..core.noise import frame_noise
from ..core.prompt_schedule import contiguous_tail
from .comfy_glue import (CONDS_KEY, require_family, require_image_latent, require_video_latent, run_sampler,
                         sampling_schedule, video_device)
from .model_families import video_adapter_for
from .model_patches import cross_frame_patches
from .prompt_travel import schedule_of
from .video_windows import require_causal_windows, with_rollout_windows


def anchor_of(model):
    """Frame 0 when the model has our cross-frame attention, so every window holds it (cross_frame_attention.py)."""
    return 0 if cross_frame_patches(model) else None


def run(model, positive, negative, cfg, steps, seed, frames, given, at, plan, guidance, schedule=None, **colour):
    """Sample `plan` over a video of `frames` frames whose frames `at` (a slice) are the unscaled latents
    `given`; returns the video's unscaled latents, the given frames exactly as given."""
    lf, sched = model.get_model_object("latent_format"), sampling_schedule(model, steps)
    video = torch.zeros((frames, *given.shape[1:]), device=video_device())   # the long video, once, off the GPU
    video[at] = lf.process_in(given.float()).to(video)
    options = dict(plan=plan, video=video, noise=lambda ids: frame_noise(seed, ids, given.shape[1:]),
                   guidance=guidance, co=sched.co, **colour)
    if schedule is not None:                # prompt travel: each window the prompts of its own frames
        options["window_args"] = lambda w: {CONDS_KEY: (schedule.at(contiguous_tail(w.frames)), negative)}
    shape = (max(len(w.frames) for w in plan), *video.shape[1:])   # what the model holds: a window, not the video
    # the windows (and the guidance pass) differ in frames, so each model call is a run of its own: AnimateDiff
    # motion modules take their frame count from the run (comfy_glue.PerCallModel)
    out = run_sampler(model, positive, negative, cfg, shape, sample_context_guided, options,
                      sched.sigmas, len(plan) * steps, seed, run_per_call=True)
    out[at] = given.float()       # bit-exact (no latent-format round trip); the sampler never changes them
    return out


def rollout(node, model, positive, negative, latent, seed, steps, cfg, window, frames, context_frames, guidance,
            start_frames=None, colour_anchor=0.0):
    """The rollout over `frames` frames (a native video model: video_rollout), start_frames kept as given; with
    colour_anchor, windows past the first `window` frames are matched to their colours."""
    if video_adapter_for(model) is not None:
        check(schedule_of(node, positive, negative, frames) is None, node, "positive",
              "is a Prompt Schedule, which the Context-Guided Sampler follows on models with frames in the batch; on "
              "a native video model use the Reuse-Diffuse Extender for prompt travel, or one prompt here.")
        return video_rollout(node, model, positive, negative, latent, seed, steps, cfg, window, frames,
                             context_frames, guidance, start_frames, colour_anchor)
    require_family(model, node)
    size = require_image_latent(latent, model, node).shape[1:]
    given = torch.zeros((0, *size))
    if start_frames is not None:
        given = require_image_latent(start_frames, model, node, "start_frames")
        check(given.shape[1:] == size, node, "start_frames",
              f"has size {list(given.shape[1:])} but latent has {list(size)}; make both at the same size.")
        check(given.shape[0] < frames, node, "start_frames",
              f"has {given.shape[0]} frames, so a video of frames = {frames} has nothing left to generate.")
    plan = rollout_plan(frames, window, context_frames, given.shape[0], anchor_of(model))
    return run(model, positive, negative, cfg, steps, seed, frames, given, slice(0, given.shape[0]), plan, guidance,
               schedule_of(node, positive, negative, frames), colour_anchor=colour_anchor, anchor_frames=window)


def interpolate(node, model, positive, negative, keyframes, seed, steps, cfg, window, passes, guidance):
    """Video LDM interpolation of the keyframes (frames in the batch), 4^passes·(n − 1) + 1 frames."""
    if video_adapter_for(model) is not None:
        raise NodeInputError(node, "model", "is a native video model (5-D latent); interpolation works on "
                             "models with frames in the batch only (a Wan latent frame already holds 4 pixel "
                             "frames, so three latent frames between keyframes are not the paper's T → 4T). "
                             "Use the Context-Guided Sampler for long videos on this model.")
    require_family(model, node)
    keys = require_image_latent(keyframes, model, node, "keyframes")
    n = keys.shape[0]
    check(n >= 2, node, "keyframes", f"needs at least 2 keyframes (frames in the batch) to interpolate between, got {n}.")
    check(schedule_of(node, positive, negative, interpolated_frames(n, passes)) is None, node, "positive",
          "is a Prompt Schedule; interpolation takes one prompt (the keyframes already hold the video's content).")
    plan = interpolation_plan(n, window, passes, anchor_of(model))
    return run(model, positive, negative, cfg, steps, seed, interpolated_frames(n, passes), keys,
               slice(None, None, 4 ** passes), plan, guidance)


def video_rollout(node, model, positive, negative, latent, seed, steps, cfg, window, frames, context_frames, guidance,
                  start_frames, colour_anchor=0.0):
    """The rollout on a native video model: `frames` and `window` in pixel frames (c·n + 1), S in latent frames;
    returns the video latent [B, C, (frames − 1)/c + 1, h, w], start_frames exactly as given."""
    require_causal_windows(node)
    x = require_video_latent(latent, model, node)
    c = video_adapter_for(model).temporal
    fail(node, video_problem(frames, window, context_frames, c))
    length, positions = (frames - 1) // c + 1, (window - 1) // c + 1
    b, ch, _, h, w = x.shape
    given = torch.zeros((b, ch, 0, h, w))
    if start_frames is not None:
        given = require_video_latent(start_frames, model, node, "start_frames")
        g = given.shape
        check((g[0], g[3], g[4]) == (b, h, w), node, "start_frames",
              f"has batch {g[0]} and size {g[4]}×{g[3]} but latent has batch {b} and {w}×{h}; make both alike.")
        check(g[2] < length, node, "start_frames",
              f"has {g[2]} latent frames, so a video of frames = {frames} ({length} latent frames) has nothing left "
              f"to generate.")
    known = given.shape[2]
    plan = causal_rollout_plan(length, positions, context_frames, known)
    lf, sched = model.get_model_object("latent_format"), sampling_schedule(model, steps)
    video = torch.zeros((b, ch, length, h, w), device=video_device())   # the sampler's state, once, off the GPU
    video[:, :, :known] = lf.process_in(given.float()).to(video)
    options = dict(plan=plan, video=video, guidance=guidance, co=sched.co, dim=2, colour_anchor=colour_anchor,
                   anchor_frames=positions,
                   noise=lambda ids: frame_noise(seed, ids, (b, ch, h, w)).movedim(0, 2))
    out = run_sampler(with_rollout_windows(model, positions, node), positive, negative, cfg, video.shape,
                      sample_context_guided, options, sched.sigmas, len(plan) * steps, seed)
    out[:, :, :known] = given.float()
    return out
