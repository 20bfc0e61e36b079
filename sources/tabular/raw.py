"""A CSV or .xlsx file as text cells (:class:`RawTable`), and finding the schema's columns in its header."""
from __future__ import annotations

import csv
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..csv_text import empty_line_rejects, read_csv_cells, sniff_delimiter, unique_headers, utf16_variant
from ..errors import SourceFileError
from ..limits import check_xlsx, read_regular
from ..xlsx import cell_text, read_sheet

from .schema import TabularSchema, normalise_header


@dataclass
class RawTable:
    """A file as text cells: ``frame`` (the file's own headers), ``lines`` (the line or sheet row each row
    starts on), ``encoding`` and ``line_rejects`` (CSV lines that could not be used: malformed, undecodable,
    a value too long; columns ``source_line``, ``rule``, ``message``; see :mod:`sources.csv_text`).

    Unpacks as the 3-tuple ``frame, lines, encoding`` as ``read_raw`` always returned; a caller that does so
    must add ``line_rejects`` to its rejects, or those lines are lost.
    """

    frame: pd.DataFrame
    lines: np.ndarray
    encoding: str
    line_rejects: pd.DataFrame = field(default_factory=lambda: empty_line_rejects())

    def __iter__(self):
        return iter((self.frame, self.lines, self.encoding))


def read_raw(path: Path, encodings: tuple[str, ...] = ("utf-8-sig", "cp1252"),
             sheets: tuple[str, ...] = ()) -> RawTable:
    """The file as text cells (a :class:`RawTable`).

    .xlsx: the sheet the ``sheets`` patterns choose (the first or only sheet without them), read as
    :mod:`sources.xlsx` reads cells (``frame.attrs`` says which sheet); refused before it is opened if it
    would need more memory than :func:`sources.limits.check_xlsx` allows. Anything else is read as CSV
    (:func:`sources.csv_text.read_csv_cells`: UTF-8, Windows-1252 or UTF-16; comma, tab, semicolon or
    vertical bar; bad lines rejected one by one). Only regular files are read (never a named pipe), at
    most :data:`sources.limits.MAX_FILE_BYTES`.
    """
    path = Path(path)
    raw = read_regular(path)
    if not raw.strip():
        raise SourceFileError(path, "line 1", "the file is empty")
    if raw[:4] == b"PK\x03\x04":
        check_xlsx(path, raw)
        try:
            return RawTable(*_read_xlsx(path, raw, sheets), "xlsx")
        except (SyntaxError, zipfile.BadZipFile, zlib.error, EOFError) as exc:  # ElementTree's ParseError is a SyntaxError
            raise SourceFileError(path, "file", f"not a readable .xlsx workbook (a part is damaged or not well-formed "
                                  f"XML: {type(exc).__name__}); expected an .xlsx saved by a spreadsheet program") from None
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raise SourceFileError(path, "file", "not an .xlsx workbook (it is not a zip file); expected a CSV or .xlsx")
    if (b"\x00" in raw[:65536] and not utf16_variant(raw)) or raw[:4] in (b"\xd0\xcf\x11\xe0", b"%PDF"):
        raise SourceFileError(path, "line 1", "not a CSV or .xlsx file (it holds binary data; an old .xls or "
                              "another format?); expected a CSV or .xlsx")
    cells = read_csv_cells(path, raw, encodings)
    return RawTable(cells.frame, cells.lines, cells.encoding, cells.line_rejects)


def _cell_text(v) -> str:
    """A cell value as text (see :func:`sources.xlsx.cell_text`; no number format known here)."""
    return cell_text(v)


def _read_xlsx(path: Path, raw: bytes, sheets: tuple[str, ...] = ()) -> tuple[pd.DataFrame, np.ndarray]:
    """The sheet ``sheets`` patterns choose (:func:`sources.xlsx.read_sheet`), as text cells with the file's
    headers. ``frame.attrs``: ``sheet`` (its name), ``sheet_count`` and ``formula_cells`` ({(sheet row,
    header): cell reference} for formula cells with no saved value)."""
    read = read_sheet(path, raw, sheets)
    cells, start = read.cells, read.first_row
    # drop leading empty rows before the header
    while cells and not any(c.strip() for c in cells[0]):
        cells.pop(0)
        start += 1
    if not cells:
        if sheets and read.sheet_count > 1:  # one list's sheet of a workbook left empty: supplied, with no rows
            frame = pd.DataFrame()
            frame.attrs.update(sheet=read.name, sheet_count=read.sheet_count, formula_cells={}, empty_sheet=True)
            return frame, np.zeros(0, dtype=np.int64)
        raise SourceFileError(path, f"sheet '{read.name}', row 1", "the worksheet is empty")
    width = max(len(r) for r in cells)
    header = cells[0] + [""] * (width - len(cells[0]))
    while width and not header[width - 1].strip():
        width -= 1
    header = header[:width]
    body = [(r + [""] * width)[:width] for r in cells[1:]]
    names = unique_headers(header)
    frame = pd.DataFrame(body, columns=names, dtype=object).astype(str) if body else \
        pd.DataFrame({h: pd.Series(dtype=str) for h in names})
    lines = start + 1 + np.arange(len(body), dtype=np.int64)
    frame.attrs["sheet"] = read.name
    frame.attrs["sheet_count"] = read.sheet_count
    frame.attrs["header_row"] = start
    frame.attrs["formula_cells"] = {(row, names[col]): f"{_column_letters(col)}{row}"
                                    for row, col in read.formula_cells if row > start and col < width}
    return frame, lines


