"""What a reader will take on: regular files only, and sizes it can hold in memory.

Every extract is read into memory (CSV, .xlsx) or streamed (CIN census XML), in up to four
worker processes at once, so a file that would need more than a worker can hold is refused
*before* it is read, with a message saying what the limit is, instead of taking the machine's
memory (and with it every other file of the run):

* any file read whole (CSV, .xlsx, GeoJSON): at most ``MAX_FILE_BYTES`` on disk;
* CSV: at most ``MAX_COLUMNS`` header columns and ``MAX_DATA_LINES`` lines; a value longer than
  ``MAX_FIELD_CHARS`` characters (Excel's own limit for a cell) rejects its line, not the file;
* .xlsx (a zip of XML parts) is checked by :func:`check_xlsx` before openpyxl opens it: the
  parts together unpack to at most ``MAX_XLSX_UNPACKED_BYTES`` (a "zip bomb" is refused from its
  directory, without unpacking), and no worksheet spans more than ``MAX_XLSX_CELLS`` cells
  (rows x columns, counting the empty cells a reader pads a sparse sheet with: a 5 KB workbook
  can declare the full 1,048,576 x 16,384 grid) or ``MAX_COLUMNS`` columns, and no part holds a
  DOCTYPE or ENTITY declaration (which no spreadsheet program writes).

:func:`open_regular` opens a file without blocking and refuses anything that is not a regular
file (a named pipe, a device, a folder), checked on the open file itself, so a pipe put in the
incoming folder can never hang a reader.
"""
from __future__ import annotations

import fcntl
import html
import io
import os
import re
import stat
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from .errors import SourceFileError

MIB = 1024 * 1024
MAX_FILE_BYTES = 256 * MIB  # on disk, for a file read whole
MAX_XLSX_UNPACKED_BYTES = 512 * MIB  # all parts of an .xlsx, unpacked
MAX_XLSX_PARTS = 5_000  # files inside an .xlsx
MAX_XLSX_CELLS = 5_000_000  # rows x columns of one worksheet, empty padding included
MAX_COLUMNS = 1_000  # header columns of a CSV or worksheet
MAX_DATA_LINES = 5_000_000  # lines of a CSV
MAX_FIELD_CHARS = 32_767  # characters in one value (Excel's limit for a cell)
_CHUNK = 4 * MIB
_MAX_TAG = 1 * MIB  # a single XML tag longer than this is not a worksheet's


def open_regular(path: Path | str) -> BinaryIO:
    """Open ``path`` for binary reading if it is a regular file; SourceFileError otherwise.

    Opened with O_NONBLOCK (opening a named pipe would otherwise wait for a writer for ever), then
    checked with fstat on the open descriptor, so the file cannot be swapped between check and read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise SourceFileError(path, "file", f"cannot be opened ({exc.strerror or exc})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "a named pipe" if stat.S_ISFIFO(mode) else "a device or socket"
            raise SourceFileError(path, "file", f"not a regular file ({kind}); not read. Expected an extract file")
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path | str, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The whole of a regular file, refused (SourceFileError) when larger than ``max_bytes``."""
    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > max_bytes:
            raise SourceFileError(path, "file", f"{_mb(size)} on disk, more than the {_mb(max_bytes)} a reader "
                                  "accepts (sources/limits.py); expected one quarter's extract: check it is the "
                                  "right file, or split it")
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:  # grew while being read
        raise SourceFileError(path, "file", f"more than the {_mb(max_bytes)} a reader accepts")
    return data


def _mb(n: int) -> str:
    return f"{n / MIB:,.0f} MB" if n >= MIB else f"{n:,} bytes"


# ----------------------------------------------------------------------------------- .xlsx

