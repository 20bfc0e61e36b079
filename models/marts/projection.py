"""``marts.neglect_projection``: children with identified neglect (tiers 1-4, 12 months) projected 1, 2 and 3 years
ahead per authority and for the partnership (issue 20): one row per quarter end, area, ``age_band`` (``All ages``
and 0-4, 5-9, 10-15, 16-17) and ``horizon_years`` (0: now).

Method: the current age-specific rates (children in each age band in ``marts.neglect_prevalence`` over the ONS
mid-year population it uses, ``current_mid_year``) times the ONS subnational population projection of the band for
the mid-year ``horizon_years`` after ``current_mid_year`` (source ``population_projections``: the latest base year
supplied; persons, else males + females; the partnership: its authorities present in the quarter), summed over the
bands. The 95 % interval includes the uncertainty of the current rates only (each band's count as Poisson;
Byar/exact for a band, Dobson's method for the sum over bands: :func:`models.intervals.weighted_count_interval`);
the population projection is treated as fixed, and the rates as constant: a change in practice or thresholds
moves the real figure more than the interval says. Children whose age is not known (``children_age_not_known``)
have no band and are left out of the projection. Without a projection file (or without the year in it) the rows
say ``not available`` with NULL figures.
"""
from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd

from models.intervals import count_interval, weighted_count_interval

from .evidence import SQL_DIR, ensure_presence_table, register_periods, replace_period_frame

PER = 10_000
AGE_BANDS = ("0-4", "5-9", "10-15", "16-17")
ALL_AGES = "All ages"
HORIZONS = (0, 1, 2, 3)
PROJECTION_COLUMNS = """
    period_end DATE NOT NULL, la_code VARCHAR NOT NULL, la_name VARCHAR, measure VARCHAR NOT NULL,
    tier_set VARCHAR NOT NULL, age_band VARCHAR NOT NULL, horizon_years INTEGER NOT NULL, projection_year INTEGER,
    current_children BIGINT, current_population BIGINT, current_mid_year INTEGER, rate_per_10k DOUBLE,
    projected_population DOUBLE, snpp_base_year INTEGER, projected_children DOUBLE, ci95_lower DOUBLE,
    ci95_upper DOUBLE, children_age_not_known BIGINT, availability VARCHAR NOT NULL, availability_note VARCHAR,
    method VARCHAR"""
PROJECTION_ORDER = [c.split()[0] for c in PROJECTION_COLUMNS.replace("\n", " ").split(",")]
METHOD = ("current age-specific rates (tiers 1-4, 12 months) x ONS subnational population projection; 95 % "
          "interval from the rates' Poisson uncertainty (Dobson's method over age bands), projection treated as fixed")


def _exists(conn, schema: str, table: str) -> bool:
    return bool(conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND "
                             "table_name = ?", [schema, table]).fetchall()[0][0])


def projected_population(conn) -> pd.DataFrame:
    """The latest-based ONS projection per DfE LA number (and the partnership, by quarter: see
    :func:`neglect_projection`), age band and year: la_code, age_band, year, population, base_year."""
    columns = ["la_code", "age_band", "year", "population", "base_year"]
    if not _exists(conn, "raw", "population_projections"):
        return pd.DataFrame(columns=columns)
    frame = conn.sql("""
        WITH latest AS (SELECT max(base_year) AS base_year FROM raw.population_projections),
        rows AS (
            SELECT c.la_code, p.sex, CAST(p.age AS INTEGER) AS age, CAST(p.year AS INTEGER) AS year,
                   CAST(p.population AS DECIMAL(18, 4)) AS population, CAST(p.base_year AS INTEGER) AS base_year
            FROM raw.population_projections p JOIN latest USING (base_year)
            JOIN raw.la_codes c ON c.lad_code = p.area_code
        ),
        persons AS (  -- the persons rows where given, else males + females
            SELECT la_code, age, year, base_year, sum(population) FILTER (WHERE sex = 'P') AS p,
                   sum(population) FILTER (WHERE sex IN ('M', 'F')) AS mf, count(DISTINCT sex) FILTER (WHERE sex IN ('M', 'F')) AS sexes
            FROM rows GROUP BY ALL
        )
        -- sums of exact decimals: a sum of doubles over DuckDB's threads can differ in its last digit run to run
        SELECT la_code, age_band(age) AS age_band, year,
               CAST(sum(coalesce(p, CASE WHEN sexes = 2 THEN mf END)) AS DOUBLE) AS population,
               base_year
        FROM persons GROUP BY ALL""").df()
    return frame[columns]


def _rates(conn) -> pd.DataFrame:
    return conn.sql("""
        SELECT period_end, la_code, la_name, breakdown, breakdown_value AS age_band, children, population,
               population_mid_year, availability
        FROM marts.neglect_prevalence
        WHERE measure = '12_month' AND tier_set = '1-4' AND period_end IN (SELECT period_end FROM periods)
          AND (breakdown = 'all' OR breakdown = 'age_band')""").df()


