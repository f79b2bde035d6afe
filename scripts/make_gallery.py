"""`make gallery`: docs/gallery/*.gif, one animated picture per paper, sampled from the toy models (docs/toy_model.md).

Every picture is real output of the pack's nodes, in-process, at fixed seeds: the toy image model (toy SD1.5
checkpoint) and the toy text-to-video model (scripts/toy_t2v.py: the checkpoint + models/toy/vidlift-toy-t2v
.safetensors through stock LoRA loading + the Temporal Shift Patcher). The pictures that need the toy T2V are skipped,
with a note, while its LoRA is missing. 64×64 frames scaled ×3 (nearest neighbour) over a caption strip, one shared
palette without dithering (palette_of; the same frames give the same file bytes). The U-Net runs under CPU bfloat16
autocast, as the toy model was trained (and as bench/quality.py samples it), on one thread: about 3 minutes in all.
Settings: Text2Video-Zero as the demo (scripts/demo.py TOY_SETTINGS, 50 DDIM steps); the toy-T2V pictures as the
toy T2V's quality table (bench/quality_t2v.py: 15 DDIM steps, cfg 3, clips of 16 frames).
Usage: python scripts/make_gallery.py [--only NAME,…] [--check]
  --check: no sampling; every GIF of GIFS exists in docs/gallery, has >= 8 frames and is <= 150 KB (exit 1 if not).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "docs", "gallery")
MAX_BYTES, MIN_FRAMES = 150_000, 8
SCALE, CAPTION_H, FRAME_MS, COLOURS, MERGE = 3, 12, 100, 32, 30.0
SEED = 42
IMAGE_PROMPT = "a red ball on a blue background"  # toy_model.DEMO_PROMPT
T2V_PROMPT = "a red disk moving right on a blue background"
STEPS, CFG, CLIP, CLIPS = 15, 3.0, 16, 4  # bench/quality_t2v.py
LONG = CLIP * CLIPS
# file name -> (caption under the frames, needs the toy T2V)
GIFS = {
    "text2video_zero.gif": ("Text2Video-Zero, toy SD1.5", False),
    "temporal_shift_t2v.gif": ("Temporal Shift T2V, KSampler", True),
    "context_guided.gif": (f"Context-Guided, {LONG} frames", True),
    "reuse_diffuse.gif": (f"Reuse-Diffuse, {CLIPS} x {CLIP}", True),
    "video_elevator.gif": ("VideoElevator, T2V + T2I", True),
    "prompt_travel.gif": ("Prompt Schedule: red, green at 32", True),
}
TRAVEL_PROMPT = "a green disk moving right on a blue background"   # from frame 32 (docs/toy_t2v.md)


def check(out_dir=OUT_DIR) -> list[str]:
    """What is wrong with the GIFs in out_dir (empty: nothing); reads only the files."""
    from PIL import Image
    problems = []
    for name in GIFS:
        path = os.path.join(out_dir, name)
        if not os.path.exists(path):
            problems.append(f"{name}: missing")
            continue
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            problems.append(f"{name}: {size} bytes > {MAX_BYTES}")
        with Image.open(path) as im:
            if im.format != "GIF":
                problems.append(f"{name}: not a GIF ({im.format})")
            elif getattr(im, "n_frames", 1) < MIN_FRAMES:
                problems.append(f"{name}: {getattr(im, 'n_frames', 1)} frames < {MIN_FRAMES}")
    return problems


CAPTION_BG, CAPTION_FG = (24, 24, 24), (235, 235, 235)


def caption_strip(text, width):
    """A strip of two colours only (text without anti-aliasing), so that it costs two palette entries."""
    from PIL import Image, ImageDraw, ImageFont
    strip = Image.new("RGB", (width, CAPTION_H), CAPTION_BG)
    try:
        font = ImageFont.load_default(size=10)
    except (TypeError, OSError):  # Pillow without FreeType: the bitmap font
        font = ImageFont.load_default()
    draw = ImageDraw.Draw(strip)
    draw.fontmode = "1"
    draw.text((3, 0), text, fill=CAPTION_FG, font=font)
    return strip


def palette_of(pixels, merge=MERGE, most=COLOURS - 2):
    """One palette for all frames [F, H, W, 3] uint8: a 64-colour median cut of every frame at once, then, most
    frequent first, every colour within `merge` (RGB distance) of one already kept dropped: a flat toy-world
    background that the decoder draws with ±10 levels of noise becomes one colour (GIF's LZW then compresses it
    well), while the object, its edge blends and any wrong colour keep their own entries."""
    import numpy as np
    from PIL import Image
    f, h, w, _ = pixels.shape
    cut = Image.fromarray(np.ascontiguousarray(pixels.reshape(f * h, w, 3))).quantize(
        colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    counts = np.bincount(np.asarray(cut).ravel(), minlength=64)
    rgb = np.array(cut.getpalette()[:3 * 64], dtype=np.float64).reshape(-1, 3)
    kept = []
    for i in np.argsort(-counts, kind="stable"):
        if counts[i] and len(kept) < most and all(np.linalg.norm(rgb[i] - rgb[j]) > merge for j in kept):
            kept.append(int(i))
    return [tuple(int(v) for v in rgb[i]) for i in kept]


def write_gif(frames, caption, path):
    """frames [F, H, W, 3] float 0..1 -> an animated GIF, every frame on one palette of just the colours it uses
    (a short palette means short LZW codes), nearest colour, no dithering; returns the file's size in bytes."""
    import numpy as np
    import torch
    from PIL import Image
    pixels = (frames.float().clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    w = pixels.shape[2]
    colours = palette_of(pixels) + [CAPTION_BG, CAPTION_FG]
    rgb = np.array(colours, dtype=np.float64)
    index = ((pixels[..., None, :].astype(np.float64) - rgb) ** 2).sum(-1).argmin(-1).astype(np.uint8)
    index = index.repeat(SCALE, axis=1).repeat(SCALE, axis=2)
    strip = np.asarray(caption_strip(caption, w * SCALE))
    strip_index = np.where((strip == CAPTION_FG).all(-1), len(colours) - 1, len(colours) - 2).astype(np.uint8)
    flat = [v for c in colours for v in c]
    images = []
    for frame in index:
        im = Image.fromarray(np.concatenate([frame, strip_index]), "P")
        im.putpalette(flat)
        images.append(im)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    images[0].save(path, save_all=True, append_images=images[1:], duration=FRAME_MS, loop=0, optimize=False,
                   disposal=1)
    return os.path.getsize(path)


def run(node, **given):
    """node.execute with the schema's defaults for what is not given (bench/quality.py)."""
    inputs = node.define_schema().inputs
    kw = {i.id: i.default for i in inputs if getattr(i, "default", None) is not None}
    return node.execute(**{**kw, **given}).args


class Toy:
    """The toy image model, the toy T2V (None without its LoRA) and the pack's nodes, loaded once."""

    def __init__(self, log=print):
        import comfy.sd
        import toy_model
        import toy_t2v
        from comfy_env import BASE_DIR
        from pack_import import pack_module
        path = os.path.join(BASE_DIR, "models", "checkpoints", "vidlift-toy-sd15.safetensors")
        if os.path.islink(path):  # a link to another checkout's assembled copy: that checkout keeps it fresh
            out = comfy.sd.load_checkpoint_guess_config(path, output_vae=True, output_clip=True)
            self.image_model, self.clip, self.vae = out[0], out[1], out[2]
        else:
            self.image_model, self.clip, self.vae = toy_model.load_toy(path)
        self.toy_model, self.toy_t2v = toy_model, toy_t2v
        self.t2v = toy_t2v.t2v_model(self.image_model) if os.path.exists(toy_t2v.T2V) else None
        if self.t2v is None:
            log(f"[gallery] NOTE: {os.path.relpath(toy_t2v.T2V, ROOT)} is missing (train it with "
                "scripts/train_toy_t2v.py): the toy-T2V pictures are skipped")
        self.neg = toy_model.conditioning(self.clip, "")
        self.t2vz, self.vdm = pack_module("nodes.text2video_zero"), pack_module("nodes.video_ldm")
        self.vidrd, self.elevator = pack_module("nodes.vidrd"), pack_module("nodes.video_elevator")

    def pos(self, prompt):
        return self.toy_model.conditioning(self.clip, prompt)

    @staticmethod
    def empty(frames):
        import torch
        return {"samples": torch.zeros(frames, 4, 8, 8)}

    def text2video_zero(self):
        # 64×64, 16 frames, motion 12 px/frame along x, cfg 2, T′ 15/17
        from demo import TOY_SETTINGS as s
        return run(self.t2vz.Text2VideoZeroSampler, model=self.image_model, positive=self.pos(IMAGE_PROMPT),
                   negative=self.neg, latent=self.empty(s["frames"]), seed=SEED, cfg=s["cfg"], motion_x=s["motion_x"],
                   motion_y=s["motion_y"], steps=50, t0=s["t0"], t1=s["t1"], chunk_size=s["frames"])[0]

    def temporal_shift_t2v(self):
        return self.toy_t2v.ksampler(self.t2v, self.pos(T2V_PROMPT), self.neg, SEED, CLIP, steps=STEPS, cfg=CFG)

    def context_guided(self):
        return run(self.vdm.ContextGuidedSampler, model=self.t2v, positive=self.pos(T2V_PROMPT), negative=self.neg,
                   latent=self.empty(1), seed=SEED, steps=STEPS, cfg=CFG, window=CLIP, frames=LONG)[0]

    def reuse_diffuse(self):
        import torch
        first, handoff = run(self.vidrd.ReuseDiffuseSampler, model=self.t2v, positive=self.pos(T2V_PROMPT),
                             negative=self.neg, latent=self.empty(CLIP), seed=SEED, steps=STEPS, cfg=CFG)
        more = run(self.vidrd.ReuseDiffuseExtender, model=self.t2v, positive=self.pos(T2V_PROMPT), negative=self.neg,
                   latent=self.empty(CLIP), seed=SEED, steps=STEPS, cfg=CFG, clips=CLIPS - 1, previous=handoff)[0]
        return {"samples": torch.cat([first["samples"], more["samples"]])}

    def prompt_travel(self):
        """A Reuse-Diffuse chain (4 clips of 16, overlap 4: 52 frames) whose positive is a Prompt Schedule."""
        import torch
        from pack_import import pack_module
        sched = pack_module("nodes.prompt_travel").PromptSchedule.execute(
            self.clip, f"0: {T2V_PROMPT}\n32: {TRAVEL_PROMPT}").args[0]
        kw = dict(model=self.t2v, positive=sched, negative=self.neg, latent=self.empty(CLIP), seed=SEED, steps=STEPS,
                  cfg=CFG)
        first, handoff = run(self.vidrd.ReuseDiffuseSampler, **kw)
        more = run(self.vidrd.ReuseDiffuseExtender, **kw, clips=CLIPS - 1, previous=handoff, keep_overlap=False)[0]
        return {"samples": torch.cat([first["samples"], more["samples"]])}

    def video_elevator(self):
        return run(self.elevator.AlternatingKSampler, image_model=self.image_model,
                   image_positive=self.pos(T2V_PROMPT), image_negative=self.neg, video_model=self.t2v,
                   video_positive=self.pos(T2V_PROMPT), video_negative=self.neg, latent=self.empty(CLIP), seed=SEED,
                   steps=STEPS, image_cfg=CFG, video_cfg=CFG, preset="custom (refine_steps)",
                   refine_steps="13,10,7,4", video_steps=3)[0]

    def decode(self, latent):
        return self.vae.decode(latent["samples"]).float().clamp(0, 1)


def report(frames, prompt):
    """One line of toy-world metrics (scripts/toy_world/metrics.py) read from the frames."""
    from toy_world import metrics
    m = metrics.video_metrics(frames, prompt)
    c = [metrics.frame_stats(f)["centroid"] for f in frames]
    shift = c[-1] - c[0]
    return (f"fidelity {m['fidelity']:.0%}, colour consistency {m['colour_consistency']:.0%}, "
            f"centroid moved ({float(shift[0]):+.1f}, {float(shift[1]):+.1f}) px")


def make(names, out_dir=OUT_DIR, log=print):
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    from comfy_env import import_comfy
    import_comfy(cpu=True)
    import torch
    torch.set_num_threads(1)  # the machine is shared; the toy model is small
    from pack_import import pack_package
    pack_package()
    t_all = time.time()
    toy = Toy(log)
    made = []
    for name in names:
        caption, needs_t2v = GIFS[name]
        if needs_t2v and toy.t2v is None:
            log(f"[gallery] {name}: skipped (no toy T2V LoRA)")
            continue
        t = time.time()
        torch.manual_seed(0)  # nothing should draw from the global generator, but if it does, the same every run
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            latent = getattr(toy, name[:-len(".gif")])()
        with torch.no_grad():
            frames = toy.decode(latent)
        path = os.path.join(out_dir, name)
        size = write_gif(frames, caption, path)
        prompt = T2V_PROMPT if needs_t2v else IMAGE_PROMPT
        log(f"[gallery] {os.path.relpath(path, ROOT)}: {len(frames)} frames, {size / 1000:.0f} KB, "
            f"{time.time() - t:.0f} s; {report(frames, prompt.replace(' moving right', ''))}", flush=True)
        made.append(name)
    log(f"[gallery] {len(made)}/{len(names)} pictures in {time.time() - t_all:.0f} s")
    return made


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", default="", help="comma-separated file names (or parts of them) of GIFS to make")
    p.add_argument("--check", action="store_true", help="check the GIFs in docs/gallery; no sampling")
    a = p.parse_args(argv)
    if a.check:
        problems = check()
        for line in problems:
            print(f"[gallery] {line}")
        print(f"[gallery] check: {len(GIFS) - len({x.split(':')[0] for x in problems})}/{len(GIFS)} GIFs fine")
        return 1 if problems else 0
    names = [n for n in GIFS if not a.only or any(part.strip() and part.strip() in n for part in a.only.split(","))]
    if not names:
        sys.exit(f"[gallery] --only {a.only!r} names none of {', '.join(GIFS)}")
    made = make(names)
    problems = [x for x in check() if x.split(":")[0] in made]
    for line in problems:
        print(f"[gallery] {line}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
