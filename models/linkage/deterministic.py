"""Deterministic linkage: records sharing an identifier are the same person.

Keys, strongest first (:data:`KEY_PRIORITY`):

* ``la_child_id``: the LA child ID within one authority (CIN census, CP list, person list,
  early help where recorded);
* ``eh_id`` / ``client_id``: the early-help person ID, the adult-services client ID,
  within one authority (and service);
* ``household_child_id``: a child listed by one adult-services client under the same names and
  DOB in several extracts;
* ``nhs_number``: the NHS number, across authorities;
* ``upn``: the unique pupil number (or former UPN), across authorities.

NHS number and UPN are *bridges*: they may join records of different local IDs, e.g. a
child known to both authorities under two LA child IDs. A bridge value held by two or
more different LA child IDs of the **same** authority is a conflict (two children's
records of one system share an NHS number or UPN): it is reported and not used to link,
so the probabilistic step and the analyst decide. Records are grouped by connected
components of the record-key graph, in SQL on DuckDB (the records stay in DuckDB: no whole-partnership
pandas frame).
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

KEY_PRIORITY = ["la_child_id", "eh_id", "client_id", "household_child_id", "nhs_number", "upn"]
LOCAL_KEYS_IN_ORDER = ("la_child_id", "eh_id", "client_id", "household_child_id")
LOCAL_KEYS = set(LOCAL_KEYS_IN_ORDER)
BRIDGE_KEYS = {"nhs_number", "upn"}


@dataclass
class DeterministicGroups:
    """Result of :func:`deterministic_groups`.

    ``group``: the group number of each record (aligned with the input frame's rows).
    ``method``: the strongest key each record shares with another record of its group
    (``None`` when the record shares no key).
    ``conflicts``: one row per conflicting bridge value: ``key_type``, ``la_code``,
    ``key_value``, ``local_ids`` (the LA child IDs holding it), ``records``. Identifiers:
    for the identity store side (clerical review) only; counts go to the warehouse.
    """

    group: np.ndarray
    method: pd.Series
    conflicts: pd.DataFrame


def _columns(conn: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {row[0] for row in conn.execute(f"DESCRIBE {table}").fetchall()}


def record_keys_sql(conn: duckdb.DuckDBPyConnection, table: str) -> str:
    """SQL of the long table (row, key_type, key_value, la_code, la_child_id) of every identifier a record of
    ``table`` (with a 0-based ``row`` column) holds: local IDs scoped by authority (``991:123``), bridges not."""
    columns = _columns(conn, table)
    la_child_id = "la_child_id" if "la_child_id" in columns else "NULL::VARCHAR"
    parts = [f"SELECT row, '{column}' AS key_type, CAST(la_code AS VARCHAR) || ':' || CAST({column} AS VARCHAR) "
             f"AS key_value FROM {table}" for column in LOCAL_KEYS_IN_ORDER if column in columns]
    bridges = (("nhs_number", "nhs_std"), ("upn", "upn"), ("upn", "former_upn"))
    parts += [f"SELECT row, '{key}', CAST({column} AS VARCHAR) FROM {table}"
              for key, column in bridges if column in columns]
    if not parts:
        parts = ["SELECT NULL::BIGINT AS row, NULL::VARCHAR AS key_type, NULL::VARCHAR AS key_value WHERE false"]
    # a former UPN equal to the record's own UPN is one key, not two
    return f"""
        SELECT DISTINCT k.row, k.key_type, k.key_value, CAST(r.la_code AS VARCHAR) AS la_code,
               CAST(r.{la_child_id} AS VARCHAR) AS la_child_id
        FROM ({" UNION ALL ".join(parts)}) k JOIN {table} r USING (row)
        WHERE k.key_value IS NOT NULL AND k.key_value <> ''"""


def _conflicts(conn: duckdb.DuckDBPyConnection, keys: str, out: str) -> pd.DataFrame:
    """Bridge values (NHS number, UPN) held by two or more LA child IDs of one authority, also kept as the
    temporary table ``out`` (key_type, key_value)."""
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE {out} AS
        SELECT key_type, key_value, la_code, list_sort(list(DISTINCT la_child_id)) AS local_ids,
               count(*) AS records
        FROM {keys}
        WHERE key_type IN ('nhs_number', 'upn') AND la_child_id IS NOT NULL AND la_code IS NOT NULL
        GROUP BY ALL HAVING count(DISTINCT la_child_id) > 1""")
    return conn.sql(f"SELECT * FROM {out} ORDER BY key_type, key_value, la_code").df()


