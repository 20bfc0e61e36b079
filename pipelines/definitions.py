"""The code location: ``dagster dev -m pipelines.definitions`` or ``dg dev`` load ``defs``."""
from __future__ import annotations

from dagster import Definitions

from .assets.population import population_denominators
from .checks import population_checks
from .jobs import quarterly_refresh
from .resources import build_resources
from .schedules import quarterly_refresh_schedule
from .settings import Settings


def build_definitions(settings: Settings | None = None) -> Definitions:
    """Everything in the code location, with resources taken from ``settings`` (default: load them)."""
    return Definitions(
        assets=[population_denominators],
        asset_checks=population_checks,
        resources=build_resources(settings),
        schedules=[quarterly_refresh_schedule],
        jobs=[quarterly_refresh],
    )


defs = build_definitions()
