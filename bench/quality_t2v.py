"""The toy text-to-video model's quality table: `make bench BENCH_ARGS="--only quality_t2v"`.

The toy T2V (scripts/toy_t2v.py: the toy checkpoint + models/toy/vidlift-toy-t2v.safetensors through stock LoRA
loading + the Temporal Shift Patcher) against its ablations and baselines, on prompts whose (colour, shape,
background, direction) the training never saw and seeds it never used. Every video is read back from pixels with the
toy world's metrics (scripts/toy_world/metrics.py). Rows are saved to bench/results/quality_t2v.json as they finish
(a row is rerun only when named or when the settings changed), so the table fills over several runs.
"""
from __future__ import annotations

import json
import os
import statistics
import time

import torch

FRAMES, STEPS, CFG, LONG, CLIPS = 16, 15, 3.0, 64, 4
SEEDS, LONG_SEEDS, LONG_PROMPTS = (1001,), (1001,), 4
SHORT = ("fidelity", "direction_ok", "median_second_difference", "area_cv", "axis_speed")
LONGCOLS = ("fidelity", "keeps_object", "no_seams", "seam_ratio", "speed_kept", "drift_mean", "drift_std")


def run(node, **given):
    inputs = node.define_schema().inputs
    kw = {i.id: i.default for i in inputs if getattr(i, "default", None) is not None}
    return node.execute(**{**kw, **given}).args


