"""The commissioning inputs (issue 20): service-activity returns and ONS subnational population projections, read
from hand-written files in their published layouts (tests/fixtures/commissioning/), and the projection's
arithmetic (models.marts.commissioning, models.intervals.weighted_count_interval) on a hand-made warehouse."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from models.intervals import count_interval, weighted_count_interval
from models.marts.projection import neglect_projection
from sources.errors import SourceFileError
from sources.population_projections import read_population_projections
from sources.registry import load_registry
from sources.service_activity import read_service_activity

FIXTURES = Path(__file__).parent / "fixtures" / "commissioning"
SNPP = FIXTURES / "population_projections" / "2022 SNPP Population persons.csv"
ACTIVITY = FIXTURES / "service_activity" / "2026-03-31" / "service_activity_2026q1.csv"


def test_both_sources_are_declared_optional():
    registry = load_registry()
    activity, projections = registry["service_activity"], registry["population_projections"]
    assert activity.partitioning == "quarter" and not activity.required and activity.period_files == "several"
    assert projections.partitioning == "reference" and not projections.required
    assert activity.matches_name("service_activity_2026q1.csv") and activity.matches_name("Service_Activity.xlsx")
    assert projections.matches_name("population_projections/2022 SNPP Population persons.csv")


def test_service_activity_rows_and_rejects_by_rule():
    read = read_service_activity(ACTIVITY)
    assert read.rows_read == 12 and len(read.rows) + read.rejected_lines == read.rows_read
    rules = dict(zip(read.rejects["source_line"], read.rejects["rule"]))
    assert rules == {6: "duplicate_row", 8: "invalid_code", 9: "invalid_code", 10: "other_quarter",
                     11: "not_a_quarter_end", 12: "no_figures", 13: "invalid_number"}
    rows = read.rows.set_index("source_line")
    assert rows.loc[2, ["service_type", "ward_code", "capacity", "caseload"]].tolist() == \
        ["family_support", "E05900001", 40, 37]
    assert pd.isna(rows.loc[4, "caseload"]) and rows.loc[4, "service_type"] == "early_help"  # capacity only
    assert pd.isna(rows.loc[5, "ward_code"]) and rows.loc[5, "service_type"] == "parenting_programme"  # authority-wide
    assert rows.loc[7, "service_type"] == "family_support" and pd.isna(rows.loc[7, "capacity"])  # caseload only


def test_service_activity_in_another_wording_reads_the_same(tmp_path):
    folder = tmp_path / "992_eastmere" / "2025-09-30"
    folder.mkdir(parents=True)
    path = folder / "service_activity_q2.csv"
    path.write_bytes("Programme,Type of Service,Delivered By,WD24CD,Quarter Ending,Places,Children Supported\r\n"
                     "Incredible Years,Parenting,Coastline Parenting Trust,,30/09/2025,12,9\r\n"
                     "Eastmere Family Hub,Targeted Early Help,Eastmere Council,E05910001,2025-09-30,8,7\r\n"
                     .encode("cp1252"))
    read = read_service_activity(path)
    assert read.rejected_lines == 0 and read.rows["service_type"].tolist() == ["parenting_programme", "early_help"]
    assert read.rows["caseload"].tolist() == [9, 7] and read.rows["authority"].iloc[0] == "992_eastmere"


def test_snpp_reads_ages_0_to_17_of_each_year():
    read = read_population_projections(SNPP)
    rows = read.rows
    assert read.rejected_lines == 0 and read.rows_read == 26
    assert set(rows["base_year"]) == {2022} and sorted(rows["year"].unique()) == [2022, 2023, 2024, 2025]
    assert set(rows["sex"]) == {"P"} and rows["age"].between(0, 17).all()
    darlington = rows[(rows["area_code"] == "E06000005") & (rows["year"] == 2024)]
    assert len(darlington) == 18 and darlington.loc[darlington["age"] == 3, "population"].item() == pytest.approx(1136.509)
    assert rows[rows["area_code"] == "E06000047"]["age"].unique().tolist() == [0, 1, 17]
    assert any("3 rows aged 18 and over" in n for n in read.notes) and any("'All ages'" in n for n in read.notes)


def test_snpp_defects_are_rejected_each_with_its_rule(tmp_path):
    path = tmp_path / "2018 SNPP Population males.csv"
    path.write_text('"AREA_CODE","AREA_NAME","COMPONENT","SEX","AGE_GROUP","2018","2019"\n'
                    "E06000005,Darlington,Population,males,0,520.000,515.100\n"
                    "E0600005,Darlington,Population,males,1,530.000,522.000\n"  # not a GSS code
                    "E06000005,Darlington,Population,men,2,540.000,531.000\n"  # unknown sex
                    "E06000005,Darlington,Population,males,two,540.000,531.000\n"  # not an age
                    "E06000005,Darlington,Population,males,3,n/a,531.000\n"  # not a number
                    "E06000005,Darlington,Population,males,0,520.000,515.100\n"  # the same area, sex and age again
                    "E06000005,Darlington,Births,males,0,512.000,509.000\n"  # another component: not used
                    "E06000005,Darlington,Population,males,4,551.000,540.250\n", encoding="utf-8")
    read = read_population_projections(path)
    assert dict(zip(read.rejects["source_line"], read.rejects["rule"])) == {
        3: "invalid_code", 4: "invalid_code", 5: "invalid_age", 6: "not_a_number", 7: "duplicate_row"}
    assert sorted(read.rows["age"].unique()) == [0, 4] and set(read.rows["sex"]) == {"M"}
    assert any("another component" in n for n in read.notes)


def test_a_file_without_year_columns_is_refused(tmp_path):
    path = tmp_path / "snpp_population.csv"
    path.write_text("AREA_CODE,AREA_NAME,COMPONENT,SEX,AGE_GROUP,population\nE06000005,D,Population,persons,0,5\n")
    with pytest.raises(SourceFileError, match="no year columns"):
        read_population_projections(path)


def test_weighted_count_interval_is_dobson():
    assert weighted_count_interval([100], [1.0]) == pytest.approx((100, *count_interval(100)[:2]))
    total, lower, upper = weighted_count_interval([100], [2.0])  # one band: the count's interval, scaled
    assert (total, lower, upper) == pytest.approx((200, 2 * count_interval(100)[0], 2 * count_interval(100)[1]))
    counts, weights = np.array([120, 40, 8]), np.array([1.05, 0.9, 1.2])
    o_lower, o_upper, _ = count_interval(168)
    spread = np.sqrt((weights ** 2 * counts).sum() / 168)
    expected = (weights * counts).sum()
    assert weighted_count_interval(counts, weights) == pytest.approx(
        (expected, expected + spread * (o_lower - 168), expected + spread * (o_upper - 168)))
    assert weighted_count_interval([0, 0], [1.0, 2.0])[:2] == (0.0, 0.0)


def _projection_warehouse(with_snpp: bool) -> duckdb.DuckDBPyConnection:
    """marts.neglect_prevalence (tiers 1-4, 12 months) for one authority and the partnership, and optionally a
    2024-based projection for it: the figures the projection is made from."""
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts; CREATE SCHEMA raw")
    bands = {"0-4": (30, 3000), "5-9": (40, 3500), "10-15": (60, 4200), "16-17": (20, 1300), "Not known": (2, None)}
    rows = [("all", "All children", 152, 12000)] + [("age_band", b, c, p) for b, (c, p) in bands.items()]
    frame = pd.DataFrame([(date(2026, 3, 31), "12_month", "1-4", la, name, b, v, c, p, 2025, "complete")
                          for la, name in (("991", "Northbrook"), ("partnership", "Partnership"))
                          for b, v, c, p in rows],
                         columns=["period_end", "measure", "tier_set", "la_code", "la_name", "breakdown",
                                  "breakdown_value", "children", "population", "population_mid_year", "availability"])
    conn.register("p", frame)
    conn.execute("CREATE TABLE marts.neglect_prevalence AS SELECT * FROM p")
    conn.execute("CREATE TABLE raw.la_codes AS SELECT '991' AS la_code, 'E06000901' AS lad_code, 'Northbrook' AS la_name")
    if with_snpp:
        snpp = pd.DataFrame([(2024, "E06000901", "Northbrook", "P", age, year, 200.0 + age + 10 * (year - 2024))
                             for age in range(18) for year in range(2024, 2030)],
                            columns=["base_year", "area_code", "area_name", "sex", "age", "year", "population"])
        conn.register("s", snpp)
        conn.execute("CREATE TABLE raw.population_projections AS SELECT * FROM s")
    return conn


def test_projection_is_current_rates_times_the_projected_population():
    conn = _projection_warehouse(with_snpp=True)
    frame = neglect_projection(conn, [date(2026, 3, 31)])
    row = frame[(frame["la_code"] == "991") & (frame["age_band"] == "All ages")].set_index("horizon_years")
    assert row.loc[0, "projected_children"] == 150 and row.loc[0, "children_age_not_known"] == 2
    band_population = {"0-4": range(0, 5), "5-9": range(5, 10), "10-15": range(10, 16), "16-17": range(16, 18)}
    current = {"0-4": (30, 3000), "5-9": (40, 3500), "10-15": (60, 4200), "16-17": (20, 1300)}
    for horizon in (1, 2, 3):
        year = 2025 + horizon
        future = {b: sum(200.0 + a + 10 * (year - 2024) for a in ages) for b, ages in band_population.items()}
        expected = sum(c / p * future[b] for b, (c, p) in current.items())
        assert row.loc[horizon, "projection_year"] == year
        assert row.loc[horizon, "projected_children"] == pytest.approx(expected)
        lower, upper = row.loc[horizon, ["ci95_lower", "ci95_upper"]]
        assert lower < expected < upper and row.loc[horizon, "snpp_base_year"] == 2024
    # the partnership: its own rates over the projection of its (present) authorities
    partnership = frame[(frame["la_code"] == "partnership") & (frame["age_band"] == "All ages")]
    assert partnership["availability"].eq("available").all()


def test_without_a_projection_file_the_future_is_not_available_never_0():
    conn = _projection_warehouse(with_snpp=False)
    frame = neglect_projection(conn, [date(2026, 3, 31)])
    future = frame[frame["horizon_years"] > 0]
    assert (future["availability"] == "not available").all() and future["projected_children"].isna().all()
    assert future["availability_note"].str.contains("no ONS subnational population projections").all()
    assert (frame.loc[frame["horizon_years"] == 0, "availability"] == "available").all()
