"""`make demo`: run workflows/text2video_zero.json in a real ComfyUI started headless, write an mp4 under output/;
with the toy model, also the toy text-to-video model extended by the Reuse-Diffuse Extender (scripts/demo_t2v.py).

Uses a real SD1.x checkpoint from .comfy_base/models/checkpoints when there is one; otherwise the toy-world model
(scripts/toy_model.py, docs/toy_model.md): a tiny SD1.x checkpoint trained on flat shapes, prompted with
"a red ball on a blue background" at 64×64, whose frames are measured with scripts/toy_world/metrics.py.
Without the shipped toy weights it falls back to random weights (scripts/tiny_checkpoint.py): frames are noise.
Usage: python scripts/demo.py [--seed 42] [--videos 1]   (--videos N: N seeds in a row, toy model only)
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import time

from comfy_env import BASE_DIR, ROOT
from comfy_server import ComfyServer, output_files
from workflow_api import ui_to_api

WORKFLOW = os.path.join(ROOT, "workflows", "text2video_zero.json")
CKPT_DIR = os.path.join(BASE_DIR, "models", "checkpoints")
TINY = "vidlift-tiny-random-sd15.safetensors"
TOY = "vidlift-toy-sd15.safetensors"
# Text2Video-Zero on the toy model: 16 frames of 64×64 (8×8 latents); motion 12 canvas px per frame = 1.5 px at 64
# px, along x only (the disk pans ~22 px), 50 DDIM steps. T′ later than the reference (t0 15, t1 17 instead of 44, 47):
# the toy objects cover a few latent pixels, so at the reference's T′ (t ≈ 900) the latent has not fixed where the
# object is and every frame draws it elsewhere (docs/toy_model.md). cfg 2: at 7.5 guidance pushes the toy latent far
# outside its -1..1 range.
TOY_SETTINGS = dict(width=64, height=64, frames=16, motion_x=12.0, motion_y=0.0, cfg=2.0, t0=15, t1=17)
SD1_KEY = "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight"


def real_sd1_checkpoint() -> str | None:
    from safetensors import safe_open
    for name in sorted(os.listdir(CKPT_DIR)):
        if name in (TINY, TOY) or not name.endswith(".safetensors"):
            continue
        try:
            with safe_open(os.path.join(CKPT_DIR, name), "pt") as f:
                if SD1_KEY in f.keys() and f.get_slice(SD1_KEY).get_shape() == [320, 768]:
                    return name
        except Exception:  # not a readable safetensors file: not ours to judge
            continue
    return None


def choose_checkpoint() -> tuple[str, str]:
    """(file name, kind): kind is "real", "toy" or "random"."""
    os.makedirs(CKPT_DIR, exist_ok=True)
    real = real_sd1_checkpoint()
    if real:
        print(f"[demo] using the SD1.x checkpoint {real}")
        return real, "real"
    import toy_model
    if os.path.exists(toy_model.SHIPPED):
        path = os.path.join(CKPT_DIR, TOY)
        if not os.path.exists(path) or os.path.getmtime(path) < os.path.getmtime(toy_model.SHIPPED):
            subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "toy_model.py"), path], check=True)
        print("[demo] NOTE: no real SD1.x checkpoint found, so the built-in TOY MODEL is used: a tiny SD1.x model\n"
              "[demo]       trained on flat shapes (docs/toy_model.md). Put an SD1.5 .safetensors file in",
              CKPT_DIR, "for real video.")
        return TOY, "toy"
    if not os.path.exists(os.path.join(CKPT_DIR, TINY)):
        print("[demo] no SD1.x checkpoint in", CKPT_DIR, "- writing a tiny random-weight one (300 MB)")
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "tiny_checkpoint.py"), os.path.join(CKPT_DIR, TINY)],
                       check=True)
    print("[demo] NOTE: no real SD1.x checkpoint found, so the built-in tiny model with RANDOM weights is used:\n"
          "[demo]       the frames will be noise. Put an SD1.5 .safetensors file in", CKPT_DIR, "for real video.")
    return TINY, "random"


def progress_printer(titles):
    state = {"node": None}

    def on_message(msg):
        kind, data = msg["type"], msg.get("data", {})
        if kind == "executing" and data.get("node"):
            state["node"] = data["node"]
            print(f"\n[demo] running {titles.get(data['node'], data['node'])}", end="", flush=True)
        elif kind == "progress":
            print(f"\r[demo] {titles.get(data.get('node'), '')}: step {data['value']}/{data['max']}   ",
                  end="", flush=True)
        elif kind == "execution_error":
            print(f"\n[demo] error in {data.get('node_type')}: {data.get('exception_message')}")
    return on_message


def configure(ui, ckpt, kind, seed):
    """The workflow for this checkpoint: the toy model gets its prompt, size, frame count and motion."""
    import toy_model
    for node in ui["nodes"]:
        w = node.get("widgets_values")
        if node["type"] == "CheckpointLoaderSimple":
            w[0] = ckpt
        elif kind == "toy" and node["type"] == "CLIPTextEncode" and w[0]:
            w[0] = toy_model.DEMO_PROMPT  # the positive prompt; the negative stays "" (the toy model's uncond)
        elif node["type"] == "EmptyLatentImage" and kind == "toy":
            w[:3] = [TOY_SETTINGS["width"], TOY_SETTINGS["height"], TOY_SETTINGS["frames"]]
        elif node["type"] == "EmptyLatentImage" and kind == "random":
            w[:2] = [128, 128]  # random weights only prove the pipeline: keep it quick on CPU
        elif node["type"] == "VidLift_Text2VideoZeroSampler":
            w[0] = seed
            if kind == "toy":  # widgets: seed, control, cfg, motion_x, motion_y, steps, t0, t1, chunk_size
                w[2:5] = [TOY_SETTINGS["cfg"], TOY_SETTINGS["motion_x"], TOY_SETTINGS["motion_y"]]
                w[6:8] = [TOY_SETTINGS["t0"], TOY_SETTINGS["t1"]]
                w[8] = TOY_SETTINGS["frames"]  # 8×8 latents: all frames in one pass, anchored on frame 1
    return ui


def read_frames(path):
    """mp4 -> (frames [F,H,W,3] float 0..1, stream description)."""
    import av
    import numpy as np
    import torch
    with av.open(path) as c:
        s = c.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(s)]
        desc = f"{len(frames)} frames, {s.codec_context.name}, {s.average_rate} fps, {s.width}x{s.height}"
    return torch.from_numpy(np.stack(frames)).float() / 255.0, desc


def report_toy(frames, prompt):
    """Print the toy-world metrics of one video; returns (fidelity, displacement in px, passed)."""
    from toy_world import metrics
    import torch
    m = metrics.video_metrics(frames, prompt)
    c = [metrics.frame_stats(f)["centroid"] for f in frames]
    shift = (c[-1] - c[0]) if len(c) > 1 else torch.zeros(2)
    moved = float(shift.norm()) if torch.isfinite(shift).all() else 0.0
    passed = m["fidelity"] >= 0.9 and moved >= 4.0
    n = len(frames)
    print(f"[demo] toy metrics for {prompt!r} (scripts/toy_world/metrics.py, read from the mp4's pixels):\n"
          f"[demo]   prompt fidelity: object red and background blue in {round(m['fidelity'] * n)}/{n} frames "
          f"({m['fidelity']:.0%}); shape read as disk in {m['shape_fidelity']:.0%}\n"
          f"[demo]   consistency: object colour {m['colour_consistency']:.0%}, shape {m['shape_consistency']:.0%}, "
          f"area std/mean {m['area_cv']:.2f}, background flicker {m['flicker']:.3f}\n"
          f"[demo]   motion: centroid moved ({float(shift[0]):+.1f}, {float(shift[1]):+.1f}) px first to last frame, "
          f"{m['speed']:.2f} px/frame, smoothness (2nd difference) {m['smoothness']:.2f}\n"
          f"[demo]   done criterion (>= 90% red-on-blue frames, moves >= 4 px): {'PASS' if passed else 'FAIL'}")
    return m["fidelity"], moved, passed


def extended_video(server, ckpt, seed, out_dir):
    """The toy T2V extended by the Reuse-Diffuse Extender (scripts/demo_t2v.py), when its LoRA is shipped."""
    import demo_t2v
    import toy_t2v
    if not os.path.exists(toy_t2v.T2V):
        print(f"[demo] {toy_t2v.T2V} is missing: no toy text-to-video clip")
        return
    t = time.time()
    prompt = demo_t2v.extension_prompt(server.get("/object_info"), ckpt, demo_t2v.install_lora(toy_t2v.T2V),
                                       demo_t2v.shift_settings(toy_t2v.T2V), seed)
    titles = {k: v["_meta"]["title"] for k, v in prompt.items()}
    result = server.run(prompt, {}, progress_printer(titles))
    print()
    if result["status"] != "success":
        print(json.dumps(result.get("errors"), indent=1)[:4000], "\n", server.log_tail())
        sys.exit(f"[demo] the toy T2V extension failed ({result['status']})")
    video = [f for f in output_files(result["history"]) if f["filename"].endswith(".mp4")][0]
    path = os.path.join(out_dir, video.get("subfolder", ""), video["filename"])
    frames, desc = read_frames(path)
    print(f"[demo] toy T2V extended: {desc}, {time.time() - t:.0f} s")
    demo_t2v.report(frames)
    print(f"[demo] wrote {path}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--videos", type=int, default=1, help="toy model: this many seeds from --seed, summarised")
    a = p.parse_args(argv)
    ckpt, kind = choose_checkpoint()
    out_dir = os.path.join(ROOT, "output")
    results = []
    with ComfyServer(port=int(os.environ.get("DEMO_PORT", 8190)), output_dir=out_dir,
                     log_path=os.path.join(BASE_DIR, "demo-comfyui.log")) as server:
        for seed in range(a.seed, a.seed + (a.videos if kind == "toy" else 1)):
            ui = configure(json.load(open(WORKFLOW)), ckpt, kind, seed)
            prompt = ui_to_api(ui, server.get("/object_info"))
            titles = {k: v["_meta"]["title"] for k, v in prompt.items()}
            t = time.time()
            result = server.run(prompt, {"extra_pnginfo": {"workflow": copy.deepcopy(ui)}}, progress_printer(titles))
            print()
            if result["status"] != "success":
                print(json.dumps(result.get("errors"), indent=1)[:4000], "\n", server.log_tail())
                sys.exit(f"[demo] the workflow failed ({result['status']})")
            videos = [f for f in output_files(result["history"]) if f["filename"].endswith(".mp4")]
            path = os.path.join(out_dir, videos[0].get("subfolder", ""), videos[0]["filename"])
            frames, desc = read_frames(path)
            note = {"real": "", "toy": " (toy model)", "random": " (random weights: noise)"}[kind]
            print(f"[demo] seed {seed}: {desc}, {time.time() - t:.0f} s{note}")
            if kind == "toy":
                import toy_model
                results.append(report_toy(frames, toy_model.DEMO_PROMPT))
            print(f"[demo] wrote {path}")
        if kind == "toy":
            extended_video(server, ckpt, a.seed, out_dir)
    if len(results) > 1:
        ok = sum(r[2] for r in results)
        print(f"[demo] {ok}/{len(results)} videos pass; mean fidelity {sum(r[0] for r in results) / len(results):.0%}, "
              f"mean displacement {sum(r[1] for r in results) / len(results):.1f} px")


if __name__ == "__main__":
    main()
