"""`make bench` rows of the long-video samplers (bench/run.py runs them): the Context-Guided Sampler's time and memory
per frame at 16–256 frames, the Wan Reuse-Diffuse Extender's drift against a continuation through pixels, and its time
and memory per frame over 1–8 extensions."""
from __future__ import annotations

import torch

from comfy_test_nodes import tiny, tiny_dit
from comfy_test_nodes.memory_peak import run_probe
from timing import SETTINGS, report, time_per_frame
from vidlift.nodes.core.context_guidance import rollout_plan
from vidlift.nodes.core.video_extension import VideoClip
from vidlift.nodes.glue.model_patches import add_cross_frame_attention
from vidlift.nodes.video_ldm import ContextGuidedSampler
from vidlift.nodes.vidrd import ReuseDiffuseExtender, ReuseDiffuseSampler


def conds(dim, frames=1):
    """A positive / negative pair of tiny conditionings of width `dim` (every bench row uses it)."""
    return tiny.conditioning(1, dim=dim), tiny.conditioning(2, dim=dim)


def bench_long_video(steps=10, clip=8):
    model = add_cross_frame_attention(tiny.unet_model())
    pos, neg = conds(32)
    lat = {"samples": torch.zeros(clip, 4, 8, 8)}

    def run(frames):
        clips = frames // clip
        return lambda: ReuseDiffuseExtender.execute(model, pos, neg, lat, 0, steps, 7.5, clips, 4, 4.0, 0.4,
                                                    "reverse (reference)", True)
    per_frame = time_per_frame({n: run(n) for n in (16, 64, 256)})
    for n in (64, 256):
        report(f"Reuse-Diffuse Extender time per frame, {n} vs 16 frames", per_frame[n], per_frame[16],
               "flat within 10%", f"clips of {clip} frames, {steps} DDIM steps, tiny model with cross-frame attention")
    memory_rows("Reuse-Diffuse Extender", "reuse", clip, (16, 64, 256), f"clips of {clip} frames, M 4")


def bench_context(steps=5, window=8, counts=(16, 64, 256)):
    model = add_cross_frame_attention(tiny.unet_model())
    pos, neg = conds(32)
    lat = {"samples": torch.zeros(1, 4, 8, 8)}

    def run(frames):
        return lambda: ContextGuidedSampler.execute(model, pos, neg, lat, 0, steps, 7.5, window, frames, 2, 1.5)

    def per_output_frame(frames):
        """(frames through the model, model calls) per output frame: each window, and its new frames alone."""
        plan = rollout_plan(frames, window, 2, anchor=0)
        guided = [len(w.frames) > len(w.new) for w in plan]
        passes = sum(len(w.frames) + (len(w.new) if g else 0) for w, g in zip(plan, guided))
        return passes / frames, steps * (len(plan) + sum(guided)) / frames
    per_frame = time_per_frame({n: run(n) for n in counts})
    base = per_output_frame(counts[0])
    for n in counts[1:]:
        passes, calls = (a / b for a, b in zip(per_output_frame(n), base))
        report(f"Context-Guided Sampler time per frame, {n} vs {counts[0]} frames", per_frame[n], per_frame[counts[0]],
               "flat within 10%", f"T {window}, S 2, s 1.5, {steps} DDIM steps, tiny model + cross-frame attention; "
               f"per frame {passes:.2f}× the frame-passes and {calls:.2f}× the model calls of {counts[0]} frames")
    memory_rows("Context-Guided Sampler", "context", window, counts, f"T {window}, S 2")


def memory_rows(node, kind, window, counts, what, unit="frames", **env):
    """Working memory (peak minus the returned video) at each length vs the shortest, from a fresh process (`env`:
    the probe's PROBE_* settings)."""
    peak = run_probe("long_video_memory_probe.py", "cuda" if SETTINGS["gpu"] else "cpu", kind, window, *counts, **env)
    first = unit.removesuffix("s") if counts[0] == 1 else unit
    for n in counts[1:]:
        report(f"{node} working memory, {n} vs {counts[0]} {unit}", [peak[n]], [peak[counts[0]]], "flat within 10%",
               f"peak {'GPU allocation' if SETTINGS['gpu'] else 'RSS minus the output'}: {peak[counts[0]] / 1e6:.1f} MB for "
               f"{counts[0]} {first}, {peak[n] / 1e6:.1f} MB for {n} ({what})")


def channel_drift(latent, first):
    """Mean over channels of |μ_c − μ_c(first)| and |s_c − s_c(first)|, per-channel mean and std over (B, T, h, w)."""
    stats = lambda x: (x.mean(dim=(0, 2, 3, 4)), x.std(dim=(0, 2, 3, 4)))  # noqa: E731
    (m, s), (m0, s0) = stats(latent.double()), stats(first.double())
    return (m - m0).abs().mean().item(), (s - s0).abs().mean().item()


