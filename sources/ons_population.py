"""Read ONS mid-year population estimates (children by ward, sex and single year of age).

One CSV per mid-year, e.g. ``population_mid_2024.csv``::

    WD24CD,WD24NM,LAD24CD,LAD24NM,sex,age,population_2024

Columns are found by the header patterns in ``sources/schemas/ons_population.yaml``,
so other geography vintages (``WD23CD`` ...) read the same way, and the mid-year comes
from the population column's header. Ages 0-17 are kept; rows aged 18 and over (files
with the full 0-90 range) are dropped and counted, not rejected. A row that breaks a
rule (blank ward code, unknown sex, a count that is not a whole number ...) goes to
the rejects frame with its file, line, field, rule and a message, never silently
dropped. A file that cannot be read at all (empty, not CSV, a required column
missing) raises :class:`sources.errors.SourceFileError`.

Validation is vectorised over the whole file (pandas string operations); there is no
per-row Python loop.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from .errors import SourceFileError, display_path
from .schema import ColumnSpec, SourceSchema, load_schema
from .tabular import RawTable, read_raw

SOURCE = "ons_population"
REJECT_COLUMNS = ["file", "line", "field", "rule", "message"]
OUTPUT_DTYPES = {
    "mid_year": "int64", "ward_code": "string", "ward_name": "string", "la_code": "string",
    "la_name": "string", "sex": "int64", "age": "int64", "population": "int64",
    "source_file": "string", "source_line": "int64",
}
_INTEGER = re.compile(r"^[+-]?\d+$")


@dataclass
class PopulationRead:
    """What reading one or more population files produced."""

    rows: pd.DataFrame  # canonical columns (OUTPUT_DTYPES), ages 0-17 only
    rejects: pd.DataFrame  # REJECT_COLUMNS, one row per (row, field) that broke a rule
    over_17: int = 0  # rows aged 18+ dropped (not errors)
    blank_lines: int = 0  # empty lines skipped
    files: list[str] = field(default_factory=list)
    encodings: dict[str, str] = field(default_factory=dict)  # file -> encoding it was read with


def schema() -> SourceSchema:
    return load_schema(SOURCE)


def population_files(folder: Path) -> list[Path]:
    """The population CSVs in ``folder`` (``<incoming>/reference/population``), sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(schema().file_glob) if p.is_file())


def read_population_files(paths: list[Path]) -> PopulationRead:
    """Read several files (one per mid-year) into one result."""
    parts = [read_population_file(p) for p in paths]
    if not parts:
        return PopulationRead(rows=_empty_rows(), rejects=_empty_rejects())
    return PopulationRead(
        rows=pd.concat([p.rows for p in parts], ignore_index=True),
        rejects=pd.concat([p.rejects for p in parts], ignore_index=True),
        over_17=sum(p.over_17 for p in parts),
        blank_lines=sum(p.blank_lines for p in parts),
        files=[f for p in parts for f in p.files],
        encodings={k: v for p in parts for k, v in p.encodings.items()},
    )


class DataRows(NamedTuple):
    """A long-layout population file's data rows: ``table`` (all text, blank rows dropped), each row's file
    ``lines``, the ``encoding`` it was read with, the ``mid_year`` from the population column's header,
    ``values`` (the schema's columns, stripped text; "" for a column the file lacks), ``blank_lines`` dropped and
    ``line_rejects``: lines the CSV reader could not use (malformed, undecodable), as :func:`read_raw` gives them."""

    table: pd.DataFrame
    lines: np.ndarray
    encoding: str
    mid_year: int
    values: dict[str, pd.Series]
    blank_lines: int
    line_rejects: pd.DataFrame


def data_rows(path: Path, spec: SourceSchema, raw: RawTable | None = None) -> DataRows:
    """The first steps every long-layout population reader shares (ward and LSOA): the same CSV reading as every
    extract (encodings, line numbers, trailing delimiters, .xlsx too), headers matched to ``spec``, blank rows
    dropped. ``raw``: the file as :func:`read_raw` already read it (None: read it here). Raises SourceFileError
    when no data row is left."""
    raw = raw if raw is not None else read_raw(path, tuple(spec.encodings))
    table, lines = raw.frame, raw.lines
    headers = [str(h).strip() for h in table.columns]
    table.columns = headers
    picked, mid_year = _match_headers(path, headers, spec)
    table = table.fillna("")
    blank = (table[headers].apply(lambda s: s.str.strip()) == "").all(axis=1).to_numpy()
    table, lines = table.loc[~blank].reset_index(drop=True), lines[~blank]
    if table.empty:
        raise SourceFileError(path, "line 2", "no data rows after the header")
    values = {c.name: (table[picked[c.name]].str.strip() if c.name in picked
                       else pd.Series("", index=table.index, dtype=object)) for c in spec.columns}
    return DataRows(table, lines, raw.encoding, mid_year, values, int(blank.sum()), raw.line_rejects)


