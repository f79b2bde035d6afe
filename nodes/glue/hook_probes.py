"""Hooks found by behaviour: a tiny model or block of ComfyUI's own class (or an attention function itself) runs once
with a probe where the hook reads its callable (compat.block_calls_patch); the probe stops the run when called.

Block hooks (attn1_patch, attn1_output_patch, the attention override) probe one block. The temporal shift's hooks sit
in whole models' forwards (Flux's `patches_replace["dit"][("double_block", i)]`, Qwen-Image's, NextDiT's
`patches["double_block"]` / `patches["noise_refiner"]`): those probe a tiny whole model with zero weights, built by
the class's constructor; the probe stops it at the first block, so only the input embeddings run. A whole-model
probe that cannot run on a future ComfyUI (its constructor changed) leaves the answer to the runtime guard
(dit_temporal_shift.ShiftCallGuard), which refuses after a first forward that never called the patches.
"""
from __future__ import annotations

import dataclasses

import torch

from .compat import block_calls_patch, comfy_class

TINY_WIDTH, TINY_HEADS, TINY_TOKENS = 32, 2, 3
FLUX_LAYERS, QWEN, LUMINA, KREA2 = ("comfy.ldm.flux.layers", "comfy.ldm.qwen_image.model", "comfy.ldm.lumina.model",
                                   "comfy.ldm.krea2.model")
FLUX = "comfy.ldm.flux.model:Flux"
OVERRIDE = "optimized_attention_override"


def _ops():
    import comfy.ops
    return comfy.ops.disable_weight_init


def _zeroed(module):
    for p in module.parameters():
        p.data.zero_()
    return module


def _tiny_block(cls, **kwargs):
    return _zeroed(cls(TINY_WIDTH, TINY_HEADS, 2.0, operations=_ops(), **kwargs))


