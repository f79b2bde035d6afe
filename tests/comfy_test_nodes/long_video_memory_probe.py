"""Peak memory of the long-video samplers for several frame counts, in a fresh process.

Usage: python long_video_memory_probe.py cpu|cuda context|reuse WINDOW N1 N2 ...  → prints {"N1": bytes, ...}:
the working memory, i.e. the peak minus the returned video latent. Tiny U-Net with cross-frame attention,
PROBE_STEPS DDIM steps (default 1), PROBE_SIZE² latents (default 8).
  context: Context-Guided Sampler, windows of WINDOW frames, S = 2, context guidance 1.5 (two passes a step).
  reuse:   Reuse-Diffuse Extender, clips of WINDOW frames (N must divide it), M 4, overlap frames kept.
  wan:     Reuse-Diffuse Extender on a tiny Wan 2.1 (5-D latents), clips of WINDOW latent frames, M 2, N = extensions
           after clip 0 (the run makes N + 1 clips).
A WINDOW as long as the video puts all frames in one window (one clip): what windowing saves.
(Measured by memory_peak.peak_of.)
"""
import json
import os
import sys

from memory_peak import bootstrap, peak_of

GPU = sys.argv[1] == "cuda"
bootstrap(GPU)
import torch  # noqa: E402

from comfy_test_nodes import tiny, tiny_dit  # noqa: E402
from vidlift.nodes.video_ldm import ContextGuidedSampler  # noqa: E402
from vidlift.nodes.vidrd import DIRECTIONS, ReuseDiffuseExtender  # noqa: E402
from vidlift.nodes.glue.model_patches import add_cross_frame_attention  # noqa: E402


def sampler(kind, model, window, size, steps):
    """frames → the video latent [frames, 4, size, size]."""
    pos, neg = tiny.conditioning(1), tiny.conditioning(2)
    if kind == "context":
        latent = {"samples": torch.zeros(1, 4, size, size)}
        return lambda frames: ContextGuidedSampler.execute(model, pos, neg, latent, 0, steps, 7.5, window, frames, 2,
                                                           1.5).args[0]["samples"]

    def reuse(frames):
        clip = min(window, frames)
        assert frames % clip == 0, f"clips of {clip} frames do not fill {frames}"
        latent = {"samples": torch.zeros(clip, 4, size, size)}
        return ReuseDiffuseExtender.execute(model, pos, neg, latent, 0, steps, 7.5, frames // clip, 4, 4.0, 0.4,
                                            DIRECTIONS[0], True).args[0]["samples"]
    def wan(extensions):
        latent = {"samples": torch.zeros(1, 16, window, size // 2, size // 2)}
        return ReuseDiffuseExtender.execute(model, pos, neg, latent, 0, steps, 3.0, extensions + 1, 2, 1.0, 0.4,
                                            DIRECTIONS[0], False).args[0]["samples"]
    return wan if kind == "wan" else reuse


if __name__ == "__main__":
    kind, window, counts = sys.argv[2], int(sys.argv[3]), [int(n) for n in sys.argv[4:]]
    size, steps = int(os.environ.get("PROBE_SIZE", 8)), int(os.environ.get("PROBE_STEPS", 1))
    model = tiny_dit.wan21() if kind == "wan" else add_cross_frame_attention(tiny.unet_model())
    run = sampler(kind, model, window, size, steps)
    peaks = {}
    for n in counts:
        run(n)        # warm-up at this length: model load, kernels and allocator caches for every window shape
        peaks[n] = peak_of(lambda n=n: run(n), GPU)
    print(json.dumps(peaks))
