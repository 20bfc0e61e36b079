"""The published tables of one quarter: every number a board member, commissioner or reader of an
export sees comes from here, after disclosure control (:mod:`dashboards.disclosure`).

:func:`build_publication` reads the marts for a quarter end and returns a :class:`Publication`:
named tables (pandas DataFrames) in which every count of children is an ``int`` or ``"c"``
(suppressed). The counts are looked up in a :class:`dashboards.publication.ProtectedRun`: the
suppression chosen once for everything the refresh publishes (every quarter, every table, and what
earlier refreshes published), so a count has the same published value in every table and every
quarter's pack. Every figure derived from counts is computed from the published values only, and is
blank when any count it comes from is ``"c"``: rates, intervals, comparison flags, the interval method
(Byar from 10 children would tell a suppressed count is 10 or more), the other authority's rate, the
previous-period rate and direction of travel of a practice indicator, change flags, completeness and
validity percentages of a suppressed row count; a practice note says "some assessments" where the mart
counts them. Capture-recapture estimates are rounded to the
nearest 10 (models, not counts) and their rates and sentence are made from the rounded values. The
HTML report, the charts, the workbook and the CSV files are all drawn from these tables only.

Tables (``area`` is the authority's name or the partnership; ``measure`` ``12 months`` / ``at quarter
end``; ``period_end`` the quarter end, or for data quality the extract period shown):

* ``prevalence``: for each area, all children in every tier group (each tier 1-6 alone, and tiers
  1-2, 1-4, 1-5), and each breakdown value in tiers 1-4 (identified neglect), with population, rate
  per 10,000, 95 % and 99.8 % intervals and benchmark comparisons; wards for each authority only (the
  partnership's ward figures minus an authority's would count the other authority's children living
  in its wards, see :mod:`dashboards.publication`);
* ``trend``: tiers 1, 1-4 and 1-5 for every quarter up to this one, with change flags;
* ``hidden``: capture-recapture estimates (rounded to the nearest 10: they are models, not counts);
* ``identification``: identified neglect (1-4) per child on a CP plan under neglect;
* ``practice``: practice indicators (numerator, denominator, %, intervals, direction of travel);
* ``data_quality``, ``rejects``, ``linkage``: per source: rows, completeness, validity, rows rejected
  by rule, linkage rate (counts of extract rows, suppressed like every other count);
* ``methods``: definitions, methods and caveats as text (the workbook's notes sheet).

Columns whose name starts with ``_cell_`` hold the cell (:mod:`dashboards.publication`) of a count
column, for the report's ``data-cell`` attributes; the exports leave them out.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from models.intervals import wilson_interval
from models.marts.definitions import NeglectDefinitions, load_definitions
from models.marts.prevalence import compare
from models.mse.publication import CONSISTENCY_METHOD

from .disclosure import SUPPRESSED, check_no_identifiers
from .publication import (BREAKDOWN_GROUP, MART_SET, TREND_GROUPS, UNPUBLISHED_PARTNERSHIP_BREAKDOWNS, ProtectedRun,
                          cell_key, children_cell, iso, observed_cell, practice_cell, protect_refresh)

MEASURES = {"12_month": "12 months", "point": "at quarter end"}
BREAKDOWNS = {"all": "All children", "age_band": "Age band", "sex": "Sex", "ethnicity_group": "Ethnicity group",
              "disability": "Disability", "ward": "Ward", "deprivation_decile": "Deprivation decile"}
NOT_AVAILABLE = "x"  # DfE's symbol: not available (its source was not supplied for the area and quarter)
ROUND_ESTIMATES_TO = 10
PER = 10_000


@dataclass
class Publication:
    """What is published for one quarter (see module docstring). ``cells``: every cell whose count
    the pack shows (the refresh records them as written)."""

    quarter_end: date
    areas: list[tuple[str, str]]  # (la_code, name), the partnership first
    tables: dict[str, pd.DataFrame]
    notes: dict[str, str]  # table name -> what it holds
    meta: dict = field(default_factory=dict)
    threshold: int = 5
    cells: set = field(default_factory=set)

    def area_name(self, la_code: str) -> str:
        return dict(self.areas)[la_code]


def is_suppressed(values: pd.Series) -> pd.Series:
    return values.astype("object").map(lambda v: isinstance(v, str) and v == SUPPRESSED)


class _Counts:
    """Looks counts up in the refresh's protected cells and remembers which ones the pack shows."""

    def __init__(self, run: ProtectedRun):
        self.run = run
        self.shown: set = set()

    def __call__(self, frame: pd.DataFrame, column: str, cells: list[tuple]) -> pd.DataFrame:
        """``frame`` with ``column`` the published values of ``cells`` (one per row), ``_cell_<column>``
        the cells' keys and ``<column>_suppressed`` a flag. A row whose ``column`` is missing (NULL in the
        marts: its source was not supplied) is published as ``x``, not available, and is no cell."""
        available = frame[column].notna().to_numpy() if column in frame else np.ones(len(frame), dtype=bool)
        values = []
        for cell, ok in zip(cells, available):
            if not ok:
                values.append(NOT_AVAILABLE)
                continue
            value = self.run.value(cell)
            if value is None:
                raise KeyError(f"no protected count for {cell!r}: the refresh did not cover it")
            values.append(value)
        self.shown.update(c for c, ok in zip(cells, available) if ok)
        out = frame.copy()
        out[column] = pd.Series(values, index=out.index, dtype=object)
        out[f"{column}_suppressed"] = pd.Series([v == SUPPRESSED for v in values], index=out.index, dtype=bool)
        out[f"_cell_{column}"] = pd.Series([cell_key(c) for c in cells], index=out.index, dtype=object)
        return out

    def published(self, cell: tuple) -> bool:
        """True when ``cell`` is published as a number (a derived figure may then use it)."""
        return self.run.published(cell)


