"""Excel workbooks (.xlsx) as real exports hold them: which sheet to read, and what each cell says.

A workbook can hold several lists (Ofsted's Annex A has "List 1" ... "List 11" in one file), so a
source that reads one list names the sheets it is found in (``sheets:`` in its declaration,
``sources/registry/*.yaml``): regular expressions matched against the sheet's name after it is
lower-cased and its punctuation turned into spaces, so ``'^list 7\\b'`` finds "List 7",
"List 7 - Child Protection" and "LIST_7", and ``'^l7$'`` finds "L7".

* :func:`workbook_sheets` lists the sheets of a workbook from its ``xl/workbook.xml`` (no cell is
  read; cheap enough for the incoming-folder scan);
* :func:`choose_sheet` picks the sheet a source reads (the first pattern that matches a sheet wins);
* :func:`read_sheet` reads one sheet's cells as text, in one streaming pass over its XML:

  - date cells (any date number format, e.g. ``mm-dd-yy``) become ``YYYY-MM-DD``;
  - a number stored as a decimal whose *displayed* value is whole (number format ``0``, ``#,##0``:
    no decimal places) is read as its integer part, as the person who filled it in saw it (Excel
    keeps an age of ``0.1943874058863792`` and shows ``0``); a decimal shown with decimals or in
    the ``General`` format stays a decimal (a whole-number column then rejects it);
  - a formula is read by the value Excel saved with it; a formula cell with no saved value (a file
    written by software that does not calculate) is listed in ``formula_cells`` with its row and
    column, so the reader can flag it instead of reading it silently as blank.

Nothing here quotes a cell's value in a message.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
from lxml import etree

from .errors import SourceFileError

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
_CELL_REF = re.compile(r"^([A-Z]+)(\d+)$")


@dataclass(frozen=True)
class SheetPart:
    name: str  # the sheet's name as shown on its tab
    part: str  # its XML part inside the zip, e.g. xl/worksheets/sheet7.xml


@dataclass
class SheetRead:
    """One sheet's cells as text (row lists), and what the reader needs to report about them."""

    name: str
    sheet_count: int  # sheets in the workbook
    cells: list[list[str]]
    first_row: int  # sheet row number of cells[0]
    formula_cells: list[tuple[int, int]] = field(default_factory=list)  # (sheet row, 0-based column): no saved value


def normalise_sheet_name(name: str) -> str:
    """'List 7 - Child Protection' -> 'list 7 child protection'; 'LIST_7' -> 'list 7'."""
    return re.sub(r"[^0-9a-z]+", " ", str(name).lower()).strip()


def workbook_sheets(data: bytes | Path) -> list[SheetPart]:
    """The sheets of a workbook in tab order. Raises SourceFileError when it is not a readable .xlsx."""
    path = data if isinstance(data, Path) else None
    try:
        with zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data) as zf:
            book = etree.fromstring(zf.read("xl/workbook.xml"), _PARSER)
            rels = etree.fromstring(zf.read("xl/_rels/workbook.xml.rels"), _PARSER)
    except (zipfile.BadZipFile, KeyError, etree.XMLSyntaxError, OSError, ValueError) as exc:
        raise SourceFileError(path or Path("workbook"), "file",
                              f"not a readable .xlsx workbook ({type(exc).__name__}); expected a CSV or .xlsx") from None
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_PKG_REL}Relationship")}
    sheets = []
    for sheet in book.iter(f"{_MAIN}sheet"):
        target = targets.get(sheet.get(f"{_REL}id"), "")
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        sheets.append(SheetPart(str(sheet.get("name", "")), part))
    return sheets


def choose_sheet(names: list[str], patterns: tuple[str, ...] | list[str]) -> str | None:
    """The sheet (of ``names``) a source with sheet ``patterns`` reads: the first pattern, in order,
    that matches a sheet's normalised name; among several sheets matching it, the first in tab order.
    None when no pattern matches."""
    normal = [(n, normalise_sheet_name(n)) for n in names]
    for pattern in patterns:
        regex = re.compile(pattern, re.IGNORECASE)
        for name, norm in normal:
            if regex.search(norm):
                return name
    return None


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + (ord(ch) - 64)
    return index - 1


