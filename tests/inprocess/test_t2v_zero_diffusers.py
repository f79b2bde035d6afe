"""Fidelity: the pack's Text2Video-Zero equals diffusers' TextToVideoZeroPipeline on identical weights and noise.

The same tiny random U-Net is built in diffusers' layout and converted to ComfyUI's with ComfyUI's
own key map (comfy.utils.unet_to_diffusers); the prompt embeddings come from the pipeline's own
encode_prompt (real SD1 tokenizer, tiny CLIP); both draw their noise from torch.Generator(seed).
"""
import os

import pytest
import torch
from diffusers import AutoencoderKL, DDIMScheduler, TextToVideoZeroPipeline, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

import comfy.sd1_clip
import comfy.utils
from comfy_test_nodes import tiny
from tiny_checkpoint import random_state_dict
from vidlift.nodes.node_text2video_zero import Text2VideoZeroSampler
from vidlift.nodes.schedule import alphas_cumprod, ddim_sigmas

SD_SCHEDULER = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                    set_alpha_to_one=False, steps_offset=1, num_train_timesteps=1000)


def diffusers_unet():
    unet = UNet2DConditionModel(sample_size=16, in_channels=4, out_channels=4, layers_per_block=1,
                                block_out_channels=(32, 64), down_block_types=("CrossAttnDownBlock2D",) * 2,
                                up_block_types=("CrossAttnUpBlock2D",) * 2, cross_attention_dim=32,
                                attention_head_dim=8, norm_num_groups=32)
    unet.load_state_dict(random_state_dict(unet, seed=7, std=0.02))
    return unet.eval()


def comfy_model_from(unet_d):
    model = tiny.unet_model(seed=0)
    key_map = comfy.utils.unet_to_diffusers(model.model.model_config.unet_config)
    sd = unet_d.state_dict()
    model.model.diffusion_model.load_state_dict({c: sd[d] for d, c in key_map.items() if d in sd}, strict=True)
    return model


@pytest.fixture(scope="module")
def pipes():
    unet_d = diffusers_unet()
    tok_dir = os.path.join(os.path.dirname(comfy.sd1_clip.__file__), "sd1_tokenizer")
    text = CLIPTextModel(CLIPTextConfig(hidden_size=32, intermediate_size=64, num_attention_heads=2,
                                        num_hidden_layers=2, projection_dim=32, vocab_size=49408))
    vae = AutoencoderKL(block_out_channels=(32, 32, 32, 32), norm_num_groups=32,
                        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4)
    pipe = TextToVideoZeroPipeline(vae=vae, text_encoder=text, tokenizer=CLIPTokenizer.from_pretrained(tok_dir, model_max_length=77),
                                   unet=unet_d, scheduler=DDIMScheduler(**SD_SCHEDULER), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe, comfy_model_from(unet_d)


def to_diffusers_units(out, model):
    """ComfyUI returns the VE state at σ_0 in unscaled latent units; diffusers the DDPM z_0 in scaled units."""
    table = model.get_model_object("model_sampling").sigmas.float()
    return out * 0.18215 * alphas_cumprod(table)[0].sqrt().float()


def run_ours(model, cond, uncond, frames, seed, cfg, motion, chunk_size=8):
    table = model.get_model_object("model_sampling").sigmas.float()
    sigmas = ddim_sigmas(table, 50, final="alpha0")      # diffusers ends at ᾱ_0 (set_alpha_to_one=False)
    out = Text2VideoZeroSampler.execute(model, [[cond, {}]], [[uncond, {}]], {"samples": torch.zeros(frames, 4, 16, 16)},
                                        seed, cfg, motion, motion / 2, 50, 44, 47, chunk_size, sigmas=sigmas)
    return to_diffusers_units(out.args[0]["samples"], model)


def run_diffusers(pipe, frames, seed, cfg, motion, frame_ids=None):
    with torch.no_grad():
        return pipe("a cat", video_length=frames, height=128, width=128, num_inference_steps=50, guidance_scale=cfg,
                    generator=torch.Generator().manual_seed(seed), output_type="latent", frame_ids=frame_ids,
                    motion_field_strength_x=motion, motion_field_strength_y=motion / 2, t0=44, t1=47).images


@pytest.mark.parametrize("frames,motion,cfg,seed", [(8, 12.0, 7.5, 0), (5, -40.0, 2.0, 3)])  # cfg ≤ 1 crashes the pipeline itself (torch.cat with None)
def test_latents_match_diffusers(pipes, frames, motion, cfg, seed):
    pipe, model = pipes
    expected = run_diffusers(pipe, frames, seed, cfg, motion)
    with torch.no_grad():
        cond, uncond = pipe.encode_prompt("a cat", "cpu", 1, True, None)
    ours = run_ours(model, cond, uncond, frames, seed, cfg, motion)
    assert ours.shape == expected.shape
    err = (ours - expected).abs().max().item()
    assert err <= 1e-4, f"max |Δ| = {err:.2e} (|latent| max {expected.abs().max():.2f})"
    assert expected.std() > 0.1 and (expected[1:] - expected[:1]).abs().max() > 0.1   # a real video, not a trivial match


def test_chunked_long_video_matches_the_reference_chunk_loop(pipes):
    """diffusers docs' long-video recipe: per chunk, frame_ids = [0] + range(start, end), same seed, keep [1:]."""
    pipe, model = pipes
    frames, chunk, seed = 11, 5, 4
    starts = list(range(0, frames, chunk - 1))
    expected = torch.cat([run_diffusers(pipe, len(ids), seed, 7.5, 12.0, ids)[1:] for ids in
                          ([0] + list(range(s, e)) for s, e in zip(starts, starts[1:] + [frames]))])
    with torch.no_grad():
        cond, uncond = pipe.encode_prompt("a cat", "cpu", 1, True, None)
    ours = run_ours(model, cond, uncond, frames, seed, 7.5, 12.0, chunk_size=chunk)
    assert ours.shape == expected.shape == (frames, 4, 16, 16)
    assert (ours - expected).abs().max().item() <= 1e-4
