"""Write the files read for some periods into the warehouse and the identity store.

:func:`write_loads` is the one way every extract reaches the warehouse:

1. each raw table's rows from all the files that could be read are put together and
   given ``period_end``;
2. the identity store gets the identifier columns (``identity_select``) and the
   warehouse gets the pseudonymised rows (``warehouse_select``), each replacing the
   rows of the same periods;
3. ``quality.rejects``, ``quality.load_audit`` and (when given) ``quality.rule_findings``
   are replaced for the same source and periods.

The identifying frames are registered on the two DuckDB connections only for the
length of one statement, and never logged.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from .files import FileLoad
from .pseudonymise import identity_select, warehouse_select
from .write import (audit_frame, ensure_quality_tables, registered, rejects_frame, replace_frame, replace_periods,
                    table_columns)


@dataclass
class LoadedTable:
    table: str  # e.g. raw.cp_list
    rows: int
    periods: list[date]


@dataclass
class WrittenLoads:
    """What :func:`write_loads` wrote: rows per raw table, and the audit and reject rows."""

    tables: list[LoadedTable]
    audit: pd.DataFrame
    rejects: pd.DataFrame


def combined_tables(loads: list[FileLoad]) -> dict[str, pd.DataFrame]:
    """Each table's rows from every readable file, with ``period_end`` added (identifiers included)."""
    names = sorted({name for l in loads if not l.error for name in l.tables})
    out = {}
    for name in names:
        parts = [l.tables[name].assign(period_end=pd.Timestamp(l.period_end))
                 for l in loads if not l.error and name in l.tables]
        out[name] = pd.concat(parts, ignore_index=True)
    return out


def write_loads(warehouse: duckdb.DuckDBPyConnection, identity: duckdb.DuckDBPyConnection, source: str,
                tables: list[str], loads: list[FileLoad], periods: list[date], key: bytes, run_id: str,
                with_geography: bool, findings: pd.DataFrame | None = None, write_audit: bool = True,
                fingerprint: str | None = None) -> WrittenLoads:
    """Replace ``periods`` of ``source`` in raw.<tables>, the identity store and (unless ``write_audit`` is
    False: an empty template load that only creates the tables) the quality tables. ``fingerprint``: the
    loading fingerprint recorded in the audit (:mod:`.unchanged`)."""
    frames = combined_tables(loads)
    ensure_quality_tables(warehouse)
    written = []
    for name in tables:
        frame = frames.get(name)
        # no readable file this time: the periods' rows are still replaced (by none), if the table exists
        if frame is not None or table_columns(warehouse, f"raw.{name}") is not None:
            written.append(_write_table(warehouse, identity, name, frame, periods, key, with_geography))
    audit, rejects = audit_frame(loads, run_id, fingerprint), rejects_frame(loads)
    if not write_audit:
        return WrittenLoads(written, audit, rejects)
    warehouse.execute("BEGIN TRANSACTION")
    replace_frame(warehouse, "quality.rejects", rejects, periods, source)
    replace_frame(warehouse, "quality.load_audit", audit, periods, source)
    if findings is not None:
        replace_frame(warehouse, "quality.rule_findings", findings.assign(source=source), periods, source)
    warehouse.execute("COMMIT")
    return WrittenLoads(written, audit, rejects)


def _write_table(warehouse, identity, name: str, frame: pd.DataFrame | None, periods: list[date], key: bytes,
                 with_geography: bool) -> LoadedTable:
    table = f"raw.{name}"
    if frame is None:
        warehouse.execute(f"DELETE FROM {table} WHERE period_end IN (SELECT unnest(?::DATE[]))", [periods])
        if table_columns(identity, f"identifiers.{name}") is not None:
            identity.execute(f"DELETE FROM identifiers.{name} WHERE period_end IN (SELECT unnest(?::DATE[]))",
                             [periods])
        return LoadedTable(table, 0, periods)
    columns = list(frame.columns)
    dates = {c for c in columns if pd.api.types.is_datetime64_any_dtype(frame[c])}
    identity_sql = identity_select(columns, "_rows", key, dates)
    if identity_sql:
        _replace_in_transaction(identity, f"identifiers.{name}", identity_sql, frame, periods)
    rows = _replace_in_transaction(warehouse, table, warehouse_select(columns, "_rows", key, with_geography, dates),
                                   frame, periods)
    return LoadedTable(table, rows, periods)


def _replace_in_transaction(conn, table: str, select_sql: str, frame: pd.DataFrame, periods: list[date]) -> int:
    """replace_periods in one transaction over ``frame`` registered as ``_rows``; rolled back on any error."""
    with registered(conn, frame, "_rows"):
        try:
            conn.execute("BEGIN TRANSACTION")
            rows = replace_periods(conn, table, select_sql, periods)
            conn.execute("COMMIT")
            return rows
        except Exception:
            conn.execute("ROLLBACK")
            raise
