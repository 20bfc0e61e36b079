"""Checks every extract load must pass: structure (blocking) and reject rate (warning).

Plain functions returning :class:`checks.population.RuleOutcome`; the ingest assets turn
them into Dagster asset checks. Metadata holds counts, file names and rule names only.

- :func:`load_structure` (ERROR, blocking): for every file, rows read = rows loaded +
  rows rejected; every authority folder supplied a file for every period; each
  ``record_id`` is unique in each raw table for the periods loaded; and no raw table
  has a column that the pseudonymisation should have removed (an identifier).
- :func:`reject_rate` (WARN): no file has more than ``MAX_REJECT_RATE`` of its rows
  rejected. Rejects by rule are in the metadata either way.
"""
from __future__ import annotations

from collections import Counter
from datetime import date

import pandas as pd

from pipelines.ingest.pseudonymise import IDENTIFIER_COLUMNS
from pipelines.ingest.write import table_columns

from .population import RuleOutcome

MAX_REJECT_RATE = 0.05  # share of a file's rows


def load_structure(conn, tables: list[str], audit: pd.DataFrame, periods: list[date],
                   expected_authorities: list[str]) -> RuleOutcome:
    """Blocking structural check of one load (``audit``: its quality.load_audit rows)."""
    problems: list[str] = []
    ok = audit[audit["status"] == "loaded"]
    unbalanced = ok[ok["rows_read"] != ok["rows_loaded"] + ok["rows_rejected"]]
    problems += [f"{f}: rows read differ from rows loaded + rejected" for f in unbalanced["file"]]
    for period in periods:
        supplied = set(audit.loc[pd.to_datetime(audit["period_end"]) == pd.Timestamp(period), "la_code"])
        missing = sorted(set(expected_authorities) - supplied)
        problems += [f"no file from authority {la} for the period ending {period}" for la in missing]
    duplicates, leaked = 0, []
    for table in tables:
        columns = table_columns(conn, table) or []
        leaked += [f"{table}.{c}" for c in columns if c in IDENTIFIER_COLUMNS]
        duplicates += conn.execute(
            f"SELECT count(*) - count(DISTINCT record_id) FROM {table} "
            "WHERE period_end IN (SELECT unnest(?::DATE[]))", [periods]).fetchone()[0]
    if duplicates:
        problems.append(f"{duplicates} duplicated record_id values")
    problems += [f"identifier column {c} in the warehouse" for c in leaked]
    metadata = {"files": len(audit), "rows_read": int(audit["rows_read"].sum()),
                "rows_loaded": int(audit["rows_loaded"].sum()), "rows_rejected": int(audit["rows_rejected"].sum()),
                "problems": problems[:20]}
    if problems:
        return RuleOutcome(False, f"{len(problems)} structural problem(s): " + "; ".join(problems[:5]), metadata)
    return RuleOutcome(True, f"{len(audit)} file(s) balanced, every authority present, record ids unique, "
                             "no identifier columns", metadata)


def reject_rate(audit: pd.DataFrame, rejects: pd.DataFrame, max_rate: float = MAX_REJECT_RATE) -> RuleOutcome:
    """Warning when a file's rejected rows exceed ``max_rate`` of its rows read."""
    ok = audit[audit["status"] == "loaded"]
    rate = ok["rows_rejected"] / ok["rows_read"].where(ok["rows_read"] > 0)
    high = ok.loc[rate > max_rate, "file"].tolist()
    by_rule = Counter()
    if len(rejects):
        rejected = rejects[rejects["action"].isin(["row_rejected", "child_rejected"])]
        by_rule.update(rejected["rule"].value_counts().to_dict())
    metadata = {"rows_rejected": int(ok["rows_rejected"].sum()), "rows_read": int(ok["rows_read"].sum()),
                "rejects_by_rule": {str(k): int(v) for k, v in sorted(by_rule.items())},
                "files_over_threshold": high[:20], "threshold": max_rate}
    if high:
        return RuleOutcome(False, f"{len(high)} file(s) with more than {max_rate:.0%} of rows rejected", metadata)
    return RuleOutcome(True, f"every file has at most {max_rate:.0%} of its rows rejected "
                             f"({metadata['rows_rejected']:,} of {metadata['rows_read']:,} in all)", metadata)
