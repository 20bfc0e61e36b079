"""Published quarterly series for the report's trend charts of the board ratio and the practice indicators.

* ``identification_trend``: identified neglect (tiers 1-4) per child on a CP plan under neglect, 12 months,
  every quarter to this one (``marts.identification_ratio``), with the two counts it is made from: the
  trend table's published tier 1 and tiers 1-4 counts (the same cells). The ratio and its interval are
  blank where either count is suppressed.
* ``practice_trend``: every practice indicator in every quarter to this one (``marts.practice_indicators``),
  numerator and denominator protected like the quarter's own (the same cells as each quarter's pack), the
  percentage and its interval blank where either is suppressed.

The counts are the refresh's protected values (:class:`dashboards.tables._Counts`), so a count shows the
same here as in its own quarter's pack.
"""
from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from .publication import children_cell, iso, practice_cell


def published_identification_trend(conn: duckdb.DuckDBPyConnection, quarter_end: date, counts, blank) -> pd.DataFrame:
    ratio = conn.execute("""
        SELECT r.period_end, r.measure, r.la_code, r.la_name, cp.children AS cp_neglect_children,
               identified.children AS identified_children, r.identified_per_cp_neglect_child,
               r.identified_per_cp_neglect_child_ci95_lower, r.identified_per_cp_neglect_child_ci95_upper,
               identified.history_complete
        FROM marts.identification_ratio r
        JOIN marts.neglect_prevalence cp ON cp.period_end = r.period_end AND cp.measure = r.measure
             AND cp.la_code = r.la_code AND cp.breakdown = 'all' AND cp.tier_set = '1'
        JOIN marts.neglect_prevalence identified ON identified.period_end = r.period_end
             AND identified.measure = r.measure AND identified.la_code = r.la_code AND identified.breakdown = 'all'
             AND identified.tier_set = '1-4'
        WHERE r.period_end <= ? AND r.measure = '12_month' ORDER BY r.la_code, r.period_end""", [quarter_end]).df()
    ratio["period_end"] = ratio["period_end"].map(iso)
    for column, group in (("cp_neglect_children", "Tier 1"), ("identified_children", "Tiers 1-4")):
        ratio = counts(ratio, column, [children_cell(p, m, la, "all", "All children", group)
                                       for p, m, la in zip(ratio["period_end"], ratio["measure"], ratio["la_code"])])
    hidden = ratio["cp_neglect_children_suppressed"] | ratio["identified_children_suppressed"]
    ratio = blank(ratio, [c for c in ratio.columns if c.startswith("identified_per")], hidden)
    return ratio


def published_practice_trend(conn: duckdb.DuckDBPyConnection, quarter_end: date, counts, blank) -> pd.DataFrame:
    practice = conn.execute("""
        SELECT period_end, la_code, indicator, indicator_label, numerator, denominator, rate_pct, ci95_lower_pct,
               ci95_upper_pct
        FROM marts.practice_indicators WHERE period_end <= ? ORDER BY indicator, la_code, period_end""",
                            [quarter_end]).df()
    practice["period_end"] = practice["period_end"].map(iso)
    for part in ("numerator", "denominator"):
        practice = counts(practice, part, [practice_cell(p, i, la, part) for p, i, la in
                                           zip(practice["period_end"], practice["indicator"], practice["la_code"])])
    hidden = practice["numerator_suppressed"] | practice["denominator_suppressed"]
    return blank(practice, ["rate_pct", "ci95_lower_pct", "ci95_upper_pct"], hidden)
