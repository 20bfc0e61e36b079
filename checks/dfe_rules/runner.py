"""Run the validation rules over the CIN census tables and the CP list, in DuckDB.

``run_rules(tables, reference_date)`` registers each input DataFrame on a fresh in-memory
DuckDB connection as a view named by its table, adds the ``params`` table and the
``age_in_years`` macro (:mod:`checks.dfe_rules.sql`), runs every rule of the reference date's
collection year (:func:`checks.dfe_rules.years.rule_set`; the others are listed in
``findings.attrs["rules_not_in_year"]``) whose tables were all supplied, and returns one row per
finding:

    rule_code, rule_name, severity, table_name, record_id, la_code, message

A finding names the record (``record_id``, the loader's non-identifying string such as
``991_northbrook/2026-03-31/cin_census_2026.xml#Child[12]/CINdetails[1]``) and the LA; it
never holds an identifier or a data value. Rules that could not run because a table they
read was not supplied are listed in ``findings.attrs["rules_skipped"]`` (code -> missing
tables) and logged; the codes that ran are in ``findings.attrs["rules_run"]``.

Input frames are exactly what the readers return (``sources.cin_census.read_cin_census(path)
.tables`` and ``sources.cp_list.read_cp_list(path).rows``) plus a ``record_id`` string
column; the CP list also needs ``la_code``. The CIN frames must be the unpseudonymised
ones: CIN-8500/8510 read ``la_child_id`` and NEG-10 reads ``person_birth_date``.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import date

import duckdb
import pandas as pd

from .registry import FINDING_COLUMNS, Rule, all_rules, get_rule
from .sql import AGE_MACRO_SQL, PARAMS_SQL
from .years import collection_year, rule_set

log = logging.getLogger(__name__)

OUTPUT_COLUMNS = ("rule_code", "rule_name", "severity", "table_name", "record_id", "la_code", "message")
REQUIRED_COLUMNS = ("record_id", "la_code")


def prepare_connection(tables: Mapping[str, pd.DataFrame], reference_date: date) -> duckdb.DuckDBPyConnection:
    """A new in-memory connection with every frame registered as a view, plus ``params`` and the macros."""
    for name, frame in tables.items():
        missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(f"table {name} has no column(s) {missing}: the loader adds record_id (and la_code)")
    con = duckdb.connect()
    for name, frame in tables.items():
        con.register(name, frame)
    day = pd.Timestamp(reference_date).date()
    con.execute(PARAMS_SQL, {"reference_date": day, "collection_year": collection_year(day)})
    con.execute(AGE_MACRO_SQL)
    return con


def run_rules(tables: Mapping[str, pd.DataFrame], reference_date: date,
              rules: Iterable[Rule | str] | None = None) -> pd.DataFrame:
    """Findings of ``rules`` (default: every registered rule) on ``tables``; see the module docstring."""
    selected = [get_rule(r) if isinstance(r, str) else r for r in (all_rules() if rules is None else rules)]
    year = collection_year(pd.Timestamp(reference_date).date())
    in_force = rule_set(year, selected)
    not_in_year = [r.code for r in selected if r not in in_force]
    con = prepare_connection(tables, reference_date)
    parts: list[pd.DataFrame] = []
    ran: list[str] = []
    skipped: dict[str, list[str]] = {}
    try:
        for r in in_force:
            missing = [t for t in r.tables if t not in tables]
            if missing:
                skipped[r.code] = missing
                continue
            found = _run_one(con, r)
            ran.append(r.code)
            if len(found):
                found.insert(0, "rule_code", r.code)
                found.insert(1, "rule_name", r.name)
                found.insert(2, "severity", r.severity)
                found["message"] = r.message
                parts.append(found)
    finally:
        con.close()
    if skipped:
        log.info("validation rules skipped for want of tables: %s",
                 "; ".join(f"{code} ({', '.join(t)})" for code, t in skipped.items()))
    findings = (pd.concat(parts, ignore_index=True) if parts
                else pd.DataFrame({c: pd.Series(dtype="string") for c in OUTPUT_COLUMNS}))
    findings = findings[list(OUTPUT_COLUMNS)].astype("string")
    findings.attrs["rules_run"] = ran
    findings.attrs["rules_skipped"] = skipped
    findings.attrs["rules_not_in_year"] = not_in_year
    return findings


def _run_one(con: duckdb.DuckDBPyConnection, r: Rule) -> pd.DataFrame:
    """One rule's failing rows as (table_name, record_id, la_code), each record once, sorted by record_id."""
    relation = r.check(con)
    if tuple(relation.columns) != FINDING_COLUMNS:
        raise ValueError(f"rule {r.code} returned columns {relation.columns}, expected {list(FINDING_COLUMNS)}")
    return relation.distinct().order("table_name, record_id").df()
