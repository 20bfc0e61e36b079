"""DuckDB's memory limit and threads (settings duckdb_memory_limit, duckdb_threads; ingest/connections.py)."""
from __future__ import annotations

import pytest

import duckdb

from ingest.connections import (CONCURRENT_INSTANCES, MEMORY_SHARE, automatic_memory_limit, duckdb_config, memory_limit,
                                size_in_bytes)
from models.linkage.run import FRAME_BYTES_PER_RECORD, frames_beside_duckdb
from pipelines.resources import IdentityStoreResource, WarehouseResource, build_resources
from pipelines.settings import load_settings


def test_the_automatic_limit_shares_a_tenth_of_memory_between_the_open_databases():
    sixteen_gib = 16 * 2**30
    assert automatic_memory_limit(sixteen_gib) == f"{int(sixteen_gib * MEMORY_SHARE / CONCURRENT_INSTANCES / 2**20)}MiB"
    assert automatic_memory_limit(sixteen_gib) == "819MiB"  # the laptop the README names
    assert automatic_memory_limit(2**20) == "256MiB"  # never below 256 MiB


def test_a_set_limit_is_used_as_it_is_and_a_wrong_one_refused():
    assert memory_limit("1.5GiB") == "1.5GiB" and memory_limit(" 700MB ") == "700MB"
    assert memory_limit("") == automatic_memory_limit()
    with pytest.raises(ValueError, match="duckdb_memory_limit"):
        memory_limit("lots")
    assert duckdb_config("1GB", 0) == {"memory_limit": "1GB"}
    assert duckdb_config("1GB", 3) == {"memory_limit": "1GB", "threads": 3}


def test_the_warehouse_and_the_identity_store_open_with_the_settings(tmp_path):
    settings = load_settings({"NEGLECT_PROJECT_ROOT": str(tmp_path), "NEGLECT_DUCKDB_MEMORY_LIMIT": "300MiB",
                              "NEGLECT_DUCKDB_THREADS": "1"})
    resources = build_resources(settings)
    for name in ("warehouse", "identity_store"):
        with resources[name].get_connection() as conn:
            assert conn.execute("SELECT current_setting('threads')").fetchall()[0][0] == 1
            reported = conn.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
            assert reported.startswith("300.0 MiB") or reported.startswith("314.5 MB"), reported


def test_an_unset_limit_is_the_automatic_one(tmp_path):
    for resource in (WarehouseResource(database=str(tmp_path / "w.duckdb")),
                     IdentityStoreResource(database=str(tmp_path / "i.duckdb"))):
        assert resource._config()["memory_limit"] == automatic_memory_limit()
        assert "threads" not in resource._config()


def test_sizes_in_duckdbs_units():
    assert size_in_bytes("1205MiB") == 1205 * 2**20
    assert size_in_bytes("2GB") == 2 * 10**9  # DuckDB: GB is 1000^3, GiB 1024^3
    assert size_in_bytes(" 1.5 GiB ") == 3 * 2**29
    with pytest.raises(ValueError, match="size"):
        size_in_bytes("lots")


def _limit_mib(conn) -> float:
    reported = conn.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    number, unit = reported.split()
    return float(number) * {"MiB": 1, "GiB": 1024}[unit]


def test_the_linkage_lowers_duckdbs_limit_by_its_frames_and_restores_it():
    conn = duckdb.connect(config={"memory_limit": "1000MiB"})
    records = 2_000_000  # 2 M records' frames: 400 MB, about 381 MiB
    with frames_beside_duckdb(conn, "1000MiB", records):
        assert _limit_mib(conn) == pytest.approx(1000 - FRAME_BYTES_PER_RECORD * records / 2**20, abs=1)
    assert _limit_mib(conn) == 1000
    half = 500 * 2**20 // FRAME_BYTES_PER_RECORD  # records whose frames take half the limit
    with frames_beside_duckdb(conn, "1000MiB", half):  # lowered to half, no lower
        assert _limit_mib(conn) == 500
    for more in (half + 1, 100_000_000):  # frames over half the limit: DuckDB keeps it all, the frames on top
        with frames_beside_duckdb(conn, "1000MiB", more):
            assert _limit_mib(conn) == 1000
    assert _limit_mib(conn) == 1000
    with pytest.raises(RuntimeError):  # restored when linking fails too
        with frames_beside_duckdb(conn, "1000MiB", records):
            raise RuntimeError("linking failed")
    assert _limit_mib(conn) == 1000
    with frames_beside_duckdb(conn, None, records):  # no limit given: left alone
        assert _limit_mib(conn) == 1000


def test_the_warehouse_is_kept_open_between_steps_only_inside_a_run(tmp_path):
    """Inside kept_open_between_steps (neglect run, per job) a step's warehouse connection leaves the database open
    after it closes (so the next step does not open the file again); let_go (a recomputed step) and leaving close
    it. DuckDB refuses a connection with another configuration to a file it has open, which shows whether it is."""
    import duckdb

    from ingest.connections import kept_open_between_steps, let_go
    from pipelines.resources import IdentityStoreResource, WarehouseResource

    warehouse = WarehouseResource(database=str(tmp_path / "warehouse.duckdb"))
    identity = IdentityStoreResource(database=str(tmp_path / "identity.duckdb"))

    def is_open(path) -> bool:
        try:
            duckdb.connect(str(path), read_only=True).close()
            return False
        except duckdb.ConnectionException:
            return True

    with warehouse.get_connection() as conn:
        conn.execute("CREATE TABLE t AS SELECT 1 AS x")
    assert not is_open(tmp_path / "warehouse.duckdb")  # outside a run: closed with the step's connection
    with kept_open_between_steps():
        with warehouse.get_connection() as conn:
            conn.execute("INSERT INTO t VALUES (2)")
        with identity.get_connection() as conn:
            conn.execute("CREATE TABLE people AS SELECT 1 AS id")
        assert is_open(tmp_path / "warehouse.duckdb")
        assert not is_open(tmp_path / "identity.duckdb")  # linkage attaches it read-only: never kept
        with warehouse.get_connection() as conn:  # the next step finds the rows the last wrote
            assert conn.execute("SELECT sum(x) FROM t").fetchall() == [(3,)]
        let_go()  # a step about to be recomputed
        assert not is_open(tmp_path / "warehouse.duckdb")
        with warehouse.get_connection() as conn:
            pass
        assert is_open(tmp_path / "warehouse.duckdb")
    assert not is_open(tmp_path / "warehouse.duckdb")
    assert duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True).execute(
        "SELECT count(*) FROM t").fetchall() == [(2,)]