def shows_whole_number(number_format: str | None) -> bool:
    """True when a number format displays no decimal places ('0', '#,##0', '0_);(0)'), not 'General'."""
    fmt = str(number_format or "General")
    if fmt.lower() == "general" or "@" in fmt:
        return False
    fmt = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", fmt.split(";")[0])  # quoted text, escapes, [colours]
    if "." in fmt or "%" in fmt or "/" in fmt or "E" in fmt.upper():
        return False  # decimals, percentages, fractions, scientific
    return "0" in fmt or "#" in fmt


def cell_text(value, number_format: str | None = None) -> str:
    """A cell's value as the text the readers parse (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        if number_format is not None and shows_whole_number(number_format) and np.isfinite(value):
            return str(int(value))  # the integer part of what the cell displays as a whole number
        return repr(value)
    return str(value)


def read_sheet(path: Path, raw: bytes, patterns: tuple[str, ...] = ()) -> SheetRead:
    """Read the sheet ``patterns`` choose (the first sheet when none is given or the workbook has one sheet).

    The sheet's XML is read in one streaming pass (lxml; openpyxl's tables of built-in number formats and
    its date-format test), with the workbook's shared strings and cell styles: several times faster than
    openpyxl's read-only worksheets, which matters when one Annex A workbook is read once per list.
    Raises SourceFileError when the workbook cannot be read or holds no sheet the patterns match.
    """
    parts = workbook_sheets(raw)
    if not parts:
        raise SourceFileError(path, "file", "the workbook has no worksheet")
    names = [p.name for p in parts]
    name = choose_sheet(names, patterns) if patterns else None
    if name is None:
        if patterns and len(parts) > 1:
            shown = ", ".join(f"'{n}'" for n in names[:15])
            raise SourceFileError(path, "workbook", f"no sheet named like the list this source reads (sheet names "
                                  f"matching {', '.join(repr(p) for p in patterns[:4])}); the workbook has sheets "
                                  f"{shown}")
        name = names[0]
    part = parts[names.index(name)].part
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            strings = _shared_strings(zf)
            formats, date1904 = _cell_formats(zf)
            rows, first_row, formulas = _sheet_cells(zf, part, strings, formats, date1904)
    except (zipfile.BadZipFile, KeyError, etree.XMLSyntaxError, ValueError, IndexError) as exc:
        raise SourceFileError(path, f"sheet '{name}'", f"not a readable .xlsx worksheet ("
                              f"{'a part is not well-formed XML' if isinstance(exc, etree.XMLSyntaxError) else type(exc).__name__}); "
                              "expected a CSV or .xlsx") from None
    return SheetRead(name=name, sheet_count=len(parts), cells=rows, first_row=first_row, formula_cells=formulas)


def _iter(data: bytes, tag: str):
    return etree.iterparse(io.BytesIO(data), events=("end",), tag=f"{_MAIN}{tag}", resolve_entities=False,
                           no_network=True, load_dtd=False, huge_tree=False)


def _shared_strings(zf: zipfile.ZipFile) -> list[str]:
    """xl/sharedStrings.xml: each <si>'s text (rich-text runs joined; phonetic runs left out)."""
    try:
        data = zf.read("xl/sharedStrings.xml")
    except KeyError:
        return []
    out = []
    for _, si in _iter(data, "si"):
        out.append("".join(t.text or "" for t in si.iter(f"{_MAIN}t") if t.getparent().tag != f"{_MAIN}rPh"))
        si.clear()
    return out


