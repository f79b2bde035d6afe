"""The few ComfyUI facts every node needs: model family checks, latent checks, progress with previews.

Where ComfyUI has no public extension point for what the pack needs, the access lives here, once, with
the reason beside it (the sampler's guider, the VAE's raw decoder)."""
from __future__ import annotations

import torch

import comfy.model_sampling
import comfy.samplers
import comfy.utils
import latent_preview
from comfy.ldm.modules.diffusionmodules.openaimodel import UNetModel
from comfy.ldm.modules.temporal_ae import VideoDecoder

from .errors import check


def require_sd_unet(model, node: str, param: str = "model") -> None:
    """SD1.x / SD2.x / SDXL: ComfyUI's UNetModel with a discrete 1000-step DDPM schedule."""
    unet = model.get_model_object("diffusion_model")
    check(isinstance(unet, UNetModel), node, param,
          f"needs a U-Net of the Stable Diffusion family (SD1.x, SD2.x, SDXL); this model's "
          f"diffusion model is {type(unet).__name__}, which this mechanism cannot patch.")
    ms = model.get_model_object("model_sampling")
    check(isinstance(ms, comfy.model_sampling.ModelSamplingDiscrete) and len(ms.sigmas) == 1000, node, param,
          "needs a discrete 1000-step DDPM noise schedule (eps or v prediction), as SD checkpoints have.")


def sigma_table(model) -> torch.Tensor:
    """σ_t for t = 0..999 of the model's schedule (float32, CPU)."""
    return model.get_model_object("model_sampling").sigmas.detach().float().cpu()


def require_image_latent(latent: dict, model, node: str, param: str = "latent") -> torch.Tensor:
    """A [frames, C, h, w] latent whose channels match the model; returns the samples tensor."""
    x = latent["samples"]
    check(x.ndim == 4, node, param,
          f"needs an image-model latent [frames, channels, height, width] with frames in the batch; got "
          f"{x.ndim}-D shape {list(x.shape)} (a latent of a native video model?).")
    channels = model.get_model_object("latent_format").latent_channels
    check(x.shape[1] == channels, node, param,
          f"has {x.shape[1]} channels but the model works on {channels}-channel latents; "
          f"make the latent with this model's VAE or an Empty Latent Image.")
    check(x.shape[0] >= 1, node, param, "has no frames (batch size 0).")
    return x


class Progress:
    """A ComfyUI progress bar with a latent preview of one frame; use as a sampler callback."""

    def __init__(self, model, total: int, preview_frame: int = -1):
        self.pbar = comfy.utils.ProgressBar(total)
        self.total, self.frame = total, preview_frame
        self.previewer = latent_preview.get_previewer(model.load_device, model.get_model_object("latent_format"))

    def __call__(self, step, x0, x, _total_steps):
        preview = None
        if self.previewer is not None:
            frame = x0[self.frame:][:1] if self.frame >= 0 else x0[-1:]
            preview = self.previewer.decode_latent_to_preview_image("JPEG", frame)
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


class PerCallModel:
    """A k-diffusion model, (x, σ, **extra_args) → x̂₀, whose every call is one sampling run of `guider` over a
    latent of x's shape, the call's extra model_options merged over the guider's.

    Some packs size their state by the latent of the sampling run: AnimateDiff-Evolved sets its motion
    modules' frame count from it when a run starts and reshapes every activation by it. A sampler whose calls
    hold different numbers of frames (Context-Guided windows, a lone first frame, the guidance pass of the new
    frames) must therefore make each call a run of its own; every patch and wrapper on the model applies as in
    one run, the x̂₀ is the same bit for bit, and each run costs ComfyUI's per-run setup once (conds, a model
    load check), small beside a U-Net pass."""

    def __init__(self, guider, sigmas: torch.Tensor, seed: int):
        self.guider, self.sigmas, self.seed = guider, sigmas, seed

    def __call__(self, x, sigma, **extra_args):
        out = []

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


def guider_of(model):
    """The guider running a KSAMPLER sampler function, from the `model` ComfyUI hands that function.
    No public accessor: KSAMPLER.sample wraps the guider in KSamplerX0Inpaint as `inner_model` (0.3.75, 0.33)."""
    return model.inner_model


def has_temporal_decoder(vae) -> bool:
    """A VAE whose decoder mixes frames (SVD's VideoDecoder). ComfyUI's VAE says nothing public about it."""
    return isinstance(getattr(vae.first_stage_model, "decoder", None), VideoDecoder)


def decode_frames_together(vae, z: torch.Tensor) -> torch.Tensor:
    """IMAGE of latent frames z decoded in ONE decoder call. VAE.decode splits the batch by free memory,
    which would cut a temporal decoder's window at arbitrary frames; its public path offers no window, so
    the model is called directly (loading and memory stay with the caller, as VAE.decode does them)."""
    z = z.to(vae.device, vae.vae_dtype)
    return vae.process_output(vae.first_stage_model.decode(z).float()).to(vae.output_device)
