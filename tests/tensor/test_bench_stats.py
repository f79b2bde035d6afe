"""bench/stats.py on synthetic numbers: the paired A/B order, the order-statistic interval of the median ratio
(its coverage checked by simulation), and the verdict a row prints against its goal."""
import os
import random
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "bench"))
import stats  # noqa: E402


def test_the_interval_is_the_textbook_order_statistics():
    lo, hi, coverage = stats.median_ci(range(1, 13))          # n = 12: 3rd smallest and 3rd largest
    assert (lo, hi) == (3, 10) and coverage == pytest.approx(1 - 2 * (1 + 12 + 66) / 4096)
    lo, hi, coverage = stats.median_ci([5, 1, 4, 2, 3])         # n = 5: min and max, 93.75 % only
    assert (lo, hi) == (1, 5) and coverage == pytest.approx(1 - 2 / 32)
    assert stats.median_ci([2.0]) == (2.0, 2.0, 0.0)
    with pytest.raises(ValueError):
        stats.median_ci([])


@pytest.mark.parametrize("n", [6, 12, 25])
def test_the_interval_covers_the_true_median_at_least_as_often_as_it_says(n):
    rng = random.Random(n)
    hits, trials = 0, 2000
    for _ in range(trials):
        ratios = [1.02 * rng.lognormvariate(0, 0.05) for _ in range(n)]   # true median ratio 1.02
        lo, hi, coverage = stats.median_ci(ratios)
        hits += lo <= 1.02 <= hi
    assert coverage >= 0.95 and hits / trials >= coverage - 0.02, (hits / trials, coverage)


def test_paired_ratio_is_the_median_of_per_pair_ratios():
    base = [1.0, 2.0, 1.5, 3.0, 1.2, 2.5]      # a machine whose speed drifts between pairs
    cand = [b * 1.02 for b in base]             # the candidate 2% slower in every pair
    row = stats.paired_ratio(base, cand)
    assert row["ratio"] == pytest.approx(1.02) and row["ci"] == pytest.approx([1.02, 1.02]) and row["n"] == 6
    # unpaired medians of the same numbers spread over the drift: 1.02 only by luck; per pair it is exact
    with pytest.raises(ValueError):
        stats.paired_ratio([1.0], [1.0, 2.0])


def test_paired_timing_alternates_the_order_and_times_wall_and_cpu():
    calls, now = [], [0.0]

    def clock():
        return now[0]

    def work(name, seconds):
        def fn():
            calls.append(name)
            now[0] += seconds
        return fn
    t = stats.paired_timing(work("a", 1.0), work("b", 1.5), reps=4, clock=clock, cpu_clock=clock)
    assert calls == ["a", "b"] + ["a", "b", "b", "a", "a", "b", "b", "a"]          # warm-up, then AB BA AB BA
    assert t["baseline"]["wall"] == [1.0] * 4 and t["candidate"]["wall"] == [1.5] * 4
    assert t["baseline"]["cpu"] == [1.0] * 4


def test_goal_bounds_and_verdicts():
    assert stats.goal_bound("≤ 1.03×") == 1.03 and stats.goal_bound("≤ 0.8× GPU, ≤ 1.0× CPU") == 0.8
    assert stats.goal_bound("→ 1.0") is None and stats.verdict([0.9, 1.2], "flat within 10%") == ""
    assert stats.verdict([1.00, 1.02], "≤ 1.03×") == "meets"
    assert stats.verdict([1.04, 1.05], "≤ 1.03×") == "misses"
    assert stats.verdict([1.02, 1.04], "≤ 1.03×") == "undecided"
    wide = stats.verdict([0.98, 1.05], "≤ 1.03×")
    assert wide.startswith("undecided") and "wider than the goal's margin (3%)" in wide
