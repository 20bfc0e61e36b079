"""marts.benchmark_comparison: each partnership authority against England, its region and its 10 statistical
neighbours on DfE's published comparators.

Inputs are the published tables read by ``sources/ees.py`` (``raw.published_cin_factors``,
``raw.published_cp_duration``, ``raw.published_cp_subsequent``, ``raw.published_rereferrals``: one row per
year, area and measure with numerator, denominator and DfE's marker where a value is suppressed) and DfE's
groupings (``raw.statistical_neighbours``). One row per authority of the partnership (``raw.la_codes``) and
measure, for the latest year published for that measure:

* the authority's published value (numerator / denominator, %) with Wilson 95 % and 99.8 % intervals;
* England's and its region's value (rounded totals, as DfE publishes them);
* its neighbours' values, their median, and the authority's rank among itself and the neighbours that have a
  value (1 = highest) and quartile (1 = the highest quarter);
* ``vs_england_95`` / ``vs_england_998``: ``higher`` or ``lower`` when the interval excludes England's value,
  else ``similar`` (neutral words: for detection-type measures higher may mean better identification).

* the product's own equivalent where it computes one (``marts.practice_indicators``: CP plans open 2+ years,
  second or subsequent plans, re-referrals within 12 months, same definitions as DfE's) at 31 March of the
  published year, when the marts hold that quarter end: ``local_*``. Neglect at the end of assessment has no
  equivalent there (the tiers count children, not assessment episodes), so its ``local_*`` are empty.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ingest.write import replace_table
from models.intervals import wilson_interval

PUBLISHED_TABLES = ("published_cin_factors", "published_cp_duration", "published_cp_subsequent",
                    "published_rereferrals")
MEASURE_LABELS = {
    "neglect_at_assessment": "Neglect (factor 16A) identified at the end of assessment, % of episodes with factors",
    "cp_plans_2_years_or_more": "Children on a CP plan at 31 March whose plan had lasted 2 years or more, %",
    "cp_plans_second_or_subsequent": "CP plans starting in the year that were a second or subsequent plan, %",
    "rereferrals_within_12_months": "Referrals within 12 months of a previous referral, %",
}
LOCAL_INDICATORS = {"cp_plans_2_years_or_more": "cp_plans_2_years_plus",
                    "cp_plans_second_or_subsequent": "cp_second_or_subsequent",
                    "rereferrals_within_12_months": "re_referrals_12_months"}
COLUMNS = ["la_code", "la_name", "measure", "measure_label", "time_period", "table_id", "source", "numerator",
           "denominator", "value_percent", "value_note", "ci95_lower", "ci95_upper", "ci998_lower", "ci998_upper",
           "england_percent", "region_code", "region_name", "region_percent", "neighbours_compared",
           "neighbour_median_percent", "neighbour_values", "rank_among_neighbours", "ranked_of",
           "quartile_among_neighbours", "vs_england_95", "vs_england_998", "local_period_end", "local_numerator",
           "local_denominator", "local_percent"]


def _percent(frame: pd.DataFrame) -> pd.Series:
    den = frame["denominator"].astype("float64")
    return (100 * frame["numerator"].astype("float64") / den.where(den > 0)).round(2)


def _compare(lower: float, upper: float, benchmark: float) -> str | None:
    if any(pd.isna(v) for v in (lower, upper, benchmark)):
        return None
    return "higher" if lower > benchmark else "lower" if upper < benchmark else "similar"


def _one(row, latest: pd.DataFrame, neighbours: pd.DataFrame) -> dict:
    by_la = latest[latest["geographic_level"] == "Local authority"].set_index("la_code")
    england = latest[latest["geographic_level"] == "National"]
    region = latest[(latest["geographic_level"] == "Regional") & (latest["region_code"] == row.region_code)]
    near = neighbours.loc[neighbours["la_code"] == row.la_code].sort_values("neighbour_rank")["neighbour_la_code"]
    values = by_la["percent"].reindex(near.tolist())
    compared = values.dropna()
    lo95, hi95 = wilson_interval(row.numerator, row.denominator, 0.95) if pd.notna(row.percent) else (np.nan, np.nan)
    lo998, hi998 = wilson_interval(row.numerator, row.denominator, 0.998) if pd.notna(row.percent) else (np.nan,) * 2
    eng = england["percent"].iloc[0] if len(england) else np.nan
    out = {"la_code": row.la_code, "la_name": row.la_name, "measure": row.measure,
           "measure_label": MEASURE_LABELS.get(row.measure, row.measure), "time_period": int(row.time_period),
           "table_id": row.table_id, "source": row.source, "numerator": row.numerator, "denominator": row.denominator,
           "value_percent": row.percent,
           "value_note": row.numerator_note if pd.notna(row.numerator_note) else row.denominator_note,
           "ci95_lower": 100 * lo95, "ci95_upper": 100 * hi95, "ci998_lower": 100 * lo998, "ci998_upper": 100 * hi998,
           "england_percent": eng, "region_code": row.region_code,
           "region_name": region["region_name"].iloc[0] if len(region) else None,
           "region_percent": region["percent"].iloc[0] if len(region) else np.nan,
           "neighbours_compared": len(compared),
           "neighbour_median_percent": float(compared.median()) if len(compared) else np.nan,
           "neighbour_values": "; ".join(f"{c}: {'' if pd.isna(v) else f'{v:g}'}" for c, v in values.items()),
           "vs_england_95": _compare(100 * lo95, 100 * hi95, eng),
           "vs_england_998": _compare(100 * lo998, 100 * hi998, eng)}
    if pd.notna(row.percent) and len(compared):
        pool = pd.concat([compared, pd.Series([row.percent])], ignore_index=True)
        rank = int((pool > row.percent).sum()) + 1
        out.update(rank_among_neighbours=rank, ranked_of=len(pool),
                   quartile_among_neighbours=int(np.ceil(4 * rank / len(pool))))
    return out


def _local(out: dict, local: pd.DataFrame | None) -> dict:
    """The product's own figure for the row's authority, measure and 31 March of its year (if any)."""
    indicator = LOCAL_INDICATORS.get(out["measure"])
    if local is None or indicator is None or not len(local):
        return out
    when = pd.Timestamp(f"{out['time_period']}-03-31")
    hit = local[(local["la_code"] == out["la_code"]) & (local["indicator"] == indicator)
                & (pd.to_datetime(local["period_end"]) == when)]
    if len(hit):
        h = hit.iloc[0]
        out.update(local_period_end=when.date(), local_numerator=h["numerator"], local_denominator=h["denominator"],
                   local_percent=h["rate_pct"])
    return out


def benchmark_comparison(published: pd.DataFrame, neighbours: pd.DataFrame, authorities: list[str],
                         local: pd.DataFrame | None = None) -> pd.DataFrame:
    """The mart from the published rows (all tables, :data:`sources.ees.OUTPUT_COLUMNS`), the neighbour
    rows, the partnership's LA codes and (optionally) ``marts.practice_indicators``; see the module."""
    rows = []
    published = published.assign(percent=_percent(published))
    for measure, part in published.groupby("measure", sort=True):
        latest = part[part["time_period"] == part.loc[part["geographic_level"] == "Local authority",
                                                      "time_period"].max()]
        own = latest[(latest["geographic_level"] == "Local authority") & latest["la_code"].isin(authorities)]
        for row in own.sort_values("la_code").itertuples():
            rows.append(_local(_one(row, latest, neighbours), local))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for c in ("rank_among_neighbours", "ranked_of", "quartile_among_neighbours", "neighbours_compared",
              "local_numerator", "local_denominator"):
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("Int64")
    frame["local_percent"] = pd.to_numeric(frame["local_percent"], errors="coerce").astype("Float64")
    frame["local_period_end"] = pd.to_datetime(frame["local_period_end"]).astype("datetime64[us]")
    return frame


def build_benchmark_comparison(conn) -> pd.DataFrame:
    """Read the raw tables, write marts.benchmark_comparison; returns the frame."""
    present = {r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables "
                                          "WHERE table_schema = 'raw'").fetchall()}
    parts = [conn.sql(f"SELECT * FROM raw.{t}").df() for t in PUBLISHED_TABLES if t in present]
    published = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else None
    neighbours = conn.sql("SELECT * FROM raw.statistical_neighbours").df()
    authorities = [r[0] for r in conn.execute("SELECT DISTINCT la_code FROM raw.la_codes").fetchall()]
    if published is None:
        frame = pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})
    else:
        for c in ("numerator", "denominator"):
            published[c] = pd.to_numeric(published[c], errors="coerce")
        published["time_period"] = pd.to_numeric(published["time_period"], errors="coerce")
        local = conn.sql("SELECT * FROM marts.practice_indicators").df() if conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' "
            "AND table_name = 'practice_indicators'").fetchall() else None
        frame = benchmark_comparison(published, neighbours, authorities, local)
    replace_table(conn, "marts.benchmark_comparison", frame)
    return frame
