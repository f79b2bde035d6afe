"""Run a real ComfyUI model once through CFGGuider (the path KSampler takes) and read per-chunk outputs."""
from __future__ import annotations

import torch

import comfy.model_management
import comfy.model_patcher
import comfy.patcher_extension
import comfy.samplers


@torch.no_grad()
def denoise_once(model, x, sigma, positive, negative, cfg=7.0):
    """x̂₀ of a VE state x at σ, with cond and uncond x̂₀ separately (scaled latent units)."""
    seen = {}
    m = model.clone()

    def cfg_fn(args):
        seen["cond"], seen["uncond"] = args["cond_denoised"], args["uncond_denoised"]
        return args["uncond"] + (args["cond"] - args["uncond"]) * args["cond_scale"]

    m.set_model_sampler_cfg_function(cfg_fn)

    def one_step(model_k, x_, sigmas, extra_args=None, callback=None, disable=None):
        return model_k(x.to(x_), sigmas[0] * x_.new_ones(x_.shape[0]), **(extra_args or {}))

    guider = comfy.samplers.CFGGuider(m)
    guider.set_conds(positive, negative)
    guider.set_cfg(cfg)
    zeros = torch.zeros_like(x)
    out = guider.sample(zeros, zeros, comfy.samplers.KSAMPLER(one_step), torch.tensor([float(sigma), 0.0]), seed=0,
                        disable_pbar=True)
    lf = model.get_model_object("latent_format")
    return lf.process_in(out), seen.get("cond"), seen.get("uncond")


def force_cond_uncond_split(monkeypatch):
    """Make ComfyUI believe memory is short so cond and uncond run as separate U-Net calls."""
    def tiny_free(dev=None, torch_free_too=False, *a, **k):
        return (1, 1) if torch_free_too else 1

    monkeypatch.setattr(comfy.model_management, "get_free_memory", tiny_free)
    if hasattr(comfy.model_patcher.ModelPatcher, "get_free_memory"):  # newer ComfyUI asks the patcher
        monkeypatch.setattr(comfy.model_patcher.ModelPatcher, "get_free_memory", lambda self, *a, **k: 1)


def with_run_sized_motion(model, seen: list):
    """A stand-in for AnimateDiff-Evolved's motion modules, with their contract on frame counts: the frame count
    is the sampling run's latent batch, set when a run starts (its OUTER_SAMPLE wrapper sets `video_length`), and
    every U-Net call is read as chunks × that many frames (its `rearrange("(b f) …", f=video_length)`). Here the
    motion is a mix over time, each output frame plus half the mean of its chunk's frames. A call of another
    frame count fails as AD's reshape does; `seen` gets (rows, chunks, video_length) of every call."""
    import comfy.patcher_extension as pe
    m, state = model.clone(), {}

    def outer(executor, noise, *args, **kwargs):
        state["frames"] = noise.shape[0]
        return executor(noise, *args, **kwargs)

    def motion(executor, x, *args, **kwargs):
        options = args[4] if len(args) > 4 else kwargs.get("transformer_options", {})
        chunks, frames = len(options.get("cond_or_uncond") or [0]), state["frames"]
        seen.append((x.shape[0], chunks, frames))
        if x.shape[0] != chunks * frames:
            raise RuntimeError(f"motion module: {x.shape[0]} rows are not {chunks} chunks of {frames} frames")
        out = executor(x, *args, **kwargs)
        video = out.view(chunks, frames, *out.shape[1:])
        return (video + 0.5 * video.mean(dim=1, keepdim=True)).view(out.shape)

    m.add_wrapper_with_key(pe.WrappersMP.OUTER_SAMPLE, "test_run_sized_motion", outer)
    m.add_wrapper_with_key(pe.WrappersMP.DIFFUSION_MODEL, "test_run_sized_motion", motion)
    return m


def counting(model, calls, name):
    """A clone whose diffusion-model calls append (name, x.shape) to `calls`."""
    import comfy.patcher_extension as pe
    m = model.clone()
    m.add_wrapper_with_key(pe.WrappersMP.DIFFUSION_MODEL, "vidlift_test_count",
                           lambda executor, x, *a, **kw: (calls.append((name, tuple(x.shape))), executor(x, *a, **kw))[1])
    return m


class CountingVAE:
    """A VAE that records each decode / encode call and forwards it."""

    def __init__(self, vae, name, calls):
        self.vae, self.name, self.calls = vae, name, calls

    def __getattr__(self, attr):
        return getattr(self.vae, attr)

    def decode(self, z):
        self.calls.append((self.name, "decode", tuple(z.shape)))
        return self.vae.decode(z)

    def encode(self, p):
        self.calls.append((self.name, "encode", tuple(p.shape)))
        return self.vae.encode(p)


def capture_inputs(model):
    """A clone whose diffusion-model calls record (x, timestep) as the model sees them."""
    seen, clone = [], model.clone()

    def wrapper(executor, x, timestep, *args, **kwargs):
        seen.append((x.detach().clone(), timestep.detach().clone()))
        return executor(x, timestep, *args, **kwargs)

    clone.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.DIFFUSION_MODEL, "test", wrapper)
    return clone, seen
