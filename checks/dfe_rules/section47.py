"""Rules on section 47 enquiries (``cin_section47``, Section47 elements within an episode).

An enquiry starts on ``s47_actual_start_date`` and may lead to an initial child
protection conference on ``date_of_initial_cpc`` (the target date, ``initial_cpc_target``,
may lie after the census year and is not checked).
"""
from __future__ import annotations

from .registry import rule
from .sql import EPISODE_KEY, rows_where, same


@rule(code="NEG-12", name="s47_start_after_census", severity="error", tables=("cin_section47",),
      message="The section 47 enquiry starts after the census reference date.")
def s47_start_after_census(con):
    return rows_where(con, "cin_section47", "t.s47_actual_start_date > params.reference_date")


@rule(code="CIN-8715", name="s47_initial_cpc_outside_census_year", severity="error", tables=("cin_section47",),
      message="The date of the initial child protection conference after the section 47 enquiry is not within "
              "the census year.")
def s47_initial_cpc_outside_census_year(con):
    return rows_where(con, "cin_section47",
                      "t.date_of_initial_cpc > params.reference_date OR t.date_of_initial_cpc < params.census_start")


@rule(code="CIN-2889", name="s47_before_referral", severity="error", tables=("cin_section47", "cin_episode"),
      message="The section 47 enquiry starts before the referral date of its episode.")
def s47_before_referral(con):
    return con.sql(f"""
        SELECT 'cin_section47' AS table_name, s.record_id, s.la_code
        FROM cin_section47 AS s JOIN cin_episode AS e ON {same('s', 'e', EPISODE_KEY)}
        WHERE s.s47_actual_start_date < e.cin_referral_date
    """)


@rule(code="CIN-1104", name="initial_cpc_before_referral", severity="error", tables=("cin_section47", "cin_episode"),
      message="The initial child protection conference after the section 47 enquiry is before the referral date "
              "of its episode.")
def initial_cpc_before_referral(con):
    return con.sql(f"""
        SELECT 'cin_section47' AS table_name, s.record_id, s.la_code
        FROM cin_section47 AS s JOIN cin_episode AS e ON {same('s', 'e', EPISODE_KEY)}
        WHERE s.date_of_initial_cpc < e.cin_referral_date
    """)
