"""CSV text as cells, one bad line at a time: encodings, delimiters and malformed lines.

:func:`read_csv_cells` turns a CSV file's bytes into a frame of text cells (the file's own
headers), the physical line each row starts on (header = line 1) and the lines it could not
use, each with its true line number, a rule and a message. A file is refused
(:class:`sources.errors.SourceFileError`) only as a whole-file problem: empty, binary, more
than ``MAX_BAD_LINE_SHARE`` of its lines unusable, or beyond the limits of :mod:`sources.limits`.

* **Encoding.** A byte-order mark or the pattern of zero bytes says UTF-16; otherwise the
  schema's encodings are tried on the whole file (UTF-8 with or without BOM, then Windows-1252).
  When none decodes every line, each line is decoded on its own: the encoding under which the
  fewest lines fail is used, and each line that fails under it is rejected
  (``undecodable_text``: one UTF-8 "Ł" in a Windows-1252 file loses its own line, not the file).
* **Delimiter.** The header line is split on ``,``, tab, ``;`` and ``|``; the one giving the most
  columns wins (a comma on a tie).
* **Lines.** pandas' C parser reads a well-formed file (fast). When it objects (a line with more
  values than the header, a quote never closed, every row ending in a delimiter), the file is
  read again line by line with Python's ``csv`` module: a line with extra non-blank values is
  rejected (``malformed_line``); blank extra values (a trailing delimiter) are dropped; a quote
  never closed rejects the line it opens on and reading resumes on the next line (so does a value
  spanning lines in a record of the wrong width: a stray quote that swallowed the lines after it); a
  value longer than ``MAX_FIELD_CHARS`` rejects its line (``field_too_long``). Short lines are padded
  with blanks, as pandas does (the mandatory-field rules then reject what is missing).
"""
from __future__ import annotations

import csv
import io
import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import SourceFileError
from .limits import MAX_COLUMNS, MAX_DATA_LINES, MAX_FIELD_CHARS

MAX_BAD_LINE_SHARE = 0.10  # a file with more of its data lines malformed or undecodable is refused
MAX_RECORD_LINES = 1_000  # physical lines one quoted value may span before it is taken as a quote never closed
DELIMITERS = (",", "\t", ";", "|")
DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "vertical bar"}
LINE_REJECT_COLUMNS = ["source_line", "rule", "message"]
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


@dataclass
class CsvCells:
    frame: pd.DataFrame  # text cells under the file's headers (duplicates as 'X', 'X.1')
    lines: np.ndarray  # physical line of each row (int64)
    encoding: str
    line_rejects: pd.DataFrame  # LINE_REJECT_COLUMNS: lines not in ``frame``
    delimiter: str = ","


def empty_line_rejects() -> pd.DataFrame:
    return pd.DataFrame({"source_line": pd.Series(dtype="int64"), "rule": pd.Series(dtype="string"),
                         "message": pd.Series(dtype="string")})


def read_csv_cells(path, raw: bytes, encodings: tuple[str, ...]) -> CsvCells:
    """Decode and parse one CSV file (see module docstring)."""
    text, encoding, bad = decode(path, raw, encodings)
    delimiter = sniff_delimiter(text)
    try:
        frame, lines = _fast(text, delimiter)
        rejects = empty_line_rejects()
    except _NeedsCareful:
        frame, lines, rejects = _careful(path, text, delimiter)
    if len(frame.columns) > MAX_COLUMNS:
        raise SourceFileError(path, "line 1 (header)", f"{len(frame.columns):,} columns, more than the "
                              f"{MAX_COLUMNS:,} a reader accepts; expected an extract's header row")
    if len(frame) > MAX_DATA_LINES:
        raise SourceFileError(path, "file", f"{len(frame):,} lines, more than the {MAX_DATA_LINES:,} a reader "
                              "accepts; expected one quarter's extract")
    frame, lines, rejects = _too_long(frame, lines, rejects)
    if len(bad):
        frame, lines, rejects = _undecodable(frame, lines, rejects, bad, encoding)
    _refuse_past_share(path, len(frame) + len(rejects), rejects, encoding, delimiter)
    return CsvCells(frame, lines, encoding, rejects.sort_values("source_line", kind="stable").reset_index(drop=True),
                    delimiter)


