"""Read ONS mid-year population estimates by lower-layer super output area (LSOA), sex and single year of age.

Two layouts are read, both keeping children aged 0-17 only (older ages are dropped and counted, not rejected):

* **ONS's published table** (*Lower layer Super Output Area population estimates*, one sheet per mid-year, e.g.
  "Mid-2022 LSOA 2021", saved as CSV), one row per LSOA with a column per sex and age::

      LAD 2021 Code,LAD 2021 Name,LSOA 2021 Code,LSOA 2021 Name,Total,F0,F1,...,F90,M0,M1,...,M90

  The mid-year is not in the sheet: it is taken from a ``mid_year`` column if there is one, else from the file
  name (``..._mid_2024.csv``, ``mid-2024``, or the one year 19xx/20xx the name holds, e.g. ``sapelsoasyoa2022.csv``).
* **long**, like the ward files (``sources/ons_population.py``), matched by the header patterns of
  ``sources/schemas/ons_population_lsoa.yaml``::

      LSOA21CD,LSOA21NM,LAD24CD,LAD24NM,sex,age,population_2024

``read_population_lsoa(path)`` returns a :class:`sources.tabular.TableRead` whose rows are
:data:`OUTPUT_COLUMNS` (one row per LSOA, sex and age 0-17). A line that breaks a rule (an LSOA code not shaped
like ``E01``/``W01`` + 6 digits, a count that is not a whole number, an unknown sex ...) goes to ``rejects`` with
its line, field and rule, as does a line the CSV reader cannot use (malformed: more values than the header
has columns, a quote left open); the file as a whole is refused (:class:`sources.errors.SourceFileError`) when it has
neither layout's columns or its mid-year cannot be told. ``rows_read`` counts data lines (one per LSOA in the
published layout, one per LSOA, sex and age in the long one).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from . import ons_population as ward
from .errors import SourceFileError
from .schema import load_schema
from .tabular import (ColumnFailure, RawTable, TableRead, collect_failures, read_raw, whole_number_columns,
                      with_line_rejects)

SOURCE = "ons_population_lsoa"
OUTPUT_COLUMNS = ["mid_year", "lsoa_code", "lsoa_name", "lad_code", "lad_name", "sex", "age", "population"]
_LSOA = re.compile(r"^[EW]01\d{6}$")
_LAD = re.compile(r"^[EW]0[6-9]\d{6}$")
_AGE_COLUMN = re.compile(r"^([FM])(\d{1,2})(\+)?$", re.IGNORECASE)
KEEP_AGES = 17


def mid_year_from_name(path: Path) -> int | None:
    """``..._mid_2024.csv`` / ``mid-2024`` -> 2024; else the one year 19xx/20xx in the name; else None."""
    name = path.stem.lower()
    hit = re.search(r"mid[-_ ]?((?:19|20)\d{2})", name)
    if hit:
        return int(hit.group(1))
    years = set(re.findall(r"(?<!\d)((?:19|20)\d{2})(?!\d)", name))
    return int(years.pop()) if len(years) == 1 else None


def _find(headers: list[str], pattern: str) -> str | None:
    rx = re.compile(pattern, re.IGNORECASE)
    hits = [h for h in headers if rx.search(h.strip())]
    return hits[0] if hits else None


def _rows_frame(parts: dict) -> pd.DataFrame:
    frame = pd.DataFrame(parts)
    return frame.astype({"mid_year": "int64", "lsoa_code": "string", "lsoa_name": "string", "lad_code": "string",
                         "lad_name": "string", "sex": "int64", "age": "int64", "population": "int64",
                         "source_file": "string", "source_line": "int64"})


def _published(path: Path, table: pd.DataFrame, lines: np.ndarray, ages: dict[str, tuple[int, int]],
               line_rejects: pd.DataFrame) -> TableRead:
    headers = list(table.columns)
    code = _find(headers, r"^lsoa\s*\d{4}\s*code$|^lsoa\s*code|^lsoa\d{2}cd$")
    if code is None:
        raise SourceFileError(path, "line 1 (header)", "no LSOA code column ('LSOA 2021 Code'); expected ONS's layout "
                              "LAD 2021 Code, LAD 2021 Name, LSOA 2021 Code, LSOA 2021 Name, Total, F0 ... F90, M0 ... M90")
    name = _find(headers, r"^lsoa\s*\d{4}\s*name$|^lsoa\s*name|^lsoa\d{2}nm$")
    lad = _find(headers, r"^lad\s*\d{4}\s*code$|^la\s*code|^lad\d{2}cd$|local authority.*code")
    lad_name = _find(headers, r"^lad\s*\d{4}\s*name$|^la\s*name|^lad\d{2}nm$|local authority.*name")
    year_column = _find(headers, r"^mid[\s_-]?year$")
    mid_year = mid_year_from_name(path)
    if year_column is None and mid_year is None:
        raise SourceFileError(path, "file name", "cannot tell the mid-year: ONS's LSOA sheets do not say it; name the "
                              "file with it (e.g. lsoa_population_mid_2024.csv) or add a mid_year column")
    table = table.fillna("")
    codes = table[code].astype("string").str.strip()
    kept = {c: a for c, a in ages.items() if a[1] <= KEEP_AGES}
    fails = [ColumnFailure("lsoa_code", "required", (codes == "").to_numpy(), "lsoa_code is blank"),
             ColumnFailure("lsoa_code", "pattern", ((codes != "") & ~codes.str.match(_LSOA.pattern)).to_numpy(dtype=bool),
                           "lsoa_code '" + codes + "' is not an LSOA code (E01 or W01 and 6 digits)")]
    years = pd.Series(mid_year, index=table.index, dtype="Int64")
    if year_column is not None:
        text = table[year_column].astype("string").str.strip().str.extract(r"((?:19|20)\d{2})")[0]
        years = pd.to_numeric(text, errors="coerce").astype("Int64").fillna(mid_year if mid_year else pd.NA)
        fails.append(ColumnFailure("mid_year", "integer", years.isna().to_numpy(dtype=bool),
                                   "mid_year '" + table[year_column].astype("string") + "' is not a year"))
    counted, values = whole_number_columns(table, kept)
    fails += counted
    rejects = collect_failures(fails, SOURCE, path.name, lines)
    ok = ~np.isin(lines, rejects["source_line"].to_numpy()) if len(rejects) else np.ones(len(table), bool)
    rejects = with_line_rejects(rejects, line_rejects, SOURCE, path.name)
    parts = []
    for column, (sex, age) in kept.items():
        parts.append(pd.DataFrame({
            "mid_year": years[ok].to_numpy(), "lsoa_code": codes[ok].to_numpy(),
            "lsoa_name": table[name][ok].to_numpy() if name else "", "lad_code": table[lad][ok].to_numpy() if lad else "",
            "lad_name": table[lad_name][ok].to_numpy() if lad_name else "", "sex": sex, "age": age,
            "population": values[column][ok].to_numpy(), "source_file": path.name, "source_line": lines[ok]}))
    empty = {c: [] for c in OUTPUT_COLUMNS + ["source_file", "source_line"]}
    rows = _rows_frame(pd.concat(parts, ignore_index=True) if parts else empty)
    rows = rows.sort_values(["source_line", "sex", "age"], kind="stable").reset_index(drop=True)
    return TableRead(rows=rows, rejects=rejects, rows_read=len(table) + len(line_rejects))


def _long(path: Path, raw: RawTable) -> TableRead:
    spec = load_schema(SOURCE)
    table, lines, encoding, mid_year, values, _, line_rejects = ward.data_rows(path, spec, raw)
    parsed, fails = {}, []
    for col in spec.columns:
        parsed[col.name], masks = ward._validate(col, values[col.name])
        fails += [ColumnFailure(f, r, m, msg) for f, r, m, msg in masks]
    age = parsed["age"]
    over = (age.notna() & (age > KEEP_AGES)).fillna(False).to_numpy(dtype=bool)
    fails = [ColumnFailure(f.field, f.rule, f.mask & ~over, f.message) for f in fails]
    rejects = collect_failures(fails, SOURCE, path.name, lines)
    ok = ~np.isin(lines, rejects["source_line"].to_numpy()) & ~over if len(rejects) else ~over
    rejects = with_line_rejects(rejects, line_rejects, SOURCE, path.name)
    rows = _rows_frame({"mid_year": mid_year, "lsoa_code": values["lsoa_code"][ok], "lsoa_name": values["lsoa_name"][ok],
                        "lad_code": values["lad_code"][ok], "lad_name": values["lad_name"][ok], "sex": parsed["sex"][ok],
                        "age": parsed["age"][ok], "population": parsed["population"][ok], "source_file": path.name,
                        "source_line": lines[ok]})
    return TableRead(rows=rows.reset_index(drop=True), rejects=rejects, rows_read=len(table) + len(line_rejects),
                     encoding=encoding)


def read_population_lsoa(path: Path | str) -> TableRead:
    """One file of LSOA estimates, in either layout (see the module)."""
    path = Path(path)
    raw = read_raw(path, tuple(load_schema(SOURCE).encodings))  # read once, whichever layout it turns out to be
    headers = [str(h).strip() for h in raw.frame.columns]
    ages = {}
    for h in headers:
        hit = _AGE_COLUMN.match(h)
        if hit:
            ages[h] = (1 if hit.group(1).upper() == "M" else 2, int(hit.group(2)))
    if ages:
        table = raw.frame.copy()
        table.columns = headers
        blank = (table.fillna("").apply(lambda s: s.astype(str).str.strip()) == "").all(axis=1).to_numpy()
        table, lines = table.loc[~blank].reset_index(drop=True), raw.lines[~blank]
        if table.empty:
            raise SourceFileError(path, "line 2", "no data rows after the header")
        missing = [f"{s}{a}" for s in "FM" for a in range(KEEP_AGES + 1)
                   if not any(v == ((1 if s == "M" else 2), a) for v in ages.values())]
        if missing:
            raise SourceFileError(path, "line 1 (header)", f"age columns {', '.join(missing[:4])}"
                                  f"{' ...' if len(missing) > 4 else ''} missing; expected F0 ... F90 and M0 ... M90")
        read = _published(path, table, lines, ages, raw.line_rejects)
        read.encoding = raw.encoding
        return read
    return _long(path, raw)
