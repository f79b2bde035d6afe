"""Text2Video-Zero (Khachatryan et al. 2023, Sect. 3.3) nodes: Cross-Frame Attention Patcher (Eq. 6),
Motion-Latent Warp (Sect. 3.3.1), Text2Video-Zero Sampler."""
from __future__ import annotations

from comfy_api.latest import io

from .core.cross_frame_attention import ANCHORS
from .core.errors import answer, first, schema_problem
from .core.noise import seeded_noise
from .core.text2video_zero import DEFAULTS, indices_problem
from .glue.comfy_glue import require_family
from .glue.model_families import DIT_BLOCK_CHOICES
from .glue.node_inputs import STEPS_MAX, cfg_input, check_inputs, seed_input, steps_input
from .glue.text2video_zero_run import sample_video, warp_first_frame

CATEGORY = "VidLift/Text2Video-Zero"
__all__ = ["seeded_noise"]              # the reference's draws (core/noise.py), for workflows and tests


def indices_answer(node_class, node, steps, t0, t1):
    """validate_inputs of the schedule inputs: their ranges, then the t0 < t1 ≤ steps−1 rule."""
    return answer(node, first(schema_problem(node_class, dict(steps=steps, t0=t0, t1=t1)),
                              lambda: None if None in (steps, t0, t1) else indices_problem(steps, t0, t1)))


def motion_inputs():
    return [
        io.Float.Input("motion_x", default=DEFAULTS["motion_x"], min=-512.0, max=512.0, step=0.5,
                       tooltip="λ·δ_x: horizontal motion per frame in pixels of a 512-px canvas (the reference's "
                               "units, whatever the video size). Positive moves the content left (camera pans right)."),
        io.Float.Input("motion_y", default=DEFAULTS["motion_y"], min=-512.0, max=512.0, step=0.5,
                       tooltip="λ·δ_y: vertical motion per frame on the 512-px canvas. Positive moves the content up."),
    ]


def schedule_inputs():
    return [
        steps_input(default=DEFAULTS["steps"], minimum=2,
                    tooltip="Steps N. SD models: DDIM with leading spacing, as diffusers' DDIM (981, 961, …, 1 for 50). "
                            "Flow models (Flux, Qwen-Image, …): ComfyUI's simple scheduler on the model's own shift."),
        io.Int.Input("t0", default=DEFAULTS["t0"], min=0, max=STEPS_MAX - 2,
                     tooltip="T′ = step N−t0−1 of the schedule (timestep 881 for 50 SD steps): where the first frame's "
                             "latent is warped."),
        io.Int.Input("t1", default=DEFAULTS["t1"], min=1, max=STEPS_MAX - 1,
                     tooltip="T = step N−t1−1 of the schedule (timestep 941 for 50 SD steps): where the warped latents "
                             "are re-noised to and joint denoising starts. Must be larger than t0 and at most steps−1 "
                             "(steps−2 on flow models, whose first level is pure noise)."),
    ]


class CrossFrameAttentionPatcher(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="VidLift_CrossFrameAttention", display_name="Cross-Frame Attention Patcher", category=CATEGORY,
            description="Text2Video-Zero cross-frame attention: every U-Net self-attention takes its keys and values "
                        "from an anchor frame of its own cond/uncond chunk, so all frames share the first frame's "
                        "appearance. Frames are the latent batch. With windows (Context-Guided Sampler, ComfyUI's context "
                        "windows, AnimateDiff-Evolved) every window anchors on the video's first frame, not its own. "
                        "On DiTs (Flux family, Qwen-Image) only the image tokens' keys/values are shared; text "
                        "and reference tokens stay each frame's own. Returns a patched copy; the input model is "
                        "untouched.",
            inputs=[
                io.Model.Input("model", tooltip="An SD1.x / SD2.x / SDXL U-Net or a DiT: Flux.1 / Flux.2 / Chroma, "
                                                "Qwen-Image (DiTs need ComfyUI ≥ the attn1_patch hook of their blocks)."),
                io.Combo.Input("anchor", options=list(ANCHORS), default="first",
                               tooltip="first: every frame attends to frame 1 (the paper). first+previous: to frame 1 "
                                       "and the previous frame (sparse-causal), for more motion."),
                io.Float.Input("strength", default=1.0, min=0.0, max=1.0, step=0.05,
                               tooltip="1 = the paper. Lower values blend each frame's own keys/values with the "
                                       "anchor's (0 = plain self-attention)."),
                io.Boolean.Input("input_blocks", default=True, tooltip="Patch the U-Net's input (down) blocks."),
                io.Boolean.Input("middle_block", default=True, tooltip="Patch the U-Net's middle block."),
                io.Boolean.Input("output_blocks", default=True, tooltip="Patch the U-Net's output (up) blocks."),
                io.Combo.Input("dit_blocks", options=list(DIT_BLOCK_CHOICES), default="double+single", optional=True,
                               tooltip="DiTs: which transformer blocks share the anchor's keys/values (Flux: double-"
                                       "stream and single-stream blocks; Qwen-Image has double-stream blocks only). "
                                       "U-Nets ignore it."),
            ],
            outputs=[io.Model.Output(tooltip="The model with cross-frame attention.")],
        )

    @classmethod
    def execute(cls, model, anchor, strength, input_blocks, middle_block, output_blocks, dit_blocks="double+single"):
        node = "Cross-Frame Attention Patcher"
        check_inputs(cls, node, **locals())
        adapter = require_family(model, node, "cross-frame attention")
        chosen = [b for b, on in zip(("input", "middle", "output"), (input_blocks, middle_block, output_blocks)) if on]
        return io.NodeOutput(adapter.install_cross_frame(model, anchor, strength, chosen + DIT_BLOCK_CHOICES[dit_blocks],
                                                         node=node))


