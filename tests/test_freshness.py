"""When an asset after the extracts may be reported again instead of recomputed (pipelines/assets/freshness.py),
on small warehouses written here: what the data version sees, and every reason to rebuild."""
from __future__ import annotations

import os
import threading
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingest.write import ensure_quality_tables
from pipelines.assets.freshness import (RECOMPUTE_ALL, data_version, files_version, freshness, input_version,
                                        record_build, settings_version)
from pipelines.settings import Settings
from sources.errors import SourceFileError

Q1, Q2 = date(2026, 3, 31), date(2025, 12, 31)


@pytest.fixture
def conn():
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw")
    conn.execute("CREATE TABLE raw.early_help AS SELECT * FROM (VALUES ('a', DATE '2026-03-31', 'team 1'), "
                 "('b', DATE '2026-03-31', 'team 2')) t(record_id, period_end, team)")
    ensure_quality_tables(conn)
    conn.execute("INSERT INTO quality.load_audit (source, file, file_sha256, status, loaded_at, run_id) VALUES "
                 "('early_help', 'x.csv', 'abc', 'loaded', TIMESTAMP '2026-12-01 10:00', 'run 1')")
    yield conn
    conn.close()


def test_the_data_version_follows_the_rows_not_the_load_time(conn):
    first = data_version(conn)
    conn.execute("UPDATE quality.load_audit SET loaded_at = TIMESTAMP '2026-12-04 01:00', run_id = 'run 2'")
    assert data_version(conn) == first  # a reload of the same files: same data
    conn.execute("UPDATE raw.early_help SET team = 'team 3' WHERE record_id = 'b'")
    changed = data_version(conn)
    assert changed != first
    conn.execute("UPDATE quality.load_audit SET file_sha256 = 'def'")  # another file with the same rows
    assert data_version(conn) != changed
    conn.execute("CREATE TABLE raw.cp_list (record_id VARCHAR)")  # a new (empty) table counts too
    assert len({first, changed, data_version(conn)}) == 3


def test_an_asset_is_reused_only_for_the_same_inputs_quarters_tables_and_files(conn, tmp_path, monkeypatch):
    conn.execute("CREATE SCHEMA marts")
    conn.execute("CREATE TABLE marts.neglect_prevalence (period_end DATE)")
    version = input_version(conn, "marts/neglect_prevalence", "settings 1")
    asset = ("marts/neglect_prevalence", [Q1, Q2])
    never = freshness(conn, *asset, version, ("marts.neglect_prevalence",))
    assert not never.fresh and "never built" in never.reason
    (tmp_path / "pack.html").write_text("pack", encoding="utf-8")
    record_build(conn, never, "report", tmp_path, [tmp_path / "pack.html"])
    again = freshness(conn, *asset, version, ("marts.neglect_prevalence",), tmp_path)
    assert again.fresh and again.periods == (Q2, Q1)
    assert not freshness(conn, "marts/neglect_prevalence", [Q1], version).fresh  # other quarters
    assert not freshness(conn, *asset, input_version(conn, "marts/neglect_prevalence", "settings 2")).fresh
    conn.execute("DELETE FROM raw.early_help WHERE record_id = 'a'")
    assert not freshness(conn, *asset, input_version(conn, "marts/neglect_prevalence", "settings 1")).fresh
    assert freshness(conn, *asset, version, ("marts.neglect_prevalence",), tmp_path).fresh  # the stored version
    (tmp_path / "pack.html").write_text("edited", encoding="utf-8")
    altered = freshness(conn, *asset, version, ("marts.neglect_prevalence",), tmp_path)
    assert not altered.fresh and "pack.html" in altered.reason
    (tmp_path / "pack.html").write_text("pack", encoding="utf-8")
    conn.execute("DROP TABLE marts.neglect_prevalence")
    dropped = freshness(conn, *asset, version, ("marts.neglect_prevalence",), tmp_path)
    assert not dropped.fresh and "marts.neglect_prevalence" in dropped.reason
    monkeypatch.setenv(RECOMPUTE_ALL, "1")
    assert not freshness(conn, *asset, version).fresh


def test_the_settings_version_ignores_paths_and_waits_but_not_thresholds(tmp_path):
    settings = Settings(project_root=tmp_path)
    moved = replace(settings, warehouse_path=tmp_path / "elsewhere.duckdb", output_dir=Path("/tmp/other"),
                    wait_minutes=1.0)
    assert settings_version(moved) == settings_version(settings)
    assert settings_version(replace(settings, suppression_threshold=10)) != settings_version(settings)
    assert settings_version(replace(settings, latent_class_draws=100)) != settings_version(settings)


def test_a_named_pipe_among_the_files_fails_their_version_at_once(tmp_path):
    """A reference or population file that is a named pipe: ``files_version`` refuses it (the asset then runs and
    says why) instead of waiting for ever for a writer, as opening it for reading would."""
    pipe = tmp_path / "population_mid_2025.csv"
    os.mkfifo(pipe)
    outcome = []

    def version():
        try:
            outcome.append(files_version([pipe]))
        except SourceFileError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=version, daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert outcome and isinstance(outcome[0], SourceFileError), "files_version did not return"
