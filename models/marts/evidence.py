"""Staging, neglect evidence and tiers: the SQL in ``models/marts/sql/`` run against the warehouse.

* :func:`build_staging` runs ``staging.sql``: each plan, episode and assessment once, keyed by person.
* :func:`build_evidence` runs ``evidence.sql``: ``marts.child_neglect_evidence``, one row per child,
  authority, source, evidence kind and window (the definitions fill in codes and thresholds).
* :func:`build_tiers` runs ``active_evidence.sql`` and ``tiers.sql`` for some quarter ends and
  replaces those quarters' rows of ``marts.child_neglect_tier``: each child with evidence current in
  the period, per measure and area, with their strongest tier (NULL when the evidence meets no tier
  rule, e.g. a CP plan under physical abuse alone).

"A child with neglect evidence" in a period is a child (0-17) with at least one evidence row whose
window overlaps the period; their tier is the first tier of ``tier_definitions.yaml`` whose rule
the kinds of that evidence meet. Periods: the quarter end (``point``) and the 12 months to the
quarter end (``12_month``).
"""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from string import Template

import duckdb
import pandas as pd

from .definitions import NeglectDefinitions, sql_list, sql_string

SQL_DIR = Path(__file__).with_name("sql")
MEASURES = ("point", "12_month")
TIER_COLUMNS = """
    period_end DATE NOT NULL, measure VARCHAR NOT NULL, la_code VARCHAR NOT NULL, person_key VARCHAR NOT NULL,
    tier INTEGER, kinds VARCHAR[], age_band VARCHAR, sex VARCHAR, ethnicity_group VARCHAR,
    disability VARCHAR, ward_code VARCHAR, lsoa_code VARCHAR, deprivation_decile INTEGER"""


def read_sql(name: str, **values) -> str:
    """The SQL file ``name`` with its ``$placeholders`` filled (every one must be given)."""
    return Template((SQL_DIR / name).read_text(encoding="utf-8")).substitute(values)


def build_staging(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(read_sql("staging.sql"))


def build_evidence(conn: duckdb.DuckDBPyConnection, definitions: NeglectDefinitions) -> None:
    conn.execute(read_sql(
        "evidence.sql",
        neglect_factor_codes=sql_list(definitions.neglect_factor_codes),
        other_abuse_factor_codes=sql_list(definitions.other_abuse_factor_codes),
        need_code=sql_string(definitions.abuse_or_neglect_need_code),
        gcp2_threshold=int(definitions.gcp2_concern_threshold),
        family_link_methods=sql_list(definitions.family_link_methods)))


def period_windows(period_ends: list[date]) -> pd.DataFrame:
    """One row per quarter end and measure: ``period_end``, ``measure``, ``window_start`` (first day counted)."""
    rows = []
    for end in period_ends:
        rows.append((end, "point", end))
        # the same day a year earlier exists for every quarter end (never 29 February)
        rows.append((end, "12_month", date(end.year - 1, end.month, end.day) + timedelta(days=1)))
    frame = pd.DataFrame(rows, columns=["period_end", "measure", "window_start"])
    return frame.astype({"period_end": "datetime64[s]", "window_start": "datetime64[s]"})


def register_periods(conn: duckdb.DuckDBPyConnection, period_ends: list[date]) -> None:
    """The temporary table ``periods`` (see :func:`period_windows`) the period SQL joins on."""
    conn.register("_periods", period_windows(period_ends))
    try:
        conn.execute("CREATE OR REPLACE TEMP TABLE periods AS "
                     "SELECT CAST(period_end AS DATE) AS period_end, measure, "
                     "CAST(window_start AS DATE) AS window_start FROM _periods")
    finally:
        conn.unregister("_periods")


def replace_period_rows(conn: duckdb.DuckDBPyConnection, table: str, columns: str, select_sql: str) -> None:
    """Create ``table`` (schema-qualified) if needed, delete the rows of the periods in ``periods``,
    insert the rows of ``select_sql``: re-running a quarter replaces its rows, never duplicates them."""
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
    conn.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
    conn.execute(f"DELETE FROM {table} WHERE period_end IN (SELECT period_end FROM periods)")
    conn.execute(f"INSERT INTO {table} BY NAME {select_sql}")


HISTORY_NEEDED_MONTHS = 12


def first_extract_day(conn: duckdb.DuckDBPyConnection) -> date | None:
    """The first day any loaded extract covers: the first CIN census year's 1 April, or the first day of
    the first quarter of a quarterly extract. Evidence that began before it is partly invisible (e.g. a
    census reports an assessment only in the year it was authorised)."""
    starts = conn.execute("""
        SELECT min(s) FROM (
            SELECT min(period_end) - INTERVAL 1 YEAR + INTERVAL 1 DAY AS s FROM raw.cin_child
            UNION ALL SELECT min(period_end) - INTERVAL 3 MONTH + INTERVAL 1 DAY FROM raw.cp_list
            UNION ALL SELECT min(period_end) - INTERVAL 3 MONTH + INTERVAL 1 DAY FROM raw.early_help)""").fetchall()
    value = starts[0][0]
    return value.date() if hasattr(value, "date") else value


def history_columns(frame: pd.DataFrame, first_day: date | None) -> pd.DataFrame:
    """Add ``history_months`` (whole months of extracts before the period's window starts) and
    ``history_complete`` (at least :data:`HISTORY_NEEDED_MONTHS`). With less history, evidence that began
    before the first extract is missing and the count is low: on the synthetic partnership, tiers 1-4 at a
    point were 94 % of the truth with 12 months of history, 97 % with 18 and 99 % with 24."""
    windows = period_windows(sorted(set(pd.to_datetime(frame["period_end"]).dt.date)))
    windows["period_end"] = windows["period_end"].dt.date
    start = frame[["period_end", "measure"]].assign(period_end=pd.to_datetime(frame["period_end"]).dt.date) \
        .merge(windows, on=["period_end", "measure"], how="left")["window_start"]
    if first_day is None:
        months = pd.Series(0, index=frame.index)
    else:
        first = pd.Timestamp(first_day)
        months = ((start.dt.year - first.year) * 12 + start.dt.month - first.month).clip(lower=0)
    return frame.assign(history_months=months.to_numpy().astype("int64"),
                        history_complete=(months >= HISTORY_NEEDED_MONTHS).to_numpy())


def replace_period_frame(conn: duckdb.DuckDBPyConnection, table: str, columns: str, frame: pd.DataFrame) -> None:
    """:func:`replace_period_rows` with the rows of a DataFrame."""
    conn.register("_period_rows", frame)
    try:
        replace_period_rows(conn, table, columns, "SELECT * FROM _period_rows")
    finally:
        conn.unregister("_period_rows")


def build_tiers(conn: duckdb.DuckDBPyConnection, definitions: NeglectDefinitions, period_ends: list[date]) -> int:
    """Replace the rows of ``marts.child_neglect_tier`` for ``period_ends``; returns the rows written."""
    register_periods(conn, period_ends)
    conn.execute(read_sql("active_evidence.sql"))
    conn.execute(read_sql("tiers.sql", tier_case=definitions.tier_case_sql("b.kinds")))
    replace_period_rows(conn, "marts.child_neglect_tier", TIER_COLUMNS,
                        "SELECT * FROM tier_rows ORDER BY period_end, measure, la_code, person_key")
    return conn.execute("SELECT count(*) FROM tier_rows").fetchall()[0][0]
