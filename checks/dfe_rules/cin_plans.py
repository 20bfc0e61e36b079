"""Rules on CIN plans (``cin_plan``, CINPlanDates elements within an episode).

A CIN plan runs from ``cin_plan_start_date`` to ``cin_plan_end_date`` (blank while open).
"""
from __future__ import annotations

from .registry import rule
from .sql import CHILD_KEY, rows_where, same


@rule(code="CIN-4010", name="cin_plan_start_missing_or_after_census", severity="error", tables=("cin_plan",),
      message="The CIN plan start date is missing or after the census reference date.")
def cin_plan_start_missing_or_after_census(con):
    return rows_where(con, "cin_plan",
                      "t.cin_plan_start_date IS NULL OR t.cin_plan_start_date > params.reference_date")


@rule(code="CIN-4011", name="cin_plan_ends_before_start", severity="error", tables=("cin_plan",),
      message="The CIN plan end date is before its start date.")
def cin_plan_ends_before_start(con):
    return rows_where(con, "cin_plan", "t.cin_plan_end_date < t.cin_plan_start_date")


@rule(code="CIN-4013", name="cin_plan_end_outside_census_year", severity="error", tables=("cin_plan",),
      message="The CIN plan end date is not within the census year.")
def cin_plan_end_outside_census_year(con):
    return rows_where(con, "cin_plan",
                      "t.cin_plan_end_date > params.reference_date OR t.cin_plan_end_date < params.census_start")


@rule(code="CIN-4016", name="cin_plan_during_cp_plan", severity="error", tables=("cin_plan", "cin_cp_plan"),
      message="A CIN plan starts while a child protection plan of the same child is open (from the CP plan's start "
              "to the day before its end, or to the census reference date when it has no end).")
def cin_plan_during_cp_plan(con):
    return con.sql(f"""
        SELECT 'cin_plan' AS table_name, c.record_id, c.la_code
        FROM cin_plan AS c JOIN cin_cp_plan AS p ON {same('c', 'p', CHILD_KEY)}, params
        WHERE c.cin_plan_start_date >= p.cpp_start_date
          AND (c.cin_plan_start_date < p.cpp_end_date
               OR (p.cpp_end_date IS NULL AND c.cin_plan_start_date <= params.reference_date))
    """)
