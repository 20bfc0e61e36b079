"""Multiple systems estimation (models/capture_recapture.py) against published worked examples,
an independent fit (statsmodels GLM), properties every estimate must have, and a quick coverage
simulation. The slower heterogeneity simulation is in test_capture_recapture_coverage.py."""
from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from models.capture_recapture import MSEResult, chapman, estimate_population, loglinear_estimate

LISTS = ["csc_neglect", "early_help_neglect", "adult_concern"]


def rcapture_table(counts, names) -> pd.DataFrame:
    """Capture histories in the order of Rcapture's ``histpos.t(k)`` (11..1 first, then counting
    down in binary to 0..01), which is the order the published counts below are written in."""
    k = len(names)
    rows = []
    for i, c in zip(range(2**k - 1, 0, -1), counts, strict=True):
        rows.append({**{n: (i >> (k - 1 - j)) & 1 for j, n in enumerate(names)}, "count": c})
    return pd.DataFrame(rows)


def simulate(rng, strata: dict, lists=LISTS) -> pd.DataFrame:
    """Children in each stratum {name: (N, capture probability per list)}, lists drawn independently."""
    parts = []
    for name, (n, p) in strata.items():
        caps = rng.random((n, len(p))) < np.asarray(p)
        caps = caps[caps.any(axis=1)].astype(int)
        table = pd.DataFrame(caps, columns=lists[: len(p)]).value_counts().rename("count").reset_index()
        parts.append(table if name is None else table.assign(stratum=name))
    return pd.concat(parts, ignore_index=True)


def row(result: MSEResult, model: str) -> pd.Series:
    table = result.model_table
    return table.loc[table["model"] == model].iloc[0]


# ---------------------------------------------------------------------------- published examples
def test_chapman_reproduces_seber_example_published_in_rcapture():
    # Seber (1982) The Estimation of Animal Abundance, p.107: 167 caught twice, 781 only on the
    # first occasion, 254 only on the second. Published in the Rcapture reference manual
    # (Baillargeon & Rivest 2007, example of closedp.bc; tests/Examples/Rcapture-Ex.Rout.save):
    # "Mt  abundance 2382.8  stderr 129.1" -- the bias-corrected two-occasion estimator is Chapman's.
    r = chapman(n1=781 + 167, n2=254 + 167, m=167)
    assert round(r.estimate, 1) == 2382.8
    assert round(r.se, 1) == 129.1
    assert r.observed == 1202 and r.status == "estimated" and r.method == "chapman"
    assert r.observed < r.lower < r.estimate < r.upper


def test_loglinear_reproduces_darroch_r3_results_of_rivest_2011():
    # Darroch, Fienberg, Glonek & Junker (1993) census data R3 (3 lists), as analysed in Rivest
    # (2011, Int. J. Biostat. 7(1) art. 23); the published values are checked in Rcapture's
    # inst/tests/testPapersResults.R. Saturated (all two-way): N 1240, s.e. 451.
    # [E1,E2]+[E2,E3]: N 850, s.e. 186, deviance 3.8 on 1 df.
    r = loglinear_estimate(rcapture_table([72, 155, 7, 71, 13, 53, 43], ["c1", "c2", "c3"]), n_boot=200)
    sat = row(r, "main effects + c1:c2 + c1:c3 + c2:c3")
    assert (round(sat["N"]), round(sat["se"]), sat["df"]) == (1240, 451, 0)
    two = row(r, "main effects + c1:c2 + c2:c3")
    assert (round(two["N"]), round(two["se"]), round(two["deviance"], 1), two["df"]) == (850, 186, 3.8, 1)
    assert len(r.model_table) == 8  # every hierarchical model of main effects + two-way interactions


