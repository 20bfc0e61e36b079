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

import duckdb
import pandas as pd

from ingest.write import registered, replace_period_frame, replace_period_rows  # noqa: F401 (the marts import them from here)

from .definitions import NeglectDefinitions, sql_string

SQL_DIR = Path(__file__).with_name("sql")
MEASURES = ("point", "12_month")
TIER_COLUMNS = """
    period_end DATE NOT NULL, measure VARCHAR NOT NULL, la_code VARCHAR NOT NULL, person_key VARCHAR NOT NULL,
    tier INTEGER, kinds VARCHAR[], age_band VARCHAR, sex VARCHAR, ethnicity_group VARCHAR,
    disability VARCHAR, ward_code VARCHAR, lsoa_code VARCHAR, deprivation_decile INTEGER"""


def ensure_presence_table(conn: duckdb.DuckDBPyConnection) -> None:
    """``marts.authority_presence`` (period_end, la_code, present), empty until availability.sql fills it: the
    tier and prevalence SQL leave out of the partnership an authority that supplied nothing for a quarter, and
    with no row an authority counts as present."""
    conn.execute("CREATE SCHEMA IF NOT EXISTS marts")
    conn.execute("CREATE TABLE IF NOT EXISTS marts.authority_presence "
                 "(period_end DATE NOT NULL, la_code VARCHAR NOT NULL, present BOOLEAN NOT NULL)")


def ensure_denominator_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """``staging.population_lsoa`` and ``staging.ethnic_shares`` (staging.sql builds them from the optional LSOA
    population and Census files), empty when staging.sql has not run: the rates by deprivation decile and ethnicity
    group then have no population (counts only)."""
    conn.execute("CREATE SCHEMA IF NOT EXISTS staging")
    conn.execute("CREATE TABLE IF NOT EXISTS staging.population_lsoa (mid_year INTEGER, la_code VARCHAR, "
                 "lsoa_code VARCHAR, imd_decile INTEGER, sex VARCHAR, age INTEGER, population BIGINT)")
    conn.execute("CREATE TABLE IF NOT EXISTS staging.ethnic_shares (area_code VARCHAR, area_type VARCHAR, "
                 "ethnicity_group VARCHAR, age_basis VARCHAR, share DOUBLE)")


def read_sql(name: str, definitions: NeglectDefinitions | None = None) -> str:
    """The SQL file ``name``, after the statements that (re)create the macros it may call: ``macros.sql`` (age
    band, ethnicity group, effective end) and, given ``definitions``, the definitions' macros (codes,
    thresholds, ``neglect_tier``, ``capture_history``: :meth:`NeglectDefinitions.macros_sql`). The macros are
    stored in the database written, so after a build every file runs on the warehouse as it stands in the
    DuckDB command line; a file that calls a definitions macro is always run with ``definitions``."""
    text = (SQL_DIR / "macros.sql").read_text(encoding="utf-8") + "\n"
    if definitions is not None:
        text += definitions.macros_sql()
    return text + (SQL_DIR / name).read_text(encoding="utf-8")


# The Annex A tables staging.sql reads, with the columns it reads: created empty when a warehouse has never
# had the source's asset run (the ingest creates them otherwise, with every column).
_ANNEX_A_COLUMNS = {
    "annex_a_early_help": "assessment_start_date DATE, assessment_completion_date DATE, presenting_needs VARCHAR, "
                          "gcp2_physical_care BIGINT, gcp2_care_of_safety BIGINT, gcp2_love_and_care BIGINT, "
                          "gcp2_stimulation_and_education BIGINT",
    "annex_a_referrals": "referral_date DATE",
    "annex_a_assessments": "disability VARCHAR, assessment_start_date DATE, assessment_authorisation_date DATE, "
                           "assessment_factors VARCHAR",
    "annex_a_section47": "s47_start_date DATE",
    "annex_a_children_in_need": "disability VARCHAR, cin_start_date DATE, primary_need VARCHAR, "
                                "cin_closure_date DATE, reason_for_closure VARCHAR",
}


# Optional reference tables staging.sql reads (the denominators of the rates by deprivation decile and ethnicity
# group): created empty when a warehouse has never had them, so those breakdowns show counts only.
_OPTIONAL_REFERENCE_COLUMNS = {
    "deprivation": "lsoa_code VARCHAR, lad_code VARCHAR, imd_decile VARCHAR",
    "ons_population_lsoa": "mid_year VARCHAR, lsoa_code VARCHAR, lad_code VARCHAR, sex VARCHAR, age VARCHAR, "
                           "population VARCHAR",
    "census_ethnicity": "area_code VARCHAR, area_type VARCHAR, ethnicity_group VARCHAR, age_basis VARCHAR, "
                        "population VARCHAR",
}


