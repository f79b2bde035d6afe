"""Tiny random-weight models of the real architectures (ComfyUI's own classes), for tests only.

The U-Net is ComfyUI's UNetModel in an SD1.5 model config (eps prediction, SD1.5 schedule and
latent format) with 32 channels and two levels; the text encoder is ComfyUI's SD1 CLIP with the
real tokenizer and 2 small layers; the VAE is ComfyUI's AutoencoderKL with 32 base channels.
"""
from __future__ import annotations

import copy
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
from tiny_checkpoint import random_state_dict  # noqa: E402

TINY_UNET = {"image_size": 32, "in_channels": 4, "out_channels": 4, "model_channels": 32,
             "num_res_blocks": [1, 1], "channel_mult": [1, 2], "transformer_depth": [1, 1],
             "transformer_depth_output": [1, 1, 1, 1], "transformer_depth_middle": 1, "context_dim": 32,
             "use_linear_in_transformer": False, "use_spatial_transformer": True, "legacy": False,
             "adm_in_channels": None, "use_temporal_attention": False, "use_temporal_resblock": False,
             "use_checkpoint": False}
TINY_CLIP = {"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2, "num_hidden_layers": 2,
             "projection_dim": 32}
TINY_VAE = {"double_z": True, "z_channels": 4, "resolution": 64, "in_channels": 3, "out_ch": 3, "ch": 32,
            "ch_mult": [1, 2, 2, 2], "num_res_blocks": 1, "attn_resolutions": [], "dropout": 0.0}


def unet_model(seed: int = 0, config: dict = TINY_UNET, dtype=torch.float32):
    """A ModelPatcher around an SD1.5-config BaseModel with a tiny random U-Net (weights in `dtype`)."""
    import comfy.model_management as mm
    import comfy.model_patcher
    import comfy.supported_models
    cfg = comfy.supported_models.SD15(copy.deepcopy(config))
    cfg.set_inference_dtype(dtype, None)
    base = cfg.get_model({}, "")
    base.diffusion_model.load_state_dict(random_state_dict(base.diffusion_model, seed))
    as_dtype(base, dtype)
    return comfy.model_patcher.ModelPatcher(base, load_device=mm.get_torch_device(),
                                            offload_device=mm.unet_offload_device())


TINY_DIT = {"image_model": "flux", "in_channels": 16, "out_channels": 16, "vec_in_dim": 32, "context_in_dim": 32,
            "hidden_size": 64, "mlp_ratio": 2.0, "num_heads": 2, "depth": 1, "depth_single_blocks": 1,
            "axes_dim": [8, 12, 12], "theta": 10000, "patch_size": 2, "qkv_bias": True, "guidance_embed": False}


def dit_model(seed: int = 3):
    """A real (tiny) Flux DiT as ComfyUI builds it: a model our U-Net mechanisms must refuse."""
    import comfy.model_management as mm
    import comfy.model_patcher
    import comfy.supported_models
    import dataclasses
    from comfy.ldm.flux.model import FluxParams
    config = copy.deepcopy(TINY_DIT)
    if "txt_ids_dims" in {f.name for f in dataclasses.fields(FluxParams)}:  # newer ComfyUI
        config["txt_ids_dims"] = []
    cfg = comfy.supported_models.Flux(config)
    cfg.set_inference_dtype(torch.float32, None)
    base = cfg.get_model({}, "")
    base.diffusion_model.load_state_dict(random_state_dict(base.diffusion_model, seed))
    return comfy.model_patcher.ModelPatcher(base, load_device=mm.get_torch_device(),
                                            offload_device=mm.unet_offload_device())


def unsupported_model(seed: int = 4):
    """A real (tiny) SD3 MMDiT: a model family no VidLift adapter serves, which every node must refuse by name."""
    import comfy.model_management as mm
    import comfy.model_patcher
    import comfy.supported_models
    cfg = comfy.supported_models.SD3({"in_channels": 16, "depth": 1, "pos_embed_max_size": 8, "num_patches": 64,
                                      "patch_size": 2, "adm_in_channels": 32, "pos_embed_scaling_factor": None,
                                      "context_embedder_config": {"target": "torch.nn.Linear",
                                                                  "params": {"in_features": 32, "out_features": 64}}})
    cfg.set_inference_dtype(torch.float32, None)
    base = cfg.get_model({}, "")
    base.diffusion_model.load_state_dict(random_state_dict(base.diffusion_model, seed))
    return comfy.model_patcher.ModelPatcher(base, load_device=mm.get_torch_device(),
                                            offload_device=mm.unet_offload_device())


