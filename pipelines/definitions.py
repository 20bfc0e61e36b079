"""The code location: ``dagster dev -m pipelines.definitions`` or ``dg dev`` load ``defs``.

Which source assets exist comes from the source registry (``sources/registry/`` plus the
folders of the setting ``source_registry_dirs``).
"""
from __future__ import annotations

from dagster import Definitions

from sources.registry import load_registry

from .assets.dashboards import build_dashboard_assets
from .assets.extracts import build_source_assets, source_key
from .assets.linkage import build_linkage_assets
from .assets.marts import build_mart_assets
from .assets.population import population_denominators
from .assets.quality import build_quality_summary
from .assets.reference import build_reference_assets
from .checks import population_checks
from .jobs import QUARTERLY_JOB, build_jobs
from .resources import build_resources
from .schedules import build_quarterly_schedule
from .sensors import build_incoming_files_sensor
from .settings import Settings, load_settings


def build_definitions(settings: Settings | None = None) -> Definitions:
    """Everything in the code location, with resources taken from ``settings`` (default: load them)."""
    settings = settings or load_settings()
    registry = load_registry(settings.registry_dirs)
    source_assets = build_source_assets(registry, settings.max_file_reject_share)
    source_keys = [source_key(s.name) for s in registry.partitioned()]
    jobs = build_jobs(registry)
    quarterly = next(j for j in jobs if j.name == QUARTERLY_JOB)
    return Definitions(
        assets=[population_denominators, *build_reference_assets(registry), *source_assets,
                build_quality_summary(source_keys), *build_linkage_assets(settings, source_keys),
                *build_mart_assets(settings), *build_dashboard_assets(settings)],
        asset_checks=population_checks,
        resources=build_resources(settings),
        schedules=[build_quarterly_schedule(quarterly)],
        sensors=[build_incoming_files_sensor([j for j in jobs if j.name != "board_report"])],
        jobs=jobs,
    )


defs = build_definitions()
