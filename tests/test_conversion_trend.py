"""The trend test of marts.conversion_rates (models/marts/conversion_trend.py): a binomial logistic regression on
time with a likelihood-ratio test of its slope.

Published example: Agresti, *An Introduction to Categorical Data Analysis* (2nd ed., 2007), Table 2.7: alcohol
consumption during pregnancy and infant malformation (32,574 births; scores 0, 0.5, 1.5, 4.0, 7.0 drinks a day),
to which the book fits the logistic regression logit = -5.961 + 0.3166 x (SE 0.1254) with likelihood-ratio
statistic 4.25 (P = 0.04) for the slope -- the same data its Cochran-Armitage trend test gives M2 = 6.57 for.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from models.marts.conversion_trend import logistic_trend, with_trends

MALFORMED = [48, 38, 5, 1, 1]
ABSENT = [17066, 14464, 788, 126, 37]
DRINKS = [0.0, 0.5, 1.5, 4.0, 7.0]


def test_agresti_alcohol_and_malformation():
    trials = np.add(MALFORMED, ABSENT)
    slope, se, p_value = logistic_trend(MALFORMED, trials, DRINKS)
    assert slope == pytest.approx(0.3166, abs=5e-4) and se == pytest.approx(0.1254, abs=5e-4)
    assert stats.chi2.isf(p_value, 1) == pytest.approx(4.25, abs=0.01)  # the published LR statistic
    assert p_value == pytest.approx(0.039, abs=0.001)


def test_no_slope_when_every_or_no_trial_succeeds():
    assert np.isnan(logistic_trend([0, 0, 0], [10, 12, 9], [0, 1, 2])[2])
    assert np.isnan(logistic_trend([10, 12, 9], [10, 12, 9], [0, 1, 2])[2])


def _history(rates: list[float], denominator: int, rng) -> pd.DataFrame:
    ends = pd.date_range("2016-03-31", periods=4 * len(rates) - 3, freq="QE")
    rows = []
    for i, end in enumerate(ends):
        rate = np.interp(i, np.arange(0, len(ends), 4), rates)  # quarterly values between the yearly ones
        rows.append((end, "991", "assessment to section 47", end - pd.DateOffset(months=15) + pd.Timedelta(days=1),
                     int(rng.binomial(denominator, rate)), denominator))
    return pd.DataFrame(rows, columns=["period_end", "la_code", "step", "referral_window_start", "numerator",
                                       "denominator"])


def test_a_known_trend_is_found_and_a_flat_rate_is_not():
    rng = np.random.default_rng(21)
    rising = _history([0.30, 0.34, 0.38, 0.42, 0.46, 0.50], 800, rng)  # odds x about 1.18 a year
    flat = _history([0.40] * 6, 800, rng).assign(la_code="992")
    history = pd.concat([rising, flat], ignore_index=True)
    latest = history[history["period_end"] == history["period_end"].max()]
    out = with_trends(latest, history, date(2015, 1, 1)).set_index("la_code")
    assert out.loc["991", "trend"] == "rising" and out.loc["991", "trend_windows"] == 6
    assert out.loc["991", "trend_odds_ratio_per_year"] == pytest.approx(1.18, abs=0.05)
    assert out.loc["991", "trend_p_value"] < 1e-6
    assert out.loc["992", "trend"] == "no significant change" and out.loc["992", "trend_p_value"] > 0.05
    falling = history.assign(numerator=history["denominator"] - history["numerator"])
    assert with_trends(latest, falling, None).set_index("la_code").loc["991", "trend"] == "falling"


def test_only_non_overlapping_windows_after_the_first_census_year_are_used():
    rng = np.random.default_rng(5)
    history = _history([0.3, 0.3, 0.3, 0.3], 200, rng)
    latest = history[history["period_end"] == history["period_end"].max()]
    assert with_trends(latest, history, None)["trend_windows"].item() == 4  # 13 quarter ends, every fourth
    cut = with_trends(latest, history, date(2017, 1, 1))  # windows starting before 2017 left out
    assert cut["trend_windows"].item() == 2 and cut["trend"].item() == "too few periods"
