"""Checks every extract load must pass: structure (blocking) and reject rate (warning).

Plain functions returning :class:`checks.population.RuleOutcome`; the ingest assets turn
them into Dagster asset checks. Metadata holds counts, file names and rule names only.

- :func:`load_structure` (ERROR, blocking): for every file, rows read = rows loaded +
  rows rejected, and no more than ``max_reject_share`` (setting ``max_file_reject_share``,
  default 50 %) of its rows rejected -- a file that loses most of its rows (a whole-number
  column stored as decimals, a date format the reader refuses) would otherwise make its
  children vanish from the figures with only a warning; the message names the file, the
  commonest rule and an example position; each ``record_id`` is unique in each raw table for the periods loaded;
  no raw table has a column that the pseudonymisation should have removed (an
  identifier); and, for a source declared ``required``, every authority supplied a file
  for every period. Periods an authority did not supply (``not supplied`` rows of the
  audit) are listed by name in the description and metadata whatever the source.
- :func:`files_readable` (ERROR, not blocking): every file of the load could be read; the
  message of each that could not (file, position, what was expected).
- :func:`reject_rate` (WARN): no file has more than ``MAX_REJECT_RATE`` of its rows
  rejected. Rejects by rule are in the metadata either way.
"""
from __future__ import annotations

from collections import Counter
from datetime import date

import pandas as pd

from ingest.pseudonymise import IDENTIFIER_COLUMNS
from ingest.write import table_columns

from .population import RuleOutcome

MAX_REJECT_RATE = 0.05  # share of a file's rows: above it, a warning
MAX_FILE_REJECT_SHARE = 0.5  # share of a file's rows: above it, the blocking structure check fails


def load_structure(conn, tables: list[str], audit: pd.DataFrame, periods: list[date],
                   required: bool = False, rejects: pd.DataFrame | None = None,
                   max_reject_share: float = MAX_FILE_REJECT_SHARE) -> RuleOutcome:
    """Blocking structural check of one load (``audit``: its quality.load_audit rows; ``rejects``: its
    quality.rejects rows, for the rule and position named when a file lost most of its rows)."""
    problems: list[str] = []
    ok = audit[audit["status"] == "loaded"] if len(audit) else audit
    unbalanced = ok[ok["rows_read"] != ok["rows_loaded"] + ok["rows_rejected"]] if len(ok) else ok
    problems += [f"{f}: rows read differ from rows loaded + rejected" for f in unbalanced.get("file", [])]
    problems += mostly_rejected(ok, rejects, max_reject_share)
    missing = audit[audit["status"] == "not supplied"] if len(audit) else audit
    not_supplied = [f"LA {r.la_code}, period ending {pd.Timestamp(r.period_end).date()}"
                    for r in missing.sort_values(["la_code", "period_end"]).itertuples()] if len(missing) else []
    if required:
        problems += [f"no file (required source) from {where}" for where in not_supplied]
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
    files = audit[audit["status"] != "not supplied"] if len(audit) else audit
    metadata = {"files": len(files), "rows_read": int(files["rows_read"].sum()) if len(files) else 0,
                "rows_loaded": int(files["rows_loaded"].sum()) if len(files) else 0,
                "rows_rejected": int(files["rows_rejected"].sum()) if len(files) else 0,
                "not_supplied": not_supplied[:50], "problems": problems[:20]}
    absent = (f"; not supplied: {len(not_supplied)} authority-period(s), e.g. {'; '.join(not_supplied[:3])}"
              if not_supplied else "")
    if problems:
        return RuleOutcome(False, f"{len(problems)} structural problem(s): " + "; ".join(problems[:5]) + absent,
                           metadata)
    return RuleOutcome(True, f"{len(files)} file(s) balanced, record ids unique, no identifier columns" + absent,
                       metadata)


def mostly_rejected(loaded: pd.DataFrame, rejects: pd.DataFrame | None, max_share: float) -> list[str]:
    """A message for each file (and sheet) with more than ``max_share`` of its rows rejected."""
    if not len(loaded):
        return []
    share = loaded["rows_rejected"] / loaded["rows_read"].where(loaded["rows_read"] > 0)
    out = []
    for row in loaded[share > max_share].itertuples():
        sheet = getattr(row, "sheet", None)
        where = f"{row.file}" + (f" (sheet '{sheet}')" if isinstance(sheet, str) and sheet else "")
        example = ""
        if rejects is not None and len(rejects) and "file" in rejects:
            mine = rejects[(rejects["file"] == row.file) & (rejects["source"] == row.source)
                           & rejects["action"].isin(["row_rejected", "child_rejected"])]
            if len(mine):
                rule = mine["rule"].value_counts().index[0]
                first = mine[mine["rule"] == rule].iloc[0]
                example = (f"; most by rule {rule} ({first['field'] or 'row'}), e.g. at {first['location']}: "
                           f"{first['message']}")
        out.append(f"{where}: {int(row.rows_rejected):,} of {int(row.rows_read):,} rows rejected, more than "
                   f"{max_share:.0%} (setting max_file_reject_share){example}")
    return out


def files_readable(errors: list[str]) -> RuleOutcome:
    """Error (not blocking: the other files' figures are still produced) when a file could not be read."""
    metadata = {"unreadable_files": len(errors), "messages": errors[:20]}
    if errors:
        return RuleOutcome(False, f"{len(errors)} file(s) could not be read and were not loaded: " + " | ".join(errors),
                           metadata)
    return RuleOutcome(True, "every file could be read", metadata)


def reject_rate(audit: pd.DataFrame, rejects: pd.DataFrame, max_rate: float = MAX_REJECT_RATE) -> RuleOutcome:
    """Warning when a file's rejected rows exceed ``max_rate`` of its rows read."""
    ok = audit[audit["status"] == "loaded"] if len(audit) else audit.reindex(columns=["file", "rows_read",
                                                                                       "rows_rejected"])
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
