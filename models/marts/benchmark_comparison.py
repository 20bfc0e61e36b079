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

The product's own equivalent of each measure (``marts.practice_indicators``) is not joined here yet.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from models.intervals import wilson_interval

PUBLISHED_TABLES = ("published_cin_factors", "published_cp_duration", "published_cp_subsequent",
                    "published_rereferrals")
MEASURE_LABELS = {
    "neglect_at_assessment": "Neglect (factor 16A) identified at the end of assessment, % of episodes with factors",
    "cp_plans_2_years_or_more": "Children on a CP plan at 31 March whose plan had lasted 2 years or more, %",
    "cp_plans_second_or_subsequent": "CP plans starting in the year that were a second or subsequent plan, %",
    "rereferrals_within_12_months": "Referrals within 12 months of a previous referral, %",
}
COLUMNS = ["la_code", "la_name", "measure", "measure_label", "time_period", "table_id", "source", "numerator",
           "denominator", "value_percent", "value_note", "ci95_lower", "ci95_upper", "ci998_lower", "ci998_upper",
           "england_percent", "region_code", "region_name", "region_percent", "neighbours_compared",
           "neighbour_median_percent", "neighbour_values", "rank_among_neighbours", "ranked_of",
           "quartile_among_neighbours", "vs_england_95", "vs_england_998"]


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


def benchmark_comparison(published: pd.DataFrame, neighbours: pd.DataFrame, authorities: list[str]) -> pd.DataFrame:
    """The mart from the published rows (all tables, :data:`sources.ees.OUTPUT_COLUMNS`), the neighbour
    rows and the partnership's LA codes; see the module."""
    rows = []
    published = published.assign(percent=_percent(published))
    for measure, part in published.groupby("measure", sort=True):
        latest = part[part["time_period"] == part.loc[part["geographic_level"] == "Local authority",
                                                      "time_period"].max()]
        own = latest[(latest["geographic_level"] == "Local authority") & latest["la_code"].isin(authorities)]
        for row in own.sort_values("la_code").itertuples():
            rows.append(_one(row, latest, neighbours))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for c in ("rank_among_neighbours", "ranked_of", "quartile_among_neighbours", "neighbours_compared"):
        frame[c] = frame[c].astype("Int64")
    return frame


def build_benchmark_comparison(conn) -> pd.DataFrame:
    """Read the raw tables, write marts.benchmark_comparison; returns the frame."""
    from models.linkage.run import replace_table

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
        frame = benchmark_comparison(published, neighbours, authorities)
    replace_table(conn, "marts.benchmark_comparison", frame)
    return frame
