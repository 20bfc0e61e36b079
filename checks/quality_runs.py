"""Glue between the ingest assets and the two kinds of data-quality rules in ``checks/``.

* DfE-style validation rules (:mod:`checks.dfe_rules`) run on the rows as read, before
  pseudonymisation (some rules need the exact date of birth); their findings keep only
  record_id, rule and authority.
* Great Expectations suites (:mod:`checks.expectations`) run on the pseudonymised rows
  of the run's periods as stored in ``raw.*``; failed expectations (no data values) go
  to ``quality.expectation_results`` and the Data Docs to ``output/data_docs/<source>/``.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from checks import expectations
from checks.dfe_rules.runner import run_rules
from checks.population import RuleOutcome

from ingest.files import FileLoad
from ingest.write import ensure_quality_tables, fetch_frame, registered, table_names

FINDING_COLUMNS = ["period_end", "la_code", "table_name", "record_id", "rule_code", "rule_name", "severity", "message"]


def with_rule_findings(load: FileLoad) -> FileLoad:
    """The load with its DfE-style rule findings (rules run on the file's rows as read).

    Runs where the file is read (a worker process), so the rules of many files run in parallel.
    The reference date is the file's period end (census reference date, or extract date).
    Return-level findings the reader made on a CIN census Header (rule 100 ...) are added,
    with record_id ``<file>#<Header element>``.
    """
    frames = {name: frame for name, frame in load.tables.items() if len(frame)}
    if load.error or not frames:
        load.findings = pd.DataFrame(columns=FINDING_COLUMNS)
        return load
    findings = run_rules(frames, load.period_end).assign(period_end=pd.Timestamp(load.period_end))
    parts = [findings[FINDING_COLUMNS]]
    header = load.header_findings
    if header is not None and len(header):
        parts.append(pd.DataFrame({
            "period_end": pd.Timestamp(load.period_end), "la_code": load.la_code, "table_name": "header",
            "record_id": load.file + "#" + header["location"].astype("string"), "rule_code": header["rule_code"],
            "rule_name": header["rule_name"], "severity": header["severity"], "message": header["message"]}))
    load.findings = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return load


def findings_outcome(findings: pd.DataFrame) -> RuleOutcome:
    errors = findings[findings["severity"] == "error"]
    by_rule = findings.groupby(["rule_code", "severity"]).size()
    metadata = {"findings_by_rule": {f"{code} ({sev})": int(n) for (code, sev), n in by_rule.items()},
                "records_with_errors": int(errors["record_id"].nunique())}
    if len(errors):
        return RuleOutcome(False, f"{len(errors):,} error finding(s) on {metadata['records_with_errors']:,} "
                                  f"record(s), {len(findings) - len(errors):,} warning(s)", metadata)
    return RuleOutcome(True, f"no error findings; {len(findings):,} warning(s)", metadata)


def validate_periods(conn, source: str, tables: list[str], periods: list[date]) -> list:
    """Run each table's Great Expectations suite once over its rows of ``periods``.

    Row-level rules run over all the rows; the row-count rule compares each period with
    the one before (the first with the period before the range, if loaded). Results go to
    ``quality.expectation_results`` (replacing earlier results of those periods).
    """
    frames, previous = {}, {}
    existing = table_names(conn, "raw")
    for table in tables:
        name = table.split(".")[1]
        if name not in existing or not expectations.has_suite(name):
            continue
        frames[name] = fetch_frame(conn, f"SELECT * FROM {table} WHERE period_end IN (SELECT unnest(?::DATE[]))",
                                   [periods])
        before = conn.execute(f"SELECT count(*) FROM {table} WHERE period_end = (SELECT max(period_end) "
                              f"FROM {table} WHERE period_end < ?)", [min(periods)]).fetchall()[0][0]
        previous[name] = int(before) or None
    if not frames:
        return []
    validations = expectations.validate_frames(frames, previous)
    rows = [{"source": source, "table_name": v.table, "period_from": min(periods), "period_to": max(periods),
             "rule_code": f["rule_code"], "expectation": f["expectation"], "column_name": f.get("column"),
             "severity": f.get("severity"), "unexpected_count": f.get("unexpected_count"),
             "unexpected_percent": f.get("unexpected_percent")} for v in validations for f in v.failed]
    ensure_quality_tables(conn)
    # replace what an earlier validation of these periods (or of some of them) found; a validation that also
    # covered other periods keeps its findings
    conn.execute("DELETE FROM quality.expectation_results WHERE source = ? AND period_from >= ? AND period_to <= ?",
                 [source, min(periods), max(periods)])
    if rows:
        with registered(conn, pd.DataFrame(rows), "_failed"):
            conn.execute("INSERT INTO quality.expectation_results BY NAME SELECT * FROM _failed")
    return validations


def expectations_outcome(validations: list) -> RuleOutcome:
    failed = [(v.table, f["rule_code"]) for v in validations for f in v.failed]
    metadata = {"validations": len(validations),
                "failed_expectations": sorted({f"{t}: {code}" for t, code in failed})[:50]}
    if failed:
        return RuleOutcome(False, f"{len(failed)} failed expectation(s) in {len(validations)} validation(s)",
                           metadata)
    return RuleOutcome(True, f"all expectations met in {len(validations)} validation(s)", metadata)


def write_data_docs(validations: list, output_dir: Path, source: str) -> Path | None:
    if not validations:
        return None
    return expectations.build_data_docs(validations, Path(output_dir) / "data_docs" / source)
