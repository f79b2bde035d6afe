"""Peak memory of Temporal VAE Decode for several frame counts, in a fresh process.

Usage: python vae_memory_probe.py cpu|cuda N1 N2 ...  → prints {"N1": bytes, ...}: the working memory,
i.e. the peak minus the decoded output itself (on CPU the output lives in the same memory).
(PROBE_WINDOW=n changes the window from 14; a window of all frames shows what windowing saves.)
(Measured by memory_peak.peak_of.)
"""
import json
import os
import sys

from memory_peak import bootstrap, peak_of

GPU = sys.argv[1] == "cuda"
bootstrap(GPU)
import torch  # noqa: E402

from comfy_test_nodes import tiny  # noqa: E402
from vidlift.nodes.temporal_vae_decode import TemporalVAEDecode  # noqa: E402


if __name__ == "__main__":
    counts = [int(n) for n in sys.argv[2:]]
    vae = tiny.temporal_vae_model(ch=64)
    z = torch.randn(max(counts), 4, 8, 8, generator=torch.Generator().manual_seed(0))
    TemporalVAEDecode.execute({"samples": z[:2]}, vae, 14, 4, 0, 64)  # warm-up: kernels, allocator
    peaks = {}
    for n in counts:
        window = int(os.environ.get("PROBE_WINDOW", 14))
        peaks[n] = peak_of(lambda n=n, window=window: TemporalVAEDecode.execute({"samples": z[:n]}, vae, window, 4, 0,
                                                                               64).args[0], GPU)
    print(json.dumps(peaks))
