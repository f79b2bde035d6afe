"""The toy-world model: a tiny SD1.x checkpoint whose U-Net and VAE decoder are trained on toy images.

Pieces, all in ComfyUI's own classes so that stock Load Checkpoint reads the result as SD1.5:
- Latent: fixed, not learned (so the VAE's encoder is exact and its decoder trains in minutes). z = the image in 0..1 average-pooled 8x, mapped
  to 4 channels: the pooled colour in -1..1 and its luminance (a fourth channel that carries signal). The TAESD
  encoder computes it exactly with analytic weights; vae_scale = SD1.5's latent scale so that the U-Net, which sees
  latent × 0.18215, sees z itself (values in -1..1, what the DDPM schedule expects).
- VAE decoder: comfy.taesd.taesd.Decoder, trained (train_toy_model.py) to turn z back into the image.
- Text encoder: the seeded random CLIP-L of scripts/tiny_checkpoint.py; prompts still map to distinct embeddings.
- U-Net: tiny_checkpoint.UNET (320 channels, 768-d context, one level), eps-prediction, scaled-linear DDPM betas.
Shipped form (delivery (b) in docs/toy_model.md): models/toy/vidlift-toy-sd15.safetensors holds only the trained
weights — U-Net in float8_e4m3fn with one scale per tensor, decoder in fp16 — and `assemble` adds the analytic
encoder and the random CLIP to write the full checkpoint that ComfyUI loads.
"""
from __future__ import annotations

import os

import torch
from torch.nn import functional as F

from tiny_checkpoint import UNET, random_state_dict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = os.path.join(ROOT, "models", "toy", "vidlift-toy-sd15.safetensors")
FACTOR = 8
LATENT_CHANNELS = 4
SD15_SCALE = 0.18215  # comfy.latent_formats.SD15.scale_factor
# z = MIX @ pooled_rgb01 + OFFSET: colour to -1..1, plus luminance.
MIX = torch.tensor([[2.0, 0, 0], [0, 2.0, 0], [0, 0, 2.0], [2 / 3, 2 / 3, 2 / 3]])
OFFSET = torch.full((4,), -1.0)
SHAPE_WORDS = {"disk": ("disk", "ball"), "square": ("square",), "triangle": ("triangle",)}
DEMO_PROMPT = "a red ball on a blue background"


def encode(images):
    """[B,H,W,3] in 0..1 -> fixed latent z [B,4,H/8,W/8] (the module docstring)."""
    pooled = F.avg_pool2d(images.permute(0, 3, 1, 2), FACTOR)
    return torch.einsum("oc,bchw->bohw", MIX.to(pooled), pooled) + OFFSET.to(pooled).view(1, -1, 1, 1)


def captions():
    """Every caption the model is trained on: colour × shape word × background colour, and "" for the unconditional
    branch of classifier-free guidance (the demo's negative prompt)."""
    from toy_world.world import PALETTE
    out = [""]
    for obj in PALETTE:
        for words in SHAPE_WORDS.values():
            for word in words:
                out += [f"a {obj} {word} on a {bg} background" for bg in PALETTE if bg != obj]
    return out


def init_weights(module, zero_out=()):
    """PyTorch's default init for ComfyUI modules, whose ops skip it (comfy.ops.disable_weight_init); the names in
    zero_out start at zero (LDM's zero_module: the U-Net's output conv), so training starts from eps ≈ 0."""
    from torch import nn
    for m in module.modules():
        for base in (nn.Linear, nn.Conv2d, nn.GroupNorm, nn.LayerNorm):
            if isinstance(m, base):
                base.reset_parameters(m)
                break
    for name in zero_out:
        for p in module.get_submodule(name).parameters():
            torch.nn.init.zeros_(p)
    return module


def new_unet(seed=0, **config):
    """The SD1.x U-Net of tiny_checkpoint.UNET (`config` overrides it: tests use a narrower one), freshly
    initialised from `seed`, fp32 on CPU."""
    import copy
    import comfy.ops
    from comfy.ldm.modules.diffusionmodules.openaimodel import UNetModel
    torch.manual_seed(seed)
    unet = UNetModel(**{**copy.deepcopy(UNET), **config}, dtype=torch.float32, device="cpu",
                     operations=comfy.ops.disable_weight_init)
    return init_weights(unet, zero_out=("out.2",))


def new_decoder(seed=0):
    import comfy.taesd.taesd
    torch.manual_seed(seed)
    return init_weights(comfy.taesd.taesd.Decoder(LATENT_CHANNELS))


def analytic_encoder():
    """comfy.taesd.taesd.Encoder whose weights compute encode() exactly on images in 0..1: every Block's convs are
    zero, so a Block is ReLU (identity on non-negative input); each stride-2 conv averages the 2×2 block under its
    taps (1..2, 1..2); the first conv copies RGB into channels 0-2 and the last applies MIX and OFFSET."""
    import comfy.taesd.taesd
    enc = comfy.taesd.taesd.Encoder(LATENT_CHANNELS)
    with torch.no_grad():
        for p in enc.parameters():
            p.zero_()
        for c in range(3):
            enc[0].weight[c, c, 1, 1] = 1.0
            for i in (2, 6, 10):
                enc[i].weight[c, c, 1:, 1:] = 0.25
        enc[14].weight[:, :3, 1, 1] = MIX
        enc[14].bias.copy_(OFFSET)
    return enc