def _blank(frame: pd.DataFrame, columns, mask) -> pd.DataFrame:
    """``columns`` of ``frame`` set to missing where ``mask`` is true."""
    mask = np.asarray(mask, dtype=bool)
    out = frame.copy()
    if mask.any():
        for column in columns:
            out[column] = out[column].astype("object").where(~mask) if out[column].dtype == object \
                else out[column].where(~mask)
    return out


RATE_COLUMNS = ["rate_per_10k", "ci95_lower", "ci95_upper", "ci998_lower", "ci998_upper", "method", "vs_england",
                "vs_research"]
OTHER_LA_COLUMNS = ["other_la_rate_per_10k", "vs_other_la"]


def published_prevalence(conn: duckdb.DuckDBPyConnection, quarter_end: date, counts: _Counts) -> pd.DataFrame:
    """Each area's 'All children' row in every tier group (the ladder and the sets), and each breakdown value
    in tiers 1-4 only: publishing several tier groups per ward or age band would let their differences reveal
    small numbers (e.g. tier 1 of 6 and tiers 1-2 of 8 tell you 2 children are in tier 2)."""
    cells = conn.execute("""
        SELECT period_end, measure, la_code, la_name, breakdown, breakdown_value, breakdown_label, tier_set, children,
               population, rate_per_10k, ci95_lower, ci95_upper, ci998_lower, ci998_upper, method,
               england_rate_per_10k, vs_england, research_rate_per_10k, vs_research, other_la_rate_per_10k,
               vs_other_la, history_complete, availability, availability_note, population_note
        FROM marts.neglect_prevalence WHERE period_end = ? AND tier_set IN (SELECT unnest(?))
        ORDER BY measure, la_code, breakdown, breakdown_value, tier_set""", [quarter_end, list(MART_SET)]).df()
    cells["tier_group"] = cells["tier_set"].map(MART_SET)
    cells = cells[(cells["breakdown"] == "all") | (cells["tier_group"] == BREAKDOWN_GROUP)].drop(columns="tier_set")
    # the partnership's wards are not published: each ward is shown as its own authority counts it
    cells = cells[~((cells["la_code"] == "partnership") & cells["breakdown"].isin(UNPUBLISHED_PARTNERSHIP_BREAKDOWNS))]
    cells["period_end"] = iso(quarter_end)
    keys = list(zip(cells["measure"], cells["la_code"], cells["breakdown"], cells["breakdown_value"],
                    cells["tier_group"]))
    out = counts(cells, "children", [children_cell(quarter_end, *k) for k in keys])
    out = _blank(out, RATE_COLUMNS, out["children_suppressed"])
    # the other authority's rate is its count over its population: only when its count is published
    authorities = sorted(set(out["la_code"]) - {"partnership"})
    others_published = [
        la != "partnership" and all(counts.published(children_cell(quarter_end, m, other, b, v, g))
                                    for other in authorities if other != la)
        for m, la, b, v, g in keys]
    out = _blank(out, OTHER_LA_COLUMNS, ~np.asarray(others_published) | out["children_suppressed"].to_numpy())
    out["measure_label"] = out["measure"].map(MEASURES)
    out["breakdown_name"] = out["breakdown"].map(BREAKDOWNS)
    return out.sort_values(["measure", "la_code", "breakdown", "breakdown_value", "tier_group"], ignore_index=True)


