"""The published tables of one quarter: every number a board member, commissioner or reader of an
export sees comes from here, after disclosure control (:mod:`dashboards.disclosure`).

:func:`build_publication` reads the marts for a quarter end and returns a :class:`Publication`:
named tables (pandas DataFrames) in which every count of children is an ``int`` or ``"c"``
(suppressed), and every rate or interval from a suppressed count is blank. The HTML report, the
charts, the workbook and the CSV files are all drawn from these tables only, so nothing can be
published that has not been through suppression.

Tables (``area`` is the authority's name or the partnership; ``measure`` ``12 months`` / ``at quarter
end``):

* ``prevalence``: for each area, all children in every tier group (each tier 1-6 alone, and tiers
  1-2, 1-4, 1-5), and each breakdown value in tiers 1-4 (identified neglect), with population, rate
  per 10,000, 95 % and 99.8 % intervals and benchmark comparisons;
* ``trend``: tiers 1, 1-4 and 1-5 for every quarter up to this one, with change flags;
* ``hidden``: capture-recapture estimates (rounded to the nearest 10: they are models, not counts);
* ``identification``: identified neglect (1-4) per child on a CP plan under neglect;
* ``practice``: practice indicators (numerator, denominator, %, intervals, direction of travel);
* ``data_quality``, ``rejects``, ``linkage``: per source: rows, completeness, validity, rejects by
  rule, linkage rate (counts of extract rows, suppressed like every other count);
* ``methods``: definitions, methods and caveats as text (the workbook's notes sheet).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb
import pandas as pd

from models.marts.definitions import NeglectDefinitions, load_definitions

from .disclosure import Sum, Union, apply_to_table, counts_from_table, protect, suppress_rates

MEASURES = {"12_month": "12 months", "point": "at quarter end"}
SETS = {"Tiers 1-2": ["Tier 1", "Tier 2"], "Tiers 1-4": ["Tier 1", "Tier 2", "Tier 3", "Tier 4"],
        "Tiers 1-5": ["Tier 1", "Tier 2", "Tier 3", "Tier 4", "Tier 5"]}
MART_SET = {"1": "Tier 1", "2": "Tier 2", "3": "Tier 3", "4": "Tier 4", "5": "Tier 5", "6": "Tier 6",
            "1-2": "Tiers 1-2", "1-4": "Tiers 1-4", "1-5": "Tiers 1-5"}  # tier set in the mart -> tier group
BREAKDOWNS = {"all": "All children", "age_band": "Age band", "sex": "Sex", "ethnicity_group": "Ethnicity group",
              "disability": "Disability", "ward": "Ward", "deprivation_decile": "Deprivation decile"}
SUPPRESSED = "c"
NOT_AVAILABLE = "x"  # DfE's symbol: not available (its source was not supplied for the area and quarter)


@dataclass
class Publication:
    """What is published for one quarter (see module docstring)."""

    quarter_end: date
    areas: list[tuple[str, str]]  # (la_code, name), the partnership first
    tables: dict[str, pd.DataFrame]
    notes: dict[str, str]  # table name -> what it holds
    meta: dict = field(default_factory=dict)
    threshold: int = 5

    def area_name(self, la_code: str) -> str:
        return dict(self.areas)[la_code]


def is_suppressed(values: pd.Series) -> pd.Series:
    return values.astype("object").map(lambda v: isinstance(v, str) and v == SUPPRESSED)


def _prevalence_cells(conn: duckdb.DuckDBPyConnection, quarter_end: date) -> pd.DataFrame:
    """One row per measure, area, breakdown value and tier group (``marts.neglect_prevalence``, before suppression)."""
    cells = conn.execute("""
        SELECT measure, la_code, la_name, breakdown, breakdown_value, breakdown_label, tier_set, children,
               population, rate_per_10k, ci95_lower, ci95_upper, ci998_lower, ci998_upper, method,
               england_rate_per_10k, vs_england, research_rate_per_10k, vs_research, other_la_rate_per_10k,
               vs_other_la, history_complete, availability, availability_note, population_note
        FROM marts.neglect_prevalence WHERE period_end = ? AND tier_set IN (SELECT unnest(?))""",
                         [quarter_end, list(MART_SET)]).df()
    cells["tier_group"] = cells["tier_set"].map(MART_SET)
    return cells.drop(columns="tier_set")


BREAKDOWN_GROUP = "Tiers 1-4"  # the one tier group published for each breakdown value


def prevalence_relations(cells: pd.DataFrame) -> list:
    """The arithmetic an intruder could use on the published prevalence cells: in each area's 'All
    children' row the tier sets are sums of the tiers; each breakdown's values sum to 'All children'
    (tiers 1-4); the partnership is the union of its authorities (a child known to both counts once)."""
    known = cells[cells["children"].notna()]  # a count not available (NULL) is in no relation
    present = set(map(tuple, known[["measure", "la_code", "breakdown", "breakdown_value", "tier_group"]].to_numpy()))
    relations = []
    totals = known[known["breakdown"] == "all"][["measure", "la_code"]].drop_duplicates()
    count = {tuple(k): v for *k, v in known[["measure", "la_code", "breakdown", "breakdown_value", "tier_group",
                                               "children"]].itertuples(index=False)}
    for measure, la_code in totals.itertuples(index=False):
        row = lambda group: (measure, la_code, "all", "All children", group)  # noqa: E731
        for total, parts in SETS.items():
            shown = [row(p) for p in parts if row(p) in present]
            if row(total) not in present or not shown:
                continue
            # a tier not available (x) is left out of its set's sum only where the published tiers still add up
            # (it had no children): an intruder can then use the sum, so protection must; otherwise no relation
            if len(shown) == len(parts) or sum(count[c] for c in shown) == count[row(total)]:
                relations.append(Sum(row(total), shown))
    values = known[(known["breakdown"] != "all") & (known["tier_group"] == BREAKDOWN_GROUP)]
    for (measure, la_code, breakdown), members in values.groupby(["measure", "la_code", "breakdown"])["breakdown_value"]:
        relations.append(Sum((measure, la_code, "all", "All children", BREAKDOWN_GROUP),
                             [(measure, la_code, breakdown, v, BREAKDOWN_GROUP) for v in members]))
    authorities = sorted(set(known["la_code"]) - {"partnership"})
    # a child counts once in the partnership at the strongest tier of their authorities, so only tier groups that
    # run from tier 1 (1, 1-2, 1-4, 1-5) are unions of the authorities' groups: a child in tier 2 in one authority
    # and tier 1 in the other is in tier 2 there but not in the partnership's tier 2
    unions = {"Tier 1", *SETS}
    # an authority whose count is not available (x: not supplied, or no source for the tiers) adds no child to
    # the partnership's, so the partnership is the union of the authorities that have a count
    for cell in sorted(c for c in present if c[1] == "partnership" and c[2] != "ward" and c[4] in unions):
        parts = [p for p in ((cell[0], la, *cell[2:]) for la in authorities) if p in present]
        if parts:
            relations.append(Union(cell, parts))
    return relations


def _protected(frame: pd.DataFrame, key_columns: list[str], relations: list, threshold: int,
               count: str = "children") -> pd.DataFrame:
    """``frame`` with ``count`` replaced by the published value (int, "c", or "x" where the count is NULL: not
    available) and a ``<count>_suppressed`` flag. Cells that are not available take no part in the protection."""
    unknown = frame[count].isna()
    known = frame[~unknown]
    cells = set(map(tuple, known[key_columns].to_numpy()))
    relations = [r for r in relations if r.total in cells and all(c in cells for c in r.parts)]
    result = protect(counts_from_table(known, key_columns, count), relations, threshold=threshold)
    out = apply_to_table(known, key_columns, count, result)
    if unknown.any():
        missing = frame[unknown].assign(**{count: NOT_AVAILABLE, "suppressed": False})
        out = pd.concat([out, missing], ignore_index=True)
    return out.rename(columns={"suppressed": f"{count}_suppressed"})


RATE_COLUMNS = ["rate_per_10k", "ci95_lower", "ci95_upper", "ci998_lower", "ci998_upper", "vs_england", "vs_research",
                "vs_other_la", "other_la_rate_per_10k"]


def published_prevalence(conn: duckdb.DuckDBPyConnection, quarter_end: date, threshold: int) -> pd.DataFrame:
    """Each area's 'All children' row in every tier group (the ladder and the sets), and each breakdown value
    in tiers 1-4 only: publishing several tier groups per ward or age band would let their differences reveal
    small numbers (e.g. tier 1 of 6 and tiers 1-2 of 8 tell you 2 children are in tier 2)."""
    cells = _prevalence_cells(conn, quarter_end)
    cells = cells[(cells["breakdown"] == "all") | (cells["tier_group"] == BREAKDOWN_GROUP)]
    keys = ["measure", "la_code", "breakdown", "breakdown_value", "tier_group"]
    protected = []
    for measure, part in cells.groupby("measure", sort=False):  # no arithmetic links the two measures
        protected.append(_protected(part, keys, prevalence_relations(part), threshold))
    out = suppress_rates(pd.concat(protected, ignore_index=True), "children", RATE_COLUMNS, "children_suppressed")
    out["measure_label"] = out["measure"].map(MEASURES)
    out["breakdown_name"] = out["breakdown"].map(BREAKDOWNS)
    return out.sort_values(["measure", "la_code", "breakdown", "breakdown_value", "tier_group"], ignore_index=True)


def published_trend(conn: duckdb.DuckDBPyConnection, quarter_end: date, threshold: int) -> pd.DataFrame:
    trend = conn.execute("""
        SELECT p.period_end, p.measure, p.la_code, p.la_name, p.tier_set, p.children, p.population, p.rate_per_10k,
               p.ci95_lower, p.ci95_upper, p.history_complete, c.change_since_previous_quarter,
               c.change_since_year_ago
        FROM marts.neglect_prevalence p
        LEFT JOIN marts.prevalence_change c USING (period_end, measure, tier_set, la_code, breakdown, breakdown_value)
        WHERE p.breakdown = 'all' AND p.tier_set IN ('1', '1-4', '1-5') AND p.period_end <= ?
        ORDER BY p.la_code, p.measure, p.tier_set, p.period_end""", [quarter_end]).df()
    trend["tier_group"] = trend["tier_set"].map({"1": "Tier 1", "1-4": "Tiers 1-4", "1-5": "Tiers 1-5"})
    trend = _protected(trend, ["period_end", "measure", "la_code", "tier_set"], [], threshold)
    return suppress_rates(trend, "children", ["rate_per_10k", "ci95_lower", "ci95_upper",
                                              "change_since_previous_quarter", "change_since_year_ago"],
                          "children_suppressed")


def published_hidden(conn: duckdb.DuckDBPyConnection, quarter_end: date, threshold: int) -> pd.DataFrame:
    hidden = conn.execute("""
        SELECT la_code, la_name, linkage, linkage_threshold, status, method, lists, stratified, observed, estimate,
               unobserved, ci95_lower, ci95_upper, population, estimate_rate_per_10k, ci95_lower_rate_per_10k,
               ci95_upper_rate_per_10k, chosen_model, message, assumptions, history_complete
        FROM marts.hidden_prevalence WHERE period_end = ? ORDER BY la_code, linkage""", [quarter_end]).df()
    for column in ("estimate", "unobserved", "ci95_lower", "ci95_upper"):  # model estimates, not counts
        hidden[column] = (hidden[column] / 10).round() * 10
    people = hidden["population"].astype("float64").where(hidden["population"] > 0)
    for rate, column in (("estimate_rate_per_10k", "estimate"), ("ci95_lower_rate_per_10k", "ci95_lower"),
                         ("ci95_upper_rate_per_10k", "ci95_upper")):  # from the rounded figures only
        hidden[rate] = hidden[column] / people * 10_000
    hidden = _protected(hidden.fillna({"observed": 0}), ["la_code", "linkage"], [], threshold, count="observed")
    return hidden


def published_practice(conn: duckdb.DuckDBPyConnection, quarter_end: date, threshold: int) -> pd.DataFrame:
    practice = conn.execute("""
        SELECT la_code, indicator, indicator_label, definition, numerator, denominator, rate_pct, ci95_lower_pct,
               ci95_upper_pct, ci998_lower_pct, ci998_upper_pct, direction_of_travel, previous_rate_pct, data_complete,
               note
        FROM marts.practice_indicators WHERE period_end = ? ORDER BY indicator, la_code""", [quarter_end]).df()
    authorities = sorted(set(practice["la_code"]) - {"partnership"})
    relations = [Union((indicator, "partnership", part), [(indicator, la, part) for la in authorities])
                 for indicator in practice["indicator"].unique() for part in ("numerator", "denominator")]
    long = practice.melt(id_vars=["indicator", "la_code"], value_vars=["numerator", "denominator"],
                         var_name="part", value_name="count")
    protected = _protected(long, ["indicator", "la_code", "part"], relations, threshold, count="count")
    wide = protected.pivot_table(index=["indicator", "la_code"], columns="part",
                                 values=["count", "count_suppressed"], aggfunc="first")
    wide.columns = [f"{part}" if value == "count" else f"{part}_suppressed" for value, part in wide.columns]
    practice = practice.drop(columns=["numerator", "denominator"]).merge(wide.reset_index(), on=["indicator", "la_code"])
    practice["suppressed"] = practice["numerator_suppressed"].astype(bool) | practice["denominator_suppressed"].astype(bool)
    return suppress_rates(practice, "numerator", ["rate_pct", "ci95_lower_pct", "ci95_upper_pct", "ci998_lower_pct",
                                                  "ci998_upper_pct", "direction_of_travel"], "suppressed")


def published_identification(prevalence: pd.DataFrame, conn: duckdb.DuckDBPyConnection, quarter_end: date) -> pd.DataFrame:
    """The board ratio, from the published (suppressed) tier 1 and tiers 1-4 counts."""
    ratio = conn.execute("""
        SELECT measure, la_code, la_name, identified_per_cp_neglect_child, identified_per_cp_neglect_child_ci95_lower,
               identified_per_cp_neglect_child_ci95_upper, cp_neglect_share_pct, cp_neglect_share_ci95_lower_pct,
               cp_neglect_share_ci95_upper_pct
        FROM marts.identification_ratio WHERE period_end = ?""", [quarter_end]).df()
    overall = prevalence[prevalence["breakdown"] == "all"]
    counts = overall.pivot_table(index=["measure", "la_code"], columns="tier_group", values="children",
                                 aggfunc="first")[["Tier 1", "Tiers 1-4"]]
    counts.columns = ["cp_neglect_children", "identified_children"]
    ratio = ratio.merge(counts.reset_index(), on=["measure", "la_code"])
    ratio["suppressed"] = is_suppressed(ratio["cp_neglect_children"]) | is_suppressed(ratio["identified_children"])
    return suppress_rates(ratio, "identified_children",
                          [c for c in ratio.columns if c.startswith(("identified_per", "cp_neglect_share"))], "suppressed")


def published_quality(conn: duckdb.DuckDBPyConnection, quarter_end: date, threshold: int) -> dict[str, pd.DataFrame]:
    summary = conn.execute("""
        SELECT source, la_code, files, rows_read, rows_loaded, rows_rejected, nhs_number_pct, upn_pct, dob_pct,
               postcode_pct, postcode_matched_pct, validity_pct
        FROM quality.summary WHERE period_end = (SELECT max(period_end) FROM quality.summary WHERE period_end <= ?)
        ORDER BY source, la_code""", [quarter_end]).df()
    rejects = conn.execute("""
        SELECT source, la_code, rule, count(*) AS rows_rejected FROM quality.rejects
        WHERE action = 'row_rejected' AND period_end = ? GROUP BY ALL ORDER BY source, la_code, rule""",
                           [quarter_end]).df()
    linkage = conn.execute("""
        SELECT person_type, source, max(value) FILTER (WHERE section = 'match rate %') AS linked_pct,
               max(value) FILTER (WHERE section = 'persons') AS persons
        FROM quality.linkage_summary WHERE section IN ('match rate %', 'persons') AND source <> 'all'
        GROUP BY ALL ORDER BY person_type DESC, source""").df()
    files = files_not_loaded(conn, quarter_end)
    for column in ("rows_read", "rows_loaded", "rows_rejected"):
        summary = _protected(summary, ["source", "la_code"], [], threshold, count=column)
    for column in ("rows_read", "rows_not_loaded"):
        files = _protected(files, ["file", "source"], [], threshold, count=column)
    rejects = _protected(rejects, ["source", "la_code", "rule"], [], threshold, count="rows_rejected")
    linkage = _protected(linkage.fillna({"persons": 0}), ["person_type", "source"], [], threshold, count="persons")
    return {"data_quality": summary, "rejects": rejects, "linkage": linkage, "files_not_loaded": files}


def files_not_loaded(conn: duckdb.DuckDBPyConnection, quarter_end: date) -> pd.DataFrame:
    """Every file of the 12 months to ``quarter_end`` with rows not loaded (rejected) or not read at all: file,
    sheet, source label, rows read, rows not loaded, and why (the commonest rule, or the reader's message)."""
    from sources.registry import load_registry

    labels = {s.name: s.label for s in load_registry()}
    frame = conn.execute("""
        WITH files AS (
            SELECT source, la_code, file, max(sheet) AS sheet, max(status) AS status, max(message) AS message,
                   sum(rows_read) AS rows_read,
                   sum(CASE WHEN status = 'failed' THEN rows_read ELSE rows_rejected END) AS rows_not_loaded
            FROM quality.load_audit
            WHERE file IS NOT NULL AND period_end > ? - INTERVAL 1 YEAR AND period_end <= ?
            GROUP BY ALL
        ),
        rules AS (
            SELECT source, file, rule, count(DISTINCT location) AS n FROM quality.rejects
            WHERE action IN ('row_rejected', 'child_rejected') GROUP BY ALL
        ),
        commonest AS (SELECT source, file, arg_max(rule, n) AS rule FROM rules GROUP BY ALL)
        SELECT f.file, f.sheet, f.source, f.la_code, f.rows_read, f.rows_not_loaded,
               CASE WHEN f.status = 'failed' THEN 'not read: ' || f.message
                    ELSE 'rejected, mostly ' || r.rule END AS reason
        FROM files f LEFT JOIN commonest r ON r.source = f.source AND r.file = f.file
        WHERE f.status = 'failed' OR f.rows_not_loaded > 0
        ORDER BY f.file, f.source""", [quarter_end, quarter_end]).df()
    frame["source"] = frame["source"].map(lambda s: labels.get(s, s))
    frame["sheet"] = frame["sheet"].fillna("")
    return frame


def published_sources(conn: duckdb.DuckDBPyConnection, quarter_end: date) -> pd.DataFrame:
    """Which sources fed the quarter's figures, per authority: supplied, not supplied, could not be read, or
    (the census) carried forward from the previous year's return (``marts.source_availability``; no counts)."""
    from sources.registry import load_registry

    labels = {s.name: s.label for s in load_registry()}
    sources = conn.execute("""
        SELECT a.la_code, a.source, a.status, a.note, coalesce(p.present, true) AS authority_present
        FROM marts.source_availability a LEFT JOIN marts.authority_presence p USING (period_end, la_code)
        WHERE a.period_end = ? ORDER BY a.la_code, a.source""", [quarter_end]).df()
    sources["source_label"] = sources["source"].map(lambda name: labels.get(name, name))
    return sources


def methods_table(definitions: NeglectDefinitions, hidden: pd.DataFrame, meta: dict, threshold: int) -> pd.DataFrame:
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
        ("Intervals", "95 % and 99.8 %", "Counts and rates: Byar's method from 10 children, exact Poisson below; "
                                         "proportions: Wilson score (OHID Fingertips methods)."),
        ("Comparisons", "Higher / similar / lower", "Higher or lower when the 95 % interval excludes the benchmark; "
                                                     "neutral words because more identification is not worse."),
        ("Hidden prevalence", "Capture-recapture", hidden["assumptions"].iloc[0] if len(hidden) else ""),
        ("Suppression", f"Counts 1-{threshold - 1} shown as c",
         f"Counts from 1 to {threshold - 1} are suppressed, and further cells where they could be worked out from "
         "totals, tier sets or the other authority (secondary suppression); rates from suppressed counts are blank. "
         "Hidden-prevalence estimates are rounded to the nearest 10."),
        ("Data", "Period and extracts", f"Quarter ending {meta['quarter_end']:%d %B %Y}; extracts "
                                        f"{meta['first_extract']:%d %B %Y} to {meta['last_extract']:%d %B %Y}."),
    ]
    return pd.DataFrame(rows, columns=["topic", "item", "text"])


