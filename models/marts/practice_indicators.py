"""``marts.practice_indicators``: how the safeguarding system works for children, quarter by quarter.

One row per quarter end (``period_end``), area (``la_code``: the DfE LA number, or ``partnership``)
and indicator. Every indicator is a proportion ``numerator / denominator`` of plans, referrals,
closures, assessments or early-help episodes (units, not children), shown as ``rate_pct`` (a
percentage, 0-100) with Wilson score intervals at 95 % and 99.8 % (``ci95_lower_pct`` ...,
percentages; :func:`models.intervals.wilson_interval`). A zero denominator gives NULL rate and bounds.

Windows. ``q`` is the quarter end; "the 12 months to q" is the days after ``q - 1 year`` up to and
including ``q``. "12 months" / "2 years" before or after a date are calendar months / years (DuckDB
``INTERVAL``): 12 months before 2025-06-01 is 2024-06-01 (365 days), before 2024-06-01 is 2023-06-01
(366 days, across 29 February). Dates are the latest known version of each record (``staging.*``);
a plan with no recorded end is open while it is still in the latest extract, otherwise it is taken
to have ended on the last extract it appeared in (``effective_end``).

Indicators (numerator / denominator, both counts of units):

* ``cp_plans_2_years_plus`` -- child protection plans open at ``q`` (start <= q and effective end
  NULL or >= q) that started on or before ``q - 2 years`` (so a plan exactly 2 years old counts) /
  CP plans open at ``q``.
* ``cp_second_or_subsequent`` -- CP plans starting in the 12 months to ``q`` with at least one
  previous plan, i.e. ``greatest(previous_plans, number of distinct earlier start dates of the same
  child's plans in staging.cp_plans, any authority) > 0`` (``previous_plans`` is the census
  NumberOfPreviousCPP / Annex A "number of previous plans") / CP plans starting in the 12 months to ``q``.
* ``cp_within_2_years_of_previous`` -- CP plans starting in the 12 months to ``q`` that started within
  2 years of the end of an earlier plan of the same child (any authority): an earlier-starting plan
  whose effective end is on or after ``start - 2 years`` (including one still open, or ending after
  the new plan started, as on a transfer between authorities) / CP plans starting in the 12 months to ``q``.
* ``re_referrals_12_months`` -- CIN referrals (episodes, by referral date) in the 12 months to ``q``
  where the same child (any authority) had a previous referral on or after ``referral - 12 months``
  and before the referral date (DfE: a referral within 12 months of a previous referral) /
  CIN referrals in the 12 months to ``q``.
* ``step_up_within_12_months`` -- early-help episodes starting in the 12 months ending ``q - 1 year``
  (each has a full 12-month follow-up by ``q``) followed by a CIN referral of the same child (any
  authority) on or after the early-help start and on or before ``start + 12 months`` / those
  early-help episodes.
* ``step_down_rc9`` -- CIN episodes with a recorded closure date in the 12 months to ``q`` and
  reason RC9 (case closed after assessment, referred to early help) / CIN episodes with a recorded
  closure date in the 12 months to ``q``.
* ``assessments_within_45_working_days`` -- CIN (single) assessments authorised in the 12 months to
  ``q`` whose authorisation came at most 45 working days after the assessment start / assessments
  authorised in the 12 months to ``q``. Working days are Monday-Friday except England and Wales
  bank holidays, counted from the day after the start up to and including the authorisation day
  (authorised the next working day = 1 working day; a Friday start authorised on Monday = 1).
  Assessments authorised before they started are left out of both counts (and counted in ``note``).

Areas. A unit belongs to the authority whose record it is. In the partnership total a unit is
identified by the child's ``person_key`` and its start date (plan start, referral date, assessment
start, early-help start), so the same plan or episode recorded by both authorities counts once;
two different plans of one child still count as two. Look-backs (earlier plans and referrals) and
the step-up follow-up use the child's records in any authority.

Other columns: ``indicator_label`` (plain English), ``definition`` (one sentence), ``data_complete``
(false when the window, or the step-up follow-up, reaches past the latest extract of the source the
indicator needs for that area -- the CIN census for referrals, closures, assessments and step-up,
the CP data (census and quarterly CP lists) for plans, the early-help extracts for the step-up start
window; for the partnership, the earliest of the authorities' latest extracts), ``source_latest_extract``
(that latest extract date of the main source), ``note`` (why a row is incomplete or may be low:
records before the first extract's coverage, assessments left out, zero denominators),
``direction_of_travel`` against the same indicator and area 4 quarters earlier (``q - 1 year``) if
that row is in the table or in this run: ``up`` / ``down`` when the two 95 % intervals do not
overlap, else ``no significant change``; NULL without an earlier row or without a rate on either
side), with ``previous_period_end`` and ``previous_rate_pct``.

Bank holidays: ``models/marts/reference/bank_holidays_england.csv`` (date, name), the England and
Wales list published by GOV.UK (https://www.gov.uk/bank-holidays.json, division
``england-and-wales``) for 2015-2027, names as GOV.UK titles them with "(substitute day)" where
GOV.UK notes one. Extend it when GOV.UK publishes further years; assessments dated outside the
years it covers have only weekends excluded and are counted in ``note``.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from models.intervals import wilson_interval

from .evidence import read_sql, register_periods, registered, replace_period_rows

BANK_HOLIDAYS_FILE = Path(__file__).with_name("reference") / "bank_holidays_england.csv"
TABLE = "marts.practice_indicators"
PRACTICE_COLUMNS = """
    period_end DATE NOT NULL, la_code VARCHAR NOT NULL, indicator VARCHAR NOT NULL, indicator_label VARCHAR,
    definition VARCHAR, availability VARCHAR, numerator BIGINT, denominator BIGINT, rate_pct DOUBLE,
    ci95_lower_pct DOUBLE, ci95_upper_pct DOUBLE, ci998_lower_pct DOUBLE, ci998_upper_pct DOUBLE,
    direction_of_travel VARCHAR, previous_period_end DATE, previous_rate_pct DOUBLE,
    data_complete BOOLEAN NOT NULL, source_latest_extract DATE, note VARCHAR"""

INDICATORS: dict[str, tuple[str, str]] = {
    "cp_plans_2_years_plus": (
        "Child protection plans open for 2 years or more",
        "Child protection plans open at the quarter end that started at least 2 years before it, "
        "as a percentage of all child protection plans open at the quarter end."),
    "cp_second_or_subsequent": (
        "Child protection plans that are a second or subsequent plan",
        "Child protection plans starting in the 12 months to the quarter end where the child had a previous "
        "plan (the recorded number of previous plans, or an earlier plan seen in any authority), as a "
        "percentage of all child protection plans starting in those 12 months."),
    "cp_within_2_years_of_previous": (
        "Child protection plans starting within 2 years of a previous plan ending",
        "Child protection plans starting in the 12 months to the quarter end that started within 2 years of "
        "the end of an earlier plan for the same child (any authority), as a percentage of all child "
        "protection plans starting in those 12 months."),
    "re_referrals_12_months": (
        "Re-referrals to children's social care within 12 months",
        "Referrals to children's social care in the 12 months to the quarter end that came within 12 months "
        "of a previous referral of the same child (any authority), as a percentage of all referrals in "
        "those 12 months."),
    "step_up_within_12_months": (
        "Early help followed by a referral to children's social care within 12 months",
        "Early-help episodes that started in the 12 months ending one year before the quarter end and were "
        "followed by a referral of the same child to children's social care within 12 months of the "
        "early-help start, as a percentage of all early-help episodes starting in those 12 months."),
    "step_down_rc9": (
        "Cases closed after assessment with a step-down to early help",
        "Children in need episodes closed in the 12 months to the quarter end with reason RC9 (closed after "
        "assessment, referred to early help), as a percentage of all children in need episodes closed in "
        "those 12 months."),
    "assessments_within_45_working_days": (
        "Assessments completed within 45 working days",
        "Children's social care assessments authorised in the 12 months to the quarter end that were "
        "authorised within 45 working days of starting (weekdays, not counting bank holidays), as a "
        "percentage of all assessments authorised in those 12 months."),
}


def load_bank_holidays(path: Path = BANK_HOLIDAYS_FILE) -> pd.DataFrame:
    """The bank-holiday list as a frame (``holiday_date`` datetime64, ``name``)."""
    frame = pd.read_csv(path, dtype={"date": str, "name": str}, encoding="utf-8")
    return pd.DataFrame({"holiday_date": pd.to_datetime(frame["date"], format="%Y-%m-%d"), "name": frame["name"]})


def register_bank_holidays(conn: duckdb.DuckDBPyConnection, path: Path = BANK_HOLIDAYS_FILE) -> None:
    """The temporary table ``bank_holidays`` (holiday_date DATE, name VARCHAR) the SQL joins on."""
    with registered(conn, load_bank_holidays(path), "_bank_holidays"):
        conn.execute("CREATE OR REPLACE TEMP TABLE bank_holidays AS "
                     "SELECT CAST(holiday_date AS DATE) AS holiday_date, name FROM _bank_holidays")


def working_days(start, end, holidays=None) -> np.ndarray:
    """Working days after ``start`` up to and including ``end`` (vectorised ``np.busday_count``).

    Monday-Friday, not counting the bank holidays (default: the reference list). ``start`` and
    ``end`` are dates or array-likes of dates; the result is an int array (negative when ``end``
    is before ``start``). The SQL counts the same way; this is for checks and ad-hoc use.
    """
    if holidays is None:
        holidays = load_bank_holidays()["holiday_date"].to_numpy(dtype="datetime64[D]")
    starts = np.asarray(pd.to_datetime(np.atleast_1d(start)).to_numpy(dtype="datetime64[D]"))
    ends = np.asarray(pd.to_datetime(np.atleast_1d(end)).to_numpy(dtype="datetime64[D]"))
    one = np.timedelta64(1, "D")
    return np.busday_count(starts + one, ends + one, holidays=holidays)


def with_proportion_intervals(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``rate_pct`` and the Wilson 95 % / 99.8 % bounds in percent (NaN for a zero denominator)."""
    numerators = frame["numerator"].to_numpy(dtype="float64")
    denominators = frame["denominator"].to_numpy(dtype="float64")
    out = frame.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rate_pct"] = np.where(denominators > 0, 100.0 * numerators / np.where(denominators > 0, denominators, 1),
                                   np.nan)
    for level, label in ((0.95, "ci95"), (0.998, "ci998")):
        lower, upper = wilson_interval(numerators, denominators, confidence=level)
        out[f"{label}_lower_pct"] = 100.0 * np.asarray(lower, dtype="float64")
        out[f"{label}_upper_pct"] = 100.0 * np.asarray(upper, dtype="float64")
    return out