class MotionLatentWarp(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="VidLift_MotionLatentWarp", display_name="Motion-Latent Warp", category=CATEGORY,
            description="Text2Video-Zero motion dynamics: builds the video's latent at step T from the first frame. "
                        "Frame k is the first frame's latent at T′ translated by δ_k = λ·k·δ (nearest sampling, "
                        "reflection padding, as the reference) and re-noised from T′ to T; frame 1 keeps its own T "
                        "latent. Chain: KSamplerAdvanced (ddim, ddim_uniform) to T and to T′ → this → "
                        "KSamplerAdvanced from step N−t1−1 without added noise, on a cross-frame-attention model.",
            inputs=[
                io.Model.Input("model", tooltip="The model whose noise schedule the latents are on (flow models: sample "
                                                "the first frame with KSamplerAdvanced's simple scheduler)."),
                io.Latent.Input("first_frame_at_T", tooltip="The first frame's latent at T (KSamplerAdvanced: "
                                "end_at_step = steps−t1−1, return_with_leftover_noise enabled)."),
                io.Latent.Input("first_frame_at_T0", tooltip="The first frame's latent at T′ (end_at_step = steps−t0−1)."),
                io.Int.Input("frames", default=DEFAULTS["frames"], min=1, max=4096, tooltip="Number of video frames."),
                *motion_inputs(),
                *schedule_inputs(),
                seed_input("Seed of the re-noising ε (drawn after the first frame's noise, as the reference)."),
            ],
            outputs=[io.Latent.Output(tooltip="The video latent at T, with leftover noise: continue with "
                                               "KSamplerAdvanced, add_noise disabled, start_at_step = steps−t1−1.")],
        )

    @classmethod
    def validate_inputs(cls, steps, t0, t1):
        return indices_answer(cls, "Motion-Latent Warp", steps, t0, t1)

    @classmethod
    def execute(cls, model, first_frame_at_T, first_frame_at_T0, frames, motion_x, motion_y, steps, t0, t1, seed):
        check_inputs(cls, "Motion-Latent Warp", **locals())
        return io.NodeOutput({"samples": warp_first_frame("Motion-Latent Warp", model, first_frame_at_T,
                                                          first_frame_at_T0, frames, motion_x, motion_y, steps, t0,
                                                          t1, seed)})


class Text2VideoZeroSampler(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="VidLift_Text2VideoZeroSampler", display_name="Text2Video-Zero Sampler", category=CATEGORY,
            description="The whole Text2Video-Zero procedure in one node, with the reference defaults: the first "
                        "frame is denoised alone to T′, warped per frame by the global motion, re-noised to T, then "
                        "all frames are denoised jointly with cross-frame attention (added if the model has none). "
                        "Long videos are made in chunks anchored on the first frame, so memory stays bounded.",
            inputs=[
                io.Model.Input("model", tooltip="An SD1.x / SD2.x / SDXL U-Net or a DiT (Flux.1 / Flux.2 / Chroma, "
                                                "Qwen-Image), optionally already patched (Cross-Frame Attention "
                                                "Patcher, LoRA, …)."),
                io.Conditioning.Input("positive", tooltip="The prompt."),
                io.Conditioning.Input("negative", tooltip="The negative prompt (used when cfg > 1)."),
                io.Latent.Input("latent", tooltip="An Empty Latent Image: its batch size is the number of frames "
                                                  "and its size the video size. Its contents are not used."),
                seed_input("Seed; the same seed gives the same video (the noise is drawn as the reference)."),
                cfg_input(default=DEFAULTS["cfg"],
                          tooltip="Classifier-free guidance scale (7.5 in the reference). Guidance-distilled "
                                  "models (Flux.1-dev, Z-Image Turbo, Flux.2 klein) want 1: one chunk, no "
                                  "negative pass."),
                *motion_inputs(),
                *schedule_inputs(),
                io.Int.Input("chunk_size", default=DEFAULTS["chunk_size"], min=0, max=4096,
                             tooltip="Frames per sampling pass for long videos (the first frame is added to every "
                                     "pass as the anchor). 0 = all frames in one pass."),
                io.Sigmas.Input("sigmas", optional=True,
                                tooltip="Optional schedule replacing the DDIM one (steps is then len(sigmas)−1)."),
            ],
            outputs=[io.Latent.Output(tooltip="The video latent, frames in the batch.")],
        )

    @classmethod
    def validate_inputs(cls, steps, t0, t1):
        return indices_answer(cls, "Text2Video-Zero Sampler", steps, t0, t1)

    @classmethod
    def execute(cls, model, positive, negative, latent, seed, cfg, motion_x, motion_y, steps, t0, t1,
                chunk_size, sigmas=None):
        check_inputs(cls, "Text2Video-Zero Sampler", **locals())
        return io.NodeOutput({"samples": sample_video("Text2Video-Zero Sampler", model, positive, negative, latent, seed,
                                                      cfg, motion_x, motion_y, steps, t0, t1, chunk_size, sigmas)})


NODES = [CrossFrameAttentionPatcher, MotionLatentWarp, Text2VideoZeroSampler]
