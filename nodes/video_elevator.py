"""T2V/T2I Alternating KSampler node (VideoElevator, Zhang et al. 2024): two MODELs in one
sampling loop (video_elevator.py)."""
from __future__ import annotations

from comfy_api.latest import io

from .core.errors import answer, fail, first, schema_problem
from .core.lpff import SHAPES
from .core.video_elevator import (EXPERT_BOUNDARY, PRESETS, VIDEO_STEPS, parse_remaining, preset_remaining,
                                  refine_indices, schedule_problem)
from .glue.elevator import NODE, alternate
from .glue.node_inputs import cfg_input, check_inputs, seed_input, steps_input

CUSTOM = "custom (refine_steps)"
INVERSIONS = ("DDIM + PnP correction (reference)", "DDIM")


def remaining_for(preset: str, refine_steps: str, steps: int) -> list[int]:
    return parse_remaining(refine_steps) if preset == CUSTOM else preset_remaining(preset, steps)


def settings_problem(steps, preset, refine_steps, video_steps) -> tuple[str, str] | None:
    """(parameter, problem) for refining settings that cannot run, or None; a preset's list is named "preset"."""
    source = "refine_steps" if preset == CUSTOM else "preset"
    if preset != CUSTOM and preset not in PRESETS:
        return "preset", f"must be one of {[*PRESETS, CUSTOM]}, got {preset!r}."
    try:
        remaining = remaining_for(preset, refine_steps, steps)
    except ValueError as e:
        return source, str(e)
    found = schedule_problem(remaining, steps, video_steps)
    return found and (found[0].replace("refine_steps", source), found[1])


