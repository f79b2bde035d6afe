"""The same random U-Net in diffusers' layout and in ComfyUI's, and diffusers' TextToVideoZeroPipeline around it.

Used by the fidelity tests and the benchmarks (test/bench-only: diffusers is never a pack dependency).
"""
from __future__ import annotations

import os

import torch

from . import tiny
from .tiny import random_state_dict

SD_SCHEDULER = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                    set_alpha_to_one=False, steps_offset=1, num_train_timesteps=1000)
TINY = dict(sample_size=16, layers_per_block=1, block_out_channels=(32, 64), cross_attention_dim=32,
            down_block_types=("CrossAttnDownBlock2D",) * 2, up_block_types=("CrossAttnUpBlock2D",) * 2)
SD15 = dict(sample_size=64, layers_per_block=2, block_out_channels=(320, 640, 1280, 1280), cross_attention_dim=768,
            down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3)
COMFY_SD15 = {"image_size": 32, "in_channels": 4, "out_channels": 4, "model_channels": 320,
              "num_res_blocks": [2, 2, 2, 2], "channel_mult": [1, 2, 4, 4],
              "transformer_depth": [1, 1, 1, 1, 1, 1, 0, 0],
              "transformer_depth_output": [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0],  # popped from the end: deepest first
              "transformer_depth_middle": 1, "context_dim": 768, "use_linear_in_transformer": False,
              "use_spatial_transformer": True, "legacy": False, "adm_in_channels": None,
              "use_temporal_attention": False, "use_temporal_resblock": False, "use_checkpoint": False}


def diffusers_unet(config=TINY, seed=7, std=0.02):
    from diffusers import UNet2DConditionModel
    unet = UNet2DConditionModel(in_channels=4, out_channels=4, attention_head_dim=8, norm_num_groups=32, **config)
    unet.load_state_dict(random_state_dict(unet, seed=seed, std=std))
    return unet.eval()


def comfy_from_diffusers(unet_d, comfy_config=tiny.TINY_UNET, dtype=torch.float32):
    """A ComfyUI ModelPatcher with exactly unet_d's weights, moved by ComfyUI's own key map."""
    import comfy.utils
    model = tiny.unet_model(seed=0, config=comfy_config, dtype=dtype)
    key_map = comfy.utils.unet_to_diffusers(model.model.model_config.unet_config)
    sd = unet_d.state_dict()
    model.model.diffusion_model.load_state_dict({c: sd[d] for d, c in key_map.items() if d in sd}, strict=True)
    tiny.as_dtype(model.model, dtype)
    return model


def text2video_zero_pipeline(unet_d, text_dim=32):
    import comfy.sd1_clip
    from diffusers import AutoencoderKL, DDIMScheduler, TextToVideoZeroPipeline
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
    tok_dir = os.path.join(os.path.dirname(comfy.sd1_clip.__file__), "sd1_tokenizer")
    text = CLIPTextModel(CLIPTextConfig(hidden_size=text_dim, intermediate_size=2 * text_dim, num_attention_heads=2,
                                        num_hidden_layers=2, projection_dim=text_dim, vocab_size=49408))
    vae = AutoencoderKL(block_out_channels=(32, 32, 32, 32), norm_num_groups=32,
                        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4)
    pipe = TextToVideoZeroPipeline(vae=vae, text_encoder=text,
                                   tokenizer=CLIPTokenizer.from_pretrained(tok_dir, model_max_length=77),
                                   unet=unet_d, scheduler=DDIMScheduler(**SD_SCHEDULER), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def run_diffusers(pipe, frames, seed, cfg, motion, size=128, steps=50, frame_ids=None, t0=44, t1=47):
    with torch.no_grad():
        return pipe("a cat", video_length=frames, height=size, width=size, num_inference_steps=steps,
                    guidance_scale=cfg, generator=torch.Generator().manual_seed(seed), output_type="latent",
                    frame_ids=frame_ids, motion_field_strength_x=motion, motion_field_strength_y=motion / 2,
                    t0=t0, t1=t1).images
