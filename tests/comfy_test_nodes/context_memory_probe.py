"""Peak memory of the Context-Guided Sampler for several frame counts, in a fresh process.

Usage: python context_memory_probe.py cpu|cuda WINDOW N1 N2 ...  → prints {"N1": bytes, ...}: the working
memory, i.e. the peak minus the returned video latent. Tiny U-Net with cross-frame attention, S = 2,
context guidance 1.5 (two passes a step), PROBE_STEPS DDIM steps (default 1), PROBE_SIZE² latents (default 8).
A WINDOW larger than the video puts all frames in one window: what windowing saves.
CPU: peak resident memory above the level before the call (the kernel's high-water mark, reset per
call through /proc/self/clear_refs; run with MALLOC_MMAP_THRESHOLD_=65536 so freed tensors leave RSS).
CUDA: torch.cuda.max_memory_allocated.
"""
import json
import os
import sys
import types

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [os.path.join(ROOT, "scripts"), os.path.join(ROOT, "tests")]
from comfy_env import import_comfy  # noqa: E402

GPU = sys.argv[1] == "cuda"
import_comfy(cpu=not GPU)
import torch  # noqa: E402

pkg = types.ModuleType("vidlift")
pkg.__path__ = [ROOT]
sys.modules["vidlift"] = pkg
from comfy_test_nodes import tiny  # noqa: E402
from vidlift.nodes.node_context_guided import ContextGuidedSampler  # noqa: E402
from vidlift.nodes.node_text2video_zero import add_cross_frame_attention  # noqa: E402


def resident() -> int:
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def high_water() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def peak_of(fn) -> int:
    if GPU:
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        fn()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base   # the video lives on the CPU
    base = resident()
    with open("/proc/self/clear_refs", "w") as f:  # reset the high-water mark to the current RSS
        f.write("5")
    out = fn()
    return high_water() - base - out.numel() * out.element_size()


if __name__ == "__main__":
    window, counts = int(sys.argv[2]), [int(n) for n in sys.argv[3:]]
    size, steps = int(os.environ.get("PROBE_SIZE", 8)), int(os.environ.get("PROBE_STEPS", 1))
    model = add_cross_frame_attention(tiny.unet_model())
    pos, neg = tiny.conditioning(1), tiny.conditioning(2)
    latent = {"samples": torch.zeros(1, 4, size, size)}

    def run(frames):
        return ContextGuidedSampler.execute(model, pos, neg, latent, 0, steps, 7.5, window,
                                            frames, 2, 1.5).args[0]["samples"]
    peaks = {}
    for n in counts:
        run(n)        # warm-up at this length: model load, kernels and allocator caches for every window shape
        peaks[n] = peak_of(lambda: run(n))
    print(json.dumps(peaks))
