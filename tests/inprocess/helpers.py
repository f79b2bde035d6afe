"""Run a real ComfyUI model once through CFGGuider (the path KSampler takes) and read per-chunk outputs."""
from __future__ import annotations

import torch

import comfy.model_management
import comfy.model_patcher
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
