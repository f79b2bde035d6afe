"""Helpers for the server tier: shipped workflows in API format with the tiny test model swapped in."""
import json
import os

from comfy_env import ROOT
from workflow_api import ui_to_api

SWAPS = {"CheckpointLoaderSimple": "VidLiftTest_TinyCheckpointLoader",  # stock loader -> tiny test model
         "ImageOnlyCheckpointLoader": "VidLiftTest_TinySVDLoader",
         "UNETLoader": "VidLiftTest_TinyUNETLoader",          # a tiny DiT of the family its file name names
         "CLIPLoader": "VidLiftTest_TinyCLIPLoader", "DualCLIPLoader": "VidLiftTest_TinyCLIPLoader",
         "VAELoader": "VidLiftTest_TinyVAELoader"}
EMPTY_LATENTS = ("EmptyLatentImage", "EmptySD3LatentImage")
# UNETLoader file name -> the adapter family of its tiny test model (comfy_test_nodes.TINY_DIFFUSION_MODELS)
DIT_FAMILIES = {"flux": "Flux", "z_image": "Z-Image", "qwen_image": "Qwen-Image", "krea2": "Krea 2"}
# video latents: frames stay, the size shrinks; the pixel frames each latent frame after the first holds
EMPTY_VIDEO_LATENTS = {"EmptyHunyuanLatentVideo": 4, "EmptyHunyuanVideo15Latent": 4, "Wan22ImageToVideoLatent": 4,
                       "EmptyLTXVLatentVideo": 8}
# a family's model class, and the CLIPLoader type its template names, that a ComfyUI must have for its workflows
NEEDS = {"krea2": "Krea 2 (ComfyUI 0.26 or later)"}


def unavailable(ui, object_info):
    """Why this ComfyUI cannot run the workflow at all (a family it does not have, seen from CLIPLoader's types),
    or None."""
    types = object_info["CLIPLoader"]["input"]["required"]["type"][0]
    wanted = {n["widgets_values"][1] for n in ui["nodes"] if n["type"] == "CLIPLoader"}
    missing = [NEEDS[t] for t in sorted(wanted) if t in NEEDS and t not in types]
    return f"this ComfyUI has no {', '.join(missing)}" if missing else None


def dit_families(ui):
    """The adapter families of the workflow's diffusion models (UNETLoader nodes)."""
    names = [n["widgets_values"][0].lower() for n in ui["nodes"] if n["type"] == "UNETLoader"]
    return sorted({family for name in names for key, family in DIT_FAMILIES.items() if key in name})


def load_workflow(name):
    with open(os.path.join(ROOT, "workflows", name)) as f:
        return json.load(f)


def api_for_tests(ui, object_info, size=64):
    """The workflow in API format with the tiny test model swapped in and a small frame size."""
    prompt = ui_to_api(ui, object_info)
    for node in prompt.values():
        node["class_type"] = SWAPS.get(node["class_type"], node["class_type"])
        if node["class_type"] in EMPTY_LATENTS + tuple(EMPTY_VIDEO_LATENTS):
            node["inputs"].update(width=size, height=size)
        if node["class_type"] == "VidLift_TrainTemporalShiftLoRA":   # a few steps on short clips
            node["inputs"].update(steps=3, frames_per_clip=4, max_frames_per_video=8, width=size, height=size)
    return prompt


def write_training_clips(input_dir, folder="training_clips", clips=2, frames=8, size=64):
    """Short H.264 videos of a square moving right, for the training workflow's video_folder."""
    import av
    import numpy as np
    os.makedirs(os.path.join(input_dir, folder), exist_ok=True)
    for c in range(clips):
        with av.open(os.path.join(input_dir, folder, f"clip{c}.mp4"), "w") as container:
            stream = container.add_stream("libx264", rate=8)
            stream.width = stream.height = size
            stream.pix_fmt = "yuv420p"
            for f in range(frames):
                img = np.full((size, size, 3), (30, 50, 80), np.uint8)
                x, y = 4 + 4 * f, 8 + 16 * c
                img[y:y + 16, x:x + 16] = (230, 200, 30)
                container.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
            container.mux(stream.encode())
    return os.path.join(input_dir, folder)
