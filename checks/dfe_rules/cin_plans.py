"""Rules on CIN plans (``cin_plan``, CINPlanDates elements within an episode).

A CIN plan runs from ``cin_plan_start_date`` to ``cin_plan_end_date`` (blank while open).
"""
from __future__ import annotations

from .registry import rule
from .sql import rows_where


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
