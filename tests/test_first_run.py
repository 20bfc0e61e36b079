"""A partnership's first run: the hand-written partnership of tests/fixtures/real_partnership/ as committed (two
quarters of extracts, no CIN history, nothing planted) through the command an analyst types.

With under a year of history no child can yet be followed 4 quarters on, so the cohort mart is empty. That must
not fail the run: before, the cohort check failed with "no cohorts followed to check", and being blocking it held
back the board report of every partnership in its first year. Now the run succeeds, the check says why there is
nothing to follow, and the report shows the cohort outcomes as not available.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
PARTNERSHIP = REPO / "tests" / "fixtures" / "real_partnership" / "incoming"
# `python -m pipelines.cli` without PNG charts: drawing them takes a browser, and nothing here looks at them
NEGLECT_RUN_WITHOUT_PNG = ("import sys\nimport dashboards.exports\ndashboards.exports.find_chromium = lambda: None\n"
                           "from pipelines.cli import main\nsys.exit(main(sys.argv[1:]))")
TIME_LIMIT = 900  # seconds: far beyond a normal run (about a minute); a hang fails here


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("first_run")
    shutil.copytree(PARTNERSHIP, root / "incoming")
    shutil.copy(REPO / "dagster.yaml", root / "dagster.yaml")
    # a shorter hidden-prevalence sampler (as the session refresh, tests/conftest.py): nothing here judges the estimate
    (root / "settings.toml").write_text('incoming_dir = "incoming"\nlatent_class_draws = 100\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEGLECT_")}
    env.update(NEGLECT_PROJECT_ROOT=str(root), DAGSTER_HOME=str(root))
    proc = subprocess.run([sys.executable, "-c", NEGLECT_RUN_WITHOUT_PNG, "run", "--no-generate"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=TIME_LIMIT)
    return root, proc.returncode, proc.stdout, proc.stderr


def test_the_first_run_succeeds_and_says_there_is_no_cohort_to_follow_yet(first_run):
    root, code, out, err = first_run
    assert "Traceback" not in out + err
    assert code == 0 and "The run succeeded" in out, err[-3000:]
    assert "check cohorts_recount passed: no cohort to follow yet" in out
    with duckdb.connect(str(root / "warehouse" / "neglect.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM marts.cohort_outcomes").fetchall() == [(0,)]
        quarters = conn.execute("SELECT min(period_end), max(period_end) FROM marts.child_neglect_tier").fetchall()
    assert [d.isoformat() for d in quarters[0]] == ["2025-12-31", "2026-03-31"]


def test_the_board_report_is_produced_with_cohorts_not_available(first_run):
    root, *_ = first_run
    report = root / "output" / "dashboards" / "2026-03-31" / "neglect_board_report_2026-03-31.html"
    text = report.read_text(encoding="utf-8")
    assert "What happened to the children identified a year ago: not available yet (children are followed 4 and 8 " \
           "quarters after they are first identified, and the extracts start on 31 December 2025" in text
