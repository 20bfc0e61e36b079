"""Dagster resources: the DuckDB warehouse and the folder of incoming extracts.

Both take their paths from :mod:`pipelines.settings`, so ``settings.toml`` and the
``NEGLECT_*`` environment variables decide where the pipeline reads and writes.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from dagster import ConfigurableResource
from dagster_duckdb import DuckDBResource

from .settings import Settings, load_settings


class WarehouseResource(DuckDBResource):
    """The DuckDB warehouse (``DuckDBResource``) that creates its parent folder on first use.

    DuckDB allows one writing process per file: assets that write it use the
    ``duckdb_warehouse`` concurrency pool (limit 1, see dagster.yaml).
    """

    @contextmanager
    def get_connection(self):
        if self.database != ":memory:":
            Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        with super().get_connection() as conn:
            try:
                yield conn
            finally:
                conn.close()  # DuckDBResource does not close the connection when the body raises


class IncomingExtracts(ConfigurableResource):
    """The folder of extracts: ``<incoming_dir>/<authority>/<period>/...`` and ``<incoming_dir>/reference/...``."""

    incoming_dir: str

    @property
    def root(self) -> Path:
        return Path(self.incoming_dir)

    @property
    def population_dir(self) -> Path:
        return self.root / "reference" / "population"


def build_resources(settings: Settings | None = None) -> dict:
    settings = settings or load_settings()
    return {
        "warehouse": WarehouseResource(database=str(settings.warehouse_path)),
        "extracts": IncomingExtracts(incoming_dir=str(settings.incoming_dir)),
    }
