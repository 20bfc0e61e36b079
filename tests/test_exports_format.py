"""The board pack's exports as a council analyst opens them (the session's refresh, latest quarter): in the
workbook (read with openpyxl) every number has a number format and no number column holds text such as "c"
(the marker column beside it does); headings are friendly, bold, frozen and filtered; every CSV says which
quarter and area it covers; PNGs are drawn at print resolution."""
from __future__ import annotations

import csv
import struct
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from dashboards.exports import FORMATS, MARKER, PNG_SCALE, column_of_label, label

QUARTER = date(2026, 3, 31)


@pytest.fixture(scope="module")
def exports(ingested) -> Path:
    return ingested.settings.output_dir / "dashboards" / QUARTER.isoformat() / "exports"


def test_workbook_numbers_are_formatted_and_number_columns_hold_no_text(exports):
    book = load_workbook(exports / f"neglect_tables_{QUARTER.isoformat()}.xlsx")
    markers = formatted = 0
    for sheet in book.worksheets:
        headings = [c.value for c in sheet[1]]
        assert all(c.font.bold for c in sheet[1]), sheet.title
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref, sheet.title
        assert not any("_" in h for h in headings if h), (sheet.title, headings)  # no snake_case headings
        for index, heading in enumerate(headings, start=1):
            cells = [row[0] for row in sheet.iter_rows(min_row=2, min_col=index, max_col=index)]
            numbers = [c for c in cells if isinstance(c.value, (int, float)) and not isinstance(c.value, bool)]
            if not numbers:
                continue
            texts = [c.value for c in cells if isinstance(c.value, str)]
            assert texts == [], f"{sheet.title}!{heading}: text in a number column: {sorted(set(texts))[:5]}"
            unformatted = [c.coordinate for c in numbers if c.number_format == "General"]
            assert unformatted == [], f"{sheet.title}!{heading}: numbers without a format: {unformatted[:5]}"
            assert {c.number_format for c in numbers} <= set(FORMATS.values())
            formatted += len(numbers)
        for index, heading in enumerate(headings, start=1):
            if heading and heading.endswith(": marker"):
                values = {row[0].value for row in sheet.iter_rows(min_row=2, min_col=index, max_col=index)}
                assert values <= {None, "c", "x", "z"}, (sheet.title, heading, values)
                markers += sum(1 for row in sheet.iter_rows(min_row=2, min_col=index, max_col=index)
                               if row[0].value == "c")
    assert formatted > 1000 and markers > 0
    prevalence = book["prevalence"]
    headings = [c.value for c in prevalence[1]]
    column = {column_of_label(h): i for i, h in enumerate(headings, start=1)}
    assert prevalence.cell(2, column["children"]).number_format == FORMATS["count"]
    assert prevalence.cell(2, column["rate_per_10k"]).number_format == FORMATS["rate"]
    practice = book["practice"]
    column = {column_of_label(h): i for i, h in enumerate([c.value for c in practice[1]], start=1)}
    assert practice.cell(2, column["rate_pct"]).number_format == FORMATS["percent"]
    assert label("children" + MARKER) == "Children: marker"


def test_every_csv_says_its_quarter_and_area_and_keeps_counts_numeric(exports):
    paths = sorted((exports / "csv").glob("*.csv"))
    assert len(paths) >= 10
    for path in paths:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert rows and list(rows[0])[:2] == ["quarter_end", "area"], path.name
        assert {r["quarter_end"] for r in rows} == {QUARTER.isoformat()} and all(r["area"] for r in rows)
        for name in [c for c in rows[0] if c.endswith(MARKER)]:
            count = name[:-len(MARKER)]
            for r in rows:
                assert r[name] in ("", "c", "x", "z") and (r[count] == "") == (r[name] != ""), (path.name, r[count],
                                                                                               r[name])
                assert r[count] == "" or r[count].isdigit()


def test_pngs_are_at_print_resolution(exports):
    pngs = sorted((exports / "png").glob("*.png"))
    if not pngs:
        pytest.skip("no PNGs: no Chromium on this machine")
    for path in pngs[:5]:
        width, height = struct.unpack(">II", path.read_bytes()[16:24])  # the IHDR chunk
        assert width >= 1100 * PNG_SCALE, (path.name, width)
