"""The report's comparisons (dashboards/benchmarks.py) on the shipped published files, for a partnership of two
real authorities (Darlington 841 and Gateshead 390): the published benchmark rows name their source table and year,
the product's own figures are shown only as the protected tables allow, the spine chart and its printed table carry
every measure, and the funnel plot holds every authority in England with the partnership's highlighted, each chart
with its "View as table" and CSV."""
from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from dashboards import benchmarks as B
from dashboards.html_parts import Charts
from dashboards.tables import Publication
from models.marts.benchmark_comparison import (POPULATION_TABLE, PUBLISHED_TABLES, benchmark_comparison,
                                               benchmark_funnel)
from models.marts.prevalence import read_benchmarks
from sources.registry import load_registry

QUARTER = date(2026, 3, 31)
AREAS = [("partnership", "Partnership"), ("390", "Gateshead"), ("841", "Darlington")]


def _shipped(name):
    source = load_registry()[name]
    return source.read(source.shipped_path).rows


class _Counts:
    """The protected run's answer to 'is this count published?': only Darlington's re-referral counts are."""

    def published(self, cell) -> bool:
        return cell[0] == "practice" and cell[2] == "re_referrals_12_months" and cell[3] == "841"


def _prevalence() -> pd.DataFrame:
    england = float(read_benchmarks().query("benchmark == 'england'")["rate_per_10k"].iloc[0])
    rows = []
    for la, name, children, suppressed in (("390", "Gateshead", 130, False), ("841", "Darlington", "c", True)):
        rows.append({"la_code": la, "la_name": name, "measure": "point", "breakdown": "all", "tier_group": "Tier 1",
                     "children": children, "children_suppressed": suppressed,
                     "rate_per_10k": None if suppressed else 32.2, "ci95_lower": None if suppressed else 26.9,
                     "ci95_upper": None if suppressed else 38.2, "ci998_lower": None if suppressed else 24.0,
                     "ci998_upper": None if suppressed else 41.9, "england_rate_per_10k": england,
                     "vs_england": None if suppressed else "higher"})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def pub() -> Publication:
    published = pd.concat([_shipped(t) for t in PUBLISHED_TABLES], ignore_index=True)
    population, neighbours = _shipped(POPULATION_TABLE), _shipped("statistical_neighbours")
    local = pd.DataFrame({"period_end": pd.to_datetime(["2025-03-31"] * 2), "la_code": ["841", "390"],
                          "indicator": ["re_referrals_12_months"] * 2, "numerator": [150, 200],
                          "denominator": [1100, 1500], "rate_pct": [13.64, 13.33]})
    with duckdb.connect() as conn:
        conn.execute("CREATE SCHEMA marts")
        for name, frame in (("benchmark_comparison", benchmark_comparison(published, neighbours, ["390", "841"], local,
                                                                          population)),
                            ("benchmark_funnel", benchmark_funnel(published, neighbours, ["390", "841"], population))):
            conn.register("_f", frame)
            conn.execute(f"CREATE TABLE marts.{name} AS SELECT * FROM _f")
            conn.unregister("_f")
        prevalence = _prevalence()
        tables = {"benchmarks": B.published_benchmarks(conn, QUARTER, _Counts(), prevalence),
                  "benchmark_funnel": B.published_funnel(conn)}
    return Publication(QUARTER, AREAS, tables, {}, {"quarter_end": QUARTER}, 5)


def test_every_benchmark_row_names_its_source_table_and_year(pub):
    table = pub.tables["benchmarks"]
    assert len(table) == 2 * 6 and table["source_table"].notna().all()
    dfe = table[table["measure"] != "tier_1_point"]
    assert dfe["source_table"].str.fullmatch(r"DfE CIN 2025, table (C1|C3|D3|D5)(; ONS mid-2024 population)?").all()
    tier1 = table[table["measure"] == "tier_1_point"].set_index("la_code")
    assert tier1["source_table"].str.contains("England: DfE CIN 2020").all()
    assert tier1["england_note"].str.startswith("derived, 2020").all()


def test_the_products_own_figures_are_only_those_the_protection_publishes(pub):
    table = pub.tables["benchmarks"].set_index(["la_code", "measure"])
    assert table.loc[("841", "rereferrals_within_12_months"), "local_percent"] == pytest.approx(13.64)
    assert pd.isna(table.loc[("390", "rereferrals_within_12_months"), "local_percent"])  # its counts not published
    # tier 1: Darlington's count is suppressed, so no rate and no verdict; Gateshead's is shown
    assert pd.isna(table.loc[("841", "tier_1_point"), "value"]) and pd.isna(table.loc[("841", "tier_1_point"),
                                                                                     "vs_england_95"])
    assert table.loc[("390", "tier_1_point"), "value"] == 32.2 and table.loc[("390", "tier_1_point"),
                                                                            "vs_england_998"] == "higher"


def test_the_spine_chart_and_its_printed_table_carry_every_measure(pub):
    chart = Charts(pub)
    html = B.benchmarks_html(pub, "841", chart)
    rows = B.benchmark_rows(pub, "841")
    assert list(rows["measure"]) == list(B.SHORT)  # the tier-3-like measure first, tier 1 last
    for row in rows.itertuples():
        assert row.indicator in html and row.source_table in html
    assert "higher (99.8 %)" in html and "22.1 (derived)" in html
    assert "<summary>View as table</summary>" in html and 'download="841_benchmarks.csv"' in html
    figure = chart.figures["841_benchmarks"]
    names = {t.name for t in figure.data}
    assert {"Neighbours: lowest to highest", "Neighbours: middle half", "Neighbours' median", "Region",
            "Darlington"} <= names
    values = next(t for t in figure.data if t.name == "Darlington")
    assert len(values.y) == 6 and values.text[0] == "98.8"  # 225 / 22,771 x 10,000


def test_the_funnel_plot_holds_every_authority_with_the_partnership_highlighted(pub):
    chart = Charts(pub)
    html = B.funnel_html(pub, chart)
    figure = chart.figures["partnership_funnel"]
    others = next(t for t in figure.data if t.name == "Other authorities")
    ours = next(t for t in figure.data if t.name == "This partnership")
    assert len(others.x) + len(ours.x) == 153 and sorted(ours.text) == ["Darlington", "Gateshead"]
    limits = [t for t in figure.data if t.mode == "lines"]
    assert len(limits) == 4  # 95 % and 99.8 %, upper and lower
    assert "Darlington 98.8 (above 99.8 %)" in html and "Gateshead 55.7 (below 99.8 %)" in html
    assert 'download="partnership_funnel.csv"' in html
    csv = B.funnel_data(pub).csv_text(pub)
    assert csv.count("\r\n") == 154 and "DfE CIN 2025, table C3; ONS mid-2024 population" in csv
