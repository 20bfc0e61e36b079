"""Generic reader for tabular extracts (CSV or .xlsx) described by a YAML schema.

``read_table(path, schema)`` does what every CSV/xlsx extract needs:

* reads CSV with :mod:`sources.csv_text` (UTF-8, UTF-8 with BOM, cp1252 or UTF-16; comma, tab,
  semicolon or vertical bar; a malformed or undecodable line rejected on its own line) and .xlsx with
  :mod:`sources.xlsx` (one streaming pass over the sheet; date cells become ISO dates), after :func:`sources.limits.check_xlsx`;
* finds each canonical column by a tolerant header match: case, spacing and
  punctuation are ignored, and the names listed under ``synonyms`` in the YAML are
  accepted as well as the column's ``header`` regular expression;
* validates every column at once with pandas (no per-row Python loop): mandatory
  fields, codes through code-map CSVs (``sources/schemas/code_maps/<name>.csv``,
  columns ``value,code``, matched case- and whitespace-insensitively), dates in
  dd/mm/yyyy, yyyy-mm-dd, d/m/yy or d-Mon-yyyy (detected per column; a column whose
  slashed dates are month-first is refused, never guessed), whole numbers, NHS
  numbers (modulus 11), end-before-start, dates after the extract date and exact
  duplicate rows;
* returns a :class:`TableRead`: the kept rows with canonical snake_case columns plus
  ``source_file``, ``source_line`` (header = line 1; for .xlsx the sheet row number)
  and ``extract_date``; one reject row per (line, field, rule) broken; and
  ``rows_read`` so that ``rows_read == len(rows) + rejects.source_line.nunique()``.

Reject messages never quote a value of a column marked ``identifier: true`` in the
YAML (names, NHS number, UPN, date of birth, postcode, local IDs), and quote other values only
from coded columns, shaped like a code of their list (:mod:`sources.quoting`). A column whose
header appears twice is refused (which copy holds the data cannot be guessed).

A file that cannot be read at all raises :class:`sources.errors.SourceFileError`.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import yaml

from .csv_text import empty_line_rejects, read_csv_cells, sniff_delimiter, unique_headers, utf16_variant
from .errors import SourceFileError
from .limits import check_xlsx, read_regular
from .quoting import MAX_DISTINCT_SHOWN, code_map_words, quotable
from .schema import SCHEMA_DIR, ColumnSpec, SourceSchema, load_schema
from .xlsx import cell_text, read_sheet

CODE_MAP_DIR = SCHEMA_DIR / "code_maps"
REJECT_COLUMNS = ["source", "source_file", "source_line", "field", "rule", "message"]
RULES = ("blank_mandatory", "invalid_code", "invalid_date", "invalid_number", "invalid_nhs_number",
         "date_out_of_order", "future_date", "duplicate_row", "malformed_line", "undecodable_text", "field_too_long",
         "formula_without_value")

_WS = re.compile(r"\s+")


# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class TabularColumn:
    """A column of a tabular schema: the ``ColumnSpec`` plus the keys only tabular sources use."""

    spec: ColumnSpec
    synonyms: tuple[str, ...] = ()
    code_map: str | None = None  # name of a CSV under code_maps/
    separator: str | None = None  # type code_list: values separated by this
    identifier: bool = False  # never quote the value in a message
    keep: bool = True  # False: read (for duplicate detection) but not output
    on_invalid: str = "reject"  # nhs_number: "reject" or "flag" (keep the row, blank the value)

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class TabularSchema:
    base: SourceSchema
    columns: tuple[TabularColumn, ...]
    date_order: tuple[tuple[str, str], ...]  # (start, end): end before start is rejected
    not_after_extract: tuple[str, ...]  # dates that may not be after the extract date
    min_date: date
    duplicate_rows: str  # "reject" (keep the first copy) or "keep"

    @property
    def source(self) -> str:
        return self.base.source

    def column(self, name: str) -> TabularColumn:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


@lru_cache(maxsize=None)
def load_tabular_schema(name: str, directory: Path = SCHEMA_DIR) -> TabularSchema:
    """``load_schema`` plus the tabular keys (synonyms, code_map, separator, identifier, keep, rules).

    Cached: a schema is read once per process (it is frozen), not once per file.
    """
    base = load_schema(name, directory)
    raw = yaml.safe_load((directory / f"{name}.yaml").read_text(encoding="utf-8"))
    extra = {c["name"]: c for c in raw["columns"]}
    cols = []
    for spec in base.columns:
        c = extra[spec.name]
        cols.append(TabularColumn(
            spec=spec, synonyms=tuple(str(s) for s in c.get("synonyms") or ()), code_map=c.get("code_map"),
            separator=c.get("separator"), identifier=bool(c.get("identifier", False)),
            keep=bool(c.get("keep", True)), on_invalid=c.get("on_invalid", "reject")))
    rules = base.options.get("rules") or {}
    return TabularSchema(
        base=base, columns=tuple(cols),
        date_order=tuple(tuple(p) for p in rules.get("date_order", [])),
        not_after_extract=tuple(rules.get("not_after_extract", [])),
        min_date=pd.Timestamp(str(rules.get("min_date", "1900-01-01"))).date(),
        duplicate_rows=rules.get("duplicate_rows", "reject"),
    )


def normalise_header(text: str) -> str:
    """Lower case, punctuation to spaces, spaces collapsed: 'Was the Child Seen Alone?' -> 'was the child seen alone'."""
    text = str(text).replace("\ufeff", "").lower()
    text = re.sub(r"[^0-9a-z]+", " ", text)
    return text.strip()


def normalise_value(s: pd.Series) -> pd.Series:
    """Code values for matching: lower case, whitespace collapsed and trimmed."""
    return s.str.lower().str.replace(_WS, " ", regex=True).str.strip()


# Ofsted Annex A option prefixes: "a) WBRI", "p1) 5D: LA services", "(b) No", "a. Yes"
OPTION_PREFIX = re.compile(r"^\(?[a-z][0-9]?[).]\s*(?=\S)")


def without_option_prefix(s: pd.Series) -> pd.Series:
    """Normalised code values with an Annex A option prefix removed: 'a) wbri' -> 'wbri'."""
    return s.str.replace(OPTION_PREFIX, "", regex=True)


def map_codes(values: pd.Series, mapping: dict[str, str]) -> pd.Series:
    """Normalised values -> codes through a code map: the value as written first, then without its option
    prefix ("a) WBRI" -> WBRI when the map knows "WBRI"), so any code map accepts Annex A's lettered options."""
    code = values.map(mapping)
    missing = code.isna() & values.notna()
    if missing.any():
        code = code.where(~missing, without_option_prefix(values[missing]).map(mapping))
    return code


