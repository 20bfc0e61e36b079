"""Dagster resources: the DuckDB warehouse and the folder of incoming extracts.

Both take their paths from :mod:`pipelines.settings`, so ``settings.toml`` and the
``NEGLECT_*`` environment variables decide where the pipeline reads and writes.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from dagster import ConfigurableResource
from dagster_duckdb import DuckDBResource

from .ingest.files import AUTHORITY_FOLDER, authority_folders
from .pseudonyms import load_key
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

    def authority_folders(self) -> list[Path]:
        """The authority folders (``991_northbrook`` ...): every folder except ``reference``."""
        return authority_folders(self.root)

    def authority_codes(self) -> list[str]:
        """The DfE LA numbers of the authority folders (``991_northbrook`` -> ``'991'``)."""
        codes = [AUTHORITY_FOLDER.match(p.name) for p in self.authority_folders()]
        return [m.group("la_code") for m in codes if m]

    def period_files(self, period_end, names: tuple[str, ...]) -> list[Path]:
        """Files of one period: ``<authority>/<period_end>/<name>`` for each glob ``name``, sorted."""
        folder = period_end.isoformat()
        return sorted({p for a in self.authority_folders() for n in names for p in (a / folder).glob(n)})


class OutputFolder(ConfigurableResource):
    """Where published outputs go (``output/``): Data Docs, dashboards, exports."""

    output_dir: str

    @property
    def root(self) -> Path:
        return Path(self.output_dir)


class IdentityStoreResource(WarehouseResource):
    """The identity store (DuckDB, ``warehouse/identity.duckdb``): names, NHS numbers, UPNs, postcodes, DOBs.

    Written only by the ingest assets and read only by linkage. Same pool as the warehouse.
    """


class PseudonymKeyResource(ConfigurableResource):
    """Where the HMAC key of the pseudonyms lives (see :mod:`pipelines.pseudonyms`)."""

    key_path: str

    def key(self) -> bytes:
        return load_key(Path(self.key_path))


def build_resources(settings: Settings | None = None) -> dict:
    settings = settings or load_settings()
    return {
        "warehouse": WarehouseResource(database=str(settings.warehouse_path)),
        "extracts": IncomingExtracts(incoming_dir=str(settings.incoming_dir)),
        "identity_store": IdentityStoreResource(database=str(settings.identity_path)),
        "pseudonym_key": PseudonymKeyResource(key_path=str(settings.pseudonym_key_path)),
        "output": OutputFolder(output_dir=str(settings.output_dir)),
    }
