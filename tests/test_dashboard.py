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
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from dashboards.audit import attack_refreshes, read_published
from dashboards.exports import find_chromium, neutralise
from dashboards.publication import HISTORY_TABLE, cell_key, count_cells, monotone_groups, protect_refresh
from dashboards.tables import SUPPRESSED, build_publication
from models.marts.definitions import load_definitions
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
        status, central, floor, population = warehouse.execute("""
            SELECT published_status, published_central, lower_bound, population FROM marts.hidden_prevalence
            WHERE period_end = ? AND la_code = ? AND linkage = 'match threshold'""", [QUARTER, la_code]).fetchall()[0]
        if status == "estimate":  # the publication rule's figure, rounded to 10, per 10,000
            assert shown["hidden_rate"] == f"{round(central / 10) * 10 / population * 1e4:,.0f}"
        elif status == "lower bound and range":
            assert shown["hidden_at_least"] == f"{round(floor / 10) * 10 / population * 1e4:,.0f}"
        else:
            assert "hidden_rate" not in shown and "hidden_at_least" not in shown
        ratio = warehouse.execute("""SELECT identified_per_cp_neglect_child FROM marts.identification_ratio
                                     WHERE period_end = ? AND la_code = ? AND measure = '12_month'""",
                                  [QUARTER, la_code]).fetchall()[0][0]
        assert shown["ratio"] == f"{ratio:,.1f}"


@pytest.fixture(scope="module")
def everything_published(ingested, warehouse):
    """Every count in every quarter's pack (CSV, workbook, HTML), and the truth from the marts."""
    published = read_published(ingested.settings.output_dir)
    truth = count_cells(warehouse, QUARTER, load_definitions())
    return published, truth


def test_every_pack_shows_each_count_the_same_way_in_every_file(everything_published):
    published, truth = everything_published
    kinds = published["file"].str.extract(r"\.(csv|xlsx|html)")[0].value_counts().to_dict()
    assert kinds.get("csv", 0) > 500 and kinds.get("xlsx") == kinds["csv"] and kinds.get("html", 0) > 300
    values = published.groupby(published["cell"].map(repr))["published"].agg(lambda v: set(map(str, v)))
    assert (values.map(len) == 1).all(), values[values.map(len) > 1].head()
    assert set(published["cell"]) <= set(truth["cell"])  # every published count is a cell the intruder model knows


def test_an_intruder_with_every_pack_recovers_no_suppressed_count(ingested, warehouse, everything_published):
    """The linear programme over every count of the packs the refresh wrote (prevalence, trend, identification,
    practice, hidden prevalence, data quality, rejects, linkage, and the journeys section's flows, cohorts, spells,
    conversion and thresholds), with every relation between them: tier sets, breakdowns, partnership against
    authorities, quarter end against 12 months, numerators against denominators, rows read = loaded + rejected,
    rejects by rule, the flow table's margins (= the tiers at either quarter end), cohorts' outcomes."""
    published, truth = everything_published
    threshold = ingested.settings.suppression_threshold
    definitions = load_definitions()
    result = attack_refreshes([(published, truth)], monotone_groups(definitions), threshold)
    assert result.conflicts == [] and result.unmatched == []
    assert result.relations > 300 and (result.ranges["reason"] == "suppressed").sum() > 20
    narrowed = result.narrowed(threshold)
    assert narrowed.empty, narrowed.head(10)
    attacked = {c[0] for c in result.ranges.loc[result.ranges["reason"] == "suppressed", "cell"]}
    assert {"flow", "cohort"} <= attacked  # the flow and cohort tables (issue 21) are in the attack
    inside = (result.ranges["lower"] <= result.ranges["count"]) & (result.ranges["count"] <= result.ranges["upper"])
    assert inside.all()  # the truth is always a possible value: the relations hold


