"""The published rows behind each chart of the report (its "View as table" and CSV download).

Each function returns a :class:`dashboards.html_parts.ChartData`: rows of one published table, in the
order the chart draws them, with the columns a reader needs. Rates carry ``_figure_`` keys where the same
figure appears elsewhere (the tier ladder on the summary page), so the two copies can be checked.
"""
from __future__ import annotations

import pandas as pd

from . import figures as F
from .html_parts import ChartData
from .summary import ladder_key

RATE = {"children": "children", "rate_per_10k": "per 10,000", "ci95_lower": "95 % from", "ci95_upper": "95 % to"}


def ladder_data(pub, la_code: str) -> ChartData:
    overall = F._prevalence(pub, la_code).set_index("tier_group")
    groups = [g for g, _ in F.LADDER] + ["Tiers 1-4", "Tiers 1-5"]
    labels = dict(F.LADDER) | {"Tiers 1-4": "= identified neglect (tiers 1-4)",
                               "Tiers 1-5": "= identified or possible neglect (tiers 1-5)"}
    rows = overall.loc[[g for g in groups if g in overall.index]].reset_index()
    rows["rung"] = rows["tier_group"].map(labels)
    rows["_figure_rate_per_10k"] = [ladder_key(la_code, g) for g in rows["tier_group"]]
    return ChartData("prevalence", rows, {"rung": "rung", **RATE}, counts=("children",), text=("rung",),
                     extra=["tier_group", "measure", "breakdown"])


def trend_data(pub, la_code: str) -> ChartData:
    trend = pub.tables["trend"]
    rows = trend[(trend["la_code"] == la_code) & (trend["measure"] == "12_month")
                 & trend["tier_group"].isin(["Tier 1", "Tiers 1-4"])].sort_values(["tier_group", "period_end"])
    rows = rows.assign(history=rows["history_complete"].map(lambda v: "yes" if v else "no (too low)"))
    return ChartData("trend", rows, {"period_end": "quarter ending", "tier_group": "tiers", **RATE,
                                     "history": "12 months of history", "change_since_previous_quarter":
                                     "vs previous quarter"},
                     counts=("children",), text=("period_end", "tier_group", "history", "change_since_previous_quarter"),
                     extra=["measure", "change_since_year_ago"])


def breakdown_data(pub, la_code: str, breakdown: str) -> ChartData:
    rows = F._prevalence(pub, la_code, breakdown=breakdown)
    rows = rows[rows["tier_group"] == "Tiers 1-4"]
    rows = rows.iloc[sorted(range(len(rows)), key=lambda i: F._order(rows["breakdown_value"].iloc[i]))]
    return ChartData("prevalence", rows, {"breakdown_label": F.BREAKDOWN_TITLES[breakdown], **RATE},
                     counts=("children",), text=("breakdown_label",), extra=["tier_group", "measure", "breakdown"])


def ward_data(pub, la_code: str) -> ChartData:
    rows = F.ward_rows(pub, la_code).iloc[::-1]  # highest rate first, as the ranked chart reads from the top
    numbers = F.ward_numbers(pub, la_code)
    rows = rows.assign(number=rows["breakdown_value"].map(numbers),
                       authority=rows["la_code"].map(dict(pub.areas))).sort_values("number")
    columns = {"number": "no. on map", "breakdown_label": "ward"}
    if la_code == "partnership":
        columns["authority"] = "authority"
    return ChartData("prevalence", rows, {**columns, **RATE}, counts=("children",),
                     text=("breakdown_label", "authority"), digits={"number": 0},
                     extra=["breakdown_value", "tier_group", "measure"])


def spine_data(pub, la_code: str) -> ChartData:
    rows = F.spine_rows(pub, la_code)
    return ChartData("prevalence", rows, {"indicator": "indicator", **RATE, "england_rate_per_10k": "England",
                                          "other_la_rate_per_10k": "other authority",
                                          "research_rate_per_10k": "research"},
                     counts=("children",), text=("indicator",))


def ratio_data(pub, la_code: str) -> ChartData:
    table = pub.tables["identification_trend"]
    rows = table[table["la_code"] == la_code]
    return ChartData("identification_trend", rows, {
        "period_end": "quarter ending", "identified_children": "identified (1-4)",
        "cp_neglect_children": "CP-neglect (1)", "identified_per_cp_neglect_child": "identified per CP-neglect child",
        "identified_per_cp_neglect_child_ci95_lower": "95 % from", "identified_per_cp_neglect_child_ci95_upper":
        "95 % to"}, counts=("identified_children", "cp_neglect_children"), text=("period_end",), extra=["measure"])


def practice_data(pub, la_code: str) -> ChartData:
    table = pub.tables["practice_trend"]
    rows = table[table["la_code"] == la_code].sort_values(["indicator_label", "period_end"])
    return ChartData("practice_trend", pd.DataFrame(rows), {
        "indicator_label": "indicator", "period_end": "quarter ending", "numerator": "children / plans",
        "denominator": "out of", "rate_pct": "%", "ci95_lower_pct": "95 % from", "ci95_upper_pct": "95 % to"},
        counts=("numerator", "denominator"), text=("indicator_label", "period_end"), extra=["indicator"])
