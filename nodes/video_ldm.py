"""Context-Guided Sampler and Context-Guided Interpolation: long videos as windows with context
(Video LDM, Blattmann et al. 2023, Sect. 3.2–3.3, Eq. 3). The Sampler also runs native video models (Wan: 5-D
latents, frames on dim 2) through ComfyUI's context windows (video_windows.py)."""
from __future__ import annotations

from comfy_api.latest import io

from .core.context_guidance import interpolation_problem, rollout_problem
from .core.errors import fail
from .glue.context_rollout import interpolate, rollout
from .glue.node_inputs import cfg_input, check_inputs, colour_anchor_input, queue_answer, seed_input, steps_input

SAMPLER, INTERPOLATION = "Context-Guided Sampler", "Context-Guided Interpolation"
CATEGORY = "VidLift/Long video"


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
        seed_input("Seed of the frames' noise (each frame's own draw: a longer video with the same settings "
                   "begins with the same frames)."),
        steps_input("DDIM steps per window (the paper samples with DDIM).", 25),
        cfg_input("Text classifier-free guidance, applied in both context-guidance passes.", 7.5),
        io.Int.Input("window", default=window_default, min=1, max=512, tooltip=window_tip),
    ]


def guidance_input():
    return io.Float.Input("context_guidance", default=1.5, min=0.0, max=20.0, step=0.05,
                          tooltip="s in f(z) + s·(f(z; context) − f(z)): how strongly new frames follow the context "
                                  "frames. 1 = no guidance (one model pass per step); above 1 adds a pass of the new "
                                  "frames alone. The paper's value was not published; 1.5–3 is a start.")


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
                io.Int.Input("frames", default=64, min=1, max=4096,
                             tooltip="Frames of the whole video. Video model: pixel frames, 4n+1 for Wan."),
                io.Int.Input("context_frames", default=2, min=0, max=511,
                             tooltip="S: latest frames each window holds as context (2 in the paper; the first window "
                                     "after frame 1 has 1). 0 = independent windows. Video model: latent frames "
                                     "(4 pixel frames each on Wan), at most (window − 1)/4 − 1."),
                guidance_input(),
                colour_anchor_input("window"),
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
                context_guidance, start_frames=None, colour_anchor=0.0):
        check_inputs(cls, SAMPLER, **locals())
        fail(SAMPLER, rollout_problem(frames, window, context_frames, context_guidance))
        return io.NodeOutput({"samples": rollout(SAMPLER, model, positive, negative, latent, seed, steps, cfg, window,
                                                 frames, context_frames, context_guidance, start_frames,
                                                 colour_anchor)})


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
        check_inputs(cls, INTERPOLATION, **locals())
        fail(INTERPOLATION, interpolation_problem(window, passes, context_guidance))
        return io.NodeOutput({"samples": interpolate(INTERPOLATION, model, positive, negative, keyframes, seed, steps,
                                                     cfg, window, passes, context_guidance)})


NODES = [ContextGuidedSampler, ContextGuidedInterpolation]