def published_trend(conn: duckdb.DuckDBPyConnection, quarter_end: date, counts: _Counts) -> pd.DataFrame:
    """Tiers 1, 1-4 and 1-5 of every quarter to this one; a change flag only where both quarters' counts
    are published."""
    trend = conn.execute("""
        SELECT p.period_end, p.measure, p.la_code, p.la_name, p.tier_set, p.children, p.population, p.rate_per_10k,
               p.ci95_lower, p.ci95_upper, p.history_complete, c.change_since_previous_quarter,
               c.change_since_year_ago
        FROM marts.neglect_prevalence p
        LEFT JOIN marts.prevalence_change c USING (period_end, measure, tier_set, la_code, breakdown, breakdown_value)
        WHERE p.breakdown = 'all' AND p.tier_set IN ('1', '1-4', '1-5') AND p.period_end <= ?
        ORDER BY p.la_code, p.measure, p.tier_set, p.period_end""", [quarter_end]).df()
    trend["tier_group"] = trend["tier_set"].map(MART_SET)
    assert set(trend["tier_group"]) <= set(TREND_GROUPS)
    ends = pd.to_datetime(trend["period_end"])
    cell = lambda when, m, la, g: children_cell(when, m, la, "all", "All children", g)  # noqa: E731
    trend = counts(trend, "children", [cell(e, m, la, g) for e, m, la, g in
                                       zip(ends, trend["measure"], trend["la_code"], trend["tier_group"])])
    trend = _blank(trend, ["rate_per_10k", "ci95_lower", "ci95_upper", "change_since_previous_quarter",
                           "change_since_year_ago"], trend["children_suppressed"])
    for column, months in (("change_since_previous_quarter", 3), ("change_since_year_ago", 12)):
        then = ends + pd.offsets.MonthEnd(-months)
        ok = [counts.published(cell(t, m, la, g)) for t, m, la, g in
              zip(then, trend["measure"], trend["la_code"], trend["tier_group"])]
        trend = _blank(trend, [column], ~np.asarray(ok, dtype=bool))
    return trend


def _round(values: pd.Series) -> pd.Series:
    return (values.astype("float64") / ROUND_ESTIMATES_TO).round() * ROUND_ESTIMATES_TO


VALIDATION_NOTE = ("In validation on simulated partnerships the central figure was within about 5 % when children "
                   "differ at random but 15-20 % too low when the children hardest to find are hard to find for "
                   "every service; the 'at least' figure stayed below the truth.")


CONSISTENCY_NOTE = ("No central figure: on this partnership's own data the method undercounted (or overcounted) every "
                    "list it could check, so its central estimate is biased the same way here.")


