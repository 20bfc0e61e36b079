"""Read the child protection list (Ofsted Annex A list 7), CSV or .xlsx.

``read_cp_list(path, extract_date=None, authority=None)`` returns a
:class:`sources.tabular.TableRead` with canonical columns (``sources/schemas/cp_list.yaml``):
categories of abuse mapped to NEG/PHY/SAB/EMO/MUL through
``sources/schemas/code_maps/category_of_abuse.csv`` (Annex A variants, "a) Neglect", "Neglect",
"NEG", YNNN-style flags), gender to M/F/U, yes/no items to Y/N/U; the allocated worker (a
staff name) is not output. ``extract_date`` and ``authority`` default to the quarter-end and
authority folders of ``incoming/<authority>/<quarter end>/<file>``. From an Ofsted Annex A
workbook the list 7 sheet is read ("List 7", "List 7 - Child Protection", "CP", "L7": the
``sheets`` of ``sources/registry/cp_list.yaml``); ethnicity is mapped to DfE codes ("a) WBRI" is
WBRI) and an unknown one is flagged, not rejected.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

from .tabular import TableRead, concat_reads, read_extract

SCHEMA = "cp_list"
FILE_NAMES = ("annex_a_list_7_child_protection.xlsx", "annex_a_list_7_child_protection.csv")


def read_cp_list(path: Path | str, extract_date: date | str | None = None, authority: str | None = None) -> TableRead:
    """One CP list; from a workbook of several lists (an Annex A), the sheet the declaration names ("List 7" ...)."""
    from .registry import load_registry

    return read_extract(path, SCHEMA, extract_date, authority, sheets=load_registry()["cp_list"].sheets)


def cp_list_files(incoming: Path | str) -> list[Path]:
    """Every CP list under ``incoming/<authority>/<quarter end>/``, sorted."""
    incoming = Path(incoming)
    return sorted(p for name in FILE_NAMES for p in incoming.glob(f"*/*/{name}"))


def read_cp_lists(paths: list[Path]) -> TableRead:
    return concat_reads([read_cp_list(p) for p in paths])
