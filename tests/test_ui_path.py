"""Materialising one partition of an extract asset the way the Dagster UI does (README: "to reload a quarter")
finishes: the run in a process of its own (reconstructed from the code location, with its executor), the files
read by a pool of reader processes started inside the step, which must end with it. It used to hang for
ever: the readers kept the step process alive (this script on commit 1f119f0, when each step had a process of
its own: still running after 240 s).

Slow (a synthetic partnership is generated, a step process imports Dagster): `pytest -m slow`.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from process_helpers import processes_with

REPO = Path(__file__).resolve().parents[1]
TIME_LIMIT = 420  # seconds; the run takes well under a minute


@pytest.mark.slow
def test_one_extract_partition_run_as_the_ui_runs_it_finishes(tmp_path):
    from sources.synthetic.config import GeneratorConfig
    from sources.synthetic.generate import generate_partnership

    generate_partnership(GeneratorConfig(children=3000), tmp_path / "partnership")
    (tmp_path / ".dagster").mkdir()
    marker = f"ui-path-{uuid.uuid4()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEGLECT_")}
    env.update(NEGLECT_PROJECT_ROOT=str(tmp_path), NEGLECT_INCOMING_DIR=str(tmp_path / "partnership" / "incoming"),
               NEGLECT_SYNTHETIC_DIR=str(tmp_path / "partnership"), DAGSTER_HOME=str(tmp_path),
               NEGLECT_READ_WORKERS="2", NEGLECT_SMALL_READ_BYTES="0",  # a pool of readers, however small the files
               UI_PATH_MARKER=marker, PYTHONPATH=os.pathsep.join([str(REPO / "tests"), env.get("PYTHONPATH", "")]))
    script = textwrap.dedent("""
        from dagster import AssetKey, DagsterInstance, execute_job, reconstructable
        from pipelines.partitions import partition_key_for_quarter_end
        from datetime import date
        import ui_path_job

        with DagsterInstance.local_temp(".dagster", overrides={"telemetry": {"enabled": False}}) as instance:
            key = partition_key_for_quarter_end(date(2026, 3, 31))
            result = execute_job(reconstructable(ui_path_job.quarterly_job), instance,
                                 tags={"dagster/partition": key},
                                 asset_selection=[AssetKey(["raw", "cp_list"])])
            print("SUCCESS" if result.success else "FAILURE", flush=True)
    """)
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=TIME_LIMIT)
    assert proc.returncode == 0 and "SUCCESS" in proc.stdout, proc.stderr[-3000:]
    assert time.monotonic() - started < TIME_LIMIT
    deadline = time.monotonic() + 10
    while processes_with(marker) and time.monotonic() < deadline:  # every process of the run has ended
        time.sleep(0.5)
    assert not processes_with(marker)
