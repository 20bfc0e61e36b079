"""models.intervals against published reference values and independent formulations.

Published values are quoted with where they were published. Where the publication gives fewer
digits than the 1e-6 this suite aims for, the comparison is at the published precision and the
same quantity is also checked at 1e-9 against a different formulation (statsmodels, scipy's gamma
distribution, a closed form). Byar's method, for which no readable published values were found, is checked
against the exact interval to its known accuracy, not against its own formula written out again.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import gamma, norm
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.rates import confint_poisson

from models.intervals import byar_interval, count_interval, exact_poisson_interval, rate_interval, wilson_interval

LEVELS = [0.95, 0.998]

# --------------------------------------------------------------------------------------------
# Published reference values
# --------------------------------------------------------------------------------------------

# Wilson score interval, 95 %, as printed by R binom::binom.confint(x, n, tol = 1e-8), column
# "wilson" (the last of each array), published in statsmodels/statsmodels
# statsmodels/stats/tests/results/results_proportion.py (commit 1a63aa78b1c7bad09354b07b5bd4f700230a24a8).
# (numerator, denominator): (lower, upper). Some entries are printed with 7 or 8 decimals only
# (noted); the comparison is absolute 1e-6 on proportions, which is coarser than that rounding.
WILSON_95_R_BINOM = {
    (0, 30): (0.0, 0.11351339),  # upper printed to 8 decimals
    (1, 30): (5.908590e-03, 0.16670391),  # printed to 7 significant figures / 8 decimals
    (4, 20): (0.0806576625797981, 0.4160174322518935),
    (4, 200): (0.00780442641634947, 0.05028708690582643),
    (18, 20): (0.6989663547715128, 0.972133518786232),
    (29, 30): (0.8332961, 0.9940914),  # printed to 7 decimals
    (30, 30): (0.8864866, 1.0),  # lower printed to 7 decimals
    (190, 200): (0.910421851861224, 0.972617354399236),
}

# Exact Poisson limits for a count, published elsewhere:
# * trng4 (rabauke/trng4, tests/test_math.cc, commit 3e9a49887dfb93dfec01c9052668be9e2302e241),
#   test_inv_GammaP: 40-digit reference values (computed with Maple) of the inverse regularised
#   incomplete gamma function P^-1(s, p). The exact limits are lower = P^-1(O, alpha/2) and
#   upper = P^-1(O + 1, 1 - alpha/2), so s = 2 gives the upper limit for O = 1 and the lower
#   limit for O = 2.
TRNG4_INV_GAMMA_P_S2 = {
    0.025: 2.4220927854396490290204025650292620932214e-01,
    0.050: 3.5536151069866205222382603278533247307144e-01,
    0.950: 4.7438645183905783758502737858333195550345e00,
    0.975: 5.5716433909388985972272827567407241238352e00,
}
# * R package exactci, poisson.exact(15, 400, tsmethod = "central")$conf.int, a rate per unit
#   of 400, published in statsmodels 0.15.0, statsmodels/stats/tests/test_rates_poisson.py,
#   test_rate_poisson_r (ci2 = (0.0209884653319583, 0.0618505471787146)).
EXACTCI_15_PER_400 = (0.0209884653319583, 0.0618505471787146)
# * R package epitools, help page pois.conf.int (CRAN reference manual): "When x = 0, for the
#   upper confidence limit pois.exact returns 3.689" (95 %, 3 decimals).
EPITOOLS_UPPER_FOR_ZERO = 3.689

# PHE "Technical Guide: Confidence intervals" (Public Health Data Science, 25 May 2018), Byar's
# method: "Byar's method is within 0.2% of the exact value for numerators of 10 or more" (95 %).
PHE_BYAR_TOLERANCE_95 = 0.002


# --------------------------------------------------------------------------------------------
# Independent formulations (written here, not taken from models.intervals)
# --------------------------------------------------------------------------------------------

def z_two_sided(confidence):
    return norm.ppf(1 - (1 - confidence) / 2)


def exact_by_gamma(count, confidence):
    """Exact Poisson limits through the gamma distribution (not the chi-square one)."""
    alpha = 1 - confidence
    count = np.asarray(count, dtype=float)
    lower = np.where(count > 0, gamma.ppf(alpha / 2, np.maximum(count, 1)), 0.0)
    return lower, gamma.ppf(1 - alpha / 2, count + 1)


# --------------------------------------------------------------------------------------------
# Wilson
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("numerator", "denominator"), list(WILSON_95_R_BINOM))
def test_wilson_matches_r_binom_at_95(numerator, denominator):
    lower, upper = wilson_interval(numerator, denominator)
    expected_lower, expected_upper = WILSON_95_R_BINOM[(numerator, denominator)]
    assert lower == pytest.approx(expected_lower, abs=1e-6)
    assert upper == pytest.approx(expected_upper, abs=1e-6)


@pytest.mark.parametrize("confidence", LEVELS)
def test_wilson_matches_statsmodels_at_both_levels(confidence):
    # No published 99.8 % Wilson table was found; statsmodels' own implementation is the check.
    numerators = np.array([0, 1, 9, 10, 1000, 1045, 29, 30, 0.445])
    denominators = np.array([30, 30, 50, 50, 5000, 5000, 30, 30, 1])
    lower, upper = wilson_interval(numerators, denominators, confidence)
    expected_lower, expected_upper = proportion_confint(numerators, denominators, alpha=1 - confidence, method="wilson")
    np.testing.assert_allclose(lower, expected_lower, rtol=0, atol=1e-9)
    np.testing.assert_allclose(upper, expected_upper, rtol=0, atol=1e-9)


@pytest.mark.parametrize(("confidence", "z"), [(0.95, 1.959963985), (0.998, 3.090232306)])
def test_wilson_for_zero_uses_the_unrounded_normal_quantile(confidence, z):
    # For O = 0 the upper limit is z^2 / (n + z^2); z as stated to 9 decimals in the brief.
    lower, upper = wilson_interval(0, 100, confidence)
    assert lower == 0.0
    assert upper == pytest.approx(z**2 / (100 + z**2), abs=1e-9)
    assert z == pytest.approx(z_two_sided(confidence), abs=5e-10)


def test_wilson_edges():
    assert wilson_interval(0, 7)[0] == 0.0
    assert wilson_interval(7, 7)[1] == 1.0
    assert wilson_interval(1, 1)[1] == 1.0 and 0 < wilson_interval(1, 1)[0] < 1
    lower, upper = wilson_interval(0, 0)
    assert math.isnan(lower) and math.isnan(upper)
    lower, upper = wilson_interval([0, 3, 5], [0, 10, 5])
    assert np.isnan(lower[0]) and np.isnan(upper[0])
    assert 0 < lower[1] < 0.3 < upper[1] < 1
    assert upper[2] == 1.0


# --------------------------------------------------------------------------------------------
# Exact Poisson
# --------------------------------------------------------------------------------------------

def test_exact_matches_trng4_maple_values():
    assert exact_poisson_interval(1)[1] == pytest.approx(TRNG4_INV_GAMMA_P_S2[0.975], rel=1e-12)
    assert exact_poisson_interval(2)[0] == pytest.approx(TRNG4_INV_GAMMA_P_S2[0.025], rel=1e-12)
    # the same published values at the 90 % level
    assert exact_poisson_interval(1, 0.90)[1] == pytest.approx(TRNG4_INV_GAMMA_P_S2[0.950], rel=1e-12)
    assert exact_poisson_interval(2, 0.90)[0] == pytest.approx(TRNG4_INV_GAMMA_P_S2[0.050], rel=1e-12)


def test_exact_matches_r_exactci():
    lower, upper = exact_poisson_interval(15)
    assert lower / 400 == pytest.approx(EXACTCI_15_PER_400[0], rel=1e-12)
    assert upper / 400 == pytest.approx(EXACTCI_15_PER_400[1], rel=1e-12)


def test_exact_for_zero_and_one_matches_epitools_and_the_closed_forms():
    # epitools publishes 3.689 (3 decimals); compare at that precision ...
    assert exact_poisson_interval(0)[1] == pytest.approx(EPITOOLS_UPPER_FOR_ZERO, abs=5e-4)
    # ... and at 1e-12 against the closed form: chi-square with 2 degrees of freedom is
    # exponential, so upper(0) = -ln(alpha/2) and lower(1) = -ln(1 - alpha/2).
    for confidence, upper_for_zero, lower_for_one in [
        (0.95, math.log(40), -math.log(0.975)),
        (0.998, math.log(1000), -math.log(0.999)),
    ]:
        assert exact_poisson_interval(0, confidence) == (0.0, pytest.approx(upper_for_zero, rel=1e-12))
        assert exact_poisson_interval(1, confidence)[0] == pytest.approx(lower_for_one, rel=1e-12)


@pytest.mark.parametrize("confidence", LEVELS)
def test_exact_matches_gamma_and_statsmodels_at_both_levels(confidence):
    counts = np.array([0, 1, 2, 9, 10, 65, 1000, 1045, 5000])
    lower, upper = exact_poisson_interval(counts, confidence)
    expected_lower, expected_upper = exact_by_gamma(counts, confidence)
    np.testing.assert_allclose(lower, expected_lower, rtol=1e-9, atol=0)
    np.testing.assert_allclose(upper, expected_upper, rtol=1e-9, atol=0)
    sm_lower, sm_upper = confint_poisson(counts, np.ones(len(counts)), method="exact-c", alpha=1 - confidence)
    np.testing.assert_allclose(lower, sm_lower, rtol=1e-9, atol=0)
    np.testing.assert_allclose(upper, sm_upper, rtol=1e-9, atol=0)


# --------------------------------------------------------------------------------------------
# Byar
# --------------------------------------------------------------------------------------------

def test_byar_is_within_phes_stated_accuracy_of_exact_from_ten():
    counts = np.arange(10, 2001)
    for byar_bound, exact_bound in zip(byar_interval(counts), exact_poisson_interval(counts)):
        assert np.max(np.abs(byar_bound / exact_bound - 1)) < PHE_BYAR_TOLERANCE_95


def test_byar_at_998_approaches_exact_as_the_count_grows():
    """At 99.8 % Byar's lower bound is up to 1.5 % off the exact one at 10 events and within 0.03 % from 100 (the
    limits' own accuracy, independent of how the formula is written: a wrong quantile would be far off)."""
    for first, tolerance in ((10, 0.016), (100, 0.0003)):
        counts = np.arange(first, 2001)
        for byar_bound, exact_bound in zip(byar_interval(counts, 0.998), exact_poisson_interval(counts, 0.998)):
            assert np.max(np.abs(byar_bound / exact_bound - 1)) < tolerance, first


