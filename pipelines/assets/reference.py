"""Reference data: one unpartitioned asset per reference source of the registry.

The ONS population (``raw/ons_population``, :mod:`pipelines.assets.population`) has its own
asset and checks; every other reference source declared in ``sources/registry/`` with
``partitioning: reference`` (postcode lookup, deprivation by LSOA, ward boundaries, LA codes)
gets an asset here that replaces one ``raw.*`` table from its file under
``<incoming>/reference/`` (which file: the declaration's ``files`` patterns). These are public
data (no personal data), loaded as read; rows breaking a rule go to ``quality.rejects`` and the
file to ``quality.load_audit`` like every extract. A reference asset whose files (and the code) are as at its last
build is not read again (``@reusable``, version :func:`.freshness.reference_version`): it reports its last build.

An optional source with a ``shipped`` copy (the published benchmarks and statistical neighbours in
``models/marts/reference/published/``) reads that copy when ``reference/`` has no file of it: a file
dropped there replaces it. The load audit names the file read (``shipped: <path>`` for the copy).

A required reference file that is missing or unreadable fails its asset with the reader's
message. An optional one that is missing is recorded as ``not supplied`` and its table is
created empty (so the pipeline runs: children get no ward or deprivation decile, the report
has no map), never silently. An optional one that cannot be read is recorded as ``failed``
with the reader's message, its table is created empty, and the asset's ``files_readable``
check (error, not blocking) fails with the message: the rest of the run goes on without it.
"""
import dataclasses
from pathlib import Path

import pandas as pd
from dagster import (AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext, AssetKey, Failure,
                     MaterializeResult, MetadataValue, asset)

from ingest.files import file_digest, reject_rows, unexpected
from ingest.write import ensure_quality_tables, replace_frame, replace_table
from sources.errors import SourceFileError
from sources.incoming import find_reference
from sources.registry import Registry, Source, resolve
from sources.schema import load_schema

from ..resources import IncomingExtracts, WarehouseResource
from .freshness import reference_version
from .population import WAREHOUSE_POOL
from .reuse import reusable

POPULATION = "ons_population"  # has its own asset (pipelines/assets/population.py)


def load_reference(conn, source: Source, path: Path | list[Path], incoming: Path, run_id: str):
    """Replace raw.<name> with the rows of the file, or of every file a declaration's folder pattern matches
    (one LSOA population file per mid-year, ONS's projections one file per sex); returns the read (rows,
    rejects, counts, notes), one audit row per file."""
    paths = list(path) if isinstance(path, (list, tuple)) else [path]
    reads, rejects, audits = [], [], []
    for one in paths:
        read = resolve(source.reader)(one)
        if one.is_relative_to(incoming):
            rel = one.relative_to(incoming).as_posix()
        else:
            rel = f"shipped: {source.shipped}" if one == source.shipped_path else one.name
        sha, size = file_digest(one)
        position = getattr(read, "position", "line")
        rejects.append(reject_rows(source.name, read.rejects["source_line"], read.rejects["field"],
                                   read.rejects["rule"], "row_rejected", read.rejects["message"],
                                   where=position + " ").assign(source=source.name, file=rel))
        audits.append({"source": source.name, "file": rel, "file_sha256": sha, "file_bytes": size,
                       "encoding": read.encoding, "rows_read": read.rows_read, "rows_loaded": len(read.rows),
                       "rows_rejected": read.rejected_lines, "rows_flagged": 0, "status": "loaded",
                       "loaded_at": pd.Timestamp.now(), "run_id": run_id})
        reads.append(read)
    read = reads[0]
    if len(reads) > 1:
        read = dataclasses.replace(read, rows=pd.concat([r.rows for r in reads], ignore_index=True),
                                   rejects=pd.concat([r.rejects for r in reads], ignore_index=True),
                                   rows_read=sum(r.rows_read for r in reads))
        read.notes = [n for r in reads for n in getattr(r, "notes", [])]
    _replace(conn, source, pd.concat(rejects, ignore_index=True), pd.DataFrame(audits), read.rows)
    return read


def create_empty(conn, source: Source, run_id: str, file: str | None = None, message: str | None = None) -> None:
    """An optional reference file not supplied (or, with ``message``, refused): its table, empty (the schema's
    output columns as text)."""
    columns = load_schema(source.schema, Path(source.schema_dir)).output_columns
    audit = pd.DataFrame([{"source": source.name, "file": file, "rows_read": 0, "rows_loaded": 0,
                           "rows_rejected": 0, "rows_flagged": 0, "status": "failed" if message else "not supplied",
                           "message": message, "loaded_at": pd.Timestamp.now(), "run_id": run_id}])
    _replace(conn, source, pd.DataFrame(), audit, pd.DataFrame({c: pd.Series(dtype="string") for c in columns}))


