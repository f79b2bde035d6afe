"""Train the toy-world model of scripts/toy_model.py on CPU, in two independent stages, then export.

  decoder  the TAESD decoder: fixed latent z = toy_model.encode(image) (+ a little noise, so that the U-Net's
           imperfect latents still decode to flat colours) -> the image. MSE in 0..1.
  unet     the SD1.x U-Net: standard eps-prediction DDPM loss on z with the scaled-linear betas of SD1.5
           (0.00085..0.012, 1000 steps: ComfyUI's sampling for SD15), conditioned on the caption's embedding by the
           seeded random CLIP-L through ComfyUI's own encoder; 10% of captions are "" so classifier-free guidance
           has an unconditional branch. "disk" is also called "ball" (the demo prompt). EMA weights are exported.
  export   toy_model/*.pt -> models/toy/vidlift-toy-sd15.safetensors (toy_model.pack: fp8 U-Net, fp16 decoder).
Every batch (scenes, timesteps, noise, caption words) is a function of (seed, step) and checkpoints hold the
optimizer (and EMA), so a resumed run equals an uninterrupted one bit for bit.
Usage: python scripts/train_toy_model.py unet --steps 3000 [--out toy_model --batch 16 --threads 1 --seed 0]
"""
from __future__ import annotations

import argparse
import os
import sys

import torch
from torch.nn import functional as F
from tqdm import tqdm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from toy_world import world  # noqa: E402
import toy_model  # noqa: E402
from toy_model import encode  # noqa: E402,F401  (re-exported: the fixed latent)

DROP_CAPTION = 0.1
DECODER_LATENT_NOISE = 0.05


def batch(seed, step, size, resolution):
    """(images [B,H,W,3], captions, generator) of step `step`; world seeds and the generator depend on
    (seed, step) only, so resuming replays nothing."""
    first = (seed * 1_000_003 + step * size) % (2 ** 32)
    images, caps = [], []
    g = torch.Generator().manual_seed(seed * 7_919 + step)
    for i in range(size):
        img, truth = world.make_image(first + i, resolution)
        images.append(img)
        caps.append(truth["caption"])
    words = torch.rand(size, generator=g)
    drop = torch.rand(size, generator=g) < DROP_CAPTION
    caps = ["" if d else c.replace(" disk ", " ball ") if w < 0.5 else c for c, w, d in zip(caps, words, drop)]
    return torch.cat(images), caps, g


def alphas_cumprod():
    """ᾱ_t of SD1.5's scaled-linear schedule, from ComfyUI's own make_beta_schedule."""
    from comfy.ldm.modules.diffusionmodules.util import make_beta_schedule
    betas = torch.as_tensor(make_beta_schedule("linear", 1000, linear_start=0.00085, linear_end=0.012))
    return torch.cumprod(1 - betas, 0).float()


def diffusion_loss(unet, z, context, t, noise, acp):
    """DDPM eps loss: x_t = √ᾱ z + √(1-ᾱ) ε, the U-Net's input as ComfyUI feeds it (EPS.calculate_input)."""
    a = acp[t].view(-1, 1, 1, 1)
    x_t = a.sqrt() * z + (1 - a).sqrt() * noise
    return F.mse_loss(unet(x_t, t.float(), context=context, transformer_options={}), noise)


def caption_embeddings(out):
    """{caption: [77,768]} for toy_model.captions(), encoded once by ComfyUI's CLIP and cached in out/."""
    path = os.path.join(out, "captions.pt")
    if os.path.exists(path):
        return torch.load(path, weights_only=True)
    print("[toy] encoding the training captions with the seeded random CLIP-L", flush=True)
    sd = toy_model.checkpoint_state_dict(toy_model.new_unet().state_dict(), toy_model.new_decoder().state_dict())
    _, clip, _ = toy_model.load_comfy_checkpoint(sd)
    embed = toy_model.encode_captions(toy_model.captions(), clip)
    os.makedirs(out, exist_ok=True)
    torch.save(embed, path)
    return embed


def _resume(path, opt, **modules):
    """Load `modules` (name -> nn.Module) and the optimizer from path if present; returns the saved step or 0."""
    if not os.path.exists(path):
        return 0
    state = torch.load(path, weights_only=True)
    for name, m in modules.items():
        m.load_state_dict(state[name])
    opt.load_state_dict(state["optimizer"])
    return int(state["step"])


def _save(path, opt, step, **modules):
    tmp = path + ".tmp"  # write then rename: an interrupted save never leaves a half checkpoint
    torch.save({**{k: m.state_dict() for k, m in modules.items()}, "optimizer": opt.state_dict(), "step": step}, tmp)
    os.replace(tmp, path)