def test_byar_edges():
    assert byar_interval(0)[0] == 0.0
    assert byar_interval(0)[1] == pytest.approx(exact_poisson_interval(0)[1], rel=0.01)  # 3.67 against 3.69
    # the formula's lower bound for 1 event at 99.8 % is negative (1 - 1/9 - 3.09/3 < 0); it is reported as 0
    assert byar_interval(1, 0.998)[0] == 0.0


# --------------------------------------------------------------------------------------------
# The project's convention: count_interval and rate_interval
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("confidence", LEVELS)
def test_count_interval_switches_from_exact_to_byar_at_ten(confidence):
    lower, upper, method = count_interval([0, 1, 9, 10, 1000], confidence)
    assert list(method) == ["exact", "exact", "exact", "byar", "byar"]
    exact_lower, exact_upper = exact_poisson_interval([0, 1, 9], confidence)
    byar_lower, byar_upper = byar_interval([10, 1000], confidence)
    np.testing.assert_array_equal(lower, np.concatenate([exact_lower, byar_lower]))
    np.testing.assert_array_equal(upper, np.concatenate([exact_upper, byar_upper]))
    assert count_interval(9, confidence)[2] == "exact"
    assert count_interval(10, confidence)[2] == "byar"


def test_rate_interval_scales_the_count_interval():
    # 1 event per 1 unit of population: the exact upper limit published by trng4 (Maple)
    rate, lower, upper, method = rate_interval(1, 1, per=1)
    assert (rate, lower, method) == (1.0, pytest.approx(-math.log(0.975), rel=1e-12), "exact")
    assert upper == pytest.approx(TRNG4_INV_GAMMA_P_S2[0.975], rel=1e-12)
    # ... and per 10,000 children in a population of 2,500
    assert rate_interval(1, 2_500)[2] == pytest.approx(TRNG4_INV_GAMMA_P_S2[0.975] * 4, rel=1e-12)
    # 120 neglected children among 25,000: 48 per 10,000, Byar's bounds scaled by 10,000 / 25,000
    rate, lower, upper, method = rate_interval(120, 25_000)
    byar_lower, byar_upper = byar_interval(120, 0.95)
    assert (rate, method) == (pytest.approx(48.0, rel=1e-12), "byar")
    assert lower == pytest.approx(byar_lower * 0.4, rel=1e-9)
    assert upper == pytest.approx(byar_upper * 0.4, rel=1e-9)
    # exact below 10, at 99.8 %: the chi-square limits for 3 events per 1,500 children
    rate, lower, upper, method = rate_interval(3, 1_500, per=10_000, confidence=0.998)
    exact_lower, exact_upper = exact_by_gamma(3, 0.998)
    assert method == "exact"
    assert rate == pytest.approx(20.0, rel=1e-12)
    assert lower == pytest.approx(exact_lower * 10_000 / 1_500, rel=1e-9)
    assert upper == pytest.approx(exact_upper * 10_000 / 1_500, rel=1e-9)