class T2VToy:
    """Toy checkpoint, toy T2V and the pack's long-video nodes, loaded once."""

    def __init__(self, root):
        import sys
        sys.path.insert(0, os.path.join(root, "scripts"))
        import toy_model
        import toy_t2v
        from comfy_env import BASE_DIR
        from pack_import import pack_module
        from toy_world import metrics
        self.t2v, self.metrics, self.toy_model = toy_t2v, metrics, toy_model
        path = os.path.join(BASE_DIR, "models", "checkpoints", "vidlift-toy-sd15.safetensors")
        self.image_model, self.clip, self.vae = toy_model.load_toy(path)
        self.model = toy_t2v.t2v_model(self.image_model)
        self.lora_only = toy_t2v.t2v_model(self.image_model, shift=False)
        self.shift_only = toy_t2v.t2v_model(self.image_model, lora=False)
        self.prompts = toy_t2v.held_out_prompts(8)
        self.neg = toy_model.conditioning(self.clip, "")
        self.vdm, self.vidrd = pack_module("nodes.video_ldm"), pack_module("nodes.vidrd")
        self.elevator = pack_module("nodes.video_elevator")
        self.plan = pack_module("nodes.core.context_guidance").rollout_plan

    def pos(self, prompt):
        return self.toy_model.conditioning(self.clip, prompt)

    def ksampler(self, model, prompt, seed, frames=FRAMES):
        return self.t2v.ksampler(model, self.pos(prompt), self.neg, seed, frames, steps=STEPS, cfg=CFG)["samples"]

    def decode(self, z):
        return self.vae.decode(z).float().clamp(0, 1)

    # ---- long videos: (latent [F, C, h, w], boundaries) ----
    def independent_clips(self, prompt, seed):
        z = torch.cat([self.ksampler(self.model, prompt, seed * 100 + k) for k in range(CLIPS)])
        return z, [FRAMES * k for k in range(1, CLIPS)]

    def context_guided(self, prompt, seed):
        z = run(self.vdm.ContextGuidedSampler, model=self.model, positive=self.pos(prompt), negative=self.neg,
                latent={"samples": torch.zeros(1, 4, 8, 8)}, seed=seed, steps=STEPS, cfg=CFG, window=FRAMES,
                frames=LONG)[0]["samples"]
        return z, [w.new[0] for w in self.plan(LONG, FRAMES, 2)[2:]]

    def reuse_diffuse(self, prompt, seed):
        empty = {"samples": torch.zeros(FRAMES, 4, 8, 8)}
        first, handoff = run(self.vidrd.ReuseDiffuseSampler, model=self.model, positive=self.pos(prompt),
                             negative=self.neg, latent=empty, seed=seed, steps=STEPS, cfg=CFG)
        more = run(self.vidrd.ReuseDiffuseExtender, model=self.model, positive=self.pos(prompt), negative=self.neg,
                   latent=empty, seed=seed, steps=STEPS, cfg=CFG, clips=CLIPS - 1, previous=handoff)[0]
        z = torch.cat([first["samples"], more["samples"]])
        return z, [FRAMES * k for k in range(1, CLIPS)]

    def pixel_round_trip(self, prompt, seed, context=2):
        """Continue through pixels: decode the video's last `context` frames, encode them, and sample the next
        clip with them as the Context-Guided Sampler's start frames."""
        z = self.ksampler(self.model, prompt, seed)
        while len(z) < LONG:
            tail = self.vae.encode(self.decode(z[-context:]))
            more = run(self.vdm.ContextGuidedSampler, model=self.model, positive=self.pos(prompt), negative=self.neg,
                       latent={"samples": torch.zeros(1, 4, 8, 8)}, seed=seed + len(z), steps=STEPS, cfg=CFG,
                       window=FRAMES, frames=FRAMES + context, start_frames={"samples": tail})[0]["samples"]
            z = torch.cat([z, more[context:]])
        return z, [FRAMES * k for k in range(1, CLIPS)]

    def short_rows(self):
        return {
            "toy image model, frames independent": lambda p, s: self.ksampler(self.image_model, p, s),
            "Temporal Shift without the LoRA": lambda p, s: self.ksampler(self.shift_only, p, s),
            "LoRA without the shift": lambda p, s: self.ksampler(self.lora_only, p, s),
            "toy T2V (LoRA + shift), stock KSampler": lambda p, s: self.ksampler(self.model, p, s),
            "VideoElevator (T2V: toy T2V, T2I: toy image model)": self.video_elevator,
        }

    def long_rows(self):
        return {
            f"independent clips ({CLIPS} × {FRAMES})": self.independent_clips,
            f"pixel round trip continuation ({CLIPS} × {FRAMES})": self.pixel_round_trip,
            f"Context-Guided Sampler ({LONG} frames, window {FRAMES})": self.context_guided,
            f"Reuse-Diffuse Sampler + Extender ({CLIPS} clips of {FRAMES})": self.reuse_diffuse,
        }

    def video_elevator(self, prompt, seed):
        return run(self.elevator.AlternatingKSampler, image_model=self.image_model, image_positive=self.pos(prompt),
                   image_negative=self.neg, video_model=self.model, video_positive=self.pos(prompt),
                   video_negative=self.neg, latent={"samples": torch.zeros(FRAMES, 4, 8, 8)}, seed=seed, steps=STEPS,
                   image_cfg=CFG, video_cfg=CFG, preset="custom (refine_steps)", refine_steps="13,10,7,4",
                   video_steps=3)[0]["samples"]

    def interpolation(self, prompt, seed):
        """Keyframes 0, 5, 10, 15 of a toy-T2V video, interpolated ×4 (13 frames): the path between keyframes."""
        keys = self.ksampler(self.model, prompt, seed)[[0, 5, 10, 15]]
        return run(self.vdm.ContextGuidedInterpolation, model=self.model, positive=self.pos(prompt),
                   negative=self.neg, keyframes={"samples": keys}, seed=seed, steps=STEPS, cfg=CFG)[0]["samples"]


def path_metrics(frames, metrics):
    """monotone: every step's component along the whole path's direction ≥ −0.5 px; no_jumps: largest step ≤ 2×
    the median step (floored at 0.5 px)."""
    c = torch.stack([metrics.frame_stats(f)["centroid"] for f in frames])
    d = c[1:] - c[:-1]
    u = (c[-1] - c[0]) / (c[-1] - c[0]).norm().clamp_min(1e-9)
    steps = d.norm(dim=1)
    return {"monotone": float(bool(((d @ u) >= -0.5).all())),
            "no_jumps": float(float(steps.max()) <= 2 * max(float(steps.median()), 0.5))}


def summary(values):
    values = [v for v in values if v == v and abs(v) != float("inf")]
    if not values:
        return "–"
    sd = statistics.pstdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.2f} ± {sd:.2f}"


