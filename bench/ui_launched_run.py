"""Benchmark: the runs `neglect run` makes, launched as the Dagster UI, a schedule or the sensor launches them
(the code location's executor), against `neglect run` itself, alternated on one scratch folder.

Run by hand (not in CI) on a folder `bench/refresh_run.py --out` left (its incoming files, warehouse, secrets and
Dagster state), after a run of the current code there (the first timing is otherwise a rebuild):

    .venv/bin/python bench/ui_launched_run.py --folder /tmp/refresh_bench --repeat 2

Each launch is `dagster job execute -m pipelines.definitions -j <job>` with the run's partition range as tags
(`dagster/asset_partition_range_start` / `_end`, `neglect/quarter_end`), one process per job as each UI run has
its own, for the plan `neglect run` makes of the folder (census years, quarters, the latest board report). Prints
wall seconds and CPU seconds (the process and the processes it waited for) of each. Record the
results, with the date and the machine, in the README.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))  # refresh_run.py, beside this file

from refresh_run import scratch_environment  # noqa: E402
from pipelines.jobs import QUARTER_END_TAG  # noqa: E402
from pipelines.runs import RANGE_END_TAG, RANGE_START_TAG, data_end, run_plan  # noqa: E402


def timed(command: list[str], folder: Path, env: dict, log: Path) -> dict:
    """Run ``command`` in ``folder`` (dagster.yaml's paths are relative to it); wall, CPU seconds and exit."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        done = subprocess.run(command, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"wall": round(time.monotonic() - started, 1), "cpu": round(cpu, 1), "exit": done.returncode}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, required=True, help="a folder bench/refresh_run.py --out left")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    env = scratch_environment(args.folder)
    plan = run_plan(args.folder / "incoming", date.today())
    binaries = ROOT / ".venv" / "bin"
    rows = []
    for attempt in range(1, args.repeat + 1):
        cli = timed([str(binaries / "neglect"), "run", "--no-generate"], args.folder, env,
                    args.folder / f"cli_{attempt}.log")
        rows.append({"how": "neglect run", "job": "all three", **cli})
        for planned in plan:
            tags = {RANGE_START_TAG: planned.first_key, RANGE_END_TAG: planned.last_key,
                    QUARTER_END_TAG: data_end(planned).isoformat()}
            launched = timed([str(binaries / "dagster"), "job", "execute", "-m", "pipelines.definitions",
                              "-j", planned.job_name, "--tags", json.dumps(tags)], args.folder, env,
                             args.folder / f"ui_{planned.job_name}_{attempt}.log")
            rows.append({"how": "as the UI launches it", "job": planned.job_name, **launched})
    print("| how | job | wall s | CPU s | exit |\n|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['how']} | {row['job']} | {row['wall']} | {row['cpu']} | {row['exit']} |")
    sys.exit(max(row["exit"] for row in rows))


if __name__ == "__main__":
    main()
