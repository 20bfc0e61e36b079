"""The code location: ``dagster dev -m pipelines.definitions`` or ``dg dev`` load ``defs``.

Which source assets exist comes from the source registry (``sources/registry/`` plus the
folders of the setting ``source_registry_dirs``). Every asset gets its owner and, for a warehouse
table, ``dagster/table_name`` here (:mod:`pipelines.assets.tables`).

Every run launched from the Dagster UI, a schedule or the sensor executes its steps one after the other in the
run's own process (``in_process_executor``), as ``neglect run`` does. Dagster's default (a process per step) gains
nothing here (every step that writes the warehouse is in a pool of one, as DuckDB allows one writer) and costs a
Python start and the pipeline's imports per step: an unchanged quarterly refresh took 368 s that way against
14 s in one process (bench/README.md, the section on ``ui_launched_run.py``).
"""
from __future__ import annotations

import warnings

from dagster import Definitions, PreviewWarning, in_process_executor

from sources.registry import load_registry

from .assets.dashboards import build_dashboard_assets
from .assets.extracts import build_source_assets, source_key
from .assets.linkage import build_linkage_assets
from .assets.marts import MART_ASSETS
from .assets.population import population_denominators
from .assets.quality import build_quality_summary
from .assets.reference import build_reference_assets
from .assets.tables import with_owner_and_table
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
    multi_table = {f"raw/{s.name}" for s in registry.sources.values() if s.tables != (s.name,)}
    defs = Definitions(
        assets=[population_denominators, *build_reference_assets(registry), *source_assets,
                build_quality_summary(source_keys), *build_linkage_assets(settings, source_keys),
                *MART_ASSETS, *build_dashboard_assets(settings)],
        asset_checks=population_checks,
        resources=build_resources(settings),
        schedules=[build_quarterly_schedule(quarterly)],
        sensors=[build_incoming_files_sensor([j for j in jobs if j.name != "board_report"])],
        jobs=jobs,
        executor=in_process_executor,  # see the module docstring
    )
    with warnings.catch_warnings():  # map_asset_specs is "preview" in Dagster 1.13; tests/test_definitions.py checks it
        warnings.simplefilter("ignore", PreviewWarning)
        return defs.map_asset_specs(func=lambda spec: with_owner_and_table(spec, multi_table))


defs = build_definitions()
