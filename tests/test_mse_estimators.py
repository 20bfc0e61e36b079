"""The estimators of models/mse/: latent class (LCMCR), Chao's lower bound, the false-positive
allowance, internal consistency and the publication rule, on published data and on data from
models/mse/simulate.py whose answer is known. The scenario grid itself is bench/mse_validation.py
(a reduced run is the slow test at the end)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from models.mse.false_positives import ListPPV, imputed_tables, remove_false_positives
from models.mse.internal_consistency import internal_consistency
from models.mse.latent_class import cell_patterns, nuts_lcmcr, sample_lcmcr, summarise
from models.mse.lower_bound import chao_lower_bound, frequency_counts
from models.mse.publication import ESTIMATE, OBSERVED_ONLY, RANGE, publish, publish_tables
from models.mse.simulate import Scenario, simulate

FAST = {"chains": 4, "burn": 200, "draws": 200, "thin": 2}


def rcapture_order(counts, k) -> np.ndarray:
    """A table in cell_patterns order from counts written as Rcapture does (11..1 first, then down)."""
    table = np.zeros(2**k)
    for i, c in zip(range(2**k - 1, 0, -1), counts, strict=True):
        table[i] = c
    return table


CORMACK = rcapture_order([72, 5, 29, 54, 24, 3, 14], 3)  # Cormack, Chang & Smith (2000) Table 3b


# ------------------------------------------------------------------------------ latent class
def test_one_class_model_reproduces_the_published_independence_estimate():
    # With one latent class the model is independence between lists (Mt). Cormack, Chang & Smith
    # (2000, Int. J. Epidemiol. 29:1053) publish N = 209 for independence on these data (also
    # checked in Rcapture's testPapersResults.R); the posterior median under p(N) ∝ 1/N matches.
    N = sample_lcmcr(CORMACK, K=1, chains=4, burn=300, draws=1000, thin=1, seed=3)
    fit = summarise(N[0], int(CORMACK.sum()))
    assert fit.observed == 201
    assert 207 <= fit.median <= 211
    assert fit.lower < 209 < fit.upper and fit.rhat < 1.05


def test_latent_class_covers_n_under_heterogeneity_with_five_lists():
    rng = np.random.default_rng(4)
    # two classes, as in Manrique-Vallier's (2016) simulations: 80 % hard to find, 20 % easy
    N = 2000
    hard = rng.random(N) < 0.8
    p = np.where(hard[:, None], [0.10, 0.12, 0.08, 0.15, 0.10], [0.45, 0.5, 0.4, 0.55, 0.5])
    caps = (rng.random((N, 5)) < p).astype(int)
    index = (caps * (1 << np.arange(4, -1, -1))).sum(axis=1)
    table = np.bincount(index, minlength=32).astype(float)
    table[0] = 0
    fit = summarise(sample_lcmcr(table, seed=1)[0], int(table.sum()))
    assert fit.lower <= N <= fit.upper
    independence = summarise(sample_lcmcr(table, K=1, seed=1, **FAST)[0], int(table.sum()))
    assert independence.upper < N  # one class cannot see the hard-to-find children: far too low
    assert abs(fit.median / N - 1) < abs(independence.median / N - 1)


def test_tables_are_sampled_together_and_accept_either_layout():
    a = sample_lcmcr(np.stack([CORMACK, CORMACK * 2]), seed=1, **FAST)
    assert a.shape == (2, FAST["chains"], FAST["draws"])
    one = sample_lcmcr(CORMACK, seed=1, **FAST)
    assert np.array_equal(one, sample_lcmcr(CORMACK[1:], seed=1, **FAST))  # without the all-zero cell
    assert (a[0] >= CORMACK.sum()).all() and np.median(a[1]) > np.median(a[0])
    with pytest.raises(ValueError):
        sample_lcmcr(np.ones(6))


@pytest.mark.slow
def test_gibbs_sampler_and_numpyro_nuts_agree():
    """The same model, sampled two ways (Gibbs with data augmentation; NUTS with classes summed out)."""
    table = rcapture_order([72, 155, 7, 71, 13, 53, 43], 3)  # Darroch et al. (1993) census data R3
    gibbs = summarise(sample_lcmcr(table, chains=8, burn=1000, draws=2000, thin=5, seed=2)[0], int(table.sum()))
    nuts = np.quantile(nuts_lcmcr(table, warmup=1000, samples=2000, seed=2), [0.25, 0.5, 0.75])
    assert abs(np.log(gibbs.median / nuts[1])) < 0.1
    assert np.quantile(gibbs.draws, 0.25) < nuts[2] and nuts[0] < np.quantile(gibbs.draws, 0.75)


# ------------------------------------------------------------------------------ lower bound
def test_chao_bound_equals_n_when_every_child_has_the_same_chance():
    # expected frequencies of t lists each with probability p: the bound recovers N exactly
    N, p, t = 1000.0, 0.3, 4
    k = cell_patterns(t).sum(axis=1)
    table = N * p**k * (1 - p) ** (t - k)
    table[0] = 0
    lb = chao_lower_bound(table)
    assert lb.estimate == pytest.approx(N, rel=1e-9)
    assert lb.observed < lb.lower < lb.estimate < lb.upper


def test_chao_bound_two_lists_and_frequency_counts():
    table = np.array([0, 30, 50, 20.0])  # 01, 10, 11
    assert list(frequency_counts(table)) == [0, 80, 20]
    lb = chao_lower_bound(table)
    assert lb.estimate == pytest.approx(100 + 80**2 / (4 * 20))
    assert chao_lower_bound(np.array([0, 30, 50, 0.0])).estimate == pytest.approx(80 + 0.5 * 80 * 79 / 2)


def test_chao_bound_is_below_n_under_same_direction_heterogeneity():
    rng = np.random.default_rng(7)
    below = [chao_lower_bound(s.true_table).estimate < s.N
             for s in (simulate(Scenario(4, "same", 0.0, 3000), rng) for _ in range(10))]
    assert all(below)


# ----------------------------------------------------------------------- false positives
def test_false_positives_come_only_from_single_list_cells():
    rng = np.random.default_rng(1)
    table = np.full((1, 16), 100.0)
    table[0, 0] = 0
    out = remove_false_positives(rng, np.repeat(table, 2000, axis=0), np.full((2000, 4), 0.9))
    removed = table - out
    singles = [8, 4, 2, 1]
    assert (removed[:, [c for c in range(16) if c not in singles]] == 0).all()
    assert removed[:, singles].mean() == pytest.approx(0.1 * 800, rel=0.02)  # each list holds 800
    same = remove_false_positives(rng, table, np.ones((1, 4)))
    assert np.array_equal(same, table)


def test_audit_counts_set_the_ppv_and_its_uncertainty():
    assert ListPPV(checked=50, confirmed=40).mean == pytest.approx(41 / 52)
    assert ListPPV(ppv=0.8).mean == pytest.approx(17 / 22)
    assert ListPPV().mean == 1.0
    rng = np.random.default_rng(2)
    table = np.zeros(8)
    table[[1, 2, 4, 7]] = [100, 100, 100, 50]
    wide = imputed_tables(rng, table, [ListPPV(checked=10, confirmed=8)] * 3, 500).sum(axis=1)
    narrow = imputed_tables(rng, table, [ListPPV(checked=1000, confirmed=800)] * 3, 500).sum(axis=1)
    assert wide.std() > 1.5 * narrow.std()


# ------------------------------------------------------------------ internal consistency
def _frame(table: np.ndarray, names: list[str]) -> pd.DataFrame:
    J = len(names)
    return pd.DataFrame(cell_patterns(J)[1:].astype(int), columns=names).assign(count=table[1:])


def test_internal_consistency_is_near_zero_for_independent_lists_and_negative_with_heterogeneity():
    names = ["a", "b", "c", "d"]
    rng = np.random.default_rng(3)
    fair = _frame(simulate(Scenario(4, "none", 0.0, 5000), rng).true_table, names)
    result = internal_consistency(fair, names)
    assert list(result["target"]) == names and (result["method"] == "log-linear").all()
    assert result["known"].tolist() == [int(fair.loc[fair[n] == 1, "count"].sum()) for n in names]
    assert result["log_ratio"].abs().max() < 0.15
    skewed = _frame(simulate(Scenario(4, "same", 0.0, 5000), rng).true_table, names)
    assert internal_consistency(skewed, names)["log_ratio"].mean() < -0.05
    five = _frame(simulate(Scenario(5, "none", 0.0, 5000), rng).true_table, list("abcde"))
    assert set(internal_consistency(five, list("abcde"), sampler=FAST)["method"]) == {"latent class"}


def test_internal_consistency_by_group_with_three_lists_uses_chapman():
    names = ["a", "b", "c"]
    rng = np.random.default_rng(5)
    frames = [_frame(simulate(Scenario(3, "none", 0.0, 4000), rng).true_table, names).assign(la_code=la)
              for la in ("991", "992")]
    result = internal_consistency(pd.concat(frames), names, by=["la_code"])
    assert len(result) == 6 and set(result["method"]) == {"chapman"}
    assert result["covered"].mean() >= 0.5 and result["log_ratio"].abs().max() < 0.2


# ---------------------------------------------------------------------- publication rule
def test_rule_publishes_a_central_figure_only_with_four_or_more_lists():
    rng = np.random.default_rng(6)
    ppv = ListPPV(checked=50, confirmed=50)
    four = simulate(Scenario(4, "none", 0.0, 2000), rng)
    p4 = publish(four.table, list("abcd"), [ppv] * 4, sampler=FAST)
    assert p4.status == ESTIMATE and p4.central is not None
    assert p4.lower <= p4.central <= p4.upper and p4.lower_bound <= p4.upper
    three = simulate(Scenario(3, "none", 0.0, 2000), rng)
    p3 = publish(three.table, list("abc"), [ppv] * 3, sampler=FAST)
    assert p3.status == RANGE and p3.central is None
    assert p3.lower == p3.lower_bound <= p3.upper and "no single figure" in p3.reason
    sparse = np.zeros(8)
    sparse[[1, 2, 4, 3]] = [40, 30, 20, 2]
    p0 = publish(sparse, list("abc"), [ppv] * 3)
    assert p0.status == OBSERVED_ONLY and p0.central is None and "share 0" in p0.reason


def test_allowance_brings_the_estimate_back_towards_n():
    rng = np.random.default_rng(8)
    samples = [simulate(Scenario(4, "none", 0.2, 3000), rng) for _ in range(3)]
    tables = np.array([s.table for s in samples])
    with_audit = publish_tables(tables, list("abcd"), [[ListPPV(checked=c, confirmed=k) for c, k in s.audit]
                                                       for s in samples], sampler=FAST)
    without = publish_tables(tables, list("abcd"), [ListPPV()] * 4, sampler=FAST)
    for s, a, b in zip(samples, with_audit, without):
        assert abs(a.central / s.N - 1) < abs(b.central / s.N - 1)
        assert b.central > 1.2 * s.N  # false positives inflate the estimate
    assert json.dumps(with_audit[0].as_row(), default=float)


def _bench():
    """bench/mse_validation.py (a script, not a package), loaded by path."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("mse_validation", Path(__file__).parents[1] / "bench" /
                                                  "mse_validation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_harness_scores_a_small_grid():
    bench = _bench()
    rows = pd.DataFrame(bench.run_scenario((Scenario(4, "same", 0.1, 500), 3, 1)))
    rows["truth"] = rows["N"]
    assert len(rows) == 3 and set(rows["status"]) == {ESTIMATE}
    scores = bench.score(rows)
    assert 0 <= scores["latent class cover"] <= 1 and np.isfinite(scores["log-linear RMSE log"])


@pytest.mark.slow
def test_validation_grid_four_lists_reproduces_the_readme_direction():
    """A reduced run of bench/mse_validation.py: with four lists and no heterogeneity the published
    interval covers N in most replicates; with same-direction heterogeneity the lower bound stays below N."""
    run_scenario = _bench().run_scenario
    fair = pd.DataFrame(run_scenario((Scenario(4, "none", 0.1, 1000), 50, 11)))
    assert ((fair["pub_lower"] <= 1000) & (1000 <= fair["pub_upper"])).mean() >= 0.85
    skewed = pd.DataFrame(run_scenario((Scenario(4, "same", 0.1, 1000), 50, 12)))
    assert (skewed["lb"] < 1000).mean() >= 0.95
