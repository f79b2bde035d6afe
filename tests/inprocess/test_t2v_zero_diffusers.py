"""Fidelity: the pack's Text2Video-Zero equals diffusers' TextToVideoZeroPipeline on identical weights and noise.

The same tiny random U-Net is built in diffusers' layout and converted to ComfyUI's with ComfyUI's
own key map (comfy.utils.unet_to_diffusers); the prompt embeddings come from the pipeline's own
encode_prompt (real SD1 tokenizer, tiny CLIP); both draw their noise from torch.Generator(seed).
"""
import pytest
import torch

from comfy_test_nodes.diffusers_twin import comfy_from_diffusers, diffusers_unet, run_diffusers, text2video_zero_pipeline
from vidlift.nodes.node_text2video_zero import Text2VideoZeroSampler
from vidlift.nodes.schedule import alphas_cumprod, ddim_sigmas


@pytest.fixture(scope="module")
def pipes():
    unet_d = diffusers_unet()
    return text2video_zero_pipeline(unet_d), comfy_from_diffusers(unet_d)


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
    expected = torch.cat([run_diffusers(pipe, len(ids), seed, 7.5, 12.0, frame_ids=ids)[1:] for ids in
                          ([0] + list(range(s, e)) for s, e in zip(starts, starts[1:] + [frames]))])
    with torch.no_grad():
        cond, uncond = pipe.encode_prompt("a cat", "cpu", 1, True, None)
    ours = run_ours(model, cond, uncond, frames, seed, 7.5, 12.0, chunk_size=chunk)
    assert ours.shape == expected.shape == (frames, 4, 16, 16)
    assert (ours - expected).abs().max().item() <= 1e-4