def read_population_file(path: Path, spec: SourceSchema | None = None) -> PopulationRead:
    """Read one mid-year file. Raises SourceFileError if the file as a whole is unreadable."""
    path = Path(path)
    spec = spec or schema()
    table, lines, encoding, mid_year, values, blank_lines, line_rejects = data_rows(path, spec)

    masks: list[tuple[str, str, np.ndarray, pd.Series]] = []  # field, rule, failing mask, messages
    parsed: dict[str, pd.Series] = {}
    for col in spec.columns:
        parsed[col.name], col_masks = _validate(col, values[col.name])
        masks.extend(col_masks)

    # Out of scope, not an error: valid ages above the kept range (files holding 0-90).
    keep = spec.options.get("keep_ages", {"min": 0, "max": 17})
    age, age_max = parsed["age"], spec.column("age").max
    over = age.notna() & (age > keep["max"])
    if age_max is not None:
        over &= age <= age_max  # ages beyond the schema's range are rejected, not dropped
    over = over.fillna(False).to_numpy(dtype=bool)

    rejected = np.zeros(len(table), dtype=bool)
    reject_parts = []
    for field_name, rule, mask, messages in masks:
        mask = mask & ~over
        if mask.any():
            rejected |= mask
            reject_parts.append(pd.DataFrame({
                "file": display_path(path), "line": lines[mask], "field": field_name, "rule": rule,
                "message": messages[mask].to_numpy(),
            }))
    if len(line_rejects):  # lines the CSV reader could not use (malformed, undecodable): each a missing cell
        reject_parts.append(pd.DataFrame({"file": display_path(path), "line": line_rejects["source_line"].to_numpy(),
                                          "field": "", "rule": line_rejects["rule"].to_numpy(),
                                          "message": line_rejects["message"].to_numpy()}))
    rejects = (pd.concat(reject_parts, ignore_index=True).sort_values(["line", "field"], kind="stable")
               .reset_index(drop=True) if reject_parts else _empty_rejects())

    ok = ~rejected & ~over
    rows = pd.DataFrame({
        "mid_year": mid_year,
        "ward_code": values["ward_code"][ok],
        "ward_name": values["ward_name"][ok],
        "la_code": values["la_code"][ok],
        "la_name": values["la_name"][ok],
        "sex": parsed["sex"][ok],
        "age": parsed["age"][ok],
        "population": parsed["population"][ok],
        "source_file": path.name,
        "source_line": lines[ok],
    }).astype(OUTPUT_DTYPES).reset_index(drop=True)
    return PopulationRead(rows=rows, rejects=rejects.astype({"line": "int64"}), over_17=int(over.sum()),
                          blank_lines=blank_lines, files=[path.name], encodings={path.name: encoding})


def _match_headers(path: Path, headers: list[str], spec: SourceSchema) -> tuple[dict[str, str], int | None]:
    picked: dict[str, str] = {}
    mid_year = None
    for col in spec.columns:
        hits = [h for h in headers if col.header.search(h)]
        if len(hits) > 1:
            raise SourceFileError(path, "line 1 (header)", f"more than one column matches {col.header.pattern} "
                                  f"for '{col.name}': {', '.join(hits)}")
        if not hits:
            if col.required:
                raise SourceFileError(path, "line 1 (header)", f"required column '{col.name}' not found; "
                                      f"expected a header matching {col.header.pattern}")
            continue
        picked[col.name] = hits[0]
        if col.header_group == "mid_year":
            mid_year = int(col.header.search(hits[0]).group(1))
    return picked, mid_year


def _validate(col: ColumnSpec, s: pd.Series) -> tuple[pd.Series, list]:
    """Parse one column; return parsed values and (field, rule, mask, messages) for each rule broken."""
    masks = []
    blank = (s == "").to_numpy()
    if col.required:
        masks.append((col.name, "required", blank, pd.Series(f"{col.name} is blank", index=s.index)))
    if col.type == "string":
        if col.pattern is not None:
            bad = (~blank) & ~s.str.match(col.pattern).to_numpy(dtype=bool)
            masks.append((col.name, "pattern", bad,
                          col.name + " '" + s + f"' does not match {col.pattern.pattern}"))
        return s, masks

    # integer
    text = s
    if col.aliases:
        text = s.str.lower().map(col.aliases).fillna(s)
    if col.thousands_separator:
        text = text.str.replace(col.thousands_separator, "", regex=False)
    whole = text.str.match(_INTEGER).to_numpy(dtype=bool)
    not_int = (~blank) & ~whole
    masks.append((col.name, "integer", not_int, col.name + " '" + s + "' is not a whole number"))
    number = pd.to_numeric(text.where(whole), errors="coerce").astype("Int64")
    if col.allowed is not None:
        bad = whole & ~number.isin(list(col.allowed)).fillna(False).to_numpy(dtype=bool)
        allowed = ", ".join(str(a) for a in col.allowed)
        masks.append((col.name, "allowed", bad, col.name + " '" + s + f"' is not one of {allowed}"))
    if col.min is not None or col.max is not None:
        lo = col.min if col.min is not None else -np.inf
        hi = col.max if col.max is not None else np.inf
        bad = whole & ~number.between(lo, hi).fillna(False).to_numpy(dtype=bool)
        if col.max is None:
            what = f"is below {col.min}"
        elif col.min is None:
            what = f"is above {col.max}"
        else:
            what = f"is outside {col.min}-{col.max}"
        masks.append((col.name, "range", bad, col.name + " '" + s + "' " + what))
    return number, masks


def _empty_rows() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in OUTPUT_DTYPES.items()})


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({"file": pd.Series(dtype="string"), "line": pd.Series(dtype="int64"),
                         "field": pd.Series(dtype="string"), "rule": pd.Series(dtype="string"),
                         "message": pd.Series(dtype="string")})
