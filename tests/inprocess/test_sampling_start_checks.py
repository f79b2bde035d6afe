"""Conditionings a DiT patch cannot use are refused when sampling starts, before the first model call, as the
patcher node's error (NodeInputError naming node and parameter): the patcher sees the MODEL only, so what a
conditioning carries is known once the sampler has processed its conds (model_families.ConditioningCheck).

- "first+previous" appends keys, which a text attention mask does not cover: a conditioning with an
  attention mask (Qwen-Image hands it to its blocks) is refused by input 'anchor'; without one it samples;
- Z-Image Omni reference latents are refused on a Z-Image with cross-frame attention or the temporal shift.
"""
from __future__ import annotations

import inspect

import pytest
import torch

import nodes as comfy_nodes
from comfy_test_nodes import tiny_dit
from inprocess.helpers import counting
from vidlift.nodes.core.errors import NodeInputError
from vidlift.nodes.glue.model_families import adapter_for

NODE = "Cross-Frame Attention Patcher"


def need(model, capability):
    problem = adapter_for(model).missing(capability)
    if problem:
        pytest.skip(f"this ComfyUI: {problem}")


def ksample(model, positive, latent):
    negative = [[torch.zeros_like(positive[0][0]), {k: v for k, v in positive[0][1].items()}]]
    return comfy_nodes.common_ksampler(model, 1, 1, 2.0, "euler", "simple", positive, negative,
                                       {"samples": latent})[0]["samples"]


def text(extra=None, tokens=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [[torch.randn(1, tokens, 32, generator=g), dict(extra or {})]]


@pytest.fixture(scope="module")
def qwen():
    model = tiny_dit.qwen_image()
    if model is None:
        pytest.skip("this ComfyUI has no Qwen-Image")
    return model


def test_first_previous_with_a_text_mask_is_refused_before_the_first_step(qwen):
    need(qwen, "cross-frame attention")
    calls = []
    m = counting(adapter_for(qwen).install_cross_frame(qwen, "first+previous", node=NODE), calls, "dit")
    latent = torch.zeros(3, 16, 1, 8, 8)
    with pytest.raises(NodeInputError, match=f"^{NODE}: input 'anchor': .*first\\+previous.*mask"):
        ksample(m, text({"attention_mask": torch.ones(1, 5)}), latent)
    assert calls == []                                    # refused before any model call
    assert ksample(m, text(), latent).shape == latent.shape   # no mask: it samples
    assert calls


def test_first_with_a_text_mask_samples(qwen):
    need(qwen, "cross-frame attention")
    m = adapter_for(qwen).install_cross_frame(qwen, "first", node=NODE)
    latent = torch.zeros(3, 16, 1, 8, 8)
    assert ksample(m, text({"attention_mask": torch.ones(1, 5)}), latent).shape == latent.shape


@pytest.fixture(scope="module")
def zimage():
    model = tiny_dit.zimage()
    if model is None:
        pytest.skip("this ComfyUI has no Z-Image")
    return model


@pytest.mark.parametrize("mechanism", ["cross-frame attention", "temporal shift"])
def test_zimage_reference_latents_are_refused_before_the_first_step(zimage, mechanism):
    need(zimage, mechanism)
    if "ref_latents" not in inspect.getsource(type(zimage.model).extra_conds):
        pytest.skip("this ComfyUI's Lumina2 ignores reference latents (no Z-Image Omni)")
    adapter, calls = adapter_for(zimage), []
    install = adapter.install_cross_frame if mechanism == "cross-frame attention" else adapter.install_temporal_shift
    m = counting(install(zimage, node="Patcher"), calls, "dit")
    latent = torch.zeros(2, 16, 8, 8)
    with pytest.raises(NodeInputError, match="^Patcher: input 'model': Z-Image Omni reference latents"):
        ksample(m, text({"reference_latents": [torch.zeros(1, 16, 8, 8)]}), latent)
    assert calls == []
