"""Every access the pack makes to a part of ComfyUI that is not a public extension point, in one place.

Each function names what it relies on; tests/inprocess/test_compat.py checks each against the running ComfyUI, so an
upgrade that changes one fails there, by name, rather than somewhere in a sampler. Nothing here compares versions:
a missing piece is found by its absence (None / False), and the caller says what the node cannot do then.
"""
from __future__ import annotations

import contextlib
import functools
import importlib

import comfy.model_management as mm
import torch


def comfy_class(path: str):
    """'module:Class' from the running ComfyUI, or None when it has no such class."""
    module, name = path.split(":")
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:                 # this ComfyUI has no such module
        return None


class _Probed(Exception):
    """Raised by a probe patch to stop the probed block at the hook."""


@functools.lru_cache(maxsize=None)
def block_calls_patch(block_class, build, call, patch: str):
    """Does a block of `block_class` call the hook `patch`? Found by behaviour: `build(cls)` makes a tiny block of
    that class (or returns the function itself), `call(block, probe, patch)` runs it once with `probe` where the
    hook reads its callable (transformer_options["patches"][patch], or transformer_options[patch] for an override),
    and the probe stops the run when called. True / False from that run; None when the probe itself cannot run
    (the class takes other arguments on this ComfyUI). Cached per class."""
    def probe(*args, **kwargs):
        raise _Probed()
    try:
        block = build(block_class)
    except Exception:               # noqa: BLE001 - the class's constructor differs: no probe possible
        return None
    try:
        with torch.no_grad():
            call(block, probe, patch)
    except _Probed:
        return True
    except Exception:               # noqa: BLE001 - the block failed elsewhere: the probe says nothing
        return None
    return False


def reads_denoise_mask(model_base_class) -> bool:
    """Does the model_base turn `denoise_mask` into per-frame timesteps (WAN22, LTXV)? Relies on: the parameter
    name of `process_timestep`, the only place the mask reaches the timestep."""
    return "denoise_mask" in getattr(model_base_class.process_timestep, "__code__").co_varnames


def first_stage(vae):
    """The VAE's own autoencoder module (VAE.first_stage_model): its decoder class and its one-call decode."""
    return vae.first_stage_model


def guider_of(sampler_model):
    """The guider running a KSAMPLER sampler function, from the `model` ComfyUI hands that function: KSAMPLER.sample
    wraps the guider in KSamplerX0Inpaint as `inner_model`."""
    return sampler_model.inner_model


def processed_positive(guider) -> list:
    """The guider's processed positive conds while it samples (`guider.conds["positive"]`, a list of dicts; ComfyUI's
    own TrainSampler selects entries of it per batch)."""
    return guider.conds["positive"]


def set_processed_positive(guider, entries: list) -> None:
    guider.conds["positive"] = entries


def processed_model_conds(guider):
    """Every processed cond's `model_conds` (the keyword arguments the diffusion model will get: "attention_mask",
    "ref_latents", …), from the guider a SAMPLER_SAMPLE wrapper is handed: `guider.conds` after process_conds."""
    for entries in (getattr(guider, "conds", None) or {}).values():
        for entry in entries:
            yield entry.get("model_conds") or {}


@contextlib.contextmanager
def training_switch():
    """ComfyUI's switch for a training run (`model_management.in_training`, set by its LoRA trainer): layers whose
    fast kernel has no backward take their differentiable path. Restored on every exit; absent switch, no-op."""
    if not hasattr(mm, "in_training"):
        yield
        return
    saved, mm.in_training = mm.in_training, True
    try:
        yield
    finally:
        mm.in_training = saved


def window_state(handler, x_in, conds, model):
    """IndexListContextHandler's per-call window state (`_build_window_state`, and the `_model` it reads), which
    `evaluate_context_windows` takes; the public handler builds it only inside its own `execute`."""
    handler._model = model
    return handler._build_window_state(x_in, conds, model)
