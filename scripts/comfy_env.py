"""Where ComfyUI is, and how to import it in-process (scripts, tests, benchmarks)."""
from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# one set of folders per ComfyUI (scripts/setup.sh): .venv-tag, .comfy-tag, .comfy_base-tag; "" for the default
ENV_SUFFIX = os.environ.get("VIDLIFT_ENV", "")
BASE_DIR = os.path.join(ROOT, ".comfy_base" + ENV_SUFFIX)


def comfyui_path() -> str:
    """COMFYUI_PATH when set, else the ComfyUI that `make setup` installed."""
    path = os.environ.get("COMFYUI_PATH")
    if not path:
        marker = os.path.join(ROOT, ".comfy" + ENV_SUFFIX, "comfyui_path")
        if not os.path.exists(marker):
            sys.exit("ComfyUI is not set up: run `make setup` (or set COMFYUI_PATH).")
        path = open(marker).read().strip()
    return os.path.abspath(path)


def import_comfy(cpu: bool | None = None) -> str:
    """Put ComfyUI on sys.path and choose the device before comfy.model_management is imported."""
    path = comfyui_path()
    if path not in sys.path:
        sys.path.insert(0, path)
    import torch
    from comfy.cli_args import args
    args.cpu = (not torch.cuda.is_available()) if cpu is None else cpu
    if args.cpu:  # ComfyUI picks sub-quadratic attention on CPU, about 2× slower here than PyTorch's SDPA
        args.use_pytorch_cross_attention = True
    return path
