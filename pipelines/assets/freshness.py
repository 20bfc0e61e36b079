"""What a refresh does not rebuild: an asset after the extracts whose inputs are what they were at its last build.

Every asset after the extracts (linkage, the marts, the board pack) is a deterministic function of what the
extracts left in the warehouse, of the code and of the settings (the repeatability tests hold it to that), and
of the state its own last build left (person keys carried over, publication history), which an unchanged
input leaves as it was. So each build stores its **input version** with the quarters it was built for and
what it reported (``cache.asset_builds``: ``source`` = the asset, ``periods``, ``input_version``, ``report``;
:mod:`pipelines.assets.reuse`). The input version is a SHA-256 of

* the **code version**: every file of ``models/``, ``dashboards/``, ``pipelines/``, ``checks/``, ``ingest/``
  and ``sources/`` (not the synthetic generator), the definitions file and shipped reference tables included,
  and the versions of the libraries that compute figures (DuckDB, pandas, NumPy, SciPy, Splink, Plotly ...),
  and whether a Chromium is there to draw the board pack's PNG charts;
* the **settings version**: every setting that is not a path or a wait (thresholds, the sampler's draws, the
  protective marking ...), the linkage model file's content and the extra source declarations' content;
* the **data version** of the extracts: for every ``raw.*`` table and the quality tables ingest writes
  (``quality.load_audit`` without its load time and run id, ``quality.rejects``, ``quality.rule_findings``,
  ``quality.expectation_results``) the row count and the sum of DuckDB's row hashes. The identity store is
  covered by the load audit: its rows are a function of the files loaded (each file's SHA-256) and the
  loading fingerprint (:mod:`ingest.unchanged`);
* the asset's own name.

A build for the same quarters whose input version is the stored one, whose tables exist and (the board pack)
whose files are as written (``cache.asset_files``: each file's SHA-256) is **not recomputed**. Anything else
(a file changed, added or removed; the code or a setting changed; a table dropped; other quarters) rebuilds
it from scratch, as before. ``NEGLECT_RECOMPUTE_ALL=1`` rebuilds everything whatever the versions say (with
``NEGLECT_READ_ALL=1``, which reads every file again, it is a full recomputation on the warehouse's state).

An asset can version its inputs more finely (``@reusable(version=...)``): a reference source versions the files it
reads (:func:`files_version`; the extracts' sources their periods' files, :mod:`ingest.unchanged`), linkage only what it reads,
the child and adult records (:func:`pipelines.assets.linkage._linkage_version`), so a file changed in fields
linkage does not read leaves the links as they were. The marts and the board pack declare the warehouse tables
they read (``@reusable(reads=...)``, :func:`reads_version`): their input version is those tables' contents, so
an upstream asset rebuilt to the same tables leaves them as they were (early cutoff; the declarations are held
to the queries really run by tests/test_declared_reads.py). Granularity, and what it does not do yet: a
version is one for all the quarters of the run, so a change that reaches the evidence mart rebuilds every mart
after it for every quarter (issue 18 asks for per-quarter rebuilds and for linkage to re-score only the records
that changed when some did).
"""
import hashlib
import os
from dataclasses import dataclass, fields
from datetime import date
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path

import pandas as pd

from dashboards.exports import find_chromium
from ingest.files import file_digest
from ingest.keyed_cache import library_versions
from ingest.write import QUALITY_TABLES, replace_frame, table_names
from sources.errors import SourceFileError
from sources.incoming import find_reference

PROJECT = Path(__file__).resolve().parents[2]  # pipelines/assets/freshness.py -> the repository
CODE = ("models", "dashboards", "pipelines", "checks", "ingest", "sources")
NOT_CODE = ("sources/synthetic",)
LIBRARIES = ("duckdb", "pandas", "numpy", "scipy", "splink", "plotly", "kaleido", "openpyxl", "pyarrow",
             "statsmodels", "highspy", "dagster")
BUILDS_TABLE = "cache.asset_builds"
FILES_TABLE = "cache.asset_files"
NOT_SETTINGS = ("wait_minutes",)  # how long to wait for the warehouse: no figure depends on it
# quality.load_audit's load time and run id change on every load, not with the rows
AUDIT_NOT_DATA = ("loaded_at", "run_id")
# quality.load_audit's columns that identify a file's bytes (its SHA-256, size, the loading code's fingerprint), not
# what was read from it: no mart, check or dashboard reads them (tests/test_declared_reads.py), so an asset versioned
# by the tables it reads leaves them out: a file rewritten with the same rows changes none of its inputs
FILE_IDENTITY = ("file_sha256", "file_bytes", "loaded_with")
RECOMPUTE_ALL = "NEGLECT_RECOMPUTE_ALL"


