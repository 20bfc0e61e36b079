"""Validating one column of a tabular extract: dates, numbers, codes, NHS numbers, patterns; every check
vectorised over the column (no per-row Python loop)."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..errors import SourceFileError
from ..quoting import MAX_DISTINCT_SHOWN, code_map_words, quotable

from .result import ColumnFailure
from .schema import TabularColumn, TabularSchema, load_code_map, map_codes, normalise_value

RULES = ("blank_mandatory", "invalid_code", "invalid_date", "invalid_number", "invalid_nhs_number",
         "date_out_of_order", "future_date", "duplicate_row", "malformed_line", "undecodable_text", "field_too_long",
         "formula_without_value")


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


Parsed = tuple[pd.Series, list[ColumnFailure], "ColumnFailure | None"]  # values, rejecting failures, a flag


def validate_column(path: Path, col: TabularColumn, s: pd.Series, schema: TabularSchema,
                    extract_date: date | None) -> Parsed:
    """Parse one column; returns (parsed values, failures that reject the row, a flag that keeps it or None).
    A blank value of a mandatory column rejects the row; the rest depends on the column's type."""
    s = s.str.strip()
    blank = (s == "").to_numpy()
    mandatory = ([ColumnFailure(col.name, "blank_mandatory", blank, f"{col.name} is blank but mandatory")]
                 if col.spec.required else [])
    kind = col.spec.type
    if kind == "date":
        parsed, bad = parse_dates(path, col.name, s, extract_date, schema.min_date)
        return parsed, mandatory + [ColumnFailure(col.name, "invalid_date", bad, _message(
            col, s, "is not a valid date (expected dd/mm/yyyy or yyyy-mm-dd)"))], None
    values, fails, flagged = _PARSERS.get(kind, _string)(col, s, blank)
    return values, mandatory + fails, flagged


def _integer(col: TabularColumn, s: pd.Series, blank: np.ndarray) -> Parsed:
    """Whole numbers: "12" and "12.0" (a whole number stored as a decimal) are whole; "0.194" is not; the
    schema's min/max bound them."""
    spec = col.spec
    whole = s.str.fullmatch(r"[+-]?\d+(\.0*)?").fillna(False).to_numpy(dtype=bool)
    number = pd.to_numeric(s.where(whole).str.replace(r"\.0*$", "", regex=True), errors="coerce").astype("Int64")
    fails = [ColumnFailure(col.name, "invalid_number", ~blank & ~whole, _message(col, s, "is not a whole number"))]
    if spec.min is not None or spec.max is not None:
        lo = spec.min if spec.min is not None else -np.inf
        hi = spec.max if spec.max is not None else np.inf
        out = whole & ~number.between(lo, hi).fillna(False).to_numpy(dtype=bool)
        if spec.min is not None and spec.max is not None:
            what = f"is outside {spec.min}-{spec.max}"
        else:
            what = f"is below {spec.min}" if spec.min is not None else f"is above {spec.max}"
        fails.append(ColumnFailure(col.name, "invalid_number", out, _message(col, s, what)))
    return number, fails, None


def _code(col: TabularColumn, s: pd.Series, blank: np.ndarray) -> Parsed:
    """One code through the column's code map (and the schema's allowed codes). ``on_invalid: flag`` keeps
    the row with the value blanked: a characteristic the map does not know is 'not known', not a lost row."""
    spec = col.spec
    code = map_codes(normalise_value(s), load_code_map(col.code_map))
    unknown = ~blank & code.isna().to_numpy()
    if spec.allowed is not None:
        unknown |= ~blank & ~code.isin(list(spec.allowed)).fillna(False).to_numpy(dtype=bool)
    failure = ColumnFailure(col.name, "invalid_code", unknown,
                            _message(col, s, f"is not in the code map {col.code_map}.csv"
                                     + (f" (allowed {', '.join(spec.allowed)})" if spec.allowed else "")
                                     + ("; the row is kept with the value blanked" if col.on_invalid == "flag" else ""),
                                     code_map_words(col.code_map, tuple(spec.allowed or ()))))
    values = code.where(~unknown).astype("string")
    return (values, [], failure) if col.on_invalid == "flag" else (values, [failure], None)


def _code_list(col: TabularColumn, s: pd.Series, blank: np.ndarray) -> Parsed:
    """Several codes in one cell: every character of ``separator`` separates items (";" or ";," for
    "16A; 3B" and "16A,3B"); the known items are joined with ";". ``on_invalid: flag`` keeps the row with
    the items the map knows."""
    sep = col.separator or ";"
    items = s.str.split("[" + re.escape(sep.strip()) + "]", regex=True).explode().str.strip()
    items = items[items != ""]
    mapped = map_codes(normalise_value(items), load_code_map(col.code_map))
    unknown = s.index.isin(mapped[mapped.isna()].index.unique()) & ~blank
    joined = mapped.dropna().groupby(level=0).agg(";".join).reindex(s.index)
    failure = ColumnFailure(col.name, "invalid_code", unknown,
                            _message(col, s, f"holds a value not in the code map {col.code_map}.csv"
                                     + ("; the row is kept with the items the map knows" if col.on_invalid == "flag"
                                        else ""),
                                     code_map_words(col.code_map)))
    if col.on_invalid == "flag":
        return joined.astype("string"), [], failure
    return joined.where(~unknown).astype("string"), [failure], None


def _nhs_number(col: TabularColumn, s: pd.Series, blank: np.ndarray) -> Parsed:
    """NHS numbers (modulus 11 check digit; spaces and hyphens removed). Never quoted: an identifier."""
    valid = nhs_number_valid(s)
    bad = ~blank & ~valid
    value = s.str.replace(r"[\s-]", "", regex=True).where(valid).astype("string")
    if col.on_invalid == "flag":
        return value, [], ColumnFailure(col.name, "invalid_nhs_number", bad,
                                        f"{col.name} is not a valid NHS number (check digit); the row is kept with "
                                        "the NHS number blanked (value not shown: identifier)")
    return value, [ColumnFailure(col.name, "invalid_nhs_number", bad, f"{col.name} is not a valid NHS number "
                                 "(check digit; value not shown: identifier)")], None


def _string(col: TabularColumn, s: pd.Series, blank: np.ndarray) -> Parsed:
    """Text, blank as missing; checked against the schema's ``pattern`` when it has one."""
    fails = []
    if col.spec.pattern is not None:
        bad = ~blank & ~s.str.match(col.spec.pattern).fillna(False).to_numpy(dtype=bool)
        fails.append(ColumnFailure(col.name, "invalid_code", bad,
                                   _message(col, s, f"does not match {col.spec.pattern.pattern}")))
    return s.where(~pd.Series(blank, index=s.index)).astype("string"), fails, None


_PARSERS = {"integer": _integer, "code": _code, "code_list": _code_list, "nhs_number": _nhs_number}


def formula_failure(col: TabularColumn, header: str, formula_cells: dict, lines: np.ndarray) -> ColumnFailure | None:
    """The rows whose cell in this column is a formula with no saved value (see :mod:`sources.xlsx`)."""
    cells = {row: ref for (row, name), ref in formula_cells.items() if name == header}
    if not cells:
        return None
    mask = np.isin(lines, list(cells))
    refs = pd.Series([cells.get(int(line), "") for line in lines])
    return ColumnFailure(col.name, "formula_without_value", mask,
                    lambda m: (col.name + " (cell " + refs[m] + ") is a formula with no saved value: its value is "
                               "unknown, not blank; open the workbook in Excel, let it calculate, save it and "
                               "supply it again").to_numpy())
