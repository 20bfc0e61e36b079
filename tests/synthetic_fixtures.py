"""Shared helpers for the synthetic-partnership tests: generate once, read files back."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook

XSD = Path(__file__).resolve().parents[1] / "sources" / "schemas" / "cin" / "CIN_schema_2026.xsd"


def read_extract(path: Path) -> pd.DataFrame:
    """Read a CSV (UTF-8, UTF-8 with BOM or cp1252) or .xlsx extract as strings, as an analyst would."""
    if path.suffix == ".xlsx":
        wb = load_workbook(path, read_only=True)
        rows = list(wb.active.iter_rows(values_only=True))
        as_text = [["" if v is None else v.strftime("%d/%m/%Y") if hasattr(v, "strftime") else str(v) for v in row]
                   for row in rows[1:]]
        return pd.DataFrame(as_text, columns=rows[0], dtype=object)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    rows = list(csv.reader(io.StringIO(text)))
    return pd.DataFrame(rows[1:], columns=rows[0], dtype=object)
