"""Slow simulation: capture probability depends on age band, the usual way MSE fails.

Within each age band the three lists are independent, but older children are more likely to be on
every list. Pooled over bands the lists look positively dependent, so the pooled log-linear
estimate is too low and its interval misses; estimating per band and summing is not fooled.
Run with ``pytest -m slow tests/test_capture_recapture_coverage.py``.
"""
from __future__ import annotations

import numpy as np
import pytest

from models.capture_recapture import estimate_population
from test_capture_recapture import simulate

STRATA = {"0-4": (1500, (0.10, 0.12, 0.10)), "5-9": (1000, (0.15, 0.20, 0.15)),
          "10-15": (700, (0.25, 0.30, 0.25)), "16-17": (400, (0.40, 0.45, 0.40))}
N_TRUE = sum(n for n, _ in STRATA.values())


@pytest.mark.slow
def test_stratified_estimate_beats_pooled_under_heterogeneous_capture():
    rng = np.random.default_rng(17)
    reps = 100
    strat_err, pooled_err, strat_cover, pooled_cover, n_stratified = [], [], 0, 0, 0
    for i in range(reps):
        data = simulate(rng, STRATA)
        s = estimate_population(data, n_boot=300, seed=i)
        p = estimate_population(data.drop(columns="stratum"), n_boot=300, seed=i)
        assert s.status == p.status == "estimated"
        n_stratified += s.stratified
        strat_err.append(s.estimate / N_TRUE - 1)
        pooled_err.append(p.estimate / N_TRUE - 1)
        strat_cover += s.lower <= N_TRUE <= s.upper
        pooled_cover += p.lower <= N_TRUE <= p.upper
    strat_err, pooled_err = np.array(strat_err), np.array(pooled_err)
    print(f"\nN={N_TRUE}: stratified median error {np.median(strat_err):+.1%}, coverage {strat_cover / reps:.0%}; "
          f"pooled median error {np.median(pooled_err):+.1%}, coverage {pooled_cover / reps:.0%}")
    assert n_stratified >= 0.95 * reps  # the overlap rule lets stratification through
    assert abs(np.median(strat_err)) < 0.05  # stratified: close to the truth
    assert np.median(pooled_err) < -0.10  # pooled: heterogeneity makes it too low
    assert np.mean(np.abs(strat_err)) < 0.5 * np.mean(np.abs(pooled_err))
    assert strat_cover / reps >= 0.85  # and its interval still covers about as promised
    assert pooled_cover / reps <= 0.5  # while the pooled interval mostly misses
