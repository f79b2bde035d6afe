"""The T2V/T2I Alternating KSampler (VideoElevator) run through ComfyUI: the two models' checks, the guider that
carries the T2V model beside the T2I one, and video_elevator.elevate as a KSAMPLER function."""
from __future__ import annotations

import math

import torch

import comfy.model_management
import comfy.samplers

from ..core import sampling_math as sm
from ..core.errors import check, fail
from ..core.lpff import lpff_frames_in_batch
from ..core.noise import second_seed
from ..core.schedule import leading_timesteps
from ..core.video_elevator import EXPERT_BOUNDARY, elevate, is_high_noise, mixed_noise, model_calls
from .compat import guider_of
from .comfy_glue import (PerCallModel, is_sd_schedule, is_video_vae, require_family, require_image_latent,
                         run_guider, sampling_schedule, vae_bridge)
from .model_families import video_adapter_for, video_families
from .model_patches import has_cross_frame_attention
from .video_bridge import Bridge, frames_problem, size_problem

NODE = "T2V/T2I Alternating KSampler"


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


def alternate(image_model, image_conds, video_model, video_conds, latent, seed, steps, image_cfg, video_cfg, refine,
              video_steps=8, video_step="ddim", lpff=None, pnp=True, alpha=1.5, cross_frame_attention=True,
              vaes=(None, None), low_noise=None, boundary=EXPERT_BOUNDARY["T2V"]) -> torch.Tensor:
    """VideoElevator over the latent's frames: refining at step indices `refine`, LPFF (shape, d_s, d_t) or None,
    the T2V as video_model (with low_noise: Wan 2.2 A14B's expert pair), each model's own schedule; the checks
    name NODE and the input."""
    adapter = require_family(image_model, NODE, param="image_model")
    bridged = require_video_model(image_model, video_model, *vaes)
    require_expert_pair(video_model, low_noise, bridged and bridged[0])
    x = require_image_latent(latent, image_model, NODE)
    frames, shape = x.shape[0], x.shape[1:]
    if bridged:
        require_video_size(x, adapter, bridged[0], bridged[2])
    for param, cond in zip(("image_positive", "image_negative", "video_positive", "video_negative"),
                           (*image_conds, *video_conds)):
        require_frames(cond, frames, param)
    if cross_frame_attention and not has_cross_frame_attention(image_model):
        adapter.require("cross-frame attention", NODE, "image_model")
        image_model = adapter.install_cross_frame(image_model, node=NODE)
    sched, video_sigmas = sampling_schedule(image_model, steps), video_sigmas_of(video_model, steps)
    generator, step_generator = (torch.Generator("cpu").manual_seed(s) for s in (seed, second_seed(seed)))
    lpf = None if lpff is None else (
        lambda x0: lpff_frames_in_batch(x0, frames, shape=lpff[0], d_s=float(lpff[1]), d_t=float(lpff[2])))
    options = dict(initial=mixed_noise(generator, frames, shape, alpha), video_sigmas=video_sigmas,
                   sigma_floor=float(image_model.get_model_object("model_sampling").sigma_min), refine=refine,
                   video_steps=video_steps, lpf=lpf, pnp=pnp, video_step=video_step, image_co=sched.co,
                   video_co=sm.coefficients(video_model.get_model_object("model_sampling")),
                   noise=lambda like: torch.randn(like.shape, generator=generator),
                   step_noise=lambda like: torch.randn(like.shape, generator=step_generator),
                   bridge=bridged and bridged[1])
    experts = [m for m in (video_model, low_noise) if m is not None]
    guider = ElevatorGuider(image_model, experts, image_conds, video_conds, image_cfg, video_cfg,
                            torch.cat([video_sigmas, video_sigmas.new_zeros(1)]), float(boundary))
    total = sum(model_calls(steps, refine, video_steps, pnp, Bridge.OPS_PER_REFINING if bridged else 0).values())
    return run_guider(guider, (frames, *shape), sample_video_elevator, options, sched.sigmas, total, seed)
