"""apply_comments writes the YAML's column meanings once: a rebuilt table gets them again, the others are left."""
from __future__ import annotations

import duckdb
import pytest

from models.marts.comments import apply_comments, column_comments

pytestmark = pytest.mark.unit


def test_only_comments_that_differ_are_written():
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts")
    for table in ("neglect_prevalence", "identification_ratio"):
        conn.execute(f"CREATE TABLE marts.{table} (period_end DATE, la_code VARCHAR)")
    first = apply_comments(conn, ("marts",))
    comments = column_comments(conn, ("marts",))
    assert first == 4 and comments["comment"].notna().all()
    assert apply_comments(conn, ("marts",)) == 0  # nothing changed: nothing written
    conn.execute("CREATE OR REPLACE TABLE marts.neglect_prevalence (period_end DATE, la_code VARCHAR)")  # rebuilt
    assert apply_comments(conn, ("marts",)) == 2
    assert column_comments(conn, ("marts",)).equals(comments)
