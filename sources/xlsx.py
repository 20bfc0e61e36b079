"""Excel workbooks (.xlsx) as real exports hold them: which sheet to read, and what each cell says.

A workbook can hold several lists (Ofsted's Annex A has "List 1" ... "List 11" in one file), so a
source that reads one list names the sheets it is found in (``sheets:`` in its declaration,
``sources/registry/*.yaml``): regular expressions matched against the sheet's name after it is
lower-cased and its punctuation turned into spaces, so ``'^list 7\\b'`` finds "List 7",
"List 7 - Child Protection" and "LIST_7", and ``'^l7$'`` finds "L7".

* :func:`workbook_sheets` lists the sheets of a workbook from its ``xl/workbook.xml`` (no cell is
  read; cheap enough for the incoming-folder scan);
* :func:`choose_sheet` picks the sheet a source reads (the first pattern that matches a sheet wins);
* :func:`read_sheet` reads one sheet's cells as text, with openpyxl in read-only mode:

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


def formula_cells_without_value(zf: zipfile.ZipFile, part: str) -> list[tuple[int, int]]:
    """(row, 0-based column) of every cell in the sheet with a formula and no saved value."""
    try:
        data = zf.read(part)
    except KeyError:
        return []
    if b"<f" not in data and b":f" not in data:
        return []  # no formula at all: nothing to parse
    out = []
    for _, cell in etree.iterparse(io.BytesIO(data), tag=f"{_MAIN}c", resolve_entities=False, no_network=True,
                                   load_dtd=False, huge_tree=False):
        formula = cell.find(f"{_MAIN}f")
        if formula is not None:
            value = cell.find(f"{_MAIN}v")
            inline = cell.find(f"{_MAIN}is")
            if (value is None or not (value.text or "").strip()) and inline is None:
                match = _CELL_REF.match(cell.get("r", ""))
                if match:
                    out.append((int(match.group(2)), _column_index(match.group(1))))
        cell.clear()
    return out


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

    Raises SourceFileError when the workbook cannot be read or holds no sheet the patterns match.
    """
    from openpyxl import load_workbook

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
        wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise SourceFileError(path, "file", f"not a readable .xlsx workbook ({exc}); expected a CSV or .xlsx") from None
    try:
        ws = wb[name]
        start = ws.min_row or 1
        rows = list(ws.iter_rows(values_only=True))
        if any(isinstance(v, float) and not v.is_integer() for row in rows for v in row):
            # a decimal somewhere: read the number formats too, to know what each cell displays
            cells = [[cell_text(getattr(c, "value", None), getattr(c, "number_format", None)) for c in row]
                     for row in ws.iter_rows()]
        else:
            cells = [[cell_text(v) for v in row] for row in rows]
    finally:
        wb.close()
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        formulas = formula_cells_without_value(zf, part)
    return SheetRead(name=name, sheet_count=len(parts), cells=cells, first_row=start, formula_cells=formulas)
