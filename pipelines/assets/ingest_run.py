"""The body every ingest asset shares: read a set of periods' files, load them, report.

An ingest asset calls :func:`ingest` with the files of each period in its run (one
period, or a range when a backfill runs many in one go):

1. the files are read in parallel worker processes (:mod:`ingest.parallel`);
2. in the same workers, the DfE-style rules run on each file's rows as read (sources
   declared with ``dfe_rules``: :func:`checks.quality_runs.with_rule_findings`);
3. periods are written with :func:`ingest.load.write_loads` in batches of up to
   ``BATCH_ROWS`` rows, each replacing what those periods held before; an authority that
   sent no file of the source for a period gets a ``not supplied`` row in ``quality.load_audit``;
   a period whose files were all loaded before, unchanged, by the same loading code and settings
   is not read again: its audit, rejects and findings are read back from the warehouse for the
   checks (:mod:`ingest.unchanged`);
4. a source never supplied still gets its (empty) ``raw.*`` tables, so everything downstream
   runs on any subset of sources;
5. the Great Expectations suites run once over the rows now stored for the run's periods;
6. the asset's check results and metadata (counts only) are returned.

A file that could not be read (or that belongs to another period) is recorded in
``quality.load_audit`` as ``failed`` with 0 rows loaded and nothing of it kept; the other files
load, and the check ``files_readable`` (error, not blocking) fails with the reader's message, so
the rest of the partnership's figures are still produced (the marts mark what that file would
have fed as not available) and ``neglect run`` ends with the message and exit code 1.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

import pandas as pd
from dagster import AssetCheckResult, AssetCheckSeverity, AssetExecutionContext, MetadataValue

from checks import expectations, quality_runs
from checks import ingest as ingest_rules
from ingest.files import FileLoad, empty_load, not_supplied
from ingest.load import write_loads
from ingest.parallel import read_in_order
from ingest.unchanged import loading_fingerprint, unchanged_periods
from ingest.write import audit_frame, table_names
from sources.registry import Source

BATCH_ROWS = 1_000_000  # rows read before the waiting periods are written to the warehouse


@dataclass
class IngestOutcome:
    audit: list[pd.DataFrame] = field(default_factory=list)
    rejects: list[pd.DataFrame] = field(default_factory=list)
    findings: list[pd.DataFrame] = field(default_factory=list)
    validations: list = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def ingest(context: AssetExecutionContext, *, source: Source, periods: list[tuple[date, list[Path]]],
           load_file: Callable[[Path, date], FileLoad], warehouse, identity_store, key: bytes, authorities: list[str],
           output_dir: Path, incoming: Path, problems: dict | None = None,
           on_crash: Callable[[Path, date, str], FileLoad] | None = None,
           max_reject_share: float = ingest_rules.MAX_FILE_REJECT_SHARE
           ) -> tuple[dict, list[AssetCheckResult]]:
    """Load ``periods`` (period end, files) of ``source``; return (metadata, check results).

    ``authorities``: the LA numbers of the incoming folder; one without a file for a period is
    recorded as not supplied. ``incoming``: that folder; ``problems``: what its scan said about files
    (path -> message). ``on_crash``: the refusal of a file whose reading killed its worker.
    ``max_reject_share``: a file with more of its rows rejected fails the blocking ``structure`` check
    (setting ``max_file_reject_share``). Periods whose files were loaded before, unchanged, with the same
    loading fingerprint are not read again (:mod:`ingest.unchanged`).
    """
    out = IngestOutcome()
    tables = list(source.tables)
    fingerprint = loading_fingerprint(source, key, authorities, problems or {}, max_reject_share)
    with warehouse.get_connection() as conn:
        unchanged = unchanged_periods(conn, source.name, periods, incoming, fingerprint)
    if unchanged:
        context.log.info(f"{source.name}: {len(unchanged)} of {len(periods)} period(s) unchanged since they were "
                         "loaded (same files, same loading code and settings): not read again")
    expectations.preload_in_background()  # overlaps with the reading, which happens in other processes
    reads = read_in_order(load_file, [(path, period_end) for period_end, files in periods if period_end not in unchanged
                                      for path in files], on_crash)
    try:
        metadata, checks, audit = _load_all(context, out, source, periods, reads, warehouse, identity_store, key,
                                            authorities, tables, max_reject_share, unchanged, fingerprint)
    finally:
        reads.close()  # the reader processes end here, with the step (see ingest.parallel)
    docs = quality_runs.write_data_docs(out.validations, output_dir, source.name)
    if docs:
        metadata["data_docs"] = MetadataValue.path(str(docs))
    return metadata, checks


def _load_all(context, out: IngestOutcome, source: Source, periods, reads, warehouse, identity_store, key,
              authorities, tables, max_reject_share, unchanged: set[date], fingerprint: str):
    with warehouse.get_connection() as wconn, identity_store.get_connection() as iconn:
        if unchanged:
            _report_stored(wconn, out, source, sorted(unchanged))
        batch: list[tuple[date, list[FileLoad]]] = []
        for period_end, files in periods:
            if period_end in unchanged:
                continue
            loads = [_checked(next(reads), period_end, out.errors) for _ in files]
            supplied = {l.la_code for l in loads}
            loads += [not_supplied(source.name, la, period_end) for la in authorities if la not in supplied]
            batch.append((period_end, loads))
            if files:
                context.log.info(f"{source.name} period ending {period_end}: {len(files)} file(s), "
                                 f"{sum(l.rows_loaded for l in loads):,} rows loaded, "
                                 f"{sum(l.rows_rejected for l in loads):,} rejected, "
                                 f"{sum(1 for l in loads if l.error)} unreadable")
            rows_waiting = sum(l.rows_loaded for _, period_loads in batch for l in period_loads)
            if rows_waiting >= BATCH_ROWS:
                _write_batch(context, out, batch, wconn, iconn, source, key, fingerprint)
                batch = []
        if batch:
            _write_batch(context, out, batch, wconn, iconn, source, key, fingerprint)
        _ensure_tables(context, wconn, iconn, source, key)
        if periods:
            out.validations = quality_runs.validate_periods(wconn, source.name, [f"raw.{t}" for t in tables],
                                                            [p for p, _ in periods])
        audit = pd.concat(out.audit, ignore_index=True) if out.audit else audit_frame([], "")
        checks = _check_results(wconn, source, audit, out, [p for p, _ in periods], max_reject_share)
    files = audit[audit["status"] != "not supplied"] if len(audit) else audit
    metadata = {
        "periods": MetadataValue.json([p.isoformat() for p, _ in periods]),
        "files": int(len(files)),
        "rows_read": int(files["rows_read"].sum()) if len(files) else 0,
        "rows_loaded_by_table": MetadataValue.json(out.rows),
        "rows_rejected": int(files["rows_rejected"].sum()) if len(files) else 0,
        "not_supplied": int((audit["status"] == "not supplied").sum()) if len(audit) else 0,
    }
    return metadata, checks, audit


def _ensure_tables(context, wconn, iconn, source: Source, key: bytes) -> None:
    """Create the source's raw tables, empty, if no file of it has ever been loaded (any subset of sources)."""
    ensure_source_tables(wconn, iconn, source, key, context.run.run_id)


