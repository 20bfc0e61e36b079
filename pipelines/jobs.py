"""Jobs.

* ``cin_census_refresh``: the sources partitioned by CIN census collection year (the census).
* ``quarterly_refresh``: everything else but the board report: reference data (unpartitioned),
  the quarterly extracts (partitioned by quarter), the quality summary, the linkage and the
  marts. Dagster runs a job for one partition or, in one run, a range of partitions (the
  assets have a single-run backfill policy).
* ``board_report``: the board report and its exports, for one quarter (or a range).

``neglect run`` runs the three over what the incoming folder holds: every census year with a
return, every quarter from the first to the last period with files, and the board report for
the latest quarter (an older quarter's report: materialise its partition in the Dagster UI).
"""
from __future__ import annotations

from dagster import AssetKey, AssetSelection, define_asset_job

from sources.registry import Registry

QUARTER_END_TAG = "neglect/quarter_end"
CIN_CENSUS_JOB, QUARTERLY_JOB, BOARD_REPORT_JOB = "cin_census_refresh", "quarterly_refresh", "board_report"
DASHBOARD_GROUP = "dashboards"


def census_year_keys(registry: Registry) -> list[AssetKey]:
    return [AssetKey(["raw", s.name]) for s in registry.partitioned() if s.partitioning == "census_year"]


def build_jobs(registry: Registry) -> list:
    census = AssetSelection.assets(*census_year_keys(registry))
    dashboards = AssetSelection.groups(DASHBOARD_GROUP)
    return [
        define_asset_job(name=CIN_CENSUS_JOB, selection=census,
                         description="Load the DfE CIN census of a collection year (or a range of years)."),
        define_asset_job(name=QUARTERLY_JOB, selection=AssetSelection.all() - census - dashboards,
                         description="Refresh the pipeline for a quarter (or a range of quarters) after the extracts "
                                     "arrive: reference data, every quarterly extract, the quality summary, linkage "
                                     "and the neglect marts."),
        define_asset_job(name=BOARD_REPORT_JOB, selection=dashboards,
                         description="The board report and its exports for a quarter (or a range of quarters)."),
    ]
