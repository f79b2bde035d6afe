"""Reuse-Diffuse Sampler and Extender nodes (VidRD, Gu et al. 2023: FNR, PNS, DSG): a video as clips,
each reusing the previous clip's noise and latents; the VIDLIFT_REUSE_CLIP socket hands the last clip on, so
extenders chain (e.g. with another prompt). Native video models (5-D latents of a family in
model_families.VIDEO_ADAPTERS: Wan 2.1, Wan 2.2 5B, LTX-Video, HunyuanVideo 1.5) take the video_extension path (held
context, causal anchor) through glue/reuse_clips.sample_video_clips."""
from __future__ import annotations

from comfy_api.latest import io

from .core.errors import fail
from .core.reuse_diffuse import DEFAULTS
from .glue.node_inputs import cfg_input, check_inputs, colour_anchor_input, queue_answer, seed_input, steps_input
from .glue.reuse_clips import checked_latent, sample_clips

NODE, SAMPLER = "Reuse-Diffuse Extender", "Reuse-Diffuse Sampler"
CATEGORY = "VidLift/Long video"
DIRECTIONS = ("reverse (reference)", "forward")
REUSE_CLIP = io.Custom("VIDLIFT_REUSE_CLIP")   # carries a reuse_diffuse.ReuseClip


def settings_problem(overlap, recycle, guidance):
    if not 0.0 <= recycle <= 100.0:   # also NaN
        return "noise_recycle", f"noise_recycle r must be ≥ 0 and ≤ 100, got {recycle}."
    if not 0.0 <= guidance <= 1.0:
        return "staged_guidance", f"staged_guidance g must be in [0, 1], got {guidance}."
    if overlap < 1:
        return "overlap", f"overlap M must be at least 1, got {overlap}."
    return None


def clip_inputs():
    """model … cfg, shared by both nodes (the Sampler samples as the Extender's clip 0)."""
    return [
        io.Model.Input("model", tooltip="A video-capable model with frames in the batch (e.g. patched with "
                                        "Cross-Frame Attention or Temporal Shift, or AnimateDiff)."),
        io.Conditioning.Input("positive", tooltip="The prompt."),
        io.Conditioning.Input("negative", tooltip="The negative prompt (the reference uses \"watermark\")."),
        io.Latent.Input("latent", tooltip="Empty latent of one clip: batch size = frames per clip N."),
        seed_input("Clip k's fresh noise comes from a generator seeded by (seed, k), k counted from the chain's "
                   "first clip: Sampler → Extender (clips = 2) with one seed gives the frames of one Extender with "
                   "clips = 3.", default=42),
        steps_input("DDIM steps S per clip.", DEFAULTS["steps"]),
        cfg_input("Classifier-free guidance (10 in the reference).", DEFAULTS["cfg"]),
    ]


def last_clip_output():
    return REUSE_CLIP.Output(display_name="last_clip", tooltip="The last clip's initial noise and per-step latents "
                                                               "(CPU): connect to an Extender's `previous`.")


class ReuseDiffuseSampler(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="VidLift_ReuseDiffuseSampler", display_name=SAMPLER, category=CATEGORY,
            description="VidRD's first clip: samples N frames (the latent's batch size) exactly as the Reuse-Diffuse "
                        "Extender samples its clip 0 (DDIM with CFG) and hands the clip's initial noise and per-step "
                        "latents on through `last_clip`, so an Extender (e.g. with another prompt) continues it.",
            inputs=clip_inputs(),
            outputs=[io.Latent.Output(tooltip="The clip's frames in the batch."), last_clip_output()],
        )

    @classmethod
    def execute(cls, model, positive, negative, latent, seed, steps, cfg):
        check_inputs(cls, SAMPLER, **locals())
        x = checked_latent(SAMPLER, model, latent)
        out, last = sample_clips(SAMPLER, model, positive, negative, x, seed, steps, cfg, 1)
        return io.NodeOutput({"samples": out}, last)


class ReuseDiffuseExtender(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="VidLift_ReuseDiffuseExtender", display_name=NODE, category=CATEGORY,
            description="VidRD (Reuse and Diffuse): generates `clips` clips of N frames (the latent's batch size). "
                        "Each new clip reuses the previous clip's initial noise time-reversed for its first M frames "
                        "(FNR), mixes it with fresh noise for the rest (PNS), and copies the previous clip's latents "
                        "into the overlap frames during the first steps (DSG), so clips join smoothly. With "
                        "`previous` connected (a Reuse-Diffuse Sampler or another Extender) all `clips` clips "
                        "continue that clip and only the new frames are returned. Memory holds one clip; the video "
                        "and the previous clip's per-step latents stay on the CPU.",
            inputs=[
                *clip_inputs(),
                io.Int.Input("clips", default=3, min=1, max=256,
                             tooltip="Number of clips: 1 is a plain clip. With `previous`: new clips after it."),
                io.Int.Input("overlap", default=DEFAULTS["overlap"], min=1, max=1023,
                             tooltip="M: frames at the start of each new clip that reuse the previous clip (FNR, DSG)."),
                io.Float.Input("noise_recycle", default=DEFAULTS["recycle"], min=0.0, max=100.0, step=0.1,
                               tooltip="r (PNS): the other frames' noise is r/√(1+r²)·reversed old noise + fresh "
                                       "noise of variance 1/(1+r²); 0 = fresh noise."),
                io.Float.Input("staged_guidance", default=DEFAULTS["guidance"], min=0.0, max=1.0, step=0.05,
                               tooltip="g (DSG): overlap frame j copies the previous clip for steps i < (M−j)·(S/M)·g."),
                io.Combo.Input("direction", options=list(DIRECTIONS), default=DIRECTIONS[0],
                               tooltip="reverse: as the reference, a clip starts as the previous one played backwards; "
                                       "forward: reuse the previous clip's last M frames in order (a deviation)."),
                io.Boolean.Input("keep_overlap", default=True,
                                 tooltip="Keep each new clip's M overlap frames in the output (the reference does)."),
                colour_anchor_input("clip"),
                REUSE_CLIP.Input("previous", optional=True,
                                 tooltip="Optional: the last clip of a Reuse-Diffuse Sampler or another Extender. "
                                         "Then no clip 0 is made here: every clip continues it and the output holds "
                                         "only the new frames (join them after the previous latent with Latent "
                                         "Batch). Its frames, size and steps must match this node's."),
            ],
            outputs=[io.Latent.Output(tooltip="All clips' frames in the batch (with `previous`: the new clips only)."),
                     last_clip_output()],
        )

    @classmethod
    def validate_inputs(cls, overlap, noise_recycle, staged_guidance):
        return queue_answer(cls, NODE, settings_problem, overlap=overlap, noise_recycle=noise_recycle,
                            staged_guidance=staged_guidance)

    @classmethod
    def execute(cls, model, positive, negative, latent, seed, steps, cfg, clips, overlap, noise_recycle,
                staged_guidance, direction, keep_overlap, previous=None, colour_anchor=0.0):
        check_inputs(cls, NODE, **locals())
        fail(NODE, settings_problem(overlap, noise_recycle, staged_guidance))
        x = checked_latent(NODE, model, latent)
        out, last = sample_clips(NODE, model, positive, negative, x, seed, steps, cfg, clips, previous,
                                 overlap=overlap, recycle=noise_recycle, guidance=staged_guidance,
                                 forward=direction == DIRECTIONS[1], keep_overlap=keep_overlap,
                                 colour_anchor=colour_anchor)
        return io.NodeOutput({"samples": out}, last)


NODES = [ReuseDiffuseSampler, ReuseDiffuseExtender]