def test_loglinear_reproduces_cormack_chang_smith_2000_table_3b():
    # Cormack, Chang & Smith (2000) Int. J. Epidemiol. 29:1053, Table 3b (industrial-injury deaths,
    # 3 lists), published values as checked in Rcapture's testPapersResults.R:
    # independence N 209, deviance 75.1 on 3 df; [2,3] deviance 1.2 on 2 df; [1,2]+[2,3] deviance
    # 0.6 on 1 df; [1,3]+[2,3] N 233 on 1 df; saturated deviance 0 on 0 df.
    r = loglinear_estimate(rcapture_table([72, 5, 29, 54, 24, 3, 14], ["c1", "c2", "c3"]), n_boot=200)
    ind = row(r, "main effects")
    assert (round(ind["N"]), round(ind["deviance"], 1), ind["df"]) == (209, 75.1, 3)
    assert (round(row(r, "main effects + c2:c3")["deviance"], 1), row(r, "main effects + c2:c3")["df"]) == (1.2, 2)
    m = row(r, "main effects + c1:c2 + c2:c3")
    assert (round(m["deviance"], 1), m["df"]) == (0.6, 1)
    m = row(r, "main effects + c1:c3 + c2:c3")
    assert (round(m["N"]), m["df"]) == (233, 1)
    m = row(r, "main effects + c1:c2 + c1:c3 + c2:c3")
    assert (round(m["deviance"], 1), m["df"]) == (0.0, 0)
    assert r.chosen_model == "main effects + c2:c3"  # the paper's preferred model (deviance 1.2)


def test_loglinear_reproduces_diabetes_four_list_results_of_rivest_2011():
    # Bruno et al. (1994) diabetes data, 4 lists, as analysed in Rivest (2011) (Rcapture
    # testPapersResults.R and the closedpCI example): Bruno's model (all two-way but [1,4]):
    # N 2771, s.e. 145, deviance 7.62 on 5 df; [1,3]+[2,4]+[3,4]: N 2472, s.e. 53, deviance 21.97 on 7 df.
    counts = [58, 157, 18, 104, 46, 650, 12, 709, 14, 20, 7, 74, 8, 182, 10]
    r = loglinear_estimate(rcapture_table(counts, ["c1", "c2", "c3", "c4"]), n_boot=100)
    m = row(r, "main effects + c1:c2 + c1:c3 + c2:c3 + c2:c4 + c3:c4")
    assert (round(m["N"]), round(m["se"]), round(m["deviance"], 2), m["df"]) == (2771, 145, 7.62, 5)
    m = row(r, "main effects + c1:c3 + c2:c4 + c3:c4")
    assert (round(m["N"]), round(m["se"]), round(m["deviance"], 2), m["df"]) == (2472, 53, 21.97, 7)
    assert len(r.model_table) == 64
    assert r.observed == 2069


@pytest.mark.filterwarnings("ignore")  # statsmodels warns on the saturated model (0 residual df)
def test_every_model_matches_statsmodels_poisson_glm():
    """Independent formulation: statsmodels' GLM on the same design gives the same fits."""
    data = rcapture_table([72, 5, 29, 54, 24, 3, 14], ["c1", "c2", "c3"])
    r = loglinear_estimate(data, n_boot=50)
    y = data["count"].to_numpy(float)
    n = y.sum()
    for _, m in r.model_table.iterrows():
        X = data[["c1", "c2", "c3"]].astype(float)
        for term in m["model"].split(" + ")[1:]:
            a, b = term.split(":")
            X[term] = X[a] * X[b]
        fit = sm.GLM(y, sm.add_constant(X.to_numpy()), family=sm.families.Poisson()).fit()
        assert m["N"] == pytest.approx(n + math.exp(fit.params[0]), rel=1e-6)
        assert m["deviance"] == pytest.approx(fit.deviance, abs=1e-6)
        assert m["AIC"] == pytest.approx(fit.aic, rel=1e-8)
        assert m["BIC"] == pytest.approx(-2 * fit.llf + (X.shape[1] + 1) * math.log(n), rel=1e-8)


# ---------------------------------------------------------------------------------- properties
def test_chapman_with_no_overlap_is_finite_and_flagged():
    r = chapman(50, 40, 0)
    assert math.isfinite(r.estimate) and math.isfinite(r.upper)
    assert r.estimate == 51 * 41 - 1
    assert any("No child is on both lists" in w for w in r.diagnostics["warnings"])