# ------------------------------------------------------------------------------------ decoding

def utf16_variant(raw: bytes) -> str | None:
    """'utf-16' (with a byte-order mark), 'utf-16-le' or 'utf-16-be' (zero bytes in every other place), or None."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    head = raw[:4096]
    if len(head) >= 4:
        even, odd = head[0::2], head[1::2]
        if odd.count(0) > 0.4 * len(odd) and even.count(0) == 0:
            return "utf-16-le"
        if even.count(0) > 0.4 * len(even) and odd.count(0) == 0:
            return "utf-16-be"
    return None


def decode(path, raw: bytes, encodings: tuple[str, ...]) -> tuple[str, str, np.ndarray]:
    """(text, encoding used, physical line numbers that could not be decoded under it).

    The schema's encodings are tried in order. One that decodes the whole file is used. Otherwise a UTF-8
    encoding is still used when the file is plainly UTF-8 (some line holds a non-ASCII character that
    decodes as UTF-8) and at most MAX_BAD_LINE_SHARE of its lines fail: those lines are rejected. (Windows-1252
    decodes almost any byte: a UTF-8 file with one stray byte must not become Windows-1252, every 'ë' an
    'Ã«'; a Windows-1252 file, whose only non-ASCII bytes fail as UTF-8, must.) A single-byte encoding is
    used when at most that share of lines hold its few undefined bytes.
    """
    utf16 = utf16_variant(raw)
    if utf16:
        text = raw.decode(utf16, errors="replace")
        return text.lstrip("\ufeff"), utf16, _replaced_lines(text)
    pieces = None
    for encoding in encodings:
        try:
            return raw.decode(encoding).lstrip("\ufeff"), encoding, np.zeros(0, dtype=np.int64)
        except UnicodeDecodeError:
            pass
        pieces = pieces if pieces is not None else raw.splitlines(keepends=True)
        failing = [i for i, piece in enumerate(pieces) if not _decodes(piece, encoding)]
        plainly = "utf" not in encoding.lower().replace("-", "") or any(
            not piece.isascii() and _decodes(piece, encoding) for piece in pieces)
        if plainly and len(failing) <= MAX_BAD_LINE_SHARE * max(1, len(pieces) - 1):
            bad = set(failing)
            text = "".join(piece.decode(encoding, errors="replace") if i in bad else piece.decode(encoding)
                           for i, piece in enumerate(pieces))
            return text.lstrip("\ufeff"), encoding, np.array(sorted(bad), dtype=np.int64) + 1
    first = next(i for i, piece in enumerate(pieces) if not _decodes(piece, encodings[-1]))
    raise SourceFileError(path, f"line {first + 1}", f"cannot be decoded as {' or '.join(encodings)}: too many "
                          f"lines fail in every one of them (more than {MAX_BAD_LINE_SHARE:.0%}); expected a text CSV "
                          "in UTF-8 or Windows-1252")


def _decodes(piece: bytes, encoding: str) -> bool:
    try:
        piece.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _replaced_lines(text: str) -> np.ndarray:
    if "\ufffd" not in text:
        return np.zeros(0, dtype=np.int64)
    return np.array([i + 1 for i, line in enumerate(_LINE.findall(text)) if "\ufffd" in line], dtype=np.int64)


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header line into the most columns (a comma on a tie, or one column)."""
    first = next((line for line in _LINE.findall(text[:65536]) if line.strip()), "")
    best, width = ",", 1
    for delimiter in DELIMITERS:
        try:
            n = len(next(csv.reader([first.rstrip("\r\n")], delimiter=delimiter), []))
        except csv.Error:
            continue
        if n > width:
            best, width = delimiter, n
    return best


# ------------------------------------------------------------------------------------ parsing

class _NeedsCareful(Exception):
    """pandas' fast parser cannot read the file as it is: read it line by line."""


