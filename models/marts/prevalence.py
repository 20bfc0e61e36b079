"""``marts.neglect_prevalence``: children with neglect evidence per 10,000 children aged 0-17.

One row per quarter end (``period_end``), ``measure`` (``point``: evidence current on the quarter
end; ``12_month``: at any time in the 12 months to it), ``tier_set`` (``1``, ``1-2``, ``1-4``,
``1-5``, ``6``; see ``tier_definitions.yaml``), area (``la_code``: the DfE LA number, or
``partnership``) and breakdown value (``breakdown``: ``all``, ``age_band``, ``sex``,
``ethnicity_group``, ``disability``, ``ward``, ``deprivation_decile``).

Columns: ``children`` (distinct children, after linkage), ``population`` (ONS mid-year estimate of
children 0-17; NULL where the ONS file has no such breakdown), ``rate_per_10k`` and its 95 % and
99.8 % intervals (``ci95_lower`` ...), ``method`` (``byar`` when children >= 10, ``exact`` Poisson
below; see :mod:`models.intervals`). A child counted in both authorities (evidence in each) counts
once in the partnership total.

Benchmarks (``models/marts/reference/benchmarks.csv``, replaceable): ``england_rate_per_10k`` /
``vs_england`` where England publishes a comparable figure, ``research_rate_per_10k`` /
``vs_research`` (the research "1 in 10"), and for an authority's rows ``other_la_rate_per_10k`` /
``vs_other_la`` (the partnership's other authority, or the others pooled). A comparison is
``higher`` or ``lower`` when the row's 95 % interval excludes the benchmark, else ``similar``
(neutral words: more identification is not worse). NULL where either side has no rate.

``availability`` / ``availability_note`` (:mod:`models.marts.availability`): ``complete``, ``incomplete``
(some tiers of the set cannot be counted because their source was not supplied: the count covers the
others, and the note names what is missing), ``not available`` (no tier of the set can be counted:
``children`` and the rate are NULL, never 0) or ``not supplied`` (the authority sent nothing for the
quarter: NULL, and it is left out of the partnership's count and population). ``population_note``: said
when the population is not the mid-year the quarter needs (e.g. no mid-2025 file).

``history_months`` / ``history_complete``: months of extracts before the period's window starts, and
whether that is at least 12 (:func:`models.marts.evidence.history_columns`): with less, evidence that
began before the first extract is missing and the count is too low (trend tests leave such quarters out).
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from models.intervals import rate_interval, wilson_interval

from .availability import tier_set_availability
from .definitions import NeglectDefinitions
from .evidence import (ensure_denominator_tables, ensure_presence_table, first_day_by_tier_set, history_columns,
                       read_sql, register_periods, registered, replace_period_frame)

BENCHMARKS_FILE = Path(__file__).with_name("reference") / "benchmarks.csv"
PER = 10_000
PREVALENCE_COLUMNS = """
    period_end DATE NOT NULL, measure VARCHAR NOT NULL, tier_set VARCHAR NOT NULL, la_code VARCHAR NOT NULL,
    la_name VARCHAR, breakdown VARCHAR NOT NULL, breakdown_value VARCHAR NOT NULL, breakdown_label VARCHAR,
    children BIGINT, population BIGINT, population_mid_year INTEGER, population_note VARCHAR,
    availability VARCHAR, availability_note VARCHAR, rate_per_10k DOUBLE,
    ci95_lower DOUBLE, ci95_upper DOUBLE, ci998_lower DOUBLE, ci998_upper DOUBLE, method VARCHAR,
    england_rate_per_10k DOUBLE, vs_england VARCHAR, research_rate_per_10k DOUBLE, vs_research VARCHAR,
    other_la_rate_per_10k DOUBLE, vs_other_la VARCHAR, history_months INTEGER, history_complete BOOLEAN"""


def register_tier_sets(conn: duckdb.DuckDBPyConnection, definitions: NeglectDefinitions) -> None:
    """The temporary table ``tier_set_members`` (tier_set, tier) from the definitions."""
    rows = [(name, tier) for name, tiers in definitions.tier_sets.items() for tier in tiers]
    with registered(conn, pd.DataFrame(rows, columns=["tier_set", "tier"]), "_members"):
        conn.execute("CREATE OR REPLACE TEMP TABLE tier_set_members AS "
                     "SELECT tier_set, CAST(tier AS INTEGER) AS tier FROM _members")


def with_rate_intervals(frame: pd.DataFrame, count: str = "children", population: str = "population") -> pd.DataFrame:
    """Add ``rate_per_10k``, 95 % and 99.8 % bounds and ``method`` (vectorised; NaN without a population)."""
    counts = pd.to_numeric(frame[count], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    people = pd.to_numeric(frame[population], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    rate, lower95, upper95, method = rate_interval(counts, people, per=PER, confidence=0.95)
    _, lower998, upper998, _ = rate_interval(counts, people, per=PER, confidence=0.998)
    return frame.assign(rate_per_10k=rate, ci95_lower=lower95, ci95_upper=upper95, ci998_lower=lower998,
                        ci998_upper=upper998, method=pd.Series(method, index=frame.index, dtype="string"))


def compare(lower, upper, benchmark) -> np.ndarray:
    """``higher`` / ``lower`` when the interval [lower, upper] excludes ``benchmark``, else ``similar``;
    None where any of them is missing."""
    lower, upper, benchmark = (np.asarray(x, dtype="float64") for x in (lower, upper, benchmark))
    out = np.where(lower > benchmark, "higher", np.where(upper < benchmark, "lower", "similar")).astype(object)
    out[np.isnan(lower) | np.isnan(upper) | np.isnan(benchmark)] = None
    return out


def read_benchmarks(path: Path = BENCHMARKS_FILE) -> pd.DataFrame:
    """The benchmark file: benchmark, label, measure, tier_set ('*' = any), rate_per_10k, year, source, note."""
    return pd.read_csv(path, dtype={"measure": "string", "tier_set": "string", "benchmark": "string"})


def benchmark_rate(frame: pd.DataFrame, benchmarks: pd.DataFrame, name: str) -> np.ndarray:
    """For each row of ``frame``, the rate of benchmark ``name`` matching its measure and tier set (NaN if none)."""
    rows = benchmarks[benchmarks["benchmark"] == name]
    rate = np.full(len(frame), np.nan)
    for row in rows.itertuples():  # a handful of benchmark rows, vectorised over the frame
        match = ((frame["measure"] == row.measure) | (row.measure == "*")) & \
                ((frame["tier_set"] == row.tier_set) | (row.tier_set == "*"))
        rate = np.where(match.to_numpy() & np.isnan(rate), float(row.rate_per_10k), rate)
    return rate


def with_benchmarks(frame: pd.DataFrame, benchmarks: pd.DataFrame) -> pd.DataFrame:
    """Add the England, research and other-authority comparisons (see module docstring)."""
    england = benchmark_rate(frame, benchmarks, "england")
    research = benchmark_rate(frame, benchmarks, "research")
    keys = ["period_end", "measure", "tier_set", "breakdown", "breakdown_value"]
    authorities = frame[frame["la_code"] != "partnership"]
    pooled = authorities.groupby(keys)[["children", "population"]].sum(min_count=1)
    merged = authorities[keys + ["la_code", "children", "population"]].join(pooled.add_suffix("_all"), on=keys)
    others_children = merged["children_all"] - merged["children"]
    others_population = merged["population_all"] - merged["population"]
    other_rate = (others_children / others_population.where(others_population > 0) * PER).astype("float64")
    other = pd.Series(np.nan, index=frame.index)
    other.loc[authorities.index] = other_rate.to_numpy()
    return frame.assign(
        england_rate_per_10k=england, vs_england=compare(frame["ci95_lower"], frame["ci95_upper"], england),
        research_rate_per_10k=research, vs_research=compare(frame["ci95_lower"], frame["ci95_upper"], research),
        other_la_rate_per_10k=other.to_numpy(),
        vs_other_la=compare(frame["ci95_lower"], frame["ci95_upper"], other.to_numpy()))


def prevalence_frame(conn: duckdb.DuckDBPyConnection, definitions: NeglectDefinitions,
                     period_ends: list[date], benchmarks: pd.DataFrame | None = None) -> pd.DataFrame:
    """The rows of ``marts.neglect_prevalence`` for ``period_ends`` (needs ``marts.child_neglect_tier``)."""
    register_periods(conn, period_ends)
    register_tier_sets(conn, definitions)
    ensure_presence_table(conn)
    ensure_denominator_tables(conn)
    conn.execute(read_sql("prevalence_counts.sql"))
    counts = conn.sql("""
        SELECT p.*, coalesce(n.la_name, CASE WHEN p.la_code = 'partnership' THEN 'Partnership' END) AS la_name
        FROM prevalence_counts p LEFT JOIN raw.la_codes n USING (la_code)
        ORDER BY period_end, measure, tier_set, la_code, breakdown, breakdown_value""").df()
    counts = with_availability(counts, tier_set_availability(conn, definitions))
    frame = with_rate_intervals(counts)
    frame = with_benchmarks(frame, read_benchmarks() if benchmarks is None else benchmarks)
    return history_columns(frame, first_day_by_tier_set(conn, definitions))


def with_availability(counts: pd.DataFrame, availability: pd.DataFrame) -> pd.DataFrame:
    """Add ``availability`` and its note; a count that cannot be made (not available / not supplied) is NULL."""
    merged = counts.merge(availability, on=["period_end", "la_code", "tier_set"], how="left")
    merged["availability"] = merged["availability"].fillna("complete")
    unknown = merged["availability"].isin(["not available", "not supplied"])
    merged["children"] = merged["children"].astype("Int64").mask(unknown)
    return merged


def build_prevalence(conn: duckdb.DuckDBPyConnection, definitions: NeglectDefinitions,
                     period_ends: list[date]) -> pd.DataFrame:
    """Replace the rows of ``marts.neglect_prevalence`` for ``period_ends``; returns them."""
    frame = prevalence_frame(conn, definitions, period_ends)
    replace_period_frame(conn, "marts.neglect_prevalence", PREVALENCE_COLUMNS, frame)
    return frame


IDENTIFICATION_COLUMNS_SQL = """
    period_end DATE NOT NULL, measure VARCHAR NOT NULL, la_code VARCHAR NOT NULL, la_name VARCHAR, population BIGINT,
    cp_neglect_children BIGINT, cp_any_category_children BIGINT, identified_children BIGINT,
    identified_per_cp_neglect_child DOUBLE, identified_per_cp_neglect_child_ci95_lower DOUBLE,
    identified_per_cp_neglect_child_ci95_upper DOUBLE, cp_neglect_share_pct DOUBLE,
    cp_neglect_share_ci95_lower_pct DOUBLE, cp_neglect_share_ci95_upper_pct DOUBLE, cp_plan_share_pct DOUBLE,
    cp_plan_share_ci95_lower_pct DOUBLE, cp_plan_share_ci95_upper_pct DOUBLE"""
IDENTIFICATION_COLUMNS = ["period_end", "measure", "la_code", "la_name", "population", "cp_neglect_children",
                          "cp_any_category_children", "identified_children", "identified_per_cp_neglect_child",
                          "identified_per_cp_neglect_child_ci95_lower", "identified_per_cp_neglect_child_ci95_upper",
                          "cp_neglect_share_pct", "cp_neglect_share_ci95_lower_pct", "cp_neglect_share_ci95_upper_pct",
                          "cp_plan_share_pct", "cp_plan_share_ci95_lower_pct", "cp_plan_share_ci95_upper_pct"]


def identification_ratio(prevalence: pd.DataFrame) -> pd.DataFrame:
    """``marts.identification_ratio``: what a board sees if it counts only CP plans under neglect.

    Per quarter end, measure and area (breakdown ``all``): ``cp_neglect_children`` (tier set 1),
    ``cp_any_category_children`` (1-2), ``identified_children`` (1-4: identified neglect);
    ``identified_per_cp_neglect_child`` = identified / CP-neglect (how many children with identified
    neglect there are for each one a CP-neglect count shows); ``cp_neglect_share_pct``: the share
    of identified children on a CP plan under neglect, and ``cp_plan_share_pct`` on a CP plan of any
    category, each with a Wilson 95 % interval. The ratio's interval is the inverse of the share's
    (ratio = 1 / share), so it inherits Wilson's behaviour with small counts.
    """
    overall = prevalence[prevalence["breakdown"] == "all"]
    sets = overall[overall["tier_set"].isin(["1", "1-2", "1-4"])]
    wide = sets.set_index(["period_end", "measure", "la_code", "la_name", "population", "tier_set"])["children"] \
        .unstack("tier_set").reindex(columns=["1", "1-2", "1-4"]).reset_index()  # keeps NULL (not available) counts
    wide.columns.name = None
    wide = wide.rename(columns={"1": "cp_neglect_children", "1-2": "cp_any_category_children",
                                "1-4": "identified_children"})
    for column in ("cp_neglect_children", "cp_any_category_children", "identified_children"):
        wide[column] = pd.to_numeric(wide[column], errors="coerce").astype("float64")  # NaN: not available
    identified = wide["identified_children"].to_numpy(dtype="float64", na_value=np.nan)
    out = wide.assign(identified_per_cp_neglect_child=identified / wide["cp_neglect_children"].where(
        wide["cp_neglect_children"] > 0))
    for prefix, numerator in (("cp_neglect_share", "cp_neglect_children"), ("cp_plan_share", "cp_any_category_children")):
        counts = out[numerator].to_numpy(dtype="float64", na_value=np.nan)
        lower, upper = wilson_interval(counts, identified)
        out[f"{prefix}_pct"] = 100 * counts / np.where(identified > 0, identified, np.nan)
        out[f"{prefix}_ci95_lower_pct"] = 100 * np.asarray(lower)
        out[f"{prefix}_ci95_upper_pct"] = 100 * np.asarray(upper)
    share_lower = out["cp_neglect_share_ci95_lower_pct"] / 100
    share_upper = out["cp_neglect_share_ci95_upper_pct"] / 100
    out["identified_per_cp_neglect_child_ci95_lower"] = 1 / share_upper.where(share_upper > 0)
    out["identified_per_cp_neglect_child_ci95_upper"] = 1 / share_lower.where(share_lower > 0)
    counts = ["cp_neglect_children", "cp_any_category_children", "identified_children"]
    out[counts] = out[counts].astype("Int64")  # NULL where not available
    return out[IDENTIFICATION_COLUMNS]


def build_identification_ratio(conn: duckdb.DuckDBPyConnection, period_ends: list[date]) -> pd.DataFrame:
    """Replace the rows of ``marts.identification_ratio`` for ``period_ends`` (from ``marts.neglect_prevalence``)."""
    register_periods(conn, period_ends)
    prevalence = conn.sql("SELECT * FROM marts.neglect_prevalence WHERE breakdown = 'all' "
                          "AND period_end IN (SELECT period_end FROM periods)").df()
    frame = identification_ratio(prevalence)
    replace_period_frame(conn, "marts.identification_ratio", IDENTIFICATION_COLUMNS_SQL, frame)
    return frame
