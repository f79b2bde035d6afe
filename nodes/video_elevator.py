"""T2V/T2I Alternating KSampler node (VideoElevator, Zhang et al. 2024): two MODELs in one
sampling loop (video_elevator.py)."""
from __future__ import annotations

import math

import torch
from comfy_api.latest import io

import comfy.model_management
import comfy.samplers

from .glue.comfy_glue import (PerCallModel, guider_of, is_sd_schedule, is_video_vae, require_family, require_image_latent,
                         run_guider, sampling_schedule, vae_bridge)
from .core.errors import answer, check, check_schema, fail, first, schema_problem
from .core.lpff import SHAPES, lpff_frames_in_batch
from .core import sampling_math as sm
from .glue.model_families import video_adapter_for, video_families
from .glue.model_patches import has_cross_frame_attention
from .glue.video_bridge import Bridge, frames_problem, size_problem
from .core.schedule import leading_timesteps
from .core.video_elevator import (EXPERT_BOUNDARY, PRESETS, VIDEO_STEPS, elevate, is_high_noise, mixed_noise, model_calls,
                             parse_remaining, preset_remaining, refine_indices, schedule_problem)

NODE = "T2V/T2I Alternating KSampler"
CUSTOM = "custom (refine_steps)"
INVERSIONS = ("DDIM + PnP correction (reference)", "DDIM")


class ElevatorGuider(comfy.samplers.CFGGuider):
    """The T2I model's CFGGuider, carrying the T2V model with a guider of its own.

    Every T2V call is a sampling run of the T2V's own guider (comfy_glue.PerCallModel), so the T2V's
    outer-sample wrappers, callbacks, conds and model_options apply as in a KSampler run of it: AnimateDiff-
    Evolved's motion modules, for one, set themselves up there. Each phase loads its own model
    (load_models_gpu, which frees what the other phase held when memory is short), so two big models need not
    be resident together: every T2V run loads the T2V, `use` reloads the T2I when the loop returns to it. Two
    clones of one checkpoint (e.g. T2V = the T2I + Temporal Shift) share their weights and so run each with its
    own object and weight patches.

    An expert pair (Wan 2.2 A14B): `video_models` = (high-noise, low-noise), each with a guider of its own (the same
    conds and cfg), so each runs with its own model_sampling, patches and loading; a T2V call at σ goes to the
    high-noise expert when σ ≥ `boundary` (video_elevator.is_high_noise), else to the low-noise one."""

    def __init__(self, image_model, video_models, image_conds, video_conds, image_cfg, video_cfg, video_sigmas,
                 boundary=EXPERT_BOUNDARY["T2V"]):
        self.shared = any(image_model.is_clone(m) for m in video_models)
        super().__init__(image_model.clone())
        self.set_conds(*image_conds)
        self.set_cfg(image_cfg)
        self.videos = [comfy.samplers.CFGGuider(m) for m in video_models]
        for guider in self.videos:
            guider.set_conds(*video_conds)
            guider.set_cfg(video_cfg)
        self.video_sigmas, self.boundary, self.active = video_sigmas, boundary, None

    def outer_sample(self, *args, **kwargs):
        self.active = "image"
        return super().outer_sample(*args, **kwargs)

    def use(self, which: str):
        if which != self.active and which == "image":
            comfy.model_management.load_models_gpu([self.model_patcher])   # a T2V run may have swapped it out
            if self.shared:
                self.model_patcher.pre_run()
        self.active = which

    def predict_prompt(self, x, sigma, which, model_options):
        """x̂₀ of one prompt without CFG: the reference's inversion (negative) and PnP (positive) calls."""
        self.use("image")
        return comfy.samplers.calc_cond_batch(self.inner_model, [self.conds[which]], x, sigma, model_options)[0]

    def predict_video(self, x, sigma, seed=None):
        self.use("video")
        high, *low = self.videos
        guider = high if not low or is_high_noise(sigma[0], self.boundary) else low[0]
        return PerCallModel(guider, self.video_sigmas, seed)(x, sigma)


@torch.no_grad()
def sample_video_elevator(model, x, sigmas, extra_args=None, callback=None, disable=None, initial=None,
                          video_sigmas=None, **options):
    """VideoElevator as a k-diffusion sampler (video_elevator.elevate); its guider is an ElevatorGuider.
    `initial` is z_T in the DDPM form, as the reference draws it (the model input at σ_max)."""
    extra_args = {} if extra_args is None else extra_args
    guider, ones = guider_of(model), x.new_ones([x.shape[0]])
    shown = {}

    def progress(d):            # a bridged T2V step or VAE call previews the T2I's latest estimate
        if d["denoised"].shape == x.shape:
            shown.update(x=d["x"], denoised=d["denoised"])
        callback({**d, **shown})

    def image(x_, sigma, guidance):
        if guidance == "cfg":
            guider.use("image")
            return model(x_, sigma * ones, **extra_args)
        return guider.predict_prompt(x_, sigma * ones, guidance, extra_args["model_options"])

    def video(x_, sigma):
        return guider.predict_video(x_, sigma * x_.new_ones([x_.shape[0]]), extra_args.get("seed"))

    start = sm.from_vp(options["image_co"], initial.to(x), sigmas[0])
    return elevate(image, video, start, sigmas, video_sigmas.to(x), callback=callback and progress, **options)


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


