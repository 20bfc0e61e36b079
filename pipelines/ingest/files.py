"""Find a source's files for a period and read each one into a :class:`FileLoad`.

The incoming folder is laid out ``<incoming>/<authority>/<quarter end>/<file>``, where the
authority folder starts with the DfE three-digit LA number (``991_northbrook``). A file
is read by the source's reader (``sources/``); the result, whatever the reader, becomes
a :class:`FileLoad`: its rows per raw table, its rejects in one layout, and the counts
that ``quality.load_audit`` keeps (``rows_read == rows_loaded + rows_rejected``).

Every row gets a ``record_id``: ``<authority>/<quarter end>/<file>#<location>``, where
the location is the line number (CSV, .xlsx sheet row) or the XML element path
(``Child[12]/CINdetails[2]``). It names where the row came from and nothing about whom.
A file that cannot be read at all gives a FileLoad with ``error`` set and no rows.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Callable

import pandas as pd

from sources.cin_census import CinCensusResult
from sources.errors import SourceFileError
from sources.tabular import TableRead

AUTHORITY_FOLDER = re.compile(r"^(?P<la_code>\d{3})(_|$)")
REJECT_LAYOUT = ["table_name", "location", "source_line", "field", "rule", "action", "message"]


@dataclass
class FileLoad:
    """One extract file, read. ``tables`` hold identifiers: they never leave the ingest step."""

    source: str
    file: str  # path relative to the incoming folder
    la_code: str
    period_end: date
    sha256: str
    size_bytes: int
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    rejects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECT_LAYOUT))
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_flagged: int = 0
    encoding: str = ""
    error: str | None = None  # the reader's message when the file could not be read
    findings: pd.DataFrame | None = None  # DfE-style rule findings, for sources that have rules

    @property
    def status(self) -> str:
        return "failed" if self.error else "loaded"


def authority_folders(incoming: Path) -> list[Path]:
    """The authority folders of ``incoming`` (``991_northbrook`` ...): every folder except ``reference``."""
    incoming = Path(incoming)
    if not incoming.is_dir():
        return []
    return sorted(p for p in incoming.iterdir() if p.is_dir() and p.name != "reference")


def period_ends(incoming: Path) -> list[date]:
    """Every quarter end that names a period folder ``<authority>/<YYYY-MM-DD>/`` in ``incoming``."""
    ends = set()
    for authority in authority_folders(incoming):
        for folder in authority.iterdir():
            try:
                end = date.fromisoformat(folder.name)
            except ValueError:
                continue
            if folder.is_dir() and end.month in (3, 6, 9, 12) and (end + timedelta(days=1)).day == 1:
                ends.add(end)
    return sorted(ends)


def la_code_of(path: Path, incoming: Path) -> str:
    """The DfE LA number from the authority folder of ``path`` (``991_northbrook/...`` -> ``'991'``)."""
    folder = Path(path).relative_to(incoming).parts[0]
    match = AUTHORITY_FOLDER.match(folder)
    if not match:
        raise SourceFileError(path, "folder", f"the authority folder '{folder}' must start with the DfE "
                                              "three-digit LA number, e.g. 991_northbrook")
    return match.group("la_code")


def file_digest(path: Path) -> tuple[str, int]:
    """(sha256 hex, size in bytes) of a file, read in 1 MiB blocks."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _add_record_ids(frame: pd.DataFrame, file: str, location: pd.Series) -> pd.DataFrame:
    frame = frame.copy()
    frame.insert(0, "record_id", (file + "#" + location.astype("string")).astype("string"))
    return frame


def load_tabular(source: str, table: str, path: Path, incoming: Path, period_end: date,
                 reader: Callable[[Path], TableRead]) -> FileLoad:
    """Read one CSV/xlsx extract with ``reader`` into a FileLoad for raw table ``table``."""
    rel = path.relative_to(incoming).as_posix()
    sha, size = file_digest(path)
    load = FileLoad(source=source, file=rel, la_code=la_code_of(path, incoming), period_end=period_end,
                    sha256=sha, size_bytes=size)
    try:
        read = reader(path)
    except SourceFileError as exc:
        load.error = str(exc)
        return load
    rows = read.rows.drop(columns=["authority"], errors="ignore")
    rows["source_file"] = rel
    rows.insert(0, "la_code", load.la_code)
    load.tables = {table: _add_record_ids(rows, rel, "line " + rows["source_line"].astype("string"))}
    load.rejects = pd.concat([_tabular_rejects(table, read.rejects, "row_rejected"),
                              _tabular_rejects(table, read.flags, "value_nulled")], ignore_index=True)
    load.rows_read, load.rows_loaded = read.rows_read, len(read.rows)
    load.rows_rejected = read.rejected_lines
    load.rows_flagged = int(read.flags["source_line"].nunique())
    load.encoding = read.encoding
    return load


def _tabular_rejects(table: str, frame: pd.DataFrame, action: str) -> pd.DataFrame:
    return pd.DataFrame({
        "table_name": table, "location": "line " + frame["source_line"].astype("string"),
        "source_line": frame["source_line"].astype("Int64"), "field": frame["field"], "rule": frame["rule"],
        "action": action, "message": frame["message"]})


def load_cin_census(path: Path, incoming: Path, reader: Callable[[Path, str], CinCensusResult]) -> FileLoad:
    """Read one CIN census XML into a FileLoad with the nine ``cin_*`` tables.

    Rows per file are counted in Child elements: read = in cin_child + rejected whole.
    """
    rel = path.relative_to(incoming).as_posix()
    sha, size = file_digest(path)
    la_code = la_code_of(path, incoming)
    load = FileLoad(source="cin_census", file=rel, la_code=la_code, period_end=date.min, sha256=sha, size_bytes=size)
    try:
        result = reader(path, la_code)
    except SourceFileError as exc:
        load.error = str(exc)
        return load
    load.period_end = result.header.reference_date.date()
    tables = {}
    for name, frame in result.tables.items():
        frame = frame.assign(source_file=rel)
        tables[name] = _add_record_ids(frame, rel, frame["source_location"])
    load.tables = tables
    rj = result.rejects
    load.rejects = pd.DataFrame({
        "table_name": rj["table"], "location": rj["location"], "source_line": rj["source_line"].astype("Int64"),
        "field": rj["field"], "rule": rj["rule"], "action": rj["action"], "message": rj["message"]})
    load.rows_read, load.rows_loaded = result.children_read, len(result.tables["cin_child"])
    load.rows_rejected = result.children_rejected
    load.rows_flagged = int(rj.loc[rj["action"] != "ignored", "child_ordinal"].nunique())
    load.encoding = "xml"
    return load
