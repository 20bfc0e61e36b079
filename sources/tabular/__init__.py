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

Modules: :mod:`.schema` (the YAML, header matching, code maps), :mod:`.raw` (the file as text cells),
:mod:`.validate` (one column's checks), :mod:`.result` (:class:`TableRead`, reject rows); this module
reads and validates a whole file (:func:`read_table`, :func:`read_extract`).
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import SourceFileError
from .raw import RawTable, header_row, match_headers, read_raw, recognises_columns
from .result import (REJECT_COLUMNS, ColumnFailure, TableRead, collect_failures, concat_reads, empty_rejects,
                     whole_number_columns, with_line_rejects)
from .schema import (CODE_MAP_DIR, TabularColumn, TabularSchema, load_code_map, load_tabular_schema, map_codes,
                     normalise_header, normalise_value, without_option_prefix)
from .validate import RULES, formula_failure, nhs_number_valid, parse_dates, validate_column

__all__ = [  # what other modules use (the parts' own names are public in their modules too)
    "CODE_MAP_DIR", "REJECT_COLUMNS", "RULES", "ColumnFailure", "RawTable", "TableRead", "TabularColumn",
    "TabularSchema", "collect_failures", "concat_reads", "empty_rejects", "extract_context", "header_row",
    "load_code_map", "load_tabular_schema", "map_codes", "nhs_number_valid", "normalise_header", "normalise_value",
    "parse_dates", "read_extract", "read_raw", "read_table", "recognises_columns", "whole_number_columns",
    "with_line_rejects", "without_option_prefix",
]


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

    parsed, fails, flags = _parse_columns(path, table, lines, picked, schema, extract_date, formula_cells)
    fails += _row_failures(table, parsed, picked, schema, extract_date)

    rejects = collect_failures(fails, schema.source, label, lines)
    rejected = np.isin(lines, rejects["source_line"].to_numpy()) if len(rejects) else np.zeros(n, bool)
    rejects = with_line_rejects(rejects, raw.line_rejects, schema.source, label)  # lines the CSV reader could not use
    n += len(raw.line_rejects)
    flag_frame = collect_failures(flags, schema.source, label, lines)
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


def _parse_columns(path: Path, table: pd.DataFrame, lines: np.ndarray, picked: dict[str, str], schema: TabularSchema,
                   extract_date: date | None, formula_cells: dict
                   ) -> tuple[dict[str, pd.Series], list[ColumnFailure], list[ColumnFailure]]:
    """Every schema column parsed (an optional column the file lacks: empty, of the column's type), with
    the failures that reject rows and the flags that keep them."""
    parsed: dict[str, pd.Series] = {}
    fails: list[ColumnFailure] = []
    flags: list[ColumnFailure] = []
    for col in schema.columns:
        if col.name not in picked:
            kind = {"date": "datetime64[ns]", "integer": "Int64"}.get(col.spec.type, "string")
            parsed[col.name] = pd.Series(pd.NA if kind != "datetime64[ns]" else pd.NaT, index=table.index, dtype=kind)
            continue
        values, col_fails, flagged = validate_column(path, col, table[picked[col.name]].astype(str), schema,
                                                     extract_date)
        formulas = formula_failure(col, picked[col.name], formula_cells, lines)
        if formulas is not None and col.spec.required:
            # a mandatory value that is a formula Excel never calculated: rejected for that reason, not as blank
            col_fails = [f if f.rule != "blank_mandatory" else ColumnFailure(f.field, f.rule, f.mask & ~formulas.mask,
                                                                             f.message) for f in col_fails]
            col_fails.append(formulas)
        elif formulas is not None:
            flags.append(formulas)
        parsed[col.name] = values
        fails.extend(col_fails)
        if flagged is not None:
            flags.append(flagged)
    return parsed, fails, flags


def _row_failures(table: pd.DataFrame, parsed: dict[str, pd.Series], picked: dict[str, str], schema: TabularSchema,
                  extract_date: date | None) -> list[ColumnFailure]:
    """Checks across columns: an end date before its start, a date after the extract date, an exact copy
    of an earlier row."""
    fails = []
    for start, end in schema.date_order:
        if start in parsed and end in parsed and start in picked and end in picked:
            bad = (parsed[end] < parsed[start]).fillna(False).to_numpy(dtype=bool)
            fails.append(ColumnFailure(end, "date_out_of_order", bad, f"{end} is before {start}"))
    if extract_date is not None:
        limit = pd.Timestamp(extract_date)
        for name in schema.not_after_extract:
            if name in picked:
                bad = (parsed[name] > limit).fillna(False).to_numpy(dtype=bool)
                fails.append(ColumnFailure(name, "future_date", bad, f"{name} is after the extract date {extract_date}"))
    if schema.duplicate_rows == "reject" and len(table):
        dup = table.apply(lambda c: c.str.strip()).duplicated(keep="first").to_numpy()
        fails.append(ColumnFailure("", "duplicate_row", dup, "exact copy of an earlier row"))
    return fails


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
