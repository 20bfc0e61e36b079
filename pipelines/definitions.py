"""The code location: ``dagster dev -m pipelines.definitions`` or ``dg dev`` load ``defs``."""
from __future__ import annotations

from dagster import Definitions

from .assets.cin_census import cin_census
from .assets.dashboards import build_dashboard_assets
from .assets.extracts import extract_assets
from .assets.linkage import build_linkage_assets
from .assets.marts import build_mart_assets
from .assets.population import population_denominators
from .assets.quality import quality_summary
from .assets.reference import reference_assets
from .checks import population_checks
from .jobs import cin_census_refresh, quarterly_refresh
from .resources import build_resources
from .schedules import quarterly_refresh_schedule
from .sensors import incoming_files_sensor
from .settings import Settings, load_settings


def build_definitions(settings: Settings | None = None) -> Definitions:
    """Everything in the code location, with resources taken from ``settings`` (default: load them)."""
    settings = settings or load_settings()
    return Definitions(
        assets=[population_denominators, *reference_assets, cin_census, *extract_assets, quality_summary,
                *build_linkage_assets(settings), *build_mart_assets(settings),
                *build_dashboard_assets(settings)],
        asset_checks=population_checks,
        resources=build_resources(settings),
        schedules=[quarterly_refresh_schedule],
        sensors=[incoming_files_sensor],
        jobs=[cin_census_refresh, quarterly_refresh],
    )


defs = build_definitions()