@lru_cache(maxsize=None)
def load_code_map(name: str, directory: Path = CODE_MAP_DIR) -> dict[str, str]:
    """A code map CSV (``value,code``) as {normalised value: code}. Lines starting '#' are comments."""
    path = directory / f"{name}.csv"
    text = path.read_text(encoding="utf-8-sig")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    frame = pd.read_csv(io.StringIO("\n".join(lines)), dtype=str, keep_default_na=False)
    if list(frame.columns[:2]) != ["value", "code"]:
        raise SourceFileError(path, "line 1 (header)", "a code map needs the columns value,code")
    keys = normalise_value(frame["value"].astype(str))
    out: dict[str, str] = {}
    for k, v in zip(keys, frame["code"].astype(str).str.strip()):
        if k in out and out[k] != v:
            raise SourceFileError(path, "value", f"'{k}' is mapped to both {out[k]} and {v}")
        out[k] = v
    return out


# --------------------------------------------------------------------------- result


@dataclass
class TableRead:
    rows: pd.DataFrame
    rejects: pd.DataFrame  # REJECT_COLUMNS
    rows_read: int  # data rows in the file (blank lines excluded)
    blank_lines: int = 0
    encoding: str = ""
    flags: pd.DataFrame = field(default_factory=lambda: empty_rejects())  # kept rows with a flagged value
    sheet: str = ""  # .xlsx: the sheet read
    sheet_count: int = 0  # .xlsx: sheets in the workbook (more than one: record ids name the sheet)
    missing_columns: tuple[str, ...] = ()  # optional schema columns the file does not have

    @property
    def rejected_lines(self) -> int:
        return int(self.rejects["source_line"].nunique())


def empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({"source": pd.Series(dtype="string"), "source_file": pd.Series(dtype="string"),
                         "source_line": pd.Series(dtype="int64"), "field": pd.Series(dtype="string"),
                         "rule": pd.Series(dtype="string"), "message": pd.Series(dtype="string")})


def concat_reads(parts: list[TableRead]) -> TableRead:
    """Several files' reads as one (e.g. all quarters of one source)."""
    if not parts:
        return TableRead(rows=pd.DataFrame(), rejects=empty_rejects(), rows_read=0)
    return TableRead(
        rows=pd.concat([p.rows for p in parts], ignore_index=True),
        rejects=pd.concat([p.rejects for p in parts], ignore_index=True),
        rows_read=sum(p.rows_read for p in parts), blank_lines=sum(p.blank_lines for p in parts),
        flags=pd.concat([p.flags for p in parts], ignore_index=True))


# --------------------------------------------------------------------------- reading


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


# --------------------------------------------------------------------------- validation


_DATE_FORMATS = [  # (regex on the trimmed text, strptime format, two-digit year)
    (r"^\d{4}-\d{1,2}-\d{1,2}$", "%Y-%m-%d", False),
    (r"^\d{4}-\d{1,2}-\d{1,2}[ T]00:00(:00(\.0+)?)?$", "ISO-midnight", False),
    (r"^\d{1,2}/\d{1,2}/\d{4}$", "%d/%m/%Y", False),
    (r"^\d{1,2}/\d{1,2}/\d{2}$", "%d/%m/%y", True),
    (r"^\d{1,2}-[A-Za-z]{3}-\d{4}$", "%d-%b-%Y", False),
    (r"^\d{1,2} [A-Za-z]{3} \d{4}$", "%d %b %Y", False),
]


def parse_dates(path: Path, name: str, s: pd.Series, extract_date: date | None,
                min_date: date) -> tuple[pd.Series, np.ndarray]:
    """Parse a text column of dates; returns (datetime64 series, mask of non-blank values that are not valid dates).

    Accepted per value: yyyy-mm-dd, dd/mm/yyyy, d/m/yy, d-Mon-yyyy, d Mon yyyy. Day-first only: if the
    column's slashed dates look month-first (second part > 12 somewhere, first part never > 12) the file
    is refused rather than guessed. Two-digit years fall in the century that puts them on or before the
    extract date (or today). Each distinct text is parsed once (dates repeat a lot in a column).
    """
    codes, distinct = pd.factorize(s.fillna("").astype("string").str.strip())
    parsed, bad = _parse_distinct_dates(path, name, pd.Series(distinct, dtype="string"), extract_date, min_date)
    out = pd.Series(parsed.to_numpy()[codes], index=s.index, dtype="datetime64[ns]")
    return out, bad[codes]


