"""Context-Guided Sampler and Context-Guided Interpolation: long videos as windows with context
(Video LDM, Blattmann et al. 2023, Sect. 3.2–3.3, Eq. 3). The Sampler also runs native video models (Wan: 5-D
latents, frames on dim 2) through ComfyUI's context windows (video_windows.py)."""
from __future__ import annotations

import torch
from comfy_api.latest import io

from .glue.comfy_glue import require_family, require_image_latent, run_sampler, sampling_schedule
from .core.context_guidance import (causal_rollout_plan, interpolated_frames, interpolation_plan, rollout_plan,
                                    sample_context_guided)
from .core.noise import frame_noise
from .core.errors import NodeInputError, answer, check, check_schema, fail, first, schema_problem
from .glue.model_patches import cross_frame_patches
from .glue.model_families import video_adapter_for
from .glue.video_windows import require_causal_windows, require_video_latent, with_rollout_windows

SAMPLER, INTERPOLATION = "Context-Guided Sampler", "Context-Guided Interpolation"
CATEGORY = "VidLift/Long video"


def guidance_problem(guidance):
    if not guidance >= 1.0:       # also NaN
        return "context_guidance", f"context_guidance s must be ≥ 1 (1 = no guidance pass), got {guidance}."
    return None


def rollout_problem(frames, window, context_frames, guidance):
    """(parameter, problem) for widget values the rollout cannot use, or None."""
    if window < 2:
        return "window", f"window T must be at least 2 frames, got {window}."
    if not 0 <= context_frames < window:
        return "context_frames", (f"S must be between 0 and window−1 = {window - 1} (a window needs a new frame), "
                                  f"got {context_frames}.")
    if frames < 1:
        return "frames", f"must be at least 1, got {frames}."
    return guidance_problem(guidance)


def interpolation_problem(window, passes, guidance):
    if window < 5 or (window - 1) % 4:
        return "window", (f"interpolation windows are 4m+1 frames (m keyframe gaps with 3 new frames each: "
                          f"5, 9, 13, 17, …), got {window}.")
    if passes not in (1, 2):
        return "passes", f"must be 1 (×4 frames) or 2 (×16), got {passes}."
    return guidance_problem(guidance)


def video_problem(frames, window, context_frames, per_latent):
    """(parameter, problem) for a native video model's pixel-frame counts (c·n + 1, c pixel frames per latent frame
    after the first), or None."""
    for name, value in (("frames", frames), ("window", window)):
        if (value - 1) % per_latent:
            low = value - (value - 1) % per_latent
            return name, (f"is {value} pixel frames, but this video model's videos have {per_latent}n+1 (the causal "
                          f"VAE's first latent frame holds 1 pixel frame, every later one {per_latent}); use {low} or "
                          f"{low + per_latent}.")
    positions = (window - 1) // per_latent + 1
    if context_frames > positions - 2:
        return "context_frames", (f"S = {context_frames} latent frames leaves no new frame in a window of {window} "
                                  f"pixel frames ({positions} latent frames: the causal first slot, S held, at least "
                                  f"one new); use S ≤ {positions - 2} or a longer window.")
    return None


def queue_answer(node_class, node, rule, **values):
    """validate_inputs: the named inputs within the schema, then the node's rule over them (once all are given)."""
    return answer(node, first(schema_problem(node_class, values),
                              lambda: None if None in values.values() else rule(*values.values())))


def anchor_of(model):
    """Frame 0 when the model has our cross-frame attention, so every window holds it (cross_frame_attention.py)."""
    return 0 if cross_frame_patches(model) else None


def common_inputs():
    return [
        io.Model.Input("model", tooltip="A model with frames in the batch: SD1.x/2.x/XL patched with Cross-Frame "
                                        "Attention and/or Temporal Shift, or with an AnimateDiff motion module. The "
                                        "Sampler also takes a native video model (Wan 2.1; ComfyUI 0.33)."),
        io.Conditioning.Input("positive", tooltip="The prompt."),
        io.Conditioning.Input("negative", tooltip="The negative prompt (used when cfg > 1)."),
    ]


def sampling_inputs(window_default, window_tip):
    return [
        io.Int.Input("seed", default=0, min=0, max=0xFFFFFFFFFFFFFFFF, control_after_generate=True,
                     tooltip="Seed of the frames' noise (each frame's own draw: a longer video with the same "
                             "settings begins with the same frames)."),
        io.Int.Input("steps", default=25, min=1, max=1000, tooltip="DDIM steps per window (the paper samples with DDIM)."),
        io.Float.Input("cfg", default=7.5, min=0.0, max=100.0, step=0.1, round=0.01,
                       tooltip="Text classifier-free guidance, applied in both context-guidance passes."),
        io.Int.Input("window", default=window_default, min=1, max=4096, tooltip=window_tip),
    ]


def guidance_input():
    return io.Float.Input("context_guidance", default=1.5, min=0.0, max=20.0, step=0.05,
                          tooltip="s in f(z) + s·(f(z; context) − f(z)): how strongly new frames follow the context "
                                  "frames. 1 = no guidance (one model pass per step); above 1 adds a pass of the new "
                                  "frames alone. The paper's value was not published; 1.5–3 is a start.")