def settings(toy):
    return {"prompts": toy.prompts, "seeds": list(SEEDS), "frames": FRAMES, "steps": STEPS, "cfg": CFG,
            "long": LONG, "clips": CLIPS, "lora_bytes": os.path.getsize(toy.t2v.T2V), "autocast": "cpu bfloat16"}


def measure(toy, name, sample, kind, log):
    per, seconds, frames = [], 0.0, 0
    prompts = toy.prompts if kind != "long" else toy.prompts[:LONG_PROMPTS]
    for prompt in prompts:
        for seed in (SEEDS if kind != "long" else LONG_SEEDS):
            t = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out = sample(prompt, seed)
            seconds += time.perf_counter() - t
            z, bounds = out if kind == "long" else (out, None)
            video = toy.decode(z)
            m = toy.t2v.video_report(video, prompt)
            if kind == "long":
                m.update(toy.metrics.long_video_metrics(video, prompt, bounds, FRAMES))
                m.update(toy.metrics.latent_drift(z, FRAMES))
            if kind == "interpolation":
                m.update(path_metrics(video, toy.metrics))
            per.append(m)
            frames += len(video)
            log(f"    {name}: video {len(per)}: " + ", ".join(f"{k} {m[k]:.2f}" for k in
                                                                (LONGCOLS if kind == "long" else SHORT) if k in m),
                flush=True)
    row = {k: summary([m[k] for m in per]) for k in per[0]}
    row.update(videos=len(per), s_per_frame=f"{seconds / frames:.3f}", date=time.strftime("%Y-%m-%d"))
    if kind != "long":
        found = [m["median_second_difference"] for m in per if m["median_second_difference"] == m["median_second_difference"]]
        row["median_second_difference_median"] = f"{statistics.median(found):.2f} ({len(found)}/{len(per)})" if found else "–"
    return row


def table(rows, columns):
    head = "| row | " + " | ".join(columns) + " | videos |"
    lines = [head, "|" + "---|" * (len(columns) + 2)]
    for name, r in rows.items():
        lines.append(f"| {name} | " + " | ".join(str(r.get(c, "–")) for c in columns) + f" | {r['videos']} |")
    return "\n".join(lines)


def bench_quality_t2v(root, rows="", log=print, out=None):
    toy = T2VToy(root)
    out = out or os.path.join(root, "bench", "results", "quality_t2v.json")
    saved = json.load(open(out)) if os.path.exists(out) else {}
    done = saved.get("rows", {}) if saved.get("settings") == settings(toy) else {}
    groups = [(toy.short_rows(), "short"), (toy.long_rows(), "long"),
              ({"Context-Guided Interpolation (keyframes 0, 5, 10, 15 of the toy T2V)": toy.interpolation},
               "interpolation")]
    for table_rows, kind in groups:
        for name, sample in table_rows.items():
            wanted = any(r.strip() in name for r in rows.split(",")) if rows else name not in done
            if not wanted:
                continue
            done[name] = dict(measure(toy, name, sample, kind, log), kind=kind)
            saved = json.load(open(out)) if os.path.exists(out) else {}
            if saved.get("settings") == settings(toy):
                done = {**saved["rows"], **done}
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with open(out, "w") as f:
                json.dump({"settings": settings(toy), "rows": done}, f, indent=1)
    short = {k: v for k, v in done.items() if v["kind"] == "short"}
    log("\n" + table(short, ("fidelity", "direction_ok", "median_second_difference_median", "area_cv", "axis_speed")))
    log("\n" + table({k: v for k, v in done.items() if v["kind"] == "long"}, LONGCOLS))
    log("\n" + table({k: v for k, v in done.items() if v["kind"] == "interpolation"},
                     ("fidelity", "monotone", "no_jumps", "median_second_difference")))


if __name__ == "__main__":      # python bench/quality_t2v.py [ROWS] [OUT.json]: a part of the table, e.g. in parallel
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:0] = [os.path.join(root, "scripts")]
    from comfy_env import import_comfy
    torch.set_num_threads(1)
    import_comfy(cpu=True)
    bench_quality_t2v(root, sys.argv[1] if len(sys.argv) > 1 else "", out=sys.argv[2] if len(sys.argv) > 2 else None)