def require_video_model(image_model, video_model, image_vae, video_vae):
    """Same-space pair (frames in the batch, one VAE): None. A native video T2V: (its VideoAdapter, the
    video_bridge.Bridge, (image_vae, video_vae))."""
    lf_i, lf_v = (m.get_model_object("latent_format") for m in (image_model, video_model))
    same = type(lf_i) is type(lf_v) and lf_i.scale_factor == lf_v.scale_factor
    native = video_adapter_for(video_model)
    if native is None:
        check(same, NODE, "video_model",
              f"works on {type(lf_v).__name__} latents ({lf_v.latent_channels} channels) but image_model on "
              f"{type(lf_i).__name__} latents ({lf_i.latent_channels} channels); a T2V with frames in the batch must "
              f"share one latent space with the T2I (the same VAE), e.g. SD1.5 with an SD1.5-based video model; "
              f"a native video model ({video_families()}) is reached through image_vae and video_vae.")
        require_family(video_model, NODE, param="video_model")
        for param, vae in (("video_vae", video_vae), ("image_vae", image_vae)):
            check(vae is None, NODE, param, "is connected but the two models share one latent space with frames in "
                                            "the batch, so there is no VAE bridge to use; disconnect it.")
        return None
    check(image_vae is not None, NODE, "image_vae",
          f"is needed: video_model is a {native.name} video model ({type(lf_v).__name__} video latents), so the T2I's "
          f"estimates reach it through pixels; connect the VAE of image_model ({type(lf_i).__name__} latents).")
    check(same or video_vae is not None, NODE, "video_vae",
          f"is needed: video_model ({native.name}) works on {type(lf_v).__name__} latents, image_model on "
          f"{type(lf_i).__name__}; connect the {native.name} VAE.")
    video_vae = video_vae or image_vae            # one latent space: one VAE can encode both (Qwen-Image ↔ Wan 2.1)
    for param, vae, fmt in (("image_vae", image_vae, lf_i), ("video_vae", video_vae, lf_v)):
        check(vae.latent_channels == fmt.latent_channels, NODE, param,
              f"makes {vae.latent_channels}-channel latents but its model works on {fmt.latent_channels}-channel "
              f"{type(fmt).__name__} latents; connect that model's own VAE.")
    check(is_video_vae(video_vae), NODE, "video_vae", f"is an image VAE; the {native.name} model needs its video VAE.")
    return native, vae_bridge(image_vae, video_vae, lf_i, lf_v, shared=same), (image_vae, video_vae)


def require_expert_pair(video_model, low_noise, native):
    """A low-noise expert needs video_model to be a native video model of its own family and latent space (Wan 2.2
    A14B: two WAN21-class models in Wan 2.1's latent space)."""
    if low_noise is None:
        return
    param, low = "video_model_low_noise", video_adapter_for(low_noise)
    check(native is not None, NODE, param,
          f"is connected but video_model is not a native video model ({video_families()}); a low-noise expert pairs "
          f"with its high-noise expert as video_model (Wan 2.2 A14B: both experts, Wan 2.1 class), so connect the "
          f"high-noise expert there or disconnect video_model_low_noise.")
    lf_h, lf_l = (m.get_model_object("latent_format") for m in (video_model, low_noise))
    check(low is native and type(lf_h) is type(lf_l), NODE, param,
          f"is a {low.name if low else 'non-video'} model on {type(lf_l).__name__} latents but video_model (the "
          f"high-noise expert) is a {native.name} model on {type(lf_h).__name__} latents; the two experts must be one "
          f"family in one latent space (Wan 2.2 A14B: high- and low-noise experts, both Wan 2.1 class).")


def require_video_size(x, adapter, native, vaes):
    """Frames c·n + 1 (the family's causal factor: 4 Wan / HunyuanVideo 1.5, 8 LTX) and a pixel size both models take
    (the video VAE's own compression × the family's patch), else an error offering valid values."""
    image_vae, video_vae = vaes
    fail(NODE, frames_problem(x.shape[0], native.temporal, native.name))
    scale = image_vae.spacial_compression_encode()
    height, width = x.shape[-2] * scale, x.shape[-1] * scale
    image_multiple = adapter.latent.get("multiple", scale)           # VAE × patch (U-Nets: the VAE's 8)
    video_multiple = video_vae.spacial_compression_encode() * native.patch
    fail(NODE, size_problem(height, width, math.lcm(image_multiple, video_multiple),
                            f"the image model (×{image_multiple}) and the {native.name} model (VAE "
                            f"{video_vae.spacial_compression_encode()} × patch {native.patch})"))