@lru_cache(maxsize=1)
def code_version() -> str:
    """SHA-256 of the project's code and data files (path and content) and the figure libraries' versions."""
    digest = hashlib.sha256()
    skip = [PROJECT / p for p in NOT_CODE]
    for root in CODE:
        for file in sorted((PROJECT / root).rglob("*")):
            if not file.is_file() or "__pycache__" in file.parts or file.suffix == ".pyc" \
                    or any(file.is_relative_to(s) for s in skip):
                continue
            digest.update(file.relative_to(PROJECT).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    digest.update(f"chromium={find_chromium() is not None}\n".encode())  # the board pack's PNGs need one
    digest.update(library_versions(LIBRARIES).encode())
    return digest.hexdigest()


def settings_version(settings) -> str:
    """SHA-256 of the settings a figure can depend on (``settings``: a :class:`pipelines.settings.Settings`):
    every field that is not a path or a wait, the linkage model file's content and the extra source
    declarations' content (paths themselves differ between copies of one project)."""
    digest = hashlib.sha256()
    for f in fields(settings):
        value = getattr(settings, f.name)
        if isinstance(value, Path) or f.name in NOT_SETTINGS:
            continue
        digest.update(f"{f.name}={value!r}\n".encode())
    extra = [settings.linkage_model_path] if settings.linkage_model_path else []
    for folder in settings.registry_dirs:
        extra += sorted(p for p in Path(folder).rglob("*") if p.is_file()) if Path(folder).is_dir() else []
    for path in extra:
        digest.update(path.name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"absent") + b"\0")
    return digest.hexdigest()


def data_version(conn) -> str:
    """SHA-256 of the row counts and row-hash sums of every ``raw.*`` table and the quality tables ingest
    writes (see the module docstring): what the extracts left in the warehouse."""
    tables = [f"raw.{t}" for t in sorted(table_names(conn, "raw"))]
    present = table_names(conn, "quality")
    tables += [t for t in sorted(QUALITY_TABLES) if t.split(".")[1] in present]
    return tables_digest(conn, tables)


def tables_digest(conn, tables: list[str], audit_not_data: tuple[str, ...] = AUDIT_NOT_DATA) -> str:
    """SHA-256 of each of ``tables``' name, row count and sum of DuckDB's row hashes (``quality.load_audit``
    without the columns ``audit_not_data``: by default its load time and run id), in the order given."""
    if not tables:
        return hashlib.sha256(b"").hexdigest()
    # one query for every table (DuckDB scans them in parallel; a query per table cost twice the time)
    scans = []
    for position, table in enumerate(tables):
        exclude = f" EXCLUDE ({', '.join(audit_not_data)})" if table == "quality.load_audit" else ""
        scans.append(f"SELECT {position} AS position, count(*) AS count, coalesce(sum(hash(t)), 0)::HUGEINT AS total "
                     f"FROM (SELECT *{exclude} FROM {table}) t")
    rows = conn.execute(" UNION ALL ".join(scans) + " ORDER BY position").fetchall()
    parts = [f"{tables[position]}:{count}:{total}" for position, count, total in rows]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Freshness:
    """Whether ``asset``'s build for ``periods`` (quarter ends; () for an unpartitioned asset) can be skipped."""

    asset: str
    periods: tuple[date, ...]
    input_version: str
    fresh: bool
    reason: str

    def metadata(self) -> dict:
        """What the materialisation says about it (a flag, a reason and a hash)."""
        return {"recomputed": not self.fresh, "input_version": self.input_version[:16], "why": self.reason}


def _ensure_tables(conn) -> None:
    conn.execute("CREATE SCHEMA IF NOT EXISTS cache")
    conn.execute(f"CREATE TABLE IF NOT EXISTS {BUILDS_TABLE} (source VARCHAR NOT NULL, periods VARCHAR NOT NULL, "
                 "input_version VARCHAR NOT NULL, report VARCHAR NOT NULL)")
    conn.execute(f"CREATE TABLE IF NOT EXISTS {FILES_TABLE} (source VARCHAR NOT NULL, file VARCHAR NOT NULL, "
                 "file_sha256 VARCHAR NOT NULL)")


def _periods_key(periods) -> str:
    return ",".join(p.isoformat() for p in periods) or "unpartitioned"


def files_version(paths) -> str:
    """The input version of an asset that reads files only (a reference source; ``@reusable(version=...)``):
    SHA-256 of the code version and each file's path and SHA-256, so a file changed, added, removed or moved, or
    the code changed, rebuilds it."""
    digest = hashlib.sha256(code_version().encode())
    for path in sorted(Path(p).resolve() for p in paths):
        digest.update(f"\n{path.as_posix()}\0{file_digest(path)[0]}".encode())
    return digest.hexdigest()


def reference_version(extracts, source) -> str | None:
    """The input version of a reference asset (``@reusable(version=...)``): :func:`files_version` of the files it
    would read from ``extracts`` (an :class:`pipelines.resources.IncomingExtracts`) for the registry ``source``
    (its shipped copy when none is supplied; an optional source with neither: no files). None when a required
    source has none, or the files cannot be listed or read: the asset then runs and says why."""
    try:
        found = find_reference(extracts.root, source) or ([source.shipped_path] if source.shipped else [])
        return None if source.required and not found else files_version(found)
    except (SourceFileError, OSError):  # e.g. a file that cannot be opened: the asset says so when it reads
        return None


