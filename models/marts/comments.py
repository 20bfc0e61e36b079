"""Column meanings of the marts and published tables, carried by the warehouse itself.

``models/marts/columns.yaml`` (beside the mart SQL) says what every column of ``marts.*`` and
``published.*`` means and its unit. :func:`apply_comments` writes it into the warehouse as ``COMMENT ON
TABLE`` / ``COMMENT ON COLUMN`` (DuckDB keeps comments in the catalogue, so an analyst's DuckDB, DBeaver
or ODBC client shows them; a table rebuilt by ``CREATE OR REPLACE`` loses them, hence after every mart
build). :func:`column_comments` reads them back, :func:`split_comment` parses one into meaning and unit,
and :func:`missing_comments` lists every column with none (a test fails on any).

A column comment reads ``<meaning> [unit: <unit>]``.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import duckdb
import pandas as pd
import yaml

COLUMNS_FILE = Path(__file__).with_name("columns.yaml")
SCHEMAS = ("marts", "published")
_UNIT = re.compile(r"^(?P<meaning>.*?)(?: \[unit: (?P<unit>[^\]]*)\])?$", re.S)


@lru_cache(maxsize=4)
def load_columns(path: Path = COLUMNS_FILE) -> dict:
    """The YAML: ``{"columns": {name: {meaning, unit}}, "tables": {"schema.table": {table, columns}}}``."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    data.setdefault("columns", {})
    data.setdefault("tables", {})
    return data


def entry(table: str, column: str, data: dict | None = None) -> dict | None:
    """The meaning and unit of ``column`` of ``table`` (``schema.table``): the table's own entry, else the
    shared one; None when neither exists."""
    data = data or load_columns()
    own = (data["tables"].get(table) or {}).get("columns") or {}
    return own.get(column) or data["columns"].get(column)


def comment_text(item: dict) -> str:
    unit = str(item.get("unit") or "").strip()
    meaning = str(item["meaning"]).strip()
    return f"{meaning} [unit: {unit}]" if unit else meaning


def split_comment(comment: str | None) -> tuple[str, str]:
    """(meaning, unit) of a column comment written by :func:`apply_comments`."""
    if not comment:
        return "", ""
    found = _UNIT.match(comment.strip())
    return found["meaning"].strip(), (found["unit"] or "").strip()


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def apply_comments(conn: duckdb.DuckDBPyConnection, schemas: tuple[str, ...] = SCHEMAS) -> int:
    """Comment every existing table of ``schemas`` and each of its columns that the YAML describes; returns the
    number of column comments written. A comment that is already the YAML's is not written again (every mart
    asset calls this after its build: only the tables it rebuilt have lost theirs). Columns the YAML does not
    describe are left without one (:func:`missing_comments` lists them)."""
    data = load_columns()
    tables = conn.execute("SELECT schema_name, table_name, comment FROM duckdb_tables() WHERE schema_name IN "
                          "(SELECT unnest(?)) AND database_name = current_database() ORDER BY ALL",
                          [list(schemas)]).fetchall()
    columns = conn.execute("SELECT schema_name, table_name, column_name, comment FROM duckdb_columns() WHERE "
                           "schema_name IN (SELECT unnest(?)) AND database_name = current_database() ORDER BY ALL",
                           [list(schemas)]).fetchall()
    statements = []
    for schema, table, current in tables:
        text = (data["tables"].get(f"{schema}.{table}") or {}).get("table")
        if text and str(text).strip() != current:
            statements.append(f'COMMENT ON TABLE "{schema}"."{table}" IS {_quote(str(text).strip())}')
    written = 0
    for schema, table, column, current in columns:
        item = entry(f"{schema}.{table}", column, data)
        if item and comment_text(item) != current:
            statements.append(f'COMMENT ON COLUMN "{schema}"."{table}"."{column}" IS {_quote(comment_text(item))}')
            written += 1
    if not statements:
        return 0
    conn.execute("BEGIN TRANSACTION")  # one commit: statement by statement, each would be its own (10 x slower)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.execute("COMMIT")
    except Exception:
        conn.execute("ROLLBACK")
        raise
    return written


def column_comments(conn: duckdb.DuckDBPyConnection, schemas: tuple[str, ...] = SCHEMAS) -> pd.DataFrame:
    """Every column of ``schemas`` with its DuckDB type and comment: ``schema``, ``table``, ``column``,
    ``type``, ``comment``, ``position``."""
    return conn.execute("""
        SELECT schema_name AS schema, table_name AS "table", column_name AS "column", data_type AS type, comment,
               column_index AS position
        FROM duckdb_columns() WHERE schema_name IN (SELECT unnest(?)) AND database_name = current_database()
        ORDER BY schema_name, table_name, column_index""", [list(schemas)]).df()


def missing_comments(conn: duckdb.DuckDBPyConnection, schemas: tuple[str, ...] = SCHEMAS) -> list[str]:
    """``schema.table.column`` of every column of ``schemas`` without a comment."""
    frame = column_comments(conn, schemas)
    empty = frame["comment"].isna() | (frame["comment"].astype("object").fillna("").str.strip() == "")
    return [f"{r.schema}.{r.table}.{r.column}" for r in frame[empty].itertuples()]
