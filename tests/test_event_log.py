"""pipelines/event_log.py: Dagster's SQLite event log with connections kept open stores what the stock one stores,
in the same files, and dagster.yaml uses it at the paths Dagster's own SQLite storage would."""
from __future__ import annotations

from pathlib import Path

import yaml
from dagster import DagsterInstance, asset, materialize
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
