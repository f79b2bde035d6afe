"""Train the toy text-to-video model (Latent-Shift on the toy checkpoint) with the pack's own node, Train Temporal
Shift LoRA, on captioned toy-world clips: "a <colour> <shape> moving <right|left|up|down> on a <colour> background".

The clips move along one axis at 0.5–3 px/frame (toy_world.world.motion_scene); one prompt combination in five
(colour, shape, background, direction: `held_out`) never appears in training and is what the quality table and the
regression test sample. One clip in ten is captioned "" (the `positive` input): the unconditional branch that
classifier-free guidance samples with the shift on. Training runs in chunks that resume through the node's
`resume_lora` (its optimizer state continues), in a work folder kept between runs, so a stopped run continues where
it was; after each chunk the fp16 LoRA is copied to models/toy/vidlift-toy-t2v.safetensors.
Usage: python scripts/train_toy_t2v.py [--steps 6000 --chunk 1000 --clips 1024 --lr 1e-3 --rank 8 --threads 2
                                       --position "before conv1"]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import toy_model  # noqa: E402
from comfy_env import BASE_DIR, import_comfy  # noqa: E402
from pack_import import pack_module  # noqa: E402
from toy_world import world  # noqa: E402

T2V = os.path.join(toy_model.ROOT, "models", "toy", "vidlift-toy-t2v.safetensors")
CHECKPOINT = os.path.join(BASE_DIR, "models", "checkpoints", "vidlift-toy-sd15.safetensors")
WORK = os.path.join(BASE_DIR, "t2v_training")
NAME = "vidlift-toy-t2v"
FRAMES = 16
SHIFT = dict(shift_fraction=0.125, position="before conv1", boundary="zero")  # the Temporal Shift Patcher's defaults
COLOURS, DIRECTIONS = list(world.PALETTE), list(world.DIRECTIONS)


def held_out(scene) -> bool:
    """One combination in five of (colour, shape, background, direction) is kept for evaluation only."""
    d = scene.extras["direction"]
    return (COLOURS.index(scene.object_colour) + world.SHAPES.index(scene.shape) + COLOURS.index(scene.background)
            + DIRECTIONS.index(d)) % 5 == 0


def training_clips(count, seed=0):
    """[count·16, 64, 64, 3] frames and one caption line per clip (every tenth blank: the `positive` caption)."""
    frames, lines, k = [], [], 0
    while len(lines) < count:
        scene = world.motion_scene(seed * 1_000_003 + k)
        k += 1
        if held_out(scene):
            continue
        frames.append(world.render(scene, FRAMES)[0])
        lines.append("" if len(lines) % 10 == 9 else world.motion_caption(scene))
    return torch.cat(frames), "\n".join(lines) + "\n"


class AnalyticToyVAE:
    """The toy VAE's encoder in closed form (toy_model.encode, the function its TAESD encoder's analytic weights
    compute: equal to 2e-3 of latents up to ~5, fp32 rounding of the convolutions) at a thousandth of the
    cost; the node encodes every clip in every chunk, 16k frames of 64²."""

    def __init__(self, vae):
        import comfy.latent_formats
        self.vae, self.scale = vae, comfy.latent_formats.SD15().scale_factor

    def encode(self, pixels):
        return toy_model.encode(pixels[..., :3]) / self.scale


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=6000, help="total steps (a resumed run trains up to this count)")
    p.add_argument("--chunk", type=int, default=1000, help="steps per node run; the LoRA is copied after each")
    p.add_argument("--clips", type=int, default=1024)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--dtype", default="bf16", choices=("fp32", "bf16"))
    p.add_argument("--position", default=SHIFT["position"], help="the shift's place in each ResBlock (the node's "
                   "`position`); 'before conv1 and conv2' doubles the frames a frame sees")
    p.add_argument("--out", default=T2V)
    p.add_argument("--work", default=WORK, help="folder of the run's LoRA and training state (kept between runs)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    import_comfy(cpu=True)
    import folder_paths
    from safetensors import safe_open
    trainer = pack_module("nodes.latent_shift_trainer").TrainTemporalShiftLoRA
    targets = pack_module("nodes.glue.shift_lora_training").TARGETS[0]
    os.makedirs(a.work, exist_ok=True)
    folder_paths.folder_names_and_paths["loras"] = ([a.work], {".safetensors"})
    model, clip, vae = toy_model.load_toy(CHECKPOINT)
    images, captions = training_clips(a.clips, a.seed)
    lora = os.path.join(a.work, NAME + ".safetensors")
    while True:
        done = 0
        if os.path.exists(lora):
            with safe_open(lora, "pt") as f:
                done = int(f.metadata()["ss_steps"])
        if done >= a.steps:
            break
        steps, start = min(a.chunk, a.steps - done), time.time()
        out = trainer.execute(model=model, vae=AnalyticToyVAE(vae), positive=toy_model.conditioning(clip, ""), lora_name=NAME,
                              frames_per_clip=FRAMES, steps=steps, learning_rate=a.lr, rank=a.rank, clips_per_step=1,
                              seed=a.seed, targets=targets, training_dtype=a.dtype, gradient_checkpointing=False,
                              video_folder="", max_frames_per_video=FRAMES, width=64, height=64, images=images,
                              clip=clip, captions=captions, resume_lora=os.path.basename(lora) if done else "none",
                              save_every=250, **{**SHIFT, "position": a.position})
        os.makedirs(os.path.dirname(a.out), exist_ok=True)
        shutil.copyfile(os.path.join(a.work, out.result[2]), a.out + ".tmp")
        os.replace(a.out + ".tmp", a.out)
        print(f"[toy-t2v] steps {done}→{done + steps} in {time.time() - start:.0f} s; wrote {a.out} "
              f"({os.path.getsize(a.out) / 1e6:.2f} MB)", flush=True)


if __name__ == "__main__":
    main()
