"""`make serve`: ComfyUI with the pack and its UI on 127.0.0.1:PORT (default 8188), previews on."""
import os
import sys

from comfy_env import comfyui_path
from comfy_server import ComfyServer

if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8188
    cmd = ComfyServer(port=port, extra_args=["--preview-method", "auto"]).command()
    print("[serve] ComfyUI on http://127.0.0.1:%d  (Ctrl-C stops it)" % port, flush=True)
    os.chdir(comfyui_path())
    os.execv(cmd[0], cmd)
