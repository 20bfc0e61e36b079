"""ingest.write.fetch_frame gives exactly the frame DuckDB's .df() gives (values and dtypes), through Arrow."""
from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from ingest.write import fetch_frame

ROW = ("1::TINYINT, 2::SMALLINT, 3::INTEGER, 4::BIGINT, 5::UBIGINT, true, 1.5::DOUBLE, 2.5::FLOAT, "
       "DATE '2026-03-31', TIMESTAMP '2026-03-31 10:00:00', 'x'")
NULLS = ", ".join(["NULL"] * 11)
QUERIES = {
    "every type, no NULL": f"SELECT {ROW}",
    "every type and a row of NULLs": f"SELECT {ROW} UNION ALL SELECT {NULLS}",
    "no rows": f"SELECT {ROW} LIMIT 0",
    "a string column with no value": "SELECT NULL::VARCHAR AS s, NULL::BOOLEAN AS b, NULL::DATE AS d FROM range(3)",
    "NaN, empty string, dates far apart": "SELECT 'NaN'::DOUBLE AS f, '' AS s, DATE '1900-01-01' AS d, "
                                         "TIMESTAMP '2300-01-01 00:00:00' AS t",
    "types it leaves to .df()": "SELECT 1.5::DECIMAL(4, 1) AS n, INTERVAL 1 DAY AS i, [1, 2] AS l, 'x' AS s",
}


@pytest.mark.parametrize("sql", QUERIES.values(), ids=QUERIES.keys())
def test_the_same_frame_as_df(sql):
    conn = duckdb.connect()
    expected = conn.execute(sql).df()
    got = fetch_frame(conn, sql)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert list(got.dtypes) == list(expected.dtypes)


def test_a_stored_table_with_parameters():
    conn = duckdb.connect()
    conn.execute("CREATE TABLE t AS SELECT i, CASE WHEN i % 3 = 0 THEN NULL ELSE 'v' || i END AS s, "
                 "CASE WHEN i % 4 = 0 THEN NULL ELSE i % 2 = 0 END AS b, "
                 "DATE '2026-03-31' - CAST(i % 2 AS INTEGER) * 365 AS period_end FROM range(5000) r(i)")
    sql = "SELECT * FROM t WHERE period_end IN (SELECT unnest(?::DATE[]))"
    expected = conn.execute(sql, [[date(2026, 3, 31)]]).df()
    got = fetch_frame(conn, sql, [[date(2026, 3, 31)]])
    assert len(got) == 2500
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