def build_staging(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for table, columns in _OPTIONAL_REFERENCE_COLUMNS.items():
        conn.execute(f"CREATE TABLE IF NOT EXISTS raw.{table} ({columns})")
    for table, columns in _ANNEX_A_COLUMNS.items():
        conn.execute(f"CREATE TABLE IF NOT EXISTS raw.{table} (record_id VARCHAR, la_code VARCHAR, period_end DATE, "
                     f"birth_month DATE, gender VARCHAR, ethnicity VARCHAR, {columns})")
    conn.execute(read_sql("staging.sql"))


def build_evidence(conn: duckdb.DuckDBPyConnection, definitions: NeglectDefinitions,
                   partner_sources: tuple[str, ...] = ()) -> None:
    """``marts.child_neglect_evidence``; ``partner_sources``: the partner-agency sources (``partner_<agency>``,
    their tables ``raw.partner_<agency>``) whose concerns become evidence of kind ``partner:<agency>``."""
    create_partner_concerns(conn, partner_sources)
    conn.execute(read_sql("evidence.sql", definitions))


def create_partner_concerns(conn: duckdb.DuckDBPyConnection, sources: tuple[str, ...]) -> None:
    """The view ``staging.partner_concerns`` evidence.sql reads: every partner agency's concerns (``source``
    ``partner_<agency>``, ``agency``, ``record_id``, ``la_code``, ``concern_date``, ``concern_type``) from the
    tables ``raw.partner_<agency>`` of ``sources``; no rows when the partnership supplied no partner list."""
    conn.execute("CREATE SCHEMA IF NOT EXISTS staging")
    parts = [f"SELECT {sql_string(source)} AS source, {sql_string(source.removeprefix('partner_'))} AS agency, "
             f"record_id, la_code, concern_date, concern_type FROM raw.{source}" for source in sources]
    if not parts:
        parts = ["SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS agency, NULL::VARCHAR AS record_id, "
                 "NULL::VARCHAR AS la_code, NULL::DATE AS concern_date, NULL::VARCHAR AS concern_type WHERE false"]
    conn.execute("CREATE OR REPLACE VIEW staging.partner_concerns AS\n" + "\nUNION ALL\n".join(parts))


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
    with registered(conn, period_windows(period_ends), "_periods"):
        conn.execute("CREATE OR REPLACE TEMP TABLE periods AS "
                     "SELECT CAST(period_end AS DATE) AS period_end, measure, "
                     "CAST(window_start AS DATE) AS window_start FROM _periods")


HISTORY_NEEDED_MONTHS = 12


def first_days_by_source(conn: duckdb.DuckDBPyConnection) -> dict[str, date]:
    """Per source (``quality.load_audit``, files loaded): the first day its earliest extract covers -- a census
    return its collection year's 1 April, a quarterly extract its quarter's first day."""
    if not _exists(conn, "quality", "load_audit"):
        return {}
    rows = conn.execute("""
        SELECT source, min(period_end) - CASE WHEN source = 'cin_census' THEN INTERVAL 1 YEAR ELSE INTERVAL 3 MONTH END
               + INTERVAL 1 DAY
        FROM quality.load_audit WHERE status = 'loaded' AND period_end IS NOT NULL GROUP BY source""").fetchall()
    return {source: (day.date() if hasattr(day, "date") else day) for source, day in rows}


def first_day_by_tier_set(conn: duckdb.DuckDBPyConnection, definitions: NeglectDefinitions) -> dict[str, date]:
    """Per tier set, the first day from which all its tiers have extracts: for each tier, the earliest first day
    of a source feeding one of its evidence kinds (``marts.source_kinds``); for the set, the latest of its tiers'.
    Early help arriving three years after the first census gives tiers 1-4 less history than tier 1."""
    by_source = first_days_by_source(conn)
    if not _exists(conn, "marts", "source_kinds"):  # availability not built: the first day of any source
        return {name: min(by_source.values()) for name in definitions.tier_sets} if by_source else {}
    kinds = conn.execute("SELECT kind, source FROM marts.source_kinds").fetchall()
    by_kind: dict[str, list[date]] = {}
    for kind, source in kinds:
        if source in by_source:
            by_kind.setdefault(kind, []).append(by_source[source])
    by_tier = {}
    for rule in definitions.tiers:
        days = [d for k in (*rule.all_of, *rule.any_of) for d in by_kind.get(k, [])]
        if days:
            by_tier[rule.tier] = min(days)
    out = {}
    for name, members in definitions.tier_sets.items():
        days = [by_tier[t] for t in members if t in by_tier]
        if days:
            out[name] = max(days)
    return out


def _exists(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND "
                             "table_name = ?", [schema, table]).fetchall()[0][0])