def _table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                        [schema, name]).fetchall()[0][0] > 0


# The sources each indicator needs (every group: one of its sources supplied, or the census carried forward).
INDICATOR_SOURCES: dict[str, tuple[tuple[str, ...], ...]] = {
    "cp_plans_2_years_plus": (("cin_census", "cp_list"),),
    "cp_second_or_subsequent": (("cin_census", "cp_list"),),
    "cp_within_2_years_of_previous": (("cin_census", "cp_list"),),
    "re_referrals_12_months": (("cin_census",),),
    "step_up_within_12_months": (("early_help",), ("cin_census",)),
    "step_down_rc9": (("cin_census",),),
    "assessments_within_45_working_days": (("cin_census",),),
}


def with_availability(conn: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> pd.DataFrame:
    """Mark each row ``available`` or ``not available`` (a needed source not supplied: numerator, denominator
    and rate NULL, never 0) or ``not supplied`` (the authority sent nothing for the quarter), from
    ``marts.source_availability`` and ``marts.authority_presence`` (the partnership: available where every
    present authority has the sources)."""
    if not _table_exists(conn, "marts.source_availability"):
        return rows.assign(availability="available")
    supply = conn.execute("""
        SELECT s.period_end, s.la_code, s.source, s.status IN ('supplied', 'carried forward') AS ok,
               coalesce(p.present, true) AS present
        FROM marts.source_availability s LEFT JOIN marts.authority_presence p USING (period_end, la_code)
        WHERE s.period_end IN (SELECT period_end FROM periods)""").df()
    supplied = {(pd.Timestamp(r.period_end), r.la_code, r.source) for r in supply.itertuples() if r.ok}
    present = {(pd.Timestamp(r.period_end), r.la_code): bool(r.present) for r in supply.itertuples()}

    def status(period_end, la_code, indicator) -> str:
        period_end = pd.Timestamp(period_end)
        areas = [la for (p, la), here in present.items() if p == period_end and here] \
            if la_code == "partnership" else [la_code]
        if la_code != "partnership" and not present.get((period_end, la_code), True):
            return "not supplied"
        ok = all(any((period_end, la, s) in supplied for s in group)
                 for group in INDICATOR_SOURCES.get(indicator, ()) for la in areas)
        return "available" if ok else "not available"

    rows = rows.copy()
    rows["availability"] = [status(p, la, i) for p, la, i in zip(rows["period_end"], rows["la_code"],
                                                                 rows["indicator"])]
    unknown = rows["availability"] != "available"
    for column in ("numerator", "denominator"):
        rows[column] = rows[column].astype("Int64").mask(unknown)
    for column in ("rate_pct", "ci95_lower_pct", "ci95_upper_pct", "ci998_lower_pct", "ci998_upper_pct"):
        rows[column] = rows[column].mask(unknown)
    return rows


def build_practice_indicators(conn: duckdb.DuckDBPyConnection, period_ends: list[date]) -> pd.DataFrame:
    """Replace the rows of ``marts.practice_indicators`` for ``period_ends``; returns those rows.

    Needs the ``staging`` tables (:func:`models.marts.evidence.build_staging`).
    """
    register_periods(conn, period_ends)
    register_bank_holidays(conn)
    conn.execute(read_sql("practice_indicators.sql"))
    counts = conn.execute("SELECT * FROM practice_indicator_counts").df()
    counts["indicator_label"] = counts["indicator"].map(lambda i: INDICATORS[i][0])
    counts["definition"] = counts["indicator"].map(lambda i: INDICATORS[i][1])
    rows = with_availability(conn, with_proportion_intervals(counts))

    # Direction of travel: against the same indicator and area a year (4 quarter ends) earlier, from
    # this run or, for quarters not in this run, from the rows already in the table.
    earlier = ("SELECT period_end, la_code, indicator, rate_pct, ci95_lower_pct, ci95_upper_pct FROM _practice_new")
    if _table_exists(conn, TABLE):
        earlier += (f" UNION ALL SELECT period_end, la_code, indicator, rate_pct, ci95_lower_pct, ci95_upper_pct "
                    f"FROM {TABLE} WHERE period_end NOT IN (SELECT period_end FROM periods)")
    with registered(conn, rows, "_practice_new"):
        conn.execute(f"""
            CREATE OR REPLACE TEMP TABLE practice_indicator_rows AS
            WITH earlier AS ({earlier})
            SELECT n.period_end, n.la_code, n.indicator, n.indicator_label, n.definition, n.availability,
                   n.numerator, n.denominator, n.rate_pct, n.ci95_lower_pct, n.ci95_upper_pct,
                   n.ci998_lower_pct, n.ci998_upper_pct,
                   CASE WHEN e.period_end IS NULL OR n.rate_pct IS NULL OR e.rate_pct IS NULL THEN NULL
                        WHEN n.ci95_lower_pct > e.ci95_upper_pct THEN 'up'
                        WHEN n.ci95_upper_pct < e.ci95_lower_pct THEN 'down'
                        ELSE 'no significant change' END AS direction_of_travel,
                   e.period_end AS previous_period_end, e.rate_pct AS previous_rate_pct,
                   n.data_complete, n.source_latest_extract, n.note, n.sort_order
            FROM _practice_new n
            LEFT JOIN earlier e ON e.la_code = n.la_code AND e.indicator = n.indicator
                               AND e.period_end = CAST(n.period_end - INTERVAL 1 YEAR AS DATE)
        """)
    replace_period_rows(conn, TABLE, PRACTICE_COLUMNS,
                        "SELECT * EXCLUDE (sort_order) FROM practice_indicator_rows "
                        "ORDER BY period_end, la_code = 'partnership', la_code, sort_order")
    return conn.execute("SELECT * EXCLUDE (sort_order) FROM practice_indicator_rows "
                        "ORDER BY period_end, la_code = 'partnership', la_code, sort_order").df()