def hidden_message(status: str, estimate, lower, upper, at_least, lists: int, method: str = "") -> str:
    """The sentence about hidden prevalence, from the published (rounded) figures of the publication rule
    (:mod:`models.mse.publication`) only; ``method``: the rule's method (its internal-consistency step has its own
    sentence)."""
    if status == "lower bound and range" and method == CONSISTENCY_METHOD:
        return (f"At least {at_least:,.0f} children, and possibly up to {upper:,.0f}, from {lists} lists. "
                f"{CONSISTENCY_NOTE} The range is the model's interval widened by the largest miss.")
    if status == "estimate":
        return (f"Estimated about {estimate:,.0f} children (95 % interval {lower:,.0f} to {upper:,.0f}) from {lists} "
                f"lists by a latent-class model; at least {at_least:,.0f}. {VALIDATION_NOTE}")
    if status == "lower bound and range":
        return (f"At least {at_least:,.0f} children, and possibly up to {upper:,.0f}: with only {lists} lists no "
                "central figure is published, because every model tried was biased in some situations.")
    return ("the lists overlap too little for an estimate (each list and each pair of lists needs at least 5 "
            "children in common)")


def consistency_text(checks) -> str | None:
    """Internal consistency as published: for each list checked, how far the other lists' estimate of its
    children fell from its known size, in per cent (exp(log ratio) - 1); no counts. None: not checked."""
    if not isinstance(checks, str):
        return None
    parts = [f"{r['list']} {100 * np.expm1(r['log_ratio']):+.0f} %" for r in json.loads(checks)
             if r.get("log_ratio") is not None]
    return "; ".join(parts) if parts else None


def published_hidden(conn: duckdb.DuckDBPyConnection, quarter_end: date, counts: _Counts) -> pd.DataFrame:
    """Hidden prevalence as the publication rule gives it (``published_*`` of ``marts.hidden_prevalence``):
    status, central figure with its 95 % interval (status 'estimate' only), the 'at least' floor, all rounded
    to 10 with their rates from the rounded figures; ``observed`` is the (protected) number of children on at
    least one of the social-care, early-help and adult-services lists. The log-linear estimate the mart keeps
    beside it is a diagnostic and is not published."""
    hidden = conn.execute("""
        SELECT period_end, la_code, la_name, linkage, linkage_threshold, published_status AS status,
               published_method AS method, lists_used, observed, published_central AS estimate,
               published_lower AS ci95_lower, published_upper AS ci95_upper, lower_bound AS at_least,
               population, assumptions, history_complete, internal_consistency
        FROM marts.hidden_prevalence WHERE period_end = ? ORDER BY la_code, linkage""", [quarter_end]).df()
    hidden["internal_consistency"] = hidden["internal_consistency"].map(consistency_text)
    hidden["period_end"] = iso(quarter_end)
    hidden["lists"] = [", ".join(json.loads(v)) if isinstance(v, str) else "" for v in hidden.pop("lists_used")]
    for column in ("estimate", "ci95_lower", "ci95_upper", "at_least"):  # model figures, not counts
        hidden[column] = _round(hidden[column])
    people = hidden["population"].astype("float64").where(hidden["population"] > 0)
    for column, source in (("estimate_rate_per_10k", "estimate"), ("ci95_lower_rate_per_10k", "ci95_lower"),
                           ("ci95_upper_rate_per_10k", "ci95_upper"), ("at_least_rate_per_10k", "at_least")):
        hidden[column] = hidden[source] / people * PER  # from the rounded figure, so it cannot undo the rounding
    hidden = counts(hidden, "observed", [observed_cell(quarter_end, la, linkage)
                                         for la, linkage in zip(hidden["la_code"], hidden["linkage"])])
    hidden["message"] = [hidden_message(status, *figures, len([x for x in lists.split(", ") if x]), method)
                         for status, *figures, lists, method in zip(
                             hidden["status"], hidden["estimate"], hidden["ci95_lower"], hidden["ci95_upper"],
                             hidden["at_least"], hidden["lists"], hidden["method"])]
    return hidden


def _rate_pct(numerator, denominator) -> float:
    return 100.0 * numerator / denominator if denominator else np.nan


_COUNTED_IN_NOTE = re.compile(r"\b\d[\d,]* assessment\(s\)")


def note_without_counts(note):
    """A practice indicator's note without the numbers of assessments it leaves out (a count of
    children's assessments, possibly small, that disclosure control never saw)."""
    return _COUNTED_IN_NOTE.sub("Some assessments", note) if isinstance(note, str) else note


