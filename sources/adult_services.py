"""Read adult services extracts: ``adult_<service>_episodes.csv`` and ``adult_<service>_household_children.csv``.

``read_adult_episodes(path, ...)`` and ``read_adult_household_children(path, ...)`` return
:class:`sources.tabular.TableRead` with canonical columns (``sources/schemas/adult_services_episodes.yaml``,
``adult_services_household_children.yaml``) plus ``service_file`` (the <service> part of the file
name, e.g. ``mental_health``). Parental responsibility Y/N/U, safeguarding concern Y/N.
"""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd

from .tabular import TableRead, concat_reads, read_extract

EPISODES_SCHEMA = "adult_services_episodes"
CHILDREN_SCHEMA = "adult_services_household_children"
_NAME = re.compile(r"^adult_(?P<service>.+?)_(episodes|household_children)\.csv$", re.IGNORECASE)


def _service(path: Path) -> str | None:
    m = _NAME.match(Path(path).name)
    return m.group("service") if m else None


def _with_service(result: TableRead, path: Path) -> TableRead:
    result.rows.insert(1, "service_file", pd.Series(_service(path), index=result.rows.index, dtype="string"))
    return result


def read_adult_episodes(path: Path | str, extract_date: date | str | None = None,
                        authority: str | None = None) -> TableRead:
    return _with_service(read_extract(path, EPISODES_SCHEMA, extract_date, authority), Path(path))


def read_adult_household_children(path: Path | str, extract_date: date | str | None = None,
                                  authority: str | None = None) -> TableRead:
    return _with_service(read_extract(path, CHILDREN_SCHEMA, extract_date, authority), Path(path))


def adult_episode_files(incoming: Path | str) -> list[Path]:
    return sorted(Path(incoming).glob("*/*/adult_*_episodes.csv"))


def adult_household_children_files(incoming: Path | str) -> list[Path]:
    return sorted(Path(incoming).glob("*/*/adult_*_household_children.csv"))


def read_adult_episode_files(paths: list[Path]) -> TableRead:
    return concat_reads([read_adult_episodes(p) for p in paths])


def read_adult_household_children_files(paths: list[Path]) -> TableRead:
    return concat_reads([read_adult_household_children(p) for p in paths])
