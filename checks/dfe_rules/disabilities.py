"""Rules on a child's disability codes (``cin_disability``, one row per Disability element).

Codes: NONE, or one or more of MOB HAND PC INC COMM LD HEAR VIS BEH CON AUT DDA (the reader nulls a
code it does not know). The marts count a child as disabled when any code is not NONE, so a child
recorded NONE and MOB (8790) would be counted disabled on contradictory information.
"""
from __future__ import annotations

from .registry import rule
from .sql import CHILD_KEY, same

DISABILITY_CODES = ("NONE", "MOB", "HAND", "PC", "INC", "COMM", "LD", "HEAR", "VIS", "BEH", "CON", "AUT", "DDA")


@rule(code="CIN-8540", name="disability_missing_or_invalid", severity="error",
      tables=("cin_child", "cin_episode", "cin_disability"),
      message="The child has a date of birth and an episode that was not a no-further-action referral, but no valid "
              "disability code (NONE or a disability).")
def disability_missing_or_invalid(con):
    codes = ", ".join(f"'{c}'" for c in DISABILITY_CODES)
    keys = ", ".join(CHILD_KEY)
    return con.sql(f"""
        SELECT 'cin_child' AS table_name, c.record_id, c.la_code
        FROM cin_child AS c
        WHERE c.person_birth_date IS NOT NULL
          AND EXISTS (SELECT 1 FROM cin_episode AS e WHERE {same('e', 'c', CHILD_KEY)} AND e.referral_nfa = false)
          AND ({keys}) NOT IN (SELECT {keys} FROM cin_disability WHERE disability IN ({codes}))
    """)


@rule(code="CIN-8790", name="disability_none_and_other", severity="error", tables=("cin_disability",),
      message="The child's disability information includes both NONE and another code; the other codes are listed.")
def disability_none_and_other(con):
    return con.sql(f"""
        SELECT 'cin_disability' AS table_name, d.record_id, d.la_code
        FROM cin_disability AS d
        WHERE upper(d.disability) <> 'NONE'
          AND EXISTS (SELECT 1 FROM cin_disability AS n WHERE {same('n', 'd', CHILD_KEY)} AND upper(n.disability) = 'NONE')
    """)


@rule(code="CIN-8794", name="disability_repeated", severity="error", tables=("cin_disability",),
      message="The child has the same disability code twice; every copy is listed.")
def disability_repeated(con):
    keys = ", ".join(CHILD_KEY)
    return con.sql(f"""
        SELECT 'cin_disability' AS table_name, record_id, la_code
        FROM cin_disability
        WHERE disability IS NOT NULL
        QUALIFY count(*) OVER (PARTITION BY {keys}, upper(disability)) > 1
    """)
