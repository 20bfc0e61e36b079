"""Rules on a child's date of death (``cin_child.person_death_date``) against other dates.

A child recorded as dead before being referred, or dying outside the census year, carries neglect
evidence that cannot be right as recorded; the DfE queries (Q) ask the authority to check.
"""
from __future__ import annotations

from .registry import rule
from .sql import CHILD_KEY, rows_where, same


@rule(code="CIN-8535Q", name="death_before_birth", severity="warning", tables=("cin_child",),
      message="Please check: the child's date of death is before the date of birth (or there is a date of death "
              "and no date of birth, and no expected date of birth after it).")
def death_before_birth(con):
    return rows_where(con, "cin_child",
                      "t.person_death_date IS NOT NULL "
                      "AND NOT coalesce(t.expected_person_birth_date > t.person_death_date, false) "
                      "AND (t.person_birth_date IS NULL OR t.person_birth_date > t.person_death_date)")


@rule(code="CIN-8545Q", name="death_outside_census_year", severity="warning", tables=("cin_child",),
      message="Please check: the child's date of death is not within the census year.")
def death_outside_census_year(con):
    return rows_where(con, "cin_child",
                      "t.person_death_date < params.census_start OR t.person_death_date > params.reference_date")


@rule(code="CIN-8555", name="referral_after_death", severity="error", tables=("cin_child", "cin_episode"),
      message="The child is referred after the recorded date of death.")
def referral_after_death(con):
    return con.sql(f"""
        SELECT 'cin_episode' AS table_name, e.record_id, e.la_code
        FROM cin_episode AS e JOIN cin_child AS c ON {same('e', 'c', CHILD_KEY)}
        WHERE e.cin_referral_date > c.person_death_date
    """)