def _column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def match_headers(path: Path, headers: list[str], schema: TabularSchema) -> dict[str, str]:
    """{canonical name: file header}. Raises SourceFileError for a missing required or ambiguous column."""
    normal = {h: normalise_header(h) for h in headers}
    copies = _repeated_headers(headers)
    picked: dict[str, str] = {}
    for col in schema.columns:
        names = {normalise_header(s) for s in (col.name, *col.synonyms)}
        hits = [h for h in headers if normal[h] in names or col.spec.header.search(normal[h])]
        hits = [h for h in hits if h not in picked.values()]
        if len(hits) > 1:
            exact = [h for h in hits if normal[h] in names]
            hits = exact if len(exact) == 1 else hits
        if len(hits) > 1:
            raise SourceFileError(path, "line 1 (header)", f"more than one column could be '{col.name}': "
                                  f"{', '.join(repr(h) for h in hits)}")
        if not hits:
            if col.spec.required:
                like = col.synonyms[0] if col.synonyms else col.name
                raise SourceFileError(path, "line 1 (header)", f"required column '{like}' not found; expected a "
                                      f"header like {' or '.join(repr(s) for s in (col.synonyms or (col.name,))[:3])} "
                                      "(case, spacing and punctuation are ignored)")
            continue
        if hits[0] in copies:
            where = " and ".join(str(p) for p in copies[hits[0]])
            raise SourceFileError(path, "line 1 (header)", f"the column '{hits[0]}' appears {len(copies[hits[0]])} "
                                  f"times (columns {where}); expected each column once: delete or rename the copies "
                                  "(which one holds the data cannot be guessed)")
        picked[col.name] = hits[0]
    return picked


def _repeated_headers(headers: list[str]) -> dict[str, list[int]]:
    """{header: its column numbers (1-based)} for headers that appear more than once. Readers name the copies
    'X.1', 'X.2' (pandas' scheme, kept by the CSV and .xlsx readers)."""
    present = set(headers)
    positions: dict[str, list[int]] = {}
    for i, h in enumerate(headers, start=1):
        base = re.fullmatch(r"(.*)\.\d+", h)
        name = base.group(1) if base and base.group(1) in present else h
        positions.setdefault(name, []).append(i)
    return {h: p for h, p in positions.items() if len(p) > 1}


def recognises_columns(headers: list[str], schema: TabularSchema, columns: tuple[str, ...]) -> bool:
    """True when every canonical column in ``columns`` has a matching header (as :func:`match_headers` matches)."""
    normal = [normalise_header(h) for h in headers]
    for name in columns:
        col = schema.column(name)
        names = {normalise_header(x) for x in (col.name, *col.synonyms)}
        if not any(h in names or col.spec.header.search(h) for h in normal):
            return False
    return True


def header_row(path: Path, head: bytes) -> list[str]:
    """The header row of a CSV (from its first bytes ``head``) or of an .xlsx's first sheet; [] if unreadable."""
    if head[:4] == b"PK\x03\x04":
        try:
            raw = read_regular(path)
            check_xlsx(path, raw)
            table, _ = _read_xlsx(Path(path), raw)
        except (SourceFileError, OSError):
            return []
        return [str(c) for c in table.columns]
    utf16 = utf16_variant(head)
    for encoding in ((utf16,) if utf16 else ("utf-8-sig", "cp1252")):
        try:
            text = head.decode(encoding, errors="replace" if utf16 else "strict")
            break
        except UnicodeDecodeError:
            continue
    else:
        return []
    first = text.lstrip("\ufeff").splitlines()[:1]
    return next(csv.reader(first, delimiter=sniff_delimiter(text)), []) if first else []