def published_practice(conn: duckdb.DuckDBPyConnection, quarter_end: date, counts: _Counts) -> pd.DataFrame:
    """Practice indicators; the previous year's rate and the direction of travel only where the previous
    year's numerator and denominator are published too (else the rate gives the suppressed count back)."""
    practice = conn.execute("""
        SELECT period_end, la_code, indicator, indicator_label, definition, numerator, denominator, rate_pct,
               ci95_lower_pct, ci95_upper_pct, ci998_lower_pct, ci998_upper_pct, data_complete, note
        FROM marts.practice_indicators WHERE period_end = ? ORDER BY indicator, la_code""", [quarter_end]).df()
    practice["period_end"] = iso(quarter_end)
    practice["note"] = practice["note"].map(note_without_counts)
    for part in ("numerator", "denominator"):
        practice = counts(practice, part, [practice_cell(quarter_end, i, la, part)
                                           for i, la in zip(practice["indicator"], practice["la_code"])])
    practice["suppressed"] = practice["numerator_suppressed"] | practice["denominator_suppressed"]
    practice = _blank(practice, ["rate_pct", "ci95_lower_pct", "ci95_upper_pct", "ci998_lower_pct", "ci998_upper_pct"],
                      practice["suppressed"])
    # a year earlier: recomputed from that quarter's published numerator and denominator
    year_ago = pd.Timestamp(quarter_end) + pd.offsets.MonthEnd(-12)
    previous = []
    for indicator, la, lower, upper in zip(practice["indicator"], practice["la_code"], practice["ci95_lower_pct"],
                                           practice["ci95_upper_pct"]):
        num, den = (counts.run.value(practice_cell(year_ago, indicator, la, p)) for p in ("numerator", "denominator"))
        if num is None or den is None or SUPPRESSED in (num, den) or not den:
            previous.append((np.nan, None))
            continue
        prev_lower, prev_upper = (100 * float(np.asarray(b)) for b in wilson_interval(float(num), float(den)))
        direction = None if pd.isna(lower) else (
            "up" if lower > prev_upper else "down" if upper < prev_lower else "no significant change")
        previous.append((_rate_pct(num, den), direction))
    practice["previous_period_end"] = iso(year_ago)
    practice["previous_rate_pct"] = [p[0] for p in previous]
    practice["direction_of_travel"] = pd.Series([p[1] for p in previous], index=practice.index, dtype=object)
    return practice


def published_identification(prevalence: pd.DataFrame, conn: duckdb.DuckDBPyConnection,
                             quarter_end: date) -> pd.DataFrame:
    """The board ratio, from the published (suppressed) tier 1 and tiers 1-4 counts."""
    ratio = conn.execute("""
        SELECT measure, la_code, la_name, identified_per_cp_neglect_child, identified_per_cp_neglect_child_ci95_lower,
               identified_per_cp_neglect_child_ci95_upper, cp_neglect_share_pct, cp_neglect_share_ci95_lower_pct,
               cp_neglect_share_ci95_upper_pct
        FROM marts.identification_ratio WHERE period_end = ? ORDER BY measure, la_code""", [quarter_end]).df()
    ratio.insert(0, "period_end", iso(quarter_end))
    overall = prevalence[prevalence["breakdown"] == "all"].set_index(["measure", "la_code", "tier_group"])
    for column, group in (("cp_neglect_children", "Tier 1"), ("identified_children", "Tiers 1-4")):
        rows = [overall.loc[(m, la, group)] for m, la in zip(ratio["measure"], ratio["la_code"])]
        ratio[column] = pd.Series([r["children"] for r in rows], index=ratio.index, dtype=object)
        ratio[f"_cell_{column}"] = pd.Series([r["_cell_children"] for r in rows], index=ratio.index, dtype=object)
    ratio["suppressed"] = is_suppressed(ratio["cp_neglect_children"]) | is_suppressed(ratio["identified_children"])
    return _blank(ratio, [c for c in ratio.columns if c.startswith(("identified_per", "cp_neglect_share"))],
                  ratio["suppressed"])


