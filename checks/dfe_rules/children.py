"""Rules on the Child element (``cin_child``): the LA's child identifier and the child's age.

The reader already refuses a Child with no LAchildID (rule ``child_unusable``) and flags
a repeated one (``duplicate_child``); CIN-8500 and CIN-8510 state the DfE rules on what
was loaded, so they hold for any frame handed to the runner.
"""
from __future__ import annotations

from .registry import rule
from .sql import CHILD_KEY, rows_where, same


@rule(code="CIN-8500", name="la_child_id_missing", severity="error", tables=("cin_child",),
      message="The child has no LA child ID (LAchildID).")
def la_child_id_missing(con):
    return rows_where(con, "cin_child", "t.la_child_id IS NULL OR trim(t.la_child_id) = ''")


@rule(code="CIN-8510", name="la_child_id_repeated", severity="error", tables=("cin_child",),
      message="More than one child in the file has this LA child ID (LAchildID); every copy is listed.")
def la_child_id_repeated(con):
    return con.sql("""
        SELECT 'cin_child' AS table_name, record_id, la_code
        FROM cin_child
        WHERE la_child_id IS NOT NULL AND trim(la_child_id) <> ''
        QUALIFY count(*) OVER (PARTITION BY source_file, la_child_id) > 1
    """)


@rule(code="NEG-10", name="aged_18_or_over_at_referral", severity="error", tables=("cin_child", "cin_episode"),
      message="The child was 18 or over on the referral date of this episode (children in need are under 18).")
def aged_18_or_over_at_referral(con):
    return con.sql(f"""
        SELECT 'cin_episode' AS table_name, e.record_id, e.la_code
        FROM cin_episode AS e JOIN cin_child AS c ON {same('e', 'c', CHILD_KEY)}
        WHERE age_in_years(c.person_birth_date, e.cin_referral_date) >= 18
    """)
