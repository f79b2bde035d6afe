"""The timing and reporting helpers of `make bench` (bench/run.py): repeated and interleaved timings, equal-work time
per frame, and the rows of the table (ROWS), each a ratio against a baseline from the same run."""
from __future__ import annotations

import statistics
import time

import torch

import stats  # bench/stats.py: paired timing, the median ratio's interval

SETTINGS = {"reps": 5, "paired_reps": 12, "gpu": False}     # set by bench/run.py from its arguments
ROWS = []


def configure(reps: int, paired_reps: int, gpu: bool) -> None:
    SETTINGS.update(reps=reps, paired_reps=paired_reps, gpu=gpu)


def sync():
    if SETTINGS["gpu"]:
        torch.cuda.synchronize()


def timed(fn, reps=None):
    reps = reps or SETTINGS["reps"]
    fn()  # warm-up
    out = []
    for _ in range(reps):
        sync()
        t = time.perf_counter()
        fn()
        sync()
        out.append(time.perf_counter() - t)
    return out


def timed_interleaved(fns: dict, reps=None) -> dict:
    """Time several runs round-robin (a, b, c, a, b, c, …), so a machine slowing down over the run (a shared
    CPU) biases none of them; one warm-up each."""
    reps = reps or SETTINGS["reps"]
    for fn in fns.values():
        fn()
    out = {k: [] for k in fns}
    for _ in range(reps):
        for k, fn in fns.items():
            sync()
            t = time.perf_counter()
            fn()
            sync()
            out[k].append(time.perf_counter() - t)
    return out


def time_per_frame(runs: dict, reps=3) -> dict:
    """Seconds per frame of run(n) for each length n, over equal work: each repetition runs every length
    max(n)/n times, spread evenly over the repetition (the short runs between the long ones), so every length
    sees the same slices of a shared CPU's changing speed; one warm-up each. Returns {n: [s/frame per rep]}."""
    longest = max(runs)
    for fn in runs.values():
        fn()
    # each run's slot in the repetition: the k-th of max/n runs at (k + ½)·n/max of the way through
    order = sorted(((k + 0.5) * n / longest, n) for n in runs for k in range(longest // n))
    out = {n: [] for n in runs}
    for _ in range(reps):
        spent = dict.fromkeys(runs, 0.0)
        for _, n in order:
            sync()
            t = time.perf_counter()
            runs[n]()
            sync()
            spent[n] += time.perf_counter() - t
        for n in runs:
            out[n].append(spent[n] / longest)
    return out


def report(name, ours, base, goal, what):
    ratio = statistics.median(ours) / statistics.median(base)
    lo, hi = min(ours) / max(base), max(ours) / min(base)
    ROWS.append(dict(name=name, what=what, ours_s=statistics.median(ours), baseline_s=statistics.median(base),
                     ratio=ratio, range=[lo, hi], goal=goal))
    print(f"  {name}: {ratio:.3f}× ({lo:.3f}–{hi:.3f}), goal {goal}", flush=True)


def report_paired(name, baseline, candidate, goal, what, reps=None):
    """A row with a goal: baseline and candidate timed in alternating pairs (stats.paired_timing), the median of
    the per-pair wall-time ratios with its 95% interval, and the CPU-time ratio beside it (a CPU-time ratio that
    differs from the wall one points at waiting: other processes, I/O, a GPU)."""
    t = stats.paired_timing(baseline, candidate, max(reps or SETTINGS["paired_reps"], 1), sync)
    wall = stats.paired_ratio(t["baseline"]["wall"], t["candidate"]["wall"])
    cpu = stats.paired_ratio(t["baseline"]["cpu"], t["candidate"]["cpu"])
    say = stats.verdict(wall["ci"], goal)
    lo, hi = wall["ci"]
    ROWS.append(dict(name=name, what=what, ours_s=statistics.median(t["candidate"]["wall"]),
                     baseline_s=statistics.median(t["baseline"]["wall"]), ratio=wall["ratio"], range=[lo, hi],
                     ci_coverage=wall["coverage"], pairs=wall["n"], cpu_ratio=cpu["ratio"], cpu_range=cpu["ci"],
                     goal=goal, verdict=say))
    print(f"  {name}: {wall['ratio']:.3f}× wall ({wall['coverage']:.0%} CI {lo:.3f}–{hi:.3f}, {wall['n']} pairs), "
          f"{cpu['ratio']:.3f}× CPU, goal {goal}{': ' + say if say else ''}", flush=True)