def _parse_distinct_dates(path: Path, name: str, text: pd.Series, extract_date: date | None,
                          min_date: date) -> tuple[pd.Series, np.ndarray]:
    blank = (text == "").to_numpy()
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    slashed = text.str.match(r"^\d{1,2}/\d{1,2}/\d{2,4}$").to_numpy(dtype=bool)
    if slashed.any():
        parts = text[slashed].str.split("/", expand=True)
        first, second = pd.to_numeric(parts[0]).to_numpy(), pd.to_numeric(parts[1]).to_numpy()
        if (second > 12).any() and not (first > 12).any():
            raise SourceFileError(path, f"column '{name}'", "dates look month-first (mm/dd/yyyy: a middle part "
                                  "above 12 and no first part above 12); expected day-first dd/mm/yyyy or yyyy-mm-dd")
    for regex, fmt, two_digit in _DATE_FORMATS:
        if (blank | out.notna().to_numpy()).all():
            break  # every value parsed: the other formats have nothing left to do
        m = text.str.match(regex).to_numpy(dtype=bool) & out.isna().to_numpy()
        if not m.any():
            continue
        vals = text[m]
        if fmt == "ISO-midnight":
            parsed = pd.to_datetime(vals.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        else:
            parsed = pd.to_datetime(vals, format=fmt, errors="coerce")
        if two_digit:
            ref = pd.Timestamp(extract_date or date.today())
            parsed = parsed.where(~(parsed > ref), parsed - pd.DateOffset(years=100))
        out.loc[m] = parsed.astype("datetime64[ns]")
    bad = ~blank & (out.isna().to_numpy() | (out < pd.Timestamp(min_date)).fillna(False).to_numpy(dtype=bool))
    out = out.where(~bad)
    return out, bad


def nhs_number_valid(s: pd.Series) -> np.ndarray:
    """True where a string (spaces/hyphens allowed) is a 10-digit NHS number with a correct modulus-11 check digit."""
    digits = s.str.replace(r"[\s-]", "", regex=True)
    shape = digits.str.fullmatch(r"\d{10}").fillna(False).to_numpy(dtype=bool)
    padded = digits.where(shape, "0000000000")
    d = np.stack([padded.str.slice(i, i + 1).astype(int).to_numpy() for i in range(10)], axis=1)
    total = (d[:, :9] * np.arange(10, 1, -1)).sum(axis=1)
    check = 11 - total % 11
    check = np.where(check == 11, 0, check)
    return shape & (check != 10) & (check == d[:, 9])


@dataclass
class _Failure:
    field: str
    rule: str
    mask: np.ndarray
    message: pd.Series | str | Callable[[np.ndarray], np.ndarray]  # a callable gets the mask


def _message(col: TabularColumn, s: pd.Series, what: str,
             vocabulary: frozenset[str] | None = None) -> Callable[[np.ndarray], np.ndarray] | str:
    """'<field> '<value>' <what>' only for a coded column's value shaped like a code of its list
    (:mod:`sources.quoting`); otherwise '<field> <what>' with the reason the value is not shown.

    Built only for the failing rows (a function of the mask): most columns fail nowhere.
    """
    if col.identifier:
        return f"{col.name} {what} (value not shown: identifier)"
    if vocabulary is None:
        return f"{col.name} {what}"

    def build(mask: np.ndarray) -> np.ndarray:
        values = s[mask]
        shown = quotable(values, vocabulary)
        many = len(pd.unique(values)) > MAX_DISTINCT_SHOWN
        hidden = (f"{col.name} {what} (value not shown: {len(pd.unique(values)):,} different values of this column "
                  "are not codes; is the column mislabelled?)" if many else
                  f"{col.name} {what} (value not shown: not shaped like a code of that list)")
        quoted = (col.name + " '" + values + "' " + what).to_numpy(dtype=object)
        return np.where(shown, quoted, hidden)
    return build


def _validate_column(path: Path, col: TabularColumn, s: pd.Series, schema: TabularSchema,
                     extract_date: date | None) -> tuple[pd.Series, list[_Failure], _Failure | None]:
    """Parse one column; returns (parsed values, failures that reject the row, a flag that keeps it or None)."""
    spec = col.spec
    s = s.str.strip()
    blank = (s == "").to_numpy()
    fails: list[_Failure] = []
    if spec.required:
        fails.append(_Failure(col.name, "blank_mandatory", blank, f"{col.name} is blank but mandatory"))
    kind = spec.type
    flagged = None
    if kind == "date":
        parsed, bad = parse_dates(path, col.name, s, extract_date, schema.min_date)
        fails.append(_Failure(col.name, "invalid_date", bad, _message(col, s, "is not a valid date (expected dd/mm/yyyy "
                                                                             "or yyyy-mm-dd)")))
        return parsed, fails, None
    if kind == "integer":
        # "12" and "12.0" (a whole number stored as a decimal) are whole; "0.194" is not (rejected)
        whole = s.str.fullmatch(r"[+-]?\d+(\.0*)?").fillna(False).to_numpy(dtype=bool)
        number = pd.to_numeric(s.where(whole).str.replace(r"\.0*$", "", regex=True), errors="coerce").astype("Int64")
        fails.append(_Failure(col.name, "invalid_number", ~blank & ~whole, _message(col, s, "is not a whole number")))
        if spec.min is not None or spec.max is not None:
            lo = spec.min if spec.min is not None else -np.inf
            hi = spec.max if spec.max is not None else np.inf
            out = whole & ~number.between(lo, hi).fillna(False).to_numpy(dtype=bool)
            if spec.min is not None and spec.max is not None:
                what = f"is outside {spec.min}-{spec.max}"
            else:
                what = f"is below {spec.min}" if spec.min is not None else f"is above {spec.max}"
            fails.append(_Failure(col.name, "invalid_number", out, _message(col, s, what)))
        return number, fails, None
    if kind == "code":
        mapping = load_code_map(col.code_map)
        code = map_codes(normalise_value(s), mapping)
        unknown = ~blank & code.isna().to_numpy()
        if spec.allowed is not None:
            unknown |= ~blank & ~code.isin(list(spec.allowed)).fillna(False).to_numpy(dtype=bool)
        failure = _Failure(col.name, "invalid_code", unknown,
                           _message(col, s, f"is not in the code map {col.code_map}.csv"
                                    + (f" (allowed {', '.join(spec.allowed)})" if spec.allowed else "")
                                    + ("; the row is kept with the value blanked" if col.on_invalid == "flag" else ""),
                                    code_map_words(col.code_map, tuple(spec.allowed or ()))))
        if col.on_invalid == "flag":
            flagged = failure  # kept: a characteristic the code map does not know is 'not known', not a lost row
        else:
            fails.append(failure)
        return code.where(~unknown).astype("string"), fails, flagged
    if kind == "code_list":
        mapping = load_code_map(col.code_map)
        sep = col.separator or ";"
        # every character of ``separator`` separates items (";" or ";," for "16A; 3B" and "16A,3B")
        items = s.str.split("[" + re.escape(sep.strip()) + "]", regex=True).explode().str.strip()
        items = items[items != ""]
        mapped = map_codes(normalise_value(items), mapping)
        bad_idx = mapped[mapped.isna()].index.unique()
        unknown = s.index.isin(bad_idx) & ~blank
        joined = mapped.dropna().groupby(level=0).agg(";".join).reindex(s.index)
        failure = _Failure(col.name, "invalid_code", unknown,
                           _message(col, s, f"holds a value not in the code map {col.code_map}.csv"
                                    + ("; the row is kept with the items the map knows" if col.on_invalid == "flag"
                                       else ""),
                                    code_map_words(col.code_map)))
        if col.on_invalid == "flag":  # kept, with the items the code map knows
            return joined.astype("string"), fails, failure
        fails.append(failure)
        return joined.where(~unknown).astype("string"), fails, flagged
    if kind == "nhs_number":
        valid = nhs_number_valid(s)
        bad = ~blank & ~valid
        if col.on_invalid == "flag":
            flagged = _Failure(col.name, "invalid_nhs_number", bad,
                               f"{col.name} is not a valid NHS number (check digit); the row is kept with the "
                               "NHS number blanked (value not shown: identifier)")
            value = s.str.replace(r"[\s-]", "", regex=True).where(valid)
        else:
            fails.append(_Failure(col.name, "invalid_nhs_number", bad,
                                  f"{col.name} is not a valid NHS number (check digit; value not shown: identifier)"))
            value = s.str.replace(r"[\s-]", "", regex=True).where(valid)
        return value.astype("string"), fails, flagged
    # string
    if spec.pattern is not None:
        bad = ~blank & ~s.str.match(spec.pattern).fillna(False).to_numpy(dtype=bool)
        fails.append(_Failure(col.name, "invalid_code", bad, _message(col, s, f"does not match {spec.pattern.pattern}")))
    return s.where(~pd.Series(blank, index=s.index)).astype("string"), fails, None


def read_table(path: Path | str, schema: TabularSchema | str, *, extract_date: date | str | None = None,
               source_file: str | None = None, sheets: tuple[str, ...] = ()) -> TableRead:
    """Read and validate one CSV or .xlsx extract against a tabular schema (or its name).

    ``sheets``: for a workbook, the patterns of the sheet to read (:mod:`sources.xlsx`); a sheet they
    choose that is wholly empty (not even a header row) is a list supplied with no rows.
    """
    path = Path(path)
    if isinstance(schema, str):
        schema = load_tabular_schema(schema)
    if isinstance(extract_date, str):
        extract_date = date.fromisoformat(extract_date)
    label = source_file or path.name
    raw = read_raw(path, schema.base.encodings, tuple(sheets))
    table, lines, encoding = raw
    sheet, sheet_count = table.attrs.get("sheet", ""), int(table.attrs.get("sheet_count", 0))
    if table.attrs.get("empty_sheet"):
        table = pd.DataFrame({c.name: pd.Series(dtype=str) for c in schema.columns})
    if len(table.columns) == 0:
        raise SourceFileError(path, "line 1 (header)", "no header row")
    headers = list(table.columns)
    try:
        picked = match_headers(path, headers, schema)
    except SourceFileError as exc:
        if not sheet:
            raise
        # say which sheet was read: a workbook of several lists is refused for one sheet's header
        raise SourceFileError(path, f"sheet '{sheet}', row {table.attrs.get('header_row', 1)} (header)",
                              exc.problem) from None
    formula_cells = table.attrs.get("formula_cells") or {}

    # skip wholly blank lines (counted, not rows)
    blank_line = (table.apply(lambda c: c.str.strip()) == "").all(axis=1).to_numpy() if len(table) else np.zeros(0, bool)
    table = table.loc[~blank_line].reset_index(drop=True)
    lines = lines[~blank_line]
    n = len(table)

    parsed: dict[str, pd.Series] = {}
    fails: list[_Failure] = []
    flags: list[_Failure] = []
    for col in schema.columns:
        if col.name not in picked:  # an optional column the file does not have: empty, of the column's type
            kind = {"date": "datetime64[ns]", "integer": "Int64"}.get(col.spec.type, "string")
            parsed[col.name] = pd.Series(pd.NA if kind != "datetime64[ns]" else pd.NaT, index=table.index, dtype=kind)
            continue
        values, col_fails, flagged = _validate_column(path, col, table[picked[col.name]].astype(str), schema,
                                                      extract_date)
        formulas = _formula_failure(col, picked[col.name], formula_cells, lines)
        if formulas is not None and col.spec.required:
            # a mandatory value that is a formula Excel never calculated: rejected for that reason, not as blank
            col_fails = [f if f.rule != "blank_mandatory" else _Failure(f.field, f.rule, f.mask & ~formulas.mask,
                                                                         f.message) for f in col_fails]
            col_fails.append(formulas)
        elif formulas is not None:
            flags.append(formulas)
        parsed[col.name] = values
        fails.extend(col_fails)
        if flagged is not None:
            flags.append(flagged)

    for start, end in schema.date_order:
        if start in parsed and end in parsed and start in picked and end in picked:
            bad = (parsed[end] < parsed[start]).fillna(False).to_numpy(dtype=bool)
            fails.append(_Failure(end, "date_out_of_order", bad, f"{end} is before {start}"))
    if extract_date is not None:
        limit = pd.Timestamp(extract_date)
        for name in schema.not_after_extract:
            if name in picked:
                bad = (parsed[name] > limit).fillna(False).to_numpy(dtype=bool)
                fails.append(_Failure(name, "future_date", bad, f"{name} is after the extract date {extract_date}"))
    if schema.duplicate_rows == "reject" and n:
        dup = table.apply(lambda c: c.str.strip()).duplicated(keep="first").to_numpy()
        fails.append(_Failure("", "duplicate_row", dup, "exact copy of an earlier row"))

    rejects = _collect(fails, schema.source, label, lines)
    rejected = np.isin(lines, rejects["source_line"].to_numpy()) if len(rejects) else np.zeros(n, bool)
    if len(raw.line_rejects):  # lines the CSV reader could not use: read, and rejected
        rejects = pd.concat([rejects, _line_rejects(raw.line_rejects, schema.source, label)], ignore_index=True)
        rejects = rejects.sort_values(["source_line", "field", "rule"], kind="stable").reset_index(drop=True)
        n += len(raw.line_rejects)
    flag_frame = _collect(flags, schema.source, label, lines)
    if len(flag_frame):
        flag_frame = flag_frame[~flag_frame["source_line"].isin(rejects["source_line"])].reset_index(drop=True)

    keep = ~rejected
    out = {c.name: parsed[c.name][keep] for c in schema.columns if c.keep}
    rows = pd.DataFrame(out).reset_index(drop=True)
    rows["source_file"] = pd.Series(label, index=rows.index, dtype="string")
    rows["source_line"] = lines[keep].astype(np.int64)
    rows["extract_date"] = pd.Timestamp(extract_date) if extract_date is not None else pd.NaT
    if schema.base.options.get("output_columns_from_schema", True):
        wanted = [c for c in schema.base.output_columns if c in rows.columns]
        rows = rows[wanted + [c for c in ("source_file", "source_line", "extract_date") if c not in wanted]]
    return TableRead(rows=rows, rejects=rejects, rows_read=n, blank_lines=int(blank_line.sum()),
                     encoding=encoding, flags=flag_frame, sheet=sheet, sheet_count=sheet_count,
                     missing_columns=tuple(c.name for c in schema.columns if c.name not in picked))


def _formula_failure(col: TabularColumn, header: str, formula_cells: dict, lines: np.ndarray) -> _Failure | None:
    """The rows whose cell in this column is a formula with no saved value (see :mod:`sources.xlsx`)."""
    cells = {row: ref for (row, name), ref in formula_cells.items() if name == header}
    if not cells:
        return None
    mask = np.isin(lines, list(cells))
    refs = pd.Series([cells.get(int(line), "") for line in lines])
    return _Failure(col.name, "formula_without_value", mask,
                    lambda m: (col.name + " (cell " + refs[m] + ") is a formula with no saved value: its value is "
                               "unknown, not blank; open the workbook in Excel, let it calculate, save it and "
                               "supply it again").to_numpy())


def _line_rejects(line_rejects: pd.DataFrame, source: str, label: str) -> pd.DataFrame:
    """The CSV reader's rejected lines (sources.csv_text) in the reject layout (no field: the whole line)."""
    return pd.DataFrame({"source": source, "source_file": label, "source_line": line_rejects["source_line"],
                         "field": "", "rule": line_rejects["rule"], "message": line_rejects["message"]}).astype(
        {"source": "string", "source_file": "string", "source_line": "int64", "field": "string", "rule": "string",
         "message": "string"})


def _collect(fails: list[_Failure], source: str, label: str, lines: np.ndarray) -> pd.DataFrame:
    parts = []
    for f in fails:
        mask = np.asarray(f.mask, dtype=bool)
        if not mask.any():
            continue
        if callable(f.message):
            msg = f.message(mask)
        elif isinstance(f.message, pd.Series):
            msg = f.message[mask].to_numpy()
        else:
            msg = f.message
        parts.append(pd.DataFrame({"source": source, "source_file": label, "source_line": lines[mask],
                                   "field": f.field, "rule": f.rule, "message": msg}))
    if not parts:
        return empty_rejects()
    out = pd.concat(parts, ignore_index=True).sort_values(["source_line", "field", "rule"], kind="stable")
    return out.astype({"source": "string", "source_file": "string", "source_line": "int64", "field": "string",
                       "rule": "string", "message": "string"}).reset_index(drop=True)


def extract_context(path: Path, extract_date: date | str | None, authority: str | None) -> tuple[date | None, str | None, str]:
    """Extract date and authority folder from ``incoming/<authority>/<quarter end>/<file>`` unless given.

    Returns (extract date, authority, source_file label 'authority/quarter/file').
    """
    path = Path(path)
    if extract_date is None:
        try:
            extract_date = date.fromisoformat(path.parent.name)
        except ValueError:
            extract_date = None
    elif isinstance(extract_date, str):
        extract_date = date.fromisoformat(extract_date)
    if authority is None and extract_date is not None and path.parent.name == extract_date.isoformat():
        authority = path.parent.parent.name
    parts = [p for p in (authority, path.parent.name if extract_date and path.parent.name == extract_date.isoformat()
                         else None, path.name) if p]
    return extract_date, authority, "/".join(parts)


def read_extract(path: Path | str, schema_name: str, extract_date: date | str | None = None,
                 authority: str | None = None, sheets: tuple[str, ...] = ()) -> TableRead:
    """read_table for a quarterly extract: adds an ``authority`` column and labels rows 'authority/quarter/file'."""
    extract_date, authority, label = extract_context(Path(path), extract_date, authority)
    result = read_table(path, schema_name, extract_date=extract_date, source_file=label, sheets=sheets)
    result.rows.insert(0, "authority", pd.Series(authority, index=result.rows.index, dtype="string"))
    return result