def neglect_projection(conn: duckdb.DuckDBPyConnection, period_ends: list[date]) -> pd.DataFrame:
    """The rows of ``marts.neglect_projection`` for ``period_ends`` (see the module docstring)."""
    register_periods(conn, period_ends)
    ensure_presence_table(conn)
    conn.execute((SQL_DIR / "macros.sql").read_text(encoding="utf-8"))  # age_band(), as every mart uses it
    rates = _rates(conn)
    snpp = projected_population(conn)
    presence = conn.sql("SELECT period_end, la_code, present FROM marts.authority_presence "
                        "WHERE period_end IN (SELECT period_end FROM periods)").df()
    absent = {(pd.Timestamp(p), la) for p, la, here in presence.itertuples(index=False) if not here}
    lookup = {(la, band, int(y)): float(v) for la, band, y, v in
              zip(snpp["la_code"], snpp["age_band"], snpp["year"], snpp["population"]) if pd.notna(v)}
    base_year = int(snpp["base_year"].iloc[0]) if len(snpp) else None
    rows = []
    for (period_end, la_code), group in rates.groupby(["period_end", "la_code"], sort=True):
        whole = group[group["breakdown"] == "all"].iloc[0]
        bands = group[group["breakdown"] == "age_band"].set_index("age_band")
        usable = whole["availability"] not in ("not available", "not supplied") and pd.notna(whole["children"])
        mid = int(whole["population_mid_year"]) if pd.notna(whole["population_mid_year"]) else None
        counts = {b: (int(bands.loc[b, "children"]) if b in bands.index and pd.notna(bands.loc[b, "children"]) else None)
                  for b in AGE_BANDS}
        pops = {b: (float(bands.loc[b, "population"]) if b in bands.index and pd.notna(bands.loc[b, "population"])
                    else None) for b in AGE_BANDS}
        not_known = bands.loc["Not known", "children"] if "Not known" in bands.index else 0
        members = [la for la in sorted(set(snpp["la_code"])) if la != "partnership"] if la_code == "partnership" else [la_code]
        if la_code == "partnership":
            members = [la for la in members if (pd.Timestamp(period_end), la) not in absent]
        for horizon in HORIZONS:
            year = mid + horizon if mid is not None else None
            future = {}
            for b in AGE_BANDS:
                values = [lookup.get((la, b, year)) for la in members] if year is not None else [None]
                future[b] = sum(values) if values and all(v is not None for v in values) else None
            for band in (ALL_AGES, *AGE_BANDS):
                chosen = AGE_BANDS if band == ALL_AGES else (band,)
                have_rates = usable and all(counts[b] is not None and pops[b] for b in chosen)
                current = sum(counts[b] for b in chosen) if have_rates else None
                population = sum(pops[b] for b in chosen) if have_rates else None
                row = {"period_end": period_end, "la_code": la_code, "la_name": whole["la_name"], "measure": "12_month",
                       "tier_set": "1-4", "age_band": band, "horizon_years": horizon, "projection_year": year,
                       "current_children": current, "current_population": population, "current_mid_year": mid,
                       "rate_per_10k": current / population * PER if have_rates and population else np.nan,
                       "children_age_not_known": int(not_known) if band == ALL_AGES and pd.notna(not_known) else None,
                       "snpp_base_year": None, "method": METHOD}
                if not have_rates:
                    rows.append(row | _unavailable("identified neglect could not be counted for this quarter "
                                                   f"({whole['availability']})"))
                    continue
                if horizon == 0:
                    lower, upper, _ = count_interval(current)
                    rows.append(row | {"projected_population": population, "projected_children": float(current),
                                       "ci95_lower": lower, "ci95_upper": upper, "availability": "available",
                                       "availability_note": f"now: mid-{mid} population, the current count"})
                    continue
                if base_year is None:
                    rows.append(row | _unavailable("no ONS subnational population projections in "
                                                   "reference/population_projections/"))
                    continue
                if any(future[b] is None for b in chosen):
                    rows.append(row | _unavailable(f"the {base_year}-based projections have no mid-{year} figures "
                                                   "for this area") | {"snpp_base_year": base_year})
                    continue
                weights = [future[b] / pops[b] for b in chosen]
                total, lower, upper = weighted_count_interval([counts[b] for b in chosen], weights)
                rows.append(row | {"projected_population": sum(future[b] for b in chosen), "snpp_base_year": base_year,
                                   "projected_children": total, "ci95_lower": lower, "ci95_upper": upper,
                                   "availability": "available",
                                   "availability_note": f"mid-{year}, {base_year}-based ONS projection"})
    frame = pd.DataFrame(rows, columns=PROJECTION_ORDER)
    for column in ("current_children", "current_population", "children_age_not_known"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").round().astype("Int64")
    for column in ("projection_year", "current_mid_year", "snpp_base_year"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
    return frame


def _unavailable(note: str) -> dict:
    return {"projected_population": np.nan, "projected_children": np.nan, "ci95_lower": np.nan, "ci95_upper": np.nan,
            "availability": "not available", "availability_note": note}


def build_neglect_projection(conn: duckdb.DuckDBPyConnection, period_ends: list[date]) -> pd.DataFrame:
    """Replace the rows of ``marts.neglect_projection`` for ``period_ends``; returns them."""
    frame = neglect_projection(conn, period_ends)
    replace_period_frame(conn, "marts.neglect_projection", PROJECTION_COLUMNS, frame)
    return frame
