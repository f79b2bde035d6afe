"""Peak memory per phase of the Alternating KSampler with Wan 2.1 as T2V (issue 17 §1), on the tiny test models.

Phases: T2I steps (U-Net calls), T2V steps (WanModel calls), and the bridge's VAE calls (image VAE decode / encode,
Wan VAE encode / decode). CPU: the process's resident memory sampled every millisecond, the peak within each
phase minus the resident memory before the run. CUDA (`--device cuda`): torch's peak allocation within each phase.
Run: .venv/bin/python bench/elevator_wan_memory.py [--frames 17] [--size 128]   (not part of make test)
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "scripts"), os.path.join(ROOT, "tests")]
p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
p.add_argument("--frames", type=int, default=17)
p.add_argument("--size", type=int, default=128, help="pixel width and height")
ARGS = p.parse_args()

from comfy_env import import_comfy  # noqa: E402

import_comfy(cpu=ARGS.device == "cpu")
import psutil  # noqa: E402
import torch  # noqa: E402

if "vidlift" not in sys.modules:
    pkg = types.ModuleType("vidlift")
    pkg.__path__ = [ROOT]
    sys.modules["vidlift"] = pkg

import comfy.patcher_extension as pe  # noqa: E402
from comfy_test_nodes import tiny, tiny_dit  # noqa: E402
from vidlift.nodes.node_video_elevator import CUSTOM, INVERSIONS, AlternatingKSampler  # noqa: E402

PEAK, STATE = {}, {"phase": None}


def now() -> int:
    return torch.cuda.memory_allocated() if ARGS.device == "cuda" else psutil.Process().memory_info().rss


def enter(phase):
    STATE["phase"] = phase
    if ARGS.device == "cuda":
        torch.cuda.reset_peak_memory_stats()


def leave():
    if ARGS.device == "cuda":
        phase = STATE["phase"]
        PEAK[phase] = max(PEAK.get(phase, 0), torch.cuda.max_memory_allocated())
    STATE["phase"] = None


def sampler(stop):
    while not stop.is_set():
        phase = STATE["phase"]
        if phase is not None:
            PEAK[phase] = max(PEAK.get(phase, 0), now())
        time.sleep(0.001)


def tagged(model, phase):
    m = model.clone()

    def wrapper(executor, *args, **kwargs):
        enter(phase)
        try:
            return executor(*args, **kwargs)
        finally:
            leave()
    m.add_wrapper_with_key(pe.WrappersMP.DIFFUSION_MODEL, "vidlift_bench_phase", wrapper)
    return m


class TaggedVAE:
    def __init__(self, vae, name):
        self.vae, self.name = vae, name

    def __getattr__(self, attr):
        return getattr(self.vae, attr)

    def decode(self, z):
        enter(f"{self.name} decode")
        try:
            return self.vae.decode(z)
        finally:
            leave()

    def encode(self, pixels):
        enter(f"{self.name} encode")
        try:
            return self.vae.encode(pixels)
        finally:
            leave()


def main():
    device = "cuda" if ARGS.device == "cuda" else "cpu"
    unet, wan = tiny.unet_model(), tiny_dit.wan21()
    sd_vae, wan_vae = tiny.vae_model(), tiny.wan21_vae_model()
    conds = (tiny.conditioning(1), tiny.conditioning(2))
    latent = {"samples": torch.zeros(ARGS.frames, 4, ARGS.size // 8, ARGS.size // 8)}
    stop = threading.Event()
    thread = threading.Thread(target=sampler, args=(stop,), daemon=True)
    with torch.inference_mode():
        base = now()
        thread.start()
        AlternatingKSampler.execute(tagged(unet, "T2I step"), *conds, tagged(wan, "T2V step"), *conds, latent, 0, 12,
                                    5.0, 5.0, CUSTOM, "10,6,3", 3, "ddim", "gaussian", 1.0, 0.4, INVERSIONS[0], 1.5,
                                    True, image_vae=TaggedVAE(sd_vae, "SD VAE"), video_vae=TaggedVAE(wan_vae, "Wan VAE"))
        stop.set()
        thread.join()
    print(f"{ARGS.frames} frames of {ARGS.size}², tiny SD1.5-layout U-Net + tiny WanModel, {device}; peak minus "
          f"{'allocated' if device == 'cuda' else 'resident'} memory before the run:")
    for phase, peak in sorted(PEAK.items()):
        print(f"| {phase} | {(peak - base) / 2 ** 20:.1f} MiB |")


if __name__ == "__main__":
    main()
