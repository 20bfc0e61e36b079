"""Run `neglect run --no-generate` as an analyst would, in a temporary project folder: the project's real
dagster.yaml, a settings.toml of the test's own, no NEGLECT_* variable of the caller's environment, in a child
process with a time limit (a hang fails the test rather than the suite), without PNG charts (drawing them takes
a browser; test_dashboard.py and test_exports_format.py check the PNGs of the session's refresh)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# `python -m pipelines.cli` (the `neglect` command) without PNG charts
NEGLECT_RUN_WITHOUT_PNG = ("import sys\nimport dashboards.exports\ndashboards.exports.find_chromium = lambda: None\n"
                           "from pipelines.cli import main\nsys.exit(main(sys.argv[1:]))")
TIME_LIMIT = 900  # seconds: far beyond a normal run of the hand-written partnership (about a minute)


def neglect_run(root: Path, settings_toml: str) -> tuple[int, str, str]:
    """`neglect run --no-generate` in ``root`` (its extracts already in ``root/incoming``) with ``settings_toml``
    as the project's settings; returns (exit code, standard output, standard error)."""
    shutil.copy(REPO / "dagster.yaml", root / "dagster.yaml")
    (root / "settings.toml").write_text(settings_toml, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEGLECT_")}
    env.update(NEGLECT_PROJECT_ROOT=str(root), DAGSTER_HOME=str(root))
    proc = subprocess.run([sys.executable, "-c", NEGLECT_RUN_WITHOUT_PNG, "run", "--no-generate"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=TIME_LIMIT)
    return proc.returncode, proc.stdout, proc.stderr
