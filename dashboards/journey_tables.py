"""The published tables of the journeys and thresholds section (issue 21), after disclosure control.

:func:`published_journeys` reads the journey and threshold marts for one quarter and returns named tables in
which every count is looked up in the refresh's protected cells (:mod:`dashboards.journey_cells` says which
cells and relations; :func:`dashboards.tables.build_publication` adds these tables to the
:class:`dashboards.tables.Publication`, so they reach the report, the workbook, the CSV files and
``published.*`` like every other table). Every figure made from counts -- shares, their intervals, conversion
rates and the flags comparing the authorities, threshold-profile percentages and means -- is blank when a count
it comes from is ``c``. A mart that is missing gives an empty table (the report then says "not available").

Tables (``period_end`` the quarter end; ``la_code`` the authority or ``partnership``):

* ``journey_flows``: children by state on the previous quarter end x state on this one, with the row and
  column margins (``to_state`` / ``from_state`` = ``all``) and the total;
* ``journey_cohorts``: the children first identified 4 and 8 quarters earlier, by outcome now, with Wilson
  95 % intervals from the mart;
* ``journey_spells``: spells of identified neglect open at the quarter end by time in neglect so far; spells
  begun in the 12 months to it, with re-entries within 12 months and escalations to a CP plan (shares with
  Wilson 95 % intervals made from the published counts);
* ``journey_conversion``: neglect-related CIN episodes through referral -> assessment -> section 47 ->
  initial conference -> CP plan, with the mart's Wilson intervals and flags where the authorities differ;
* ``journey_thresholds``: the neglect-related children entering each service level and their evidence on
  entry, this quarter and a year earlier;
* ``journey_gcp2``: GCP2 progress (``marts.gcp2_progress``), only when that mart exists.
"""
from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd

from models.intervals import wilson_interval
from models.marts.journeys import COHORT_OUTCOMES

from .journey_cells import (ALL, FROM_STATES, GCP2_PARTS, GCP2_TABLE, OPEN_BANDS, PROFILE_SCOPE, PROFILE_SHARES,
                            SPELL_ITEMS, STAGES, TO_STATES, cohort_cell, cohort_size_cell, flow_cell, gcp2_cell,
                            profile_cell, profile_denominator, shift, spells_cell, stage_cell, table_exists)
from .publication import iso

JOURNEY_TABLES = ("journey_flows", "journey_cohorts", "journey_spells", "journey_conversion", "journey_thresholds",
                  "journey_gcp2")
JOURNEY_NOTES = {
    "journey_flows": "Children by tier at the previous quarter end (from_state) and at this one (to_state), with "
                     "row and column totals (all); none = no neglect evidence; moved away/aged out.",
    "journey_cohorts": "Children first identified with neglect 4 and 8 quarters earlier, by what has happened "
                       "since, with Wilson 95 % intervals.",
    "journey_spells": "Spells of identified neglect: open ones by time in neglect so far; those begun in the 12 "
                      "months, re-entries within 12 months of a previous spell and escalations to a CP plan.",
    "journey_conversion": "Neglect-related children's social care episodes from referral to CP plan, each step's "
                          "rate with its Wilson 95 % interval and where the authorities differ beyond chance.",
    "journey_thresholds": "Neglect-related children entering early help, assessment, section 47 enquiry and CP "
                          "plan: their evidence on entry, this quarter and a year earlier.",
    "journey_gcp2": "Children with repeat GCP2 assessments: improved, unchanged or worse between their first and "
                    "latest, by service and domain.",
}
JOURNEY_LABELS = {
    "previous_period_end": "Previous quarter end", "from_state": "At the previous quarter end",
    "to_state": "At this quarter end", "cohort_period_end": "First identified on", "horizon_quarters": "Quarters on",
    "outcome": "Outcome", "cohort_children": "Children first identified", "share_pct": "Share %",
    "item": "Spells", "spells": "Spells (children)", "of_spells": "Out of (spells)", "step": "Step",
    "from_stage": "From", "to_stage": "To", "referral_window_start": "Referred from",
    "referral_window_end": "Referred to", "significantly_higher_than": "Higher than (beyond chance)",
    "significantly_lower_than": "Lower than (beyond chance)", "authorities_differ": "Authorities differ",
    "service_level": "Service level", "unit": "Unit", "value": "Value", "out_of": "Out of (children)",
    "service": "Service", "domain": "GCP2 domain", "improved": "Improved", "unchanged": "Unchanged",
    "worse": "Worse", "share_improved_pct": "Improved %",
}
JOURNEY_COUNTS = {"cohort_children", "spells", "of_spells", "improved", "unchanged", "worse", "out_of"}
PROFILE_LABELS = {"entrants": "children entering", "neglect_factor": "neglect found (16A) %",
                  "toxic_trio": "parental mental health, substance misuse or domestic abuse %",
                  "learning_disability": "parental learning disability %",
                  "prior_early_help": "early help in the 12 months before %", "gcp2_recorded": "GCP2 recorded %",
                  "gcp2_concern": "GCP2 of concern (4-5), of those recorded %",
                  "mean_gcp2_max": "mean highest GCP2 domain (1-5)",
                  "factors_known": "assessment complete (factors known) %"}
