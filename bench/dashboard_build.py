"""Benchmark: time to build one quarter's board report and exports from a built warehouse.

Run by hand (not in CI), after `make run`:

    .venv/bin/python bench/dashboard_build.py --quarter 2026-03-31 --out /tmp/dashboard_bench

Times each step as the ``dashboards/board_report`` asset does it (published tables with disclosure
control, HTML report, workbook and CSV files, PNG charts) and prints the HTML size. Record the
results in the README.
"""
from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

import duckdb

from dashboards.exports import write_csvs, write_pngs, write_workbook
from dashboards.figures import geojson_of
from dashboards.report import write_report
from dashboards.tables import build_publication
from pipelines.settings import load_settings


def main() -> None:
    settings = load_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quarter", type=date.fromisoformat, default=date(2026, 3, 31))
    parser.add_argument("--out", type=Path, default=Path("/tmp/dashboard_bench"))
    args = parser.parse_args()
    steps = {}
    started = total = time.perf_counter()
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        publication = build_publication(conn, args.quarter, settings.suppression_threshold)
        geojson = geojson_of(conn)
    steps["published tables (disclosure control)"] = time.perf_counter() - started
    started = time.perf_counter()
    html = args.out / "report.html"
    figures = write_report(publication, geojson, html)
    steps["HTML report"] = time.perf_counter() - started
    started = time.perf_counter()
    write_workbook(publication, args.out / "tables.xlsx")
    write_csvs(publication, args.out / "csv")
    steps["workbook and CSV"] = time.perf_counter() - started
    started = time.perf_counter()
    pngs, message = write_pngs(figures, args.out / "png")
    steps[f"PNG charts ({len(pngs)})"] = time.perf_counter() - started
    for step, seconds in steps.items():
        print(f"{step:45s} {seconds:6.1f} s")
    print(f"{'total':45s} {time.perf_counter() - total:6.1f} s; HTML {html.stat().st_size / 2**20:.1f} MB; {message}")


if __name__ == "__main__":
    main()
