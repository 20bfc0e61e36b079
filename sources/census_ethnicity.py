"""Read Census 2021 ethnic group by area (TS021, or RM032 by age) for the denominators of rates by ethnicity group.

Two layouts are read:

* **Nomis bulk download** of TS021 (``census2021-ts021-lsoa.csv``, ``-ward``...), one row per area::

      date,geography,geography code,Ethnic group: Total: All usual residents,
      Ethnic group: Asian, Asian British or Asian Welsh,Ethnic group: Asian, Asian British or Asian Welsh: Bangladeshi,...

* **ONS "create a custom dataset" download** (TS021 or RM032), one row per area and category::

      Lower layer Super Output Areas Code,Lower layer Super Output Areas,Ethnic group (20 categories) Code,
      Ethnic group (20 categories),Observation

  with, for RM032 (ethnic group by age), an ``Age (6 categories)`` column: then only the youngest band ("Aged 15
  years and under") is kept, so the shares are those of children, not of all ages.

Each Census category is mapped to the broad group the product gives a child's DfE ethnicity code
(``ethnicity_group`` in ``models/marts/sql/macros.sql``): the 19 detailed categories where the file has them
(Census 2021 puts Chinese under Asian; DfE's codes put CHNE under "Other ethnic group", so Chinese is counted
there, as the children are), else the five high-level groups. "Total" and "Does not apply" columns or rows are
not counted.

No Census 2021 table isolates ages 0-17 by ethnic group at small-area level (RM032's youngest band is 0-15), so a
rate by ethnicity group is **modelled**: each area's Census ethnic mix (of all usual residents, or of those aged
15 and under from RM032) is applied to the ONS mid-year estimate of children aged 0-17 living there
(``models/marts/sql/prevalence_counts.sql``), and the report says so.

``read_census_ethnicity(path)`` returns a :class:`sources.tabular.TableRead` with one row per area and category:
:data:`OUTPUT_COLUMNS`. A count that is not a whole number, or an area code of no known shape, is rejected with its
line; a file without an area code column or any ethnic-group category is refused.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import SourceFileError
from .tabular import ColumnFailure, TableRead, collect_failures, read_raw, whole_number_columns

SOURCE = "census_ethnicity"
OUTPUT_COLUMNS = ["area_code", "area_name", "area_type", "census_category", "ethnicity_group", "age_basis",
                  "population"]
AREA_TYPES = {"E01": "lsoa", "W01": "lsoa", "E02": "msoa", "W02": "msoa", "E05": "ward", "W05": "ward"}
BROAD = {"white": "White", "mixed or multiple ethnic groups": "Mixed",
         "asian, asian british or asian welsh": "Asian or Asian British",
         "black, black british, black welsh, caribbean or african": "Black or Black British",
         "other ethnic group": "Other ethnic group",
         # Census 2011 / older wording
         "mixed/multiple ethnic groups": "Mixed", "mixed/multiple ethnic group": "Mixed",
         "asian/asian british": "Asian or Asian British", "black/african/caribbean/black british": "Black or Black British"}
DETAIL_GROUP = {"chinese": "Other ethnic group"}  # as DfE's CHNE: see the module
_INTEGER = re.compile(r"^\d+$")


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", str(text).strip().lower())


def category_group(label: str) -> tuple[str | None, bool]:
    """A Census category label -> (the product's broad group or None (total, does not apply, unknown), whether the
    label is a detailed category). ``"Ethnic group: Asian, Asian British or Asian Welsh: Chinese"`` ->
    (``"Other ethnic group"``, True)."""
    text = _clean(label)
    text = re.sub(r"^ethnic group( \(\d+ categories\))?:\s*", "", text)
    if not text or text.startswith("total") or "does not apply" in text or text.startswith("all "):
        return None, False
    for broad, group in sorted(BROAD.items(), key=lambda kv: -len(kv[0])):
        if text == broad:
            return group, False
        if text.startswith(broad + ":"):
            detail = text[len(broad) + 1:].strip()
            return DETAIL_GROUP.get(detail, group), True
    return None, False


def _area_type(codes: pd.Series) -> pd.Series:
    return codes.str[:3].map(AREA_TYPES).fillna("other")


def _nomis(path: Path, table: pd.DataFrame, lines: np.ndarray, code: str, name: str | None) -> TableRead:
    labels = {c: category_group(c) for c in table.columns if _clean(c).startswith("ethnic group")}
    detailed = {c: g for c, (g, d) in labels.items() if g and d}
    chosen = detailed or {c: g for c, (g, d) in labels.items() if g}
    if not chosen:
        raise SourceFileError(path, "line 1 (header)", "no ethnic group columns ('Ethnic group: White' ...); expected "
                              "Census 2021 TS021 as Nomis publishes it")
    codes = table[code].astype("string").str.strip()
    fails = [ColumnFailure("area_code", "required", (codes == "").to_numpy(dtype=bool), "area code is blank")]
    counted, values = whole_number_columns(table, chosen)
    fails += counted
    rejects = collect_failures(fails, SOURCE, path.name, lines)
    ok = ~np.isin(lines, rejects["source_line"].to_numpy()) if len(rejects) else np.ones(len(table), bool)
    parts = [pd.DataFrame({"area_code": codes[ok].to_numpy(),
                           "area_name": table[name][ok].to_numpy() if name else "",
                           "census_category": column, "ethnicity_group": group, "age_basis": "all usual residents",
                           "population": values[column][ok].to_numpy(), "source_line": lines[ok]})
             for column, group in chosen.items()]
    return _finish(path, pd.concat(parts, ignore_index=True), rejects, len(table))


def _long(path: Path, table: pd.DataFrame, lines: np.ndarray, code: str, name: str | None) -> TableRead:
    headers = list(table.columns)
    category = next((h for h in headers if re.search(r"ethnic group", h, re.I) and not re.search(r"code$", h.strip(), re.I)),
                    None)
    value = next((h for h in headers if re.fullmatch(r"observation|count|value|population", h.strip(), re.I)), None)
    if category is None or value is None:
        raise SourceFileError(path, "line 1 (header)", "expected an 'Ethnic group (20 categories)' column and an "
                              "'Observation' column (ONS's custom dataset download)")
    age = next((h for h in headers if re.search(r"^age\b", h.strip(), re.I) and not re.search(r"code$", h.strip(), re.I)),
               None)
    basis = "all usual residents"
    keep = np.ones(len(table), bool)
    if age is not None:
        young = table[age].astype("string").str.contains(r"15 years and under|0 to 15|under 16", case=False, regex=True)
        young = young.fillna(False).to_numpy(dtype=bool)
        if young.any():
            keep, basis = young, "aged 15 years and under"
    table, lines = table.loc[keep].reset_index(drop=True), lines[keep]
    groups = table[category].map(lambda v: category_group(v)[0])
    codes = table[code].astype("string").str.strip()
    cell = table[value].astype("string").str.strip().str.replace(",", "", regex=False)
    fails = [ColumnFailure("area_code", "required", (codes == "").to_numpy(dtype=bool), "area code is blank"),
             ColumnFailure("population", "integer", ~cell.str.match(_INTEGER.pattern).fillna(False).to_numpy(dtype=bool),
                           "observation '" + table[value].astype("string") + "' is not a whole number")]
    rejects = collect_failures(fails, SOURCE, path.name, lines)
    ok = ~np.isin(lines, rejects["source_line"].to_numpy()) if len(rejects) else np.ones(len(table), bool)
    ok &= groups.notna().to_numpy()
    frame = pd.DataFrame({"area_code": codes[ok].to_numpy(), "area_name": table[name][ok].to_numpy() if name else "",
                          "census_category": table[category][ok].to_numpy(), "ethnicity_group": groups[ok].to_numpy(),
                          "age_basis": basis, "population": pd.to_numeric(cell[ok], errors="coerce").to_numpy(),
                          "source_line": lines[ok]})
    return _finish(path, frame, rejects, int(keep.sum()))


def _finish(path: Path, frame: pd.DataFrame, rejects: pd.DataFrame, rows_read: int) -> TableRead:
    frame["area_type"] = _area_type(frame["area_code"].astype("string"))
    frame["source_file"] = path.name
    frame = frame[OUTPUT_COLUMNS + ["source_file", "source_line"]].astype(
        {"area_code": "string", "area_name": "string", "area_type": "string", "census_category": "string",
         "ethnicity_group": "string", "age_basis": "string", "population": "int64", "source_file": "string",
         "source_line": "int64"})
    return TableRead(rows=frame.sort_values(["source_line"], kind="stable").reset_index(drop=True), rejects=rejects,
                     rows_read=rows_read)


def read_census_ethnicity(path: Path | str) -> TableRead:
    path = Path(path)
    raw = read_raw(path)
    table = raw.frame.copy()
    table.columns = [str(h).strip() for h in table.columns]
    blank = (table.fillna("").apply(lambda s: s.astype(str).str.strip()) == "").all(axis=1).to_numpy()
    table, lines = table.loc[~blank].reset_index(drop=True).fillna(""), raw.lines[~blank]
    if table.empty:
        raise SourceFileError(path, "line 2", "no data rows after the header")
    headers = list(table.columns)
    code = next((h for h in headers if re.fullmatch(r"geography code|.*\bcode", h, re.I)
                 and not re.search(r"ethnic|age", h, re.I)), None)
    if code is None:
        raise SourceFileError(path, "line 1 (header)", "no area code column ('geography code', or "
                              "'Lower layer Super Output Areas Code')")
    names = r"geography|lower layer super output areas|electoral wards and divisions|.*super output areas"
    name = next((h for h in headers if h != code and re.fullmatch(names, h, re.I)), None)
    if any(category_group(h)[0] for h in headers):
        read = _nomis(path, table, lines, code, name)
    else:
        read = _long(path, table, lines, code, name)
    read.encoding = raw.encoding
    return read
