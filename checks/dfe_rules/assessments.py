"""Rules on assessments (``cin_assessment``) and the factors found at them (``cin_assessment_factor``).

An assessment starts on ``assessment_actual_start_date`` and is complete ("authorised")
on ``assessment_authorisation_date``; blank means not yet authorised. Factors
(``AssessmentFactors`` codes such as 16A neglect) are recorded at the end of an
assessment, so they belong only to authorised ones (DfE 8614).
"""
from __future__ import annotations

from .registry import rule
from .sql import ASSESSMENT_KEY, EPISODE_KEY, rows_where, same


@rule(code="CIN-8608", name="assessment_authorised_before_start", severity="error", tables=("cin_assessment",),
      message="The assessment is authorised (ended) before it started.")
def assessment_authorised_before_start(con):
    return rows_where(con, "cin_assessment", "t.assessment_authorisation_date < t.assessment_actual_start_date")


@rule(code="CIN-8614", name="factors_on_unauthorised_assessment", severity="error",
      tables=("cin_assessment", "cin_assessment_factor"),
      message="Factors identified at assessment are recorded for an assessment that has no authorisation date; "
              "factors belong only to completed assessments.")
def factors_on_unauthorised_assessment(con):
    return con.sql(f"""
        SELECT 'cin_assessment' AS table_name, a.record_id, a.la_code
        FROM cin_assessment AS a
        WHERE a.assessment_authorisation_date IS NULL
          AND EXISTS (SELECT 1 FROM cin_assessment_factor AS f WHERE {same('f', 'a', ASSESSMENT_KEY)})
    """)


@rule(code="CIN-8696", name="assessment_authorisation_outside_census_year", severity="error",
      tables=("cin_assessment",),
      message="The assessment authorisation (end) date is not within the census year.")
def assessment_authorisation_outside_census_year(con):
    return rows_where(con, "cin_assessment",
                      "t.assessment_authorisation_date > params.reference_date "
                      "OR t.assessment_authorisation_date < params.census_start")


@rule(code="NEG-13", name="assessment_start_after_census", severity="error", tables=("cin_assessment",),
      message="The assessment starts after the census reference date.")
def assessment_start_after_census(con):
    return rows_where(con, "cin_assessment", "t.assessment_actual_start_date > params.reference_date")


@rule(code="NEG-14", name="assessment_review_after_census", severity="error", tables=("cin_assessment",),
      message="The assessment's internal review date is after the census reference date.")
def assessment_review_after_census(con):
    return rows_where(con, "cin_assessment", "t.assessment_internal_review_date > params.reference_date")


@rule(code="CIN-1103", name="assessment_before_referral", severity="error", tables=("cin_assessment", "cin_episode"),
      message="The assessment starts before the referral date of its episode.")
def assessment_before_referral(con):
    return con.sql(f"""
        SELECT 'cin_assessment' AS table_name, a.record_id, a.la_code
        FROM cin_assessment AS a JOIN cin_episode AS e ON {same('a', 'e', EPISODE_KEY)}
        WHERE a.assessment_actual_start_date < e.cin_referral_date
    """)


@rule(code="CIN-8897Q", name="completed_assessment_without_factors", severity="warning",
      tables=("cin_assessment", "cin_assessment_factor"),
      message="Please check: an assessment completed in the census year has no valid factor identified at the end "
              "of it (a completed assessment without factors cannot show neglect, 16A).")
def completed_assessment_without_factors(con):
    return con.sql(f"""
        SELECT 'cin_assessment' AS table_name, a.record_id, a.la_code
        FROM cin_assessment AS a, params
        WHERE a.assessment_authorisation_date >= params.census_start
          AND NOT EXISTS (SELECT 1 FROM cin_assessment_factor AS f
                          WHERE {same('f', 'a', ASSESSMENT_KEY)} AND f.assessment_factor IS NOT NULL)
    """)


@rule(code="CIN-8945Q", name="factor_18A_used", severity="warning", tables=("cin_assessment_factor",),
      message="Please check: the assessment factor 18A (physical abuse) should not be used; 18B (child on child) or "
              "18C (adult on child) should be.")
def factor_18a_used(con):
    return rows_where(con, "cin_assessment_factor", "upper(t.assessment_factor) = '18A'")


@rule(code="CIN-8950Q", name="factor_19A_used", severity="warning", tables=("cin_assessment_factor",),
      message="Please check: the assessment factor 19A (sexual abuse) should not be used; 19B (child on child) or "
              "19C (adult on child) should be.")
def factor_19a_used(con):
    return rows_where(con, "cin_assessment_factor", "upper(t.assessment_factor) = '19A'")
