"""Session fixtures (the default synthetic partnership, generated once per test run, and its refresh) and the
``unit`` marker.

``unit``: a test that needs no pipeline run (no Dagster job, no ``neglect run``), no generated partnership and no
browser - readers on hand-written files, rules, estimators, disclosure control on small tables. Given here to
every test that is not ``slow``, uses none of :data:`HEAVY_FIXTURES` (directly or through another fixture) and
is not listed in :data:`NOT_UNIT`; ``pytest -m unit`` is the quick loop (README, Tests).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from sources.synthetic.config import GeneratorConfig
from sources.synthetic.generate import generate_partnership

# fixtures that generate a partnership or run the pipeline: a test using one (even through another fixture) is not unit
HEAVY_FIXTURES = frozenset({
    "partnership", "ingested",  # below: the default partnership and its refresh
    "generated", "synthetic", "sample",  # small partnerships generated in test_cin_census_reader.py,
                                         # test_reference_readers.py, test_tabular_readers.py
    "real_run", "hostile_run",  # `neglect run` on the hand-written partnership
})
# tests that run Dagster, `neglect run`, the generator or a browser without one of those fixtures
# (a file, or file::test)
NOT_UNIT = frozenset({
    "test_population_asset.py",  # Dagster runs of the population asset
    "test_run_waits.py",  # `neglect run`
    "test_sensor.py",  # the sensor against a Dagster instance
    "test_synthetic_determinism.py", "test_synthetic_thresholds.py",  # generate partnerships
    "test_settings_cli.py::test_run_exits_1_with_the_message_when_the_blocking_check_fails",
    "test_warehouse_access.py::test_neglect_run_prints_what_holds_the_warehouse_while_a_step_waits",
    "test_source_registry.py::test_a_new_source_from_a_folder_loads",  # through Dagster
})


def pytest_collection_modifyitems(config, items):
    """Mark ``unit`` every test that is not slow, uses no heavy fixture and is not listed in NOT_UNIT."""
    for item in items:
        if (item.get_closest_marker("slow") or HEAVY_FIXTURES & set(getattr(item, "fixturenames", ()))
                or item.path.name in NOT_UNIT or f"{item.path.name}::{item.originalname}" in NOT_UNIT):
            continue
        item.add_marker(pytest.mark.unit)


@pytest.fixture(scope="session")
def partnership(tmp_path_factory) -> tuple[Path, dict]:
    """(folder, summary) of the default synthetic partnership (about 25 s to generate)."""
    out = tmp_path_factory.mktemp("partnership")
    summary = generate_partnership(GeneratorConfig(), out)
    return out, summary


@dataclass
class IngestedPartnership:
    """The default partnership after the ingest jobs ran into a temporary project."""

    folder: Path  # the generated partnership (incoming/, truth/)
    settings: object  # pipelines.settings.Settings of the temporary project
    dagster_dir: Path  # the Dagster instance's storage (run history, event logs)
    results: dict  # job name -> ExecuteInProcessResult
    seconds: float  # wall time of the ingest runs


# The session refresh's hidden-prevalence sampler keeps 100 draws per chain, not 500: a fifth of the sampling.
# No test of the refresh judges the estimate's statistical quality (its rows, publication rule, suppression and
# repeatability are the same code at any length); test_mse_estimators.py checks the sampler at its real settings
# (coverage under heterogeneity) and test_real_partnership.py runs the pipeline with them.
LATENT_CLASS_DRAWS = 100


@pytest.fixture(scope="session")
def ingested(partnership, tmp_path_factory) -> IngestedPartnership:
    """Run `neglect run`'s plan (`cin_census_refresh`, `quarterly_refresh` over every period of the default partnership,
    `board_report` for the latest quarter), with a shorter hidden-prevalence sampler (LATENT_CLASS_DRAWS)."""
    from dagster import DagsterInstance

    from pipelines.definitions import build_definitions
    from pipelines.runs import execute_range, run_plan
    from pipelines.settings import Settings

    folder, _ = partnership
    project = tmp_path_factory.mktemp("ingest_project")
    settings = Settings(project_root=project, synthetic_dir=folder, incoming_dir=folder / "incoming",
                        warehouse_path=project / "warehouse" / "neglect.duckdb",
                        identity_path=project / "warehouse" / "identity.duckdb",
                        pseudonym_key_path=project / "secrets" / "pseudonym.key",
                        output_dir=project / "output", dagster_home=project,
                        latent_class_draws=LATENT_CLASS_DRAWS)
    defs = build_definitions(settings)
    dagster_dir = project / ".dagster"
    dagster_dir.mkdir()
    results = {}
    started = time.monotonic()
    with DagsterInstance.local_temp(str(dagster_dir), overrides={"telemetry": {"enabled": False}}) as instance:
        for planned in run_plan(settings.incoming_dir, date(2026, 11, 23)):
            results[planned.job_name] = execute_range(defs, instance, planned)
    return IngestedPartnership(folder, settings, dagster_dir, results, time.monotonic() - started)


@pytest.fixture(scope="module")
def warehouse(ingested):
    """A read-only connection to the refreshed partnership's warehouse, for one test module."""
    import duckdb

    conn = duckdb.connect(str(ingested.settings.warehouse_path), read_only=True)
    yield conn
    conn.close()