def ensure_source_tables(wconn, iconn, source: Source, key: bytes, run_id: str) -> None:
    """Create ``source``'s raw (and identity) tables, empty, if they do not exist: for a source whose asset
    never ran (no census return at all: the census job is not even planned), what reads them still runs."""
    existing = table_names(wconn, "raw")
    if all(t in existing for t in source.tables):
        return
    load = empty_load(source)
    write_loads(wconn, iconn, source.name, [t for t in source.tables if t not in existing], [load], [], key,
                run_id, source.geography, write_audit=False)


def _checked(load: FileLoad, period_end: date, errors: list[str]) -> FileLoad:
    """The load, refused if it could not be read or belongs to another period (its folder's)."""
    if not load.error and load.period_end != period_end:
        load.refuse(f"{load.file}: the file is for the period ending {load.period_end}, but it is in the folder "
                    f"of {period_end}; move it to its own period's folder")
    if load.error:
        load.period_end = period_end
        errors.append(load.error)
    return load


def _report_stored(conn, out: IngestOutcome, source: Source, periods: list[date]) -> None:
    """What the unchanged ``periods`` loaded before (audit, rejects, rule findings), read back for the checks."""
    where = "WHERE source = ? AND period_end IN (SELECT unnest(?::DATE[]))"
    out.audit.append(_stored(conn, f"SELECT * FROM quality.load_audit {where}", [source.name, periods]))
    out.rejects.append(_stored(conn, f"SELECT * FROM quality.rejects {where}", [source.name, periods]))
    if source.dfe_rules:
        out.findings.append(_stored(conn, f"SELECT * EXCLUDE (source) FROM quality.rule_findings {where}",
                                    [source.name, periods]))
    for table in source.tables:
        rows = conn.execute(f"SELECT count(*) FROM raw.{table} WHERE period_end IN (SELECT unnest(?::DATE[]))",
                            [periods]).fetchall()[0][0]
        out.rows[f"raw.{table}"] = out.rows.get(f"raw.{table}", 0) + int(rows)


