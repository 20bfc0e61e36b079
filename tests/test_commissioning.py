"""The commissioning view and the projection (issue 20) on the default synthetic partnership (the session's
refresh), scored against the ground truth (``commissioning_truth.py``: pandas on ``truth/``, never the
warehouse), and the commissioning page and workbook sheet of the board pack.

What the truth can and cannot give:

* identified neglect by ward: the truth's tiers 1-4 (12 months) by the ward the child really lived in. The marts
  place a child by its records' addresses (5 % of records carry a stale postcode) and know it through linkage, so
  each ward differs a little; the test bounds the total absolute difference over the wards;
* services received: children really in early help, in need and on a CP plan on 31 March 2026 (a census date,
  so the census's carried-forward year plays no part), per authority;
* true need by ward: children really neglected at one of the quarter ends in the 12 months. The marts estimate it
  per authority (capture-recapture) and only share it out to wards by their identified children, so the ward
  figures are an apportionment, not an estimate: the test prints both side by side and checks only that the
  apportionment ranks wards the way the truth does (a positive correlation); the README quotes the errors;
* the projection: the truth's own rates (true tiers and ages over the ONS mid-year file) times the projection file
  give the projection the marts should make, within the linkage error; the projection file itself is the
  generator's population drift applied to the simulated children, whose base year equals the mid-year file.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

import commissioning_truth as T
from sources.synthetic.config import GeneratorConfig

LATEST = "2026-03-31"
FIRST_CENSUS_YEAR_START = f"{GeneratorConfig().first_census_year - 1}-04-01"
NOT_WARDS = ("Not known", "Outside the authority", "Outside the partnership", "Across the authority")


@pytest.fixture(scope="module")
def places(ingested):
    return T.ward_on(ingested.folder / "truth", LATEST)


@pytest.fixture(scope="module")
def view(warehouse):
    return warehouse.execute("SELECT * FROM marts.commissioning_view WHERE period_end = ?", [date(2026, 3, 31)]).df()


def test_the_commissioning_checks_passed(ingested):
    wanted = {"commissioning_view_adds_up", "projection_reproduces_rates"}
    outcomes = {e.check_name: (e.passed, e.description) for r in ingested.results.values()
                for e in r.get_asset_check_evaluations() if e.check_name in wanted}
    assert set(outcomes) == wanted and all(passed for passed, _ in outcomes.values()), outcomes


def test_identified_neglect_by_ward_matches_the_truth(ingested, places, view):
    truth = T.identified_by_ward(ingested.folder / "truth", LATEST, FIRST_CENSUS_YEAR_START, places)
    mine = view[(view["area_level"] == "ward") & (view["ward_code"] != "Across the authority")]
    both = mine[["la_code", "ward_code", "identified_children"]].rename(columns={"ward_code": "ward"}).merge(
        truth, on=["la_code", "ward"], how="outer").fillna(0)
    wards = both[~both["ward"].isin(NOT_WARDS)]
    difference = (wards["identified_children"] - wards["children"]).abs().sum()
    total = wards["children"].sum()
    print(f"identified by ward: {difference:.0f} children placed differently over {len(wards)} wards, of {total:.0f}")
    assert total > 3000 and difference <= 0.06 * total
    per_ward = (wards["identified_children"] - wards["children"]).abs() / wards["children"].clip(lower=20)
    assert per_ward.max() < 0.25, wards.assign(err=per_ward).sort_values("err").tail()


def test_children_receiving_services_match_the_truth(ingested, view):
    truth = T.services_on(ingested.folder / "truth", LATEST).set_index(["la_code", "service"])["children"]
    whole = view[(view["ward_code"] == "all") & (view["la_code"] != "partnership")].set_index("la_code")
    for la in whole.index:
        for column, service in (("early_help_children", "early_help"), ("child_in_need_children", "child_in_need"),
                                ("cp_plan_children", "cp_plan"), ("service_children", "any")):
            mine, true = int(whole.loc[la, column]), int(truth[(la, service)])
            print(la, service, mine, true)
            assert abs(mine - true) <= max(5, 0.03 * true), (la, service, mine, true)


def test_the_gap_and_true_need_by_ward_reported_honestly(ingested, places, view):
    """The ward figures of estimated need are the authority's estimate shared out by identified children: printed
    against the truth, with each area's published estimate (a central figure, or an 'at least' floor and a range)
    against its true need. Asserted: the gap's arithmetic, that the apportionment ranks wards as the truth does
    (their identified children follow their true need), and that the published floor is below the true need."""
    truth = T.true_need_by_ward(ingested.folder / "truth", LATEST, places)
    wards = view[(view["area_level"] == "ward") & ~view["ward_code"].isin(NOT_WARDS)]
    both = wards.merge(truth, on=["la_code", "ward_code"], how="left")
    rows = []
    for la in sorted(view["la_code"].unique()):
        whole = view[(view["la_code"] == la) & (view["ward_code"] == "all")].iloc[0]
        true_total = truth["true_need"].sum() if la == "partnership" else truth.loc[truth["la_code"] == la, "true_need"].sum()
        part = both[both["la_code"] == la]
        correlation = np.corrcoef(part["identified_children"].astype(float), part["true_need"])[0, 1] if len(part) else np.nan
        rows.append((la, whole["estimated_need_status"], whole["estimated_need_central"], whole["estimated_need_at_least"],
                     whole["estimated_need_lower"], whole["estimated_need_upper"], int(whole["identified_children"]),
                     true_total, correlation))
        if len(part):
            print(part[["ward_code", "identified_children", "estimated_need_at_least", "estimated_need_upper",
                        "true_need", "identified_receiving_service", "estimated_without_service_lower"]].to_string())
            assert correlation > 0.5, (la, correlation)  # wards with more identified neglect have more true need
        for end in ("central", "lower", "upper"):  # the gap: estimated need less the identified children with a service
            need, gap = part[f"estimated_need_{end}"], part[f"estimated_without_service_{end}"]
            assert np.allclose(gap, need - part["identified_receiving_service"], equal_nan=True)
            if need.notna().any():  # the wards share the area's figure out (the rest: no address, living elsewhere)
                assert need.sum() == pytest.approx(whole[f"estimated_need_{end}"], rel=0.02)
    report = pd.DataFrame(rows, columns=["la_code", "status", "central", "at_least", "lower", "upper", "identified",
                                         "true_need", "ward_correlation_identified_vs_true"])
    print(report.to_string())
    assert report["status"].isin(["estimate", "lower bound and range"]).all()  # every area has a published figure
    assert (report["true_need"] > report["identified"]).all()  # identified neglect is part of the need, never all
    assert (report["at_least"] <= report["true_need"]).all()  # the floor is a floor


def test_a_return_not_supplied_is_not_supplied_never_0(warehouse):
    early = warehouse.execute("""
        SELECT la_code, service_activity_status, commissioned_capacity, commissioned_caseload, spare_capacity
        FROM marts.commissioning_view WHERE period_end = DATE '2024-03-31' AND ward_code = 'all' ORDER BY la_code""").df()
    status = dict(zip(early["la_code"], early["service_activity_status"]))
    assert status == {"991": "supplied", "992": "not supplied", "partnership": "not supplied by Eastmere"}
    assert early.loc[early["la_code"] != "991", ["commissioned_capacity", "commissioned_caseload"]].isna().all().all()
    availability = warehouse.execute("""SELECT status FROM marts.source_availability WHERE source = 'service_activity'
                                        AND la_code = '992' AND period_end = DATE '2024-03-31'""").fetchall()
    assert availability == [("not supplied",)]


def test_commissioned_caseload_is_the_returns(ingested, view):
    """The view's caseload and places are the returns' own (truth/service_activity.csv: every row written)."""
    returns = pd.read_csv(ingested.folder / "truth" / "service_activity.csv", dtype={"lea": str})
    returns = returns[returns["quarter_end"] == LATEST].groupby("lea")[["capacity", "caseload"]].sum()
    whole = view[(view["ward_code"] == "all") & (view["la_code"] != "partnership")].set_index("la_code")
    for la in returns.index:
        assert int(whole.loc[la, "commissioned_capacity"]) == int(returns.loc[la, "capacity"])
        assert int(whole.loc[la, "commissioned_caseload"]) == int(returns.loc[la, "caseload"])


def test_the_projection_is_what_the_truths_rates_imply(ingested, warehouse):
    projection = warehouse.execute("""SELECT la_code, projection_year, projected_children, ci95_lower, ci95_upper,
                                             current_mid_year FROM marts.neglect_projection
                                      WHERE period_end = DATE '2026-03-31' AND age_band = 'All ages'
                                        AND horizon_years > 0 AND la_code <> 'partnership'""").df()
    mid = int(projection["current_mid_year"].iloc[0])
    truth = T.truth_projection(ingested.folder, LATEST, FIRST_CENSUS_YEAR_START, mid, [mid + 1, mid + 2, mid + 3])
    both = projection.merge(truth, left_on=["la_code", "projection_year"], right_on=["la_code", "year"])
    print(both.to_string())
    assert len(both) == 6 and projection["projected_children"].notna().all()
    assert ((both["projected_children"] - both["projected"]).abs() <= 0.02 * both["projected"]).all()
    # the intervals are about the rates' sampling error: a few per cent wide, and they contain the truth's figure
    # or miss it by no more than the linkage error
    width = (both["ci95_upper"] - both["ci95_lower"]) / both["projected_children"]
    assert width.between(0.02, 0.3).all()


def test_the_projection_file_starts_from_the_simulated_population(ingested):
    """The synthetic projection's base year is the simulated children on its 30 June (the mid-year file's counts)
    and drifts as the configuration says (Northbrook grows, Eastmere shrinks)."""
    reference = ingested.folder / "incoming" / "reference"
    snpp = pd.read_csv(next((reference / "population_projections").glob("*persons.csv")))
    base = int(snpp.columns[5])
    population = pd.read_csv(reference / "population" / f"population_mid_{base}.csv")
    by_la = population.groupby(population.filter(regex="^LAD").columns[0])[f"population_{base}"].sum()
    assert (snpp.groupby("AREA_CODE")[str(base)].sum().round() == by_la).all()
    totals = snpp.groupby("AREA_CODE")[[str(base), str(base + 5)]].sum()
    change = totals[str(base + 5)] / totals[str(base)] - 1
    drift = GeneratorConfig().population_drift
    codes = {la.lad_code: la.lea for la in GeneratorConfig().authorities}
    for area, value in change.items():
        births, young, older = drift[codes[area]]
        assert np.sign(value) == np.sign(young + older + births / 3), (area, value)


def test_the_commissioning_page_and_sheet(report_and_exports):
    report, exports = report_and_exports
    text = report.read_text(encoding="utf-8")
    section = text[text.index("id='commissioning'"):text.index('id="data-quality"')]
    assert "Need against service" in section and "Projected children with identified neglect" in section
    assert 'data-chart="commissioning_projection"' in section
    from openpyxl import load_workbook
    book = load_workbook(next(exports.glob("*.xlsx")), read_only=True)
    assert {"commissioning", "projection"} <= {s.lower() for s in book.sheetnames}, book.sheetnames


@pytest.fixture(scope="module")
def report_and_exports(ingested):
    folder = ingested.settings.output_dir / "dashboards" / LATEST
    return folder / f"neglect_board_report_{LATEST}.html", folder / "exports"
