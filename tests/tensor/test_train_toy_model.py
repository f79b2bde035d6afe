"""Toy-model trainer: the fixed latent and its analytic TAESD encoder, exact resume, a loss that drops."""
import math

import pytest
import torch

import toy_model
import train_toy_model as t
from toy_world import world


def test_fixed_latent_is_the_pooled_colour_and_its_luminance():
    images, _ = world.make_clip(3, frames=2, resolution=32)
    z = t.encode(images)
    assert z.shape == (2, 4, 4, 4)
    pooled = images.permute(0, 3, 1, 2).double().reshape(2, 3, 4, 8, 4, 8).mean(dim=(3, 5))
    assert torch.allclose(z[:, :3].double(), pooled * 2 - 1, atol=1e-6)
    assert torch.allclose(z[:, 3].double(), pooled.mean(dim=1) * 2 - 1, atol=1e-6)
    flat = torch.ones(1, 16, 16, 3) * torch.tensor([0.9, 0.1, 0.1])  # the palette's red
    assert torch.allclose(t.encode(flat)[0, :, 0, 0], torch.tensor([0.8, -0.8, -0.8, 1.1 * 2 / 3 - 1]), atol=1e-6)


def test_analytic_taesd_encoder_computes_the_fixed_latent():
    images = torch.cat([world.make_image(s, 64)[0] for s in range(4)])
    enc = toy_model.analytic_encoder()
    with torch.no_grad():
        z = enc(images.permute(0, 3, 1, 2))  # comfy's TAESD.encode feeds the encoder images in 0..1
    assert torch.allclose(z, t.encode(images), atol=1e-5)
    with torch.no_grad():  # an off-by-one tap (pooling 2i-1..2i instead of 2i..2i+1) fails this
        one = torch.zeros(1, 3, 64, 64)
        one[..., 8:16, 8:16] = 1.0
        assert torch.allclose(enc(one)[0, 0], t.encode(one.permute(0, 2, 3, 1))[0, 0], atol=1e-6)


def test_captions_cover_the_demo_prompt_and_the_unconditional_branch():
    caps = toy_model.captions()
    assert toy_model.DEMO_PROMPT in caps and "" in caps and "a red disk on a blue background" in caps
    assert len(caps) == len(set(caps)) == 1 + 6 * 4 * 5
    _, batch_caps, _ = t.batch(0, 0, 64, 16)
    assert set(batch_caps) <= set(caps) and "" in batch_caps


SMALL = dict(model_channels=32, num_heads=4)  # the SD1.x layout narrowed 10×: the same code path in a second


def _embed():
    return {c: torch.randn(77, 768, generator=torch.Generator().manual_seed(i))
            for i, c in enumerate(toy_model.captions())}


def test_unet_steps_resume_exactly(tmp_path):
    embed, kw = _embed(), dict(resolution=16, batch_size=2, seed=3, lr=1e-3, warmup=1, quiet=True, unet_config=SMALL)
    t.train_unet(str(tmp_path / "a"), 2, embed, **kw)
    resumed, ema_a, _ = t.train_unet(str(tmp_path / "a"), 4, embed, **kw)
    straight, ema_b, loss = t.train_unet(str(tmp_path / "b"), 4, embed, **kw)
    assert math.isfinite(loss)
    for (name, p), q in zip(resumed.state_dict().items(), straight.state_dict().values()):
        assert torch.equal(p, q), name
    for (name, p), q in zip(ema_a.state_dict().items(), ema_b.state_dict().values()):
        assert torch.equal(p, q), name
    other, _, _ = t.train_unet(str(tmp_path / "c"), 4, embed, **{**kw, "seed": 4})
    assert not torch.equal(other.state_dict()["out.2.weight"], straight.state_dict()["out.2.weight"])


def test_unet_loss_drops_on_a_held_out_batch(tmp_path):
    embed = _embed()
    unet, _, _ = t.train_unet(str(tmp_path), 8, embed, resolution=16, batch_size=4, seed=3, lr=3e-3, warmup=1,
                              quiet=True, unet_config=SMALL)
    images, caps, g = t.batch(99, 0, 8, 16)
    z, tt = t.encode(images), torch.randint(0, 1000, (8,), generator=g)
    noise, ctx, acp = torch.randn(z.shape, generator=g), torch.stack([embed[c] for c in caps]), t.alphas_cumprod()
    with torch.no_grad():  # fresh U-Net: output conv zero, eps = 0, loss = mean(ε²) ≈ 0.94 on this batch
        before = t.diffusion_loss(toy_model.new_unet(3, **SMALL), z, ctx, tt, noise, acp).item()
        after = t.diffusion_loss(unet, z, ctx, tt, noise, acp).item()
    assert after < 0.95 * before, (before, after)  # measured 0.937 -> 0.856


