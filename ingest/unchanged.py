"""Periods whose files have not changed since they were loaded are not read again.

A source's period is *unchanged* when its rows in ``quality.load_audit`` all come from one earlier load
of exactly the files the incoming folder now holds for it (each file's path and SHA-256), none of them
refused, with the same *loading fingerprint*. The fingerprint is a hash of everything else that decides
what loading writes:

* the code that reads, checks and pseudonymises (``sources/`` except the synthetic generator,
  ``checks/``, ``ingest/`` and ``pipelines/assets/ingest_run.py``): any change to it reloads every period;
* the source's declaration in the registry (its schema, columns, reader);
* the pseudonym key (its SHA-256: the key itself is never stored);
* the authorities of the incoming folder (they decide which *not supplied* rows there are);
* what the scan said about the period's files (e.g. a workbook's list skipped because the list came as
  its own file) and the setting ``max_file_reject_share``.

An unchanged period's raw rows, identity rows, rejects, rule findings and audit rows are already what
reading it again would write, so :mod:`pipelines.assets.ingest_run` reports them from the warehouse
instead. A period with a refused file is always read again (its refusal is reported every run), and
setting the environment variable ``NEGLECT_READ_ALL=1`` reads every period again.
"""
from __future__ import annotations

import hashlib
import os
from datetime import date
from functools import lru_cache
from pathlib import Path

import duckdb

from .files import file_digest
from .write import table_columns

PROJECT = Path(__file__).resolve().parents[1]  # ingest/unchanged.py -> the repository
LOADING_CODE = ["sources", "checks", "ingest", "pipelines/assets/ingest_run.py"]
NOT_LOADING_CODE = ["sources/synthetic"]


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 of the loading code's Python and YAML files (path and content), in path order."""
    digest = hashlib.sha256()
    skip = [PROJECT / p for p in NOT_LOADING_CODE]
    for root in LOADING_CODE:
        path = PROJECT / root
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.suffix in {".py", ".yaml", ".yml"})
        for file in files:
            if any(file.is_relative_to(s) for s in skip) or "__pycache__" in file.parts:
                continue
            digest.update(file.relative_to(PROJECT).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def loading_fingerprint(source, key: bytes, authorities: list[str], problems: dict, max_reject_share: float) -> str:
    """The fingerprint of one source's loading in this run (see the module docstring)."""
    parts = [code_fingerprint(), repr(source), hashlib.sha256(key).hexdigest(), ",".join(sorted(authorities)),
             repr(sorted((str(p), str(m)) for p, m in problems.items())), repr(float(max_reject_share))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def unchanged_periods(conn: duckdb.DuckDBPyConnection, source: str, periods: list[tuple[date, list[Path]]],
                      incoming: Path, fingerprint: str) -> set[date]:
    """The period ends of ``periods`` (period end, files) whose files were all loaded before, unchanged,
    with ``fingerprint`` (and whose raw tables still exist)."""
    if os.environ.get("NEGLECT_READ_ALL") == "1" or not periods:
        return set()
    if "loaded_with" not in (table_columns(conn, "quality.load_audit") or []):  # never loaded, or loaded before fingerprints
        return set()
    rows = conn.execute("""
        SELECT period_end, file, file_sha256, status, loaded_with, run_id FROM quality.load_audit
        WHERE source = ? AND period_end IN (SELECT unnest(?::DATE[]))""",
                        [source, [p for p, _ in periods]]).fetchall()
    stored: dict[date, list[tuple]] = {}
    for period_end, *rest in rows:
        stored.setdefault(period_end, []).append(tuple(rest))
    unchanged = set()
    for period_end, files in periods:
        audit = stored.get(period_end)
        if not audit or {r[3] for r in audit} != {fingerprint} or len({r[4] for r in audit}) != 1 \
                or any(r[2] == "failed" for r in audit):
            continue
        loaded = sorted((r[0], r[1]) for r in audit if r[2] != "not supplied")
        present = sorted((Path(f).relative_to(incoming).as_posix(), file_digest(Path(f))[0]) for f in files)
        if loaded == present:
            unchanged.add(period_end)
    return unchanged