def test_rate_interval_with_no_population_or_missing_values_is_nan():
    rate, lower, upper, method = rate_interval([5, 12, None, 7], [0, np.nan, 1000, 1000])
    assert np.isnan(rate[:3]).all() and np.isnan(lower[:3]).all() and np.isnan(upper[:3]).all()
    assert list(method) == [None, None, None, "exact"]
    assert rate[3] == pytest.approx(70.0)
    rate, lower, upper, method = rate_interval(5, 0)
    assert math.isnan(rate) and math.isnan(lower) and math.isnan(upper) and method is None


# --------------------------------------------------------------------------------------------
# Shared behaviour
# --------------------------------------------------------------------------------------------

def test_998_is_wider_than_95():
    counts = np.array([0, 1, 2, 9, 10, 11, 100, 1000])
    for interval in (byar_interval, exact_poisson_interval, lambda c, conf: count_interval(c, conf)[:2]):
        lower_95, upper_95 = interval(counts, 0.95)
        lower_998, upper_998 = interval(counts, 0.998)
        assert (lower_998 <= lower_95).all() and (upper_998 > upper_95).all()
        assert (lower_998[2:] < lower_95[2:]).all()
    lower_95, upper_95 = wilson_interval(counts, 2000, 0.95)
    lower_998, upper_998 = wilson_interval(counts, 2000, 0.998)
    assert (lower_998 <= lower_95).all() and (upper_998 > upper_95).all()


