"""Which runs a refresh needs, and running a job over a range of partitions in this process.

``neglect run`` (and the tests) refresh everything the incoming folder holds. :func:`plan_runs`
looks at the scan of the incoming folder (:func:`sources.incoming.scan_incoming`: every file
placed by registered source, authority and period) and returns, in order:

1. ``cin_census_refresh`` over every collection year with a census return;
2. ``quarterly_refresh`` over every quarter from the first to the last period with a file of any
   source (a quarter in between with no file is still refreshed: its sources are recorded as
   *not supplied*, and its figures are computed from what the other periods say);
3. ``board_report`` for the latest of those quarters (every one of them with ``neglect run --all-reports``).

Periods that have not ended yet, or that come before the first collection year the readers
support, are left out (the scan says so). :func:`execute_range` runs a job over a range of
partition keys as ONE Dagster run (the assets have a single-run backfill policy), which is much
faster than one run per quarter, and tags it ``neglect/quarter_end`` with :func:`data_end`: the day
the run's data end at (its last partition), not the latest quarter of the folder nor today's.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sources.incoming import IncomingScan, scan_incoming
from sources.registry import Registry, load_registry

from .jobs import BOARD_REPORT_JOB, CIN_CENSUS_JOB, QUARTER_END_TAG, QUARTERLY_JOB
from .partitions import (EARLIEST_PERIOD_END, census_partition_key, census_reference_date,
                         partition_key_for_quarter_end, quarter_end)

PLANNED_EVENTS_SWITCH = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


@dataclass(frozen=True)
class PlannedRun:
    job_name: str
    first_key: str
    last_key: str
    label: str  # for people: "quarters ending 30 Jun 2023 to 31 Mar 2026"


def data_end(planned: PlannedRun) -> date:
    """The day ``planned``'s data end at: the quarter end of its last quarter, or the census reference date
    (31 March) of its last collection year."""
    if planned.job_name == CIN_CENSUS_JOB:
        return census_reference_date(planned.last_key)
    return quarter_end(planned.last_key)


def scan_for_run(incoming: Path, today: date, registry: Registry | None = None) -> IncomingScan:
    """The incoming folder's scan, with periods not yet ended (on or after ``today``) left out."""
    return scan_incoming(incoming, registry or load_registry(), earliest=EARLIEST_PERIOD_END,
                         latest=today - timedelta(days=1))


def plan_runs(scan: IncomingScan, all_reports: bool = False) -> list[PlannedRun]:
    """The runs that load every period with files (see module docstring); ``all_reports``: the board report
    for every quarter of the range, not only the latest (``neglect run --all-reports``)."""
    plan = []
    years = scan.census_years()
    if years:
        plan.append(PlannedRun(CIN_CENSUS_JOB, census_partition_key(years[0]), census_partition_key(years[-1]),
                               f"census years {years[0]} to {years[-1]}"))
    quarters = sorted({f.period_end for f in scan.files})
    if quarters:
        first, last = quarters[0], quarters[-1]
        plan.append(PlannedRun(QUARTERLY_JOB, partition_key_for_quarter_end(first),
                               partition_key_for_quarter_end(last),
                               f"quarters ending {first:%d %b %Y} to {last:%d %b %Y}"))
        reports_from = first if all_reports else last
        plan.append(PlannedRun(BOARD_REPORT_JOB, partition_key_for_quarter_end(reports_from),
                               partition_key_for_quarter_end(last),
                               f"quarters ending {first:%d %b %Y} to {last:%d %b %Y}" if all_reports
                               else f"the quarter ending {last:%d %b %Y}"))
    return plan


def run_plan(incoming: Path, today: date, registry: Registry | None = None) -> list[PlannedRun]:
    """:func:`plan_runs` of the incoming folder as it is ``today``."""
    return plan_runs(scan_for_run(incoming, today, registry))


def execute_range(defs, instance, planned: PlannedRun, run_id: str | None = None, tags: dict | None = None,
                  quiet: bool = True):
    """Run ``planned.job_name`` over its partition range in this process; returns the ExecuteInProcessResult.

    Every asset of the run reads its files with one pool of reader processes, started now (while Dagster
    sets the run up; not for the board report, which reads no file) and ended when the run ends
    (:func:`ingest.parallel.shared_pool`).
    """
    from ingest.parallel import shared_pool, warm_up

    # one "planned" event per asset for the run's range, not one per asset and quarter (about 600 SQLite
    # transactions at the start of a quarterly run of 21 quarters); Dagster's own switch. Its cost: a run that
    # fails does not mark each of its quarters failed in the UI (the run shows as failed). Set to 0 to undo.
    os.environ.setdefault(PLANNED_EVENTS_SWITCH, "1")

    run_tags = {**(tags or {}), QUARTER_END_TAG: data_end(planned).isoformat(),
                RANGE_START_TAG: planned.first_key, RANGE_END_TAG: planned.last_key}
    config = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}} if quiet else None
    with shared_pool():
        if planned.job_name != BOARD_REPORT_JOB:  # the board report reads no file: no reader processes for it
            warm_up(preload=("checks.file_worker",))  # the module every read runs (checks.file_worker.read_file)
        return defs.resolve_job_def(planned.job_name).execute_in_process(
            instance=instance, run_id=run_id, raise_on_error=False, tags=run_tags, run_config=config)
