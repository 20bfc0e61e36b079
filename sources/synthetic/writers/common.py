"""Shared writing helpers: date formats, deterministic CSV/xlsx, row-level defects.

Every writer builds one DataFrame per source (all authorities and quarters, one row
per data row to write, with ``_file`` and ``_person_id`` columns), lets
``inject_row_defects`` spoil a fixed share of rows, then ``write_rows`` splits it
into files and returns where each row landed (for ``truth/source_records.csv``).
Date columns hold day numbers (days since 1970-01-01; ``NEVER`` = blank) until
written, so defects can move dates.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook

from ..simulate import EPOCH, NEVER

FIXED_TIMESTAMP = datetime(2026, 4, 30, 9, 0, 0)


def format_days(days: np.ndarray, style: str = "%d/%m/%Y") -> np.ndarray:
    """Day numbers to strings; NEVER (or beyond year 9999) to ''."""
    days = np.asarray(days, dtype=np.int64)
    blank = (days >= NEVER) | (days < -100_000)
    safe = np.where(blank, 0, days)
    dates = pd.to_datetime(EPOCH + safe.astype("timedelta64[D]"))
    out = np.asarray(dates.strftime(style), dtype=object)
    out[blank] = ""
    return out


@dataclass
class RowDefectSpec:
    """Which columns each kind of row defect may touch for one source."""

    invalid_code: list[tuple[str, list[str]]] = field(default_factory=list)
    date_pair: tuple[str, str] | None = None  # (start, end): end moved before start
    future_date: list[str] = field(default_factory=list)
    blank_mandatory: list[str] = field(default_factory=list)


def _choose(rng, eligible: np.ndarray, k: int, used: np.ndarray) -> np.ndarray:
    pool = np.flatnonzero(eligible & ~used)
    k = min(k, pool.size)
    rows = np.sort(rng.choice(pool, size=k, replace=False)) if k else np.zeros(0, int)
    used[rows] = True
    return rows


def inject_row_defects(df: pd.DataFrame, source: str, spec: RowDefectSpec, rates, rng: np.random.Generator,
                       extract_day: np.ndarray) -> pd.DataFrame:
    """Spoil exactly round(rate * rows) rows per defect kind; adds ``_defect`` and ``_defect_field``.

    Duplicated rows are exact copies placed right after the original (the copy
    carries the ``duplicate_row`` mark). Each row gets at most one defect.
    """
    df = df.reset_index(drop=True).copy()
    n = len(df)
    df["_defect"] = ""
    df["_defect_field"] = ""
    used = np.zeros(n, bool)
    for column, bad_values in spec.invalid_code:
        k = int(round(rates.invalid_code * n / len(spec.invalid_code)))
        rows = _choose(rng, df[column].astype(str).to_numpy() != "", k, used)
        df.loc[rows, column] = rng.choice(bad_values, size=rows.size)
        df.loc[rows, ["_defect", "_defect_field"]] = ["invalid_code", column]
    if spec.date_pair:
        start, end = spec.date_pair
        has_end = df[end].to_numpy() < NEVER
        rows = _choose(rng, has_end & (df[start].to_numpy() < df[end].to_numpy()), int(round(rates.date_out_of_order * n)), used)
        df.loc[rows, end] = df.loc[rows, start].to_numpy() - rng.integers(1, 60, rows.size)
        df.loc[rows, ["_defect", "_defect_field"]] = ["date_out_of_order", end]
    for column in spec.future_date:
        k = int(round(rates.future_date * n / len(spec.future_date)))
        rows = _choose(rng, df[column].to_numpy() < NEVER, k, used)
        df.loc[rows, column] = extract_day[rows] + rng.integers(30, 400, rows.size)
        df.loc[rows, ["_defect", "_defect_field"]] = ["future_date", column]
    for column in spec.blank_mandatory:
        k = int(round(rates.blank_mandatory * n / len(spec.blank_mandatory)))
        rows = _choose(rng, np.ones(n, bool), k, used)
        df.loc[rows, column] = NEVER if pd.api.types.is_integer_dtype(df[column].dtype) else ""
        df.loc[rows, ["_defect", "_defect_field"]] = ["blank_mandatory", column]
    rows = _choose(rng, np.ones(n, bool), int(round(rates.duplicate_row * n)), used)
    copies = df.loc[rows].copy()
    copies["_defect"], copies["_defect_field"] = "duplicate_row", ""
    copies.index = copies.index + 0.5
    df = pd.concat([df, copies]).sort_index(kind="stable").reset_index(drop=True)
    df["_source"] = source
    return df


def write_csv(frame: pd.DataFrame, path: Path, encoding: str) -> None:
    """CSV as council systems export it: all fields quoted minimally, CRLF for cp1252 exports."""
    path.parent.mkdir(parents=True, exist_ok=True)
    newline = "\r\n" if encoding == "cp1252" else "\n"
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator=newline, quoting=csv.QUOTE_MINIMAL)
    path.write_bytes(buffer.getvalue().encode(encoding, errors="replace"))


def write_xlsx(frame: pd.DataFrame, path: Path, sheet: str, date_columns: set[str]) -> None:
    """An .xlsx with real date cells, byte-identical for identical input."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(list(frame.columns))
    date_idx = [i for i, c in enumerate(frame.columns) if c in date_columns]
    for row in frame.itertuples(index=False, name=None):
        values = list(row)
        for i in date_idx:
            v = values[i]
            values[i] = None if v == "" or v is None else datetime.strptime(v, "%d/%m/%Y")
        values = [None if v == "" else v for v in values]
        ws.append(values)
    for col in date_idx:
        for cell in ws.iter_cols(min_col=col + 1, max_col=col + 1, min_row=2):
            for c in cell:
                c.number_format = "DD/MM/YYYY"
    save_workbook(wb, path, "Case management system export")


def record_locations(df: pd.DataFrame) -> pd.DataFrame:
    """Where each row of a source landed: file (relative to incoming) and line/row number."""
    line = df.groupby("_file", sort=False).cumcount() + 2  # header is line 1
    return pd.DataFrame({"source": df["_source"], "file": df["_file"], "line": line.to_numpy(),
                         "person_id": df["_person_id"].to_numpy(), "defect": df["_defect"],
                         "defect_field": df["_defect_field"]})


def write_rows(df: pd.DataFrame, columns: dict[str, str], incoming: Path, date_columns: list[str],
               date_style: str, encoding: str | None = None, xlsx_sheet: str | None = None) -> pd.DataFrame:
    """Write each ``_file`` group with the output headers in ``columns`` (internal -> header)."""
    out = df.copy()
    for c in date_columns:
        out[c] = format_days(out[c].to_numpy(), date_style)
    for file, part in out.groupby("_file", sort=False):
        frame = part[list(columns)].rename(columns=columns)
        path = incoming / file
        if file.endswith(".xlsx"):
            write_xlsx(frame, path, xlsx_sheet or "Sheet1", {columns[c] for c in date_columns})
        else:
            write_csv(frame, path, encoding or "utf-8")
    return record_locations(df)


def save_workbook(wb, path: Path, creator: str) -> None:
    """Save ``wb`` byte-identically for identical input: fixed timestamps in the zip and the properties
    (openpyxl stamps the save time in docProps/core.xml)."""
    wb.properties.created = FIXED_TIMESTAMP
    wb.properties.modified = FIXED_TIMESTAMP
    wb.properties.creator = creator
    raw = io.BytesIO()
    wb.save(raw)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=(2026, 4, 30, 9, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            data = src.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-04-30T09:00:00Z", data)
            dst.writestr(info, data)
