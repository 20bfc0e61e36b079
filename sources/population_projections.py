"""Read ONS subnational population projections (SNPP) by local authority, sex and single year of age.

ONS publishes each projection (``2018-based``, ``2022-based`` ...) as CSV files per sex (``2022 SNPP Population
males.csv``, ``... females.csv``, ``... persons.csv``), one row per area, sex and age and one column per
projected year (mid-year, 30 June)::

    "AREA_CODE","AREA_NAME","COMPONENT","SEX","AGE_GROUP","2022","2023",...,"2047"
    E06000047,County Durham,Population,females,0,2220.000,2223.520,...
    E06000047,County Durham,Population,females,90 and over,2930.000,...
    E06000047,County Durham,Population,females,All ages,270002.000,...

:func:`read_population_projections` reads one such file into one row per area, sex, age and year
(:data:`OUTPUT_COLUMNS`): ``base_year`` is the projection's first year (its vintage: ``2022`` for the 2022-based
files), ``sex`` is ``M``, ``F`` or ``P`` (persons), ``population`` the projected number (a decimal: projections
are not whole people). The fixed columns are found by :mod:`sources.tabular`'s tolerant header matching
(``sources/schemas/population_projections.yaml``); the year columns are the headers of four digits.

Kept: ages 0-17 of the component ``Population``. Dropped and counted (not errors): ages 18 and over, ``90 and
over``, ``All ages`` and rows of another component (births, deaths and migration files share the layout); the
counts are in the read's ``notes``. Rejected, one reject row per line and rule (``quality.rejects``): an area
code that is not a GSS code (``invalid_code``), a sex that is not males / females / persons (``invalid_code``),
an age that is not a whole number, ``90 and over`` or ``All ages`` (``invalid_age``), a projected value that is
not a number 0 or more (``not_a_number``), and a second row for the same area, sex, age and component
(``duplicate_row``). A file without a year column, or without a required column, is refused
(:class:`sources.errors.SourceFileError`).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import SourceFileError
from .tabular import ColumnFailure, TableRead, collect_failures, load_tabular_schema, match_headers, read_raw
from .tabular.validate import validate_column

SCHEMA = "population_projections"
OUTPUT_COLUMNS = ["base_year", "area_code", "area_name", "sex", "age", "year", "population"]
_YEAR = re.compile(r"^\s*(\d{4})\s*$")
_AGE = re.compile(r"^\d{1,3}$")
OPEN_AGE = {"90 and over": 90, "90+": 90, "90 plus": 90}
ALL_AGES = {"all ages", "all", "total"}
_NUMBER = re.compile(r"^\d+(\.\d+)?$")


def read_population_projections(path: Path | str, **_context) -> TableRead:
    """One SNPP file (see the module docstring): a :class:`sources.tabular.TableRead` with ``notes``."""
    path = Path(path)
    schema = load_tabular_schema(SCHEMA)
    raw = read_raw(path, schema.base.encodings)
    table, lines, encoding = raw
    headers = [str(h).strip() for h in table.columns]
    table.columns = headers
    picked = match_headers(path, headers, schema)
    years = [(h, int(_YEAR.match(h).group(1))) for h in headers if _YEAR.match(h)]
    if not years:
        raise SourceFileError(path, "line 1 (header)", "no year columns (headers of four digits, e.g. 2022, 2023 ...): "
                              "expected ONS's layout AREA_CODE, AREA_NAME, COMPONENT, SEX, AGE_GROUP, 2022, 2023, ...")
    blank_line = (table.apply(lambda c: c.str.strip()) == "").all(axis=1).to_numpy() if len(table) else np.zeros(0, bool)
    table, lines = table.loc[~blank_line].reset_index(drop=True), lines[~blank_line]
    if table.empty:
        raise SourceFileError(path, "line 2", "no data rows after the header")
    parsed, fails = {}, []
    for col in schema.columns:
        if col.name not in picked:
            parsed[col.name] = pd.Series(pd.NA, index=table.index, dtype="string")
            continue
        values, col_fails, _ = validate_column(path, col, table[picked[col.name]].astype(str), schema, None)
        parsed[col.name] = values
        fails.extend(col_fails)
    age_text = parsed["age_group"].astype("string").str.strip().str.lower().fillna("")
    whole = age_text.str.fullmatch(_AGE.pattern).fillna(False).to_numpy(dtype=bool)
    open_age = age_text.isin(list(OPEN_AGE)).to_numpy(dtype=bool)
    all_ages = age_text.isin(list(ALL_AGES)).to_numpy(dtype=bool)
    blank_age = (age_text == "").to_numpy(dtype=bool)
    fails.append(ColumnFailure("age_group", "invalid_age", ~whole & ~open_age & ~all_ages & ~blank_age,
                               "AGE_GROUP '" + parsed["age_group"].astype("string").fillna("")
                               + "' is not a single year of age, '90 and over' or 'All ages'"))
    age = pd.to_numeric(age_text.where(whole), errors="coerce")
    age = age.where(~pd.Series(open_age, index=age.index), 90)
    values = {}
    for header, year in years:
        text = table[header].astype(str).str.strip().str.replace(",", "", regex=False)
        number = text.str.fullmatch(_NUMBER.pattern).fillna(False).to_numpy(dtype=bool)
        fails.append(ColumnFailure(header, "not_a_number", ~number, f"{header}: the projected population is not a "
                                   "number 0 or more"))
        values[year] = pd.to_numeric(text.where(number), errors="coerce")
    component = parsed["component"].astype("string").str.strip().str.lower()
    key = pd.DataFrame({"area": parsed["area_code"], "sex": parsed["sex"], "age": age_text, "component": component})
    fails.append(ColumnFailure("", "duplicate_row", key.duplicated(keep="first").to_numpy(),
                               "a second row for the same area, sex, age and component"))
    rejects = collect_failures(fails, SCHEMA, path.name, lines)
    if len(raw.line_rejects):
        from .tabular import csv_line_rejects

        rejects = pd.concat([rejects, csv_line_rejects(raw.line_rejects, SCHEMA, path.name)], ignore_index=True)
    rejected = np.isin(lines, rejects["source_line"].to_numpy()) if len(rejects) else np.zeros(len(table), bool)
    other_component = (component.notna() & (component != "population")).to_numpy(dtype=bool)
    adult = (age.notna() & (age > 17)).to_numpy(dtype=bool)
    keep = ~rejected & ~other_component & ~adult & ~all_ages
    notes = []
    for what, mask in (("aged 18 and over or 90 and over", adult), ("'All ages'", all_ages),
                       ("of another component than Population", other_component)):
        n = int((mask & ~rejected).sum())
        if n:
            notes.append(f"{n:,} rows {what} not used (not rejected)")
    base = min(y for _, y in years)
    wide = pd.DataFrame({"area_code": parsed["area_code"], "area_name": parsed["area_name"], "sex": parsed["sex"],
                         "age": age, "source_line": lines})[keep]
    parts = [wide.assign(year=year, population=values[year][keep].to_numpy()) for _, year in years]
    rows = pd.concat(parts, ignore_index=True) if parts else wide.assign(year=pd.NA, population=np.nan)
    rows.insert(0, "base_year", base)
    rows = rows.astype({"base_year": "int64", "area_code": "string", "area_name": "string", "sex": "string",
                        "age": "int64", "year": "int64", "population": "float64", "source_line": "int64"})
    rows["source_file"] = pd.Series(path.name, index=rows.index, dtype="string")
    rows = rows[OUTPUT_COLUMNS + ["source_file", "source_line"]].sort_values(
        ["area_code", "sex", "age", "year"], kind="stable", ignore_index=True)
    rejects = rejects.sort_values(["source_line", "field", "rule"], kind="stable").reset_index(drop=True)
    read = TableRead(rows=rows, rejects=rejects, rows_read=len(table) + len(raw.line_rejects),
                     blank_lines=int(blank_line.sum()), encoding=encoding)
    read.notes = [f"{path.name}: {base}-based projection, years {base}-{max(y for _, y in years)}", *notes]
    return read
