"""The second `make demo` video: the toy text-to-video model (the toy checkpoint + models/toy/vidlift-toy-t2v.safetensors
through stock LoraLoaderModelOnly + the Temporal Shift Patcher at the settings in the LoRA's metadata) makes a
16-frame clip with the Reuse-Diffuse Sampler and the Reuse-Diffuse Extender continues it by two clips: 48 frames,
queued over HTTP as an API prompt, read back from the mp4 and measured with the toy world's metrics.
"""
from __future__ import annotations

import json
import os
import shutil

from comfy_env import BASE_DIR

PROMPT = "a red disk moving right on a blue background"
FRAMES, CLIPS, STEPS, CFG = 16, 3, 15, 3.0


def node(object_info, class_type, title, **inputs):
    """An API-prompt node: `inputs` plus the schema's defaults for every other widget input."""
    info = object_info[class_type]["input"]
    for section in ("required", "optional"):
        for name, spec in info.get(section, {}).items():
            opts = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
            if name not in inputs and "default" in opts:
                inputs[name] = opts["default"]
    return {"class_type": class_type, "inputs": inputs, "_meta": {"title": title}}


def install_lora(lora_path):
    """The toy T2V LoRA in the base directory's loras folder (where LoraLoaderModelOnly lists it)."""
    folder = os.path.join(BASE_DIR, "models", "loras")
    os.makedirs(folder, exist_ok=True)
    dest = os.path.join(folder, os.path.basename(lora_path))
    if not os.path.exists(dest) or os.path.getmtime(dest) < os.path.getmtime(lora_path):
        shutil.copyfile(lora_path, dest)
    return os.path.basename(dest)


def extension_prompt(object_info, ckpt, lora_name, shift, seed):
    n = lambda cls, title, **kw: node(object_info, cls, title, **kw)      # noqa: E731
    return {
        "1": n("CheckpointLoaderSimple", "Load Checkpoint", ckpt_name=ckpt),
        "2": n("LoraLoaderModelOnly", "Toy T2V LoRA", model=["1", 0], lora_name=lora_name, strength_model=1.0),
        "3": n("VidLift_TemporalShift", "Temporal Shift Patcher", model=["2", 0], **shift),
        "4": n("CLIPTextEncode", "Prompt", clip=["1", 1], text=PROMPT),
        "5": n("CLIPTextEncode", "Negative", clip=["1", 1], text=""),
        "6": n("EmptyLatentImage", "Empty Latent (one clip)", width=64, height=64, batch_size=FRAMES),
        "7": n("VidLift_ReuseDiffuseSampler", "Reuse-Diffuse Sampler", model=["3", 0], positive=["4", 0],
               negative=["5", 0], latent=["6", 0], seed=seed, steps=STEPS, cfg=CFG),
        "8": n("VidLift_ReuseDiffuseExtender", "Reuse-Diffuse Extender", model=["3", 0], positive=["4", 0],
               negative=["5", 0], latent=["6", 0], seed=seed, steps=STEPS, cfg=CFG, clips=CLIPS - 1,
               previous=["7", 1]),
        "9": n("LatentBatch", "Join clips", samples1=["7", 0], samples2=["8", 0]),
        "10": n("VAEDecode", "VAE Decode", samples=["9", 0], vae=["1", 2]),
        "11": n("CreateVideo", "Create Video", images=["10", 0], fps=8.0),
        "12": n("SaveVideo", "Save Video", video=["11", 0], filename_prefix="video/toy_t2v_extended", format="auto",
                codec="auto"),
    }


def shift_settings(lora_path):
    from safetensors import safe_open
    with safe_open(lora_path, "pt") as f:
        return json.loads(f.metadata()["vidlift_temporal_shift"])


def report(frames):
    """Print the long-video metrics; returns True when the object keeps colour and shape and no seam jumps."""
    from toy_world import metrics
    m = {**metrics.video_metrics(frames, PROMPT), **metrics.motion_metrics(frames, PROMPT),
         **metrics.long_video_metrics(frames, PROMPT, [FRAMES * k for k in range(1, CLIPS)], FRAMES)}
    ok = m["fidelity"] >= 0.9 and m["keeps_object"] == 1.0 and m["no_seams"] == 1.0
    print(f"[demo] toy T2V + Reuse-Diffuse Extender, {PROMPT!r}, {len(frames)} frames:\n"
          f"[demo]   prompt fidelity {m['fidelity']:.0%}, direction {'right' if m['direction_ok'] else 'NOT right'} "
          f"({m['axis_speed']:+.2f} px/frame along it), median 2nd difference {m['median_second_difference']:.2f} px, "
          f"area std/mean {m['area_cv']:.2f}\n"
          f"[demo]   first vs last clip: {'same' if m['keeps_object'] else 'DIFFERENT'} object; largest jump at a clip "
          f"boundary {m['seam_ratio']:.2f}× the median motion inside clips (no seam: ≤ 2×); speed kept "
          f"{m['speed_kept']:.2f}× (last clip / first)\n"
          f"[demo]   done criterion (fidelity ≥ 90%, same object, no seam): {'PASS' if ok else 'FAIL'}")
    return ok
