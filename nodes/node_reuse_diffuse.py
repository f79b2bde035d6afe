"""Reuse-Diffuse Extender node (VidRD): a video as clips, each reusing the previous clip's noise and latents."""
from __future__ import annotations

import torch
from comfy_api.latest import io

from .comfy_glue import require_image_latent, require_sd_unet, run_sampler, sigma_table
from .errors import check, check_range, queue_time_check
from .reuse_diffuse import DEFAULTS, output_frames, sample_reuse_diffuse
from .schedule import ddim_sigmas

NODE = "Reuse-Diffuse Extender"
DIRECTIONS = ("reverse (reference)", "forward")


def settings_problem(overlap, recycle, guidance):
    if not 0.0 <= recycle <= 100.0:   # also NaN
        return f"noise_recycle r must be ≥ 0 and ≤ 100, got {recycle}."
    if not 0.0 <= guidance <= 1.0:
        return f"staged_guidance g must be in [0, 1], got {guidance}."
    if overlap < 1:
        return f"overlap M must be at least 1, got {overlap}."
    return None


class ReuseDiffuseExtender(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="VidLift_ReuseDiffuseExtender", display_name=NODE, category="VidLift/Long video",
            description="VidRD (Reuse and Diffuse): generates `clips` clips of N frames (the latent's batch size). "
                        "Each new clip reuses the previous clip's initial noise time-reversed for its first M frames "
                        "(FNR), mixes it with fresh noise for the rest (PNS), and copies the previous clip's latents "
                        "into the overlap frames during the first steps (DSG), so clips join smoothly. Memory holds "
                        "one clip; the video and the previous clip's per-step latents stay on the CPU.",
            inputs=[
                io.Model.Input("model", tooltip="A video-capable model with frames in the batch (e.g. patched with "
                                                "Cross-Frame Attention or Temporal Shift, or AnimateDiff)."),
                io.Conditioning.Input("positive", tooltip="The prompt."),
                io.Conditioning.Input("negative", tooltip="The negative prompt (the reference uses \"watermark\")."),
                io.Latent.Input("latent", tooltip="Empty latent of one clip: batch size = frames per clip N."),
                io.Int.Input("seed", default=42, min=0, max=0xFFFFFFFFFFFFFFFF, control_after_generate=True,
                             tooltip="Seed of all clips' noise (one generator, drawn clip after clip)."),
                io.Int.Input("steps", default=DEFAULTS["steps"], min=1, max=1000, tooltip="DDIM steps S per clip."),
                io.Float.Input("cfg", default=DEFAULTS["cfg"], min=0.0, max=100.0, step=0.1, round=0.01,
                               tooltip="Classifier-free guidance (10 in the reference)."),
                io.Int.Input("clips", default=3, min=1, max=1024, tooltip="Number of clips: 1 is a plain clip."),
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
            ],
            outputs=[io.Latent.Output(tooltip="All clips' frames in the batch.")],
        )

    @classmethod
    def validate_inputs(cls, overlap, noise_recycle, staged_guidance):
        return queue_time_check(settings_problem, overlap, noise_recycle, staged_guidance)

    @classmethod
    def execute(cls, model, positive, negative, latent, seed, steps, cfg, clips, overlap, noise_recycle,
                staged_guidance, direction, keep_overlap):
        require_sd_unet(model, NODE)
        x = require_image_latent(latent, model, NODE)
        check_range(cfg, 0.0, 100.0, NODE, "cfg")
        check(direction in DIRECTIONS, NODE, "direction", f"must be one of {list(DIRECTIONS)}, got {direction!r}.")
        frames, shape = x.shape[0], x.shape[1:]
        problem = settings_problem(overlap, noise_recycle, staged_guidance)
        check(problem is None, NODE, "overlap/noise_recycle/staged_guidance", problem or "")
        check(overlap < frames, NODE, "overlap",
              f"M = {overlap} must be smaller than the clip's {frames} frames (the latent's batch size).")
        generator = torch.Generator("cpu").manual_seed(seed)
        options = dict(clip_frames=frames, clips=clips, overlap=overlap, recycle=noise_recycle, guidance=staged_guidance,
                       forward=direction == DIRECTIONS[1], keep_overlap=keep_overlap,
                       noise=lambda k: torch.randn((frames, *shape), generator=generator))
        out = run_sampler(model, positive, negative, cfg, (frames, *shape), sample_reuse_diffuse, options,
                          ddim_sigmas(sigma_table(model), steps), clips * steps, seed)
        assert out.shape[0] == output_frames(clips, frames, overlap, keep_overlap)
        return io.NodeOutput({"samples": out})


NODES = [ReuseDiffuseExtender]
