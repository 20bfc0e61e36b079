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


# --------------------------------------------------------------------------- UPN and LA child ID
# A UPN (unique pupil number) is a check letter and 12 characters: characters 2-4 the LA code of the
# school that issued it, 5-13 digits. DfE checks the letter (1510) and the LA code (1530) when the
# UPN is 13 characters with digits in 2-13 (other shapes are other rules' business).

_UPN_DIGITS = "length(t.upn) = 13 AND regexp_full_match(substr(t.upn, 2), '[0-9]{12}')"
# post-April-1998 LA codes and DfE's 'pseudo LA' codes, as DfE's rule 1530 lists them
_LA_CODES_TO_2023 = sorted({f"{n:03d}" for n in [*range(1, 6), *range(201, 214), *range(301, 321), *range(330, 337),
                                                  *range(340, 345), *range(350, 360), *range(370, 374), *range(380, 385),
                                                  *range(390, 395), *range(660, 682), *range(701, 709),
                                                  *range(800, 804), *range(805, 809), *range(810, 814),
                                                  *range(820, 824), *range(835, 840), *range(850, 853),
                                                  *range(855, 858), *range(865, 897), *range(935, 939),
                                                  *range(940, 942), 420, 815, 816, 825, 826, 830, 831, 840, 841, 845,
                                                  846, 860, 861, 908, 909, 916, 919, 921, 925, 926, 928, 929, 931,
                                                  933]})
_LA_CODES_FROM_2024 = sorted(set(_LA_CODES_TO_2023) | {"942", "943"})  # added in 2023-24


def _sql_list(codes: list[str]) -> str:
    return ", ".join(f"'{c}'" for c in codes)


@rule(code="CIN-1510", name="upn_wrong_check_letter", severity="error", tables=("cin_child",),
      message="The UPN's first character is not its check letter (digits 2-13 weighted 2-13, summed, modulo 23, "
              "as a letter A-Z without I, O and S).")
def upn_wrong_check_letter(con):
    # 23 letters for the 23 remainders: remainder 21 is Y, 22 is Z (a table of 21 letters failed those UPNs)
    weighted = " + ".join(f"CAST(substr(t.upn, {i}, 1) AS INTEGER) * {i}" for i in range(2, 14))
    return con.sql(f"""
        SELECT 'cin_child' AS table_name, t.record_id, t.la_code
        FROM cin_child AS t
        WHERE t.upn IS NOT NULL AND {_UPN_DIGITS}
          AND substr('ABCDEFGHJKLMNPQRTUVWXYZ', (({weighted}) % 23) + 1, 1) <> upper(substr(t.upn, 1, 1))
    """)


@rule(code="CIN-1530", name="upn_la_code_not_recognised", severity="error", tables=("cin_child",),
      message="The UPN's characters 2-4 are not a recognised LA code (the codes of the collection year: 942 and 943 "
              "are valid from 2023-24).")
def upn_la_code_not_recognised(con):
    return con.sql(f"""
        SELECT 'cin_child' AS table_name, t.record_id, t.la_code
        FROM cin_child AS t, params
        WHERE t.upn IS NOT NULL AND length(t.upn) = 13
          AND substr(t.upn, 2, 3) NOT IN (
              SELECT unnest(CASE WHEN params.collection_year >= 2024 THEN [{_sql_list(_LA_CODES_FROM_2024)}]
                                 ELSE [{_sql_list(_LA_CODES_TO_2023)}] END))
    """)


@rule(code="CIN-1570", name="la_child_id_too_long", severity="error", tables=("cin_child",),
      message="The LA child ID (LAchildID) is longer than 20 characters.")
def la_child_id_too_long(con):
    return rows_where(con, "cin_child", "length(t.la_child_id) > 20")
