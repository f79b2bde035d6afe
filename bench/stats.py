"""Paired A/B timing and the confidence interval of a median ratio, for benchmark rows with a goal (pure Python).

A goal such as "≤ 1.03×" needs a figure whose uncertainty is below 3%: on a shared CPU two runs of the same work
differ by more than that. So baseline and candidate run in pairs, the order alternating (A B, B A, A B, …), each
pair gives one ratio candidate/baseline measured seconds apart, and the row reports the median of those ratios with
a distribution-free 95% interval from order statistics (the median of n ratios lies between the k-th smallest and
the k-th largest with probability 1 − 2·P(Binomial(n, ½) < k)). A row whose interval is wider than its goal's
margin (for ≤ 1.03×: 3%) says so: the run cannot judge that goal; more repetitions narrow it (≈ 1/√n).
"""
from __future__ import annotations

import math
import re
import statistics
import time


def paired_timing(baseline, candidate, reps: int, sync=lambda: None, clock=time.perf_counter,
                  cpu_clock=time.process_time) -> dict:
    """Runs baseline and candidate in `reps` pairs, alternating which goes first, after one warm-up each.
    Returns {"baseline" | "candidate": {"wall": [s…], "cpu": [s…]}}, entry i of both from pair i."""
    baseline(), candidate()
    out = {k: {"wall": [], "cpu": []} for k in ("baseline", "candidate")}
    for i in range(reps):
        order = (("baseline", baseline), ("candidate", candidate))
        for name, fn in order if i % 2 == 0 else order[::-1]:
            sync()
            c, t = cpu_clock(), clock()
            fn()
            sync()
            out[name]["wall"].append(clock() - t)
            out[name]["cpu"].append(cpu_clock() - c)
    return out


def binomial_below(n: int, k: int) -> float:
    """P(Binomial(n, ½) < k)."""
    return sum(math.comb(n, i) for i in range(k)) / 2 ** n


def median_ci(values, level: float = 0.95) -> tuple[float, float, float]:
    """(low, high, coverage): the order-statistic interval of the median of `values`, the narrowest one whose
    coverage is ≥ level; with too few values for that (n ≤ 5 at 95%), [min, max] and its lower coverage."""
    xs = sorted(values)
    n = len(xs)
    if n == 0:
        raise ValueError("no values")
    k = 1
    while k + 1 <= (n + 1) // 2 and 1 - 2 * binomial_below(n, k + 1) >= level:
        k += 1
    return xs[k - 1], xs[n - k], 1 - 2 * binomial_below(n, k)


def paired_ratio(baseline, candidate, level: float = 0.95) -> dict:
    """Median of the per-pair ratios candidate/baseline and its interval."""
    if len(baseline) != len(candidate) or not baseline:
        raise ValueError("paired_ratio needs as many baseline as candidate times, at least one")
    ratios = [c / b for b, c in zip(baseline, candidate)]
    lo, hi, coverage = median_ci(ratios, level)
    return dict(ratio=statistics.median(ratios), ci=[lo, hi], coverage=coverage, n=len(ratios))


def goal_bound(goal: str) -> float | None:
    """The bound of an upper-bound goal ("≤ 1.03×", "≤ 0.8× GPU, ≤ 1.0× CPU": the first), None for other goals."""
    found = re.search(r"≤\s*([0-9.]+)\s*×", goal)
    return float(found.group(1)) if found else None


def verdict(ci, goal: str) -> str:
    """What the interval says about an upper-bound goal: 'meets' (all of it below the bound), 'misses' (all above),
    or 'undecided'; with ', interval wider than the goal's margin' when its width exceeds |bound − 1|."""
    bound = goal_bound(goal)
    if bound is None:
        return ""
    lo, hi = ci
    say = "meets" if hi <= bound else "misses" if lo > bound else "undecided"
    margin = abs(bound - 1.0)
    if margin > 0 and hi - lo > margin:
        say += f", interval wider than the goal's margin ({margin:.0%}): more repetitions needed"
    return say
