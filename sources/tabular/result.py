"""What a tabular read returns (:class:`TableRead`), and how failed checks become reject rows."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd


REJECT_COLUMNS = ["source", "source_file", "source_line", "field", "rule", "message"]


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


@dataclass
class ColumnFailure:
    field: str
    rule: str
    mask: np.ndarray
    message: pd.Series | str | Callable[[np.ndarray], np.ndarray]  # a callable gets the mask


def csv_line_rejects(line_rejects: pd.DataFrame, source: str, label: str) -> pd.DataFrame:
    """The CSV reader's rejected lines (sources.csv_text) in the reject layout (no field: the whole line)."""
    return pd.DataFrame({"source": source, "source_file": label, "source_line": line_rejects["source_line"],
                         "field": "", "rule": line_rejects["rule"], "message": line_rejects["message"]}).astype(
        {"source": "string", "source_file": "string", "source_line": "int64", "field": "string", "rule": "string",
         "message": "string"})


def with_line_rejects(rejects: pd.DataFrame, line_rejects: pd.DataFrame, source: str, label: str) -> pd.DataFrame:
    """``rejects`` with the CSV reader's rejected lines (:func:`csv_line_rejects`) added, in line order
    (source_line, field, rule): those lines were read, and are rejected, not lost."""
    if not len(line_rejects):
        return rejects
    both = pd.concat([rejects, csv_line_rejects(line_rejects, source, label)], ignore_index=True)
    return both.sort_values(["source_line", "field", "rule"], kind="stable").reset_index(drop=True)


def collect_failures(fails: list[ColumnFailure], source: str, label: str, lines: np.ndarray) -> pd.DataFrame:
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


def whole_number_columns(table: pd.DataFrame, columns) -> tuple[list[ColumnFailure], dict[str, pd.Series]]:
    """Counts published one column each (ONS LSOA estimates' F0 ... M90, Census TS021's ethnic groups): per
    column, a :class:`ColumnFailure` for cells that are not a whole number >= 0 (thousands commas allowed) and
    the parsed numbers (NaN where it failed)."""
    fails, values = [], {}
    for column in columns:
        cell = table[column].astype("string").str.strip().str.replace(",", "", regex=False)
        bad = ~cell.str.match(r"^\d+$").fillna(False).to_numpy(dtype=bool)
        fails.append(ColumnFailure(column, "integer", bad, column + " '" + table[column].astype("string")
                                   + "' is not a whole number"))
        values[column] = pd.to_numeric(cell, errors="coerce")
    return fails, values
