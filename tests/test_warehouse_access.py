"""The warehouse as analysts use it: another process holding the file is waited for out loud (its program and
PID named) and then given up on; a new warehouse is written in the storage format older DuckDB releases open;
an existing one in a newer format is named in a warning. (Opening the session's warehouse with an old DuckDB
wheel is ``test_warehouse_old_duckdb.py``, slow.)"""
from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager

import duckdb
import pytest

from pipelines.resources import WarehouseResource, storage_version_of
from pipelines.waits import HELD_PREFIX, WarehouseHeld, connect_when_free, lock_holder


@contextmanager
def held(path):
    """Another process holding ``path`` open (read-only, as an analyst's DuckDB would): yields its PID."""
    duckdb.connect(str(path)).close()
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time\n"
                               f"c = duckdb.connect({str(path)!r}, read_only=True)\nprint('held', flush=True)\n"
                               "sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder.pid
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_lock_holder_reads_duckdbs_message():
    message = ('IO Error: Could not set lock on file "/w/neglect.duckdb": Conflicting lock is held in '
               '/usr/bin/duckdb (PID 4242) by user ana. However, you would be able to open ...')
    assert lock_holder(message) == "/usr/bin/duckdb (PID 4242, user ana)"
    assert lock_holder("IO Error: No such file") is None


def test_a_held_warehouse_is_waited_for_naming_the_holder_then_given_up_on(tmp_path):
    path = tmp_path / "neglect.duckdb"
    lines = []
    with held(path) as pid:
        started = time.monotonic()
        with pytest.raises(WarehouseHeld) as caught:
            connect_when_free(lambda: duckdb.connect(str(path)), str(path), minutes=0.02, log=lines.append,
                              poll_seconds=0.2)
    assert 1.0 < time.monotonic() - started < 10
    assert len(lines) == 1 and lines[0].startswith(HELD_PREFIX) and f"(PID {pid}" in lines[0]
    assert f"(PID {pid}" in str(caught.value) and "gave up after" in str(caught.value)


def test_the_warehouse_is_used_as_soon_as_the_holder_lets_go(tmp_path):
    path = tmp_path / "neglect.duckdb"
    lines = []
    with held(path):
        import threading
        connected = []
        thread = threading.Thread(target=lambda: connected.append(connect_when_free(
            lambda: duckdb.connect(str(path)), str(path), minutes=1, log=lines.append, poll_seconds=0.2)))
        thread.start()
        time.sleep(0.5)
    thread.join(timeout=30)
    assert connected and len(lines) == 1
    connected[0].close()


def test_a_new_warehouse_is_written_for_duckdb_1_1_and_an_old_one_keeps_its_format(tmp_path, caplog):
    new = WarehouseResource(database=str(tmp_path / "new.duckdb"), storage_version="v1.1.0")
    with new.get_connection() as conn:
        conn.execute("CREATE TABLE t AS SELECT 1 AS x")
    assert storage_version_of(tmp_path / "new.duckdb") == 64
    duckdb.connect(str(tmp_path / "old.duckdb")).close()  # DuckDB 2.0's own format
    assert storage_version_of(tmp_path / "old.duckdb") > 68
    with caplog.at_level("WARNING"):
        with WarehouseResource(database=str(tmp_path / "old.duckdb"), storage_version="v1.1.0").get_connection():
            pass
    assert "warehouse format:" in caplog.text and "warehouse_storage_version" in caplog.text


def test_the_session_warehouse_opens_in_duckdb_1(ingested):
    assert storage_version_of(ingested.settings.warehouse_path) == 64  # DuckDB 1.1 and every later release


def test_neglect_run_prints_what_holds_the_warehouse_while_a_step_waits(tmp_path, capsys):
    """A step's wait reaches Dagster's event log, and `neglect run`'s printer shows it as it comes; the step then
    fails with a message naming the holder and what to do."""
    from dagster import DagsterInstance, asset, materialize

    from pipelines.cli import _EventPrinter

    @asset
    def touches_the_warehouse(warehouse: WarehouseResource) -> None:
        with warehouse.get_connection() as conn:
            conn.execute("SELECT 1")

    path = tmp_path / "neglect.duckdb"
    with DagsterInstance.ephemeral() as instance, held(path) as pid:
        result = materialize([touches_the_warehouse], instance=instance, raise_on_error=False,
                             resources={"warehouse": WarehouseResource(database=str(path), wait_minutes=0.01)})
        printer = _EventPrinter(instance, result.run_id, time.monotonic(), set())
        printer._poll()
    printed = capsys.readouterr().out
    assert f"{HELD_PREFIX} waiting for" in printed and f"(PID {pid}" in printed
    failures = [e.step_failure_data.user_failure_data.description for e in result.all_events
                if e.event_type_value == "STEP_FAILURE"]  # a Failure: `neglect run` prints its description
    assert not result.success and len(failures) == 1
    assert f"(PID {pid}" in failures[0] and "gave up after" in failures[0] and "wait_minutes" in failures[0]