def test_pair_with_no_overlap_is_not_estimable_with_nan_fields():
    data = rcapture_table([0, 0, 15, 100, 12, 80, 90], LISTS)  # csc & early help share nobody
    r = estimate_population(data)
    assert r.status == "not estimable"
    assert "csc_neglect & early_help_neglect share 0" in r.message
    for value in (r.estimate, r.unobserved, r.lower, r.upper, r.se):
        assert math.isnan(value)
    assert r.observed == 297
    two = pd.DataFrame({"csc_neglect": [1, 0], "adult_concern": [0, 1], "count": [100, 80]})
    r2 = estimate_population(two)
    assert r2.status == "not estimable" and math.isnan(r2.estimate) and "share 0" in r2.message


def test_degenerate_model_is_dropped_and_said_so():
    # no child on csc and early help but not adult concern (cell 110 = 0): the saturated model and
    # [1,3]+[2,3] put that zero in a denominator, so their MLE of the unobserved cell is infinite
    data = rcapture_table([20, 0, 15, 100, 12, 80, 90], LISTS)
    r = estimate_population(data, n_boot=200)
    dropped = dict(r.diagnostics["dropped_models"])
    saturated = "main effects + " + " + ".join(f"{a}:{b}" for a, b in itertools.combinations(LISTS, 2))
    assert "fit" not in dropped.get(saturated, "fit")  # dropped, for a reason other than a failed fit
    assert r.status == "estimated" and r.observed <= r.lower <= r.estimate <= r.upper < 10 * r.observed
    assert r.model_table.loc[r.model_table["dropped"] != "", "BIC weight"].eq(0).all()


@pytest.mark.parametrize("seed", range(6))
def test_estimate_at_least_observed_and_interval_contains_it(seed):
    rng = np.random.default_rng(seed)
    data = simulate(rng, {None: (int(rng.integers(300, 3000)), rng.uniform(0.08, 0.4, size=3))})
    for r in (estimate_population(data, n_boot=200),
              chapman(*_two_list_counts(data), confidence=0.95)):
        assert r.status == "estimated"
        assert r.observed <= r.lower <= r.estimate <= r.upper
        assert r.estimate >= r.observed and r.unobserved >= 0


def _two_list_counts(data):
    a, b = data[LISTS[0]] == 1, data[LISTS[1]] == 1
    return data.loc[a, "count"].sum(), data.loc[b, "count"].sum(), data.loc[a & b, "count"].sum()


def test_higher_confidence_gives_wider_interval():
    data = rcapture_table([72, 5, 29, 54, 24, 3, 14], LISTS)
    narrow, wide = (estimate_population(data, c, n_boot=500) for c in (0.95, 0.998))
    assert wide.lower <= narrow.lower and wide.upper >= narrow.upper
    assert wide.upper - wide.lower > narrow.upper - narrow.lower
    c95, c998 = chapman(948, 421, 167, 0.95), chapman(948, 421, 167, 0.998)
    assert c998.lower < c95.lower and c998.upper > c95.upper


def test_stratified_estimate_is_sum_of_stratum_estimates():
    rng = np.random.default_rng(11)
    strata = {"0-4": (900, (0.15, 0.2, 0.15)), "5-9": (700, (0.2, 0.25, 0.2)),
              "10-15": (600, (0.3, 0.3, 0.25)), "16-17": (400, (0.4, 0.45, 0.4))}
    data = simulate(rng, strata)
    r = estimate_population(data, n_boot=300)
    assert r.stratified and r.strata == ("0-4", "5-9", "10-15", "16-17")
    assert r.estimate == pytest.approx(r.stratum_table["estimate"].sum(), rel=1e-12)
    assert r.observed == r.stratum_table["observed"].sum() == data["count"].sum()
    for s in r.strata:  # each stratum's estimate is what the stratum alone gives
        alone = estimate_population(data[data["stratum"] == s].drop(columns="stratum"), n_boot=50)
        got = r.stratum_table.set_index("stratum").loc[s, "estimate"]
        assert got == pytest.approx(alone.estimate, rel=1e-12)
    assert r.observed <= r.lower <= r.estimate <= r.upper
    assert set(r.model_table["stratum"]) == set(r.strata)
    assert set(r.diagnostics["goodness_of_fit"]) == set(r.strata)


