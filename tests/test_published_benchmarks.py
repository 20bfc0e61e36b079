"""The shipped published comparators (models/marts/reference/published/) read through their registered
sources, checked against the national figures in the domain brief (../shared/domain.md): England 2023 neglect
at the end of assessment, children on CP plans at 31 March, and the share with factor 16A."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from sources.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = ROOT.parent / "shared" / "domain.md"  # the brief, beside the repository when it is checked out there

# England, from the domain brief (DfE Characteristics of children in need)
NEGLECT_AT_ASSESSMENT_2023 = (82_260, 508_360)  # episodes with 16A, of episodes with factors recorded
CP_PLANS_AT_31_MARCH = {2024: 49_900, 2025: 49_420}
SHARE_16A = {2024: 16.5, 2025: 17.6}  # per cent of episodes with factors recorded


def _read(name):
    source = load_registry()[name]
    return source.read(source.shipped_path).rows


def _england(rows, year):
    row = rows[(rows["geographic_level"] == "National") & (rows["time_period"] == year)]
    assert len(row) == 1, f"one England row for {year}"
    return row.iloc[0]


def test_england_neglect_at_assessment_matches_the_brief():
    rows = _read("published_cin_factors")
    england = _england(rows, 2023)
    assert (england["numerator"], england["denominator"]) == NEGLECT_AT_ASSESSMENT_2023
    for year, share in SHARE_16A.items():
        e = _england(rows, year)
        assert round(100 * e["numerator"] / e["denominator"], 1) == share


def test_england_cp_plans_at_31_march_match_the_brief():
    rows = _read("published_cp_duration")
    for year, count in CP_PLANS_AT_31_MARCH.items():
        assert _england(rows, year)["denominator"] == count


@pytest.mark.skipif(not DOMAIN.is_file(), reason="the domain brief is not beside the repository")
def test_the_figures_above_are_the_briefs():
    text = DOMAIN.read_text(encoding="utf-8")
    assert "82,260 episodes of 508,360" in text
    for year, count in CP_PLANS_AT_31_MARCH.items():
        assert re.search(rf"\| {year} \|[^\n]*\| {count:,} \|", text), year
    assert "16.5 % (2024), 17.6 % (2025)" in text


@pytest.mark.parametrize("name", ["published_cin_factors", "published_cp_duration", "published_cp_subsequent",
                                  "published_rereferrals"])
def test_every_authority_and_region_is_there_and_adds_up_to_england(name):
    rows = _read(name)
    latest = rows[rows["time_period"] == rows["time_period"].max()]
    las = latest[latest["geographic_level"] == "Local authority"]
    assert las["la_code"].nunique() == 153 and las["la_code"].str.fullmatch(r"\d{3}").all()
    assert latest["geographic_level"].eq("Regional").sum() == 11  # 9 regions, Inner and Outer London
    assert latest["source"].str.contains(str(latest["time_period"].iloc[0])).all()
    assert latest["table_id"].notna().all()
    england = _england(rows, int(latest["time_period"].iloc[0]))
    # authorities' unrounded counts, suppressed cells left out, add up to England's rounded total
    for column in ("numerator", "denominator"):
        total = las[column].sum()
        assert england[column] - 5 - 5 * las[f"{column}_note"].notna().sum() <= total <= england[column] + 5


def test_statistical_neighbours_cover_the_published_authorities():
    neighbours = _read("statistical_neighbours")
    assert (neighbours.groupby("la_code").size() == 10).all() and neighbours["la_code"].nunique() == 152
    published = set(_read("published_cin_factors")["la_code"].dropna())
    # Cumberland and Westmorland and Furness (2023) have no April 2021 groupings
    assert published - set(neighbours["la_code"]) == {"942", "943"}
    assert set(neighbours["closeness"]) <= {"Extremely Close", "Very Close", "Close", "Somewhat close", "Not Close"}


def _materialise(tmp_path, name):
    import duckdb
    from dagster import materialize

    from pipelines.assets.reference import build_reference_asset
    from pipelines.resources import IncomingExtracts, RefreshState, WarehouseResource

    warehouse = tmp_path / "warehouse" / "neglect.duckdb"
    result = materialize([build_reference_asset(load_registry()[name])], raise_on_error=False, resources={
        "warehouse": WarehouseResource(database=str(warehouse)),
        "extracts": IncomingExtracts(incoming_dir=str(tmp_path / "incoming")), "refresh": RefreshState()})
    assert result.success
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        rows = conn.execute(f"SELECT count(*), max(time_period) FROM raw.{name}").fetchone()
        audit = conn.execute("SELECT file, status FROM quality.load_audit WHERE source = ?", [name]).fetchall()
    recomputed = result.asset_materializations_for_node(f"raw__{name}")[0].metadata["recomputed"].value
    return rows, audit, recomputed


def test_the_shipped_copy_is_loaded_until_a_file_is_dropped_in(tmp_path):
    (tmp_path / "incoming" / "reference").mkdir(parents=True)
    rows, audit, recomputed = _materialise(tmp_path, "published_cp_duration")
    assert rows == (166, 2025) and recomputed
    assert audit == [("shipped: models/marts/reference/published/cp_plans_by_duration.csv", "loaded")]
    # the same file again: not read again (@reusable on the files' version), the table as it was
    assert _materialise(tmp_path, "published_cp_duration") == (rows, audit, False)
    dropped = tmp_path / "incoming" / "reference" / "d5_cpps_at31march_by_duration_2013_to_2026.csv"
    dropped.write_text((ROOT / "tests" / "fixtures" / "reference" / "ees" / "d5_cpps_at31march_by_duration_fixture.csv")
                       .read_text(encoding="utf-8").replace("2024,", "2026,"), encoding="utf-8")
    rows, audit, recomputed = _materialise(tmp_path, "published_cp_duration")
    assert rows == (4, 2026) and audit == [("reference/" + dropped.name, "loaded")] and recomputed


def test_an_unreadable_file_reused_still_fails_its_check_and_leaves_the_table_empty(tmp_path):
    """A file that could not be read, unchanged at the next run: the asset is reused (not read again) and reports
    the failed check again, with the same message; the table stays empty and the audit says failed."""
    import duckdb
    from dagster import materialize

    from pipelines.assets.reference import build_reference_asset
    from pipelines.resources import IncomingExtracts, RefreshState, WarehouseResource

    (tmp_path / "incoming" / "reference").mkdir(parents=True)
    (tmp_path / "incoming" / "reference" / "d5_cpps_at31march_by_duration_2013_to_2026.csv").write_text(
        "not,the,published,layout\n1,2,3,4\n", encoding="utf-8")
    warehouse = tmp_path / "warehouse" / "neglect.duckdb"
    results = []
    for _ in range(2):
        result = materialize([build_reference_asset(load_registry()["published_cp_duration"])], raise_on_error=False,
                             resources={"warehouse": WarehouseResource(database=str(warehouse)),
                                        "extracts": IncomingExtracts(incoming_dir=str(tmp_path / "incoming")),
                                        "refresh": RefreshState()})
        (check,) = result.get_asset_check_evaluations()
        recomputed = result.asset_materializations_for_node("raw__published_cp_duration")[0].metadata["recomputed"]
        results.append((check.passed, check.description, recomputed.value))
    assert results[0][0] is False and "could not be read" in results[0][1] and results[0][2] is True
    assert results[1] == (False, results[0][1], False)
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM raw.published_cp_duration").fetchall()[0][0] == 0
        assert conn.execute("SELECT status FROM quality.load_audit WHERE source = 'published_cp_duration'"
                            ).fetchall() == [("failed",)]


# England's CP rate per 10,000 children aged 0-17 in the brief (DfE's count over the ONS mid-year before)
CP_RATE = {2024: 41.4, 2025: 40.6}


def test_the_population_dfe_divides_by_gives_the_briefs_cp_rates():
    """The shipped ONS estimates of children aged 0-17 (mid-2023 and mid-2024, as DfE publishes them) reproduce
    England's CP rates in the brief from its counts: DfE's rate for the year to 31 March Y divides by mid-(Y-1)."""
    population = _read("published_population")
    for year, rate in CP_RATE.items():
        england = _england(population, year - 1)
        assert round(1e4 * CP_PLANS_AT_31_MARCH[year] / england["population"], 1) == rate
    assert (population["source"].str.contains("mid-20").all() and population["table_id"].notna().all())


def test_every_authority_has_a_population_adding_up_to_england_and_its_region():
    population = _read("published_population")
    mid_2024 = population[population["time_period"] == 2024]
    las = mid_2024[mid_2024["geographic_level"] == "Local authority"]
    assert las["la_code"].nunique() == 153 and las["population"].notna().all()
    assert las["population"].sum() == _england(population, 2024)["population"]  # ONS totals are not rounded
    regions = mid_2024[mid_2024["geographic_level"] == "Regional"].set_index("region_code")["population"]
    for code, total in las.groupby("region_code")["population"].sum().items():
        assert total == regions[code], code
    assert set(las["la_code"]) == set(_read("published_cin_factors").query("time_period == 2025")["la_code"].dropna())


@pytest.mark.skipif(not DOMAIN.is_file(), reason="the domain brief is not beside the repository")
def test_the_cp_rates_above_are_the_briefs():
    text = DOMAIN.read_text(encoding="utf-8")
    for year, rate in CP_RATE.items():
        assert re.search(rf"\| {year} \|[^\n]*\| {CP_PLANS_AT_31_MARCH[year]:,} \| {rate} \|", text), year
