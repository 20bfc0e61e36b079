"""marts.benchmark_comparison (models/marts/benchmark_comparison.py) on the shipped published files: values,
neighbours' median and rank, Wilson significance against England, and a meaning for every column."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from models.marts.benchmark_comparison import PUBLISHED_TABLES, benchmark_comparison, build_benchmark_comparison
from models.marts.comments import apply_comments, missing_comments
from sources.registry import load_registry


def _shipped(name):
    source = load_registry()[name]
    return source.read(source.shipped_path).rows


@pytest.fixture(scope="module")
def mart():
    published = pd.concat([_shipped(t) for t in PUBLISHED_TABLES], ignore_index=True)
    return benchmark_comparison(published, _shipped("statistical_neighbours"), ["841", "390", "942"])


def test_one_row_per_authority_and_measure_latest_year(mart):
    assert len(mart) == 12 and set(mart["time_period"]) == {2025}
    assert mart.groupby("la_code").size().to_dict() == {"390": 4, "841": 4, "942": 4}


def test_darlington_neglect_at_assessment_against_england_and_neighbours(mart):
    row = mart[(mart["la_code"] == "841") & (mart["measure"] == "neglect_at_assessment")].iloc[0]
    assert (row["numerator"], row["denominator"]) == (225, 980) and row["value_percent"] == pytest.approx(22.96)
    assert row["england_percent"] == pytest.approx(100 * 90370 / 513250, abs=0.01)
    assert row["region_name"] == "North East" and row["neighbours_compared"] == 10
    assert row["ci95_lower"] > row["england_percent"] and row["vs_england_95"] == "higher"
    assert row["ci998_lower"] < row["ci95_lower"] and row["vs_england_998"] == "higher"
    assert row["rank_among_neighbours"] == 2 and row["ranked_of"] == 11 and row["quartile_among_neighbours"] == 1
    assert row["neighbour_values"].startswith("808: ")  # DfE's closest neighbour first


def test_suppressed_values_are_not_ranked_or_compared(mart):
    row = mart[(mart["la_code"] == "390") & (mart["measure"] == "cp_plans_2_years_or_more")].iloc[0]
    assert pd.isna(row["value_percent"]) and row["value_note"].startswith("c:")
    assert pd.isna(row["vs_england_95"]) and pd.isna(row["rank_among_neighbours"])


def test_an_authority_without_groupings_has_no_neighbours(mart):
    row = mart[(mart["la_code"] == "942") & (mart["measure"] == "rereferrals_within_12_months")].iloc[0]
    assert row["neighbours_compared"] == 0 and pd.isna(row["neighbour_median_percent"])
    assert row["vs_england_95"] == "similar"


def test_built_in_the_warehouse_every_column_has_a_meaning(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        conn.execute("CREATE SCHEMA raw").fetchall()  # no marts schema yet: the mart may be built first
        for name in (*PUBLISHED_TABLES, "statistical_neighbours"):
            frame = _shipped(name)
            conn.register("_f", frame)
            conn.execute(f"CREATE TABLE raw.{name} AS SELECT * FROM _f").fetchall()
            conn.unregister("_f")
        conn.execute("CREATE TABLE raw.la_codes AS SELECT * FROM (VALUES ('841'), ('390')) t(la_code)").fetchall()
        frame = build_benchmark_comparison(conn)
        apply_comments(conn, ("marts",))
        assert len(frame) == 8
        assert [c for c in missing_comments(conn, ("marts",)) if "benchmark_comparison" in c] == []


def test_the_products_own_value_is_set_beside_the_published_one():
    published = pd.concat([_shipped(t) for t in PUBLISHED_TABLES], ignore_index=True)
    local = pd.DataFrame({"period_end": pd.to_datetime(["2025-03-31", "2024-12-31"]), "la_code": ["841", "841"],
                          "indicator": ["re_referrals_12_months"] * 2, "numerator": [150, 1],
                          "denominator": [1100, 2], "rate_pct": [13.64, 50.0]})
    mart = benchmark_comparison(published, _shipped("statistical_neighbours"), ["841"], local)
    rows = mart.set_index("measure")
    assert rows.loc["rereferrals_within_12_months", ["local_numerator", "local_percent"]].tolist() == [150, 13.64]
    assert rows.loc["rereferrals_within_12_months", "local_period_end"] == pd.Timestamp("2025-03-31")
    assert rows[["local_percent"]].drop("rereferrals_within_12_months").isna().all().all()