def test_decoder_steps_resume_exactly(tmp_path):
    kw = dict(resolution=16, batch_size=2, seed=5, quiet=True)
    t.train_decoder(str(tmp_path / "a"), 2, **kw)
    resumed, _ = t.train_decoder(str(tmp_path / "a"), 4, **kw)
    straight, loss = t.train_decoder(str(tmp_path / "b"), 4, **kw)
    assert math.isfinite(loss)
    for (name, p), q in zip(resumed.state_dict().items(), straight.state_dict().values()):
        assert torch.equal(p, q), name
    other, _ = t.train_decoder(str(tmp_path / "c"), 4, **{**kw, "seed": 6})
    assert not torch.equal(other.state_dict()["1.weight"], straight.state_dict()["1.weight"])


@pytest.mark.parametrize("std", [0.003, 0.05])
def test_fp8_pack_keeps_small_weights(std):
    w = torch.randn(320, 320, generator=torch.Generator().manual_seed(0)) * std
    unet, _ = toy_model.unpack(toy_model.pack({"w": w, "b": torch.ones(3)}, {}))
    rel = (unet["w"] - w).norm() / w.norm()
    assert rel < 0.05, rel  # unscaled fp8 flushes weights of std 0.003 mostly to subnormals: rel ≈ 0.3
    assert torch.equal(unet["b"], torch.ones(3))


def test_shipped_weights_fit_the_budget_and_stay_out_of_the_registry_archive():
    import os
    from pathspec import PathSpec
    folder = os.path.dirname(toy_model.SHIPPED)
    shipped = [os.path.join(folder, n) for n in os.listdir(folder)] if os.path.isdir(folder) else []
    assert sum(map(os.path.getsize, shipped)) <= 35e6  # the toy model, its shift LoRA and the toy T2V LoRA: ≤ 35 MB
    with open(os.path.join(toy_model.ROOT, ".comfyignore")) as f:  # parsed as comfy-cli's zip_files parses it
        spec = PathSpec.from_lines("gitwildmatch", [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")])
    assert spec.match_file(os.path.relpath(toy_model.SHIPPED, toy_model.ROOT))
    assert all(spec.match_file(os.path.relpath(p, toy_model.ROOT)) for p in shipped)
    assert not spec.match_file("nodes/text2video_zero.py") and not spec.match_file("workflows/text2video_zero.json")


def test_the_registry_archive_carries_what_artists_need_and_no_development_files():
    """comfy-cli packs the git-tracked files minus .comfyignore: the nodes, the UI, the workflows and the
    locales stay; tests/, bench/, scripts/ and the CI entry do not (artists need none of them)."""
    import os
    import subprocess
    from pathspec import PathSpec
    with open(os.path.join(toy_model.ROOT, ".comfyignore")) as f:
        spec = PathSpec.from_lines("gitwildmatch", [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")])
    for dev in ("tests/conftest.py", "tests/inprocess/test_good_citizens.py", "bench/run.py", "scripts/setup.sh",
                "scripts/toy_model.py", ".ci/run", "models/toy/vidlift-toy-sd15.safetensors"):
        assert spec.match_file(dev), dev
    for kept in ("__init__.py", "nodes/text2video_zero.py", "nodes/glue/compat.py", "nodes/core/errors.py",
                 "workflows/text2video_zero.json", "js/vidlift.js", "locales/en/nodeDefs.json", "pyproject.toml",
                 "requirements.txt", "README.md", "LICENSE"):
        assert not spec.match_file(kept), kept
    try:
        tracked = subprocess.run(["git", "ls-files"], cwd=toy_model.ROOT, capture_output=True, text=True,
                                 check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):       # an unpacked archive has no git
        return
    shipped = [p for p in tracked if not spec.match_file(p)]
    assert any(p.startswith("nodes/") for p in shipped) and any(p.startswith("workflows/") for p in shipped)
    assert not [p for p in shipped if p.split("/")[0] in ("tests", "bench", "scripts", ".ci")]