def train_decoder(out, steps, resolution=64, batch_size=16, seed=0, lr=1e-3, save_every=100, quiet=False):
    """Train the TAESD decoder to `steps` total, resuming from out/vae_decoder.pt. Returns (decoder, last loss)."""
    path = os.path.join(out, "vae_decoder.pt")
    os.makedirs(out, exist_ok=True)
    decoder = toy_model.new_decoder(seed)
    opt = torch.optim.AdamW(decoder.parameters(), lr=lr)
    start, loss = _resume(path, opt, decoder=decoder), float("nan")
    bar = tqdm(range(start, steps), initial=start, total=steps, desc="toy VAE decoder", disable=quiet, mininterval=5)
    for step in bar:
        images, _, g = batch(seed, step, batch_size, resolution)
        z = encode(images)
        z = z + DECODER_LATENT_NOISE * torch.randn(z.shape, generator=g)
        loss_t = F.mse_loss(decoder(z), images.permute(0, 3, 1, 2))
        opt.zero_grad(set_to_none=True)
        loss_t.backward()
        opt.step()
        loss = loss_t.item()
        bar.set_postfix(loss=f"{loss:.5f}", refresh=False)
        if (step + 1) % save_every == 0 or step + 1 == steps:
            _save(path, opt, step + 1, decoder=decoder)
    return decoder, loss


def train_unet(out, steps, embed, resolution=64, batch_size=16, seed=0, lr=2e-4, warmup=100, ema_decay=0.999,
               save_every=100, quiet=False, bf16=False, unet_config=None):
    """Train the U-Net to `steps` total, resuming from out/unet.pt. embed: {caption: [77,768]}. bf16: matmuls under
    CPU bfloat16 autocast (weights and optimizer stay fp32), ~1.5x faster on CPUs with AVX512-BF16.
    unet_config: overrides of tiny_checkpoint.UNET (tests only; the export must keep the SD1.x layout).
    Returns (unet, ema copy, last loss)."""
    import copy
    path = os.path.join(out, "unet.pt")
    os.makedirs(out, exist_ok=True)
    unet = toy_model.new_unet(seed, **(unet_config or {}))
    ema = copy.deepcopy(unet).requires_grad_(False)
    opt = torch.optim.AdamW(unet.parameters(), lr=lr, weight_decay=0.0)
    start, loss = _resume(path, opt, unet=unet, ema=ema), float("nan")
    acp = alphas_cumprod()
    bar = tqdm(range(start, steps), initial=start, total=steps, desc="toy U-Net", disable=quiet, mininterval=5)
    for step in bar:
        images, caps, g = batch(seed, step, batch_size, resolution)
        z = encode(images)
        t = torch.randint(0, 1000, (batch_size,), generator=g)
        noise = torch.randn(z.shape, generator=g)
        for group in opt.param_groups:
            group["lr"] = lr * min(1.0, (step + 1) / warmup)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss_t = diffusion_loss(unet, z, torch.stack([embed[c] for c in caps]), t, noise, acp).float()
        opt.zero_grad(set_to_none=True)
        loss_t.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        d = min(ema_decay, (1 + step) / (10 + step))  # EMA warm-up: early weights are forgotten fast
        with torch.no_grad():
            for pe, p in zip(ema.parameters(), unet.parameters()):
                pe.lerp_(p, 1 - d)
        loss = loss_t.item()
        bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        if (step + 1) % save_every == 0 or step + 1 == steps:
            _save(path, opt, step + 1, unet=unet, ema=ema)
    return unet, ema, loss


def export(out, dest=toy_model.SHIPPED):
    """toy_model/unet.pt (EMA) and vae_decoder.pt -> the shipped file (toy_model.pack)."""
    from safetensors.torch import save_file
    unet = torch.load(os.path.join(out, "unet.pt"), weights_only=True)
    dec = torch.load(os.path.join(out, "vae_decoder.pt"), weights_only=True)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    save_file(toy_model.pack(unet["ema"], dec["decoder"]), dest,
              metadata={"unet_steps": str(unet["step"]), "decoder_steps": str(dec["step"])})
    print(f"[toy] wrote {dest} ({os.path.getsize(dest) / 1e6:.1f} MB): U-Net {unet['step']} steps (EMA), "
          f"decoder {dec['step']} steps")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("stage", choices=("decoder", "unet", "export"))
    p.add_argument("--steps", type=int, default=0, help="total optimizer steps (a resumed run continues to it)")
    p.add_argument("--out", default="toy_model", help="folder for checkpoints (resumed from if present)")
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=None, help="default 1e-3 (decoder), 2e-4 (U-Net)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (the machine is shared)")
    p.add_argument("--save-every", type=int, default=100)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--fp32", action="store_true", help="U-Net stage: no bfloat16 autocast")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    from comfy_env import import_comfy
    import_comfy(cpu=True)
    if a.resolution % toy_model.FACTOR:
        p.error(f"--resolution must be a multiple of {toy_model.FACTOR}")
    kw = dict(resolution=a.resolution, batch_size=a.batch, seed=a.seed, save_every=a.save_every, quiet=a.quiet)
    if a.lr is not None:
        kw["lr"] = a.lr
    if a.stage == "decoder":
        _, loss = train_decoder(a.out, a.steps, **kw)
    elif a.stage == "unet":
        _, _, loss = train_unet(a.out, a.steps, caption_embeddings(a.out), bf16=not a.fp32, **kw)
    else:
        return export(a.out)
    print(f"[toy] {a.stage}: {a.steps} steps, last loss {loss:.5f}, checkpoints in {a.out}/")


if __name__ == "__main__":
    main()
