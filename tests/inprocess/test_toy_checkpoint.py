"""The shipped toy model through ComfyUI's own checkpoint loader: detected as SD1.5, its VAE round-trips
flat colours, and plain sampling of the demo prompt draws a red disk on a blue background."""
import os

import pytest
import torch

import toy_model
import train_toy_model as t
from toy_world import metrics, world

pytestmark = pytest.mark.skipif(not os.path.exists(toy_model.SHIPPED), reason="no shipped toy model")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    import comfy.sd
    path = str(tmp_path_factory.mktemp("toy") / "toy.safetensors")
    toy_model.assemble(path)  # what `make demo` puts in models/checkpoints
    model, clip, vae = comfy.sd.load_checkpoint_guess_config(path, output_vae=True, output_clip=True,
                                                             embedding_directory=None)[:3]
    yield model, clip, vae
    os.remove(path)     # 300 MB: not kept for the rest of the session


def test_loads_as_sd15_with_the_training_schedule(toy):
    import comfy.model_base
    model, clip, vae = toy
    assert type(model.model.model_config).__name__ == "SD15"
    assert model.model.model_type == comfy.model_base.ModelType.EPS
    sigmas = model.get_model_object("model_sampling").sigmas.double()
    acp = t.alphas_cumprod().double()
    assert torch.allclose(sigmas, ((1 - acp) / acp).sqrt(), rtol=1e-4)  # the DDPM schedule the U-Net learned


def test_vae_round_trips_flat_colours_and_encodes_the_fixed_latent(toy):
    _, _, vae = toy
    colours = torch.tensor(list(world.PALETTE.values()))
    images = colours.view(-1, 1, 1, 3).expand(-1, 64, 64, 3).contiguous()
    latent = vae.encode(images)
    assert torch.allclose(latent.float() * toy_model.SD15_SCALE, t.encode(images), atol=2e-2)  # fp16 weights
    decoded = vae.decode(latent).reshape(-1, 64, 64, 3)
    err = (decoded[:, 8:-8, 8:-8] - images[:, 8:-8, 8:-8]).abs().amax(dim=(1, 2, 3))
    assert (err < 0.08).all(), err


def test_sampling_the_demo_prompt_draws_red_on_blue(toy):
    """Plain DDIM at the demo's cfg 2: every background blue, and a red object (docs/toy_model.md: the shipped
    model draws both colours right in 8/8 plain samples of 20 steps; the bound here is looser on purpose)."""
    import comfy.sample
    model, clip, vae = toy
    pos = clip.encode_from_tokens_scheduled(clip.tokenize(toy_model.DEMO_PROMPT))
    neg = clip.encode_from_tokens_scheduled(clip.tokenize(""))
    latent = torch.zeros(4, 4, 8, 8)
    noise = comfy.sample.prepare_noise(latent, 7)
    samples = comfy.sample.sample(model, noise, 30, 2.0, "ddim", "ddim_uniform", pos, neg, latent,
                                  disable_pbar=True, seed=7)
    stats = [metrics.frame_stats(f) for f in vae.decode(samples).reshape(-1, 64, 64, 3)]
    assert all(s["background"] == "blue" for s in stats), [s["background"] for s in stats]
    assert any(s["object_colour"] == "red" for s in stats), [s["object_colour"] for s in stats]


def test_the_shipped_shift_lora_loads_onto_every_layer_it_names(toy):
    """The Temporal Shift LoRA (scripts/train_toy_shift_lora.py) through ComfyUI's own LoRA loader: every key maps
    to a U-Net weight (none left over, which ComfyUI would only log), and it carries the shift settings it was
    trained with, which the Temporal Shift Patcher must repeat."""
    import json
    import comfy.lora
    import comfy.utils
    from train_toy_shift_lora import LORA, SHIFT
    if not os.path.exists(LORA):
        pytest.skip("no shipped toy shift LoRA")
    model, _, _ = toy
    lora = comfy.utils.load_torch_file(LORA, safe_load=True)
    key_map = comfy.lora.model_lora_keys_unet(model.model, {})
    patches = comfy.lora.load_lora(lora, key_map, log_missing=False)
    prefixes = {k.split(".lora_")[0].removesuffix(".alpha") for k in lora}
    assert prefixes <= set(key_map) and len(patches) == len(prefixes), sorted(prefixes - set(key_map))[:5]
    from safetensors import safe_open
    with safe_open(LORA, "pt") as f:
        assert json.loads(f.metadata()["vidlift_temporal_shift"]) == SHIFT


def test_the_toy_t2v_lora_loads_with_stock_loaders_and_names_its_shift(toy):
    """models/toy/vidlift-toy-t2v.safetensors (scripts/train_toy_t2v.py, trained by the pack's trainer node): stock
    LoRA loading maps every key onto a U-Net weight, and its metadata carries the Temporal Shift Patcher settings
    and the step count the trainer wrote."""
    import json
    import comfy.lora
    import comfy.utils
    import toy_t2v
    from safetensors import safe_open
    if not os.path.exists(toy_t2v.T2V):
        pytest.skip("no shipped toy T2V LoRA")
    model, _, _ = toy
    lora = comfy.utils.load_torch_file(toy_t2v.T2V, safe_load=True)
    key_map = comfy.lora.model_lora_keys_unet(model.model, {})
    patches = comfy.lora.load_lora(lora, key_map, log_missing=False)
    prefixes = {k.split(".lora_")[0].removesuffix(".alpha") for k in lora}
    assert prefixes <= set(key_map) and len(patches) == len(prefixes)
    with safe_open(toy_t2v.T2V, "pt") as f:
        meta = f.metadata()
    assert json.loads(meta["vidlift_temporal_shift"]) == toy_t2v.shift_settings() and int(meta["ss_steps"]) >= 1000
