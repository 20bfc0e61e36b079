"""Dagster resources: the DuckDB warehouse and the folder of incoming extracts.

Both take their paths from :mod:`pipelines.settings`, so ``settings.toml`` and the
``NEGLECT_*`` environment variables decide where the pipeline reads and writes.
"""
from __future__ import annotations

import copy
import os
from contextlib import contextmanager
from pathlib import Path

from dagster import ConfigurableResource
from dagster_duckdb import DuckDBResource

from ingest.connections import duckdb_config, keep
from ingest.parallel import shared_pool
from ingest.pseudonyms import load_key
from sources.incoming import IncomingScan, scan_incoming
from sources.registry import Registry, load_registry

from .assets.freshness import settings_version
from .partitions import EARLIEST_PERIOD_END
from .settings import Settings, load_settings
from .waits import FORMAT_PREFIX


# DuckDB's storage version number (the file header) -> the oldest DuckDB release that opens the warehouse
# (measured with DuckDB 2.0.0 writing under each storage_compatibility_version; every later release opens
# older files). 64 is read from 0.10 on, but the primary-key index of linkage.key_sequence written by 2.0
# only from 1.1 (1.0: "Serialization Error: Failed to deserialize"). 999 is what DuckDB 2.0 writes by default.
STORAGE_OPENED_FROM = {64: "1.1", 65: "1.2", 66: "1.3", 67: "1.4", 68: "1.5", 999: "2.0"}
# storage_compatibility_version (its start) -> the storage version number DuckDB 2.0 then writes
STORAGE_SETTING_WRITES = {"v0.10": 64, "v1.0": 64, "v1.1": 64, "v1.2": 65, "v1.3": 66, "v1.4": 67, "v1.5": 68}
_WARNED: set[str] = set()


