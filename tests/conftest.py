"""Session fixtures: the default synthetic partnership, generated once per test run."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from sources.synthetic.config import GeneratorConfig
from sources.synthetic.generate import generate_partnership


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


@pytest.fixture(scope="session")
def ingested(partnership, tmp_path_factory) -> IngestedPartnership:
    """Run `cin_census_refresh` and `quarterly_refresh` over every period of the default partnership."""
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
                        output_dir=project / "output", dagster_home=project)
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