def history_columns(frame: pd.DataFrame, first_day: date | dict | None) -> pd.DataFrame:
    """Add ``history_months`` (whole months of extracts before the period's window starts) and
    ``history_complete`` (at least :data:`HISTORY_NEEDED_MONTHS`). With less, evidence that began before the
    first extract is missing and the count is low: on the synthetic partnership, tiers 1-4 at a point were
    94 % of the truth with 12 months of history, 97 % with 18 and 99 % with 24. ``first_day``: one first day
    for every row, or a dict ``{tier_set: first day}`` (:func:`first_day_by_tier_set`) for a frame with a
    ``tier_set`` column (a tier set missing from it has no history: 0 months)."""
    windows = period_windows(sorted(set(pd.to_datetime(frame["period_end"]).dt.date)))
    windows["period_end"] = windows["period_end"].dt.date
    start = frame[["period_end", "measure"]].assign(period_end=pd.to_datetime(frame["period_end"]).dt.date) \
        .merge(windows, on=["period_end", "measure"], how="left")["window_start"]
    if isinstance(first_day, dict):
        first = pd.to_datetime(frame["tier_set"].map(first_day)).reset_index(drop=True)
    else:
        first = pd.Series(pd.Timestamp(first_day) if first_day is not None else pd.NaT, index=start.index)
    months = ((start.dt.year - first.dt.year) * 12 + start.dt.month - first.dt.month).clip(lower=0).fillna(0)
    return frame.assign(history_months=months.to_numpy().astype("int64"),
                        history_complete=(months >= HISTORY_NEEDED_MONTHS).to_numpy())


# Quarters built together by :func:`build_tiers`: each child's evidence and address records are joined to every
# quarter end of a batch at once, so DuckDB's working memory grows with the batch (a 300,000-child partnership's
# 21 quarters in one batch took 2.5 GiB; see :func:`quarter_batches`).
QUARTERS_PER_BATCH = 4


def quarter_batches(period_ends: list[date], size: int = QUARTERS_PER_BATCH) -> list[list[date]]:
    """``period_ends`` in ascending order, cut into batches of at most ``size`` quarters (a mart's rows of one
    quarter never depend on another quarter's, so building batch by batch gives the same rows)."""
    ends = sorted(set(period_ends))
    return [ends[i:i + size] for i in range(0, len(ends), size)]


def run_in_quarter_batches(conn: duckdb.DuckDBPyConnection, sql: str, period_ends: list[date],
                           tables: tuple[str, ...]) -> None:
    """Run ``sql`` (statements making the temporary ``tables`` from the quarter ends in the temporary table
    ``periods``, each table's rows of one quarter independent of the others) once per batch of
    :func:`quarter_batches`: afterwards each of ``tables`` holds every batch's rows, in batch order, and
    ``periods`` all of ``period_ends``. DuckDB's working memory is then a batch's, not all the quarters'."""
    for number, batch in enumerate(quarter_batches(period_ends)):
        register_periods(conn, batch)
        conn.execute(sql)
        for table in tables:
            if number == 0:
                conn.execute(f"CREATE OR REPLACE TEMP TABLE _batched_{table} AS FROM {table}")
            else:
                conn.execute(f"INSERT INTO _batched_{table} FROM {table}")
    for table in tables:
        conn.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS FROM _batched_{table}")
        conn.execute(f"DROP TABLE _batched_{table}")
    register_periods(conn, period_ends)


def build_tiers(conn: duckdb.DuckDBPyConnection, definitions: NeglectDefinitions, period_ends: list[date]) -> int:
    """Replace the rows of ``marts.child_neglect_tier`` for ``period_ends``, :data:`QUARTERS_PER_BATCH` quarters
    at a time, in order (the table's rows stay ordered by quarter); returns the rows written. Leaves the temporary
    table ``periods`` holding all of ``period_ends`` and ``active_evidence``/``tier_rows`` the last batch's."""
    ensure_presence_table(conn)
    register_periods(conn, period_ends)  # every quarter's rows deleted first, then each batch's appended in order
    replace_period_rows(conn, "marts.child_neglect_tier", TIER_COLUMNS, "SELECT * FROM marts.child_neglect_tier WHERE false")
    rows = 0
    for batch in quarter_batches(period_ends):
        register_periods(conn, batch)
        conn.execute(read_sql("active_evidence.sql"))
        conn.execute(read_sql("tiers.sql", definitions))
        conn.execute("INSERT INTO marts.child_neglect_tier BY NAME "
                     "SELECT * FROM tier_rows ORDER BY period_end, measure, la_code, person_key")
        rows += conn.execute("SELECT count(*) FROM tier_rows").fetchall()[0][0]
    register_periods(conn, period_ends)
    return rows