def _cell_formats(zf: zipfile.ZipFile) -> tuple[list[str], bool]:
    """(number format code of each cell style, in cellXfs order; the workbook uses the 1904 date system)."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS

    date1904 = False
    book = etree.fromstring(zf.read("xl/workbook.xml"), _PARSER)
    pr = book.find(f"{_MAIN}workbookPr")
    if pr is not None and str(pr.get("date1904", "")).lower() in ("1", "true"):
        date1904 = True
    try:
        styles = etree.fromstring(zf.read("xl/styles.xml"), _PARSER)
    except KeyError:
        return [], date1904
    custom = {int(f.get("numFmtId")): f.get("formatCode", "") for f in styles.iter(f"{_MAIN}numFmt")}
    xfs = styles.find(f"{_MAIN}cellXfs")
    codes = []
    for xf in (xfs if xfs is not None else []):
        fid = int(xf.get("numFmtId", "0"))
        codes.append(custom.get(fid, BUILTIN_FORMATS.get(fid, "General")))
    return codes, date1904


def _serial_to_text(serial: float, date1904: bool, fmt: str) -> str:
    """An Excel date serial as 'YYYY-MM-DD' (with the time when it has one)."""
    from datetime import timedelta

    base = datetime(1904, 1, 1) if date1904 else (datetime(1899, 12, 31) if serial < 60 else datetime(1899, 12, 30))
    moment = base + timedelta(days=serial)
    moment = moment.replace(microsecond=0) if moment.microsecond < 500_000 else \
        (moment + timedelta(seconds=1)).replace(microsecond=0)
    if not re.search(r"[dy]", re.sub(r'"[^"]*"|\[[^\]]*\]', "", fmt), re.IGNORECASE) and serial < 1:
        return moment.time().isoformat()  # a time of day alone
    return cell_text(moment)


def _sheet_cells(zf: zipfile.ZipFile, part: str, strings: list[str], formats: list[str],
                 date1904: bool) -> tuple[list[list[str]], int, list[tuple[int, int]]]:
    """(rows of cell text from the sheet's first row, that row's number, formula cells with no saved value)."""
    from openpyxl.styles.numbers import is_date_format

    data = zf.read(part)
    is_date = [is_date_format(f) for f in formats]
    rows: dict[int, list[str]] = {}
    formulas: list[tuple[int, int]] = []
    row_number = 0
    for _, row in _iter(data, "row"):
        row_number = int(row.get("r") or row_number + 1)
        cells: list[str] = []
        column = -1
        for c in row.iterchildren(f"{_MAIN}c"):
            match = _CELL_REF.match(c.get("r", ""))
            column = _column_index(match.group(1)) if match else column + 1
            kind = c.get("t", "n")
            v = c.find(f"{_MAIN}v")
            value = v.text if v is not None else None
            if c.find(f"{_MAIN}f") is not None and not (value or "").strip() and c.find(f"{_MAIN}is") is None:
                formulas.append((row_number, column))
                continue
            if kind == "s":
                text = strings[int(value)] if value is not None else ""
            elif kind == "inlineStr":
                inline = c.find(f"{_MAIN}is")
                text = "".join(t.text or "" for t in inline.iter(f"{_MAIN}t")) if inline is not None else ""
            elif kind == "b":
                text = "" if value is None else ("TRUE" if value.strip() in ("1", "true") else "FALSE")
            elif kind in ("str", "e", "d"):
                text = value or ""
            elif value is None or not value.strip():
                text = ""
            else:
                number = float(value)
                style = int(c.get("s", "0"))
                fmt = formats[style] if style < len(formats) else "General"
                if style < len(is_date) and is_date[style]:
                    text = _serial_to_text(number, date1904, fmt)
                else:
                    text = cell_text(number, fmt)
            if text:
                cells.extend([""] * (column - len(cells)))
                cells.append(text)
        if cells:
            rows[row_number] = cells
        row.clear()
    if not rows:
        return [], 1, formulas
    first = min(rows)
    return [rows.get(r, []) for r in range(first, max(rows) + 1)], first, formulas
