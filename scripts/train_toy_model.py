"""Train the toy-world model (issue 18 §2), stage 1 of 2: the VAE decoder of a fixed, interpretable latent space.

Latent (not learned, see /work/shared/spec/TOY_WORLD_NOTES.md): the image in -1..1 average-pooled 8x, channels
0-2 the block's mean colour and channel 3 the block's standard deviation of luminance (how much edge the block
holds, the one hint of where inside it the object ends). The encoder is this fixed function, so the U-Net learns
in a space whose pictures read directly; only the decoder, an 8x upsampler of flat colours, is trained.
Every batch is derived from (seed, step), and checkpoints hold the optimizer, so a resumed run equals an
uninterrupted one bit for bit.

Not yet here: the U-Net stage (SD1.x layout of scripts/tiny_checkpoint.py, conditioned on the seeded CLIP-L) and
the export to a checkpoint that Load Checkpoint reads (TAESD layout for the VAE).
Usage: python scripts/train_toy_model.py --steps 500 --out toy_model/ [--resolution 64 --batch 16 --seed 0]
"""
from __future__ import annotations

import argparse
import os
import sys

import torch
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from toy_world import world  # noqa: E402

FACTOR = 8
LATENT_CHANNELS = 4


def encode(images):
    """[B,H,W,3] in 0..1 -> latent [B,4,H/8,W/8]: pooled colour in -1..1 and pooled luminance spread."""
    x = images.permute(0, 3, 1, 2) * 2 - 1
    colour = F.avg_pool2d(x, FACTOR)
    lum = x.mean(dim=1, keepdim=True)
    spread = (F.avg_pool2d(lum * lum, FACTOR) - F.avg_pool2d(lum, FACTOR) ** 2).clamp_min(0).sqrt()
    return torch.cat([colour, spread], dim=1)


class Decoder(nn.Module):
    """Latent [B,4,h,w] -> image [B,3,8h,8w] in -1..1: three (nearest 2x upsample, conv, SiLU) stages, narrowing
    as resolution grows (flat colours need little capacity at full resolution, where convolutions cost most)."""

    def __init__(self, widths=(64, 32, 16)):
        super().__init__()
        layers, c = [nn.Conv2d(LATENT_CHANNELS, widths[0], 3, padding=1), nn.SiLU()], widths[0]
        for w in widths:
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c, w, 3, padding=1), nn.SiLU()]
            c = w
        layers += [nn.Conv2d(c, 3, 3, padding=1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z)


def batch(seed, step, size, resolution):
    """Images [B,H,W,3] of step `step`: world seeds are a function of (seed, step), so resuming replays nothing."""
    first = (seed * 1_000_003 + step * size) % (2 ** 32)
    return torch.cat([world.make_image(first + i, resolution)[0] for i in range(size)])


def train(out, steps, resolution=64, batch_size=16, seed=0, lr=1e-3, save_every=100, quiet=False):
    """Train to `steps` total, resuming from out/vae_decoder.pt if present. Returns (decoder, last loss)."""
    if resolution % FACTOR:
        raise ValueError(f"train_toy_model: --resolution must be a multiple of {FACTOR}, got {resolution}")
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "vae_decoder.pt")
    torch.manual_seed(seed)
    decoder = Decoder()
    opt = torch.optim.AdamW(decoder.parameters(), lr=lr)
    start = 0
    if os.path.exists(path):
        state = torch.load(path, weights_only=True)
        decoder.load_state_dict(state["decoder"])
        opt.load_state_dict(state["optimizer"])
        start = int(state["step"])
    loss = float("nan")
    bar = tqdm(range(start, steps), initial=start, total=steps, desc="toy VAE decoder", disable=quiet)
    for step in bar:
        images = batch(seed, step, batch_size, resolution)
        target = images.permute(0, 3, 1, 2) * 2 - 1
        loss_t = F.mse_loss(decoder(encode(images)), target)
        opt.zero_grad(set_to_none=True)
        loss_t.backward()
        opt.step()
        loss = loss_t.detach().item()
        bar.set_postfix(loss=f"{loss:.4f}")
        if (step + 1) % save_every == 0 or step + 1 == steps:
            _save(path, decoder, opt, step + 1, resolution, seed)
    return decoder, loss


def _save(path, decoder, opt, step, resolution, seed):
    tmp = path + ".tmp"  # write then rename: an interrupted save never leaves a half checkpoint
    torch.save({"decoder": decoder.state_dict(), "optimizer": opt.state_dict(), "step": step,
                "resolution": resolution, "seed": seed}, tmp)
    os.replace(tmp, path)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, required=True, help="total optimizer steps (a resumed run continues to it)")
    p.add_argument("--out", default="toy_model", help="folder for checkpoints (resumed from if present)")
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--save-every", type=int, default=100)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    a = p.parse_args(argv)
    _, loss = train(a.out, a.steps, a.resolution, a.batch, a.seed, a.lr, a.save_every, a.quiet)
    print(f"toy VAE decoder: {a.steps} steps, last loss {loss:.5f}, checkpoint {os.path.join(a.out, 'vae_decoder.pt')}")


if __name__ == "__main__":
    main()
