"""Jobs.

* ``cin_census_refresh``: the CIN census asset, partitioned by collection year.
* ``quarterly_refresh``: everything else: reference data (unpartitioned), the quarterly
  extracts (partitioned by quarter), the quality summary, the linkage, the marts and the
  board report. Dagster runs a job for one partition or, in one run, a range of partitions
  (the assets have a single-run backfill policy); ``neglect run`` runs both jobs over every
  period with files.
"""
from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from .assets.cin_census import CIN_CENSUS_KEY

QUARTER_END_TAG = "neglect/quarter_end"

cin_census_refresh = define_asset_job(
    name="cin_census_refresh",
    selection=AssetSelection.assets(CIN_CENSUS_KEY),
    description="Load the DfE CIN census of a collection year (or a range of years).",
)

quarterly_refresh = define_asset_job(
    name="quarterly_refresh",
    selection=AssetSelection.all() - AssetSelection.assets(CIN_CENSUS_KEY),
    description="Refresh the pipeline for a quarter (or a range of quarters) after the extracts arrive: "
                "reference data, every quarterly extract, the quality summary, linkage, the neglect marts "
                "and the board report.",
)
