"""Read one file of a registered source into a :class:`FileLoad`.

Which files belong to which source, authority and period is decided once, by
:func:`sources.incoming.scan_incoming` (the incoming folder, the source registry). A file is
read by its source's reader (``sources/``); the result, whatever the reader, becomes a
:class:`FileLoad`: its rows per raw table, its rejects in one layout, and the counts that
``quality.load_audit`` keeps (``rows_read == rows_loaded + rows_rejected``).

Every row gets a ``record_id``: ``<authority>/<quarter end>/<file>#<location>``, where
the location is the line number (CSV, .xlsx sheet row: ``line 12``; in a workbook of several
sheets, such as an Ofsted Annex A, the sheet too: ``List 7 line 12``) or the XML element path
(``Child[12]/CINdetails[2]``). It names where the row came from and nothing about whom.

A file that cannot be read at all, or that is refused afterwards (it belongs to another
period, say), gives a FileLoad with ``error`` set and nothing else: no rows, no rejects, no
rule findings (:meth:`FileLoad.refuse`), so a refused file leaves nothing behind.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from sources.errors import SourceFileError
from sources.incoming import la_code_of
from sources.registry import Source

REJECT_LAYOUT = ["table_name", "location", "source_line", "field", "rule", "action", "message"]


@dataclass
class FileLoad:
    """One extract file, read. ``tables`` hold identifiers: they never leave the ingest step."""

    source: str
    file: str | None  # path relative to the incoming folder (None: not supplied)
    la_code: str
    period_end: date
    sha256: str | None
    size_bytes: int
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    rejects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECT_LAYOUT))
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_flagged: int = 0
    encoding: str = ""
    error: str | None = None  # the reader's message when the file could not be read
    supplied: bool = True  # False: no file of the source for this authority and period ("not supplied")
    findings: pd.DataFrame | None = None  # DfE-style rule findings, for sources that have rules
    header_findings: pd.DataFrame | None = None  # CIN census: return-level findings on the Header
    sheet: str | None = None  # .xlsx: the sheet read
    columns_missing: tuple[str, ...] = ()  # optional columns of the source's schema the file does not have

    @property
    def status(self) -> str:
        return "not supplied" if not self.supplied else "failed" if self.error else "loaded"

    def refuse(self, message: str) -> FileLoad:
        """Mark the file refused: keep the reason, drop everything read from it (rows, rejects, findings)."""
        self.error = message
        self.tables = {}
        self.rejects = self.rejects.iloc[0:0]
        self.findings = self.header_findings = None
        self.rows_loaded = self.rows_rejected = self.rows_flagged = 0
        return self


def not_supplied(source: str, la_code: str, period_end: date) -> FileLoad:
    """The load audit's row for an authority that sent no file of ``source`` for the period."""
    return FileLoad(source=source, file=None, la_code=la_code, period_end=period_end, sha256=None, size_bytes=0,
                    supplied=False)


def empty_load(source: Source) -> FileLoad:
    """A load with no rows but every column the source's reader gives: read from a template (a header-only
    CSV of the schema's columns, or for the CIN census ``sources/schemas/cin/empty_return_template.xml``)
    and emptied. Used to create the raw tables of a source never supplied, so downstream SQL runs."""
    import shutil
    import tempfile

    from sources.registry import SCHEMA_DIR
    from sources.tabular import load_tabular_schema

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "000_template" / "2026-03-31"
        folder.mkdir(parents=True)
        if source.reader == "cin_census":
            path = folder / "cin_census_template.xml"
            shutil.copyfile(SCHEMA_DIR / "cin" / "empty_return_template.xml", path)
        else:
            schema = load_tabular_schema(source.schema, Path(source.schema_dir))
            pattern = next((f for f in source.files if "/" not in f), f"{source.name}.csv")
            path = folder / (Path(pattern.replace("*", "template")).stem + ".csv")
            path.write_text(",".join(c.name for c in schema.columns) + "\n", encoding="utf-8")
        load = load_file(source, Path(tmp), path, date(2026, 3, 31))
    if load.error:
        raise RuntimeError(f"the empty template of source {source.name} could not be read: {load.error}")
    load.tables = {name: frame.iloc[0:0] for name, frame in load.tables.items()}
    return load


