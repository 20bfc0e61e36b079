"""Activity the episode says cannot have happened: after its closure, or on a referral closed with no further
action (``cin_episode`` with the modules inside it).

These are the rules that remove neglect evidence in the marts without saying so: an assessment
authorised after its episode closed gets a window that ends before it starts (dropped), and activity on
an NFA referral is evidence the referral says did not exist. Each lists the episode and every record of
activity that breaks it.
"""
from __future__ import annotations

from .registry import rule
from .sql import EPISODE_KEY, same


def _episode_and_activity(con, episode_condition: str, activity: dict[str, str]):
    """The episodes meeting ``episode_condition`` (alias e) that have activity, and the activity records.

    ``activity``: {table: condition on its row (alias a) and its episode (alias e)}; the table
    ``cin_episode`` itself stands for the episode's own dates (a is then the episode)."""
    rows = " UNION ALL ".join(f"""
        SELECT '{table}' AS table_name, a.record_id, a.la_code
        FROM {table} AS a JOIN cin_episode AS e ON {same('a', 'e', EPISODE_KEY)}
        WHERE ({episode_condition}) AND ({condition})""" for table, condition in activity.items())
    has_activity = " OR ".join(f"EXISTS (SELECT 1 FROM {table} AS a WHERE {same('a', 'e', EPISODE_KEY)} "
                               f"AND ({condition}))" for table, condition in activity.items())
    return con.sql(f"""
        {rows}
        UNION ALL
        SELECT 'cin_episode' AS table_name, e.record_id, e.la_code FROM cin_episode AS e
        WHERE ({episode_condition}) AND ({has_activity})
    """)


@rule(code="CIN-8565", name="activity_after_closure", severity="error",
      tables=("cin_episode", "cin_assessment", "cin_section47", "cin_cp_plan", "cin_plan"),
      message="Activity is shown after the case was closed: an assessment, section 47 enquiry, initial conference, "
              "CP plan end or CIN plan date after the episode's closure date.")
def activity_after_closure(con):
    closed = "e.cin_closure_date IS NOT NULL"
    return _episode_and_activity(con, closed, {
        "cin_assessment": "a.assessment_actual_start_date > e.cin_closure_date "
                          "OR a.assessment_authorisation_date > e.cin_closure_date",
        "cin_section47": "a.s47_actual_start_date > e.cin_closure_date OR a.date_of_initial_cpc > e.cin_closure_date",
        "cin_cp_plan": "a.cpp_end_date > e.cin_closure_date",
        "cin_plan": "a.cin_plan_start_date > e.cin_closure_date OR a.cin_plan_end_date > e.cin_closure_date",
        "cin_episode": "a.date_of_initial_cpc > e.cin_closure_date",
    })


@rule(code="CIN-2990", name="activity_on_case_closed_after_assessment", severity="error",
      tables=("cin_episode", "cin_section47", "cin_cp_plan", "cin_plan"),
      message="Activity is recorded against a case closed after assessment with no further action (RC8): a "
              "section 47 enquiry, CP plan, CIN plan or initial conference.")
def activity_on_case_closed_after_assessment(con):
    return _episode_and_activity(con, "e.reason_for_closure = 'RC8'", {
        "cin_section47": "true", "cin_cp_plan": "true", "cin_plan": "true",
        "cin_episode": "a.date_of_initial_cpc IS NOT NULL",
    })


@rule(code="CIN-8831", name="activity_on_nfa_referral", severity="error",
      tables=("cin_episode", "cin_assessment", "cin_section47"),
      message="Activity is recorded against a referral with no further action: an assessment, section 47 enquiry "
              "or initial conference.")
def activity_on_nfa_referral(con):
    return _episode_and_activity(con, "e.referral_nfa", {
        "cin_assessment": "a.assessment_actual_start_date IS NOT NULL OR a.assessment_authorisation_date IS NOT NULL",
        "cin_section47": "a.s47_actual_start_date IS NOT NULL",
        "cin_episode": "a.date_of_initial_cpc IS NOT NULL",
    })
