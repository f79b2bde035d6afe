"""The toy model's quality table: `make bench BENCH_ARGS="--only quality"`.

Every row samples the same prompts × seeds (4 × 4 = 16 videos of FRAMES frames, 64×64, STEPS DDIM steps, cfg 2)
with the toy model (docs/toy_model.md) through the pack's nodes, in-process, and reads the frames back with the toy
world's ground-truth metrics (scripts/toy_world/metrics.py): mean ± standard deviation over the videos.
Context-Guided makes 64 frames per video, Reuse-Diffuse 4 chained clips; both are measured on all their frames, and
their "first vs last" column is the fraction of videos whose first and last FRAMES frames show the same object colour
and shape. The U-Net's matmuls and convolutions run under CPU bfloat16 autocast (as the toy model was trained):
on this 2-core CPU the table is hours of fp32 work. Each finished row is merged into bench/results/quality.json at
once (a row is rerun only when named, or when the settings changed), so the table can be filled in several runs.
"""
from __future__ import annotations

import json
import os
import statistics
import time

import torch

PROMPTS = ("a red ball on a blue background", "a green square on a white background",
           "a yellow triangle on a black background", "a white disk on a green background")
SEEDS = (0, 1, 2, 3)
FRAMES, SIZE, STEPS, CFG, LONG = 8, 64, 15, 2.0, 64
# the demo's T′ (t0 15, t1 17 of 50 steps, scripts/demo.py) at 15 steps, and the reference's (44, 47 of 50)
T2V_ZERO = dict(motion_x=12.0, motion_y=0.0, t0=4, t1=5, chunk_size=FRAMES)
T2V_ZERO_REFERENCE = dict(T2V_ZERO, t0=13, t1=14)
# AnimateLCM's refining steps 26,21,15,9 of 30, at 15; K = 3 T2V steps each (i + K ≤ N at the last refining step)
VIDEO_ELEVATOR = dict(preset="custom (refine_steps)", refine_steps="13,10,7,4", video_steps=3)
COLUMNS = ("fidelity", "colour_consistency", "shape_consistency", "area_cv", "speed", "smoothness", "flicker")


def run(node, **given):
    """node.execute with the schema's defaults for what is not given; returns the outputs tuple."""
    inputs = node.define_schema().inputs
    kw = {i.id: i.default for i in inputs if getattr(i, "default", None) is not None}
    return node.execute(**{**kw, **given}).args