def require_frames(cond, frames: int, param: str):
    for c in cond:
        n = c[0].shape[0] if torch.is_tensor(c[0]) else 1
        check(n in (1, frames), NODE, param,
              f"holds {n} conditionings (one per frame?) but the latent has {frames} frames; "
              f"use one conditioning for all frames or exactly one per frame.")


def video_sigmas_of(video_model, steps: int) -> torch.Tensor:
    """σ of the T2V model's own schedule at the T2I's steps (the SDEdit and T2V levels): on SD schedules at the
    T2I's DDIM timesteps, else the T2V's own schedule of `steps` steps (comfy_glue.sampling_schedule)."""
    if not is_sd_schedule(video_model):
        return sampling_schedule(video_model, steps).sigmas[:-1]
    ms = video_model.get_model_object("model_sampling")
    return torch.stack([ms.sigma(torch.tensor(float(t))) for t in leading_timesteps(steps)]).float().cpu()


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
                io.Int.Input("seed", default=42, min=0, max=0xFFFFFFFFFFFFFFFF, control_after_generate=True,
                             tooltip="Seed of the mixed noise and of every re-noising (drawn in the reference's order)."),
                io.Int.Input("steps", default=50, min=1, max=1000,
                             tooltip="T2I DDIM steps N (leading spacing: 981, 961, …, 1 for 50). Reference: 50 "
                                     "(AnimateLCM: 30)."),
                io.Float.Input("image_cfg", default=7.5, min=0.0, max=100.0, step=0.1, round=0.01,
                               tooltip="T2I classifier-free guidance (7.5 in every reference script)."),
                io.Float.Input("video_cfg", default=7.5, min=0.0, max=100.0, step=0.1, round=0.01,
                               tooltip="T2V classifier-free guidance: LaVie / ZeroScope 7.5, AnimateLCM 2.0."),
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
                io.Int.Input("video_steps", default=8, min=1, max=1000,
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
        check_schema(cls, NODE, dict(seed=seed, steps=steps, image_cfg=image_cfg, video_cfg=video_cfg, preset=preset,
                                     video_steps=video_steps, video_sampler=video_sampler, lpff_filter=lpff_filter,
                                     d_s=d_s, d_t=d_t, inversion=inversion, mixed_noise_alpha=mixed_noise_alpha,
                                     expert_boundary=expert_boundary))
        fail(NODE, settings_problem(steps, preset, refine_steps, video_steps))
        adapter = require_family(image_model, NODE, param="image_model")
        bridged = require_video_model(image_model, video_model, image_vae, video_vae)
        require_expert_pair(video_model, video_model_low_noise, bridged and bridged[0])
        x = require_image_latent(latent, image_model, NODE)
        frames, shape = x.shape[0], x.shape[1:]
        if bridged:
            require_video_size(x, adapter, bridged[0], bridged[2])
        for param, cond in (("image_positive", image_positive), ("image_negative", image_negative),
                            ("video_positive", video_positive), ("video_negative", video_negative)):
            require_frames(cond, frames, param)

        if cross_frame_attention and not has_cross_frame_attention(image_model):
            adapter.require("cross-frame attention", NODE, "image_model")
            image_model = adapter.install_cross_frame(image_model, node=NODE)
        refine = refine_indices(remaining_for(preset, refine_steps, steps), steps)
        sched, video_sigmas = sampling_schedule(image_model, steps), video_sigmas_of(video_model, steps)
        generator, step_generator = (torch.Generator("cpu").manual_seed(s) for s in (seed, seed + 1))
        lpf = None if lpff_filter == "off" else (
            lambda x0: lpff_frames_in_batch(x0, frames, shape=lpff_filter, d_s=float(d_s), d_t=float(d_t)))
        options = dict(initial=mixed_noise(generator, frames, shape, mixed_noise_alpha), video_sigmas=video_sigmas,
                       sigma_floor=float(image_model.get_model_object("model_sampling").sigma_min), refine=refine, video_steps=video_steps, lpf=lpf,
                       pnp=inversion == INVERSIONS[0], video_step=video_sampler,
                       image_co=sched.co, video_co=sm.coefficients(video_model.get_model_object("model_sampling")),
                       noise=lambda like: torch.randn(like.shape, generator=generator),
                       step_noise=lambda like: torch.randn(like.shape, generator=step_generator),
                       bridge=bridged and bridged[1])
        experts = [m for m in (video_model, video_model_low_noise) if m is not None]
        guider = ElevatorGuider(image_model, experts, (image_positive, image_negative),
                                (video_positive, video_negative), image_cfg, video_cfg,
                                torch.cat([video_sigmas, video_sigmas.new_zeros(1)]), float(expert_boundary))
        total = sum(model_calls(steps, refine, video_steps, options["pnp"],
                                Bridge.OPS_PER_REFINING if bridged else 0).values())
        out = run_guider(guider, (frames, *shape), sample_video_elevator, options, sched.sigmas, total,
                         seed)
        return io.NodeOutput({"samples": out})


NODES = [AlternatingKSampler]