def run(model, positive, negative, cfg, steps, seed, frames, given, at, plan, guidance):
    """Sample `plan` over a video of `frames` frames whose frames `at` (a slice) are the unscaled latents
    `given`; returns the video's unscaled latents, the given frames exactly as given."""
    lf, sched = model.get_model_object("latent_format"), sampling_schedule(model, steps)
    video = torch.zeros((frames, *given.shape[1:]))        # the long video: on the CPU, once
    video[at] = lf.process_in(given.float())
    options = dict(plan=plan, video=video, noise=lambda ids: frame_noise(seed, ids, given.shape[1:]),
                   guidance=guidance, co=sched.co)
    shape = (max(len(w.frames) for w in plan), *video.shape[1:])   # what the model holds: a window, not the video
    # the windows (and the guidance pass) differ in frames, so each model call is a run of its own: AnimateDiff
    # motion modules take their frame count from the run (comfy_glue.PerCallModel)
    out = run_sampler(model, positive, negative, cfg, shape, sample_context_guided, options,
                      sched.sigmas, len(plan) * steps, seed, run_per_call=True)
    out[at] = given.float()       # bit-exact (no latent-format round trip); the sampler never changes them
    return out


def video_rollout(model, positive, negative, latent, seed, steps, cfg, window, frames, context_frames, guidance,
                  start_frames):
    """The rollout on a native video model: `frames` and `window` in pixel frames (c·n + 1), S in latent frames;
    returns the video latent [B, C, (frames − 1)/c + 1, h, w], start_frames exactly as given."""
    require_causal_windows(SAMPLER)
    x = require_video_latent(latent, model, SAMPLER)
    c = video_adapter_for(model).temporal
    fail(SAMPLER, video_problem(frames, window, context_frames, c))
    length, positions = (frames - 1) // c + 1, (window - 1) // c + 1
    b, ch, _, h, w = x.shape
    given = torch.zeros((b, ch, 0, h, w))
    if start_frames is not None:
        given = require_video_latent(start_frames, model, SAMPLER, "start_frames")
        g = given.shape
        check((g[0], g[3], g[4]) == (b, h, w), SAMPLER, "start_frames",
              f"has batch {g[0]} and size {g[4]}×{g[3]} but latent has batch {b} and {w}×{h}; make both alike.")
        check(g[2] < length, SAMPLER, "start_frames",
              f"has {g[2]} latent frames, so a video of frames = {frames} ({length} latent frames) has nothing left "
              f"to generate.")
    known = given.shape[2]
    plan = causal_rollout_plan(length, positions, context_frames, known)
    lf, sched = model.get_model_object("latent_format"), sampling_schedule(model, steps)
    video = torch.zeros((b, ch, length, h, w))            # the sampler's state: on the CPU, once
    video[:, :, :known] = lf.process_in(given.float())
    options = dict(plan=plan, video=video, guidance=guidance, co=sched.co, dim=2,
                   noise=lambda ids: frame_noise(seed, ids, (b, ch, h, w)).movedim(0, 2))
    out = run_sampler(with_rollout_windows(model, positions), positive, negative, cfg, video.shape,
                      sample_context_guided, options, sched.sigmas, len(plan) * steps, seed)
    out[:, :, :known] = given.float()
    return out