def empty(frames=FRAMES):
    return {"samples": torch.zeros(frames, 4, SIZE // 8, SIZE // 8)}


class Toy:
    """The toy checkpoint, its shift LoRA and the pack's nodes, loaded once."""

    def __init__(self, root):
        import sys
        sys.path.insert(0, os.path.join(root, "scripts"))
        import toy_model
        from comfy_env import BASE_DIR
        from toy_world import metrics
        import comfy.sd
        import comfy.utils
        self.metrics = metrics
        path = os.path.join(BASE_DIR, "models", "checkpoints", "vidlift-toy-sd15.safetensors")
        self.model, self.clip, self.vae = toy_model.load_toy(path)
        self.conds = {p: toy_model.conditioning(self.clip, p) for p in ("", *PROMPTS)}
        from vidlift.nodes import video_ldm as cg
        from vidlift.nodes import lpff as node_lpff
        from vidlift.nodes import vidrd as rd
        from vidlift.nodes import latent_shift as node_temporal_shift
        from vidlift.nodes import text2video_zero as t2vz
        from vidlift.nodes import video_elevator as ve
        self.cg, self.lpff, self.rd, self.t2vz, self.ve = cg, node_lpff, rd, t2vz, ve
        self.cross_frame = run(t2vz.CrossFrameAttentionPatcher, model=self.model)[0]
        self.shift = run(node_temporal_shift.TemporalShiftPatcher, model=self.model)[0]
        lora_path = os.path.join(root, "models", "toy", "vidlift-toy-shift-lora.safetensors")
        self.shift_lora = None
        if os.path.exists(lora_path):
            lora = comfy.utils.load_torch_file(lora_path, safe_load=True)
            self.shift_lora = comfy.sd.load_lora_for_models(self.shift, None, lora, 1.0, 0.0)[0]

    def ksampler(self, model, prompt, seed, frames=FRAMES):
        import nodes
        return nodes.common_ksampler(model, seed, STEPS, CFG, "ddim", "ddim_uniform", self.conds[prompt],
                                     self.conds[""], empty(frames))[0]

    def rows(self):
        """{row name: sample(prompt, seed) -> LATENT}; a row whose LoRA is missing is left out (said in the table)."""
        def t2v_zero(p, s, settings=T2V_ZERO):
            return run(self.t2vz.Text2VideoZeroSampler, model=self.model, positive=self.conds[p],
                       negative=self.conds[""], latent=empty(), seed=s, cfg=CFG, steps=STEPS, **settings)[0]

        def context_guided(p, s):
            return run(self.cg.ContextGuidedSampler, model=self.cross_frame, positive=self.conds[p],
                       negative=self.conds[""], latent=empty(1), seed=s, steps=STEPS, cfg=CFG, window=16,
                       frames=LONG)[0]

        def reuse_diffuse(p, s):
            first, handoff = run(self.rd.ReuseDiffuseSampler, model=self.cross_frame, positive=self.conds[p],
                                 negative=self.conds[""], latent=empty(), seed=s, steps=STEPS, cfg=CFG)
            more = run(self.rd.ReuseDiffuseExtender, model=self.cross_frame, positive=self.conds[p],
                       negative=self.conds[""], latent=empty(), seed=s, steps=STEPS, cfg=CFG, clips=3,
                       previous=handoff)[0]
            return {"samples": torch.cat([first["samples"], more["samples"]])}

        def elevator(p, s):
            return run(self.ve.AlternatingKSampler, image_model=self.model, image_positive=self.conds[p],
                       image_negative=self.conds[""], video_model=self.shift_lora, video_positive=self.conds[p],
                       video_negative=self.conds[""], latent=empty(), seed=s, steps=STEPS, image_cfg=CFG,
                       video_cfg=CFG, **VIDEO_ELEVATOR)[0]

        rows = {
            "independent frames (KSampler over a frame batch)": lambda p, s: self.ksampler(self.model, p, s),
            "Cross-Frame Attention (anchor: first)": lambda p, s: self.ksampler(self.cross_frame, p, s),
            "Text2Video-Zero, the reference's T′ (t0 13, t1 14)": lambda p, s: t2v_zero(p, s, T2V_ZERO_REFERENCE),
            "Text2Video-Zero (t0 4, t1 5)": t2v_zero,
            "Text2Video-Zero (t0 4, t1 5) + LPFF": lambda p, s: run(self.lpff.LPFFFilter, samples=t2v_zero(p, s),
                                                       frames_per_video=FRAMES)[0],
            "Temporal Shift, no LoRA": lambda p, s: self.ksampler(self.shift, p, s),
            "Temporal Shift + trained LoRA": lambda p, s: self.ksampler(self.shift_lora, p, s),
            f"Context-Guided long video ({LONG} frames)": context_guided,
            "Reuse-Diffuse (4 chained clips)": reuse_diffuse,
            "VideoElevator (T2V: shift + LoRA, T2I: cross-frame)": elevator,
        }
        if self.shift_lora is None:
            rows = {k: v for k, v in rows.items() if "LoRA" not in k}
        return rows

    def measure(self, latent, prompt):
        frames = self.vae.decode(latent["samples"]).float().clamp(0, 1)
        m = self.metrics.video_metrics(frames, prompt)
        if len(frames) > FRAMES:
            head, tail = (self.metrics.frame_stats, frames[:FRAMES]), (self.metrics.frame_stats, frames[-FRAMES:])
            head, tail = (max(set(v), key=v.count) for v in
                          ([(s["object_colour"], s["shape"]) for s in map(stats, f)] for stats, f in (head, tail)))
            m["first_vs_last"] = float(head == tail)
        return m, len(frames)


def summary(values):
    values = [v for v in values if v == v]  # NaN (no object found) is left out of the mean
    if not values:
        return "–"
    sd = statistics.pstdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.2f} ± {sd:.2f}"


def settings():
    return {"prompts": list(PROMPTS), "seeds": list(SEEDS), "frames": FRAMES, "long": LONG, "size": SIZE,
            "steps": STEPS, "cfg": CFG, "t2v_zero": T2V_ZERO, "t2v_zero_reference": T2V_ZERO_REFERENCE, "video_elevator": VIDEO_ELEVATOR,
            "autocast": "cpu bfloat16"}


def measure_row(toy, sample, prompts, seeds, log=print):
    per_video, seconds, frames = [], 0.0, 0
    for prompt in prompts:
        for seed in seeds:
            t = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16):
                latent = sample(prompt, seed)
            seconds += time.perf_counter() - t
            m, n = toy.measure(latent, prompt)
            per_video.append(m)
            frames += n
            log(f"    video {len(per_video)}/{len(prompts) * len(seeds)}: {n} frames, {seconds:.0f} s so far", flush=True)
    row = {c: summary([m[c] for m in per_video]) for c in COLUMNS}
    if "first_vs_last" in per_video[0]:
        row["first_vs_last"] = f"{statistics.fmean(m['first_vs_last'] for m in per_video):.2f}"
    row.update(s_per_frame=f"{seconds / frames:.3f}", videos=len(per_video), date=time.strftime("%Y-%m-%d"))
    return row


def table(rows):
    lines = ["| row | prompt fidelity | colour consistency | shape consistency | area std/mean | speed px/frame | "
             "smoothness (2nd diff.) | background flicker | first vs last | s/frame |", "|" + "---|" * 10]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['fidelity']} | {r['colour_consistency']} | {r['shape_consistency']} | "
                     f"{r['area_cv']} | {r['speed']} | {r['smoothness']} | {r['flicker']} | "
                     f"{r.get('first_vs_last', '–')} | {r['s_per_frame']} |")
    return "\n".join(lines)


def bench_quality(root, rows="", quick=False, log=print):
    """rows: comma-separated parts of row names to (re)run; empty: the rows quality.json lacks. quick: one prompt
    and seed per row, nothing saved (a smoke run)."""
    out = os.path.join(root, "bench", "results", "quality.json")
    saved = json.load(open(out)) if os.path.exists(out) else {}
    done = saved.get("rows", {}) if saved.get("settings") == settings() else {}
    toy = Toy(root)
    prompts, seeds = (PROMPTS[:1], SEEDS[:1]) if quick else (PROMPTS, SEEDS)
    names = list(toy.rows())
    for name, sample in toy.rows().items():
        wanted = any(r.strip() in name for r in rows.split(",")) if rows else name not in done
        if not wanted:
            continue
        row = measure_row(toy, sample, prompts, seeds, log)
        log(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in row.items()), flush=True)
        if quick:
            continue
        saved = json.load(open(out)) if os.path.exists(out) else {}  # another run may have added rows meanwhile
        if saved.get("settings") == settings():
            done = {**saved["rows"], **done}
        done[name] = row
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w") as f:
            json.dump({"settings": settings(), "rows": {n: done[n] for n in names if n in done}}, f, indent=1)
    log("\n" + table({n: done[n] for n in names if n in done}))
    missing = [n for n in names if n not in done]
    if missing:
        log(f"(not measured yet: {', '.join(missing)})")
