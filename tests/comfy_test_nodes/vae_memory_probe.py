"""Peak memory of Temporal VAE Decode for several frame counts, in a fresh process.

Usage: python vae_memory_probe.py cpu|cuda N1 N2 ...  → prints {"N1": bytes, ...}: the working memory,
i.e. the peak minus the decoded output itself (on CPU the output lives in the same memory).
(PROBE_WINDOW=n changes the window from 14; a window of all frames shows what windowing saves.)
CPU: peak resident memory above the level before the call (the kernel's high-water mark, reset per
call through /proc/self/clear_refs; run with MALLOC_MMAP_THRESHOLD_=65536 so freed tensors leave
RSS). CUDA: torch.cuda.max_memory_allocated.
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
from vidlift.nodes.node_temporal_vae_decode import TemporalVAEDecode  # noqa: E402


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
        return torch.cuda.max_memory_allocated() - base   # the output is streamed to CPU
    base = resident()
    with open("/proc/self/clear_refs", "w") as f:  # reset the high-water mark to the current RSS
        f.write("5")
    out = fn()
    return high_water() - base - out.numel() * out.element_size()


if __name__ == "__main__":
    counts = [int(n) for n in sys.argv[2:]]
    vae = tiny.temporal_vae_model(ch=64)
    z = torch.randn(max(counts), 4, 8, 8, generator=torch.Generator().manual_seed(0))
    TemporalVAEDecode.execute({"samples": z[:2]}, vae, 14, 4, 0, 64)  # warm-up: kernels, allocator
    peaks = {}
    for n in counts:
        window = int(os.environ.get("PROBE_WINDOW", 14))
        peaks[n] = peak_of(lambda: TemporalVAEDecode.execute({"samples": z[:n]}, vae, window, 4, 0, 64).args[0])
    print(json.dumps(peaks))