def _stored(conn, sql: str, params: list) -> pd.DataFrame:
    """Rows read back from a quality table with ``period_end`` as dates, as this run's new loads hold it: DuckDB
    gives timestamps, and a column mixing the two cannot be sorted (the structure check sorts the periods not
    supplied, stored and new together: a refresh after an authority's file was removed failed there)."""
    frame = conn.execute(sql, params).df()
    if "period_end" in frame and pd.api.types.is_datetime64_any_dtype(frame["period_end"]):
        frame["period_end"] = frame["period_end"].dt.date
    return frame


def _write_batch(context, out: IngestOutcome, batch, wconn, iconn, source: Source, key, fingerprint) -> None:
    """Write several periods' loads at once (fewer, larger transactions than one per period)."""
    loads = [l for _, period_loads in batch for l in period_loads]
    findings = [l.findings for l in loads if l.findings is not None]
    all_findings = pd.concat(findings, ignore_index=True) if findings else None
    if all_findings is None and source.dfe_rules:
        all_findings = pd.DataFrame(columns=quality_runs.FINDING_COLUMNS)  # clear earlier findings of these periods
    written = write_loads(wconn, iconn, source.name, list(source.tables), loads, [p for p, _ in batch], key,
                          context.run.run_id, source.geography, all_findings, fingerprint=fingerprint)
    for w in written.tables:
        out.rows[w.table] = out.rows.get(w.table, 0) + w.rows
    out.audit.append(written.audit)
    out.rejects.append(written.rejects)
    if all_findings is not None:
        out.findings.append(all_findings)


def _check_results(conn, source: Source, audit, out, periods, max_reject_share: float) -> list[AssetCheckResult]:
    existing = table_names(conn, "raw")
    raw_tables = [f"raw.{t}" for t in source.tables if t in existing]
    rejects = pd.concat(out.rejects, ignore_index=True) if out.rejects else pd.DataFrame()
    structure = ingest_rules.load_structure(conn, raw_tables, audit, periods, source.required, rejects,
                                            max_reject_share)
    readable = ingest_rules.files_readable(out.errors)
    rate = ingest_rules.reject_rate(audit, rejects)
    results = [
        AssetCheckResult(check_name="structure", passed=structure.passed, severity=AssetCheckSeverity.ERROR,
                         description=structure.description, metadata=_meta(structure.metadata)),
        AssetCheckResult(check_name="files_readable", passed=readable.passed, severity=AssetCheckSeverity.ERROR,
                         description=readable.description, metadata=_meta(readable.metadata)),
        AssetCheckResult(check_name="reject_rate", passed=rate.passed, severity=AssetCheckSeverity.WARN,
                         description=rate.description, metadata=_meta(rate.metadata)),
    ]
    expectations = quality_runs.expectations_outcome(out.validations)
    results.append(AssetCheckResult(check_name="expectations", passed=expectations.passed,
                                    severity=AssetCheckSeverity.WARN, description=expectations.description,
                                    metadata=_meta(expectations.metadata)))
    if source.dfe_rules:
        found = [f for f in out.findings if len(f)]
        rules = quality_runs.findings_outcome(pd.concat(found, ignore_index=True) if found else
                                              pd.DataFrame(columns=quality_runs.FINDING_COLUMNS))
        results.append(AssetCheckResult(check_name="dfe_rules", passed=rules.passed, severity=AssetCheckSeverity.WARN,
                                        description=rules.description, metadata=_meta(rules.metadata)))
    return results


def _meta(values: dict) -> dict:
    return {k: (MetadataValue.json(v) if isinstance(v, (dict, list)) else v) for k, v in values.items()}
