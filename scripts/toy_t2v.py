"""The toy text-to-video model: the toy checkpoint + models/toy/vidlift-toy-t2v.safetensors through stock LoraLoader,
with the Temporal Shift Patcher at the settings written in the LoRA's metadata. Held-out prompts, sampling with
stock KSampler and the metrics the quality table, the demo and the regression test share.
"""
from __future__ import annotations

import itertools
import json
import os

import torch

import toy_model
from pack_import import pack_module
from toy_world import metrics, world

T2V = os.path.join(toy_model.ROOT, "models", "toy", "vidlift-toy-t2v.safetensors")
FRAMES, SIZE = 16, 64
SAMPLING = dict(sampler="ddim", scheduler="ddim_uniform", steps=20, cfg=3.0)


def held_out_prompts(count=8):
    """`count` prompts whose (colour, shape, background, direction) the training never saw, every direction
    equally often (train_toy_t2v.held_out)."""
    from train_toy_t2v import held_out
    by_direction = {d: [] for d in world.DIRECTIONS}
    for colour, shape, bg, d in itertools.product(world.PALETTE, world.SHAPES, world.PALETTE, world.DIRECTIONS):
        scene = world.Scene(colour, shape, bg, 8.0, (0, 0), extras={"direction": d})
        if colour != bg and held_out(scene):
            by_direction[d].append(world.motion_caption(scene))
    rotate = [lst[(7 * i) % len(lst):] + lst[:(7 * i) % len(lst)] for i, lst in enumerate(by_direction.values())]
    mixed = [p for group in zip(*rotate) for p in group]
    step = max(1, len(mixed) // count)
    return mixed[::step][:count]


def shift_settings(lora_path=T2V) -> dict:
    from safetensors import safe_open
    with safe_open(lora_path, "pt") as f:
        return json.loads(f.metadata()["vidlift_temporal_shift"])


def t2v_model(model, lora_path=T2V, shift=True, lora=True):
    """The toy T2V: model + LoRA (stock loader) + Temporal Shift Patcher; shift/lora False for the ablations."""
    import comfy.sd
    import comfy.utils
    patcher = pack_module("nodes.latent_shift").TemporalShiftPatcher
    if lora:
        sd = comfy.utils.load_torch_file(lora_path, safe_load=True)
        model = comfy.sd.load_lora_for_models(model, None, sd, 1.0, 0.0)[0]
    if shift:
        s = shift_settings(lora_path)
        model = patcher.execute(model, s["shift_fraction"], s["position"], s["boundary"], 1.0, True, True,
                                True).args[0]
    return model


def empty(frames=FRAMES):
    return {"samples": torch.zeros(frames, 4, SIZE // 8, SIZE // 8)}


def ksampler(model, positive, negative, seed, frames=FRAMES, **overrides):
    """Stock KSampler over a batch of `frames` frames (what the KSampler node does)."""
    import nodes
    s = dict(SAMPLING, **overrides)
    return nodes.common_ksampler(model, seed, s["steps"], s["cfg"], s["sampler"], s["scheduler"], positive,
                                 negative, empty(frames))[0]


def video_report(frames, caption) -> dict:
    """video_metrics + motion_metrics of decoded frames [F, H, W, 3]."""
    return {**metrics.video_metrics(frames, caption), **metrics.motion_metrics(frames, caption)}
