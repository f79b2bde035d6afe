"""A cheap valid prompt through every pack node, whose outputs are compared bit for bit between servers.

The canary runs Temporal Shift → Cross-Frame Attention → Text2Video-Zero Sampler → LPFF → Reuse-Diffuse
Extender, a Motion-Latent Warp, a Temporal VAE Decode and LPFF Filter (Images) on the tiny test models at 32×32
px (4×4 latents), and saves three latents (SaveLatent), the decoded and the filtered frames (SaveImage, PNG): five outputs.

`nonce` goes into the sampler's chunk_size: every chunk_size ≥ the 4 frames (or 0) gives one sampling
pass, so the output is the same, but ComfyUI's cache key changes and every pack node downstream of the
model patches runs again instead of answering from the cache.
"""
from __future__ import annotations

import os
import socket

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file

from comfy_env import ROOT
from comfy_server import ComfyServer, output_files

FRAMES = 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_server(base) -> ComfyServer:
    """A new ComfyUI process on its own base directory, with the pack and the test nodes, not started."""
    os.makedirs(base / "custom_nodes")
    os.symlink(ROOT, base / "custom_nodes" / "vidlift")
    os.symlink(os.path.join(ROOT, "tests", "comfy_test_nodes"), base / "custom_nodes" / "vidlift_test_nodes")
    return ComfyServer(port=free_port(), base_dir=str(base), output_dir=str(base / "output"), cpu=True)


def canary_prompt(nonce: int = 0, steps: int = 4, prefix: str = "canary") -> dict:
    assert nonce == 0 or FRAMES <= nonce <= 4096
    blocks = dict(input_blocks=True, middle_block=True, output_blocks=True)
    schedule = dict(steps=steps, t0=1, t1=2)
    return {
        "1": {"class_type": "VidLiftTest_TinyCheckpointLoader", "inputs": {"ckpt_name": "tiny"}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "a horse galloping", "clip": ["1", 1]}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["1", 1]}},
        "4": {"class_type": "EmptyLatentImage", "inputs": {"width": 32, "height": 32, "batch_size": FRAMES}},
        "5": {"class_type": "VidLift_TemporalShift",
              "inputs": {"model": ["1", 0], "shift_fraction": 0.125, "position": "before conv1", "boundary": "zero",
                         "strength": 1.0, **blocks}},
        "6": {"class_type": "VidLift_CrossFrameAttention",
              "inputs": {"model": ["5", 0], "anchor": "first", "strength": 1.0, **blocks}},
        "7": {"class_type": "VidLift_Text2VideoZeroSampler",
              "inputs": {"model": ["6", 0], "positive": ["2", 0], "negative": ["3", 0], "latent": ["4", 0],
                         "seed": 7, "cfg": 5.0, "motion_x": 12.0, "motion_y": 12.0, **schedule, "chunk_size": nonce}},
        "8": {"class_type": "VidLift_LPFF",
              "inputs": {"samples": ["7", 0], "filter": "gaussian", "mode": "spatio-temporal (reference)",
                         "d_s": 1.0, "d_t": 0.5, "order": 4, "frames_per_video": 0}},
        "9": {"class_type": "VidLift_ReuseDiffuseExtender",
              "inputs": {"model": ["6", 0], "positive": ["2", 0], "negative": ["3", 0], "latent": ["8", 0],
                         "seed": 3, "steps": 2, "cfg": 5.0, "clips": 2, "overlap": 1, "noise_recycle": 4.0,
                         "staged_guidance": 0.4, "direction": "reverse (reference)", "keep_overlap": True}},
        "10": {"class_type": "VidLift_MotionLatentWarp",
               "inputs": {"model": ["1", 0], "first_frame_at_T": ["7", 0], "first_frame_at_T0": ["8", 0],
                          "frames": 3, "motion_x": 12.0, "motion_y": 12.0, **schedule, "seed": 0}},
        "11": {"class_type": "VidLiftTest_TinySVDLoader", "inputs": {"ckpt_name": "tiny"}},
        "12": {"class_type": "VidLift_TemporalVAEDecode",
               "inputs": {"samples": ["9", 0], "vae": ["11", 2], "window": 3, "overlap": 1, "tile_size": 0,
                          "tile_overlap": 64}},
        "13": {"class_type": "SaveLatent", "inputs": {"samples": ["8", 0], "filename_prefix": f"{prefix}/t2vz"}},
        "14": {"class_type": "SaveLatent", "inputs": {"samples": ["9", 0], "filename_prefix": f"{prefix}/vidrd"}},
        "15": {"class_type": "SaveLatent", "inputs": {"samples": ["10", 0], "filename_prefix": f"{prefix}/warp"}},
        "16": {"class_type": "SaveImage", "inputs": {"images": ["12", 0], "filename_prefix": f"{prefix}/frames"}},
        "17": {"class_type": "VidLift_LPFFImages",
               "inputs": {"images": ["12", 0], "filter": "gaussian", "mode": "spatio-temporal (reference)",
                          "d_s": 1.0, "d_t": 0.5, "order": 4, "frames_per_video": 0}},
        "18": {"class_type": "SaveImage", "inputs": {"images": ["17", 0], "filename_prefix": f"{prefix}/lpff"}},
    }


def read_outputs(server: ComfyServer, result: dict) -> dict[str, torch.Tensor]:
    """Every latent and image the finished prompt saved, by output node id (images stacked per node)."""
    assert result["status"] == "success", result.get("errors") or result
    out = {}
    for node_id, node_out in sorted(result["history"]["outputs"].items()):
        files = output_files({"outputs": {node_id: node_out}}, kinds=("latents", "images"))
        tensors = []
        for f in files:
            path = os.path.join(server.output_dir, f.get("subfolder", ""), f["filename"])
            if path.endswith(".latent"):
                tensors.append(load_file(path)["latent_tensor"])
            else:
                tensors.append(torch.from_numpy(np.array(Image.open(path))))
        out[node_id] = torch.stack(tensors)
    return out


def run_canary(server: ComfyServer, nonce: int = 0, **kw) -> dict[str, torch.Tensor]:
    return read_outputs(server, server.run(canary_prompt(nonce, **kw), timeout=600))


def assert_same_outputs(got: dict, expected: dict) -> None:
    assert sorted(got) == sorted(expected) and len(expected) == 5
    for key in expected:
        assert got[key].shape == expected[key].shape, key
        assert torch.equal(got[key], expected[key]), f"output of node {key} differs from a fresh server's"
