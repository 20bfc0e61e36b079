"""marts.benchmark_comparison and marts.benchmark_funnel (models/marts/benchmark_comparison.py) on the shipped
published files: values, neighbours' median, range and rank, Wilson / Byar significance against England, neglect at
assessment per 10,000 children (table C3 over the ONS population DfE divides by), the funnel plot's control limits,
and a meaning for every column."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from models.intervals import funnel_limits_rate
from models.marts.benchmark_comparison import (POPULATION_TABLE, PUBLISHED_TABLES, benchmark_comparison,
                                               benchmark_funnel, build_benchmark_comparison)
from models.marts.comments import apply_comments, missing_comments
from sources.registry import load_registry


def _shipped(name):
    source = load_registry()[name]
    return source.read(source.shipped_path).rows


def _published():
    published = pd.concat([_shipped(t) for t in PUBLISHED_TABLES], ignore_index=True)
    return published, _shipped(POPULATION_TABLE)


@pytest.fixture(scope="module")
def mart():
    published, population = _published()
    return benchmark_comparison(published, _shipped("statistical_neighbours"), ["841", "390", "942"],
                                population=population)


@pytest.fixture(scope="module")
def funnel():
    published, population = _published()
    return benchmark_funnel(published, _shipped("statistical_neighbours"), ["841", "390"], population)


def test_one_row_per_authority_and_measure_latest_year(mart):
    assert len(mart) == 15 and set(mart["time_period"]) == {2025}
    assert mart.groupby("la_code").size().to_dict() == {"390": 5, "841": 5, "942": 5}
    assert mart["measure"].iloc[0] == "neglect_at_assessment_per_10k"  # the tier-3-like measure first
    assert set(mart.loc[mart["measure"] == "neglect_at_assessment_per_10k", "unit"]) == {"per 10,000"}
    assert set(mart.loc[mart["measure"] != "neglect_at_assessment_per_10k", "unit"]) == {"%"}


def test_darlington_neglect_at_assessment_against_england_and_neighbours(mart):
    row = mart[(mart["la_code"] == "841") & (mart["measure"] == "neglect_at_assessment")].iloc[0]
    assert (row["numerator"], row["denominator"]) == (225, 980) and row["value"] == pytest.approx(22.96)
    assert row["england_value"] == pytest.approx(100 * 90370 / 513250, abs=0.01)
    assert row["region_name"] == "North East" and row["neighbours_compared"] == 10
    assert row["ci95_lower"] > row["england_value"] and row["vs_england_95"] == "higher"
    assert row["ci998_lower"] < row["ci95_lower"] and row["vs_england_998"] == "higher"
    assert row["rank_among_neighbours"] == 2 and row["ranked_of"] == 11 and row["quartile_among_neighbours"] == 1
    assert row["neighbour_values"].startswith("808: ")  # DfE's closest neighbour first
    assert row["neighbour_lowest"] <= row["neighbour_q1"] <= row["neighbour_median"] <= row["neighbour_q3"] \
        <= row["neighbour_highest"]


def test_neglect_at_assessment_per_10000_children_divides_by_the_population_dfe_uses(mart):
    """DfE's rates for the year to 31 March 2025 divide by the mid-2024 estimate: Darlington's 225 episodes over its
    22,771 children, England's 90,370 over 12,183,016; Byar's interval, significance against England's rate."""
    row = mart[(mart["la_code"] == "841") & (mart["measure"] == "neglect_at_assessment_per_10k")].iloc[0]
    assert (row["numerator"], row["denominator"]) == (225, 22771)
    assert row["value"] == pytest.approx(1e4 * 225 / 22771, abs=0.01)
    assert row["england_value"] == pytest.approx(1e4 * 90370 / 12183016, abs=0.01)
    assert row["region_value"] == pytest.approx(1e4 * 5190 / 542710, abs=0.01)
    assert row["ci95_lower"] < row["value"] < row["ci95_upper"] and row["vs_england_95"] == "higher"
    assert "mid-2024" in row["population_source"] and row["neighbours_compared"] == 10


def test_suppressed_values_are_not_ranked_or_compared(mart):
    row = mart[(mart["la_code"] == "390") & (mart["measure"] == "cp_plans_2_years_or_more")].iloc[0]
    assert pd.isna(row["value"]) and row["value_note"].startswith("c:")
    assert pd.isna(row["vs_england_95"]) and pd.isna(row["rank_among_neighbours"])