def _fast(text: str, delimiter: str) -> tuple[pd.DataFrame, np.ndarray]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False, na_filter=False,
                                skip_blank_lines=False, engine="c")
    except pd.errors.EmptyDataError:
        return pd.DataFrame(), np.zeros(0, dtype=np.int64)
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError):
        raise _NeedsCareful from None
    if not isinstance(frame.index, pd.RangeIndex):  # more values than headers on every row
        raise _NeedsCareful
    if len(frame) and frame.isna().to_numpy().any():  # short rows: fine on one line, not when a value spans lines
        spans = np.logical_or.reduce([frame[c].str.contains("\n", regex=False).fillna(False).to_numpy(dtype=bool)
                                      for c in frame.columns])
        if (spans & frame.isna().to_numpy().any(axis=1)).any():
            raise _NeedsCareful
    frame = frame.fillna("").astype(str)
    header_lines = 1 + sum(str(c).count("\n") for c in frame.columns)
    if len(frame):
        newlines = sum(frame[c].str.count("\n").to_numpy(dtype=np.int64) for c in frame.columns)
        lines = header_lines + 1 + np.arange(len(frame)) + (np.cumsum(newlines) - newlines)
    else:
        lines = np.zeros(0, dtype=np.int64)
    return frame, np.asarray(lines, dtype=np.int64)


class _TooManyLines(Exception):
    pass


class _Lines:
    """The physical lines, handed to csv.reader one at a time; knows where it is."""

    def __init__(self, lines: list[str]):
        self.lines, self.pos, self.limit = lines, 0, len(lines)

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines):
            raise StopIteration
        if self.pos >= self.limit:
            raise _TooManyLines
        self.pos += 1
        return self.lines[self.pos - 1]


def _careful(path, text: str, delimiter: str) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """Line by line with the csv module (see module docstring): (frame, lines, line rejects)."""
    source = _Lines(_LINE.findall(text))
    records: list[tuple[int, list[str]]] = []
    rejects: list[tuple[int, str, str]] = []
    reader = csv.reader(source, delimiter=delimiter)
    while source.pos < len(source.lines):
        start = source.pos
        source.limit = start + MAX_RECORD_LINES
        try:
            row = next(reader)
        except StopIteration:
            break
        except (_TooManyLines, csv.Error) as exc:
            rejects.append((start + 1, "malformed_line", _unclosed(exc)))
            source.pos, source.limit = start + 1, len(source.lines)
            reader = csv.reader(source, delimiter=delimiter)
            continue
        if source.pos >= len(source.lines) and "".join(source.lines[start:]).count('"') % 2:
            rejects.append((start + 1, "malformed_line", _unclosed(None)))  # a quote left open runs to the end
            source.pos = start + 1
            reader = csv.reader(source, delimiter=delimiter)
            continue
        if records and source.pos - start > 1 and len(row) != len(records[0][1]) and \
                any(v.strip() for v in row[len(records[0][1]):]) | (len(row) < len(records[0][1])):
            # a value spanning lines, in a record of the wrong width: a stray quote swallowed the lines after it
            rejects.append((start + 1, "malformed_line", _unclosed(None)))
            source.pos = start + 1
            reader = csv.reader(source, delimiter=delimiter)
            continue
        records.append((start + 1, row))
    if not records:
        return pd.DataFrame(), np.zeros(0, dtype=np.int64), _reject_frame(rejects)
    (_, header), body = records[0], records[1:]
    width = len(header)
    names = [h if h.strip() else f"Unnamed: {i}" for i, h in enumerate(header)]
    cells, lines = [], []
    for line, row in body:
        if len(row) > width:
            extra = [v for v in row[width:] if v.strip()]
            if extra:
                rejects.append((line, "malformed_line", f"the line has {len(row)} values where the header has "
                                f"{width} columns ({DELIMITER_NAMES[delimiter]}-separated); expected one value per "
                                "header column (a delimiter inside a value must be quoted)"))
                continue
            row = row[:width]
        cells.append(row + [""] * (width - len(row)))
        lines.append(line)
    frame = pd.DataFrame(cells, columns=unique_headers(names), dtype=object).astype(str) if cells else \
        pd.DataFrame({h: pd.Series(dtype=str) for h in unique_headers(names)})
    return frame, np.asarray(lines, dtype=np.int64), _reject_frame(rejects)


