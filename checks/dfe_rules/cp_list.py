"""Rules on the child protection list (``cp_list``, Ofsted Annex A list 7: one row per child on a plan).

Columns as ``sources.cp_list.read_cp_list`` returns them (categories already mapped to
NEG/PHY/SAB/EMO/MUL, unknown ones left null), plus ``record_id`` and ``la_code``. The
reader rejects rows with a start after the end or a negative number of previous plans,
so on loaded lists NEG-30 and NEG-33 find what a different reader or a hand edit let in.

NEG-34 asks whether the child was 18 or over on a day the plan was open. The list holds
plans that ended during the period as well as open ones, so a child who turned 18 after
the plan ended is fine. The last day open is the day before ``cp_plan_end_date`` when the
plan ended on or before the row's ``extract_date``, otherwise the extract date (the
runner's reference date when a row has none). Age comes from ``date_of_birth``; where it is
missing, the list's own ``age_years`` (age at the extract date) is used for open plans.
"""
from __future__ import annotations

from .registry import rule
from .cp_plans import overlapping
from .sql import CATEGORY_LIST, CP_LIST_CHILD, rows_where


@rule(code="NEG-30", name="cp_list_plan_ends_before_start", severity="error", tables=("cp_list",),
      message="The child protection plan end date on the CP list is before its start date.")
def cp_list_plan_ends_before_start(con):
    return rows_where(con, "cp_list", "t.cp_plan_end_date < t.cp_plan_start_date")


@rule(code="NEG-31", name="cp_list_initial_category_missing_or_invalid", severity="error", tables=("cp_list",),
      message="The initial category of abuse on the CP list is missing or not a valid code "
              "(NEG, PHY, SAB, EMO, MUL).")
def cp_list_initial_category_missing_or_invalid(con):
    return rows_where(con, "cp_list", f"t.initial_category IS NULL OR t.initial_category NOT IN ({CATEGORY_LIST})")


@rule(code="NEG-32", name="cp_list_latest_category_missing_or_invalid", severity="error", tables=("cp_list",),
      message="The latest category of abuse on the CP list is missing or not a valid code "
              "(NEG, PHY, SAB, EMO, MUL).")
def cp_list_latest_category_missing_or_invalid(con):
    return rows_where(con, "cp_list", f"t.latest_category IS NULL OR t.latest_category NOT IN ({CATEGORY_LIST})")


@rule(code="NEG-33", name="cp_list_previous_plans_negative", severity="error", tables=("cp_list",),
      message="The number of previous child protection plans on the CP list is negative.")
def cp_list_previous_plans_negative(con):
    return rows_where(con, "cp_list", "t.previous_cp_plans < 0")


@rule(code="NEG-34", name="cp_list_aged_18_or_over_on_plan", severity="error", tables=("cp_list",),
      message="The child on the CP list was 18 or over while the plan was open.")
def cp_list_aged_18_or_over_on_plan(con):
    return con.sql("""
        WITH dated AS (
            SELECT t.*, coalesce(t.extract_date, params.reference_date) AS on_list_date
            FROM cp_list AS t, params
        ), last_open AS (
            SELECT *,
                   t.cp_plan_end_date IS NOT NULL AND t.cp_plan_end_date <= t.on_list_date AS ended,
                   CASE WHEN ended THEN t.cp_plan_end_date - INTERVAL 1 DAY ELSE t.on_list_date END AS last_open_day
            FROM dated AS t
        )
        SELECT 'cp_list' AS table_name, record_id, la_code
        FROM last_open
        WHERE age_in_years(date_of_birth, last_open_day) >= 18
           OR (date_of_birth IS NULL AND NOT ended AND age_years >= 18)
    """)


@rule(code="NEG-35", name="cp_list_plans_overlap", severity="error", tables=("cp_list",),
      message="The CP list has overlapping or duplicated plans for one child (DfE rule 8940 on the list): a plan "
              "starts on or after another's start and before its end (or it has no end). Every row of the overlap "
              "is listed; the marts count them as one plan.")
def cp_list_plans_overlap(con):
    return overlapping(con, "cp_list", CP_LIST_CHILD, "cp_plan_start_date", "cp_plan_end_date", "DATE '9999-12-31'",
                       end_inclusive=False)
