"""Dagster resources: the DuckDB warehouse and the folder of incoming extracts.

Both take their paths from :mod:`pipelines.settings`, so ``settings.toml`` and the
``NEGLECT_*`` environment variables decide where the pipeline reads and writes.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from dagster import ConfigurableResource
from dagster_duckdb import DuckDBResource

from sources.incoming import IncomingScan, scan_incoming
from sources.registry import Registry, load_registry

from .partitions import EARLIEST_PERIOD_END
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
    """The folder of extracts (``<incoming_dir>/<authority>/<period>/...`` and ``<incoming_dir>/reference/...``)
    and the source registry that says which file is which source (``registry_dirs``: extra declaration
    folders, separated by the OS path separator; setting ``source_registry_dirs``)."""

    incoming_dir: str
    registry_dirs: str = ""

    @property
    def root(self) -> Path:
        return Path(self.incoming_dir)

    def registry(self) -> Registry:
        from sources.registry import registry_dirs_from

        return load_registry(registry_dirs_from(self.registry_dirs))

    def scan(self) -> IncomingScan:
        """Every file of the incoming folder placed by source, authority and period (see sources.incoming)."""
        return scan_incoming(self.root, self.registry(), earliest=EARLIEST_PERIOD_END)


class OutputFolder(ConfigurableResource):
    """Where published outputs go (``output/``): Data Docs, dashboards, exports."""

    output_dir: str

    @property
    def root(self) -> Path:
        return Path(self.output_dir)


class IdentityStoreResource(WarehouseResource):
    """The identity store (DuckDB, ``warehouse/identity.duckdb``): names, NHS numbers, UPNs, postcodes, DOBs.

    Written only by the ingest assets and read only by linkage. Same pool as the warehouse. Its folder is
    kept 0700 and the file (and DuckDB's write-ahead log beside it) 0600: only the account running the
    pipeline can read them (:func:`secure_file`).
    """

    @contextmanager
    def get_connection(self):
        if self.database == ":memory:":
            with super().get_connection() as conn:
                yield conn
            return
        path = Path(self.database)
        secure_folder(path.parent)
        previous = os.umask(0o077)  # DuckDB creates the file (and its .wal) itself: created 0600
        try:
            with super().get_connection() as conn:
                os.umask(previous)
                previous = None
                try:
                    yield conn
                finally:
                    conn.close()
                    for name in (path, Path(f"{path}.wal")):
                        secure_file(name)
        finally:
            if previous is not None:
                os.umask(previous)


def secure_folder(folder: Path) -> None:
    """Create ``folder`` (and its parents) if needed and make it 0700 (owner only)."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)


def secure_file(path: Path) -> None:
    """Make ``path`` 0600 (owner read and write only), if it exists."""
    try:
        os.chmod(path, 0o600)
    except FileNotFoundError:
        pass


class PseudonymKeyResource(ConfigurableResource):
    """Where the HMAC key of the pseudonyms lives (see :mod:`pipelines.pseudonyms`)."""

    key_path: str

    def key(self) -> bytes:
        return load_key(Path(self.key_path))


def build_resources(settings: Settings | None = None) -> dict:
    settings = settings or load_settings()
    return {
        "warehouse": WarehouseResource(database=str(settings.warehouse_path)),
        "extracts": IncomingExtracts(incoming_dir=str(settings.incoming_dir),
                                     registry_dirs=os.pathsep.join(settings.registry_dirs)),
        "identity_store": IdentityStoreResource(database=str(settings.identity_path)),
        "pseudonym_key": PseudonymKeyResource(key_path=str(settings.pseudonym_key_path)),
        "output": OutputFolder(output_dir=str(settings.output_dir)),
    }