def as_dtype(base, dtype):
    """The diffusion model's weights in `dtype` (loading a state dict keeps a module's own dtype)."""
    base.diffusion_model.to(dtype)
    base.diffusion_model.dtype = dtype


def clip_model(seed: int = 1):
    """A real comfy.sd.CLIP (SD1 tokenizer + CLIP text model) at hidden size 32."""
    import comfy.sd
    import comfy.sd1_clip
    import comfy.supported_models_base
    target = comfy.supported_models_base.ClipTarget(comfy.sd1_clip.SD1Tokenizer, comfy.sd1_clip.SD1ClipModel)
    clip = comfy.sd.CLIP(target, model_options={"clip_l_model_config": dict(TINY_CLIP)})
    clip.cond_stage_model.load_state_dict(random_state_dict(clip.cond_stage_model, seed, std=0.02))
    return clip


def vae_model(seed: int = 2):
    import comfy.sd
    from comfy.ldm.models.autoencoder import AutoencoderKL
    params = {"embed_dim": 4, "ddconfig": dict(TINY_VAE)}
    sd = random_state_dict(AutoencoderKL(**copy.deepcopy(params)), seed)
    return comfy.sd.VAE(sd=sd, config={"params": copy.deepcopy(params)})


def flux_vae_model(seed: int = 5, channels: int = 16):
    """A comfy.sd.VAE with 16 latent channels (Flux / Z-Image latent space): a random TAESD state dict, which
    comfy.sd.VAE recognises by its taesd_decoder.* keys and sizes by taesd_decoder.1.weight."""
    import comfy.sd
    from comfy.taesd.taesd import TAESD
    sd = random_state_dict(TAESD(latent_channels=channels), seed)
    sd.update(vae_scale=torch.tensor(1.0), vae_shift=torch.tensor(0.0))
    return comfy.sd.VAE(sd=sd)


def wan21_vae_model(seed: int = 6, dim: int = 8):
    """A comfy.sd.VAE that is a Wan 2.1 VAE (Qwen-Image's latent space: 16 channels, 5-D latents) at width `dim`:
    a random state dict of ComfyUI's WanVAE in the layout comfy.sd.VAE reads from decoder.middle.* and sizes by
    decoder.head.0.gamma."""
    import comfy.sd
    from comfy.ldm.wan.vae import WanVAE
    layout = {"dim": dim, "z_dim": 16, "dim_mult": [1, 2, 4, 4], "num_res_blocks": 2, "attn_scales": [],
              "temperal_downsample": [False, True, True], "dropout": 0.0}
    return comfy.sd.VAE(sd=random_state_dict(WanVAE(**layout), seed))


def wan22_vae_model(seed: int = 12, dim: int = 8):
    """A comfy.sd.VAE that is Wan 2.2 TI2V 5B's VAE (comfy.ldm.wan.vae2_2: 48 channels, /16, 4n+1 ↔ n+1), built by
    comfy.sd.VAE's own Wan 2.2 branch (ratios, memory estimates) at width `dim`: that branch hard-codes the release's
    width 160, so the WanVAE class it constructs is swapped, for the construction only, for one at `dim`."""
    from unittest import mock
    import comfy.sd
    import comfy.ldm.wan.vae2_2 as vae2_2
    real = vae2_2.WanVAE

    def tiny_vae(**kwargs):
        return real(**{**kwargs, "dim": dim})
    layout = {"dim": dim, "z_dim": 48, "dim_mult": [1, 2, 4, 4], "num_res_blocks": 2, "attn_scales": [],
              "temperal_downsample": [False, True, True], "dropout": 0.0}
    with mock.patch.object(vae2_2, "WanVAE", tiny_vae):
        return comfy.sd.VAE(sd=random_state_dict(real(**layout), seed))


def temporal_vae_model(seed: int = 4, per_frame: bool = False, ch: int = 32):
    """A comfy.sd.VAE whose decoder is ComfyUI's SVD VideoDecoder at a tiny width.

    per_frame=True switches the temporal parts off (time-stack blend 0, identity time conv), so every
    frame decodes independently: any windowing must then reproduce one decode call exactly.
    """
    import comfy.model_management as mm
    import comfy.model_patcher
    from comfy.ldm.models.autoencoder import AutoencodingEngine
    dd = dict(TINY_VAE, ch=ch)
    engine = AutoencodingEngine(
        regularizer_config={"target": "comfy.ldm.models.autoencoder.DiagonalGaussianRegularizer"},
        encoder_config={"target": "comfy.ldm.modules.diffusionmodules.model.Encoder", "params": dd},
        decoder_config={"target": "comfy.ldm.modules.temporal_ae.VideoDecoder",
                        "params": dict(dd, video_kernel_size=[3, 1, 1], alpha=0.0)})
    sd = random_state_dict(engine, seed)
    for k in sd:
        if k.endswith("mix_factor"):
            sd[k] = torch.full_like(sd[k], -30.0 if per_frame else 0.5)   # sigmoid: weight of the temporal branch
        if per_frame and "time_mix_conv" in k:
            sd[k] = torch.zeros_like(sd[k])
            if k.endswith("weight"):
                sd[k][:, :, 1, 0, 0] = torch.eye(sd[k].shape[0])           # identity at the centre time tap
    engine.load_state_dict(sd)
    vae = vae_model(seed)                                                   # the comfy.sd.VAE wrapper ...
    vae.first_stage_model = engine.eval()                                   # ... around the video decoder
    vae.patcher = comfy.model_patcher.ModelPatcher(engine, load_device=vae.device,
                                                   offload_device=mm.vae_offload_device())
    return vae


