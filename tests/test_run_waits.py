"""`neglect run` never waits silently: for another run on the same warehouse (the lock beside the warehouse,
whatever project or Dagster home it was started from) or for a Dagster run using the warehouse (one started
from the UI), it says what it waits for and gives up after the setting wait_minutes, saying what to do."""
from __future__ import annotations

import fcntl
import shutil
from pathlib import Path

import pytest

from pipelines import cli

REPO = Path(__file__).resolve().parents[1]
INCOMING = REPO / "tests" / "fixtures" / "real_partnership" / "incoming"


def _project(root: Path, monkeypatch, warehouse: Path | None = None) -> Path:
    shutil.copytree(INCOMING, root / "incoming")
    shutil.copy(REPO / "dagster.yaml", root / "dagster.yaml")
    (root / "settings.toml").write_text('incoming_dir = "incoming"\nwait_minutes = 0.05\n', encoding="utf-8")
    monkeypatch.chdir(root)
    monkeypatch.setenv("NEGLECT_PROJECT_ROOT", str(root))
    monkeypatch.setenv("DAGSTER_HOME", str(root))
    for name in ("NEGLECT_INCOMING_DIR", "NEGLECT_WAREHOUSE_PATH", "NEGLECT_DAGSTER_HOME", "NEGLECT_WAIT_MINUTES"):
        monkeypatch.delenv(name, raising=False)
    if warehouse is not None:
        monkeypatch.setenv("NEGLECT_WAREHOUSE_PATH", str(warehouse))
    return root


def test_a_run_from_the_ui_is_named_waited_for_and_then_given_up_on(tmp_path, monkeypatch, capsys):
    from dagster import DagsterInstance, DagsterRunStatus
    from dagster._core.storage.dagster_run import DagsterRun

    root = _project(tmp_path, monkeypatch)
    (root / ".dagster").mkdir()
    with DagsterInstance.get() as instance:
        ui_run = DagsterRun(job_name="quarterly_refresh", run_id="00000000-0000-4000-8000-00000000000a",
                            status=DagsterRunStatus.STARTED)  # no neglect/launched_by tag: started elsewhere
        ended = DagsterRun(job_name="quarterly_refresh", run_id="00000000-0000-4000-8000-00000000000b",
                           status=DagsterRunStatus.FAILURE)
        instance.add_run(ui_run)
        instance.add_run(ended)
        instance.event_log_storage.set_concurrency_slots("duckdb_warehouse", 2)
        for run, step in ((ui_run, "raw__cp_list"), (ended, "raw__early_help")):
            assert instance.event_log_storage.claim_concurrency_slot("duckdb_warehouse", run.run_id, step).is_claimed

    assert cli.main(["run", "--no-generate"]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "note: freed the warehouse slot still held by run 00000000, which is no longer running" in out
    assert "Waiting for Dagster run 00000000 (quarterly_refresh, started from the Dagster UI, started) to finish" in out
    assert "error: gave up after 0.05 minutes waiting for Dagster run 00000000" in err
    assert "stop it in the Dagster UI" in err
    assert not (root / "warehouse" / "neglect.duckdb").exists()  # nothing was run


def test_a_second_run_on_one_warehouse_waits_whatever_its_dagster_home(tmp_path, monkeypatch, capsys):
    warehouse = tmp_path / "shared" / "neglect.duckdb"
    warehouse.parent.mkdir()
    lock = open(f"{warehouse}.lock", "a+", encoding="utf-8")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another project's `neglect run` holds it
        lock.write("`neglect run` (process 4242, started 2026-03-31 09:00 from /elsewhere)\n")
        lock.flush()
        _project(tmp_path / "project_b", monkeypatch, warehouse)
        assert cli.main(["run", "--no-generate"]) == 1
    finally:
        lock.close()
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "Waiting for `neglect run` (process 4242, started 2026-03-31 09:00 from /elsewhere) to finish" in out
    assert "error: gave up after 0.05 minutes" in err and str(warehouse) in err


@pytest.mark.parametrize("minutes", ["0.05"])
def test_the_wait_is_a_setting(minutes, monkeypatch):
    from pipelines.settings import load_settings

    monkeypatch.setenv("NEGLECT_WAIT_MINUTES", minutes)
    assert load_settings().wait_minutes == 0.05
