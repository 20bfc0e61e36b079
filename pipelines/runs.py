"""Which runs a refresh needs, and running a job over a range of partitions in this process.

``neglect run`` (and the tests) refresh everything the incoming folder holds:
:func:`run_plan` looks at the period folders (``<authority>/<period end>/``) and returns
one :class:`PlannedRun` for the CIN census years (every 31 March folder) and one for the
quarters (first to last quarter-end folder). :func:`execute_range` runs a job over a
range of partition keys as ONE Dagster run (the assets have a single-run backfill
policy), which is much faster than one run per quarter.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .ingest.files import period_ends
from .partitions import census_partition_key, partition_key_for_quarter_end

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


@dataclass(frozen=True)
class PlannedRun:
    job_name: str
    first_key: str
    last_key: str
    label: str  # for people: "quarters ending 30 Jun 2023 to 31 Mar 2026"


def run_plan(incoming: Path, today: date) -> list[PlannedRun]:
    """The runs that load every period with files (periods not yet ended are left out)."""
    quarters = [e for e in period_ends(incoming) if e < today]
    plan = []
    years = sorted({e.year for e in quarters if e.month == 3})
    if years:
        plan.append(PlannedRun("cin_census_refresh", census_partition_key(years[0]), census_partition_key(years[-1]),
                               f"census years {years[0]} to {years[-1]}"))
    if quarters:
        plan.append(PlannedRun("quarterly_refresh", partition_key_for_quarter_end(quarters[0]),
                               partition_key_for_quarter_end(quarters[-1]),
                               f"quarters ending {quarters[0]:%d %b %Y} to {quarters[-1]:%d %b %Y}"))
    return plan


def execute_range(defs, instance, planned: PlannedRun, run_id: str | None = None, tags: dict | None = None,
                  quiet: bool = True):
    """Run ``planned.job_name`` over its partition range in this process; returns the ExecuteInProcessResult."""
    from .ingest.parallel import warm_up

    warm_up()  # the file-reading workers start while Dagster sets the run up
    run_tags = {**(tags or {}), RANGE_START_TAG: planned.first_key, RANGE_END_TAG: planned.last_key}
    config = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}} if quiet else None
    return defs.resolve_job_def(planned.job_name).execute_in_process(
        instance=instance, run_id=run_id, raise_on_error=False, tags=run_tags, run_config=config)
