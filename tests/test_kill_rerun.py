"""kill -9 of `neglect run` during ingest, linkage and the board report, then a rerun: the warehouse opens,
no reader process outlives the killed run, the rerun completes, and its marts are those of a run never
interrupted.

"Those of a run never interrupted" is checked table by table against two uninterrupted runs of the same
partnership: a table the two uninterrupted runs already disagree on is not deterministic yet (issue 13 is
making runs deterministic); such tables are listed in the test's output and compared no further.

Slow (eight runs of a 3,000-child partnership, about 12 minutes here): `pytest -m slow`.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import duckdb
import pytest

from process_helpers import processes_with

REPO = Path(__file__).resolve().parents[1]
TIME_LIMIT = 900
# stage -> (a line of `neglect run`'s output that says the stage has begun, seconds to wait before the kill)
KILL_POINTS = {"ingest": ("started raw__cp_list", 1.0), "linkage": ("started person_linkage", 3.0),
               "reports": ("started board_pack", 4.0)}


@pytest.fixture(scope="module")
def partnership(tmp_path_factory):
    from sources.synthetic.config import GeneratorConfig
    from sources.synthetic.generate import generate_partnership

    folder = tmp_path_factory.mktemp("kill_partnership")
    generate_partnership(GeneratorConfig(children=3000), folder)
    return folder


def _project(root: Path, partnership: Path) -> tuple[Path, dict]:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "dagster.yaml", root / "dagster.yaml")
    (root / "settings.toml").write_text(f'incoming_dir = "{partnership / "incoming"}"\n'
                                        f'synthetic_dir = "{partnership}"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEGLECT_")}
    env.update(NEGLECT_PROJECT_ROOT=str(root), DAGSTER_HOME=str(root),
               NEGLECT_PSEUDONYM_KEY="ab" * 32)  # one key for every project: pseudonyms comparable
    return root, env


def _run(root: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--no-generate"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=TIME_LIMIT)


def _marts(root: Path) -> dict[str, list]:
    with duckdb.connect(str(root / "warehouse" / "neglect.duckdb"), read_only=True) as conn:
        tables = [t for (t,) in conn.execute("SELECT table_name FROM information_schema.tables "
                                             "WHERE table_schema = 'marts' ORDER BY 1").fetchall()]
        return {t: conn.execute(f"SELECT * FROM marts.{t} ORDER BY ALL").fetchall() for t in tables}


@pytest.fixture(scope="module")
def uninterrupted(partnership, tmp_path_factory):
    """Two uninterrupted runs: their marts, and the tables they agree on (deterministic today)."""
    runs = []
    for n in (1, 2):
        root, env = _project(tmp_path_factory.mktemp(f"uninterrupted_{n}"), partnership)
        proc = _run(root, env)
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs.append(_marts(root))
    first, second = runs
    deterministic = sorted(t for t in first if first[t] == second.get(t))
    varying = sorted(set(first) - set(deterministic))
    print(f"\nmarts tables identical between two uninterrupted runs: {', '.join(deterministic)}"
          f"\nmarts tables that differ between two uninterrupted runs (not compared): {', '.join(varying) or 'none'}")
    return first, deterministic


@pytest.mark.slow
@pytest.mark.parametrize("stage", list(KILL_POINTS))
def test_kill_9_then_rerun_gives_the_marts_of_an_uninterrupted_run(stage, partnership, uninterrupted, tmp_path):
    expected, deterministic = uninterrupted
    root, env = _project(tmp_path / "project", partnership)
    marker = f"kill-{stage}-{uuid.uuid4()}"
    env["KILL_TEST_MARKER"] = marker
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "--no-generate"], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    signal_line, delay = KILL_POINTS[stage]
    started = time.monotonic()
    try:
        for line in proc.stdout:
            if signal_line in line:
                break
            assert time.monotonic() - started < TIME_LIMIT
        else:
            pytest.fail(f"the run ended before {signal_line!r}")
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)  # as `kill -9` would: no chance to clean up
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    deadline = time.monotonic() + 20
    while processes_with(marker) and time.monotonic() < deadline:  # readers see their parent gone and end
        time.sleep(0.5)
    assert not processes_with(marker), "reader processes outlived the killed run"
    with duckdb.connect(str(root / "warehouse" / "neglect.duckdb"), read_only=True) as conn:  # it opens
        conn.execute("SELECT count(*) FROM information_schema.tables").fetchall()

    rerun = _run(root, {k: v for k, v in env.items() if k != "KILL_TEST_MARKER"})
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "Traceback" not in rerun.stdout + rerun.stderr
    assert "marked interrupted run" in rerun.stdout  # the killed run's Dagster runs were closed, slots freed
    marts = _marts(root)
    assert set(marts) == set(expected)
    different = [t for t in deterministic if marts[t] != expected[t]]
    assert not different, f"after kill -9 at {stage} and a rerun these marts differ: {different}"
