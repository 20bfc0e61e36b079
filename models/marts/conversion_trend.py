"""Trend tests for ``marts.conversion_rates`` (issue 21): is a step's conversion rate rising or falling over time?

The rates of consecutive quarter ends share most of their episodes (each counts 12 months of referrals), so a
test on every quarter would count the same episodes up to four times and look far surer than it is. The test
for a row (quarter end, area, step) therefore uses the **non-overlapping** 12-month referral windows ending at
its quarter end and every fourth quarter end before it (one, two ... years earlier) that the table holds, whose
referrals all fall after the first day the CIN census covers (``first_day``: an earlier window would hold only
the episodes still open when the first return began, a biased few), and with a denominator above 0.

The test: a binomial logistic regression of the episodes reaching ``to_stage`` out of those reaching
``from_stage`` on time in years (``statsmodels`` GLM, logit link), and the **likelihood-ratio test** of its slope
(chi-square, 1 df; more reliable than the Wald test with few events). Columns added to each row:

* ``trend_windows`` -- the windows used (the test needs 3 or more);
* ``trend_odds_ratio_per_year`` -- exp(slope): the odds of reaching the next stage multiply by this each year;
* ``trend_p_value`` -- the likelihood-ratio p-value;
* ``trend`` -- ``rising`` / ``falling`` when p < 0.05, ``no significant change``, ``too few periods`` (under 3
  windows), or ``not testable`` (no episode, or every episode, reached the stage in all windows).

:func:`logistic_trend` is the test on its own; ``tests/test_conversion_trend.py`` reproduces Agresti's
published fit of it (alcohol consumption and infant malformation) and finds a trend built into synthetic data.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

TREND_COLUMNS = ("trend_windows", "trend_odds_ratio_per_year", "trend_p_value", "trend")
MIN_WINDOWS = 3
ALPHA = 0.05


def logistic_trend(successes, trials, x) -> tuple[float, float, float]:
    """(slope, its standard error, likelihood-ratio p-value) of a binomial logistic regression of ``successes``
    out of ``trials`` on ``x``. NaN where the slope cannot be estimated (all or none succeed)."""
    successes, trials, x = (np.asarray(v, dtype="float64") for v in (successes, trials, x))
    if successes.sum() in (0, trials.sum()) or np.unique(x).size < 2:
        return float("nan"), float("nan"), float("nan")
    endog = np.c_[successes, trials - successes]
    fit = sm.GLM(endog, sm.add_constant(x), family=sm.families.Binomial()).fit()
    null = sm.GLM(endog, np.ones((x.size, 1)), family=sm.families.Binomial()).fit()
    statistic = max(2 * (fit.llf - null.llf), 0.0)
    return float(fit.params[1]), float(fit.bse[1]), float(stats.chi2.sf(statistic, 1))


def _label(windows: int, slope: float, p_value: float) -> str:
    if windows < MIN_WINDOWS:
        return "too few periods"
    if np.isnan(p_value):
        return "not testable"
    if p_value < ALPHA:
        return "rising" if slope > 0 else "falling"
    return "no significant change"


def with_trends(rows: pd.DataFrame, history: pd.DataFrame, first_day: date | None) -> pd.DataFrame:
    """``rows`` (conversion rows being written) with :data:`TREND_COLUMNS`, from ``history``: the conversion rows
    of every quarter end known (these and the table's others: period_end, la_code, step, referral_window_start,
    numerator, denominator)."""
    history = history.assign(period_end=pd.to_datetime(history["period_end"]).dt.as_unit("us"))
    if first_day is not None:
        history = history[pd.to_datetime(history["referral_window_start"]) >= pd.Timestamp(first_day)]
    history = history[history["denominator"] > 0]
    by_key = {key: part.set_index("period_end") for key, part in history.groupby(["la_code", "step"])}
    out = []
    for row in rows[["period_end", "la_code", "step"]].itertuples(index=False):
        end = pd.Timestamp(row.period_end)
        part = by_key.get((row.la_code, row.step))
        ends = [end - pd.DateOffset(years=k) + pd.offsets.MonthEnd(0) for k in range(0, 30)]
        used = part.loc[[e for e in ends if e in part.index]] if part is not None else pd.DataFrame()
        windows = len(used)
        slope = p_value = float("nan")
        if windows >= MIN_WINDOWS:
            years = (used.index - end).days.to_numpy() / 365.25
            slope, _, p_value = logistic_trend(used["numerator"], used["denominator"], years)
        out.append((windows, float(np.exp(slope)), p_value, _label(windows, slope, p_value)))
    trends = pd.DataFrame(out, columns=list(TREND_COLUMNS), index=rows.index)
    return pd.concat([rows, trends.astype({"trend_windows": "int32"})], axis=1)