def test_the_packs_were_built_although_authorities_disagree_about_some_children(ingested, warehouse):
    """A child known to both authorities can be at a different tier in each: the partnership's single
    tiers are then not unions of the authorities' tiers (only tier sets 1, 1-2, ... are). The refresh's
    disclosure relations hold all the same: none was dropped."""
    disagree = warehouse.execute("""
        SELECT count(DISTINCT person_key) FROM (SELECT period_end, measure, person_key FROM marts.child_neglect_tier
        WHERE la_code <> 'partnership' AND tier IS NOT NULL GROUP BY ALL HAVING count(DISTINCT tier) > 1)""").fetchall()
    assert disagree[0][0] > 0
    board = {}
    for event in (e for r in ingested.results.values() for e in r.get_asset_materialization_events()):
        if event.materialization.asset_key.to_user_string() == "dashboards/board_report":
            board = {k: v.value for k, v in event.materialization.metadata.items()}
    assert board["reports"] == 1 and board["disclosure_relations_dropped"] == 0 and board["publication_version"] == 1


def test_the_publication_history_records_what_every_pack_showed(warehouse, everything_published):
    published, _ = everything_published
    history = warehouse.execute(f"SELECT version, cell, count, shown, published, written FROM {HISTORY_TABLE}").df()
    assert set(history["version"]) == {1}
    written = history[history["written"]]
    shown = {cell_key(c): str(v) for c, v in zip(published["cell"], published["published"])}
    assert set(written["cell"]) == set(shown)
    assert all(shown[c] == v for c, v in zip(written["cell"], written["published"]))
    assert not history.loc[~history["shown"], "written"].any()  # auxiliary cells are never shown


