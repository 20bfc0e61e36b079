"""Are the published figures identical between two versions of the code? (issue 16: a restructuring
must not change any figure.)

Runs ``neglect run --no-generate`` from two git revisions on the same synthetic partnership with the same
pseudonym key, then compares:

* every table of ``marts.*`` and ``published.*`` (rows as multisets, the marts also in the order a plain
  ``SELECT *`` returns them) -- ``tests/refresh_helpers.table_differences``;
* every file under ``output/dashboards`` (board packs, exports, PNGs) and ``output/marts`` (Parquet, CSV,
  data dictionary), byte for byte -- ``tests/refresh_helpers.file_differences``.

Run by hand from a checkout with its venv (it takes two full pipeline runs, about 4-8 minutes each on a
2-core machine):

    .venv/bin/python bench/figures_identical.py main HEAD --out /tmp/figures_identical

Each revision is checked out with ``git worktree add --detach`` under ``--out`` and run with this venv's
Python and ``PYTHONPATH`` pointing at the checkout, so both use the same installed libraries. A revision
already run there (same commit) is reused, so comparing a new commit with the same base runs only it. The
partnership is generated once, by the first revision's generator, unless ``--partnership`` names one.
Exit status 0 when nothing differs; the differences are printed otherwise.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
KEY = "5e" * 32  # a fixed pseudonym key (64 hex characters), the same for both runs
COMPARED_SCHEMAS = ("marts", "published")
COMPARED_OUTPUTS = ("dashboards", "marts")


DONE = ".figures_identical_run"  # written in a checkout after its run succeeded: the commit it ran


def commit_of(revision: str, where: Path = ROOT) -> str:
    return subprocess.run(["git", "-C", str(where), "rev-parse", revision], check=True, capture_output=True,
                          text=True).stdout.strip()


def already_run(revision: str, folder: Path) -> bool:
    """``folder`` is a checkout of ``revision`` whose run finished (its warehouse and outputs can be reused)."""
    marker = folder / DONE
    return marker.exists() and marker.read_text().strip() == commit_of(revision)


def checkout(revision: str, folder: Path) -> Path:
    """A detached worktree of ``revision`` at ``folder`` (made anew)."""
    if folder.exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)], check=False)
        shutil.rmtree(folder, ignore_errors=True)
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), revision], check=True,
                   capture_output=True)
    return folder


def neglect(code: Path, partnership: Path, *args: str) -> float:
    """``neglect <args>`` with the code of ``code`` and the partnership ``partnership``; returns wall seconds."""
    env = {**os.environ, "PYTHONPATH": str(code), "NEGLECT_PROJECT_ROOT": str(code), "DAGSTER_HOME": str(code),
           "NEGLECT_SYNTHETIC_DIR": str(partnership), "NEGLECT_INCOMING_DIR": str(partnership / "incoming"),
           "NEGLECT_PSEUDONYM_KEY": KEY}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=code, env=env)
    if done.returncode != 0:
        raise SystemExit(f"`neglect {' '.join(args)}` failed in {code} (exit {done.returncode})")
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", help="git revision of the reference run (e.g. main)")
    parser.add_argument("after", help="git revision to compare with it (e.g. HEAD)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/figures_identical"))
    parser.add_argument("--partnership", type=Path, help="a generated partnership (default: generate one)")
    args = parser.parse_args(argv)

    from refresh_helpers import file_differences, table_differences

    args.out.mkdir(parents=True, exist_ok=True)
    revisions = {"before": args.before, "after": args.after}
    runs = {label: args.out / label if already_run(rev, args.out / label) else checkout(rev, args.out / label)
            for label, rev in revisions.items()}
    partnership = args.partnership
    if partnership is None:
        partnership = args.out / "partnership"
        if not (partnership / "manifest.json").exists():
            neglect(runs["before"], partnership, "generate")
    for label, code in runs.items():
        if already_run(revisions[label], code):
            print(f"{label}: reusing the run of {revisions[label]} in {code}")
            continue
        print(f"{label}: neglect run in {neglect(code, partnership, 'run', '--no-generate'):.0f} s")
        (code / DONE).write_text(commit_of(revisions[label]) + "\n")

    warehouses = [code / "warehouse" / "neglect.duckdb" for code in runs.values()]
    tables = table_differences(*warehouses, only=COMPARED_SCHEMAS)
    files = [f"{folder}/{name}" for folder in COMPARED_OUTPUTS
             for name in file_differences(*(code / "output" / folder for code in runs.values()))]
    for name, what in sorted(tables.items()):
        print(f"table {name}: {what}")
    for name in files:
        print(f"file output/{name} differs")
    print("identical" if not tables and not files else f"{len(tables)} tables and {len(files)} files differ")
    return 0 if not tables and not files else 1


if __name__ == "__main__":
    raise SystemExit(main())
