"""Quarterly partitions: the reporting periods of the partnership's data.

A partition key is the **first day** of a quarter (``2023-04-01``), because that is
how Dagster names time windows; analysts and the board talk about the **quarter
end** (``30 June 2023``), which :func:`quarter_end` returns. Quarters end on 30 June,
30 September, 31 December and 31 March. A partition exists once its quarter has ended.

The partitions start with the first collection year the readers support
(:data:`FIRST_COLLECTION_YEAR`, 2017: the CIN census schema's first year), so a
partnership can load every year of history it holds; which partitions a run covers is
decided by what the incoming folder holds (:mod:`pipelines.runs`), never by a date
written here.

:func:`collection_year` gives the Children in Need census year (to 31 March) a date
falls in, named by the year it ends: the quarter ending 30 June 2023 is in the
2023-24 census, ``collection_year(date(2023, 6, 30)) == 2024``.
"""
from __future__ import annotations

from datetime import date, timedelta

from dagster import TimeWindowPartitionsDefinition

PARTITION_FORMAT = "%Y-%m-%d"
FIRST_COLLECTION_YEAR = 2017  # = the first year sources/schemas/cin_census describes (a test checks)
FIRST_QUARTER_START = f"{FIRST_COLLECTION_YEAR - 1}-04-01"  # the quarter ending 30 June 2016
EARLIEST_PERIOD_END = date(FIRST_COLLECTION_YEAR - 1, 6, 30)  # periods before this are not loaded
TIMEZONE = "Europe/London"

quarterly_partitions = TimeWindowPartitionsDefinition(
    start=FIRST_QUARTER_START,
    fmt=PARTITION_FORMAT,
    cron_schedule="0 0 1 1,4,7,10 *",  # windows start on 1 Jan, 1 Apr, 1 Jul, 1 Oct
    timezone=TIMEZONE,
)


# CIN census collection years: a key is the year's first day (2025-04-01 = the 2025-26
# census, collection year 2026, reference date 31 March 2026).
census_year_partitions = TimeWindowPartitionsDefinition(
    start=FIRST_QUARTER_START,
    fmt=PARTITION_FORMAT,
    cron_schedule="0 0 1 4 *",  # windows start on 1 April
    timezone=TIMEZONE,
)


def census_reference_date(partition_key: str) -> date:
    """The census reference date (31 March) of the collection year whose key (1 April) is ``partition_key``."""
    start = date.fromisoformat(partition_key)
    if (start.month, start.day) != (4, 1):
        raise ValueError(f"{partition_key!r} is not the first day of a collection year (1 April)")
    return date(start.year + 1, 3, 31)


def census_partition_key(collection_year: int) -> str:
    """The partition key of collection year ``collection_year`` (2026 -> '2025-04-01')."""
    return date(collection_year - 1, 4, 1).strftime(PARTITION_FORMAT)


def quarter_start(partition_key: str) -> date:
    """First day of the quarter named by ``partition_key``."""
    start = date.fromisoformat(partition_key)
    if start.day != 1 or start.month not in (1, 4, 7, 10):
        raise ValueError(f"{partition_key!r} is not the first day of a quarter (1 Jan, 1 Apr, 1 Jul or 1 Oct)")
    return start


def quarter_end(partition_key: str) -> date:
    """Last day of the quarter whose partition key (first day) is ``partition_key``."""
    start = quarter_start(partition_key)
    month = start.month + 3
    next_start = date(start.year + (month > 12), (month - 1) % 12 + 1, 1)
    return next_start - timedelta(days=1)


def partition_key_for_quarter_end(end: date) -> str:
    """The partition key of the quarter ending on ``end`` (which must be a quarter end)."""
    if (end + timedelta(days=1)).day != 1 or end.month not in (3, 6, 9, 12):
        raise ValueError(f"{end} is not a quarter end (31 Mar, 30 Jun, 30 Sep or 31 Dec)")
    return date(end.year, end.month - 2, 1).strftime(PARTITION_FORMAT)


def last_quarter_end_before(day: date) -> date:
    """The most recent quarter end strictly before ``day`` (the quarter that has just ended)."""
    first_of_quarter = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return first_of_quarter - timedelta(days=1)


def collection_year(day: date) -> int:
    """The CIN census year (1 April to 31 March) containing ``day``, named by the year it ends."""
    return day.year + 1 if day.month >= 4 else day.year


def quarters_label(partition_keys) -> str:
    """The quarter ends a run covers, for metadata: ``2026-03-31`` for one quarter, ``2023-06-30..2026-03-31``
    for a range (every quarter in between included, as a run over a partition range does)."""
    ends = sorted(quarter_end(k) for k in partition_keys)
    if not ends:
        return ""
    return ends[0].isoformat() if len(ends) == 1 else f"{ends[0].isoformat()}..{ends[-1].isoformat()}"