def tables_read(conn, reads: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The warehouse tables ``reads`` names (``schema.name``, or a pattern such as ``raw.published_*``), sorted:
    (those that exist, the names of those that do not)."""
    present = sorted({f"{schema}.{name}" for schema in {r.split(".")[0] for r in reads}
                      for name in table_names(conn, schema)})
    found = sorted({t for t in present if any(fnmatchcase(t, r) for r in reads)})
    absent = sorted(r for r in reads if not any(fnmatchcase(t, r) for t in present))
    return found, absent


def reads_version(conn, asset: str, settings_digest: str, reads: tuple[str, ...]) -> str:
    """The input version of ``asset`` that declares the tables it reads (``@reusable(reads=...)``): SHA-256 of the
    code version, the settings, the asset's name and the contents of those tables now (a declared table that
    does not exist yet counts as absent). ``quality.load_audit`` is taken without the columns that identify a
    file's bytes rather than what was read from it (:data:`FILE_IDENTITY`), and without its load time and run id."""
    found, absent = tables_read(conn, reads)
    contents = tables_digest(conn, found, AUDIT_NOT_DATA + FILE_IDENTITY)
    return hashlib.sha256("\n".join([code_version(), settings_digest, contents, "absent:" + ",".join(absent),
                                      asset]).encode()).hexdigest()


def input_version(conn, asset: str, settings_digest: str) -> str:
    """The input version of ``asset`` now (see the module docstring)."""
    return hashlib.sha256("\n".join([code_version(), settings_digest, data_version(conn), asset]).encode()
                          ).hexdigest()


def recompute_all() -> bool:
    """``NEGLECT_RECOMPUTE_ALL=1``: every asset is rebuilt whatever the versions say, and every quarter of an asset
    that otherwise keeps the quarters whose inputs are unchanged (hidden prevalence)."""
    return os.environ.get(RECOMPUTE_ALL) == "1"


def freshness(conn, asset: str, periods, version: str, outputs: tuple[str, ...] = (),
              files_root: Path | None = None) -> Freshness:
    """Was ``asset`` (e.g. ``marts/neglect_prevalence``) last built for the quarters ``periods`` from inputs of
    ``version`` (:func:`input_version`, or an asset's own)? ``outputs``: warehouse tables it writes (all must
    exist); ``files_root``: the folder its recorded files are under (each must still have its SHA-256)."""
    periods = tuple(sorted(periods))
    if recompute_all():
        return Freshness(asset, periods, version, False, f"{RECOMPUTE_ALL}=1: every asset is rebuilt")
    _ensure_tables(conn)
    stored = conn.execute(f"SELECT periods, input_version FROM {BUILDS_TABLE} WHERE source = ?", [asset]).fetchall()
    label = _label(periods)
    if not stored:
        return Freshness(asset, periods, version, False, "never built in this warehouse")
    if stored[0][0] != _periods_key(periods):
        return Freshness(asset, periods, version, False, f"its last build was for other quarters than {label}")
    if stored[0][1] != version:
        return Freshness(asset, periods, version, False, "its inputs (extracts, code or settings) changed since it "
                                                         f"was built for {label}")
    absent = [t for t in outputs if t.split(".")[1] not in table_names(conn, t.split(".")[0])]
    if absent:
        return Freshness(asset, periods, version, False, f"table {absent[0]} is missing")
    altered = _altered_files(conn, asset, files_root) if files_root is not None else None
    if altered:
        return Freshness(asset, periods, version, False, f"output file {altered} is missing or was changed")
    return Freshness(asset, periods, version, True, f"not recomputed for {label}: inputs unchanged since it was "
                                                    "built (same extracts, code and settings)")


def _label(periods) -> str:
    named = [p.isoformat() for p in periods]
    if not named:
        return "the partnership"
    return f"the quarter ending {named[0]}" if len(named) == 1 else f"{len(named)} quarters ({named[0]}..{named[-1]})"


def _altered_files(conn, asset: str, root: Path) -> str | None:
    """The first file the last build of ``asset`` wrote that is missing or differs now; None when all are as
    written."""
    rows = conn.execute(f"SELECT file, file_sha256 FROM {FILES_TABLE} WHERE source = ? ORDER BY ALL",
                        [asset]).fetchall()
    for file, sha in rows:
        path = root / file
        if not path.is_file() or file_digest(path)[0] != sha:
            return file
    return None


def record_build(conn, found: Freshness, report: str, files_root: Path | None = None, files=()) -> None:
    """Store ``found.input_version`` and ``report`` (what the build reported, serialised) as ``found.asset``'s last
    build and, for an asset that writes files, the SHA-256 of each of ``files`` (relative to ``files_root``)."""
    _ensure_tables(conn)
    frame = pd.DataFrame({"source": [found.asset], "periods": [_periods_key(found.periods)],
                          "input_version": [found.input_version], "report": [report]})
    replace_frame(conn, BUILDS_TABLE, frame, None, found.asset)
    if files_root is not None:
        paths = sorted(files)
        rows = pd.DataFrame({"source": found.asset, "file": [p.relative_to(files_root).as_posix() for p in paths],
                             "file_sha256": [file_digest(p)[0] for p in paths]})
        replace_frame(conn, FILES_TABLE, rows, None, found.asset)
