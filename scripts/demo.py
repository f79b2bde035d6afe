"""`make demo`: run workflows/text2video_zero.json in a real ComfyUI started headless, write an mp4 under output/.

Uses a real SD1.x checkpoint from .comfy_base/models/checkpoints when there is one; otherwise a
tiny random-weight model of the same architecture (scripts/tiny_checkpoint.py), whose frames are noise.
"""
from __future__ import annotations

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
SD1_KEY = "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight"


def real_sd1_checkpoint() -> str | None:
    from safetensors import safe_open
    for name in sorted(os.listdir(CKPT_DIR)):
        if name == TINY or not name.endswith(".safetensors"):
            continue
        try:
            with safe_open(os.path.join(CKPT_DIR, name), "pt") as f:
                if SD1_KEY in f.keys() and f.get_slice(SD1_KEY).get_shape() == [320, 768]:
                    return name
        except Exception:  # not a readable safetensors file: not ours to judge
            continue
    return None


def choose_checkpoint() -> tuple[str, bool]:
    os.makedirs(CKPT_DIR, exist_ok=True)
    real = real_sd1_checkpoint()
    if real:
        print(f"[demo] using the SD1.x checkpoint {real}")
        return real, True
    if not os.path.exists(os.path.join(CKPT_DIR, TINY)):
        print("[demo] no SD1.x checkpoint in", CKPT_DIR, "- writing a tiny random-weight one (300 MB)")
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "tiny_checkpoint.py"), os.path.join(CKPT_DIR, TINY)],
                       check=True)
    print("[demo] NOTE: no real SD1.x checkpoint found, so the built-in tiny model with RANDOM weights is used:\n"
          "[demo]       the frames will be noise. Put an SD1.5 .safetensors file in", CKPT_DIR, "for real video.")
    return TINY, False


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


def main():
    ckpt, real = choose_checkpoint()
    ui = json.load(open(WORKFLOW))
    for node in ui["nodes"]:
        if node["type"] == "CheckpointLoaderSimple":
            node["widgets_values"][0] = ckpt
        if node["type"] == "EmptyLatentImage" and not real:
            node["widgets_values"][:2] = [128, 128]  # random weights only prove the pipeline: keep it quick on CPU
    out_dir = os.path.join(ROOT, "output")
    with ComfyServer(port=int(os.environ.get("DEMO_PORT", 8190)), output_dir=out_dir,
                     log_path=os.path.join(BASE_DIR, "demo-comfyui.log")) as server:
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
    import av
    with av.open(path) as c:
        s = c.streams.video[0]
        frames = sum(1 for _ in c.decode(s))
        print(f"[demo] {frames} frames, {s.codec_context.name}, {s.average_rate} fps, {s.width}x{s.height}, "
              f"{time.time() - t:.0f} s" + ("" if real else " (random weights: noise)"))
    print(f"[demo] wrote {path}")


if __name__ == "__main__":
    main()
