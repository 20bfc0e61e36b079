"""SQL building blocks shared by the rules: link keys, dates, the one-table check.

Dates. The runner creates a one-row table ``params`` on the connection:

* ``params.reference_date`` -- the census reference date (31 March of the collection
  year); for the CP list, the extract date used where a row has none.
* ``params.census_start`` -- the first day of the census year: the day after the same
  date one year earlier (1 April for a 31 March reference date).
* ``params.collection_year`` -- the collection year (its 31 March) the reference date falls in:
  rules that changed in some year (``years.yaml``) read it to apply that year's version.

and the macro ``age_in_years(birth, on_date)``: whole years of age on ``on_date``, UK
style (someone born on 29 February is a year older on 1 March in a non-leap year).
Date columns may be DATE or TIMESTAMP; DuckDB compares the two directly.

Keys. The CIN census reader numbers each element among its siblings, so the rows of one
file link through ``source_file`` and the ordinals: a child is (source_file,
child_ordinal), an episode adds ``episode_ordinal``, an assessment ``assessment_ordinal``
and a CP plan ``cp_plan_ordinal``. Joining on these (not on LAchildID) keeps two Child
elements that share an LAchildID apart, and keeps several files apart when their tables
are stacked.
"""
from __future__ import annotations

import duckdb

CHILD_KEY = ("source_file", "child_ordinal")
CP_LIST_CHILD = ("source_file", "child_id")  # a child on the CP list: its LA child ID within one file
EPISODE_KEY = CHILD_KEY + ("episode_ordinal",)
ASSESSMENT_KEY = EPISODE_KEY + ("assessment_ordinal",)
CP_PLAN_KEY = EPISODE_KEY + ("cp_plan_ordinal",)

CATEGORIES_OF_ABUSE = ("NEG", "PHY", "SAB", "EMO", "MUL")
CATEGORY_LIST = ", ".join(f"'{c}'" for c in CATEGORIES_OF_ABUSE)  # for SQL IN (...)

PARAMS_SQL = """
CREATE OR REPLACE TEMP TABLE params AS
    SELECT CAST($reference_date AS DATE) AS reference_date,
           CAST(CAST($reference_date AS DATE) - INTERVAL 1 YEAR + INTERVAL 1 DAY AS DATE) AS census_start,
           CAST($collection_year AS INTEGER) AS collection_year
"""
AGE_MACRO_SQL = """
CREATE OR REPLACE TEMP MACRO age_in_years(birth, on_date) AS
    year(on_date) - year(birth)
    - CASE WHEN month(on_date) < month(birth)
             OR (month(on_date) = month(birth) AND day(on_date) < day(birth)) THEN 1 ELSE 0 END
"""


def same(left: str, right: str, key: tuple[str, ...]) -> str:
    """Join condition ``left.k = right.k AND ...`` over the key columns."""
    return " AND ".join(f"{left}.{k} = {right}.{k}" for k in key)


def rows_where(con: duckdb.DuckDBPyConnection, table: str, condition: str) -> duckdb.DuckDBPyRelation:
    """The rows of ``table`` (alias ``t``) for which ``condition`` is true; ``params`` is in scope.

    A NULL condition is not true, so a comparison with a missing date never fails a row
    (rules that mean "missing" say ``IS NULL`` explicitly).
    """
    return con.sql(f"SELECT '{table}' AS table_name, t.record_id, t.la_code "
                   f"FROM {table} AS t, params WHERE {condition}")
