"""Benchmark: disclosure control's time as published versions accumulate.

Every board pack replays every version published before (`dashboards/publication.py`, `protect_refresh`: an
intruder may hold every earlier pack), so its time grows with the versions. This copies a built warehouse, then
``--versions`` times: chooses what to publish for the latest quarter (timed), records it as the pack does, and
makes a correction (one authority's count of one prevalence row goes up by one), so that the next refresh is a
new version. Run by hand (not in CI), after `make run` or on a bench's scratch warehouse:

    .venv/bin/python bench/publication_versions.py --warehouse warehouse/neglect.duckdb --versions 12

Prints the seconds of `protect_refresh` at each version. The copy is deleted afterwards; the warehouse given is
not changed. Record the results in the README.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import duckdb

from dashboards.publication import protect_refresh, record_publication
from dashboards.tables import build_publication
from models.marts.definitions import load_definitions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True, help="a built warehouse (it is copied, not changed)")
    parser.add_argument("--versions", type=int, default=12)
    parser.add_argument("--threshold", type=int, default=5, help="the suppression threshold (setting)")
    args = parser.parse_args()
    definitions = load_definitions()
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "warehouse.duckdb"
        shutil.copy(args.warehouse, copy)
        with duckdb.connect(str(copy)) as conn:
            latest = conn.execute("SELECT max(period_end) FROM marts.neglect_prevalence").fetchall()[0][0]
            earlier = conn.execute("SELECT max(period_end) FROM marts.neglect_prevalence WHERE period_end < ?",
                                   [latest]).fetchall()[0][0]
            print(f"latest quarter {latest}; corrections to the quarter ending {earlier}")
            for _ in range(args.versions):
                started = time.perf_counter()
                with warnings.catch_warnings():  # the dropped relations a correction causes are expected here
                    warnings.simplefilter("ignore")
                    run = protect_refresh(conn, latest, args.threshold, definitions)
                seconds = time.perf_counter() - started
                publication = build_publication(conn, latest, args.threshold, definitions, run)
                record_publication(conn, run, publication.cells)
                print(f"version {run.version:3d} ({'new' if run.new_version else 'unchanged'}): protect_refresh "
                      f"{seconds:.2f} s", flush=True)
                conn.execute("""
                    UPDATE marts.neglect_prevalence SET children = children + 1
                    WHERE rowid = (SELECT min(rowid) FROM marts.neglect_prevalence
                                   WHERE period_end = ? AND breakdown = 'all' AND la_code <> 'partnership'
                                     AND children > 50)""", [earlier])


if __name__ == "__main__":
    main()