def _replace(conn, source: Source, rejects: pd.DataFrame, audit: pd.DataFrame, rows: pd.DataFrame) -> None:
    ensure_quality_tables(conn)
    conn.execute("BEGIN TRANSACTION")
    replace_table(conn, f"raw.{source.name}", rows)
    replace_frame(conn, "quality.rejects", rejects, None, source.name)
    replace_frame(conn, "quality.load_audit", audit, None, source.name)
    conn.execute("COMMIT")


def build_reference_asset(source: Source):
    readable = AssetCheckSpec("files_readable", asset=AssetKey(["raw", source.name]),
                              description="Error (not blocking): the file could be read; one that cannot is not "
                                          "loaded (its table is left empty) and named here with the position and "
                                          "what was expected.")

    @asset(key=AssetKey(["raw", source.name]), group_name="reference", pool=WAREHOUSE_POOL, kinds={"duckdb"},
           check_specs=[] if source.required else [readable],
           description=f"{source.label}. {source.description} Files: "
                       f"{', '.join('reference/' + f for f in source.files)}. Declared in sources/registry/.")
    @reusable(outputs=(f"raw.{source.name}",),
              version=lambda context, conn, resources: reference_version(resources["extracts"], source))
    def _reference(context: AssetExecutionContext, warehouse: WarehouseResource,
                   extracts: IncomingExtracts) -> MaterializeResult:
        checks = [] if source.required else [AssetCheckResult(check_name="files_readable", passed=True,
                                                              description="the file could be read (or none was "
                                                                          "supplied)")]
        try:
            found = find_reference(extracts.root, source) or ([source.shipped_path] if source.shipped else [])
            if not found:
                if source.required:
                    raise Failure(description=f"no {source.label} file in {extracts.root / 'reference'}: expected "
                                              f"a file named like {' or '.join(source.files)} (a required source)")
                with warehouse.get_connection() as conn:
                    create_empty(conn, source, context.run.run_id)
                context.log.warning(f"{source.name}: not supplied (no file named like {' or '.join(source.files)} "
                                    "in reference/); its table is empty")
                return MaterializeResult(metadata={"dagster/row_count": 0, "status": "not supplied"},
                                         check_results=checks)
            # a folder pattern (population_lsoa/*.csv: one file per mid-year) gives every file it matches
            path = found if len(found) > 1 else found[0]
            with warehouse.get_connection() as conn:
                read = load_reference(conn, source, found, extracts.root, context.run.run_id)
        except SourceFileError as exc:
            return _unreadable(context, warehouse, source, str(exc), exc.display)
        except Failure:
            raise
        except Exception as exc:  # noqa: BLE001 - a reader's fault fails this file only (an optional source)
            return _unreadable(context, warehouse, source, f"{source.label}, file: {unexpected(exc)}", None)
        notes = list(getattr(read, "notes", []))  # e.g. "several ward vintages: used wd24cd"
        names = ", ".join(p.name for p in (path if isinstance(path, list) else [path]))
        context.log.info(f"{source.name}: {len(read.rows):,} rows loaded, {read.rejected_lines:,} rejected "
                         f"from {names}")
        return MaterializeResult(metadata={
            "dagster/row_count": len(read.rows), "rows_read": read.rows_read, "rows_rejected": read.rejected_lines,
            "file": MetadataValue.path(str(path if not isinstance(path, list) else path[0].parent)),
            "notes": MetadataValue.json(notes)}, check_results=checks)

    return _reference


def _unreadable(context, warehouse, source: Source, message: str, file: str | None) -> MaterializeResult:
    """A reference file that could not be read: a required source stops the run; an optional one is recorded
    as failed, its table left empty, and its files_readable check fails."""
    if source.required:
        raise Failure(description=message)
    with warehouse.get_connection() as conn:
        create_empty(conn, source, context.run.run_id, file=file, message=message)
    context.log.warning(f"{source.name}: the file could not be read; its table is empty")
    return MaterializeResult(
        metadata={"dagster/row_count": 0, "status": "failed"},
        check_results=[AssetCheckResult(check_name="files_readable", passed=False, severity=AssetCheckSeverity.ERROR,
                                        description=f"1 file could not be read and was not loaded: {message}",
                                        metadata={"unreadable_files": 1})])


def build_reference_assets(registry: Registry) -> list:
    return [build_reference_asset(s) for s in registry.reference() if s.name != POPULATION]