def test_missing_values_give_nan_for_arrays_series_and_scalars():
    counts = pd.Series([3, pd.NA, 12], dtype="Int64")
    lower, upper, method = count_interval(counts)
    assert isinstance(lower, np.ndarray) and lower.dtype == float
    assert np.isnan(lower[1]) and np.isnan(upper[1]) and method[1] is None
    assert list(method[[0, 2]]) == ["exact", "byar"]
    assert np.isnan(exact_poisson_interval([1, np.nan])[0][1])
    assert np.isnan(byar_interval([None, 4])[1][0])
    lower, upper = wilson_interval(pd.Series([1.0, np.nan]), pd.Series([10, 10]))
    assert np.isnan(lower[1]) and np.isnan(upper[1])
    assert all(math.isnan(v) for v in wilson_interval(pd.NA, 10))
    assert all(math.isnan(v) for v in exact_poisson_interval(np.nan))
    assert count_interval(None)[2] is None


def test_scalars_give_floats_and_array_likes_give_arrays_of_the_same_shape():
    lower, upper = exact_poisson_interval(3)
    assert type(lower) is float and type(upper) is float
    rate, lower, upper, method = rate_interval(np.int64(30), 10_000)
    assert type(rate) is float and method == "byar"
    grid = np.array([[0, 1], [9, 10]])
    lower, upper, method = count_interval(grid)
    assert lower.shape == upper.shape == method.shape == (2, 2)
    lower, upper = wilson_interval(pd.Series([1, 2, 3]), 10)
    assert isinstance(lower, np.ndarray) and lower.shape == (3,)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: byar_interval(-1), "count must be zero or more"),
        (lambda: exact_poisson_interval([2, -3]), "count must be zero or more"),
        (lambda: count_interval(2.5), "count must be a whole number"),
        (lambda: rate_interval(1.5, 100), "count must be a whole number"),
        (lambda: exact_poisson_interval(np.inf), "count must be finite"),
        (lambda: wilson_interval(-1, 10), "numerator must be zero or more"),
        (lambda: wilson_interval(11, 10), "numerator must not be more than denominator"),
        (lambda: wilson_interval(1, -10), "denominator must be zero or more"),
        (lambda: wilson_interval([1, 2], [3, 4, 5]), "same length"),
        (lambda: wilson_interval("many", 10), "numerator must be numbers"),
        (lambda: rate_interval(1, -5), "population must be zero or more"),
        (lambda: rate_interval(1, 5, per=0), "per must be a single positive number"),
        (lambda: wilson_interval(1, 10, confidence=95), "confidence must be a single number strictly between 0 and 1"),
        (lambda: byar_interval(1, confidence=1.0), "confidence must be"),
        (lambda: exact_poisson_interval(1, confidence=0), "confidence must be"),
        (lambda: count_interval(1, confidence=[0.95, 0.998]), "confidence must be"),
        (lambda: rate_interval(1, 5, confidence=float("nan")), "confidence must be"),
    ],
)
def test_invalid_inputs_raise_a_plain_english_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_funnel_limits_of_a_rate_are_the_exact_poisson_quantiles_of_the_expected_count():
    from scipy.stats import chi2, poisson

    from models.intervals import funnel_limits_rate

    lower, upper = funnel_limits_rate(74.18, 22771, confidence=0.998)
    expected = 74.18 * 22771 / 1e4
    assert lower == pytest.approx(chi2.ppf(0.001, 2 * expected) / 2 / 22771 * 1e4)
    assert upper == pytest.approx(chi2.ppf(0.999, 2 * expected + 2) / 2 / 22771 * 1e4)
    # a count inside the 95 % limits is one a Poisson with that mean gives most of the time
    lo95, hi95 = funnel_limits_rate(74.18, 22771)
    inside = poisson.cdf(np.floor(hi95 * 22771 / 1e4), expected) - poisson.cdf(np.ceil(lo95 * 22771 / 1e4) - 1, expected)
    assert inside > 0.93
    # narrower for a bigger population, wider at 99.8 %; NaN without a population
    small, big = funnel_limits_rate(74.18, [5_000, 500_000])
    assert small[1] - small[0] > big[1] - big[0] and lower < lo95 < 74.18 < hi95 < upper
    assert np.isnan(funnel_limits_rate(74.18, 0)[0]) and funnel_limits_rate(0.0, 1000)[0] == 0


def test_funnel_limits_of_a_proportion_are_wilson_around_the_benchmark():
    from models.intervals import funnel_limits_proportion

    lower, upper = funnel_limits_proportion(0.1761, 980)
    z = 1.959963984540054
    n, p = 980, 0.1761
    spread = z * np.sqrt(z ** 2 + 4 * n * p * (1 - p))
    assert (lower, upper) == pytest.approx(((2 * n * p + z ** 2 - spread) / (2 * (n + z ** 2)),
                                            (2 * n * p + z ** 2 + spread) / (2 * (n + z ** 2))))
    wide, _ = funnel_limits_proportion(0.1761, 980, 0.998)
    assert wide < lower < 0.1761 < upper and np.isnan(funnel_limits_proportion(0.2, 0)[0])
