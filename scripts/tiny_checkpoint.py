"""A random-weight checkpoint of the SD1.x architecture family, for `make demo` without real weights.

ComfyUI's CheckpointLoaderSimple detects it as SD1.5 (U-Net with 320 channels and 768-d text
context, one resolution level instead of four), with a full-size random CLIP-L text encoder and a
TAESD decoder. Its frames are noise: it proves the pipeline, not the picture.
Usage: python scripts/tiny_checkpoint.py OUT.safetensors
"""
from __future__ import annotations

import sys
import zlib

import torch

UNET = {"image_size": 32, "in_channels": 4, "out_channels": 4, "model_channels": 320,
        "num_res_blocks": [1], "channel_mult": [1], "transformer_depth": [1], "transformer_depth_output": [1, 1],
        "transformer_depth_middle": 1, "context_dim": 768, "num_heads": 8, "num_head_channels": -1,
        "use_linear_in_transformer": False, "use_spatial_transformer": True, "legacy": False,
        "adm_in_channels": None, "use_temporal_attention": False, "use_temporal_resblock": False,
        "use_checkpoint": False}


def random_state_dict(module: torch.nn.Module, seed: int, std: float = 0.05) -> dict:
    """Norm weights 1, biases 0, everything else N(0, std²): a stable random network. Each tensor draws from its
    own generator seeded by (seed, name), so the weights do not depend on the order in which a ComfyUI version
    declares its modules: the toy model (scripts/toy_model.py) was trained on this CLIP's embeddings."""
    sd = {}
    for name, p in module.state_dict().items():
        g = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(name.encode()))
        if name.endswith("bias"):
            sd[name] = torch.zeros(p.shape)
        elif "norm" in name and p.ndim == 1:
            sd[name] = torch.ones(p.shape)
        else:
            sd[name] = torch.randn(p.shape, generator=g) * std
    return sd


def build(seed: int = 0) -> dict:
    import comfy.clip_model
    import comfy.ops
    import comfy.sd1_clip
    import comfy.taesd.taesd
    from comfy.ldm.modules.diffusionmodules.openaimodel import UNetModel
    import copy
    import json
    import os

    ops = comfy.ops.manual_cast
    unet = UNetModel(**copy.deepcopy(UNET), dtype=torch.float32, device="cpu", operations=ops)
    config = json.load(open(os.path.join(os.path.dirname(comfy.sd1_clip.__file__), "sd1_clip_config.json")))
    clip = comfy.clip_model.CLIPTextModel(config, dtype=torch.float32, device="cpu", operations=ops)
    vae = comfy.taesd.taesd.TAESD()
    sd = {}
    for prefix, module, s in (("model.diffusion_model.", unet, seed), ("cond_stage_model.transformer.", clip, seed + 1),
                              ("first_stage_model.", vae, seed + 2)):
        sd.update({prefix + k: v.half() for k, v in random_state_dict(module, s).items()})
    return sd


if __name__ == "__main__":
    from safetensors.torch import save_file
    from comfy_env import import_comfy
    import_comfy()
    save_file(build(), sys.argv[1], metadata={"vidlift": "random weights: frames are noise"})