def test_figures_made_from_counts_are_blank_when_a_count_is_suppressed(ingested, warehouse):
    """Rates, intervals, the interval method, the other authority's rate, the previous year's rate,
    change flags, percentages of row counts: none is shown for a suppressed count, and none carries more
    than the published counts do."""
    threshold = ingested.settings.suppression_threshold
    quarters = [date.fromisoformat(p.name) for p in sorted((ingested.settings.output_dir / "dashboards").iterdir())]
    run = protect_refresh(warehouse, max(quarters), threshold)
    assert not run.new_version  # the refresh recorded what it published: the same choices are read back
    # the packs written, and the year-ago quarters their previous-year rates come from
    wanted = sorted({*quarters, *(date(q.year - 1, q.month, q.day) for q in quarters)})
    packs = {q: build_publication(warehouse, q, threshold, run=run) for q in wanted}
    checked = {"method": 0, "previous_rate": 0, "hidden": 0, "other_la": 0}
    for quarter, pub in ((q, packs[q]) for q in quarters):
        prevalence = pub.tables["prevalence"]
        hidden_rows = prevalence["children"] == SUPPRESSED
        assert prevalence.loc[hidden_rows, ["rate_per_10k", "ci95_lower", "method"]].isna().all().all()
        checked["method"] += int(hidden_rows.sum())
        for la in set(prevalence["la_code"]) - {"partnership"}:
            mine = prevalence[prevalence["la_code"] == la].set_index(["measure", "breakdown", "breakdown_value",
                                                                      "tier_group"])
            other = prevalence[~prevalence["la_code"].isin([la, "partnership"])].set_index(mine.index.names)
            gone = other.loc[mine.index.intersection(other.index), "children"] == SUPPRESSED
            assert mine.loc[gone[gone].index, "other_la_rate_per_10k"].isna().all()
            checked["other_la"] += int(gone.sum())
        practice = pub.tables["practice"]
        year_ago = date(quarter.year - 1, quarter.month, quarter.day)
        for row in practice[practice["previous_rate_pct"].notna()].itertuples():
            before = packs[year_ago].tables["practice"].set_index(["indicator", "la_code"]).loc[(row.indicator,
                                                                                                row.la_code)]
            assert SUPPRESSED not in (before["numerator"], before["denominator"])
            assert row.previous_rate_pct == pytest.approx(100 * before["numerator"] / before["denominator"])
            checked["previous_rate"] += 1
        for row in practice[practice["suppressed"]].itertuples():
            assert pd.isna(row.rate_pct) and pd.isna(row.ci95_lower_pct)
            assert row.direction_of_travel is None or pd.isna(row.direction_of_travel)
        hidden = pub.tables["hidden"]
        for row in hidden[hidden["status"] != "observed only"].itertuples():
            assert row.at_least % 10 == 0 and row.at_least_rate_per_10k * row.population / 1e4 == pytest.approx(
                row.at_least)
            if row.status == "estimate":
                assert row.estimate % 10 == 0 and row.estimate_rate_per_10k * row.population / 1e4 == pytest.approx(
                    row.estimate)
            numbers = {float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", row.message)}
            allowed = {row.estimate, row.ci95_lower, row.ci95_upper, row.at_least, 95.0, 5.0, 15.0, 20.0,
                       float(len(row.lists.split(", ")))}  # the figures, the validation's percentages, the lists
            assert numbers <= allowed, row.message
            checked["hidden"] += 1
        quality = pub.tables["data_quality"]
        gone = (quality["rows_read"] == SUPPRESSED) | (quality["rows_loaded"] == SUPPRESSED)
        assert quality.loc[gone, ["validity_pct", "nhs_number_pct"]].isna().all().all()
        shown = quality[~(gone | (quality["rows_rejected"] == SUPPRESSED))]
        assert (shown["rows_read"] == shown["rows_loaded"] + shown["rows_rejected"]).all()
        trend = pub.tables["trend"]
        assert trend.loc[trend["children"] == SUPPRESSED, "change_since_previous_quarter"].isna().all()
    assert sum(checked.values()) > 0, checked  # the checks above were not vacuous (one pack: some kinds may have no case)


def test_practice_notes_do_not_count_assessments():
    from dashboards.tables import note_without_counts
    note = "CIN census reaches only 2026-03-31; 3 assessment(s) authorised before their start date left out; " \
           "12 assessment(s) with dates outside the bank-holiday list (weekends only excluded)"
    assert note_without_counts(note) == ("CIN census reaches only 2026-03-31; Some assessments authorised before "
                                         "their start date left out; Some assessments with dates outside the "
                                         "bank-holiday list (weekends only excluded)")
    assert note_without_counts(None) is None


def test_spreadsheet_formulas_are_neutralised():
    frame = pd.DataFrame({"text": ["=HYPERLINK(\"x\")", "+1", "-cmd", "@SUM(A1)", "safe", "\tx"], "n": [1, -2, 3, 4, 5, 6]})
    out = neutralise(frame)
    assert list(out["text"]) == ["'=HYPERLINK(\"x\")", "'+1", "'-cmd", "'@SUM(A1)", "safe", "'\tx"]
    assert list(out["n"]) == [1, -2, 3, 4, 5, 6]


def test_the_workbook_depends_on_its_tables_only(ingested, warehouse, tmp_path):
    """openpyxl stamps the time of saving in the workbook: the export replaces it by the quarter end, so
    the same tables give the same bytes a second later too."""
    from dashboards.exports import write_workbook
    pub = build_publication(warehouse, QUARTER, ingested.settings.suppression_threshold)
    first = write_workbook(pub, tmp_path / "first.xlsx").read_bytes()
    time.sleep(1.1)  # the zip entries' times have a resolution of 2 s, openpyxl's of 1 s
    second = write_workbook(pub, tmp_path / "second.xlsx").read_bytes()
    assert first == second
    core = _core_xml(tmp_path / "first.xlsx")
    assert QUARTER.isoformat().encode() in core and (date.today() == QUARTER or date.today().isoformat().encode() not in core)


def _core_xml(path: Path) -> bytes:
    import zipfile
    with zipfile.ZipFile(path) as book:
        return book.read("docProps/core.xml")


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
def test_a_sankey_with_no_links_is_named_not_drawn_by_the_real_browser(tmp_path):
    """Kaleido, with the real Chromium, writes no file and raises nothing for a Sankey with no links (a partnership
    whose journey flows are all suppressed). tests/test_real_partnership.py draws no PNGs, so it could not find this;
    here the real export shows the behaviour the fake in tests/test_chart_cache.py stands for."""
    import plotly.graph_objects as go

    from dashboards.exports import write_pngs

    figures = {"trend": go.Figure(go.Bar(x=["Northbrook"], y=[3])),
               "journey_flows": go.Figure(go.Sankey(node={"label": ["Referral", "CP plan"]},
                                                    link={"source": [], "target": [], "value": []}))}
    paths, message = write_pngs(figures, tmp_path)
    assert paths == [tmp_path / "trend.png"] and (tmp_path / "trend.png").read_bytes()[:4] == b"\x89PNG"
    assert not (tmp_path / "journey_flows.png").exists()
    assert "drew nothing for 1" in message and "journey_flows" in message


@NO_CHROMIUM
def test_a_browser_kept_open_draws_the_same_pngs_and_is_closed_after(tmp_path):
    """The board pack keeps one Chromium open while it works (dashboards.exports.browser_kept_open): the charts it
    draws are the bytes a browser started for the drawing gives, a chart it cannot draw is still named, and the
    browser is closed when the block ends."""
    import kaleido
    import plotly.graph_objects as go

    from dashboards.exports import browser_kept_open, start_pngs, write_pngs

    figures = {"trend": go.Figure(go.Bar(x=["Northbrook", "Eastmere"], y=[3, 5])).update_layout(title="Trend"),
               "journey_flows": go.Figure(go.Sankey(node={"label": ["Referral", "CP plan"]},
                                                    link={"source": [], "target": [], "value": []}))}
    alone, _ = write_pngs(figures, tmp_path / "alone")
    with browser_kept_open():
        assert kaleido._global_server.is_running()
        kept, message = start_pngs(figures, tmp_path / "kept").result()
    assert not kaleido._global_server.is_running()
    assert [p.name for p in kept] == [p.name for p in alone] == ["trend.png"] and "journey_flows" in message
    assert kept[0].read_bytes() == alone[0].read_bytes()


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


def test_the_summary_page_reads_the_same_figures_as_the_sections(report):
    """One number per concept: every figure the summary page shows (headline, ladder, estimate) carries the
    same ``data-figure`` key as its copy in the area's section, and reads the same there."""
    text = report.read_text(encoding="utf-8")
    summary = text[text.index('id="summary"'):text.index('<section class="area"')]
    shown = re.findall(r"""data-figure=['"]([^'"]+)['"][^>]*>([^<]*)<""", text)
    in_summary = dict(re.findall(r"""data-figure=['"]([^'"]+)['"][^>]*>([^<]*)<""", summary))
    assert {"partnership:identified_rate", "partnership:cp_rate", "partnership:ratio",
            "partnership:ladder:Tier 1", "partnership:ladder:Tiers 1-4"} <= set(in_summary)
    for la in ("partnership", "991", "992"):
        assert {f"{la}:ladder:{g}" for g in ("Tier 1", "Tier 2", "Tier 3", "Tier 4", "Tier 5", "Tiers 1-4")} \
            <= set(in_summary)
    copies = {}
    for key, value in shown:
        copies.setdefault(key, set()).add(value.strip())
    for key in in_summary:
        assert len([k for k, _ in shown if k == key]) >= 2, f"{key} is on the summary page only"
        assert len(copies[key]) == 1, (key, copies[key])


def test_every_chart_has_its_table_and_csv(report):
    text = without_embedded_library(report.read_text(encoding="utf-8"))
    charts = text.count('class="chart"')
    assert charts >= 36
    assert text.count("<summary>View as table</summary>") == charts
    assert text.count('href="data:text/csv;charset=utf-8,') == charts
    assert "OFFICIAL-SENSITIVE" in text and 'counter(pages)' in text


@NO_CHROMIUM
def test_the_printed_report_keeps_to_its_page_budget(report, tmp_path):
    """A4 landscape, each section printed on its own: the summary on one page, the partnership on at most 8
    and each authority on at most 6 (the board's limits, issue 19), the journeys pages included; the
    commissioner's summary (issue 20) on one page of its own."""
    from browser_check import print_sections

    pages = print_sections(report, tmp_path / "print")  # not beside the report: the packs are compared file by file
    assert pages["summary"] == 1, pages
    assert pages["area-partnership"] <= 8, pages
    assert all(pages[s] <= 6 for s in pages if s.startswith("area-") and s != "area-partnership"), pages
    assert pages["commissioning"] == 1, pages
    assert pages["whole"] <= sum(v for k, v in pages.items() if k != "whole") + 1, pages


@NO_CHROMIUM
def test_the_report_has_no_serious_accessibility_violation(report):
    """axe-core (WCAG 2.1 A and AA, best practice) in Chromium: no serious or critical violation, and
    no colour-contrast failure at all."""
    from browser_check import axe_violations

    violations = axe_violations(report)
    bad = [v for v in violations if v["impact"] in ("serious", "critical") or v["id"] == "color-contrast"]
    assert bad == [], bad
