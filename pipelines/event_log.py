"""Dagster's SQLite event log with its database connections kept open (``dagster.yaml``: ``event_log_storage``).

Dagster's ``SqliteEventLogStorage`` opens a new SQLAlchemy engine and connection for every statement it
runs and throws both away afterwards: storing one asset event opens three or four of them (the run's
database, then the cross-run index). A refresh of the default partnership stores about 1,200 events (a
quarterly asset built over 21 quarters records one materialisation per quarter) and the ``neglect``
command reads the log every 0.3 s to print progress, so the opening alone cost 10-13 s of a 35-40 s
refresh in which nothing had changed (measured with the storage timed in-process, issue 18).

:class:`PooledSqliteEventLogStorage` is the same storage (same files, tables and schema migrations; a
subclass) that keeps one engine, and so one open connection, per database: the index and the most
recent :data:`OPEN_DATABASES` runs' databases. Every statement still runs in its own transaction under
Dagster's lock, and SQLite's file locking still coordinates with other processes (the webserver, the
daemon), so what is stored and when it is visible are unchanged. Engines are closed when the storage is
disposed or wiped (wiping deletes the run databases' files).

A step run over a range of quarters records one materialisation per quarter. With ``DAGSTER_EVENT_BATCH_SIZE`` set
(this module sets it, :data:`EVENT_BATCH_SIZE`), Dagster hands them over together, and :meth:`store_event_batch`
stores them with the statements :meth:`store_event` would run, in one transaction per database instead of two
per event: an unchanged refresh of the default partnership 13.0 s to 11.8 s (bench/README.md), the tables
identical (tests/test_event_log.py).

Configured in ``dagster.yaml`` with Dagster's run and schedule storages at the paths its ``storage: sqlite``
block uses, so an existing ``.dagster/`` keeps its history; :func:`instance_overrides` gives the same for a
temporary instance (``DagsterInstance.local_temp(folder, overrides=instance_overrides(folder))``, the tests).
"""
import os
from collections import OrderedDict
from contextlib import contextmanager

from dagster._core.events import ASSET_EVENTS
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (INDEX_SHARD_NAME, SQLITE_BUSY_TIMEOUT_SECONDS,
                                                                     SqliteEventLogStorage)
from dagster._core.storage.sqlalchemy_compat import db_result
from sqlalchemy import create_engine

__all__ = ["PooledSqliteEventLogStorage", "instance_overrides", "OPEN_DATABASES", "EVENT_BATCH_SIZE"]

OPEN_DATABASES = 8  # run databases kept open at once (besides the index): the runs a process is working on
# Dagster hands a step's materialisations of a range of quarters to store_event_batch, in batches of at most this
# many, when the environment variable DAGSTER_EVENT_BATCH_SIZE is set (its default, 0, stores them one by one).
# Set here, as every process using this storage (the neglect command, the webserver, the daemon, a run's process)
# imports this module when it loads the instance; DAGSTER_EVENT_BATCH_SIZE=0 in the environment undoes it.
EVENT_BATCH_SIZE = 64
os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", str(EVENT_BATCH_SIZE))


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` keeping an engine (one open connection) per database (see module docstring)."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines = OrderedDict()  # shard name -> engine, least recently used first
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str):
        """The open engine of ``shard`` (created, and its database initialised, on first use); called under
        ``self._db_lock``."""
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = create_engine(self.conn_string_for_shard(shard),
                                   connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        runs = [name for name in self._engines if name != INDEX_SHARD_NAME]
        for name in runs[:-OPEN_DATABASES]:  # close the least recently used run databases beyond the limit
            self._engines.pop(name).dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str):
        with self._db_lock:
            with self._engine(shard).connect() as conn:
                with conn.begin():
                    yield conn

    def store_event_batch(self, events) -> None:
        """Store ``events`` (one step's materialisations of the quarters of a run) exactly as :meth:`store_event`
        stores each, with the same statements in the same order, but in one transaction on the run's database and
        one on the index instead of two per event. Any other batch is stored one event at a time."""
        kinds = {e.dagster_event_type for e in events}  # None for a log line that is not a Dagster event
        if len(events) < 2 or len({e.run_id for e in events}) != 1 or not kinds <= ASSET_EVENTS:
            super().store_event_batch(events)
            return
        statements = [self.prepare_insert_event(event) for event in events]
        with self.run_connection(events[0].run_id) as conn:
            for statement in statements:
                conn.execute(statement)
        with self.index_transaction() as conn:  # store_event's mirror of each asset event in the index
            for event, statement in zip(events, statements):
                with db_result(conn, statement) as result:
                    event_id = result.inserted_primary_key[0]
                self._store_asset_event_tags(conn, [event], [event_id])
                self._store_asset_event(conn, event, event_id)

    def _close_engines(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._close_engines()  # before the run databases' files are deleted
        super().wipe()

    def dispose(self) -> None:
        self._close_engines()
        super().dispose()


def _storage(module: str, name: str, base_dir: str) -> dict:
    return {"module": module, "class": name, "config": {"base_dir": base_dir}}


def instance_overrides(storage_dir: str) -> dict:
    """Instance settings (as ``dagster.yaml`` holds them) for Dagster's SQLite storage under ``storage_dir`` with
    this event log: run and schedule storage at the paths ``storage: sqlite: base_dir: <storage_dir>`` uses."""
    return {"run_storage": _storage("dagster._core.storage.runs", "SqliteRunStorage", f"{storage_dir}/history"),
            "event_log_storage": _storage("pipelines.event_log", "PooledSqliteEventLogStorage",
                                          f"{storage_dir}/history/runs"),
            "schedule_storage": _storage("dagster._core.storage.schedules", "SqliteScheduleStorage",
                                         f"{storage_dir}/schedules"),
            "telemetry": {"enabled": False}}
