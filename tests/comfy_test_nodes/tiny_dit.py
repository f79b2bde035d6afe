"""Tiny random-weight DiTs of the real ComfyUI classes (Flux, Qwen-Image, Z-Image, Krea 2) in a chosen dtype, for tests."""
from __future__ import annotations

import copy
import dataclasses

import torch

from .tiny import TINY_DIT, random_state_dict

TINY_QWEN = {"image_model": "qwen_image", "patch_size": 2, "in_channels": 64, "out_channels": 16, "num_layers": 2,
             "attention_head_dim": 16, "num_attention_heads": 2, "joint_attention_dim": 32,
             "axes_dims_rope": [4, 6, 6]}
# Z-Image's layout (z_image_modulation, captions and images padded to 32 tokens, two refiners); width 256 is
# the least z_image_modulation allows (its adaLN input is min(dim, 256) wide, the timestep embedding 256)
TINY_ZIMAGE = {"image_model": "lumina2", "patch_size": 2, "in_channels": 16, "dim": 256, "cap_feat_dim": 32,
               "n_layers": 2, "n_refiner_layers": 2, "n_heads": 8, "n_kv_heads": 8, "multiple_of": 16,
               "ffn_dim_multiplier": 8.0 / 3.0, "qk_norm": True, "axes_dims": [8, 12, 12],
               "axes_lens": [64, 32, 32], "rope_theta": 256.0, "z_image_modulation": True, "time_scale": 1000.0,
               "pad_tokens_multiple": 32}
# Krea 2 with GQA as in the release (2 query heads, 1 key/value head; head width 32 → RoPE axes [8, 12, 12]);
# its conditioning is txtlayers·txtdim = 32 wide, as the other tiny DiTs take
TINY_KREA2 = {"image_model": "krea2", "features": 64, "tdim": 32, "txtdim": 16, "heads": 2, "kvheads": 1,
              "multiplier": 2, "layers": 2, "patch": 2, "channels": 16, "txtlayers": 2, "txtheads": 2, "txtkvheads": 1}


def _patcher(cfg, dtype, seed, std=0.05):
    import comfy.model_management as mm
    import comfy.model_patcher
    cfg.set_inference_dtype(dtype, None)
    base = cfg.get_model({}, "")
    base.diffusion_model.load_state_dict(random_state_dict(base.diffusion_model, seed, std))
    base.diffusion_model.to(dtype)
    return comfy.model_patcher.ModelPatcher(base, load_device=mm.get_torch_device(),
                                            offload_device=mm.unet_offload_device())


def flux(seed: int = 3, dtype=torch.float32, **overrides):
    """A tiny Flux; `overrides` change its config (e.g. hidden_size, depth for a bench-sized one)."""
    import comfy.supported_models
    from comfy.ldm.flux.model import FluxParams
    config = {**copy.deepcopy(TINY_DIT), **overrides}
    if "txt_ids_dims" in {f.name for f in dataclasses.fields(FluxParams)}:
        config["txt_ids_dims"] = []
    return _patcher(comfy.supported_models.Flux(config), dtype, seed)


# Chroma (Flux's blocks, modulations from a small approximator network instead of the timestep MLPs)
TINY_CHROMA = {"image_model": "chroma", "in_channels": 64, "out_channels": 64, "context_in_dim": 32, "hidden_size": 64,
               "mlp_ratio": 2.0, "num_heads": 2, "depth": 1, "depth_single_blocks": 1, "axes_dim": [8, 12, 12],
               "theta": 10000, "patch_size": 2, "qkv_bias": True, "in_dim": 64, "out_dim": 64, "hidden_dim": 64,
               "n_layers": 1, "txt_ids_dims": [], "vec_in_dim": 32}


def chroma(seed: int = 9, dtype=torch.float32):
    """A tiny Chroma (comfy.ldm.chroma.model.Chroma); None on a ComfyUI without it."""
    import comfy.supported_models
    if not hasattr(comfy.supported_models, "Chroma"):
        return None
    from comfy.ldm.chroma.model import ChromaParams
    fields = {f.name for f in dataclasses.fields(ChromaParams)} | {"image_model"}
    config = {k: v for k, v in copy.deepcopy(TINY_CHROMA).items() if k in fields}
    return _patcher(comfy.supported_models.Chroma(config), dtype, seed)


def qwen_image(seed: int = 5, dtype=torch.float32, std: float = 0.05):
    """std: the random weights' scale (at 0.05 the tiny Qwen's attention is nearly uniform over the tokens)."""
    import comfy.supported_models
    return _patcher(comfy.supported_models.QwenImage(copy.deepcopy(TINY_QWEN)), dtype, seed, std)


def zimage(seed: int = 7, dtype=torch.float32):
    import comfy.supported_models
    return _patcher(comfy.supported_models.ZImage(copy.deepcopy(TINY_ZIMAGE)), dtype, seed)


def krea2(seed: int = 11, dtype=torch.float32):
    """None on a ComfyUI without Krea 2 (before v0.26)."""
    import comfy.supported_models
    if not hasattr(comfy.supported_models, "Krea2"):
        return None
    return _patcher(comfy.supported_models.Krea2(copy.deepcopy(TINY_KREA2)), dtype, seed)


