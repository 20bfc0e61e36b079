"""Jobs. ``quarterly_refresh`` materialises every asset (and runs their checks)."""
from __future__ import annotations

from dagster import AssetSelection, define_asset_job

QUARTER_END_TAG = "neglect/quarter_end"

quarterly_refresh = define_asset_job(
    name="quarterly_refresh",
    selection=AssetSelection.all(),
    description="Refresh the whole pipeline after a quarter's extracts arrive. For now every asset is "
                "unpartitioned; the quarter it was run for is recorded in the run tag neglect/quarter_end.",
)
