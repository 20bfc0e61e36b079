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
import traceback
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from sources.errors import SourceFileError
from sources.incoming import AUTHORITY_FOLDER, la_code_of
from sources.limits import open_regular
from sources.registry import Source

MAX_REJECTED_SHARE = 0.5  # a file with more of its rows rejected is refused (refuse_past_share)
REJECT_LAYOUT = ["table_name", "location", "source_line", "field", "rule", "action", "message"]


def reject_rows(table, source_line: pd.Series, field, rule, action, message, location=None,
                where: str = "line ") -> pd.DataFrame:
    """Rows of ``quality.rejects`` (without source, authority, period and file, which the writer adds) in
    :data:`REJECT_LAYOUT`, the one place they are made. ``location`` defaults to ``where`` + the line
    number (e.g. "line 12", "List 4 line 12"); every other argument is a value or a Series."""
    lines = pd.Series(source_line).astype("Int64")
    if location is None:
        location = where + lines.astype("string")
    return pd.DataFrame({"table_name": table, "location": location, "source_line": lines, "field": field,
                         "rule": rule, "action": action, "message": message}, columns=REJECT_LAYOUT)


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


def refused_load(source: Source, incoming: Path, path: Path, period_end: date, message: str) -> FileLoad:
    """A load refused without (or after failing at) reading: ``message`` is prefixed with the file's
    path relative to the incoming folder. Never raises (the file may be unreadable)."""
    try:
        rel = Path(path).relative_to(incoming).as_posix()
    except ValueError:
        rel = Path(path).name
    match = AUTHORITY_FOLDER.match(rel.split("/")[0])
    try:
        sha, size = file_digest(path)
    except OSError:
        sha, size = None, 0
    load = FileLoad(source=source.name, file=rel, la_code=match.group("la_code") if match else "",
                    period_end=period_end, sha256=sha, size_bytes=size)
    return load.refuse(f"{rel}, {message}")


def refusal(rel: str, exc: SourceFileError) -> str:
    """The reader's message with the file named by its path relative to the incoming folder."""
    return f"{rel}, {exc.location}: {exc.problem}"


def file_digest(path: Path) -> tuple[str, int]:
    """(sha256 hex, size in bytes) of a file, read in 1 MiB blocks."""
    digest, size = hashlib.sha256(), 0
    with open_regular(path) as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _add_record_ids(frame: pd.DataFrame, file: str, location: pd.Series) -> pd.DataFrame:
    frame = frame.copy()
    frame.insert(0, "record_id", (file + "#" + location.astype("string")).astype("string"))
    return frame


def load_file(source: Source, incoming: Path, path: Path, period_end: date) -> FileLoad:
    """Read one file of ``source`` found in the period folder of ``period_end``.

    A file with more than ``MAX_REJECTED_SHARE`` of its rows rejected is refused (:func:`refuse_past_share`).
    """
    if source.reader == "cin_census":
        return refuse_past_share(load_cin_census(source, path, incoming, period_end))
    return refuse_past_share(load_tabular(source, path, incoming, period_end))


def refuse_past_share(load: FileLoad, share: float = MAX_REJECTED_SHARE) -> FileLoad:
    """Refuse a file most of whose rows were rejected: it is a mislabelled column or the wrong file, not data.

    Loading the few rows left would publish a figure for the authority and period that is wrong without
    anyone being told (e.g. a person list with the Surname and Gender headers swapped: every gender unknown).
    The message names the commonest reason (field and rule), never a value.
    """
    if load.error or not load.rows_read or load.rows_rejected <= share * load.rows_read:
        return load
    rejected = load.rejects[load.rejects["action"].isin(["row_rejected", "child_rejected"])]
    reason = ""
    if len(rejected):
        lines = rejected.assign(where=rejected["location"].astype("string"))
        counts = lines.groupby(["field", "rule"], dropna=False)["where"].nunique().sort_values(ascending=False)
        (field_name, rule), n = counts.index[0], int(counts.iloc[0])
        reason = f" (most often {field_name + ' ' if isinstance(field_name, str) and field_name else ''}{rule}: {n:,})"
    return load.refuse(f"{load.file}, file: {load.rows_rejected:,} of {load.rows_read:,} rows would be rejected"
                       f"{reason}; more than {share:.0%}, so the file is refused rather than counted with most of it "
                       "missing; expected values that fit their headers: is a column mislabelled (headers swapped?), "
                       "or is this another extract?")


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
    return reject_rows(table, frame["source_line"], frame["field"], frame["rule"], action, frame["message"],
                       where=where)


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
    load.rejects = reject_rows(rj["table"], rj["source_line"], rj["field"], rj["rule"], rj["action"], rj["message"],
                               location=rj["location"])
    load.header_findings = getattr(result, "header_findings", None)
    load.rows_read, load.rows_loaded = result.children_read, len(result.tables["cin_child"])
    load.rows_rejected = result.children_rejected
    load.rows_flagged = int(rj.loc[rj["action"] != "ignored", "child_ordinal"].nunique())
    load.encoding = "xml"
    return load


def unexpected(exc: BaseException) -> str:
    """An unexpected reader error in words, with where in the code it happened and never its message
    (an exception's message may quote a value of the file, and this text reaches the warehouse)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return (f"the reader failed unexpectedly ({type(exc).__name__}{where}); the file was not loaded. This is a "
            "fault in the pipeline rather than in the file: please report it with the file's name")
