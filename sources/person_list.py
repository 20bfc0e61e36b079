"""Read the children's social care person list (``csc_person_list.csv``): one row per child per address.

``read_person_list(path, extract_date=None, authority=None)`` returns a
:class:`sources.tabular.TableRead` with canonical columns (``sources/schemas/person_list.yaml``).
An NHS number with a wrong check digit keeps the row, is blanked and is listed in ``TableRead.flags``.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

from .tabular import TableRead, concat_reads, read_extract

SCHEMA = "person_list"


def read_person_list(path: Path | str, extract_date: date | str | None = None, authority: str | None = None) -> TableRead:
    return read_extract(path, SCHEMA, extract_date, authority)


def person_list_files(incoming: Path | str) -> list[Path]:
    return sorted(Path(incoming).glob("*/*/csc_person_list.csv"))


def read_person_lists(paths: list[Path]) -> TableRead:
    return concat_reads([read_person_list(p) for p in paths])