def test_two_list_strata_sum_chapman_estimates():
    data = pd.DataFrame({"csc_neglect": [1, 1, 0] * 2, "early_help_neglect": [1, 0, 1] * 2,
                         "count": [30, 100, 80, 10, 50, 30], "stratum": ["a"] * 3 + ["b"] * 3})
    r = estimate_population(data)
    assert r.stratified and r.method == "chapman"
    assert r.estimate == pytest.approx(chapman(130, 110, 30).estimate + chapman(60, 40, 10).estimate)
    assert r.observed < r.lower < r.estimate < r.upper


def test_strata_pooled_when_a_stratum_lacks_overlap():
    rng = np.random.default_rng(3)
    data = simulate(rng, {"0-4": (2000, (0.2, 0.2, 0.2)), "16-17": (40, (0.2, 0.2, 0.2))})
    r = estimate_population(data, n_boot=100)
    assert r.status == "estimated" and not r.stratified and r.strata == ()
    assert any(w.startswith("Strata pooled") and "16-17" in w for w in r.diagnostics["warnings"])


def test_same_seed_same_result_and_seed_only_moves_the_interval():
    data = rcapture_table([72, 155, 7, 71, 13, 53, 43], LISTS)
    a, b = estimate_population(data, seed=7), estimate_population(data, seed=7)
    assert a.as_row() == b.as_row()
    c = estimate_population(data, seed=8)
    assert c.estimate == a.estimate and (c.lower, c.upper) != (a.lower, a.upper)


def test_result_fields_row_and_assumptions():
    r = estimate_population(rcapture_table([72, 5, 29, 54, 24, 3, 14], LISTS), n_boot=200)
    assert r.method == "log-linear, BIC model averaging" and r.confidence == 0.95
    assert r.chosen_model == "main effects + early_help_neglect:adult_concern"
    assert set(r.model_table.columns) >= {"model", "df", "deviance", "AIC", "BIC", "BIC weight", "N"}
    assert r.model_table["BIC weight"].sum() == pytest.approx(1.0)
    gof = r.diagnostics["goodness_of_fit"]
    assert gof["model"] == r.chosen_model and gof["df"] == 2 and 0 < gof["p_value"] <= 1
    assert r.diagnostics["pairwise_overlaps"]["csc_neglect & early_help_neglect"] == 72 + 5
    flat = r.as_row()
    assert all(not isinstance(v, (dict, list, pd.DataFrame)) for v in flat.values())
    for phrase in ("closed", "does not change a child's chance", "Every child has some chance",
                   "age, severity and deprivation", "too low", "missed links", "false links"):
        assert phrase in r.assumptions


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="all-zero"):
        estimate_population(pd.DataFrame({"a": [0, 1], "b": [0, 1], "count": [5, 10]}))
    with pytest.raises(ValueError, match="0 and 1"):
        estimate_population(pd.DataFrame({"a": [2, 1], "b": [1, 1], "count": [5, 10]}))
    with pytest.raises(ValueError, match="2 to 5"):
        estimate_population(pd.DataFrame({"a": [1], "count": [5]}))
    with pytest.raises(ValueError):
        chapman(10, 5, 6)
    with pytest.raises(ValueError):
        chapman(10, 5, 2, confidence=95)


def test_three_lists_four_strata_is_fast():
    rng = np.random.default_rng(5)
    data = simulate(rng, {s: (800, (0.15, 0.2, 0.25)) for s in ("0-4", "5-9", "10-15", "16-17")})
    start = time.perf_counter()
    r = estimate_population(data)  # default 1000 bootstrap replicates per stratum
    assert time.perf_counter() - start < 2.0
    assert r.stratified and r.diagnostics["bootstrap"]["replicates"] == 1000


# ------------------------------------------------------------------------------ quick simulation
def test_interval_covers_true_n_with_independent_lists():
    rng = np.random.default_rng(2024)
    n_true, reps, covered, errors = 2000, 50, 0, []
    for i in range(reps):
        r = estimate_population(simulate(rng, {None: (n_true, (0.1, 0.2, 0.3))}), n_boot=200, seed=i)
        covered += r.lower <= n_true <= r.upper
        errors.append(r.estimate / n_true - 1)
    assert covered / reps >= 0.85
    assert abs(np.median(errors)) < 0.03
