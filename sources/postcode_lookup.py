"""Read the postcode lookup (ONS Postcode Directory / NSPL): postcode to ward, LSOA and district.

``read_postcode_lookup(path)`` returns a :class:`ReferenceRead` (a ``TableRead`` with notes) whose
rows have the columns of ``sources/schemas/postcode_lookup.yaml``:

* ``postcode``: upper case, one space before the three-character inward code ("QN3 3WG");
* ``postcode_key``: upper case, no spaces ("QN33WG") - the key extracts join on;
* ``ward_code``, ``ward_name``, ``lsoa_code``, ``lad_code``, ``lad_name`` (names are blank for a real
  ONSPD, which keeps them in separate name files);
* ``terminated``: True where ``doterm`` (date of termination, yyyymm) is filled in. Terminated
  postcodes are kept: old addresses in extracts still use them;
* ``source_file``, ``source_line`` (header = line 1).

The national ONSPD is about 2.7 million rows and 60 columns, so only the needed columns are parsed,
by the pandas C reader (``usecols``), and every rule is checked on whole columns. Line numbers
assume no quoted field spans two lines (true of ONS files). Vintage-suffixed headers (``wd23cd``,
``wd25cd``, ``lsoa11cd``, ``lsoa21cd``) are found by the schema's regular expressions; when several
vintages are present the latest is used and ``notes`` says so.

Rows breaking a rule (postcode blank or not shaped like a UK postcode, ward code blank, a code of
the wrong shape, a postcode already on an earlier line) go to ``rejects`` (``REJECT_COLUMNS`` of
:mod:`sources.tabular`); messages never quote a postcode. A file that cannot be read at all
raises :class:`sources.errors.SourceFileError`.

This module also holds the helpers the other reference readers share: ``ReferenceRead``,
``load_reference_columns`` and ``pick_columns`` (vintage-tolerant header matching). Which file in
``reference/`` is the lookup is the source registry's (``sources/registry/postcode_lookup.yaml``).
"""
from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .errors import SourceFileError
from .limits import open_regular
from .schema import SCHEMA_DIR, ColumnSpec, load_schema
from .tabular import ColumnFailure, TableRead, collect_failures, normalise_header

SOURCE = "postcode_lookup"
log = logging.getLogger(__name__)


@dataclass
class ReferenceRead(TableRead):
    """A ``TableRead`` plus which file header fed each column and notes on choices made."""

    columns_used: dict[str, str] = field(default_factory=dict)  # canonical name -> file header
    notes: list[str] = field(default_factory=list)
    position: str = "line"  # what a reject's source_line counts: file lines, or GeoJSON features


@dataclass(frozen=True)
class ReferenceColumn:
    """A schema column plus the matching keys of the reference readers (see postcode_lookup.yaml)."""

    spec: ColumnSpec
    synonyms: tuple[str, ...] = ()
    pick: str | None = None  # "latest_year" | "first_synonym" | None (several matches = error)
    year_of: str | None = None  # use the header with the same year as this column's

    @property
    def name(self) -> str:
        return self.spec.name