def conditioning(seed: int, tokens: int = 77, dim: int = 32):
    g = torch.Generator().manual_seed(seed)
    return [[torch.randn(1, tokens, dim, generator=g), {}]]


# LTX-Video's causal VideoVAE at base width 128 (fixed by the class): patch 4 then three stride-2 (t, h, w) causal
# convolutions, ×32 in space and ×8 in time, 128 latent channels; no timestep conditioning (its decode would draw
# unseeded noise). The config travels as the checkpoint's metadata, as comfy.sd.VAE reads LTX configs.
TINY_LTXV_VAE = {"dims": 3, "latent_channels": 128, "patch_size": 4, "norm_layer": "pixel_norm",
                 "latent_log_var": "uniform", "causal_decoder": False, "timestep_conditioning": False,
                 "encoder_blocks": [["compress_all", 1], ["compress_all", 1], ["compress_all", 1], ["res_x", 1]],
                 "decoder_blocks": [["compress_all", 1], ["compress_all", 1], ["compress_all", 1], ["res_x", 1]]}


def ltxv_vae_model(seed: int = 8):
    """A comfy.sd.VAE that is LTX-Video's VideoVAE (8n+1 frames ↔ n+1 latent frames, /32), built by comfy.sd.VAE's
    LTX branch from a random state dict; its per-channel statistics are the identity (mean 0, std 1)."""
    import json
    import comfy.sd
    from comfy.ldm.lightricks.vae.causal_video_autoencoder import VideoVAE
    sd = random_state_dict(VideoVAE(config=copy.deepcopy(TINY_LTXV_VAE)), seed)
    for k in sd:
        if k.startswith("per_channel_statistics."):
            sd[k] = torch.ones_like(sd[k]) if "std" in k else torch.zeros_like(sd[k])
    return comfy.sd.VAE(sd=sd, metadata={"config": json.dumps({"vae": TINY_LTXV_VAE})})


TINY_HUNYUAN15_VAE = {"block_out_channels": [32, 32, 32, 64, 64], "num_res_blocks": 1}


def hunyuan_video15_vae_model(seed: int = 10):
    """A comfy.sd.VAE that is HunyuanVideo 1.5's VAE (comfy.ldm.hunyuan_video.vae_refiner, 4n+1 ↔ n+1, /16, 32
    channels), built by comfy.sd.VAE's own HunyuanVideo 1.5 branch (ratios, scaling, memory estimates) with the
    engine's widths shrunk: that branch hard-codes the release's widths (128 … 1024), so the AutoencodingEngine it
    constructs is swapped, for the construction only, for one whose encoder and decoder take TINY_HUNYUAN15_VAE."""
    from unittest import mock
    import comfy.sd
    from comfy.ldm.models.autoencoder import AutoencodingEngine

    def tiny_engine(**kwargs):
        for part in ("encoder_config", "decoder_config"):
            kwargs[part] = {**kwargs[part], "params": {**kwargs[part]["params"], **TINY_HUNYUAN15_VAE}}
        return AutoencodingEngine(**kwargs)

    config = {"in_channels": 3, "out_channels": 3, "z_channels": 32, "ffactor_spatial": 16, "ffactor_temporal": 4,
              "downsample_match_channel": True, "upsample_match_channel": True, **TINY_HUNYUAN15_VAE}
    engine = tiny_engine(regularizer_config={"target": "comfy.ldm.models.autoencoder.EmptyRegularizer"},
                         encoder_config={"target": "comfy.ldm.hunyuan_video.vae_refiner.Encoder", "params": config},
                         decoder_config={"target": "comfy.ldm.hunyuan_video.vae_refiner.Decoder", "params": config})
    with mock.patch.object(comfy.sd, "AutoencodingEngine", tiny_engine):
        return comfy.sd.VAE(sd=random_state_dict(engine, seed))