def check_xlsx(path: Path | str, raw: bytes) -> None:
    """Refuse an .xlsx that would need more memory to read than a reader allows (see module docstring).

    Reads only the zip's directory and streams each worksheet's XML once (in 4 MB pieces) counting
    rows and cells: nothing is unpacked into memory whole and openpyxl is not involved.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise SourceFileError(path, "file", f"not a readable .xlsx workbook ({exc}); expected a CSV or .xlsx") from None
    with archive:
        parts = archive.infolist()
        if len(parts) > MAX_XLSX_PARTS:
            raise SourceFileError(path, "file", f"the workbook holds {len(parts):,} parts, more than the "
                                  f"{MAX_XLSX_PARTS:,} a reader accepts; expected an ordinary .xlsx")
        unpacked = sum(p.file_size for p in parts)
        if unpacked > MAX_XLSX_UNPACKED_BYTES:
            raise SourceFileError(path, "file", f"the workbook unpacks to {_mb(unpacked)} (from {_mb(len(raw))}), "
                                  f"more than the {_mb(MAX_XLSX_UNPACKED_BYTES)} a reader accepts (a 'zip bomb'?); "
                                  "expected an ordinary .xlsx")
        names = _sheet_names(archive)  # worksheet titles, for the messages
        for part in parts:  # every part, not only xl/worksheets/: a relationship can point a sheet anywhere
            sheet = names.get(part.filename, part.filename)
            try:
                with archive.open(part) as fh:
                    rows, columns = _sheet_extent(path, fh, sheet)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as exc:
                raise SourceFileError(path, f"part '{part.filename}'", f"cannot be unpacked ({exc}); expected an "
                                      "ordinary .xlsx") from None
            if columns > MAX_COLUMNS or rows * columns > MAX_XLSX_CELLS:
                raise SourceFileError(path, f"sheet '{sheet}'", f"spans {rows:,} rows x {columns:,} columns "
                                      f"({rows * columns:,} cells with the empty ones a reader fills in), more "
                                      f"than the {MAX_XLSX_CELLS:,} cells or {MAX_COLUMNS:,} columns a reader "
                                      "accepts; expected a list of rows: delete stray cells far below or to the "
                                      "right of the list, or save the list alone as CSV")


# Fast patterns for how every spreadsheet program writes a sheet (<row r="12">, <c r="B12">, optionally
# prefixed <x:c>); any r or ref attribute written otherwise (single quotes, character references ...) is
# counted by _ANY_REF and, if the fast patterns missed it, the sheet is refused rather than guessed.
_TEXT = re.compile(rb">[^<]+<")
_ROW = re.compile(rb"[<:]row[\s/>]")
_ROW_NUMBER = re.compile(rb' r="(\d{1,9})"')  # only rows carry a digits-only r
_CELL = re.compile(rb"[<:]c[\s/>]")
_CELL_REF = re.compile(rb' r="([A-Za-z]{1,4})(\d{1,9})"')  # only cells carry letters and digits
_ANY_REF = re.compile(rb"\sr\s*=")
_DIMENSION = re.compile(rb"dimension\s[^>]*?\bref=\"\$?([A-Za-z]{0,4})\$?(\d{0,9})"
                        rb"(?::\$?([A-Za-z]{1,4})\$?(\d{1,9}))?\"")
_ANY_DIMENSION = re.compile(rb"[<:]dimension[\s/>]")
_ROW_OR_CELL = re.compile(rb"<(?:\w+:)?(row|c)[\s/>]")


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ch - 64)
    return n


def _sheet_extent(path, fh, sheet: str) -> tuple[int, int]:
    """(rows, columns) a reader would produce for one worksheet XML stream, padding included."""
    rows = columns = cells = cells_with_ref = 0
    widest_unreferenced = 0
    carry = b""
    while True:
        block = fh.read(_CHUNK)
        data = carry + block
        if not block:
            chunk, carry = data, b""
        else:
            cut = data.rfind(b"<")
            chunk, carry = (data[:cut], data[cut:]) if cut > 0 else (b"", data)
            if len(carry) > _MAX_TAG:
                raise SourceFileError(path, f"sheet '{sheet}'", "holds an XML tag longer than 1 MB; expected an "
                                      "ordinary worksheet")
        if chunk:
            if b"<!DOCTYPE" in chunk or b"<!ENTITY" in chunk:
                raise SourceFileError(path, f"part '{getattr(fh, 'name', sheet)}'", "holds a DOCTYPE or ENTITY "
                                      "declaration, which no spreadsheet program writes (entities can read local "
                                      "files or expand without end); expected an ordinary .xlsx")
            chunk = _TEXT.sub(b"><", chunk)  # cell text may say anything: look at tags only
            chunk = chunk[:chunk.rfind(b">") + 1]
            numbers = _ROW_NUMBER.findall(chunk)
            rows = max([rows, len(_ROW.findall(chunk)), *(int(n) for n in numbers)])
            found = _CELL_REF.findall(chunk)
            dimensions = _DIMENSION.findall(chunk)
            if (len(_ANY_REF.findall(chunk)) != len(numbers) + len(found)
                    or len(_ANY_DIMENSION.findall(chunk)) != len(dimensions)):
                raise SourceFileError(path, f"sheet '{sheet}'", "cell references are written in an unusual way "
                                      "(quotes or character references no spreadsheet program writes); expected an "
                                      "ordinary .xlsx: open it in Excel and save it again")
            cells_with_ref += len(found)
            cells += len(_CELL.findall(chunk))
            for letters in {letters for letters, _ in found}:
                columns = max(columns, _column_number(letters))
            rows = max([rows, *(int(n) for _, n in found)])
            for dim in dimensions:
                first_col, first_row, last_col, last_row = dim
                columns = max(columns, _column_number(last_col or first_col))
                rows = max(rows, int(last_row or first_row or 0))
            if cells > cells_with_ref:  # cells without a reference: count each row's width
                widest_unreferenced = max(widest_unreferenced, _widest_row(chunk))
        if not block:
            break
    return rows, max(columns, widest_unreferenced)


def _widest_row(chunk: bytes) -> int:
    widest = width = 0
    for match in _ROW_OR_CELL.finditer(chunk):
        if match.group(1) == b"row":
            width = 0
        else:
            width += 1
            widest = max(widest, width)
    return widest


def _sheet_names(archive: zipfile.ZipFile) -> dict[str, str]:
    """{part name: sheet title} from xl/workbook.xml and its relationships (best effort, regex only:
    these parts are not handed to an XML parser here)."""
    try:
        book = archive.read("xl/workbook.xml")[:MIB].decode("utf-8", "replace")
        rels = archive.read("xl/_rels/workbook.xml.rels")[:MIB].decode("utf-8", "replace")
    except (KeyError, zipfile.BadZipFile, OSError, zlib.error):
        return {}
    targets = {}
    for tag in re.findall(r"<(?:\w+:)?Relationship\s[^>]*>", rels):
        rid, target = re.search(r'\bId="([^"]*)"', tag), re.search(r'\bTarget="([^"]*)"', tag)
        if rid and target:
            name = target.group(1).lstrip("/")
            targets[rid.group(1)] = name if name.startswith("xl/") else "xl/" + name
    names = {}
    for tag in re.findall(r"<(?:\w+:)?sheet\s[^>]*>", book):
        title, rid = re.search(r'\bname="([^"]*)"', tag), re.search(r'\b(?:\w+:)?id="([^"]*)"', tag)
        if title and rid and rid.group(1) in targets:
            names[targets[rid.group(1)]] = html.unescape(title.group(1))[:40]
    return names
