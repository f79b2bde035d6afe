"""`make bench`: each figure is a ratio against a baseline measured in the same run (median and range).
Rows with a ratio goal (≤ 1.03× overheads, ours vs diffusers) time baseline and candidate in alternating pairs and
report the median per-pair ratio with its 95% interval, the CPU-time ratio beside it, and whether the interval can
judge the goal (bench/stats.py).

CPU by default (tiny configs, plus the patch overhead at SD1.5 size); `--device cuda` on a GPU machine
runs SD1.5 size at 512², fp16. Prints a markdown table and writes bench/results/<device>.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "scripts"), os.path.join(ROOT, "tests"), os.path.join(ROOT, "bench")]
p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
p.add_argument("--reps", type=int, default=5)
p.add_argument("--paired-reps", type=int, default=12,
               help="pairs for the rows with a ratio goal (12: a 95%% interval between the 3rd smallest and largest)")
p.add_argument("--only", default="", help="comma-separated benchmark names (quality runs only when named)")
p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default; 1 on a shared CPU)")
p.add_argument("--quality-rows", default="", help="quality: comma-separated parts of row names (default: all)")
p.add_argument("--quality-quick", action="store_true", help="quality: one prompt and seed per row (a smoke run)")
ARGS = p.parse_args()

from comfy_env import import_comfy  # noqa: E402

import_comfy(cpu=ARGS.device == "cpu")

import torch  # noqa: E402

from pack_import import pack_module, pack_package  # noqa: E402

pack_package()

import comfy.model_management as mm  # noqa: E402
import comfy.patcher_extension as pe  # noqa: E402
import comfy.sample  # noqa: E402
import comfy.utils  # noqa: E402
from comfy_test_nodes import diffusers_twin as twin  # noqa: E402
from comfy_test_nodes import tiny, tiny_dit  # noqa: E402
from comfy_test_nodes.memory_peak import resident, run_probe  # noqa: E402
import quality  # noqa: E402  (bench/quality.py: the toy model's quality table)
import quality_t2v  # noqa: E402  (bench/quality_t2v.py: the toy text-to-video model's table)
import trainer_speed  # noqa: E402  (bench/trainer_speed.py: trainer step vs bare forward+backward)
from timing import ROWS, configure, report, report_paired, sync, timed, timed_interleaved  # noqa: E402,E501
import long_video  # noqa: E402  (bench/long_video.py: the long-video samplers' rows)
from long_video import conds  # noqa: E402  (a positive / negative pair of tiny conditionings)
from vidlift.nodes.glue.model_patches import add_cross_frame_attention, add_temporal_shift  # noqa: E402
from vidlift.nodes.temporal_vae_decode import TemporalVAEDecode  # noqa: E402
from vidlift.nodes.text2video_zero import Text2VideoZeroSampler  # noqa: E402
from vidlift.nodes.video_elevator import CUSTOM, INVERSIONS, AlternatingKSampler  # noqa: E402
from vidlift.nodes.core.video_elevator import model_calls, parse_remaining, preset_remaining, refine_indices  # noqa: E402
from vidlift.nodes.core.text2video_zero import phase_indices  # noqa: E402

GPU = ARGS.device == "cuda"
configure(ARGS.reps, ARGS.paired_reps, GPU)
if ARGS.threads:
    torch.set_num_threads(ARGS.threads)
comfy.utils.set_progress_bar_enabled(False)   # console bars cost time and bury the table


def bench_patch_overhead(label, model, dim, frames, size, steps, patch=add_cross_frame_attention,
                         what="cross-frame attention"):
    lat = torch.zeros(frames, 4, size, size)
    noise = comfy.sample.prepare_noise(lat, 0)
    pos, neg = conds(dim)

    def run(m):
        return lambda: comfy.sample.sample(m, noise, steps, 7.5, "euler", "normal", pos, neg, lat, seed=0,
                                           disable_pbar=True)
    report_paired(f"{what} overhead ({label})", run(model), run(patch(model)), "≤ 1.03×",
                  f"KSampler {steps} steps, {frames} frames, {size * 8}², cfg 7.5: patched / plain")


def add_both(model):
    """Cross-Frame Attention, then Temporal Shift, as in workflows/latent_shift.json."""
    return add_temporal_shift(add_cross_frame_attention(model))


def bench_t2v_zero(label, config, comfy_config, size, dtype, frames=8, steps=50, t0=44, t1=47):
    unet_d = twin.diffusers_unet(config).to(dtype)
    pipe = twin.text2video_zero_pipeline(unet_d, text_dim=config["cross_attention_dim"]).to("cuda" if GPU else "cpu")
    model = twin.comfy_from_diffusers(unet_d.float(), comfy_config)
    unet_d.to(dtype)
    with torch.no_grad():
        cond, uncond = pipe.encode_prompt("a cat", pipe.device, 1, True, None)
    cond, uncond = cond.float().cpu(), uncond.float().cpu()
    lat = {"samples": torch.zeros(frames, 4, size // 8, size // 8)}

    def ours():
        Text2VideoZeroSampler.execute(model, [[cond, {}]], [[uncond, {}]], lat, 0, 7.5, 12.0, 12.0, steps, t0, t1, 8)
    times = timed_interleaved({"diffusers": lambda: twin.run_diffusers(pipe, frames, 0, 7.5, 12.0, size=size,
                                                                       steps=steps, t0=t0, t1=t1), "ours": ours})
    theirs, mine = times["diffusers"], times["ours"]
    report(f"Text2Video-Zero vs diffusers ({label})", mine, theirs, "≤ 0.8× GPU, ≤ 1.0× CPU",
           f"{frames} frames, {steps} DDIM steps (t0 {t0}, t1 {t1}), {size}², same weights and settings")
    report_paired(f"Text2Video-Zero vs diffusers, paired ({label})",
                  lambda: twin.run_diffusers(pipe, frames, 0, 7.5, 12.0, size=size, steps=steps, t0=t0, t1=t1), ours,
                  "≤ 0.8×" if GPU else "≤ 1.0×", f"{frames} frames, {steps} DDIM steps, {size}²: ours / diffusers",
                  reps=ARGS.reps)
    # the physical limit: the bare U-Net forwards the procedure needs
    i1, i0 = phase_indices(steps, t0, t1)
    unet = model.model.diffusion_model
    mm.load_models_gpu([model])
    dev = mm.get_torch_device()
    ctx = lambda b: torch.randn(b, 77, config["cross_attention_dim"], device=dev)  # noqa: E731
    x = lambda b: torch.randn(b, 4, size // 8, size // 8, device=dev)  # noqa: E731
    with torch.no_grad():
        one = timed(lambda: unet(x(2), torch.full((2,), 500.0, device=dev), context=ctx(2)))
        video = timed(lambda: unet(x(2 * frames), torch.full((2 * frames,), 500.0, device=dev), context=ctx(2 * frames)))
    bare = [i0 * a + (steps - i1) * b for a, b in zip(sorted(one), sorted(video))]
    report(f"Text2Video-Zero vs bare U-Net forwards ({label})", mine, bare, "→ 1.0",
           f"{i0} forwards of frame 1 + {steps - i1} of all frames (cond+uncond batched)")


def bench_vae_memory():
    peak = run_probe("vae_memory_probe.py", ARGS.device, 16, 256)
    report("Temporal VAE Decode working memory, 256 vs 16 frames", [peak[256]], [peak[16]], "≤ 1.1×",
           f"peak {'GPU allocation' if GPU else 'RSS minus the output'}: {peak[16] / 1e6:.0f} MB for 16 frames, "
           f"{peak[256] / 1e6:.0f} MB for 256 (W 14, O 4)")


def bench_vae_throughput(frames=64):
    vae = tiny.temporal_vae_model(ch=64)
    z = torch.randn(frames, 4, 16, 16)
    times = timed_interleaved({"ours": lambda: TemporalVAEDecode.execute({"samples": z}, vae, 14, 4, 0, 64),
                               "stock": lambda: vae.decode(z)})
    ours, stock = times["ours"], times["stock"]
    report("Temporal VAE Decode time vs stock VAEDecode", ours, stock, "≈ W/(W−O) = 1.4× (overlap recomputed)",
           f"{frames} frames, same temporal VAE; stock decodes memory-sized chunks with no overlap")


def bench_dit(frames=8, size=16, steps=8):
    """Flux family (ComfyUI 0.33 hooks): patch overhead vs plain KSampler, Text2Video-Zero vs bare forwards."""
    from comfy_test_nodes import tiny_dit
    from vidlift.nodes.glue.model_families import adapter_for
    flux = tiny_dit.flux(hidden_size=256, num_heads=4, depth=1, depth_single_blocks=2, axes_dim=[16, 24, 24])
    adapter = adapter_for(flux)
    if adapter.missing("cross-frame attention"):
        print(f"  dit: skipped, this ComfyUI {adapter.missing('cross-frame attention')}", flush=True)
        return
    g = torch.Generator().manual_seed(1)
    pos, neg = ([[torch.randn(1, 16, 32, generator=g), {"pooled_output": torch.randn(1, 32, generator=g)}]]
                for _ in range(2))
    lat = torch.zeros(frames, 16, size, size)
    noise = comfy.sample.prepare_noise(lat, 0)

    def run(m, cfg):
        return lambda: comfy.sample.sample(m, noise, steps, cfg, "euler", "simple", pos, neg, lat, seed=0,
                                           disable_pbar=True)
    for what, patched in (("cross-frame attention", adapter.install_cross_frame(flux)),
                          ("temporal shift", adapter.install_temporal_shift(flux))):
        report_paired(f"{what} overhead (Flux, bench size)", run(flux, 1.0), run(patched, 1.0), "≤ 1.03×",
                      f"KSampler {steps} steps, {frames} frames, {size * 8}², cfg 1 (guidance-distilled use): "
                      f"patched / plain")
    t0, t1 = 4, 6
    latent = {"samples": lat}
    mine = timed(lambda: Text2VideoZeroSampler.execute(flux, pos, neg, latent, 0, 1.0, 12.0, 0.0, steps, t0, t1, 0))
    i1, i0 = phase_indices(steps, t0, t1)
    dm = flux.model.diffusion_model
    mm.load_models_gpu([flux])
    dev = mm.get_torch_device()
    ctx, vec = pos[0][0].to(dev), pos[0][1]["pooled_output"].to(dev)

    def forward(b):
        x = torch.randn(b, 16, size, size, device=dev)
        return lambda: dm(x, torch.full((b,), 0.5, device=dev), ctx.expand(b, -1, -1), y=vec.expand(b, -1))
    with torch.no_grad():
        one, video = timed(forward(1)), timed(forward(frames))
    bare = [i0 * a + (steps - i1) * b for a, b in zip(sorted(one), sorted(video))]
    report("Text2Video-Zero vs bare DiT forwards (Flux, bench size)", mine, bare, "→ 1.0",
           f"{frames} frames, {steps} flow steps (t0 {t0}, t1 {t1}), cfg 1: {i0} forwards of frame 1 + {steps - i1} "
           f"of all frames")


def hooked(model, name, around):
    """A clone whose diffusion-model calls run as around(name, call, bare): call() is the real call, bare() the same
    network on the same inputs with no wrappers or patches (transformer_options empty)."""
    dm = model.model.diffusion_model

    def wrapper(executor, *args, **kw):
        return around(name, lambda: executor(*args, **kw), lambda: dm(*args[:5], transformer_options={}, **kw))
    m = model.clone()
    m.add_wrapper_with_key(pe.WrappersMP.DIFFUSION_MODEL, "vidlift_bench", wrapper)
    return m


class HookedVAE:
    """A VAE whose decode / encode calls run as around(name, call, bare), as `hooked` does for models."""

    def __init__(self, vae, name, around):
        self.vae, self.name, self.around = vae, name, around

    def __getattr__(self, attr):
        return getattr(self.vae, attr)

    def decode(self, z):
        return self.around(f"{self.name} decode", lambda: self.vae.decode(z), lambda: self.vae.decode(z))

    def encode(self, pixels):
        return self.around(f"{self.name} encode", lambda: self.vae.encode(pixels), lambda: self.vae.encode(pixels))


def bench_alternating(label, make_model, dim, size, frames=8, steps=50, k=8):
    """VideoElevator, ZeroScope preset: U-Net calls counted by a wrapper on each model vs the analytic count, and
    the node's wall time vs the time spent inside those calls (the loop's own overhead: LPFF, inversion algebra,
    cond handling, model switching)."""
    inside = []

    def timing(name, call, bare):
        sync()
        t = time.perf_counter()
        out = call()
        sync()
        inside.append(time.perf_counter() - t)
        return out
    image, video = hooked(make_model(0), "T2I", timing), hooked(add_temporal_shift(make_model(5)), "T2V", timing)
    pos, neg = conds(dim)
    lat = {"samples": torch.zeros(frames, 4, size // 8, size // 8)}
    walls, unet_s, counted = [], [], []

    def run():
        inside.clear()
        t = time.perf_counter()
        AlternatingKSampler.execute(image, pos, neg, video, pos, neg, lat, 0, steps, 7.5, 7.5, "ZeroScope", "", k,
                                    "ddim", "gaussian", 1.0, 0.4, INVERSIONS[0], 1.5, True)
        sync()
        walls.append(time.perf_counter() - t)
        unet_s.append(sum(inside))
        counted.append(len(inside))
    for _ in range(ARGS.reps + 1):
        run()
    walls, unet_s = walls[1:], unet_s[1:]                                  # the first run is the warm-up
    calls = model_calls(steps, refine_indices(preset_remaining("ZeroScope", steps), steps), k)
    analytic = sum(calls.values())
    assert set(counted) == {analytic}, (counted, calls)
    report(f"VideoElevator U-Net calls, counted / analytic ({label})", [counted[-1]], [analytic], "= 1",
           f"ZeroScope, N {steps}, K {k}, {frames} frames: {calls['image']} T2I (CFG) + {calls['video']} T2V (CFG) + "
           f"{calls['inversion']} inversion + {calls['pnp']} PnP = {analytic}")
    report(f"VideoElevator wall time / time inside U-Net calls ({label})", walls, unet_s, "→ 1.0",
           f"same run, {size}²; T2I + cross-frame attention, T2V = other weights + temporal shift")


def bench_alternating_wan(frames=5, size=64, steps=12, remaining="10,6,3", k=3):
    """VideoElevator with Wan 2.1 as T2V through the VAE bridge: tiny SD1.5-layout U-Net + tiny SD VAE
    as T2I, tiny WanModel + tiny WanVAE as T2V. Model and VAE calls counted vs the analytic count; the node's wall
    time vs the same calls replayed bare, each on the input it had in the node (the baseline: what the node cannot
    avoid). Cross-frame attention off, so the replayed T2I calls are the node's calls exactly."""
    recorded = []

    def record(name, call, bare):
        recorded.append(bare)
        return call()
    image, video = hooked(tiny.unet_model(), "T2I", record), hooked(tiny_dit.wan21(), "T2V", record)
    vaes = dict(image_vae=HookedVAE(tiny.vae_model(), "SD VAE", record),
                video_vae=HookedVAE(tiny.wan21_vae_model(), "Wan VAE", record))
    pos, neg = conds(32)
    lat = {"samples": torch.zeros(frames, 4, size // 8, size // 8)}

    def node():
        recorded.clear()
        AlternatingKSampler.execute(image, pos, neg, video, pos, neg, lat, 0, steps, 5.0, 3.0, CUSTOM, remaining, k,
                                    "ddim", "gaussian", 1.0, 0.4, INVERSIONS[0], 1.5, False, **vaes)
    node()
    calls, replay = model_calls(steps, refine_indices(parse_remaining(remaining), steps), k, True, 4), list(recorded)
    analytic = sum(calls.values())
    assert len(replay) == analytic, (len(replay), calls)

    def bare():
        for call in replay:
            call()
    report("VideoElevator calls, counted / analytic (Wan 2.1 bridge, tiny)", [len(replay)], [analytic], "= 1",
           f"N {steps}, refine {remaining}, K {k}, {frames} frames: {calls['image']} T2I (CFG) + {calls['video']} T2V "
           f"(CFG) + {calls['inversion']} inversion + {calls['pnp']} PnP + {calls['bridge']} VAE = {analytic}")
    times = timed_interleaved({"node": node, "bare": bare})
    report("VideoElevator wall time / bare model + bridge calls (Wan 2.1 bridge, tiny)", times["node"],
           times["bare"], "≤ 1.05×", f"same calls on the same inputs replayed bare; {frames} frames of {size}², "
           f"no cross-frame attention")


def bench_elevator_wan_memory(frames=17, size=128):
    """Peak memory per phase of the bridged Alternating KSampler, tiny models as bench_alternating_wan:
    T2I steps, T2V steps, each VAE's decode and encode. CPU: resident memory sampled every millisecond, the peak
    within each phase minus the resident memory before the run (run it alone: `--only elevator_wan_memory`).
    CUDA: torch's peak allocation within each phase. Prints a table; no ratio."""
    now = torch.cuda.memory_allocated if GPU else resident
    peak, current = {}, [None]

    def phase(name, call, bare):
        current[0] = name
        if GPU:
            torch.cuda.reset_peak_memory_stats()
        try:
            return call()
        finally:
            if GPU:
                peak[name] = max(peak.get(name, 0), torch.cuda.max_memory_allocated())
            current[0] = None

    def sample(stop):
        while not stop.is_set():
            name = current[0]                      # read once: the phase may end meanwhile
            if name is not None:
                peak[name] = max(peak.get(name, 0), now())
            time.sleep(0.001)
    image, video = hooked(tiny.unet_model(), "T2I step", phase), hooked(tiny_dit.wan21(), "T2V step", phase)
    vaes = dict(image_vae=HookedVAE(tiny.vae_model(), "SD VAE", phase),
                video_vae=HookedVAE(tiny.wan21_vae_model(), "Wan VAE", phase))
    latent = {"samples": torch.zeros(frames, 4, size // 8, size // 8)}
    stop = threading.Event()
    thread = threading.Thread(target=sample, args=(stop,), daemon=True)
    base = now()
    thread.start()
    AlternatingKSampler.execute(image, *conds(32), video, *conds(32), latent, 0, 12, 5.0, 5.0, CUSTOM, "10,6,3", 3,
                                "ddim", "gaussian", 1.0, 0.4, INVERSIONS[0], 1.5, True, **vaes)
    stop.set()
    thread.join()
    print(f"  {frames} frames of {size}², peak minus {'allocated' if GPU else 'resident'} memory before the run:")
    for name, p in sorted(peak.items()):
        print(f"  | {name} | {(p - base) / 2 ** 20:.1f} MiB |", flush=True)


def save_rows(path, machine):
    """Write this run's rows; with --only, the other rows of the last run stay (each row carries its date)."""
    today = time.strftime("%Y-%m-%d")
    rows = [dict(r, date=today, machine=machine, torch=torch.__version__) for r in ROWS]
    if ARGS.only and os.path.exists(path):
        with open(path) as f:
            kept = [r for r in json.load(f)["rows"] if r["name"] not in {n["name"] for n in rows}]
        rows = kept + rows
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"machine": machine, "torch": torch.__version__, "date": today, "rows": rows}, f, indent=1)


BENCHES = {
    "patch_tiny": lambda: bench_patch_overhead("tiny", tiny.unet_model(), 32, 8, 16, 10),
    "patch_sd15": lambda: bench_patch_overhead(
        "SD1.5 size", twin.comfy_from_diffusers(twin.diffusers_unet(twin.SD15), twin.COMFY_SD15), 768,
        8 if GPU else 4, 64 if GPU else 16, 20 if GPU else 2),
    "shift": lambda: (
        bench_patch_overhead("tiny", tiny.unet_model(), 32, 8, 16, 10, add_temporal_shift, "temporal shift"),
        bench_patch_overhead("SD1.5 size", twin.comfy_from_diffusers(twin.diffusers_unet(twin.SD15), twin.COMFY_SD15),
                             768, 8 if GPU else 4, 64 if GPU else 16, 20 if GPU else 2, add_temporal_shift,
                             "temporal shift")),
    "both": lambda: bench_patch_overhead("tiny", tiny.unet_model(), 32, 8, 16, 10, add_both, "both patches"),
    "t2v_zero": lambda: (bench_t2v_zero("SD1.5 size, fp16", twin.SD15, twin.COMFY_SD15, 512, torch.float16) if GPU
                         else bench_t2v_zero("tiny", twin.TINY, tiny.TINY_UNET, 128, torch.float32)),
    "t2v_zero_sd15": lambda: None if GPU else bench_t2v_zero("SD1.5 size", twin.SD15, twin.COMFY_SD15, 128,
                                                             torch.float32, frames=4, steps=10, t0=4, t1=7),
    "dit": bench_dit,
    "long_video": long_video.bench_long_video,
    "context": long_video.bench_context,
    "extend": long_video.bench_extend,
    "extend_flat": long_video.bench_extend_flat,
    "vae_memory": bench_vae_memory,
    "vae_throughput": bench_vae_throughput,
    "quality": lambda: quality.bench_quality(ROOT, ARGS.quality_rows, ARGS.quality_quick),
    "alternating": lambda: (
        bench_alternating("SD1.5 size", lambda s: twin.comfy_from_diffusers(twin.diffusers_unet(twin.SD15, seed=s),
                                                                            twin.COMFY_SD15), 768, 512) if GPU
        else bench_alternating("tiny", lambda s: tiny.unet_model(seed=s), 32, 128)),
    "alternating_wan": bench_alternating_wan,
    "elevator_wan_memory": bench_elevator_wan_memory,
    "quality_t2v": lambda: quality_t2v.bench_quality_t2v(ROOT, ARGS.quality_rows),
    "trainer": lambda: trainer_speed.bench_trainer(pack_module, tiny.unet_model(seed=0), tiny.conditioning(10)),
}
QUALITY = ("quality", "quality_t2v")      # hours of CPU: run only when named

if __name__ == "__main__":
    chosen = [b for b in ARGS.only.split(",") if b] or [b for b in BENCHES if b not in QUALITY]
    machine = torch.cuda.get_device_name() if GPU else f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    print(f"VidLift bench on {machine}, torch {torch.__version__}, {torch.get_num_threads()} threads, {ARGS.reps} "
          f"repetitions", flush=True)
    for name in chosen:
        print(f"[{name}]", flush=True)
        with torch.inference_mode():  # as ComfyUI's executor runs every node (stock VAE decode has no no_grad of its own)
            BENCHES[name]()
    print("\n| benchmark | ratio (median) | range / 95% CI | CPU ratio | goal | verdict | what |\n"
          "|---|---|---|---|---|---|---|")
    for r in ROWS:
        cpu = f"{r['cpu_ratio']:.3f}×" if "cpu_ratio" in r else ""
        print(f"| {r['name']} | {r['ratio']:.3f}× | {r['range'][0]:.3f}–{r['range'][1]:.3f} | {cpu} | {r['goal']} | "
              f"{r.get('verdict', '')} | {r['what']} |")
    save_rows(os.path.join(ROOT, "bench", "results", f"{ARGS.device}.json"), machine)

