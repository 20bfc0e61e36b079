"""Change and trend in neglect prevalence across quarters (reads every quarter of ``marts.neglect_prevalence``).

``marts.prevalence_change``: every row of ``marts.neglect_prevalence`` with the same figure a quarter
earlier and a year earlier: ``previous_quarter_rate_per_10k`` (and its 95 % bounds),
``change_since_previous_quarter``, ``year_ago_rate_per_10k`` (and bounds), ``change_since_year_ago``.
A change is ``higher`` / ``lower`` only where the two 95 % intervals do not overlap, else
``no significant change``; NULL where either quarter has no rate. (Non-overlap is the cautious
Fingertips-style rule: it misses some real changes, it rarely flags a false one.)

``marts.prevalence_trend``: for each measure, tier set and area (breakdown ``all``) a test for a
linear trend in the log rate: a Poisson regression of the children counted on quarter number with
log(population) as offset, its scale estimated from the Pearson chi-square (quasi-Poisson, so
over-dispersion widens the interval). Only quarters with ``history_complete`` are used (with less
history the counts are low and would fake a rising trend). ``point`` uses every such quarter;
``12_month`` uses only non-overlapping 12-month windows (every fourth quarter back from the latest),
because overlapping windows share children and would make the test look surer than it is. Columns: periods used,
first and last period, ``rate_ratio_per_year`` (the rate's multiplication per year) with its 95 %
interval, ``p_value``, ``trend`` (``increasing`` / ``decreasing`` when p < 0.05, ``no significant
trend``, or ``too few periods`` with fewer than 3).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm

KEYS = ["measure", "tier_set", "la_code", "breakdown", "breakdown_value"]
MIN_PERIODS = 3
TREND_COLUMNS = ["measure", "tier_set", "la_code", "la_name", "periods", "first_period", "last_period",
                 "rate_ratio_per_year", "ci95_lower", "ci95_upper", "p_value", "trend", "method"]


def _change(now_lower, now_upper, then_lower, then_upper) -> np.ndarray:
    values = [np.asarray(x, dtype="float64") for x in (now_lower, now_upper, then_lower, then_upper)]
    out = np.where(values[0] > values[3], "higher",
                   np.where(values[1] < values[2], "lower", "no significant change")).astype(object)
    out[np.any([np.isnan(v) for v in values], axis=0)] = None
    return out


def _complete(prevalence: pd.DataFrame) -> pd.Series:
    """Rows counted from every source their tier set needs (``availability`` complete): a figure that gains
    or loses a source (early help arriving, say) is not compared with one that had the other sources."""
    if "availability" not in prevalence:
        return pd.Series(True, index=prevalence.index)
    return (prevalence["availability"].fillna("complete") == "complete") & prevalence["children"].notna()


def prevalence_change(prevalence: pd.DataFrame) -> pd.DataFrame:
    """``marts.prevalence_change`` from all quarters of ``marts.neglect_prevalence`` (see module docstring)."""
    frame = prevalence[["period_end", *KEYS, "la_name", "breakdown_label", "children", "population", "rate_per_10k",
                        "ci95_lower", "ci95_upper", "history_complete"]].copy()
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    earlier = frame.loc[_complete(prevalence), ["period_end", *KEYS, "rate_per_10k", "ci95_lower", "ci95_upper"]]
    for label, months in (("previous_quarter", 3), ("year_ago", 12)):
        then = earlier.rename(columns={"rate_per_10k": f"{label}_rate_per_10k", "ci95_lower": f"{label}_ci95_lower",
                                       "ci95_upper": f"{label}_ci95_upper"})
        # the quarter end `months` later than `then` is the row it is compared with
        then = then.assign(period_end=then["period_end"] + pd.offsets.MonthEnd(months))
        frame = frame.merge(then, on=["period_end", *KEYS], how="left")
    frame["change_since_previous_quarter"] = _change(frame["ci95_lower"], frame["ci95_upper"],
                                                     frame["previous_quarter_ci95_lower"],
                                                     frame["previous_quarter_ci95_upper"])
    frame["change_since_year_ago"] = _change(frame["ci95_lower"], frame["ci95_upper"], frame["year_ago_ci95_lower"],
                                             frame["year_ago_ci95_upper"])
    incomplete = ~_complete(prevalence).to_numpy()
    for column in ("change_since_previous_quarter", "change_since_year_ago"):
        frame.loc[incomplete, column] = None
    frame["period_end"] = frame["period_end"].dt.date
    return frame


def trend_test(children: np.ndarray, population: np.ndarray, quarter_number: np.ndarray) -> dict:
    """Quasi-Poisson log-linear trend: rate ratio per year (4 quarters), its 95 % interval and p-value."""
    design = sm.add_constant(quarter_number.astype("float64"))
    model = sm.GLM(children.astype("float64"), design, family=sm.families.Poisson(),
                   offset=np.log(population.astype("float64")))
    fit = model.fit(scale="X2")
    slope, se = float(fit.params[1]), float(fit.bse[1])
    return {"rate_ratio_per_year": float(np.exp(4 * slope)), "ci95_lower": float(np.exp(4 * (slope - 1.959963985 * se))),
            "ci95_upper": float(np.exp(4 * (slope + 1.959963985 * se))), "p_value": float(fit.pvalues[1])}


def prevalence_trend(prevalence: pd.DataFrame) -> pd.DataFrame:
    """``marts.prevalence_trend`` (see module docstring) from all quarters of ``marts.neglect_prevalence``."""
    rows = []
    overall = prevalence[(prevalence["breakdown"] == "all") & (prevalence["population"] > 0)
                         & prevalence["history_complete"].astype(bool) & _complete(prevalence)].copy()
    overall["children"] = overall["children"].astype("int64")
    overall["period_end"] = pd.to_datetime(overall["period_end"])
    for (measure, tier_set, la_code), group in overall.groupby(["measure", "tier_set", "la_code"], sort=True):
        group = group.sort_values("period_end")
        if measure == "12_month":  # non-overlapping windows: every fourth quarter back from the latest
            group = group.iloc[::-1].iloc[::4].iloc[::-1]
        ends = group["period_end"]
        quarter = (ends.dt.year * 4 + (ends.dt.month - 1) // 3).to_numpy()
        row = {"measure": measure, "tier_set": tier_set, "la_code": la_code, "la_name": group["la_name"].iloc[0],
               "periods": len(group), "first_period": ends.iloc[0].date(), "last_period": ends.iloc[-1].date(),
               "method": "quasi-Poisson regression on quarter, log population offset"}
        if len(group) < MIN_PERIODS or group["children"].sum() == 0:
            row.update(rate_ratio_per_year=np.nan, ci95_lower=np.nan, ci95_upper=np.nan, p_value=np.nan,
                       trend="too few periods" if len(group) < MIN_PERIODS else "no children counted")
        else:
            result = trend_test(group["children"].to_numpy(), group["population"].to_numpy(), quarter - quarter[0])
            significant = result["p_value"] < 0.05
            direction = "increasing" if result["rate_ratio_per_year"] > 1 else "decreasing"
            row.update(result, trend=direction if significant else "no significant trend")
        rows.append(row)
    return pd.DataFrame(rows, columns=TREND_COLUMNS)