def methods_table(definitions: NeglectDefinitions, hidden: pd.DataFrame, meta: dict, threshold: int) -> pd.DataFrame:
    """The Methods section's rows (topic, item, text); the benchmarks' and commissioning page's rows are kept
    beside their tables."""
    from .benchmarks import BENCHMARK_METHODS  # (imports this module through figures)
    from .commissioning_tables import COMMISSIONING_METHODS
    rows = [("Tier " + str(r.tier), r.label, r.description) for r in definitions.tiers]
    rows += [
        ("Tier sets", "Identified neglect", "Tiers 1-4. Tiers 1-5 adds possible neglect; tier 6 (at risk) is reported "
                                            "separately and never counted as neglect."),
        ("Counting", "Children", "Distinct children after record linkage, each at the strongest tier their evidence "
                                 "reaches; the partnership counts a child known to both authorities once."),
        ("Periods", "12 months / at quarter end", "12 months: evidence current at any time in the 12 months to the "
                                                   "quarter end. At quarter end: evidence current on that day."),
        ("Rates", "Per 10,000 children aged 0-17", "ONS mid-year population estimate (latest mid-year on or before "
                                                   "the quarter end)."),
        ("Rates", "By deprivation decile", "Children per 10,000 children aged 0-17 living in the area's LSOAs of each "
                                           "IMD decile (ONS LSOA mid-year estimates; English Indices of Deprivation "
                                           "deciles are national: 1 = the most deprived 10 % of LSOAs in England). As "
                                           "for age and sex, a child is counted by the authority holding the evidence "
                                           "wherever they live."),
        ("Rates", "By ethnicity group (modelled)", "No Census 2021 table gives ethnic group for ages 0-17 by small area "
                                                   "(TS021 is all ages; RM032's youngest band is 0-15), so the population "
                                                   "is modelled: the Census ethnic mix of each LSOA (of residents aged 15 "
                                                   "and under when an RM032 file is supplied) applied to the ONS estimate "
                                                   "of its children aged 0-17, summed over the area. Chinese is counted "
                                                   "under 'Other ethnic group', as DfE's code CHNE is. The interval is the "
                                                   "count's only: it leaves out the model's uncertainty."),
        ("Intervals", "95 % and 99.8 %", "Counts and rates: Byar's method from 10 children, exact Poisson below; "
                                         "proportions: Wilson score (OHID Fingertips methods)."),
        *BENCHMARK_METHODS,
        ("Comparisons", "Higher / similar / lower", "Higher or lower when the 95 % interval excludes the benchmark; "
                                                     "neutral words because more identification is not worse."),
        ("Hidden prevalence", "Capture-recapture", hidden["assumptions"].iloc[0] if len(hidden) else ""),
        ("Suppression", f"Counts 1-{threshold - 1} shown as c",
         f"Counts from 1 to {threshold - 1} are suppressed, and further cells where they could be worked out from "
         "totals, tier sets, the other authority, the other measure, other tables or earlier quarters' and earlier "
         "versions' packs (secondary suppression); every figure made from a suppressed count (rates, intervals, "
         "previous-year rates, changes, percentages) is blank. Hidden-prevalence estimates are rounded to the "
         "nearest 10."),
        *COMMISSIONING_METHODS,
        ("Revisions", "Figures for earlier quarters", "A refresh recomputes every quarter from all the extracts it "
                                                      "has, so late records can revise an earlier quarter's figures. "
                                                      "Each revision is recorded, and suppression is chosen so that "
                                                      "this pack and every earlier pack together reveal no small "
                                                      "number."),
        ("Data", "Period and extracts", f"Quarter ending {meta['quarter_end']:%d %B %Y}; extracts "
                                        f"{meta['first_extract']:%d %B %Y} to {meta['last_extract']:%d %B %Y}."),
    ]
    return pd.DataFrame(rows, columns=["topic", "item", "text"])