def test_an_authority_without_groupings_has_no_neighbours(mart):
    row = mart[(mart["la_code"] == "942") & (mart["measure"] == "rereferrals_within_12_months")].iloc[0]
    assert row["neighbours_compared"] == 0 and pd.isna(row["neighbour_median"])
    assert row["vs_england_95"] == "similar"


def test_without_the_population_the_rate_is_left_out():
    published, _ = _published()
    mart = benchmark_comparison(published, _shipped("statistical_neighbours"), ["841"])
    assert "neglect_at_assessment_per_10k" not in set(mart["measure"]) and len(mart) == 4


def test_the_funnel_holds_every_authority_with_its_control_limits(funnel):
    rate = funnel[funnel["measure"] == "neglect_at_assessment_per_10k"].set_index("la_code")
    assert len(rate) == 153 and rate["in_partnership"].sum() == 2
    darlington = rate.loc["841"]
    lower, upper = funnel_limits_rate(darlington["england_value"], 22771, confidence=0.998)
    assert (darlington["lower_998"], darlington["upper_998"]) == pytest.approx((lower, upper))
    assert darlington["lower_998"] < darlington["lower_95"] < darlington["england_value"] < darlington["upper_95"] \
        < darlington["upper_998"] < darlington["value"] and darlington["funnel_position"] == "above 99.8 %"
    assert rate.loc["390", "funnel_position"] == "below 99.8 %"  # Gateshead: 55.7 against 74.2
    # the limits narrow as the population grows
    bigger = rate.sort_values("denominator")
    width = (bigger["upper_95"] - bigger["lower_95"]).to_numpy()
    assert (width[1:] <= width[:-1] + 1e-9).all()
    assert rate.loc["808", "neighbour_of"] == "841"  # Stockton is Darlington's closest neighbour
    positions = set(rate["funnel_position"].dropna())
    assert positions <= {"above 99.8 %", "above 95 %", "within", "below 95 %", "below 99.8 %"}


def test_a_suppressed_authority_has_no_position_in_the_funnel(funnel):
    row = funnel[(funnel["measure"] == "cp_plans_2_years_or_more") & (funnel["la_code"] == "390")].iloc[0]
    assert pd.isna(row["value"]) and pd.isna(row["funnel_position"]) and row["value_note"].startswith("c:")


def test_built_in_the_warehouse_every_column_has_a_meaning(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        conn.execute("CREATE SCHEMA raw").fetchall()  # no marts schema yet: the mart may be built first
        for name in (*PUBLISHED_TABLES, POPULATION_TABLE, "statistical_neighbours"):
            frame = _shipped(name)
            conn.register("_f", frame)
            conn.execute(f"CREATE TABLE raw.{name} AS SELECT * FROM _f").fetchall()
            conn.unregister("_f")
        conn.execute("CREATE TABLE raw.la_codes AS SELECT * FROM (VALUES ('841'), ('390')) t(la_code)").fetchall()
        frame = build_benchmark_comparison(conn)
        apply_comments(conn, ("marts",))
        assert len(frame) == 10
        assert conn.execute("SELECT count(*) FROM marts.benchmark_funnel").fetchall()[0][0] == 5 * 153
        assert [c for c in missing_comments(conn, ("marts",)) if "benchmark_" in c] == []


def test_the_products_own_value_is_set_beside_the_published_one():
    published = pd.concat([_shipped(t) for t in PUBLISHED_TABLES], ignore_index=True)
    local = pd.DataFrame({"period_end": pd.to_datetime(["2025-03-31", "2024-12-31"]), "la_code": ["841", "841"],
                          "indicator": ["re_referrals_12_months"] * 2, "numerator": [150, 1],
                          "denominator": [1100, 2], "rate_pct": [13.64, 50.0]})
    mart = benchmark_comparison(published, _shipped("statistical_neighbours"), ["841"], local)  # no population
    rows = mart.set_index("measure")
    assert rows.loc["rereferrals_within_12_months", ["local_numerator", "local_percent"]].tolist() == [150, 13.64]
    assert rows.loc["rereferrals_within_12_months", "local_period_end"] == pd.Timestamp("2025-03-31")
    assert rows[["local_percent"]].drop("rereferrals_within_12_months").isna().all().all()
