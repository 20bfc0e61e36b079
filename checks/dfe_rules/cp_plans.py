"""Rules on child protection plans (``cin_cp_plan``) and their reviews (``cin_cp_review``).

A plan runs from ``cpp_start_date`` to ``cpp_end_date`` (blank while open) within one
episode; it records an initial and a latest category of abuse (NEG neglect, PHY physical,
SAB sexual, EMO emotional, MUL multiple) and ``number_of_previous_cpp``. Reviews
(``cpp_review_date``) fall after the plan starts and no later than it ends.

The reader nulls an unknown category code or a negative number of previous plans, so
CIN-8905/8910 and NEG-20 list those as missing.
"""
from __future__ import annotations

from .registry import rule
from .sql import CATEGORY_LIST, CHILD_KEY, CP_PLAN_KEY, EPISODE_KEY, rows_where, same


@rule(code="CIN-8925", name="cp_plan_ends_before_start", severity="error", tables=("cin_cp_plan",),
      message="The child protection plan end date is before its start date.")
def cp_plan_ends_before_start(con):
    return rows_where(con, "cin_cp_plan", "t.cpp_end_date < t.cpp_start_date")


@rule(code="CIN-1105", name="cp_plan_starts_before_referral", severity="error",
      tables=("cin_cp_plan", "cin_episode"),
      message="The child protection plan starts before the referral date of its episode.")
def cp_plan_starts_before_referral(con):
    return con.sql(f"""
        SELECT 'cin_cp_plan' AS table_name, p.record_id, p.la_code
        FROM cin_cp_plan AS p JOIN cin_episode AS e ON {same('p', 'e', EPISODE_KEY)}
        WHERE p.cpp_start_date < e.cin_referral_date
    """)


@rule(code="CIN-8905", name="initial_category_missing_or_invalid", severity="error", tables=("cin_cp_plan",),
      message="The child protection plan's initial category of abuse is missing or not a valid code "
              "(NEG, PHY, SAB, EMO, MUL).")
def initial_category_missing_or_invalid(con):
    return rows_where(con, "cin_cp_plan",
                      f"t.initial_category_of_abuse IS NULL OR t.initial_category_of_abuse NOT IN ({CATEGORY_LIST})")


@rule(code="CIN-8910", name="latest_category_missing_or_invalid", severity="error", tables=("cin_cp_plan",),
      message="The child protection plan's latest category of abuse is missing or not a valid code "
              "(NEG, PHY, SAB, EMO, MUL).")
def latest_category_missing_or_invalid(con):
    return rows_where(con, "cin_cp_plan",
                      f"t.latest_category_of_abuse IS NULL OR t.latest_category_of_abuse NOT IN ({CATEGORY_LIST})")


@rule(code="CIN-8720", name="cp_plan_start_missing_or_after_census", severity="error", tables=("cin_cp_plan",),
      message="The child protection plan start date is missing or after the census reference date.")
def cp_plan_start_missing_or_after_census(con):
    return rows_where(con, "cin_cp_plan", "t.cpp_start_date IS NULL OR t.cpp_start_date > params.reference_date")


@rule(code="CIN-8930", name="cp_plan_end_outside_census_year", severity="error", tables=("cin_cp_plan",),
      message="The child protection plan end date is not within the census year.")
def cp_plan_end_outside_census_year(con):
    return rows_where(con, "cin_cp_plan",
                      "t.cpp_end_date > params.reference_date OR t.cpp_end_date < params.census_start")


@rule(code="CIN-8935", name="more_than_one_open_cp_plan", severity="error", tables=("cin_cp_plan",),
      message="The child has more than one open child protection plan (no end date); every open plan is listed.")
def more_than_one_open_cp_plan(con):
    keys = ", ".join(CHILD_KEY)
    return con.sql(f"""
        SELECT 'cin_cp_plan' AS table_name, record_id, la_code
        FROM cin_cp_plan
        WHERE cpp_end_date IS NULL
        QUALIFY count(*) OVER (PARTITION BY {keys}) > 1
    """)


@rule(code="NEG-20", name="previous_cp_plans_missing_or_negative", severity="error", tables=("cin_cp_plan",),
      message="The number of previous child protection plans is missing or negative.")