class AlternatingKSampler(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="VidLift_AlternatingKSampler", display_name=NODE, category="VidLift/VideoElevator",
            description="VideoElevator: a text-to-image model (T2I) makes the frames' quality, a text-to-video model "
                        "(T2V) their motion. Every step is a T2I DDIM step with cross-frame attention; at the "
                        "refining steps the T2I's clean estimate is low-passed over time (LPFF), re-noised and "
                        "denoised a few steps by the T2V, then DDIM-inverted by the T2I back to the next step's noise "
                        "level. The models may be different checkpoints or patched copies of one in one latent space "
                        "(frames are the latent batch), or a native video model as T2V (Wan 2.1, Wan 2.2 5B, "
                        "HunyuanVideo 1.5: frames 4n+1; LTX-Video: 8n+1), reached through the VAEs (image_vae, "
                        "video_vae); Wan 2.2 A14B as a pair of experts (video_model_low_noise).",
            inputs=[
                io.Model.Input("image_model", tooltip="T2I: an SD1.x / SD2.x / SDXL model (a LoRA'd style model is "
                                                      "the paper's use), or a DiT image model (Qwen-Image, Flux, …)."),
                io.Conditioning.Input("image_positive", tooltip="The prompt, encoded with the T2I model's CLIP."),
                io.Conditioning.Input("image_negative", tooltip="The negative prompt for the T2I (also used, without "
                                                               "CFG, for the DDIM inversion, as the reference)."),
                io.Model.Input("video_model", tooltip="T2V: a model that takes frames in the batch in the same latent "
                                                      "space (AnimateDiff on SD1.5, or an SD model with Temporal Shift "
                                                      "/ Cross-Frame Attention), or a native video model: Wan 2.1, "
                                                      "Wan 2.2 5B, LTX-Video, HunyuanVideo 1.5 (connect image_vae "
                                                      "and video_vae), or Wan 2.2 A14B's high-noise expert (with "
                                                      "video_model_low_noise). Its own noise schedule is used."),
                io.Conditioning.Input("video_positive", tooltip="The prompt, encoded with the T2V model's CLIP."),
                io.Conditioning.Input("video_negative", tooltip="The negative prompt for the T2V."),
                io.Latent.Input("latent", tooltip="An Empty Latent Image: batch size = frames, size = video size. "
                                                  "Its contents are not used."),
                seed_input("Seed of the mixed noise and of every re-noising (drawn in the reference's order).", 42),
                steps_input(default=50,
                            tooltip="T2I DDIM steps N (leading spacing: 981, 961, …, 1 for 50). Reference: 50 "
                                    "(AnimateLCM: 30)."),
                cfg_input("T2I classifier-free guidance (7.5 in every reference script).", 7.5, "image_cfg"),
                cfg_input("T2V classifier-free guidance: LaVie / ZeroScope 7.5, AnimateLCM 2.0.", 7.5, "video_cfg"),
                io.Combo.Input("preset", options=[*PRESETS, CUSTOM], default="ZeroScope",
                               tooltip="Refining steps of the reference scripts, as N − i: ZeroScope 45,35,25,15; "
                                       "LaVie 45,35,30,25,20,15 (both N = 50); AnimateLCM 26,21,15,9 (N = 30). For "
                                       "another N the step indices scale (i·N/N_ref). Their other settings: "
                                       "ZeroScope K 8, d_t 0.4, α 1.5; LaVie K 8, d_t 0.5, α 1.0; AnimateLCM K 6, "
                                       "d_t 0.6, α 0.5, video_cfg 2, lcm steps. custom: use refine_steps."),
                io.String.Input("refine_steps", default="45,35,25,15",
                                tooltip="With preset = custom: comma-separated N − i values (steps left, as the "
                                        "reference's stable_steps): 45,35,25,15 refines at i = 5,15,25,35 of 50. "
                                        "Empty = no refining (plain T2I DDIM)."),
                steps_input(name="video_steps", default=8,
                            tooltip="K: T2V steps per refining (8 LaVie / ZeroScope, 6 AnimateLCM); needs i + K ≤ N."),
                io.Combo.Input("video_sampler", options=list(VIDEO_STEPS), default="ddim",
                               tooltip="T2V step: ddim (LaVie, ZeroScope) or lcm (x̂₀ + fresh noise, for AnimateLCM "
                                       "/ LCM-LoRA video models)."),
                io.Combo.Input("lpff_filter", options=[*SHAPES, "off"], default="gaussian",
                               tooltip="LPFF on the T2I estimate before the T2V (not at the last refining step): "
                                       "gaussian (reference), butterworth (order 4), ideal, box, or off."),
                io.Float.Input("d_s", default=1.0, min=0.0, max=4.0, step=0.05,
                               tooltip="LPFF spatial cut-off (1.0 in every reference script)."),
                io.Float.Input("d_t", default=0.4, min=0.0, max=4.0, step=0.05,
                               tooltip="LPFF temporal cut-off: ZeroScope 0.4, LaVie 0.5, AnimateLCM 0.6."),
                io.Combo.Input("inversion", options=list(INVERSIONS), default=INVERSIONS[0],
                               tooltip="DDIM inversion of the T2V result back to T2I noise; the PnP correction "
                                       "(reference default) adds the inversion's reconstruction error back on the "
                                       "following steps, keeping the T2V's motion."),
                io.Float.Input("mixed_noise_alpha", default=1.5, min=0.0, max=100.0, step=0.05,
                               tooltip="α of the mixed-noise prior (α·shared + per-frame)/√(1+α²): ZeroScope 1.5, "
                                       "LaVie 1.0, AnimateLCM 0.5; 0 = independent noise per frame."),
                io.Boolean.Input("cross_frame_attention", default=True,
                                 tooltip="Add Cross-Frame Attention (every frame attends to frame 1) to a copy of the "
                                         "T2I model, as the reference's inflated T2I; skipped if it already has it."),
                io.Vae.Input("image_vae", optional=True,
                             tooltip="With a native video model (Wan, LTX-Video, HunyuanVideo 1.5) as T2V: the T2I's "
                                     "VAE. The T2I's estimate is decoded with it, and the T2V's result encoded back frame by frame. Leave it "
                                     "unconnected when both models take frames in the batch in one latent space."),
                io.Vae.Input("video_vae", optional=True,
                             tooltip="With a native video model as T2V: its video VAE (the Wan, LTX-Video or "
                                     "HunyuanVideo 1.5 VAE), which encodes the frames as one video and decodes the T2V's result. Not needed when the T2I "
                                     "lives in the same latent space (Qwen-Image with Wan 2.1: image_vae serves both)."),
                io.Model.Input("video_model_low_noise", optional=True,
                               tooltip="Wan 2.2 A14B as T2V: its low-noise expert, with the high-noise expert as "
                                       "video_model. Each T2V step runs the high-noise expert at σ ≥ expert_boundary "
                                       "and this one below (each with its own patches and model_sampling, the same "
                                       "prompts and video_cfg). Unconnected: video_model runs every T2V step."),
                io.Float.Input("expert_boundary", default=EXPERT_BOUNDARY["T2V"], min=0.0, max=1.0, step=0.005,
                               optional=True,
                               tooltip="With video_model_low_noise: the T2V σ at which the experts switch, the "
                                       "high-noise expert at σ ≥ boundary (Wan 2.2's t ≥ boundary·1000 with t = "
                                       "1000·σ). Wan 2.2 A14B T2V: 0.875 (its I2V pair: 0.9). Unused without it."),
            ],
            outputs=[io.Latent.Output(tooltip="The video latent, frames in the batch.")],
        )

    @classmethod
    def validate_inputs(cls, steps, preset, refine_steps, video_steps, expert_boundary=None):
        values = (steps, preset, refine_steps, video_steps)
        return answer(NODE, first(schema_problem(cls, dict(steps=steps, preset=preset, video_steps=video_steps,
                                                           expert_boundary=expert_boundary)),
                                  lambda: None if None in values else settings_problem(*values)))

    @classmethod
    def execute(cls, image_model, image_positive, image_negative, video_model, video_positive, video_negative, latent,
                seed, steps, image_cfg, video_cfg, preset, refine_steps, video_steps, video_sampler, lpff_filter,
                d_s, d_t, inversion, mixed_noise_alpha, cross_frame_attention, image_vae=None, video_vae=None,
                video_model_low_noise=None, expert_boundary=EXPERT_BOUNDARY["T2V"]):
        check_inputs(cls, NODE, **locals())
        fail(NODE, settings_problem(steps, preset, refine_steps, video_steps))
        out = alternate(image_model, (image_positive, image_negative), video_model, (video_positive, video_negative),
                        latent, seed, steps, image_cfg, video_cfg,
                        refine_indices(remaining_for(preset, refine_steps, steps), steps), video_steps, video_sampler,
                        None if lpff_filter == "off" else (lpff_filter, d_s, d_t), inversion == INVERSIONS[0],
                        mixed_noise_alpha, cross_frame_attention, (image_vae, video_vae), video_model_low_noise,
                        expert_boundary)
        return io.NodeOutput({"samples": out})


NODES = [AlternatingKSampler]
