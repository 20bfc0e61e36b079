"""The board report and exports of the default partnership, as built by the session's refresh.

* opened in headless Chromium (Debian's ``chromium``; ``.ci/run`` installs it): no console errors,
  every chart rendered with data, a screenshot saved;
* no synthetic name, NHS number, UPN, local ID or full postcode anywhere in the HTML or exports, and
  no count from 1 to 4 left unsuppressed;
* the headline numbers are the marts' rows; the suppression withstands an intruder's arithmetic.
"""
from __future__ import annotations

import csv
import os
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from dashboards.disclosure import attack
from dashboards.exports import find_chromium, neutralise
from dashboards.tables import SUPPRESSED, build_publication, prevalence_relations
from test_ingest_pipeline import _identifiers, without_embedded_library

QUARTER = date(2026, 3, 31)


@pytest.fixture(scope="module")
def report(ingested) -> Path:
    folder = ingested.settings.output_dir / "dashboards" / QUARTER.isoformat()
    path = folder / f"neglect_board_report_{QUARTER.isoformat()}.html"
    assert path.exists(), f"the refresh wrote no report at {path}"
    return path


@pytest.fixture(scope="module")
def exports(report) -> Path:
    return report.parent / "exports"


def _words(text: str) -> tuple[set[str], set[str]]:
    tokens = re.findall(r"[A-Za-z0-9]+(?:\.[0-9]+)*", text)
    return set(tokens), {a + " " + b for a, b in zip(tokens, tokens[1:])}


def _export_texts(report: Path, exports: Path) -> dict[str, str]:
    texts = {report.name: without_embedded_library(report.read_text(encoding="utf-8"))}
    for path in sorted((exports / "csv").glob("*.csv")):
        texts[path.name] = path.read_text(encoding="utf-8-sig")
    for path in exports.glob("*.xlsx"):
        book = load_workbook(path, read_only=True)
        texts[path.name] = "\n".join(" ".join("" if v is None else str(v) for v in row)
                                     for sheet in book.worksheets for row in sheet.iter_rows(values_only=True))
    return texts


def test_the_report_is_self_contained_and_small(report, exports):
    text = report.read_text(encoding="utf-8")
    assert report.stat().st_size < 10 * 2**20
    # plotly.js embedded, no script or stylesheet fetched (the browser test checks no request fails)
    assert "<script src=" not in text and "<link " not in text and "Plotly.newPlot" in text
    assert text.count('class="chart"') >= 30  # three areas x ten charts
    assert (exports / f"neglect_tables_{QUARTER.isoformat()}.xlsx").exists()
    assert {p.stem for p in (exports / "csv").glob("*.csv")} >= {"notes", "prevalence", "trend", "hidden", "practice"}


def test_no_identifier_in_the_report_or_exports(ingested, report, exports):
    ids = _identifiers(ingested.folder)
    for name, text in _export_texts(report, exports).items():
        words, pairs = _words(text)
        for kind in ("NHS number", "UPN", "local id"):
            assert not words & ids[kind], f"{kind} in {name}"
        for kind in ("postcode", "full name"):
            assert not pairs & ids[kind], f"{kind} in {name}"


def _small(value, threshold: int = 5) -> bool:
    try:
        number = float(str(value).replace(",", ""))
    except ValueError:
        return False
    return 0 < number < threshold


def test_no_unsuppressed_small_count(report, exports):
    text = report.read_text(encoding="utf-8")
    cells = re.findall(r'data-count="([^"]*)"', text)
    assert len(cells) > 100 and SUPPRESSED in cells
    assert not [c for c in cells if _small(c)]
    assert not re.search(r"\b[1-4] children\b", text)
    count_columns = {"children", "numerator", "denominator", "observed", "rows_read", "rows_loaded", "rows_rejected",
                     "persons", "cp_neglect_children", "identified_children"}
    for path in (exports / "csv").glob("*.csv"):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                small = {k: v for k, v in row.items() if k in count_columns and _small(v)}
                assert not small, (path.name, small)