def previous_cp_plans_missing_or_negative(con):
    return rows_where(con, "cin_cp_plan", "t.number_of_previous_cpp IS NULL OR t.number_of_previous_cpp < 0")


@rule(code="NEG-21", name="open_cp_plan_on_closed_episode", severity="error", tables=("cin_cp_plan", "cin_episode"),
      message="The child protection plan has no end date but its episode is closed.")
def open_cp_plan_on_closed_episode(con):
    return con.sql(f"""
        SELECT 'cin_cp_plan' AS table_name, p.record_id, p.la_code
        FROM cin_cp_plan AS p JOIN cin_episode AS e ON {same('p', 'e', EPISODE_KEY)}
        WHERE p.cpp_end_date IS NULL AND e.cin_closure_date IS NOT NULL
    """)


@rule(code="CIN-8841", name="review_not_after_cp_plan_start", severity="error", tables=("cin_cp_review", "cin_cp_plan"),
      message="The child protection review date is on or before the day the plan started.")
def review_not_after_cp_plan_start(con):
    return con.sql(f"""
        SELECT 'cin_cp_review' AS table_name, r.record_id, r.la_code
        FROM cin_cp_review AS r JOIN cin_cp_plan AS p ON {same('r', 'p', CP_PLAN_KEY)}
        WHERE r.cpp_review_date <= p.cpp_start_date
    """)


@rule(code="NEG-22", name="review_after_cp_plan_end", severity="error", tables=("cin_cp_review", "cin_cp_plan"),
      message="The child protection review date is after the plan ended.")
def review_after_cp_plan_end(con):
    return con.sql(f"""
        SELECT 'cin_cp_review' AS table_name, r.record_id, r.la_code
        FROM cin_cp_review AS r JOIN cin_cp_plan AS p ON {same('r', 'p', CP_PLAN_KEY)}
        WHERE r.cpp_review_date > p.cpp_end_date
    """)


@rule(code="NEG-23", name="review_after_census", severity="error", tables=("cin_cp_review",),
      message="The child protection review date is after the census reference date.")
def review_after_census(con):
    return rows_where(con, "cin_cp_review", "t.cpp_review_date > params.reference_date")


@rule(code="CIN-8940", name="cp_plans_overlap", severity="error", tables=("cin_cp_plan",),
      message="Child protection plans of the same child overlap: a plan starts on or after another's start and on or "
              "before its end (or the census reference date when it has no end). Every plan of the overlap is "
              "listed; the marts count them as one plan.")
def cp_plans_overlap(con):
    return overlapping(con, "cin_cp_plan", CHILD_KEY, "cpp_start_date", "cpp_end_date", "params.reference_date",
                       end_inclusive=True)


def overlapping(con, table: str, child: tuple[str, ...], start: str, end: str, open_end: str, end_inclusive: bool):
    """Rows of ``table`` in a run of overlapping intervals of one child (``child`` key columns), found with
    window functions in one sort (no self-join). An interval without an end runs to ``open_end``; a start
    on another's end day overlaps it when ``end_inclusive`` (DfE 8940), not otherwise."""
    keys = ", ".join(child)
    overlaps = "s <= prev_end" if end_inclusive else "s < prev_end"
    return con.sql(f"""
        WITH spans AS (
            SELECT t.record_id, t.la_code, {", ".join(f"t.{k}" for k in child)}, CAST(t.{start} AS DATE) AS s,
                   coalesce(CAST(t.{end} AS DATE), CAST({open_end} AS DATE)) AS e
            FROM {table} AS t, params WHERE t.{start} IS NOT NULL
        ),
        marked AS (
            SELECT *, max(e) OVER (PARTITION BY {keys} ORDER BY s, record_id
                                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
            FROM spans
        ),
        runs AS (
            SELECT *, sum(CASE WHEN {overlaps} THEN 0 ELSE 1 END) OVER (PARTITION BY {keys} ORDER BY s, record_id)
                      AS run
            FROM marked
        )
        SELECT '{table}' AS table_name, record_id, la_code FROM runs
        QUALIFY count(*) OVER (PARTITION BY {keys}, run) > 1
    """)
