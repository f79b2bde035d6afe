"""Train the toy model's Temporal Shift LoRA with the pack's own node, Train Temporal Shift LoRA, on
toy-world clips, so that Latent-Shift is shown end to end (docs/toy_model.md, the quality table's shift rows).

The clips are random toy scenes (every colour, shape, speed and direction, bouncing at the edges), 16 frames each;
the node takes one caption for all clips, so they are captioned "" — the unconditional branch the toy U-Net was
trained with — and the prompt still picks colours at sampling time through classifier-free guidance.
Deterministic given --seed; writes models/toy/vidlift-toy-shift-lora.safetensors (rank 8, fp16, < 1 MB).
Usage: python scripts/train_toy_shift_lora.py [--steps 600 --clips 256 --lr 5e-4 --rank 8 --threads 1]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import toy_model  # noqa: E402
from comfy_env import BASE_DIR, import_comfy  # noqa: E402
from pack_import import pack_module  # noqa: E402
from toy_world import world  # noqa: E402

LORA = os.path.join(toy_model.ROOT, "models", "toy", "vidlift-toy-shift-lora.safetensors")
CHECKPOINT = os.path.join(BASE_DIR, "models", "checkpoints", "vidlift-toy-sd15.safetensors")
FRAMES = 16
SHIFT = dict(shift_fraction=0.125, position="before conv1", boundary="zero")  # the Temporal Shift Patcher's defaults


def clips(count, seed, resolution=64):
    """[count·16, H, W, 3]: `count` random toy clips one after another (the node cuts them every 16 frames)."""
    return torch.cat([world.make_clip(seed * 1_000_003 + k, FRAMES, resolution)[0] for k in range(count)])


def half_precision(src, dest):
    """Copy the trained LoRA in fp16 with its metadata (half the repository's bytes; LoRA loaders cast it)."""
    from safetensors import safe_open
    from safetensors.torch import save_file
    with safe_open(src, "pt") as f:
        tensors, metadata = {k: f.get_tensor(k).half() for k in f.keys()}, f.metadata()
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    save_file(tensors, dest, metadata=metadata)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--clips", type=int, default=256, help="distinct training clips of 16 frames")
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=LORA)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    import_comfy(cpu=True)
    import folder_paths
    trainer = pack_module("nodes.latent_shift_trainer").TrainTemporalShiftLoRA
    targets = pack_module("nodes.glue.shift_lora_training").TARGETS[0]
    model, clip, vae = toy_model.load_toy(CHECKPOINT)
    with tempfile.TemporaryDirectory() as loras:
        folder_paths.folder_names_and_paths["loras"] = ([loras], {".safetensors"})
        out = trainer.execute(model=model, vae=vae, positive=toy_model.conditioning(clip, ""),
                              lora_name="toy_shift", frames_per_clip=FRAMES, steps=a.steps, learning_rate=a.lr,
                              rank=a.rank, clips_per_step=1, seed=a.seed, targets=targets, training_dtype="fp32",
                              gradient_checkpointing=False, video_folder="", max_frames_per_video=FRAMES, width=64,
                              height=64, images=clips(a.clips, a.seed), **SHIFT)
        half_precision(os.path.join(loras, out.result[2]), a.out)
    print(f"[toy] wrote {a.out} ({os.path.getsize(a.out) / 1e6:.1f} MB): {a.steps} steps on {a.clips} clips, "
          f"shift {SHIFT}")


if __name__ == "__main__":
    main()