def test_headline_numbers_are_the_marts_rows(report, warehouse):
    text = report.read_text(encoding="utf-8")
    sections = re.split(r'<section class="area" id="area-', text)[1:]
    assert len(sections) == 3
    for section in sections:
        la_code = section.split('"', 1)[0]
        shown = dict(re.findall(r"data-headline=['\"](\w+)['\"]>([^<]*)<", section))
        rates = dict(warehouse.execute("""
            SELECT tier_set, rate_per_10k FROM marts.neglect_prevalence WHERE period_end = ? AND la_code = ?
              AND measure = '12_month' AND breakdown = 'all' AND tier_set IN ('1', '1-4')""",
                                       [QUARTER, la_code]).fetchall())
        assert shown["identified_rate"] == f"{rates['1-4']:,.1f}"
        assert shown["cp_rate"] == f"{rates['1']:,.1f}"
        hidden = warehouse.execute("""
            SELECT estimate, population FROM marts.hidden_prevalence WHERE period_end = ? AND la_code = ?
              AND linkage = 'match threshold'""", [QUARTER, la_code]).fetchall()[0]
        assert shown["hidden_rate"] == f"{round(hidden[0] / 10) * 10 / hidden[1] * 1e4:,.0f}"
        ratio = warehouse.execute("""SELECT identified_per_cp_neglect_child FROM marts.identification_ratio
                                     WHERE period_end = ? AND la_code = ? AND measure = '12_month'""",
                                  [QUARTER, la_code]).fetchall()[0][0]
        assert shown["ratio"] == f"{ratio:,.1f}"


def test_an_intruder_cannot_recover_a_suppressed_cell(ingested, warehouse):
    publication = build_publication(warehouse, QUARTER, ingested.settings.suppression_threshold)
    prevalence = publication.tables["prevalence"]
    assert prevalence["children_suppressed"].any()
    keys = ["measure", "la_code", "breakdown", "breakdown_value", "tier_group"]
    for measure, part in prevalence.groupby("measure"):
        published = pd.DataFrame({"cell": list(part[keys].itertuples(index=False, name=None)),
                                  "published": part["children"].to_numpy(),
                                  "suppressed": part["children_suppressed"].to_numpy()})
        truth = warehouse.execute("""SELECT tier_set, la_code, breakdown, breakdown_value, children
                                     FROM marts.neglect_prevalence WHERE period_end = ? AND measure = ?""",
                                  [QUARTER, measure]).df()
        published["count"] = published["cell"].map({(measure, r.la_code, r.breakdown, r.breakdown_value, g): r.children
                                                    for r in truth.itertuples()
                                                    for g in [_group(r.tier_set)] if g})
        found = attack(published, prevalence_relations(part))
        assert not found["recovered"].any(), found[found["recovered"]].head()
        assert (found["width"] >= ingested.settings.suppression_threshold - 1).all()


def _group(tier_set: str) -> str | None:
    return {"1": "Tier 1", "2": "Tier 2", "3": "Tier 3", "4": "Tier 4", "5": "Tier 5", "6": "Tier 6",
            "1-2": "Tiers 1-2", "1-4": "Tiers 1-4", "1-5": "Tiers 1-5"}.get(tier_set)


def test_spreadsheet_formulas_are_neutralised():
    frame = pd.DataFrame({"text": ["=HYPERLINK(\"x\")", "+1", "-cmd", "@SUM(A1)", "safe", "\tx"], "n": [1, -2, 3, 4, 5, 6]})
    out = neutralise(frame)
    assert list(out["text"]) == ["'=HYPERLINK(\"x\")", "'+1", "'-cmd", "'@SUM(A1)", "safe", "'\tx"]
    assert list(out["n"]) == [1, -2, 3, 4, 5, 6]


def test_png_export_is_skipped_with_a_message_without_chromium(tmp_path, monkeypatch):
    import dashboards.exports as exports_module
    monkeypatch.setattr(exports_module, "find_chromium", lambda: None)
    paths, message = exports_module.write_pngs({"x": None}, tmp_path)
    assert paths == [] and "chromium" in message.lower() and not any(tmp_path.iterdir())


NO_CHROMIUM = pytest.mark.skipif(find_chromium() is None and not os.environ.get("NEGLECT_REQUIRE_CHROMIUM"),
                                 reason="Debian's chromium is not installed (make test installs it when it can; "
                                        ".ci/run requires it)")


@NO_CHROMIUM
def test_pngs_were_written_for_the_latest_quarter(exports):
    pngs = list((exports / "png").glob("*.png"))
    assert len(pngs) >= 30 and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


@NO_CHROMIUM
def test_the_report_renders_in_headless_chromium(report):
    from browser_check import open_in_chromium

    screenshot = report.parent / "screenshot.png"
    result = open_in_chromium(report, screenshot)
    assert result["console_errors"] == [], result["console_errors"]
    assert result["page_errors"] == [], result["page_errors"]
    assert result["charts"] >= 30 and result["charts"] == result["chart_divs"]
    assert result["charts_without_data"] == [], result["charts_without_data"]
    assert screenshot.exists() and screenshot.stat().st_size > 50_000
