"""Read early-help episodes (``early_help_episodes.csv``, the local early-help system's export).

``read_early_help(path, extract_date=None, authority=None)`` returns a
:class:`sources.tabular.TableRead` with canonical columns (``sources/schemas/early_help.yaml``):
dates in dd/mm/yyyy or yyyy-mm-dd (detected per column), presenting needs as CIN
assessment-factor codes joined by ";" (e.g. "10A;16A"), GCP2 domain scores 1-5 as integers,
gender M/F/U. An NHS number with a wrong check digit keeps the row, is blanked and is listed
in ``TableRead.flags``.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

from .tabular import TableRead, concat_reads, read_extract

SCHEMA = "early_help"


def read_early_help(path: Path | str, extract_date: date | str | None = None, authority: str | None = None) -> TableRead:
    return read_extract(path, SCHEMA, extract_date, authority)


def early_help_files(incoming: Path | str) -> list[Path]:
    return sorted(Path(incoming).glob("*/*/early_help_episodes.csv"))


def read_early_help_files(paths: list[Path]) -> TableRead:
    return concat_reads([read_early_help(p) for p in paths])
