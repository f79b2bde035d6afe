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
ANCHOR_CLIPS, ANCHOR_PROMPTS = 9, 2          # colour anchoring: the first clip and 8 extensions
SHORT = ("fidelity", "direction_ok", "median_second_difference", "area_cv", "axis_speed")
LONGCOLS = ("fidelity", "keeps_object", "no_seams", "seam_ratio", "speed_kept", "drift_mean", "drift_std")
ANCHORCOLS = ("fidelity", "keeps_object", "speed_kept", "seam_ratio", "drift_mean", "drift_std", "drift_max",
              "rgb_drift")


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

    def context_guided(self, prompt, seed, length=LONG, colour_anchor=0.0):
        z = run(self.vdm.ContextGuidedSampler, model=self.model, positive=self.pos(prompt), negative=self.neg,
                latent={"samples": torch.zeros(1, 4, 8, 8)}, seed=seed, steps=STEPS, cfg=CFG, window=FRAMES,
                frames=length, colour_anchor=colour_anchor)[0]["samples"]
        return z, [w.new[0] for w in self.plan(length, FRAMES, 2)[2:]]

    def reuse_diffuse(self, prompt, seed, clips=CLIPS, colour_anchor=0.0):
        empty = {"samples": torch.zeros(FRAMES, 4, 8, 8)}
        first, handoff = run(self.vidrd.ReuseDiffuseSampler, model=self.model, positive=self.pos(prompt),
                             negative=self.neg, latent=empty, seed=seed, steps=STEPS, cfg=CFG)
        more = run(self.vidrd.ReuseDiffuseExtender, model=self.model, positive=self.pos(prompt), negative=self.neg,
                   latent=empty, seed=seed, steps=STEPS, cfg=CFG, clips=clips - 1, previous=handoff,
                   colour_anchor=colour_anchor)[0]
        z = torch.cat([first["samples"], more["samples"]])
        return z, [FRAMES * k for k in range(1, clips)]

    def pixel_round_trip(self, prompt, seed, context=2, length=LONG):
        """Continue through pixels: decode the video's last `context` frames, encode them, and sample the next
        clip with them as the Context-Guided Sampler's start frames."""
        z = self.ksampler(self.model, prompt, seed)
        while len(z) < length:
            tail = self.vae.encode(self.decode(z[-context:]))
            more = run(self.vdm.ContextGuidedSampler, model=self.model, positive=self.pos(prompt), negative=self.neg,
                       latent={"samples": torch.zeros(1, 4, 8, 8)}, seed=seed + len(z), steps=STEPS, cfg=CFG,
                       window=FRAMES, frames=FRAMES + context, start_frames={"samples": tail})[0]["samples"]
            z = torch.cat([z, more[context:]])
        return z, [FRAMES * k for k in range(1, len(z) // FRAMES)]

    def anchor_rows(self):
        """Colour anchoring against drift over many extensions: 8 extensions with and without, and the pixel round
        trip (the baseline that drifts most)."""
        n, length = ANCHOR_CLIPS, ANCHOR_CLIPS * FRAMES
        return {
            f"pixel round trip, {n - 1} extensions": lambda p, s: self.pixel_round_trip(p, s, length=length),
            f"Reuse-Diffuse Extender, {n - 1} extensions": lambda p, s: self.reuse_diffuse(p, s, n),
            f"Reuse-Diffuse Extender, {n - 1} extensions, colour_anchor 1":
                lambda p, s: self.reuse_diffuse(p, s, n, colour_anchor=1.0),
            f"Context-Guided Sampler, {length} frames": lambda p, s: self.context_guided(p, s, length),
            f"Context-Guided Sampler, {length} frames, colour_anchor 1":
                lambda p, s: self.context_guided(p, s, length, colour_anchor=1.0),
        }

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


TRAVEL = ("a red disk moving right on a blue background", "a green disk moving right on a blue background", 32)
TRAVELCOLS = ("fidelity_first", "switched", "switch_delay", "within_window", "switch_jump", "seam_ratio")


def prompt_travel(toy):
    """Prompt travel: red disk for frames 0–31, green from frame 32 (the Prompt Schedule node), through the
    Context-Guided Sampler (64 frames, window 16) and Reuse-Diffuse (4 clips of 16, overlap 4: frames 0–51 joined
    without repeats), against the same runs with the first prompt only (which must not switch)."""
    from pack_import import pack_module
    travel = pack_module("nodes.prompt_travel").PromptSchedule
    red, green, at = TRAVEL
    sched = travel.execute(toy.clip, f"0: {red}\n{at}: {green}").args[0]
    empty = {"samples": torch.zeros(FRAMES, 4, 8, 8)}

    def reuse(pos, seed):
        kw = dict(model=toy.model, positive=pos, negative=toy.neg, latent=empty, seed=seed, steps=STEPS, cfg=CFG)
        first, handoff = run(toy.vidrd.ReuseDiffuseSampler, **kw)
        more = run(toy.vidrd.ReuseDiffuseExtender, **kw, clips=CLIPS - 1, previous=handoff, keep_overlap=False)[0]
        return torch.cat([first["samples"], more["samples"]]), [FRAMES + 12 * k for k in range(CLIPS - 1)]

    def context(pos, seed):
        z = run(toy.vdm.ContextGuidedSampler, model=toy.model, positive=pos, negative=toy.neg,
                latent={"samples": torch.zeros(1, 4, 8, 8)}, seed=seed, steps=STEPS, cfg=CFG, window=FRAMES,
                frames=LONG)[0]["samples"]
        return z, [w.new[0] for w in toy.plan(LONG, FRAMES, 2)[2:]]
    rows = {}
    for name, sample in ((f"Context-Guided Sampler ({LONG} frames)", context),
                         (f"Reuse-Diffuse Sampler + Extender ({CLIPS} clips, {FRAMES - 12 + FRAMES * 3} frames)",
                          reuse)):
        for label, pos in (("schedule red → green at 32", sched), ("one prompt (red)", toy.pos(red))):
            per = []
            for seed in LONG_SEEDS + (2002,):
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    z, bounds = sample(pos, seed)
                video = toy.decode(z)
                m = toy.metrics.prompt_switch(video, "red", "green", at, FRAMES)
                m["fidelity_first"] = toy.t2v.video_report(video[:FRAMES], red)["fidelity"]
                m["seam_ratio"] = toy.metrics.long_video_metrics(video, red, bounds, FRAMES)["seam_ratio"]
                per.append(m)
            rows[f"{name}, {label}"] = {**{k: summary([m[k] for m in per]) for k in per[0]}, "videos": len(per),
                                        "kind": "travel", "date": time.strftime("%Y-%m-%d")}
    return rows


SEAMCOLS = ("brightness_ratio", "colour_ratio", "brightness_excess", "colour_excess")


def decode_seams(toy, window=14, overlap=4):
    """Temporal VAE Decode where windows meet: 64-frame toy-T2V videos decoded by ComfyUI's SVD VideoDecoder (tiny,
    random weights, as in the tests) in one call, in windows with the linear cross-fade (before), with the edge frames
    skipped (now) and with no overlap; metrics.seam_flash from pixels (excess: against the one-call decode)."""
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
    from comfy_test_nodes import tiny
    from pack_import import pack_module
    td, glue = pack_module("nodes.core.temporal_decode"), pack_module("nodes.glue.comfy_glue")
    vae = tiny.temporal_vae_model()

    def px(z, w, o, edge=td.edge_frames):
        frames = td.decode_windows(lambda f: glue.decode_frames_together(vae, f), z, w, o, edge=edge)
        return frames.movedim(1, -1)
    per = {}
    for prompt in toy.prompts[:ANCHOR_PROMPTS]:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            z = toy.ksampler(toy.model, prompt, LONG_SEEDS[0], frames=LONG).float()
        with torch.no_grad():
            whole = px(z, LONG, 0)
            videos = {"one decode call (no windows)": whole,
                      f"windows {window}/{overlap}, linear cross-fade (before)": px(z, window, overlap, lambda o: 0),
                      f"windows {window}/{overlap}, edge frames skipped": px(z, window, overlap),
                      f"windows {window}/0 (no cross-fade)": px(z, window, 0)}
        plan = td.window_plan(LONG, window, overlap)
        for name, v in videos.items():
            m = toy.metrics.seam_flash(v, plan if "/0 " not in name else td.window_plan(LONG, window, 0), whole)
            per.setdefault(name, []).append(m)
    return {name: {**{k: summary([m[k] for m in ms]) for k in ms[0]}, "videos": len(ms), "kind": "decode",
                   "date": time.strftime("%Y-%m-%d")} for name, ms in per.items()}


def path_metrics(frames, metrics):
    """monotone: every step's component along the whole path's direction ≥ −0.5 px; no_jumps: largest step ≤ 2×
    the median step (floored at 0.5 px)."""
    c = torch.stack([metrics.frame_stats(f)["centroid"] for f in frames])
    d = c[1:] - c[:-1]
    u = (c[-1] - c[0]) / (c[-1] - c[0]).norm().clamp_min(1e-9)
    steps = d.norm(dim=1)
    return {"monotone": float(bool(((d @ u) >= -0.5).all())),
            "no_jumps": float(float(steps.max()) <= 2 * max(float(steps.median()), 0.5))}


def drift_per_clip(z, video):
    """drift_max: the largest per-channel |Δ mean| of any later clip against the first (latent); rgb_drift: the last
    clip's mean colour against the first's, mean |Δ| over R, G, B in 0–255 levels."""
    clips = z.float().split(FRAMES)
    m0 = clips[0].mean(dim=(0, 2, 3))
    drift_max = max(float((c.mean(dim=(0, 2, 3)) - m0).abs().mean()) for c in clips[1:] if len(c) == FRAMES)
    rgb = video.float().reshape(-1, FRAMES, *video.shape[1:]).mean(dim=(1, 2, 3))
    return {"drift_max": drift_max, "rgb_drift": float((rgb[-1] - rgb[0]).abs().mean() * 255)}


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
    prompts = {"long": toy.prompts[:LONG_PROMPTS], "anchor": toy.prompts[:ANCHOR_PROMPTS]}.get(kind, toy.prompts)
    for prompt in prompts:
        for seed in (SEEDS if kind not in ("long", "anchor") else LONG_SEEDS):
            t = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out = sample(prompt, seed)
            seconds += time.perf_counter() - t
            z, bounds = out if kind in ("long", "anchor") else (out, None)
            video = toy.decode(z)
            m = toy.t2v.video_report(video, prompt)
            if kind in ("long", "anchor"):
                m.update(toy.metrics.long_video_metrics(video, prompt, bounds, FRAMES))
                m.update(toy.metrics.latent_drift(z, FRAMES))
            if kind == "anchor":
                m.update(drift_per_clip(z, video))
            if kind == "interpolation":
                m.update(path_metrics(video, toy.metrics))
            per.append(m)
            frames += len(video)
            log(f"    {name}: video {len(per)}: " + ", ".join(f"{k} {m[k]:.2f}" for k in
                                                                (LONGCOLS if kind != "short" else SHORT) if k in m),
                flush=True)
    row = {k: summary([m[k] for m in per]) for k in per[0]}
    row.update(videos=len(per), s_per_frame=f"{seconds / frames:.3f}", date=time.strftime("%Y-%m-%d"))
    if kind not in ("long", "anchor"):
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
               "interpolation"), (toy.anchor_rows(), "anchor")]
    if "decode seams" in rows or "prompt travel" in rows:
        done.update(decode_seams(toy) if "decode seams" in rows else prompt_travel(toy))
        with open(out, "w") as f:
            json.dump({"settings": settings(toy), "rows": done}, f, indent=1)
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
    log("\n" + table({k: v for k, v in done.items() if v["kind"] == "anchor"}, ANCHORCOLS))
    log("\n" + table({k: v for k, v in done.items() if v["kind"] == "decode"}, SEAMCOLS))
    log("\n" + table({k: v for k, v in done.items() if v["kind"] == "travel"}, TRAVELCOLS))


if __name__ == "__main__":      # python bench/quality_t2v.py [ROWS] [OUT.json]: a part of the table, e.g. in parallel
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:0] = [os.path.join(root, "scripts")]
    from comfy_env import import_comfy
    torch.set_num_threads(1)
    import_comfy(cpu=True)
    bench_quality_t2v(root, sys.argv[1] if len(sys.argv) > 1 else "", out=sys.argv[2] if len(sys.argv) > 2 else None)