def flux_class():
    from comfy.ldm.flux.model import Flux
    return Flux


# Wan 2.1 T2V (1.3B's layout, 2 layers of width 32; the text embedding reads the tiny CLIP's 32-wide conditioning);
# Wan 2.2 TI2V 5B's model class (WAN22, 48-channel latents) is the same WanModel at in/out 48
TINY_WAN = {"image_model": "wan2.1", "model_type": "t2v", "patch_size": (1, 2, 2), "in_dim": 16, "dim": 32,
            "ffn_dim": 64, "freq_dim": 32, "text_dim": 32, "out_dim": 16, "num_heads": 2, "num_layers": 2,
            "window_size": (-1, -1), "qk_norm": True, "cross_attn_norm": True, "eps": 1e-6}


def wan21(seed: int = 13, dtype=torch.float32):
    """A tiny Wan 2.1 T2V (comfy.ldm.wan.model.WanModel in a WAN21 BaseModel: FLOW, shift 8, Wan21 latents)."""
    import comfy.supported_models
    return _patcher(comfy.supported_models.WAN21_T2V(copy.deepcopy(TINY_WAN)), dtype, seed)


def wan22(seed: int = 17, dtype=torch.float32):
    """A tiny Wan 2.2 TI2V 5B (WAN22: per-frame timesteps from denoise_mask, 48-channel Wan22 latents)."""
    import comfy.supported_models
    return _patcher(comfy.supported_models.WAN22_T2V({**copy.deepcopy(TINY_WAN), "in_dim": 48, "out_dim": 48}),
                    dtype, seed)


# LTX-Video (comfy.ldm.lightricks LTXVModel in an LTXV BaseModel: ModelType.FLUX, shift 2.37, 128-channel LTXV latents
# at /32 × 8n+1): 2 layers of width 32 (2 heads of 16); cross-attention reads the caption projection's output, so
# cross_attention_dim = the width, and the caption is the tiny CLIP's 32-wide conditioning
TINY_LTXV = {"image_model": "ltxv", "in_channels": 128, "cross_attention_dim": 32, "attention_head_dim": 16,
             "num_attention_heads": 2, "caption_channels": 32, "num_layers": 2}
# HunyuanVideo 1.5 (HunyuanVideo in a HunyuanVideo15 BaseModel: FLOW, shift 7, 32-channel latents at /16 × 4n+1):
# the release's layout (patch 1, 32 noise + 32 concat-image + 1 mask input channels, cond-type embedding, no
# vector_in) at width 64 (2 heads of 32 → RoPE axes [8, 12, 12]), one double and one single block
TINY_HUNYUAN15 = {"image_model": "hunyuan_video", "in_channels": 65, "out_channels": 32, "vec_in_dim": None,
                  "context_in_dim": 32, "hidden_size": 64, "mlp_ratio": 2.0, "num_heads": 2, "depth": 1,
                  "depth_single_blocks": 1, "axes_dim": [8, 12, 12], "theta": 256, "patch_size": [1, 1, 1],
                  "qkv_bias": True, "guidance_embed": False, "byt5": False, "meanflow": False,
                  "use_cond_type_embedding": True, "vision_in_dim": None}


def ltxv(seed: int = 19, dtype=torch.float32):
    """A tiny LTX-Video (comfy.model_base.LTXV: per-token timesteps from denoise_mask)."""
    import comfy.supported_models
    return _patcher(comfy.supported_models.LTXV(copy.deepcopy(TINY_LTXV)), dtype, seed)


def hunyuan_video15(seed: int = 23, dtype=torch.float32):
    """A tiny HunyuanVideo 1.5 T2V (comfy.model_base.HunyuanVideo15)."""
    import comfy.supported_models
    from comfy.ldm.hunyuan_video.model import HunyuanVideoParams
    config = copy.deepcopy(TINY_HUNYUAN15)
    if "meanflow_sum" in {f.name for f in dataclasses.fields(HunyuanVideoParams)}:   # newer ComfyUI
        config["meanflow_sum"] = False
    return _patcher(comfy.supported_models.HunyuanVideo15(config), dtype, seed)


def hunyuan_video(seed: int = 29, dtype=torch.float32):
    """A tiny HunyuanVideo 1.0 (comfy.model_base.HunyuanVideo: 16-channel latents, patch 1×2×2): a video family no
    VidLift video adapter lists, which the nodes must refuse by name."""
    import comfy.supported_models
    from comfy.ldm.hunyuan_video.model import HunyuanVideoParams
    config = {**copy.deepcopy(TINY_HUNYUAN15), "in_channels": 16, "out_channels": 16, "patch_size": [1, 2, 2],
              "use_cond_type_embedding": False}
    if "meanflow_sum" in {f.name for f in dataclasses.fields(HunyuanVideoParams)}:
        config["meanflow_sum"] = False
    return _patcher(comfy.supported_models.HunyuanVideo(config), dtype, seed)