CI = ["ci95_lower_pct", "ci95_upper_pct"]


def _blank(frame: pd.DataFrame, columns, mask) -> pd.DataFrame:
    mask = np.asarray(mask, dtype=bool)
    out = frame.copy()
    for column in columns:
        out[column] = out[column].astype("object").where(~mask) if out[column].dtype == object \
            else out[column].where(~mask)
    return out


def _wilson_pct(numerators, denominators) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Share (percent) and Wilson 95 % bounds of published counts; NaN where either is ``c`` or none."""
    ok = np.array([not isinstance(n, str) and not isinstance(d, str) and d is not None and not pd.isna(d)
                   and float(d) > 0 for n, d in zip(numerators, denominators)], dtype=bool)
    num = np.array([float(n) if o else 0.0 for n, o in zip(numerators, ok)])
    den = np.array([float(d) if o else 1.0 for d, o in zip(denominators, ok)])
    lower, upper = wilson_interval(num, den)
    share = np.where(ok, 100 * num / den, np.nan)
    return share, np.where(ok, 100 * np.asarray(lower), np.nan), np.where(ok, 100 * np.asarray(upper), np.nan)


def published_flows(conn: duckdb.DuckDBPyConnection, quarter_end: date, counts) -> pd.DataFrame:
    columns = ["period_end", "previous_period_end", "la_code", "from_state", "to_state", "children"]
    if not table_exists(conn, "marts", "tier_transitions"):
        return pd.DataFrame(columns=columns)
    areas = [la for (la,) in conn.execute("SELECT DISTINCT la_code FROM marts.tier_transitions WHERE period_end = ? "
                                          "ORDER BY ALL", [quarter_end]).fetchall()]
    rows = [(iso(quarter_end), shift(quarter_end, -1), la, f, t) for la in areas
            for f in (*FROM_STATES, ALL) for t in (*TO_STATES, ALL) if (f, t) != ("none", "none")]
    frame = pd.DataFrame(rows, columns=columns[:-1])
    cells = [flow_cell(q, la, f, t) for q, _, la, f, t in rows]
    # a tier's margin is its prevalence cell: not available (x) where the prevalence mart has no count
    frame["children"] = [0 if counts.run.value(c) is not None else np.nan for c in cells]
    return counts(frame, "children", cells)


def published_cohorts(conn: duckdb.DuckDBPyConnection, quarter_end: date, counts) -> pd.DataFrame:
    if not table_exists(conn, "marts", "cohort_outcomes"):
        return pd.DataFrame(columns=["period_end", "la_code", "horizon_quarters", "outcome", "children"])
    frame = conn.execute("""
        SELECT period_end, la_code, horizon_quarters, cohort_period_end, outcome, children, cohort_children, share_pct,
               ci95_lower_pct, ci95_upper_pct, history_complete
        FROM marts.cohort_outcomes WHERE period_end IN (?, ?) ORDER BY period_end DESC, la_code, horizon_quarters,
                 list_position(?, outcome)""", [quarter_end, date.fromisoformat(shift(quarter_end, -4)),
                                                list(COHORT_OUTCOMES)]).df()
    frame["period_end"] = frame["period_end"].map(iso)
    frame["cohort_period_end"] = frame["cohort_period_end"].map(iso)
    frame = counts(frame, "children", [cohort_cell(q, la, h, o) for q, la, h, o in
                                       zip(frame["period_end"], frame["la_code"], frame["horizon_quarters"],
                                           frame["outcome"])])
    frame = counts(frame, "cohort_children", [cohort_size_cell(c, la) for c, la in
                                              zip(frame["cohort_period_end"], frame["la_code"])])
    hidden = frame["children_suppressed"] | frame["cohort_children_suppressed"]
    return _blank(frame, ["share_pct", *CI], hidden)


def published_spells(conn: duckdb.DuckDBPyConnection, quarter_end: date, counts) -> pd.DataFrame:
    columns = ["period_end", "la_code", "item", "spells", "of_spells", "share_pct", *CI]
    if not table_exists(conn, "marts", "neglect_episodes"):
        return pd.DataFrame(columns=columns)
    keys = conn.execute("SELECT DISTINCT period_end, la_code FROM marts.neglect_episodes WHERE period_end IN (?, ?) "
                        "ORDER BY period_end DESC, la_code", [quarter_end, date.fromisoformat(shift(quarter_end, -4))]
                        ).fetchall()
    base = {**{b[0]: "open" for b in OPEN_BANDS}, "re-entry within 12 months": "begun in the 12 months",
            "escalated to a CP plan": "begun in the 12 months"}
    rows = [(iso(q), la, item) for q, la in keys for item in SPELL_ITEMS]
    frame = pd.DataFrame(rows, columns=columns[:3]).assign(spells=0)
    frame = counts(frame, "spells", [spells_cell(q, la, i) for q, la, i in rows])
    has_base = frame["item"].isin(list(base)).to_numpy()
    part = counts(frame[has_base].assign(of_spells=0), "of_spells",
                  [spells_cell(q, la, base[i]) for q, la, i in rows if i in base])
    for column, empty in (("of_spells", None), ("of_spells_suppressed", False), ("_cell_of_spells", None)):
        frame[column] = pd.Series(empty, index=frame.index, dtype=object)
        frame.loc[has_base, column] = part[column]
    frame["of_spells_suppressed"] = frame["of_spells_suppressed"].astype(bool)
    share, lower, upper = _wilson_pct(frame["spells"], frame["of_spells"])
    frame["share_pct"], frame["ci95_lower_pct"], frame["ci95_upper_pct"] = share, lower, upper
    return frame


def published_conversion(conn: duckdb.DuckDBPyConnection, quarter_end: date, counts) -> pd.DataFrame:
    if not table_exists(conn, "marts", "conversion_rates"):
        return pd.DataFrame(columns=["period_end", "la_code", "step", "numerator", "denominator"])
    frame = conn.execute("""
        SELECT period_end, la_code, step, from_stage, to_stage, referral_window_start, referral_window_end,
               denominator, numerator, rate_pct, ci95_lower_pct, ci95_upper_pct,
               array_to_string(significantly_higher_than, '; ') AS significantly_higher_than,
               array_to_string(significantly_lower_than, '; ') AS significantly_lower_than, authorities_differ
        FROM marts.conversion_rates WHERE period_end = ? ORDER BY ALL""", [quarter_end]).df()
    frame["period_end"] = iso(quarter_end)
    for column, stage in (("denominator", "from_stage"), ("numerator", "to_stage")):
        frame = counts(frame, column, [stage_cell(quarter_end, la, s) for la, s in zip(frame["la_code"], frame[stage])])
    hidden = frame["numerator_suppressed"] | frame["denominator_suppressed"]
    frame = _blank(frame, ["rate_pct", *CI], hidden)
    # the flags compare the authorities' intervals: blank for a step where any authority's count is hidden
    step_hidden = hidden[frame["la_code"] != "partnership"].groupby(frame["step"]).any()
    flags = frame["step"].map(step_hidden).fillna(False).astype(bool) | hidden
    frame = _blank(frame, ["significantly_higher_than", "significantly_lower_than", "authorities_differ"], flags)
    # the funnel's steps in order, the overall step (referral to CP plan) last
    order = [(STAGES.index(b) - STAGES.index(a) > 1, STAGES.index(a)) for a, b in zip(frame["from_stage"],
                                                                                 frame["to_stage"])]
    return frame.assign(_order=order).sort_values(["la_code", "_order"]).drop(columns="_order").reset_index(drop=True)


def published_thresholds(conn: duckdb.DuckDBPyConnection, quarter_end: date, counts) -> pd.DataFrame:
    """This quarter and the same quarter a year earlier (when the mart has it), like the cohorts."""
    if not table_exists(conn, "marts", "threshold_profile"):
        return pd.DataFrame(columns=["period_end", "la_code", "service_level", "indicator", "children", "out_of"])
    year_ago = shift(quarter_end, -4)
    indicators = ["entrants", *PROFILE_SHARES, "mean_gcp2_max"]
    frame = conn.execute("""
        SELECT period_end, la_code, service_level, indicator, unit, value, ci95_lower, ci95_upper
        FROM marts.threshold_profile WHERE period_end IN (?, ?) AND scope = ? AND indicator IN (SELECT unnest(?))
        ORDER BY ALL""", [quarter_end, date.fromisoformat(year_ago), PROFILE_SCOPE, indicators]).df()
    frame["period_end"] = frame["period_end"].map(iso)
    frame["indicator_label"] = frame["indicator"].map(PROFILE_LABELS)
    own = ["gcp2_recorded" if i == "mean_gcp2_max" else i for i in frame["indicator"]]
    frame = counts(frame.assign(children=0), "children",
                   [profile_cell(q, la, lv, i) for q, la, lv, i in zip(frame["period_end"], frame["la_code"],
                                                                       frame["service_level"], own)])
    shares = (frame["indicator"] != "entrants") & (frame["indicator"] != "mean_gcp2_max")
    part = counts(frame[shares].assign(out_of=0), "out_of",
                  [profile_cell(q, la, lv, profile_denominator(i)) for q, la, lv, i in
                   zip(frame.loc[shares, "period_end"], frame.loc[shares, "la_code"], frame.loc[shares, "service_level"],
                       frame.loc[shares, "indicator"])])
    for column, empty in (("out_of", None), ("out_of_suppressed", False), ("_cell_out_of", None)):
        frame[column] = pd.Series(empty, index=frame.index, dtype=object)
        frame.loc[shares, column] = part[column]
    frame["out_of_suppressed"] = frame["out_of_suppressed"].astype(bool)
    hidden = frame["children_suppressed"] | frame["out_of_suppressed"]
    frame.loc[frame["indicator"] == "entrants", ["value", "ci95_lower", "ci95_upper"]] = np.nan  # the count itself
    return _blank(frame, ["value", "ci95_lower", "ci95_upper"], hidden)


def published_gcp2(conn: duckdb.DuckDBPyConnection, quarter_end: date, counts) -> pd.DataFrame | None:
    """GCP2 progress, or None when ``marts.gcp2_progress`` does not exist."""
    if not table_exists(conn, *GCP2_TABLE):
        return None
    frame = conn.execute("""
        SELECT quarter_end AS period_end, la_code, service, domain, children, improved, unchanged, worse,
               100 * share_improved AS share_improved_pct, 100 * improved_ci95_lower AS ci95_lower_pct,
               100 * improved_ci95_upper AS ci95_upper_pct
        FROM marts.gcp2_progress WHERE quarter_end = ? ORDER BY ALL""", [quarter_end]).df()
    frame["period_end"] = frame["period_end"].map(iso)
    for part in GCP2_PARTS:
        frame = counts(frame, part, [gcp2_cell(quarter_end, la, s, d, part) for la, s, d in
                                     zip(frame["la_code"], frame["service"], frame["domain"])])
    hidden = frame["children_suppressed"] | frame["improved_suppressed"]
    return _blank(frame, ["share_improved_pct", *CI], hidden)


def published_journeys(conn: duckdb.DuckDBPyConnection, quarter_end: date, counts) -> dict[str, pd.DataFrame]:
    """Every journey table of ``quarter_end`` (see the module docstring); ``counts``: the publication's
    :class:`dashboards.tables._Counts`."""
    tables = {
        "journey_flows": published_flows(conn, quarter_end, counts),
        "journey_cohorts": published_cohorts(conn, quarter_end, counts),
        "journey_spells": published_spells(conn, quarter_end, counts),
        "journey_conversion": published_conversion(conn, quarter_end, counts),
        "journey_thresholds": published_thresholds(conn, quarter_end, counts),
    }
    gcp2 = published_gcp2(conn, quarter_end, counts)
    if gcp2 is not None:
        tables["journey_gcp2"] = gcp2
    return tables


def _own(indicator: str) -> str:
    return "gcp2_recorded" if indicator == "mean_gcp2_max" else indicator


# published table -> [(count column, function(row of text) -> cell)], for the intruder (dashboards.audit)
JOURNEY_TABLE_CELLS = {
    "journey_flows": [("children", lambda r: flow_cell(r["period_end"], r["la_code"], r["from_state"], r["to_state"]))],
    "journey_cohorts": [
        ("children", lambda r: cohort_cell(r["period_end"], r["la_code"], r["horizon_quarters"], r["outcome"])),
        ("cohort_children", lambda r: cohort_size_cell(r["cohort_period_end"], r["la_code"]))],
    "journey_spells": [
        ("spells", lambda r: spells_cell(r["period_end"], r["la_code"], r["item"])),
        ("of_spells", lambda r: spells_cell(r["period_end"], r["la_code"],
                                            "open" if r["item"].startswith("open: ") else "begun in the 12 months"))],
    "journey_conversion": [
        ("numerator", lambda r: stage_cell(r["period_end"], r["la_code"], r["to_stage"])),
        ("denominator", lambda r: stage_cell(r["period_end"], r["la_code"], r["from_stage"]))],
    "journey_thresholds": [
        ("children", lambda r: profile_cell(r["period_end"], r["la_code"], r["service_level"], _own(r["indicator"]))),
        ("out_of", lambda r: profile_cell(r["period_end"], r["la_code"], r["service_level"],
                                          profile_denominator(r["indicator"])))],
    "journey_gcp2": [(part, lambda r, part=part: gcp2_cell(r["period_end"], r["la_code"], r["service"], r["domain"],
                                                           part)) for part in GCP2_PARTS],
}