def pixel_round_trip(vae, clip: VideoClip, overlap: int) -> VideoClip:
    """The baseline's hand-off: decode the clip, encode its last 1 + 4M pixel frames (anchor and context: 1 + M
    latent frames, the first causal) and continue from those instead of the latents."""
    pixels = vae.decode(clip.latent)
    pixels = pixels.reshape(-1, *pixels.shape[-3:])          # [B, F, H, W, 3] → frames
    latent = clip.latent.clone()
    latent[:, :, -(overlap + 1):] = vae.encode(pixels[-(1 + 4 * overlap):]).cpu()
    return VideoClip(clip.noise, latent, clip.sigmas, clip.clip)


def bench_extend(extensions=4, frames=5, overlap=2, steps=6, size=8):
    """Wan 2.1 (tiny, random weights) extended in latent space vs through pixels: drift per extension (time and memory
    per frame: bench_extend_flat)."""
    model, vae = tiny_dit.wan21(), tiny.wan21_vae_model()
    pos, neg = conds(32)
    lat = {"samples": torch.zeros(1, 16, frames, size, size)}
    first, clip0 = ReuseDiffuseSampler.execute(model, pos, neg, lat, 0, steps, 3.0).args
    first = first["samples"]
    print("  | extension | ours: mean drift | ours: std drift | pixel round trip: mean drift | std drift | "
          "hand-off error, pixel round trip |\n  |---|---|---|---|---|---|")
    ours, base, drift = clip0, clip0, {"ours": [], "pixels": []}
    for k in range(1, extensions + 1):
        new_ours, ours = ReuseDiffuseExtender.execute(model, pos, neg, lat, 0, steps, 3.0, 1, overlap, 1.0, 0.4,
                                                      "reverse (reference)", False, ours).args
        handed = pixel_round_trip(vae, base, overlap)
        handoff = (handed.latent - base.latent)[:, :, -overlap:].abs().max().item()   # ours hands on exactly: 0
        new_base, base = ReuseDiffuseExtender.execute(model, pos, neg, lat, 0, steps, 3.0, 1, overlap, 1.0, 0.4,
                                                      "reverse (reference)", False, handed).args
        drift["ours"].append(channel_drift(new_ours["samples"], first))
        drift["pixels"].append(channel_drift(new_base["samples"], first))
        (om, os_), (bm, bs) = drift["ours"][-1], drift["pixels"][-1]
        print(f"  | {k} | {om:.4f} | {os_:.4f} | {bm:.4f} | {bs:.4f} | {handoff:.3f} |", flush=True)
    total = lambda rows: [m + s for m, s in rows]  # noqa: E731
    report(f"Wan extension drift vs pixel round trip, {extensions} extensions", total(drift["ours"]),
           total(drift["pixels"]), "≤ 0.5×", f"per-channel |Δmean| + |Δstd| vs the first clip over extensions 1–"
           f"{extensions} (range: extremes), tiny Wan 2.1 + tiny WanVAE, random weights, T {frames}, M {overlap}")


def bench_extend_flat(frames=5, overlap=2, steps=6, size=16, counts=(1, 2, 4, 8)):
    """Wan Reuse-Diffuse Extender (tiny Wan 2.1, random weights) continuing one clip by 1–8 extensions: time per
    frame over equal work, and working memory from a fresh process, each against 1 extension."""
    model = tiny_dit.wan21()
    pos, neg = conds(32)
    lat = {"samples": torch.zeros(1, 16, frames, size, size)}
    clip0 = ReuseDiffuseSampler.execute(model, pos, neg, lat, 0, steps, 3.0).args[1]

    def run(n):
        return lambda: ReuseDiffuseExtender.execute(model, pos, neg, lat, 0, steps, 3.0, n, overlap, 1.0, 0.4,
                                                    "reverse (reference)", False, clip0)
    per_frame = time_per_frame({n: run(n) for n in counts}, reps=SETTINGS["reps"])
    for n in counts[1:]:
        report(f"Wan Reuse-Diffuse Extender time per frame, {n} vs {counts[0]} extensions", per_frame[n],
               per_frame[counts[0]], "flat within 10%",
               f"T {frames} latent frames of {size}², M {overlap}, {steps} euler steps, cfg 3, tiny Wan 2.1")
    memory_rows("Wan Reuse-Diffuse Extender", "wan", frames, counts, f"T {frames}, M {overlap}, {size}² latents",
                unit="extensions", PROBE_SIZE=2 * size, PROBE_STEPS=steps)