def _identity_rope(tokens):
    """Flux's rotary table for `tokens` positions as the identity rotation: [1, 1, L, head_dim/2, 2, 2]."""
    return torch.eye(2).expand(1, 1, tokens, TINY_WIDTH // TINY_HEADS // 2, 2, 2).contiguous()


def _patches(probe, patch, **more):
    return {"patches": {patch: [probe]}, **more}


def _run_double(block, probe, patch):
    x = torch.zeros(1, TINY_TOKENS, TINY_WIDTH)
    block(img=x, txt=x.clone(), vec=torch.zeros(1, TINY_WIDTH), pe=_identity_rope(2 * TINY_TOKENS),
          transformer_options=_patches(probe, patch))


def _run_single(block, probe, patch):
    block(torch.zeros(1, TINY_TOKENS, TINY_WIDTH), vec=torch.zeros(1, TINY_WIDTH), pe=_identity_rope(TINY_TOKENS),
          transformer_options=_patches(probe, patch))


def _tiny_qwen_attention(cls):
    return cls(TINY_WIDTH, dim_head=TINY_WIDTH // TINY_HEADS, heads=TINY_HEADS, operations=_ops())


def _run_qwen_attention(block, probe, patch):
    x = torch.zeros(1, TINY_TOKENS, TINY_WIDTH)
    block(x, encoder_hidden_states=x.clone(), image_rotary_emb=_identity_rope(2 * TINY_TOKENS),
          transformer_options=_patches(probe, patch))


def _tiny_krea2_attention(cls):
    return cls(TINY_WIDTH, TINY_HEADS, operations=_ops())


def _run_krea2_attention(block, probe, patch):
    block(torch.zeros(1, TINY_TOKENS, TINY_WIDTH), transformer_options=_patches(probe, patch, block_index=0))


def _run_attention_function(attention, probe, override):
    """An attention function (Lumina's optimized_attention_masked) given the override in transformer_options."""
    q = torch.zeros(1, TINY_HEADS, TINY_TOKENS, TINY_WIDTH // TINY_HEADS)
    attention(q, q, q, TINY_HEADS, skip_reshape=True, transformer_options={override: probe})


# ---- whole models: one double block (and one single), width 32, 2 heads, patch 2 over a 2×2 latent ----
def _tiny_flux(cls):
    params = comfy_class("comfy.ldm.flux.model:FluxParams")
    fields = {f.name for f in dataclasses.fields(params)} if params is not None else set()
    config = dict(in_channels=16, out_channels=16, vec_in_dim=TINY_WIDTH, context_in_dim=TINY_WIDTH,
                  hidden_size=TINY_WIDTH, mlp_ratio=2.0, num_heads=TINY_HEADS, depth=1, depth_single_blocks=1,
                  axes_dim=[4, 6, 6], theta=10000, patch_size=2, qkv_bias=True, guidance_embed=False, txt_ids_dims=[])
    return _zeroed(cls(operations=_ops(), **{k: v for k, v in config.items() if k in fields}))


def _run_flux(model, probe, patch):
    model(torch.zeros(1, 16, 2, 2), torch.zeros(1), torch.zeros(1, 1, TINY_WIDTH), y=torch.zeros(1, TINY_WIDTH),
          transformer_options={"patches_replace": {"dit": {(patch, 0): probe}}})


def _tiny_qwen(cls):
    return _zeroed(cls(patch_size=2, in_channels=64, out_channels=16, num_layers=1, attention_head_dim=16,
                       num_attention_heads=TINY_HEADS, joint_attention_dim=TINY_WIDTH, axes_dims_rope=(4, 6, 6),
                       operations=_ops()))


def _run_qwen(model, probe, patch):
    model(torch.zeros(1, 16, 1, 2, 2), torch.zeros(1), torch.zeros(1, 1, TINY_WIDTH),
          transformer_options={"patches_replace": {"dit": {(patch, 0): probe}}})


def _tiny_nextdit(cls):
    return _zeroed(cls(patch_size=2, in_channels=16, dim=256, n_layers=1, n_refiner_layers=1, n_heads=8, n_kv_heads=8,
                       multiple_of=16, qk_norm=True, cap_feat_dim=TINY_WIDTH, axes_dims=[8, 12, 12],
                       axes_lens=[64, 32, 32], z_image_modulation=True, time_scale=1000.0, pad_tokens_multiple=32,
                       operations=_ops()))


def _run_nextdit(model, probe, patch):
    model(torch.zeros(1, 16, 2, 2), torch.zeros(1), torch.zeros(1, 1, TINY_WIDTH), 1,
          transformer_options=_patches(probe, patch))


PROBES = {(f"{FLUX_LAYERS}:DoubleStreamBlock", "attn1_patch"): (lambda c: _tiny_block(c, qkv_bias=True), _run_double),
          (f"{FLUX_LAYERS}:SingleStreamBlock", "attn1_patch"): (_tiny_block, _run_single),
          (f"{QWEN}:Attention", "attn1_patch"): (_tiny_qwen_attention, _run_qwen_attention),
          (f"{KREA2}:Attention", "attn1_patch"): (_tiny_krea2_attention, _run_krea2_attention),
          (f"{KREA2}:Attention", "attn1_output_patch"): (_tiny_krea2_attention, _run_krea2_attention),
          (f"{LUMINA}:optimized_attention_masked", OVERRIDE): (lambda f: f, _run_attention_function),
          (FLUX, "double_block"): (_tiny_flux, _run_flux),
          (f"{QWEN}:QwenImageTransformer2DModel", "double_block"): (_tiny_qwen, _run_qwen),
          (f"{LUMINA}:NextDiT", "double_block"): (_tiny_nextdit, _run_nextdit),
          (f"{LUMINA}:NextDiT", "noise_refiner"): (_tiny_nextdit, _run_nextdit)}
# hooks read inside a whole model's forward: a probe that cannot run there defers to the runtime guard
WHOLE_MODEL = frozenset(k for k, (build, _) in PROBES.items() if build in (_tiny_flux, _tiny_qwen, _tiny_nextdit))


def probe_hook(found, path: str, word: str):
    """The probe's answer for a class or function (True / False), None when the hook has no probe or it cannot run."""
    probe = PROBES.get((path, word))
    return None if probe is None or found is None else block_calls_patch(found, *probe, word)