def storage_version_of(path: Path) -> int | None:
    """The storage version number in a DuckDB file's header (bytes 12-19 after the magic ``DUCK`` at 8);
    None when the file is missing or not a DuckDB database."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(20)
    except OSError:
        return None
    if len(head) < 20 or head[8:12] != b"DUCK":
        return None
    return int.from_bytes(head[12:20], "little")


class WarehouseResource(DuckDBResource):
    """The DuckDB warehouse (``DuckDBResource``) that creates its parent folder on first use.

    DuckDB allows one writing process per file: assets that write it use the
    ``duckdb_warehouse`` concurrency pool (limit 1, see dagster.yaml). Another *process* holding the
    file (an analyst's open connection) is waited for out loud, naming its program and PID, for up to
    ``wait_minutes`` (:func:`pipelines.waits.connect_when_free`); then the step fails saying what to do.

    ``memory_limit`` and ``threads`` (settings ``duckdb_memory_limit``, ``duckdb_threads``): DuckDB's memory
    limit and threads, the same for the warehouse and the identity store (:mod:`ingest.connections`).

    ``storage_version`` (setting ``warehouse_storage_version``, e.g. ``v1.1.0``) is DuckDB's
    ``storage_compatibility_version``: a warehouse *created* by this resource is written in that storage
    format, so older DuckDB releases (and the ODBC drivers and BI connectors built on them) can open it.
    A file keeps the format it was created with: an existing warehouse in a newer format is used as it is,
    with a warning saying how to convert it (README, Analyst access).
    """

    wait_minutes: float = 10.0
    storage_version: str = ""
    memory_limit: str = ""  # setting duckdb_memory_limit (empty: automatic, ingest/connections.py)
    threads: int = 0  # setting duckdb_threads (0: DuckDB's default)

    def _keeps_open(self) -> bool:
        """Kept open between a run's steps (:func:`ingest.connections.kept_open_between_steps`)."""
        return True

    def _config(self) -> dict:
        config = {"custom_user_agent": "dagster", **duckdb_config(self.memory_limit, self.threads),
                  **self.connection_config}
        if self.storage_version:
            config.setdefault("storage_compatibility_version", self.storage_version)
        return config

    def _warn_if_newer_storage(self, log) -> None:
        """Say once per process when the existing warehouse file is in a newer format than the setting."""
        target = next((n for prefix, n in STORAGE_SETTING_WRITES.items() if self.storage_version.startswith(prefix)),
                      None)
        found = storage_version_of(Path(self.database))
        if target is None or found is None or found <= target or self.database in _WARNED:
            return
        _WARNED.add(self.database)
        log(f"{FORMAT_PREFIX} the warehouse {self.database} is in DuckDB storage version {found} (opened by DuckDB "
            f"{STORAGE_OPENED_FROM.get(found, 'newer than 1.5')} and later only), not {self.storage_version} "
            "(setting warehouse_storage_version): it was created before that setting or by another DuckDB, and a "
            "file keeps the format it was created with. To convert it, see the README (Analyst access).")

    @contextmanager
    def get_connection(self):
        import duckdb
        from dagster import Failure, get_dagster_logger

        from .waits import WarehouseHeld, connect_when_free

        log = get_dagster_logger().warning
        if self.database != ":memory:":
            Path(self.database).parent.mkdir(parents=True, exist_ok=True)
            if self.storage_version:
                self._warn_if_newer_storage(log)
        config = self._config()
        try:
            conn = connect_when_free(lambda: duckdb.connect(self.database, read_only=False, config=config),
                                     self.database, self.wait_minutes, log)
        except WarehouseHeld as exc:
            raise Failure(description=str(exc)) from None
        if self._keeps_open():
            keep(self.database, config)  # in a `neglect run` only (ingest.connections.kept_open_between_steps)
        try:
            yield conn
        finally:
            conn.close()  # also when the body raises


class IncomingExtracts(ConfigurableResource):
    """The folder of extracts (``<incoming_dir>/<authority>/<period>/...`` and ``<incoming_dir>/reference/...``)
    and the source registry that says which file is which source (``registry_dirs``: extra declaration
    folders, separated by the OS path separator; setting ``source_registry_dirs``)."""

    incoming_dir: str
    registry_dirs: str = ""

    @contextmanager
    def yield_for_execution(self, context):
        """While the resource lives, every read of extract files shares one pool of reader processes, started at
        the first read that needs one (:func:`ingest.parallel.shared_pool`). Dagster's in-process executor (the
        code location's, so every run from the UI, a schedule or the sensor) keeps a resource for the whole
        run, so a run's source steps share one pool, as in ``neglect run``, instead of each starting its own."""
        with shared_pool():
            yield self

    @property
    def root(self) -> Path:
        return Path(self.incoming_dir)

    def registry(self) -> Registry:
        from sources.registry import registry_dirs_from

        return load_registry(registry_dirs_from(self.registry_dirs))

    def scan(self) -> IncomingScan:
        """Every file of the incoming folder placed by source, authority and period (see sources.incoming).

        Every source asset of a run scans the folder (20-40 ms each, Annex A workbooks' sheet names read): a
        scan is kept for the process and given again (a copy) while no file or folder under the incoming folder
        has been added, removed, renamed or rewritten (path, size, modification time and inode all the same)."""
        key = (str(self.root.resolve()), self.registry_dirs)
        signature = _folder_signature(self.root)
        kept = _SCANS.get(key)
        if kept is None or kept[0] != signature:
            kept = (signature, scan_incoming(self.root, self.registry(), earliest=EARLIEST_PERIOD_END))
            _SCANS[key] = kept
        return copy.deepcopy(kept[1])


_SCANS: dict[tuple[str, str], tuple[tuple, IncomingScan]] = {}  # IncomingExtracts.scan's scans, by folder


def _folder_signature(root: Path) -> tuple:
    """Every entry under ``root`` (path, size, modification time in ns, inode), sorted; () without the folder."""
    entries = []
    for folder, subfolders, names in os.walk(root):
        for name in names + subfolders:
            path = os.path.join(folder, name)
            try:
                found = os.lstat(path)
            except OSError:  # removed while walking: the scan says what it finds
                continue
            entries.append((path, found.st_size, found.st_mtime_ns, found.st_ino))
    return tuple(sorted(entries))


class LinkageSettings(ConfigurableResource):
    """How records are linked (settings ``linkage_match_threshold``, ``linkage_review_threshold``,
    ``linkage_upper_threshold``: match probabilities 0-1; ``linkage_model_file``: a saved Splink model,
    empty to train on every run; ``clerical_review_dir``: where pairs for clerical review are written)."""

    match_threshold: float = 0.95
    review_threshold: float = 0.50
    upper_threshold: float = 0.99
    model_file: str = ""
    clerical_review_dir: str = ""

    def thresholds(self) -> tuple[float, float, float]:
        """(match, review, upper): the hidden-prevalence sensitivity re-counts at each."""
        return (self.match_threshold, self.review_threshold, self.upper_threshold)

    @property
    def model_path(self) -> Path | None:
        return Path(self.model_file) if self.model_file else None


class EstimationSettings(ConfigurableResource):
    """How the published hidden-prevalence estimate is sampled (setting ``latent_class_draws``: draws kept per
    chain by the latent-class sampler, after as many burn-in sweeps; :mod:`models.mse.latent_class`)."""

    latent_class_draws: int = 500

    def sampler(self) -> dict:
        """The sampler settings the hidden-prevalence mart passes on (``burn`` and ``draws`` sweeps)."""
        return {"burn": self.latent_class_draws, "draws": self.latent_class_draws}


class RefreshState(ConfigurableResource):
    """What decides, besides the extracts and the code, whether an asset after the extracts is rebuilt
    (:mod:`pipelines.assets.freshness`): ``settings_version``, a hash of the settings figures depend on."""

    settings_version: str = ""


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

    def _keeps_open(self) -> bool:
        return False  # linkage attaches the identity store read-only: never kept open read-write beside that

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
    """Where the HMAC key of the pseudonyms lives (see :mod:`ingest.pseudonyms`)."""

    key_path: str

    def key(self) -> bytes:
        return load_key(Path(self.key_path))


def build_resources(settings: Settings | None = None) -> dict:
    settings = settings or load_settings()
    return {
        "warehouse": WarehouseResource(database=str(settings.warehouse_path), wait_minutes=settings.wait_minutes,
                                       storage_version=settings.warehouse_storage_version,
                                       memory_limit=settings.duckdb_memory_limit, threads=settings.duckdb_threads),
        "extracts": IncomingExtracts(incoming_dir=str(settings.incoming_dir),
                                     registry_dirs=os.pathsep.join(settings.registry_dirs)),
        "identity_store": IdentityStoreResource(database=str(settings.identity_path),
                                                wait_minutes=settings.wait_minutes,
                                                memory_limit=settings.duckdb_memory_limit,
                                                threads=settings.duckdb_threads),
        "pseudonym_key": PseudonymKeyResource(key_path=str(settings.pseudonym_key_path)),
        "output": OutputFolder(output_dir=str(settings.output_dir)),
        "refresh": RefreshState(settings_version=settings_version(settings)),
        "estimation": EstimationSettings(latent_class_draws=settings.latent_class_draws),
        "linkage_settings": LinkageSettings(
            match_threshold=settings.linkage_match_threshold, review_threshold=settings.linkage_review_threshold,
            upper_threshold=settings.linkage_upper_threshold,
            model_file=str(settings.linkage_model_path or ""), clerical_review_dir=str(settings.clerical_review_dir)),
    }
