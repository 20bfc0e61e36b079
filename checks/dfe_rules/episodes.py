"""Rules on the CIN episode (``cin_episode``, one CINdetails element): referral and closure.

An episode runs from ``cin_referral_date`` to ``cin_closure_date`` (blank while open);
a closed episode carries a ``reason_for_closure`` (RC1-RC9). The census year runs from
``params.census_start`` (1 April) to ``params.reference_date`` (31 March).

The reader rejects episodes whose referral or closure date cannot be read, and nulls
an unknown reason code, so on loaded data CIN-8805 also lists closures whose reason
code was not a valid one.
"""
from __future__ import annotations

from .registry import rule
from .sql import rows_where


@rule(code="CIN-8600", name="referral_missing_or_after_census", severity="error", tables=("cin_episode",),
      message="The referral date is missing or after the census reference date.")
def referral_missing_or_after_census(con):
    return rows_where(con, "cin_episode",
                      "t.cin_referral_date IS NULL OR t.cin_referral_date > params.reference_date")


@rule(code="CIN-8620", name="closure_outside_census_year", severity="error", tables=("cin_episode",),
      message="The episode's closure date is not within the census year.")
def closure_outside_census_year(con):
    return rows_where(con, "cin_episode",
                      "t.cin_closure_date > params.reference_date OR t.cin_closure_date < params.census_start")


@rule(code="CIN-8630", name="closure_before_referral", severity="error", tables=("cin_episode",),
      message="The episode's closure date is before its referral date.")
def closure_before_referral(con):
    return rows_where(con, "cin_episode", "t.cin_closure_date < t.cin_referral_date")


@rule(code="CIN-8805", name="closure_without_reason", severity="error", tables=("cin_episode",),
      message="The episode has a closure date but no valid reason for closure.")
def closure_without_reason(con):
    return rows_where(con, "cin_episode", "t.cin_closure_date IS NOT NULL AND t.reason_for_closure IS NULL")


@rule(code="CIN-8810", name="reason_without_closure", severity="error", tables=("cin_episode",),
      message="The episode has a reason for closure but no closure date.")
def reason_without_closure(con):
    return rows_where(con, "cin_episode", "t.reason_for_closure IS NOT NULL AND t.cin_closure_date IS NULL")


@rule(code="NEG-11", name="episode_initial_cpc_after_census", severity="error", tables=("cin_episode",),
      message="The episode's initial child protection conference date is after the census reference date.")
def episode_initial_cpc_after_census(con):
    return rows_where(con, "cin_episode", "t.date_of_initial_cpc > params.reference_date")
