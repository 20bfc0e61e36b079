"""Benchmark: `neglect run` on a partnership four times - from an empty warehouse, again with nothing
changed, and after one row of one file changed in two ways - with wall time, CPU seconds, peak memory and the time
of each step.

Run by hand (not in CI), after `make run` has built the synthetic partnership:

    .venv/bin/python bench/refresh_run.py --out /tmp/refresh_bench

Everything happens in ``--out`` (a copy of the incoming folder as hard links, its own warehouse, identity
store, pseudonym key, outputs and Dagster state), so the project's own warehouse is not touched. Each run
is ``/usr/bin/time -v neglect run --no-generate``; a step's time is from the CLI's "started" line to the
next step's. The changed file is the latest quarter's early-help extract of the first authority: one data
row has one character of its last field (the lead practitioner team, which no figure reads) changed; then,
a fourth run, one row of it loses its neglect need (a change that reaches the evidence and the figures). Record the results, with the date and the machine, in
the README.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from sources.synthetic.edits import change_team, drop_neglect_need

ROOT = Path(__file__).resolve().parents[1]
STEP = re.compile(r"^\[\s*([\d.]+)s\] started (\S+)")
STAMP = re.compile(r"^\[\s*([\d.]+)s\] ")


def copy_incoming(source: Path, target: Path) -> None:
    for path in sorted(source.rglob("*")):
        out = target / path.relative_to(source)
        if path.is_dir():
            out.mkdir(parents=True, exist_ok=True)
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, out)
        except OSError:
            shutil.copy2(path, out)


def scratch_environment(out: Path) -> dict:
    """The environment that points the pipeline at the scratch folder ``out`` (and copies the project's
    dagster.yaml into it): its incoming files, warehouse, identity store, key, outputs and Dagster state."""
    shutil.copy2(ROOT / "dagster.yaml", out / "dagster.yaml")
    return {**os.environ, "DAGSTER_HOME": str(out), "NEGLECT_PROJECT_ROOT": str(ROOT),
            "NEGLECT_INCOMING_DIR": str(out / "incoming"),
            "NEGLECT_WAREHOUSE_PATH": str(out / "warehouse" / "neglect.duckdb"),
            "NEGLECT_IDENTITY_PATH": str(out / "warehouse" / "identity.duckdb"),
            "NEGLECT_PSEUDONYM_KEY_PATH": str(out / "secrets" / "pseudonym.key"),
            "NEGLECT_OUTPUT_DIR": str(out / "output"), "NEGLECT_DAGSTER_HOME": str(out),
            "NEGLECT_CLERICAL_REVIEW_DIR": str(out / "warehouse" / "clerical_review")}


def run(out: Path, label: str) -> dict:
    env = scratch_environment(out)
    done = subprocess.run(["/usr/bin/time", "-v", str(ROOT / ".venv" / "bin" / "neglect"), "run", "--no-generate"],
                          cwd=out, env=env, capture_output=True, text=True)  # dagster.yaml's paths: from cwd
    log = done.stdout.splitlines() + done.stderr.splitlines()
    (out / f"{label}.log").write_text("\n".join(log), encoding="utf-8")

    def measure(name):
        return next((line.split(": ", 1)[1] for line in done.stderr.splitlines() if name in line), "?")

    steps, current, last = {}, None, 0.0  # a step lasts from its "started" line to the next step's (or the last line)
    for line in done.stdout.splitlines():
        if not (m := STAMP.match(line)):
            continue
        now = max(float(m.group(1)), last)  # a check reported late carries an earlier time: ignore the step back
        if current:
            steps[current] = steps.get(current, 0.0) + now - last
        current, last = (s.group(2), now) if (s := STEP.match(line)) else (current, now)
    cpu = float(measure("User time (seconds)")) + float(measure("System time (seconds)"))
    return {"label": label, "exit": done.returncode, "wall": measure("Elapsed (wall clock)"), "cpu_s": round(cpu, 1),
            "peak_rss_gib": round(int(measure("Maximum resident set size")) / 2**20, 2), "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incoming", type=Path, default=ROOT / "data" / "synthetic" / "incoming")
    parser.add_argument("--out", type=Path, default=Path("/tmp/refresh_bench"))
    parser.add_argument("--full-only", action="store_true",
                        help="only the full refresh (e.g. 1,000,000 children, docs/scaling.md)")
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    copy_incoming(args.incoming, args.out / "incoming")
    results = [run(args.out, "full")]
    if not args.full_only:
        results.append(run(args.out, "unchanged"))
        changed = change_team(args.out / "incoming")
        results.append(run(args.out, "one_changed_file"))
        drop_neglect_need(args.out / "incoming")
        results.append(run(args.out, "one_neglect_need_dropped"))
        print(f"changed file: {changed.relative_to(args.out / 'incoming')} (first the lead practitioner team of "
              "one row, then the neglect need of one row)")
    names = sorted({s for r in results for s in r["steps"]}, key=lambda s: -results[0]["steps"].get(s, 0))
    print("| step | " + " | ".join(r["label"] for r in results) + " |")
    print("|---|" + "---|" * len(results))
    for key in ("exit", "wall", "cpu_s", "peak_rss_gib"):
        print(f"| {key} | " + " | ".join(str(r[key]) for r in results) + " |")
    for name in names:
        print(f"| {name} | " + " | ".join(f"{r['steps'].get(name, 0):.1f}" for r in results) + " |")
    sys.exit(max(r["exit"] for r in results))


if __name__ == "__main__":
    main()
