"""The few ComfyUI facts every node needs: model family checks, latent checks, progress with previews.

Where ComfyUI has no public extension point for what the pack needs, the access lives here, once, with
the reason beside it (the sampler's guider, the VAE's raw decoder)."""
from __future__ import annotations

from typing import NamedTuple

import torch

import comfy.model_management
import comfy.model_sampling
import comfy.samplers
import comfy.utils
import latent_preview
from comfy.ldm.modules.diffusionmodules.openaimodel import UNetModel
from comfy.ldm.modules.temporal_ae import VideoDecoder

from ..core import sampling_math as sm
from ..core.errors import check
from ..core.frames import preview_grid
from .compat import first_stage, reads_denoise_mask
from .model_families import adapter_for, video_adapter_for
from ..core.schedule import ddim_sigmas


def require_family(model, node: str, capability: str | None = None, param: str = "model"):
    """The model's family adapter (model_families.py); an error naming node and parameter when the family is
    not supported or this ComfyUI lacks the hook that `capability` needs."""
    adapter = adapter_for(model, node, param)
    if capability is not None:
        adapter.require(capability, node, param)
    return adapter


def is_sd_schedule(model) -> bool:
    """A U-Net with a discrete 1000-step DDPM schedule (eps or v): SD1.x, SD2.x, SDXL."""
    ms = model.get_model_object("model_sampling")
    return (isinstance(model.get_model_object("diffusion_model"), UNetModel)
            and isinstance(ms, comfy.model_sampling.ModelSamplingDiscrete) and len(ms.sigmas) == 1000)


class Schedule(NamedTuple):
    sigmas: torch.Tensor                  # the sampler's levels, σ_max … 0 (float32, CPU)
    table: torch.Tensor | None            # σ_t for t = 0..999 on SD schedules, else None
    co: sm.Coefficients                   # a(σ), b(σ), c_in(σ) of the model's own model_sampling


def sampling_schedule(model, steps: int, sigmas: torch.Tensor | None = None) -> Schedule:
    """The levels a mechanism samples on. SD: DDIM's leading-spaced timesteps on the model's ᾱ table, as the papers'
    reference code (diffusers' DDIMScheduler). Any other model (flow DiTs): ComfyUI's `simple` scheduler on the
    model's own model_sampling (shift included), what Flux / Qwen-Image / Z-Image workflows sample with; step
    indices such as Text2Video-Zero's t0/t1 are positions in that schedule. `sigmas` given: used as they are."""
    ms = model.get_model_object("model_sampling")
    table = sigma_table(model) if is_sd_schedule(model) else None
    if sigmas is None:
        sigmas = ddim_sigmas(table, steps) if table is not None else comfy.samplers.calculate_sigmas(ms, "simple", steps)
    return Schedule(sigmas.float().cpu(), table, sm.coefficients(ms))


def sigma_table(model) -> torch.Tensor:
    """σ_t for t = 0..999 of the model's schedule (float32, CPU)."""
    return model.get_model_object("model_sampling").sigmas.detach().float().cpu()


def require_image_latent(latent: dict, model, node: str, param: str = "latent") -> torch.Tensor:
    """An image-model latent with frames in the batch whose channels match the model: [frames, C, h, w], or
    [frames, C, 1, h, w] for image models in a video VAE's space (Qwen-Image, Krea 2: 5-D latents, one frame each).
    Returned in the model's own layout (4-D empties become 5-D there, as ComfyUI's fix_empty_latent_channels)."""
    x = latent["samples"]
    fmt = model.get_model_object("latent_format")
    five_d = getattr(fmt, "latent_dimensions", 2) == 3
    if five_d and x.ndim == 4:
        x = x.unsqueeze(2)
    check(x.ndim == 4 or (five_d and x.ndim == 5 and x.shape[2] == 1), node, param,
          f"needs an image-model latent [frames, channels, height, width] with frames in the batch; got "
          f"{x.ndim}-D shape {list(x.shape)} (a latent of a native video model?).")
    check(x.shape[1] == fmt.latent_channels, node, param,
          f"has {x.shape[1]} channels but the model works on {fmt.latent_channels}-channel latents; "
          f"make the latent with this model's VAE or an empty latent of its family.")
    check(x.shape[0] >= 1, node, param, "has no frames (batch size 0).")
    return x


