"""pipelines/event_log.py: Dagster's SQLite event log with connections kept open stores what the stock one stores,
in the same files, and dagster.yaml uses it at the paths Dagster's own SQLite storage would."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import yaml
from dagster import (BackfillPolicy, DagsterInstance, MaterializeResult, StaticPartitionsDefinition, asset,
                     materialize)
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME

from pipelines.event_log import OPEN_DATABASES, PooledSqliteEventLogStorage, instance_overrides

ROOT = Path(__file__).resolve().parents[1]


@asset
def counted() -> int:
    return 1


def test_events_stored_with_open_connections_are_read_by_dagsters_own_storage(tmp_path):
    with DagsterInstance.local_temp(str(tmp_path), overrides=instance_overrides(str(tmp_path))) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        runs = [materialize([counted], instance=instance).run_id for _ in range(OPEN_DATABASES + 3)]
        assert len([name for name in storage._engines if name != INDEX_SHARD_NAME]) <= OPEN_DATABASES  # older runs closed
        pooled = [len(instance.all_logs(run_id)) for run_id in runs]
        latest = instance.get_latest_materialization_event(counted.key).run_id
    with DagsterInstance.local_temp(str(tmp_path), overrides={"telemetry": {"enabled": False}}) as stock:
        assert type(stock.event_log_storage).__name__ == "SqliteEventLogStorage"
        assert {r.run_id for r in stock.get_runs()} == set(runs)
        assert [len(stock.all_logs(run_id)) for run_id in runs] == pooled and min(pooled) > 5
        assert stock.get_latest_materialization_event(counted.key).run_id == latest == runs[-1]


def test_wiping_closes_the_connections_and_the_log_works_after(tmp_path):
    with DagsterInstance.local_temp(str(tmp_path), overrides=instance_overrides(str(tmp_path))) as instance:
        materialize([counted], instance=instance)
        instance.wipe()
        assert instance.get_latest_materialization_event(counted.key) is None
        run_id = materialize([counted], instance=instance).run_id
        assert instance.get_latest_materialization_event(counted.key).run_id == run_id


def test_dagster_yaml_uses_it_where_dagsters_sqlite_storage_keeps_its_files():
    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    assert "storage" not in config  # the three storages are given one by one
    expected = instance_overrides(".dagster/storage")
    for name in ("run_storage", "event_log_storage", "schedule_storage"):
        assert config[name] == expected[name]


QUARTERS = StaticPartitionsDefinition(["2025-04-01", "2025-07-01", "2025-10-01", "2026-01-01"])


@asset(partitions_def=QUARTERS, backfill_policy=BackfillPolicy.single_run())
def quarterly(context) -> MaterializeResult:
    return MaterializeResult(metadata={"rows": 4})


# Columns SQLite fills with its own clock when a row is written (``server_default=CURRENT_TIMESTAMP``, to the
# second): two stores of the same events differ there whenever they straddle a second.
WALL_CLOCK_COLUMNS = {"create_timestamp", "update_timestamp"}


def _tables(folder: Path) -> dict:
    """Every row of every table of every SQLite database under ``folder``, by file and table, without the
    wall-clock columns (and without the table that records when the database's indexes were made)."""
    found = {}
    for path in sorted(folder.rglob("*.db")):
        with sqlite3.connect(path) as conn:
            for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                         "AND name <> 'secondary_indexes'").fetchall():
                columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
                kept = ", ".join(f'"{c}"' for c in columns if c not in WALL_CLOCK_COLUMNS)
                found[(path.relative_to(folder).as_posix(), table)] = conn.execute(f'SELECT {kept} FROM "{table}"').fetchall()
    return found


def _stored(folder: Path, entries: list, batched: bool) -> dict:
    """``entries`` stored in a new storage under ``folder``: the quarters' materialisations as one batch (as
    Dagster hands them over with DAGSTER_EVENT_BATCH_SIZE set) or every event on its own."""
    folder.mkdir()
    storage = PooledSqliteEventLogStorage(str(folder))
    materialised = [e for e in entries if e.is_dagster_event and e.dagster_event_type.value == "ASSET_MATERIALIZATION"]
    one_at_a_time = []
    store_event = storage.store_event
    storage.store_event = lambda event: one_at_a_time.append(event) or store_event(event)
    for entry in entries:
        if batched and entry is materialised[0]:
            storage.store_event_batch(materialised)
        elif not (batched and entry in materialised):
            storage.store_event(entry)
    storage.dispose()
    assert len(one_at_a_time) == len(entries) - (len(materialised) if batched else 0)  # the batch: not one by one
    return _tables(folder)


def test_a_batch_of_materialisations_is_stored_as_each_event_would_be(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "64")
    (tmp_path / "run").mkdir()
    with DagsterInstance.local_temp(str(tmp_path / "run"), overrides=instance_overrides(str(tmp_path / "run"))) as instance:
        result = materialize([quarterly], instance=instance, tags={"dagster/asset_partition_range_start": "2025-04-01",
                                                                   "dagster/asset_partition_range_end": "2026-01-01"})
        entries = instance.all_logs(result.run_id)
        assert instance.get_materialized_partitions(quarterly.key) == set(QUARTERS.get_partition_keys())
    assert len([e for e in entries if e.dagster_event_type and e.dagster_event_type.value == "ASSET_MATERIALIZATION"]) == 4
    one_by_one, batched = _stored(tmp_path / "one", entries, False), _stored(tmp_path / "batch", entries, True)
    assert batched == one_by_one
    assert len(batched[("index.db", "asset_event_tags")]) >= 4 and len(batched[("index.db", "asset_keys")]) == 1
