"""What the *_memory_probe.py scripts share: a fresh process with ComfyUI and the pack importable, and the
peak memory of one call above the level before it.

CPU: peak resident memory (the kernel's high-water mark, reset per call through /proc/self/clear_refs; run
with MALLOC_MMAP_THRESHOLD_=65536 so freed tensors leave RSS) minus the returned tensor, which lives in the
same memory. CUDA: torch.cuda.max_memory_allocated above the allocation before the call (outputs go to CPU).
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def bootstrap(gpu: bool):
    """ComfyUI imported (CPU unless gpu), `vidlift` and `comfy_test_nodes` importable."""
    sys.path[:0] = [os.path.join(ROOT, "scripts"), os.path.join(ROOT, "tests")]
    from comfy_env import import_comfy
    import_comfy(cpu=not gpu)
    from pack_import import pack_package
    pack_package()


def resident() -> int:
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def high_water() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def peak_of(fn, gpu: bool) -> int:
    """Working memory of fn(): the peak above the level before the call, minus fn's returned tensor (CPU)."""
    import torch
    if gpu:
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        fn()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    base = resident()
    with open("/proc/self/clear_refs", "w") as f:  # reset the high-water mark to the current RSS
        f.write("5")
    out = fn()
    return high_water() - base - out.numel() * out.element_size()


def run_probe(script: str, *args, timeout: int = 900, **env) -> dict[int, int]:
    """Run tests/comfy_test_nodes/<script> in a fresh process and read its last line, {"frames": bytes}.
    A fixed mmap threshold makes glibc return every freed tensor to the OS, so RSS follows live memory."""
    import json
    import subprocess
    path = os.path.join(ROOT, "tests", "comfy_test_nodes", script)
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", **{k: str(v) for k, v in env.items()})
    out = subprocess.run([sys.executable, path, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                         env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{script} {' '.join(map(str, args))} failed:\n{out.stderr[-2000:]}")
    return {int(k): v for k, v in json.loads(out.stdout.strip().splitlines()[-1]).items()}
