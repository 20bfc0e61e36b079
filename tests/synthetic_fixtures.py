"""Shared helpers for the synthetic-partnership tests: generate once, read files back."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
from lxml import etree
from openpyxl import load_workbook

XSD = Path(__file__).resolve().parents[1] / "sources" / "schemas" / "cin" / "CIN_schema_2026.xsd"


def read_extract(path: Path, sheet: str | None = None) -> pd.DataFrame:
    """Read a CSV (UTF-8, UTF-8 with BOM or cp1252) or .xlsx extract as strings, as an analyst would
    (``sheet``: a workbook's sheet, default the first)."""
    if path.suffix == ".xlsx":
        wb = load_workbook(path, read_only=True)
        rows = list((wb[sheet] if sheet else wb.worksheets[0]).iter_rows(values_only=True))
        width = len(rows[0])  # a row may end before the header does (its last cells empty)
        as_text = [["" if v is None else v.strftime("%d/%m/%Y") if hasattr(v, "strftime") else str(v)
                    for v in (list(row) + [None] * width)[:width]] for row in rows[1:]]
        return pd.DataFrame(as_text, columns=rows[0], dtype=object)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    rows = list(csv.reader(io.StringIO(text)))
    return pd.DataFrame(rows[1:], columns=rows[0], dtype=object)


def census_episodes(path: Path) -> pd.DataFrame:
    """One row per CINdetails of a CIN census file, read with lxml (independently of sources.cin_census):
    child_id, referral_date, referral_source, closure_date, reason_for_closure ('' when absent) and
    open_plans (ChildProtectionPlans without an end date)."""
    rows = []
    for _, child in etree.iterparse(str(path), tag="Child"):
        child_id = child.findtext("ChildIdentifiers/LAchildID")
        for d in child.findall("CINdetails"):
            rows.append({"child_id": child_id, "referral_date": d.findtext("CINreferralDate"),
                         "referral_source": d.findtext("ReferralSource"),
                         "closure_date": d.findtext("CINclosureDate") or "",
                         "reason_for_closure": d.findtext("ReasonForClosure") or "",
                         "open_plans": sum(p.find("CPPendDate") is None for p in d.findall("ChildProtectionPlans"))})
        child.clear()
    return pd.DataFrame(rows)
