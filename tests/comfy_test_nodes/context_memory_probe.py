"""Peak memory of the Context-Guided Sampler for several frame counts, in a fresh process.

Usage: python context_memory_probe.py cpu|cuda WINDOW N1 N2 ...  → prints {"N1": bytes, ...}: the working
memory, i.e. the peak minus the returned video latent. Tiny U-Net with cross-frame attention, S = 2,
context guidance 1.5 (two passes a step), PROBE_STEPS DDIM steps (default 1), PROBE_SIZE² latents (default 8).
A WINDOW larger than the video puts all frames in one window: what windowing saves.
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
from vidlift.nodes.node_context_guided import ContextGuidedSampler  # noqa: E402
from vidlift.nodes.node_text2video_zero import add_cross_frame_attention  # noqa: E402


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
        peaks[n] = peak_of(lambda: run(n), GPU)
    print(json.dumps(peaks))