def _unclosed(exc) -> str:
    if exc is None or isinstance(exc, _TooManyLines):
        return (f"a quote opened on this line is not closed (the value would run on for more than "
                f"{MAX_RECORD_LINES:,} lines or to the end of the file); expected quotes in pairs. Reading resumed "
                "on the next line")
    return f"not a well-formed CSV line ({exc}); reading resumed on the next line"


def unique_headers(headers: list[str]) -> list[str]:
    """Repeated headers as 'X', 'X.1', 'X.2' (as pandas names them): match_headers refuses a repeated column."""
    seen: dict[str, int] = {}
    out = []
    for h in headers:
        n = seen.get(h, 0)
        out.append(h if n == 0 else f"{h}.{n}")
        seen[h] = n + 1
    return out


def _reject_frame(rows: list[tuple[int, str, str]]) -> pd.DataFrame:
    if not rows:
        return empty_line_rejects()
    return pd.DataFrame(rows, columns=LINE_REJECT_COLUMNS).astype(
        {"source_line": "int64", "rule": "string", "message": "string"})


# ------------------------------------------------------------------------------------ line rules

def _drop(frame, lines, rejects, mask, rule: str, messages) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    if not mask.any():
        return frame, lines, rejects
    new = pd.DataFrame({"source_line": lines[mask], "rule": rule,
                        "message": messages if isinstance(messages, str) else np.asarray(messages)[mask]})
    rejects = pd.concat([rejects, new.astype({"source_line": "int64", "rule": "string", "message": "string"})],
                        ignore_index=True)
    return frame.loc[~mask].reset_index(drop=True), lines[~mask], rejects


def _too_long(frame, lines, rejects):
    """Reject lines holding a value longer than MAX_FIELD_CHARS (Excel's limit for a cell)."""
    if not len(frame):
        return frame, lines, rejects
    lengths = np.column_stack([frame[c].str.len().to_numpy(dtype=np.int64) for c in frame.columns])
    longest = lengths.max(axis=1)
    mask = longest > MAX_FIELD_CHARS
    messages = np.array([f"a value of {n:,} characters, more than the {MAX_FIELD_CHARS:,} a reader accepts (Excel's "
                         "limit for a cell); expected an extract's values" for n in longest], dtype=object) \
        if mask.any() else ""
    return _drop(frame, lines, rejects, mask, "field_too_long", messages)


def _undecodable(frame, lines, rejects, bad: np.ndarray, encoding: str):
    """Reject each row that holds a line the encoding could not decode (the row starting on or before it)."""
    if not len(frame):
        return frame, lines, rejects
    owner = np.searchsorted(lines, bad, side="right") - 1  # the row each bad line belongs to
    mask = np.zeros(len(frame), dtype=bool)
    mask[owner[owner >= 0]] = True
    return _drop(frame, lines, rejects, mask, "undecodable_text",
                 f"cannot be decoded as {encoding} like the rest of the file (a character saved in another "
                 "encoding?); expected the whole file in one encoding")


def _refuse_past_share(path, data_lines: int, rejects: pd.DataFrame, encoding: str, delimiter: str) -> None:
    if not len(rejects) or len(rejects) <= MAX_BAD_LINE_SHARE * data_lines:
        return
    first = rejects.sort_values("source_line").iloc[0]
    raise SourceFileError(path, f"line {first.source_line}", f"{len(rejects):,} of {data_lines:,} lines cannot be "
                          f"used (read as {DELIMITER_NAMES[delimiter]}-separated {encoding}; the first: "
                          f"{first.message}); more than {MAX_BAD_LINE_SHARE:.0%} of the file, so it is refused: "
                          "expected a CSV export with one header row")