class ContextGuidedSampler(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="VidLift_ContextGuidedSampler", display_name=SAMPLER, category=CATEGORY,
            description="Video LDM long-video rollout: frame 1 comes from the image model (the model on one frame) "
                        "or from start_frames; then windows of T frames each hold the S latest frames as context "
                        "(their known latents, noised to the current step's level) and generate the rest, with "
                        "context guidance f(z) + s·(f(z; context) − f(z)) on top of text CFG. One window is in "
                        "the model at a time and the video stays on the CPU, so memory does not grow with length. "
                        "Native video models (Wan, ComfyUI 0.33): the same on latent frames, each window after the "
                        "first behind the causal VAE's one-frame slot, evaluated by ComfyUI's context windows.",
            inputs=[
                *common_inputs(),
                io.Latent.Input("latent", tooltip="An Empty Latent Image: its width and height are the video's. Its "
                                                  "batch size is not used; `frames` sets the length. For a video "
                                                  "model an empty video latent (its batch = videos, its length "
                                                  "unused)."),
                *sampling_inputs(16, "T: frames per window, context included (with Cross-Frame Attention the "
                                     "video's first frame is added to every window as one more context frame). "
                                     "Video model: pixel frames, 4n+1 for Wan."),
                io.Int.Input("frames", default=64, min=1, max=100000,
                             tooltip="Frames of the whole video. Video model: pixel frames, 4n+1 for Wan."),
                io.Int.Input("context_frames", default=2, min=0, max=4095,
                             tooltip="S: latest frames each window holds as context (2 in the paper; the first window "
                                     "after frame 1 has 1). 0 = independent windows. Video model: latent frames "
                                     "(4 pixel frames each on Wan), at most (window − 1)/4 − 1."),
                guidance_input(),
                io.Latent.Input("start_frames", optional=True,
                                tooltip="Optional latent the video starts with, kept exactly and counted in `frames` "
                                        "(e.g. VAE Encode of an image, or a clip from another sampler to continue). "
                                        "Without it frame 1 is generated alone. Video model: a 5-D latent of the "
                                        "latent's batch and size."),
            ],
            outputs=[io.Latent.Output(tooltip="The video latent, frames in the batch (video model: frames on dim 2).")],
        )

    @classmethod
    def validate_inputs(cls, frames, window, context_frames, context_guidance):
        return queue_answer(cls, SAMPLER, rollout_problem, frames=frames, window=window,
                            context_frames=context_frames, context_guidance=context_guidance)

    @classmethod
    def execute(cls, model, positive, negative, latent, seed, steps, cfg, window, frames, context_frames,
                context_guidance, start_frames=None):
        check_schema(cls, SAMPLER, dict(seed=seed, steps=steps, cfg=cfg, window=window, frames=frames,
                                        context_frames=context_frames, context_guidance=context_guidance))
        fail(SAMPLER, rollout_problem(frames, window, context_frames, context_guidance))
        if video_adapter_for(model) is not None:
            return io.NodeOutput({"samples": video_rollout(model, positive, negative, latent, seed, steps, cfg, window,
                                                           frames, context_frames, context_guidance, start_frames)})
        require_family(model, SAMPLER)
        size = require_image_latent(latent, model, SAMPLER).shape[1:]
        given = torch.zeros((0, *size))
        if start_frames is not None:
            given = require_image_latent(start_frames, model, SAMPLER, "start_frames")
            check(given.shape[1:] == size, SAMPLER, "start_frames",
                  f"has size {list(given.shape[1:])} but latent has {list(size)}; make both at the same size.")
            check(given.shape[0] < frames, SAMPLER, "start_frames",
                  f"has {given.shape[0]} frames, so a video of frames = {frames} has nothing left to generate.")
        anchor = anchor_of(model)
        plan = rollout_plan(frames, window, context_frames, given.shape[0], anchor)
        out = run(model, positive, negative, cfg, steps, seed, frames, given, slice(0, given.shape[0]), plan,
                  context_guidance)
        return io.NodeOutput({"samples": out})


class ContextGuidedInterpolation(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="VidLift_ContextGuidedInterpolation", display_name=INTERPOLATION, category=CATEGORY,
            description="Video LDM temporal interpolation: three new frames between each pair of keyframes, the "
                        "keyframes held as context (n keyframes → 4(n−1)+1 frames); passes = 2 interpolates again "
                        "(→ 16(n−1)+1). Context guidance on top of text CFG; windows of 4m+1 frames, one at a time "
                        "in the model, the video on the CPU. Keyframes come back unchanged.",
            inputs=[
                *common_inputs(),
                io.Latent.Input("keyframes", tooltip="The keyframes, in order, in the batch (at least 2), e.g. from "
                                                     "KSampler or the Text2Video-Zero Sampler."),
                *sampling_inputs(9, "Frames per window: 4m+1 (m keyframe gaps: 5, 9, 13, 17, …), keyframes "
                                    "included; neighbouring windows share a keyframe."),
                io.Int.Input("passes", default=1, min=1, max=2,
                             tooltip="1: ×4 frames (T → 4T); 2: interpolate the result again (×16, as the paper)."),
                guidance_input(),
            ],
            outputs=[io.Latent.Output(tooltip="The interpolated video latent: 4^passes·(n−1)+1 frames.")],
        )

    @classmethod
    def validate_inputs(cls, window, passes, context_guidance):
        return queue_answer(cls, INTERPOLATION, interpolation_problem, window=window, passes=passes,
                            context_guidance=context_guidance)

    @classmethod
    def execute(cls, model, positive, negative, keyframes, seed, steps, cfg, window, passes, context_guidance):
        check_schema(cls, INTERPOLATION, dict(seed=seed, steps=steps, cfg=cfg, window=window, passes=passes,
                                              context_guidance=context_guidance))
        fail(INTERPOLATION, interpolation_problem(window, passes, context_guidance))
        if video_adapter_for(model) is not None:
            raise NodeInputError(INTERPOLATION, "model", "is a native video model (5-D latent); interpolation works on "
                                 "models with frames in the batch only (a Wan latent frame already holds 4 pixel "
                                 "frames, so three latent frames between keyframes are not the paper's T → 4T). "
                                 "Use the Context-Guided Sampler for long videos on this model.")
        require_family(model, INTERPOLATION)
        keys = require_image_latent(keyframes, model, INTERPOLATION, "keyframes")
        n = keys.shape[0]
        check(n >= 2, INTERPOLATION, "keyframes",
              f"needs at least 2 keyframes (frames in the batch) to interpolate between, got {n}.")
        anchor = anchor_of(model)
        plan = interpolation_plan(n, window, passes, anchor)
        out = run(model, positive, negative, cfg, steps, seed, interpolated_frames(n, passes), keys,
                  slice(None, None, 4 ** passes), plan, context_guidance)
        return io.NodeOutput({"samples": out})


NODES = [ContextGuidedSampler, ContextGuidedInterpolation]