def load_reference_columns(name: str) -> tuple[ReferenceColumn, ...]:
    raw = yaml.safe_load((SCHEMA_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    extra = {c["name"]: c for c in raw["columns"]}
    return tuple(ReferenceColumn(spec, tuple(str(s) for s in extra[spec.name].get("synonyms") or ()),
                                 extra[spec.name].get("pick"), extra[spec.name].get("year_of"))
                 for spec in load_schema(name).columns)


def _year(col: ReferenceColumn, header: str) -> int | None:
    found = col.spec.header.search(header)
    year = found.groupdict().get("year") if found else None
    return int(year) if year else None


def pick_columns(path: Path, headers: list[str], columns: tuple[ReferenceColumn, ...],
                 where: str = "line 1 (header)", what: str = "column") -> tuple[dict[str, str], list[str]]:
    """({canonical name: header}, notes). Headers are compared after ``normalise_header``.

    Raises SourceFileError when a required column is missing or a match is ambiguous.
    """
    normal = {h: normalise_header(h) for h in headers}
    picked: dict[str, str] = {}
    notes: list[str] = []
    for col in columns:
        names = [normalise_header(s) for s in col.synonyms]
        hits = [h for h in headers if h not in picked.values()
                and (normal[h] in names or col.spec.header.search(normal[h]))]
        if col.year_of and hits:
            code_header = picked.get(col.year_of)
            code_col = next(c for c in columns if c.name == col.year_of)
            want = _year(code_col, normal[code_header]) if code_header else None
            same = [h for h in hits if want is not None and _year(col, normal[h]) == want]
            if not same:
                notes.append(f"{col.name}: {', '.join(hits)} not of the same year as {col.year_of} "
                             f"({code_header or 'not present'}); {col.name} left blank")
            hits = same
        if len(hits) > 1 and col.pick == "latest_year":
            hits.sort(key=lambda h: -1 if _year(col, normal[h]) is None else _year(col, normal[h]), reverse=True)
            if _year(col, normal[hits[0]]) != _year(col, normal[hits[1]]):
                notes.append(f"{col.name}: several vintages in the file ({', '.join(sorted(hits))}); "
                             f"using the latest, {hits[0]}")
                hits = hits[:1]
        elif len(hits) > 1 and col.pick == "first_synonym":
            hits.sort(key=lambda h: names.index(normal[h]) if normal[h] in names else len(names))
            hits = hits[:1]
        if len(hits) > 1:
            raise SourceFileError(path, where, f"more than one {what} could be '{col.name}': "
                                  f"{', '.join(repr(h) for h in hits)}")
        if not hits:
            if col.spec.required:
                like = " or ".join(repr(s) for s in (col.synonyms or (col.name,))[:3])
                raise SourceFileError(path, where, f"required {what} '{col.name}' not found; expected a {what} "
                                      f"like {like} (any year suffix; case is ignored)")
            continue
        picked[col.name] = hits[0]
    for note in notes:
        log.info("%s: %s", Path(path).name, note)
    return picked, notes


# --------------------------------------------------------------------------- postcode lookup


def postcode_lookup_file(incoming: Path | str) -> Path | None:
    """``incoming/reference/postcode_lookup*.csv``, else an ``ONSPD_*.csv`` or ``NSPL*.csv`` there."""
    from .incoming import reference_file

    return reference_file(incoming, "postcode_lookup")


def read_postcode_lookup(path: Path | str) -> ReferenceRead:
    path = Path(path)
    columns = load_reference_columns(SOURCE)
    headers = _csv_header(path)
    picked, notes = pick_columns(path, headers, columns)
    table, encoding = _read_columns(path, list(picked.values()))
    lines = np.arange(len(table), dtype=np.int64) + 2
    values = {name: table[h].str.strip() for name, h in picked.items()}

    blank_line = np.logical_and.reduce([(v == "").to_numpy() for v in values.values()])
    values = {k: v[~blank_line].reset_index(drop=True) for k, v in values.items()}
    lines = lines[~blank_line]
    if not len(lines):
        raise SourceFileError(path, "line 2", "no data rows after the header; expected one row per postcode")
    empty = pd.Series(pd.NA, index=range(len(lines)), dtype="string")
    # spaces, tabs and no-break spaces removed (a character class, not \s: pyarrow runs it natively)
    key = values["postcode"].str.upper().str.replace("[ \t\u00a0]+", "", regex=True)

    fails: list[ColumnFailure] = []
    for col in columns:
        if col.name not in values or col.name == "date_terminated":
            continue
        s = key if col.name == "postcode" else values[col.name]
        blank = (s == "").to_numpy()
        if col.spec.required:
            fails.append(ColumnFailure(col.name, "blank_mandatory", blank, f"{col.name} is blank but mandatory"))
        if col.spec.pattern is not None:
            bad = ~blank & ~s.str.fullmatch(col.spec.pattern).to_numpy(dtype=bool)
            message = ("postcode is not shaped like a UK postcode (value not shown)" if col.name == "postcode"
                       else col.name + " '" + s.str.slice(0, 40) + "' is not a 9-character ONS code")
            fails.append(ColumnFailure(col.name, "invalid_code", bad, message))
    rejected = np.logical_or.reduce([f.mask for f in fails])
    repeat = key.where(~rejected).duplicated(keep="first").to_numpy() & ~rejected
    fails.append(ColumnFailure("postcode", "duplicate_key", repeat,
                          "postcode already on an earlier line (value not shown)"))
    rejects = collect_failures(fails, SOURCE, path.name, lines)
    keep = ~(rejected | repeat)

    def text(name: str) -> pd.Series:
        s = values.get(name, empty)
        return s.where(s != "").astype("string")[keep]

    key = key[keep]
    terminated = values["date_terminated"] != "" if "date_terminated" in values else pd.Series(False, index=empty.index)
    if "date_terminated" not in values:
        notes.append("no doterm column: every postcode is taken as live (terminated = False)")
    rows = pd.DataFrame({
        "postcode": (key.str.slice(0, -3) + " " + key.str.slice(-3)).astype("string"),
        "postcode_key": key.astype("string"),
        **{name: text(name) for name in ("ward_code", "ward_name", "lsoa_code", "lad_code", "lad_name")},
        "terminated": terminated[keep].astype(bool),
        "source_file": pd.Series(path.name, index=key.index, dtype="string"),
        "source_line": lines[keep],
    }).reset_index(drop=True)
    return ReferenceRead(rows=rows, rejects=rejects, rows_read=len(lines), blank_lines=int(blank_line.sum()),
                         encoding=encoding, columns_used=picked, notes=notes)


def _csv_header(path: Path) -> list[str]:
    """The header row's cells (decoded as UTF-8, else cp1252)."""
    with open_regular(path) as f:  # never a named pipe (sources.limits)
        head = f.read(1 << 16)
    if not head.strip():
        raise SourceFileError(path, "line 1", "the file is empty")
    if b"\x00" in head or head[:4] in (b"PK\x03\x04", b"\xd0\xcf\x11\xe0"):
        raise SourceFileError(path, "line 1", "not a CSV text file (it holds binary data: a spreadsheet or a zip?); "
                              "expected a CSV such as ONSPD_<MON>_<YEAR>_UK.csv")
    first = re.split(rb"\r?\n", head.lstrip(b"\r\n"), maxsplit=1)[0]
    text = first.decode("utf-8-sig", errors="strict") if _is_utf8(first) else first.decode("cp1252", errors="replace")
    return [h.strip() for h in next(csv.reader([text.lstrip("\ufeff")]))]


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _read_columns(path: Path, headers: list[str]) -> tuple[pd.DataFrame, str]:
    """Only ``headers``, as text, by the C reader; UTF-8 (with or without BOM) first, then cp1252."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            frame = pd.read_csv(path, usecols=headers, dtype=str, encoding=encoding, keep_default_na=False,
                                na_filter=False, skip_blank_lines=False, engine="c")
        except UnicodeDecodeError:
            continue
        except pd.errors.ParserError as exc:
            found = re.search(r"line (\d+)", str(exc))
            raise SourceFileError(path, f"line {found.group(1)}" if found else "line ?",
                                  f"not a well-formed CSV file ({str(exc).strip()})") from None
        return frame, encoding
    raise SourceFileError(path, "line 1", "cannot be decoded as UTF-8 or Windows-1252; expected a text CSV")