def vae_state_dict(decoder_sd):
    """TAESD-layout VAE state dict (keys as in comfy.taesd.taesd.TAESD) from a trained decoder's state dict."""
    sd = {"taesd_encoder." + k: v for k, v in analytic_encoder().state_dict().items()}
    sd.update({"taesd_decoder." + k: v for k, v in decoder_sd.items()})
    sd["vae_scale"], sd["vae_shift"] = torch.tensor(SD15_SCALE), torch.tensor(0.0)
    return sd


def clip_state_dict(seed=1):
    """The seeded random CLIP-L of the demo checkpoint (tiny_checkpoint.build uses seed 1 for it)."""
    import json
    import comfy.clip_model
    import comfy.ops
    import comfy.sd1_clip
    config = json.load(open(os.path.join(os.path.dirname(comfy.sd1_clip.__file__), "sd1_clip_config.json")))
    clip = comfy.clip_model.CLIPTextModel(config, dtype=torch.float32, device="cpu", operations=comfy.ops.manual_cast)
    return random_state_dict(clip, seed)


def checkpoint_state_dict(unet_sd, decoder_sd, clip_seed=1):
    """The full SD1.x checkpoint (fp16) that CheckpointLoaderSimple loads."""
    sd = {}
    for prefix, part in (("model.diffusion_model.", unet_sd), ("cond_stage_model.transformer.", clip_state_dict(clip_seed)),
                         ("first_stage_model.", vae_state_dict(decoder_sd))):
        sd.update({prefix + k: v.to(torch.float16).contiguous() for k, v in part.items()})
    return sd


def load_comfy_checkpoint(sd):
    """(model patcher, CLIP, VAE) from a checkpoint state dict, through ComfyUI's own loader."""
    import comfy.sd
    out = comfy.sd.load_state_dict_guess_config(sd, output_vae=True, output_clip=True, embedding_directory=None)
    return out[0], out[1], out[2]


def encode_captions(texts, clip):
    """{caption: context [77, 768] float32} through ComfyUI's CLIP, exactly as CLIPTextEncode encodes a prompt."""
    out = {}
    for text in texts:
        cond = clip.encode_from_tokens(clip.tokenize(text))
        out[text] = cond[0].float()
    return out


def pack(unet_sd, decoder_sd):
    """Shipped form: U-Net tensors of ≥ 2 dims as float8_e4m3fn scaled so that their absmax is 448 (unscaled, most
    weights would fall into fp8's subnormal range) with the scale under KEY + '.scale'; the rest in fp16."""
    out = {}
    for k, v in unet_sd.items():
        if v.ndim >= 2:
            scale = v.abs().max().clamp_min(1e-12) / 448.0
            out["unet." + k] = (v / scale).to(torch.float8_e4m3fn)
            out["unet." + k + ".scale"] = scale.float().reshape(1)
        else:
            out["unet." + k] = v.to(torch.float16)
    out.update({"decoder." + k: v.to(torch.float16) for k, v in decoder_sd.items()})
    return out


def unpack(packed):
    """(unet_sd, decoder_sd) in fp32 from pack()'s dict."""
    unet, dec = {}, {}
    for k, v in packed.items():
        if k.endswith(".scale"):
            continue
        if k.startswith("unet."):
            scale = packed.get(k + ".scale")
            unet[k[5:]] = v.float() * scale if scale is not None else v.float()
        elif k.startswith("decoder."):
            dec[k[8:]] = v.float()
    return unet, dec


def assemble(out_path, shipped=SHIPPED):
    """Write the full ComfyUI checkpoint from the shipped file (demo.py calls this once; the result is cached)."""
    from safetensors.torch import load_file, save_file
    unet_sd, decoder_sd = unpack(load_file(shipped))
    save_file(checkpoint_state_dict(unet_sd, decoder_sd), out_path,
              metadata={"vidlift": "toy-world model: red/green/blue/yellow/white/black disks, squares, "
                                   "triangles on plain backgrounds, 64x64; see docs/toy_model.md"})


def ensure_checkpoint(path, shipped=SHIPPED, log=print):
    """Assemble the full checkpoint at `path` unless a copy newer than the shipped file is there; returns path."""
    if not os.path.exists(path) or os.path.getmtime(path) < os.path.getmtime(shipped):
        log(f"[toy] assembling the toy checkpoint from {os.path.relpath(shipped, ROOT)} (300 MB)")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        assemble(path, shipped)
    return path


def load_toy(path):
    """(model, clip, vae) of the toy checkpoint at `path` (assembled if needed), through ComfyUI's loader."""
    import comfy.sd
    out = comfy.sd.load_checkpoint_guess_config(ensure_checkpoint(path), output_vae=True, output_clip=True)
    return out[0], out[1], out[2]


def conditioning(clip, text):
    """What stock CLIPTextEncode outputs for `text`."""
    cond, pooled = clip.encode_from_tokens(clip.tokenize(text), return_pooled=True)
    return [[cond, {"pooled_output": pooled}]]


if __name__ == "__main__":  # python scripts/toy_model.py OUT.safetensors: the full checkpoint (demo.py runs this)
    import sys
    from comfy_env import import_comfy
    import_comfy(cpu=True)
    ensure_checkpoint(sys.argv[1])

__all__ = ["encode", "captions", "new_unet", "new_decoder", "analytic_encoder", "checkpoint_state_dict", "pack",
           "unpack", "assemble", "ensure_checkpoint", "load_toy", "conditioning", "encode_captions",
           "load_comfy_checkpoint", "DEMO_PROMPT"]