def require_video_latent(latent: dict, model, node: str, param: str = "latent") -> torch.Tensor:
    """A native video model's latent [B, C, T, h, w] with the model's channels."""
    x, fmt = latent["samples"], model.get_model_object("latent_format")
    family = video_adapter_for(model)
    check(x.ndim == 5, node, param, f"needs a video latent [batch, channels, frames, height, width] for this video "
                                    f"model; got shape {list(x.shape)} (make it with an empty video latent node, e.g. "
                                    f"Empty Hunyuan Latent Video for Wan 2.1).")
    check(x.shape[1] == fmt.latent_channels, node, param,
          f"has {x.shape[1]} channels but the model works on {fmt.latent_channels}-channel latents; make the latent "
          f"for {family.name if family else 'this model'} (an empty latent of its family).")
    return x


def video_device() -> torch.device:
    """Where finished frames of a long video wait: ComfyUI's intermediate device (the CPU unless --gpu-only)."""
    return comfy.model_management.intermediate_device()


class Progress:
    """A ComfyUI progress bar over all windows' or clips' steps, with a latent preview of the frames being made: the
    current window's or clip's x̂₀ frames as a grid (core/frames.preview_grid), through the user's latent previewer
    (none when previews are off) and within its preview size; use as a sampler callback."""
    MAX_FRAMES = 16

    def __init__(self, model, total: int):
        self.pbar = comfy.utils.ProgressBar(total)
        self.total = total
        self.previewer = latent_preview.get_previewer(model.load_device, model.get_model_object("latent_format"))

    def grid_frames(self, x0) -> int:
        """As many frames as fit twice the preview size per side (≈ 8 px per latent pixel), at most MAX_FRAMES."""
        size = getattr(latent_preview, "MAX_PREVIEW_RESOLUTION", 512)
        per_side = max(1, int(2 * size // (8 * max(x0.shape[-2:]))))
        return min(self.MAX_FRAMES, per_side ** 2)

    def __call__(self, step, x0, x, _total_steps):
        preview = None
        if self.previewer is not None:
            grid = preview_grid(x0, self.grid_frames(x0), dim=2 if x0.ndim == 5 else 0)
            preview = self.previewer.decode_latent_to_preview_image("JPEG", grid)
        self.pbar.update_absolute(step + 1, self.total, preview)


def run_sampler(model, positive, negative, cfg: float, shape, sampler_function, options: dict, sigmas, total_steps: int,
                seed: int, run_per_call: bool = False) -> torch.Tensor:
    """Run a k-diffusion-style sampler function through ComfyUI's CFGGuider (patches, wrappers, conds,
    model loading), from a zero latent of `shape`; the function draws its own noise from `options`.
    run_per_call: each model call is a sampling run of its own (`PerCallModel`), for samplers whose calls
    differ in frame count."""
    guider = comfy.samplers.CFGGuider(model)
    guider.set_conds(positive, negative)
    guider.set_cfg(cfg)
    if run_per_call:
        return run_calls(guider, shape, sampler_function, options, sigmas, total_steps, seed)
    return run_guider(guider, shape, sampler_function, options, sigmas, total_steps, seed)


def run_guider(guider, shape, sampler_function, options: dict, sigmas, total_steps: int, seed: int) -> torch.Tensor:
    """`run_sampler` with a guider of your own (e.g. one that carries a second model)."""
    zeros = torch.zeros(tuple(shape))
    out = guider.sample(zeros, zeros, comfy.samplers.KSAMPLER(sampler_function, extra_options=options), sigmas,
                        callback=Progress(guider.model_patcher, total_steps),
                        disable_pbar=not comfy.utils.PROGRESS_BAR_ENABLED, seed=seed)
    return out.cpu()


CONDS_KEY = "vidlift_conds"     # a sampler call's own (positive, negative) for PerCallModel


class PerCallModel:
    """A k-diffusion model, (x, σ, **extra_args) → x̂₀, whose every call is one sampling run of `guider` over a
    latent of x's shape, the call's extra model_options merged over the guider's.

    Some packs size their state by the latent of the sampling run: AnimateDiff-Evolved sets its motion
    modules' frame count from it when a run starts and reshapes every activation by it. A sampler whose calls
    hold different numbers of frames (Context-Guided windows, a lone first frame, the guidance pass of the new
    frames) must therefore make each call a run of its own; every patch and wrapper on the model applies as in
    one run, the x̂₀ is the same bit for bit, and each run costs ComfyUI's per-run setup once (conds, a model
    load check), small beside a U-Net pass. A call whose extra arguments hold CONDS_KEY runs with those conds
    (prompt travel: each window or clip its own prompt)."""

    def __init__(self, guider, sigmas: torch.Tensor, seed: int):
        self.guider, self.sigmas, self.seed, self.conds = guider, sigmas, seed, None

    def __call__(self, x, sigma, **extra_args):
        out = []
        conds = extra_args.pop(CONDS_KEY, None)       # this call's (positive, negative), e.g. a prompt schedule's
        if conds is not None and conds is not self.conds:   # set once per window or clip, not per call
            self.guider.set_conds(*conds)
            self.conds = conds

        def one_call(model, noise, sigmas, extra_args=None, callback=None, disable=None, outer=None):
            out.append(model(x.to(noise), sigma.to(noise), **merged(extra_args or {}, outer)))
            return noise

        zeros = torch.zeros(x.shape)
        self.guider.sample(zeros, zeros, comfy.samplers.KSAMPLER(one_call, extra_options={"outer": extra_args}),
                           self.sigmas, disable_pbar=True, seed=self.seed)
        return out[0].to(x)


def merged(inner: dict, outer: dict) -> dict:
    """The guider's extra_args with a call's own: its model_options' transformer_options win, key by key."""
    options = dict(inner.get("model_options", {}))
    extra = outer.get("model_options", {})
    options.update({k: v for k, v in extra.items() if k != "transformer_options"})
    options["transformer_options"] = {**options.get("transformer_options", {}), **extra.get("transformer_options", {})}
    return {**inner, **{k: v for k, v in outer.items() if k != "model_options"}, "model_options": options}


def run_calls(guider, shape, sampler_function, options: dict, sigmas, total_steps: int, seed: int) -> torch.Tensor:
    """`run_guider` with every model call a run of its own (PerCallModel); the same latent-format scaling."""
    patcher = guider.model_patcher
    device = patcher.load_device
    progress = Progress(patcher, total_steps)
    out = sampler_function(PerCallModel(guider, sigmas, seed), torch.zeros(tuple(shape), device=device),
                           sigmas.to(device), extra_args={"seed": seed},
                           callback=lambda d: progress(d["i"], d["denoised"], d["x"], total_steps),
                           disable=not comfy.utils.PROGRESS_BAR_ENABLED, **options)
    return patcher.get_model_object("process_latent_out")(out.to(torch.float32)).cpu()   # as CFGGuider.sample


def has_temporal_decoder(vae) -> bool:
    """A VAE whose decoder mixes frames (SVD's VideoDecoder). ComfyUI's VAE says nothing public about it."""
    return isinstance(getattr(first_stage(vae), "decoder", None), VideoDecoder)


def decode_frames_together(vae, z: torch.Tensor) -> torch.Tensor:
    """IMAGE of latent frames z decoded in ONE decoder call. VAE.decode splits the batch by free memory,
    which would cut a temporal decoder's window at arbitrary frames; its public path offers no window, so
    the model is called directly (loading and memory stay with the caller, as VAE.decode does them)."""
    z = z.to(vae.device, vae.vae_dtype)
    return vae.process_output(first_stage(vae).decode(z).float()).to(vae.output_device)


def holds_frames_clean(model) -> bool:
    """Whether the model sees held frames clean at t = 0 (WAN22, LTXV): its model_base turns `denoise_mask` into
    per-frame timesteps (`process_timestep` reads it) and feeds the held frames' clean latent (`scale_latent_inpaint`
    returns it). Otherwise ComfyUI re-noises held frames to each step's σ (WAN21), or feeds them clean at that σ
    (HunyuanVideo 1.5: clean latent, one t per sample). Feature-detected on the class, never version-compared."""
    import comfy.model_base
    cls, base = type(model.model), comfy.model_base.BaseModel
    return reads_denoise_mask(cls) and cls.scale_latent_inpaint is not base.scale_latent_inpaint


def sample_held(model, positive, negative, cfg: float, noise, latent_image, mask, sigmas, seed: int, progress=None):
    """One run of ComfyUI's `euler` sampler through a CFGGuider from N(0, I) `noise`, holding the frames where
    `mask` is 0 at `latent_image` (LATENT scaling) by ComfyUI's own inpainting (KSamplerX0Inpaint)."""
    import comfy.sampler_helpers
    guider = comfy.samplers.CFGGuider(model)
    guider.set_conds(positive, negative)
    guider.set_cfg(cfg)
    if mask is not None:      # 0.33 prepares a mask itself, 0.3.75 only in comfy.sample.sample: same result twice
        mask = comfy.sampler_helpers.prepare_mask(mask, noise.shape, model.load_device)
    out = guider.sample(noise, latent_image, comfy.samplers.sampler_object("euler"), sigmas, denoise_mask=mask,
                        callback=progress, disable_pbar=not comfy.utils.PROGRESS_BAR_ENABLED, seed=seed)
    return out.cpu()


def is_video_vae(vae) -> bool:
    """A VAE whose encode turns a batch of pixel frames into ONE video latent (Wan, HunyuanVideo, LTX)."""
    return getattr(vae, "latent_dim", 2) == 3 and not getattr(vae, "not_video", False)


def encode_each_frame(vae, pixels: torch.Tensor) -> torch.Tensor:
    """Latents of pixel frames [F, H, W, 3], each frame encoded alone: [F, C, h, w], or [F, C, 1, h, w] with a video
    VAE (Qwen-Image / Krea 2 in Wan 2.1's space). A video VAE compresses a batch in time, and the documented escape,
    a [F, 1, H, W, 3] batch of one-frame clips, is cut to zero frames by VAE.encode's crop (it crops every axis to
    the spatial ratio, 0.3.75 and 0.33): so one call per frame, each a T = 1 clip."""
    if not is_video_vae(vae):
        return vae.encode(pixels)
    return torch.cat([vae.encode(pixels[k:k + 1]) for k in range(pixels.shape[0])])


def vae_bridge(image_vae, video_vae, image_format, video_format, shared: bool):
    """video_bridge.Bridge over ComfyUI VAEs, on sampler-space latents (each side's process_in/process_out)."""
    from .video_bridge import Bridge

    def frames(pixels):                     # a video VAE decodes to [1, F, H, W, 3], a Wan image latent to [F, 1, …]
        return pixels.reshape(-1, *pixels.shape[-3:])

    def decode_image(x0):
        return frames(image_vae.decode(image_format.process_out(x0)))

    def encode_video(pixels):
        return video_format.process_in(video_vae.encode(pixels))

    def decode_video(v0):
        return frames(video_vae.decode(video_format.process_out(v0)))

    def encode_frames(pixels):
        return image_format.process_in(encode_each_frame(image_vae, pixels))

    def on(fn):
        return lambda x: fn(x).to(x)

    return Bridge(on(decode_image), on(encode_video), on(decode_video), on(encode_frames), shared_frame0=shared)