def build_publication(conn: duckdb.DuckDBPyConnection, quarter_end: date, threshold: int = 5,
                      definitions: NeglectDefinitions | None = None, run: ProtectedRun | None = None) -> Publication:
    """Every published table for ``quarter_end`` (see module docstring). ``run``: the refresh's protected
    cells (:func:`dashboards.publication.protect_refresh`), computed here for this quarter if not given."""
    from .series import published_identification_trend, published_practice_trend

    definitions = definitions or load_definitions()
    run = run if run is not None else protect_refresh(conn, quarter_end, threshold, definitions)
    counts = _Counts(run)
    names = dict(conn.execute("SELECT la_code, la_name FROM raw.la_codes ORDER BY la_code").fetchall())
    areas = [("partnership", "Partnership"), *names.items()]
    extracts = conn.execute("""SELECT min(period_end), max(period_end) FROM quality.load_audit
                               WHERE status = 'loaded' AND period_end <= ?""", [quarter_end]).fetchall()[0]
    meta = {"quarter_end": quarter_end, "first_extract": extracts[0], "last_extract": extracts[1],
            "partnership_name": " and ".join(names.values()) + " Safeguarding Children Partnership",
            "version": run.version, "revised": run.revised}
    prevalence = published_prevalence(conn, quarter_end, counts)
    hidden = published_hidden(conn, quarter_end, counts)
    from .quality_tables import published_quality, published_sources  # data quality (imports this module)
    tables = {
        "prevalence": prevalence,
        "trend": published_trend(conn, quarter_end, counts),
        "hidden": hidden,
        "identification": published_identification(prevalence, conn, quarter_end),
        "practice": published_practice(conn, quarter_end, counts),
        "identification_trend": published_identification_trend(conn, quarter_end, counts, _blank),
        "practice_trend": published_practice_trend(conn, quarter_end, counts, _blank),
        **published_quality(conn, quarter_end, counts),
        "sources": published_sources(conn, quarter_end),
        "methods": methods_table(definitions, hidden, meta, threshold),
    }
    from .journey_tables import JOURNEY_NOTES, published_journeys  # issue 21 (imports this module)
    tables |= published_journeys(conn, quarter_end, counts)
    from .benchmarks import published_benchmarks, published_funnel  # issue 20
    tables["benchmarks"] = published_benchmarks(conn, quarter_end, counts, prevalence)
    tables["benchmark_funnel"] = published_funnel(conn)
    from .commissioning_tables import COMMISSIONING_NOTES, published_commissioning  # issue 20
    tables |= published_commissioning(conn, quarter_end, counts)
    for frame in tables.values():
        check_no_identifiers(frame)
    return Publication(quarter_end, areas, tables, TABLE_NOTES | JOURNEY_NOTES | COMMISSIONING_NOTES, meta, threshold,
                       set(counts.shown))


TABLE_NOTES = {
    "prevalence": "Children with neglect evidence per 10,000 children aged 0-17, by area, breakdown and tier group.",
    "trend": "Tiers 1, 1-4 and 1-5 in every quarter to this one, with change since the previous quarter and a year ago.",
    "hidden": "Estimate of all neglected children, identified or not, by the publication rule: central figure and 95 % "
              "interval (four or more lists), 'at least' figure, rounded to the nearest 10.",
    "identification": "Children with identified neglect (tiers 1-4) for each child on a CP plan under neglect.",
    "practice": "Practice indicators: numerator, denominator, % and Wilson intervals, direction of travel.",
    "identification_trend": "Identified neglect (tiers 1-4) per child on a CP plan under neglect, 12 months, in every "
                            "quarter to this one.",
    "practice_trend": "Practice indicators in every quarter to this one: numerator, denominator, % and Wilson "
                      "intervals.",
    "data_quality": "Per source and authority: rows read, loaded and rejected; completeness of linkage keys; validity.",
    "rejects": "Rows rejected in the period, by source and rule (a row breaking two rules counts under each).",
    "files_not_loaded": "Every file of the 12 months to the quarter end with rows not loaded (rejected) or not read.",
    "linkage": "Records linked to another record, and distinct persons, by source.",
    "methods": "Definitions, methods and caveats.",
    "sources": "Which sources each authority supplied for the quarter, and so which figures could be made.",
    "benchmarks": "Each authority against England, its region and its 10 statistical neighbours on DfE's published "
                  "Children in need measures (DfE's figures, source table and year on every row), and tier 1 against "
                  "the England figure derived from DfE's 2020 figures.",
    "benchmark_funnel": "Every authority in England on each published measure, with England's value and the funnel "
                        "plot's 95 % and 99.8 % control limits at its denominator (published figures).",
}