def build_publication(conn: duckdb.DuckDBPyConnection, quarter_end: date, threshold: int = 5,
                      definitions: NeglectDefinitions | None = None) -> Publication:
    """Every published table for ``quarter_end`` (see module docstring)."""
    definitions = definitions or load_definitions()
    names = dict(conn.execute("SELECT la_code, la_name FROM raw.la_codes ORDER BY la_code").fetchall())
    areas = [("partnership", "Partnership"), *names.items()]
    extracts = conn.execute("""SELECT min(period_end), max(period_end) FROM quality.load_audit
                               WHERE status = 'loaded' AND period_end <= ?""", [quarter_end]).fetchall()[0]
    meta = {"quarter_end": quarter_end, "first_extract": extracts[0], "last_extract": extracts[1],
            "partnership_name": " and ".join(names.values()) + " Safeguarding Children Partnership"}
    prevalence = published_prevalence(conn, quarter_end, threshold)
    hidden = published_hidden(conn, quarter_end, threshold)
    tables = {
        "prevalence": prevalence,
        "trend": published_trend(conn, quarter_end, threshold),
        "hidden": hidden,
        "identification": published_identification(prevalence, conn, quarter_end),
        "practice": published_practice(conn, quarter_end, threshold),
        **published_quality(conn, quarter_end, threshold),
        "sources": published_sources(conn, quarter_end),
        "methods": methods_table(definitions, hidden, meta, threshold),
    }
    return Publication(quarter_end, areas, tables, dict(TABLE_NOTES), meta, threshold)


TABLE_NOTES = {
    "prevalence": "Children with neglect evidence per 10,000 children aged 0-17, by area, breakdown and tier group.",
    "trend": "Tiers 1, 1-4 and 1-5 in every quarter to this one, with change since the previous quarter and a year ago.",
    "hidden": "Capture-recapture estimate of all neglected children, identified or not (rounded to the nearest 10).",
    "identification": "Children with identified neglect (tiers 1-4) for each child on a CP plan under neglect.",
    "practice": "Practice indicators: numerator, denominator, % and Wilson intervals, direction of travel.",
    "data_quality": "Per source and authority: rows read, loaded and rejected; completeness of linkage keys; validity.",
    "rejects": "Rows rejected in the quarter, by source and rule.",
    "files_not_loaded": "Every file of the 12 months to the quarter end with rows not loaded (rejected) or not read.",
    "linkage": "Records linked to another record, and distinct persons, by source.",
    "methods": "Definitions, methods and caveats.",
    "sources": "Which sources each authority supplied for the quarter, and so which figures could be made.",
}