def refusal(rel: str, exc: SourceFileError) -> str:
    """The reader's message with the file named by its path relative to the incoming folder."""
    return f"{rel}, {exc.location}: {exc.problem}"


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


def load_file(source: Source, incoming: Path, path: Path, period_end: date) -> FileLoad:
    """Read one file of ``source`` found in the period folder of ``period_end``."""
    if source.reader == "cin_census":
        return load_cin_census(source, path, incoming, period_end)
    return load_tabular(source, path, incoming, period_end)


def _new_load(source: Source, path: Path, incoming: Path, period_end: date) -> FileLoad:
    rel = path.relative_to(incoming).as_posix()
    sha, size = file_digest(path)
    return FileLoad(source=source.name, file=rel, la_code=la_code_of(path, incoming), period_end=period_end,
                    sha256=sha, size_bytes=size)


def load_tabular(source: Source, path: Path, incoming: Path, period_end: date) -> FileLoad:
    """Read one CSV/xlsx extract with the source's reader into a FileLoad for its (one) raw table."""
    load = _new_load(source, path, incoming, period_end)
    table = source.tables[0]
    try:
        read = source.read(path, extract_date=period_end, authority=path.relative_to(incoming).parts[0])
    except SourceFileError as exc:
        return load.refuse(refusal(load.file, exc))
    rows = read.rows.drop(columns=["authority"], errors="ignore")
    rows["source_file"] = load.file
    rows.insert(0, "la_code", load.la_code)
    where = f"{read.sheet} line " if read.sheet_count > 1 else "line "  # several lists in one workbook
    load.tables = {table: _add_record_ids(rows, load.file, where + rows["source_line"].astype("string"))}
    load.rejects = pd.concat([_tabular_rejects(table, read.rejects, "row_rejected", where),
                              _tabular_rejects(table, read.flags, "value_nulled", where)], ignore_index=True)
    load.sheet = read.sheet or None
    load.columns_missing = tuple(read.missing_columns)
    load.rows_read, load.rows_loaded = read.rows_read, len(read.rows)
    load.rows_rejected = read.rejected_lines
    load.rows_flagged = int(read.flags["source_line"].nunique())
    load.encoding = read.encoding
    return load


def _tabular_rejects(table: str, frame: pd.DataFrame, action: str, where: str = "line ") -> pd.DataFrame:
    return pd.DataFrame({
        "table_name": table, "location": where + frame["source_line"].astype("string"),
        "source_line": frame["source_line"].astype("Int64"), "field": frame["field"], "rule": frame["rule"],
        "action": action, "message": frame["message"]})


def load_cin_census(source: Source, path: Path, incoming: Path, period_end: date) -> FileLoad:
    """Read one CIN census XML into a FileLoad with the nine ``cin_*`` tables.

    Rows per file are counted in Child elements: read = in cin_child + rejected whole. The
    return is read as the collection year of its folder (``period_end`` is its 31 March);
    header problems (a Year that disagrees, a ReferenceDate not on 31 March) are return-level
    findings, not refusals. A return whose content says another year is refused: it is in the
    wrong folder.
    """
    load = _new_load(source, path, incoming, period_end)
    try:
        result = source.read(path, la_code=load.la_code, expected_year=period_end.year)
    except SourceFileError as exc:
        return load.refuse(refusal(load.file, exc))
    found = result.header.reference_date.date()
    if found != period_end:
        return load.refuse(f"{load.file}: the return is for the collection year ending {found}, but it is in the "
                           f"folder of {period_end}; move it to its own year's 31 March folder")
    tables = {}
    for name, frame in result.tables.items():
        frame = frame.assign(source_file=load.file)
        tables[name] = _add_record_ids(frame, load.file, frame["source_location"])
    load.tables = tables
    rj = result.rejects
    load.rejects = pd.DataFrame({
        "table_name": rj["table"], "location": rj["location"], "source_line": rj["source_line"].astype("Int64"),
        "field": rj["field"], "rule": rj["rule"], "action": rj["action"], "message": rj["message"]})
    load.header_findings = getattr(result, "header_findings", None)
    load.rows_read, load.rows_loaded = result.children_read, len(result.tables["cin_child"])
    load.rows_rejected = result.children_rejected
    load.rows_flagged = int(rj.loc[rj["action"] != "ignored", "child_ordinal"].nunique())
    load.encoding = "xml"
    return load