def deterministic_groups_in(conn: duckdb.DuckDBPyConnection, table: str, out: str) -> pd.DataFrame:
    """Group the records of ``table`` (a 0-based ``row`` column and the identifier columns) that share a key
    (see module docstring) into a new table ``out`` (row, det_group, det_method), in no order; return the
    conflicting bridge values (see :class:`DeterministicGroups`), which are not used.

    Groups are the connected components of the record-key graph, found by passing the smallest row number
    along keys held by two or more records until nothing changes (each round also takes the label's own label,
    so a long chain of shared keys needs few rounds); ``det_group``
    numbers them in the order of their first row (as ``pandas.factorize`` of the components would).
    """
    keys, bad, usable, labels = f"{out}__keys", f"{out}__conflicts", f"{out}__usable", f"{out}__labels"
    numbers = f"{out}__numbers"
    conn.execute(f"CREATE OR REPLACE TEMP TABLE {keys} AS {record_keys_sql(conn, table)}")
    conflicts = _conflicts(conn, keys, bad)
    # only keys two or more records hold join anything: the rest are left out of the rounds
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE {usable} AS
        WITH shared AS (SELECT key_type, key_value, row_number() OVER () AS key_id
                        FROM {keys}
                        ANTI JOIN (SELECT DISTINCT key_type, key_value FROM {bad}) USING (key_type, key_value)
                        GROUP BY key_type, key_value HAVING count(*) > 1)
        SELECT k.row, k.key_type, s.key_id FROM {keys} k JOIN shared s USING (key_type, key_value)""")
    conn.execute(f"DROP TABLE {keys}")
    conn.execute(f"DROP TABLE {bad}")
    conn.execute(f"CREATE OR REPLACE TEMP TABLE {labels} AS SELECT DISTINCT row, row AS label FROM {usable}")
    while True:  # each round: a key takes its rows' smallest label, a row its keys' smallest, then its label's
        conn.execute(f"""
            CREATE OR REPLACE TEMP TABLE {labels}__next AS
            WITH key_label AS (SELECT u.key_id, min(l.label) AS label FROM {usable} u JOIN {labels} l USING (row)
                               GROUP BY u.key_id),
                 row_label AS (SELECT u.row, min(k.label) AS label FROM {usable} u JOIN key_label k USING (key_id)
                               GROUP BY u.row)
            SELECT r.row, least(r.label, coalesce(j.label, r.label)) AS label
            FROM row_label r LEFT JOIN {labels} j ON j.row = r.label""")  # the label's own label: pointer jumping
        changed = conn.execute(f"SELECT count(*) FROM {labels} l JOIN {labels}__next n USING (row) "
                               "WHERE n.label <> l.label").fetchall()[0][0]
        conn.execute(f"DROP TABLE {labels}")
        conn.execute(f"ALTER TABLE {labels}__next RENAME TO {labels.split('.')[-1]}")
        if not changed:
            break
    priority = " ".join(f"WHEN '{k}' THEN {i}" for i, k in enumerate(KEY_PRIORITY))
    # a group's number: how many groups start before it. A group's label is its first row, the one row that is its
    # own label, so the groups are numbered over those rows alone (a ranking of every record pins all of them in
    # DuckDB's memory: at 7.9 M records it ran out of an 819 MiB limit)
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE {numbers} AS
        SELECT row AS label, row_number() OVER (ORDER BY row) - 1 AS det_group
        FROM {table} ANTI JOIN (SELECT row FROM {labels} WHERE label <> row) USING (row)""")
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE {out} AS
        WITH best AS (SELECT row, arg_min(key_type, CASE key_type {priority} END) AS det_method
                      FROM {usable} GROUP BY row),
             labelled AS (SELECT t.row, coalesce(l.label, t.row) AS label
                          FROM {table} t LEFT JOIN {labels} l USING (row))
        SELECT l.row, g.det_group, b.det_method
        FROM labelled l JOIN {numbers} g USING (label) LEFT JOIN best b USING (row)""")  # unordered: read by row
    conn.execute(f"DROP TABLE {numbers}")
    conn.execute(f"DROP TABLE {labels}")
    conn.execute(f"DROP TABLE {usable}")
    return conflicts


def deterministic_groups(records: pd.DataFrame) -> DeterministicGroups:
    """Group records that share a key (see module docstring); conflicting bridge values are not used.
    The records of a DataFrame, grouped by :func:`deterministic_groups_in` on an in-memory DuckDB."""
    con = duckdb.connect()
    try:
        con.register("records_frame", records.assign(row=np.arange(len(records), dtype=np.int64)))
        con.execute("CREATE TEMP TABLE records AS SELECT * FROM records_frame")
        conflicts = deterministic_groups_in(con, "records", "groups")
        groups = con.sql("SELECT det_group, det_method FROM groups ORDER BY row").df()
    finally:
        con.close()
    return DeterministicGroups(group=groups["det_group"].to_numpy(dtype=np.int64),
                               method=groups["det_method"].astype("string").reset_index(drop=True),
                               conflicts=conflicts)
