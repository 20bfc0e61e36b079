"""The readers of the denominators added for issue 20, on hand-written files in the published layouts
(tests/fixtures/reference/denominators/): ONS LSOA mid-year estimates (ONS's table with F0 ... M90 columns, and the
long layout of the ward files), Census 2021 ethnic group (Nomis's TS021 bulk file; ONS's RM032 custom dataset by
age), the IoD 2025 file with IDACI, and the ONS population by authority in DfE's EES layout."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sources import ees
from sources.census_ethnicity import category_group, read_census_ethnicity
from sources.deprivation import read_deprivation
from sources.errors import SourceFileError
from sources.ons_population_lsoa import mid_year_from_name, read_population_lsoa
from sources.registry import load_registry

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "reference" / "denominators"


def _rejected(read) -> list[tuple[int, str, str]]:
    return sorted(set(read.rejects[["source_line", "field", "rule"]].itertuples(index=False, name=None)))


def test_onss_lsoa_table_is_read_by_its_age_columns_children_only():
    read = read_population_lsoa(FIXTURES / "sapelsoasyoa_mid_2022.csv")
    rows = read.rows
    assert read.rows_read == 4  # the blank line is not a row
    assert _rejected(read) == [(5, "lsoa_code", "pattern"), (6, "F3", "integer")]
    assert set(rows["mid_year"]) == {2022} and set(rows["lsoa_code"]) == {"E01020618", "E01020619"}
    assert rows["age"].between(0, 17).all() and len(rows) == 2 * 2 * 18  # two LSOAs, two sexes, ages 0-17
    a = rows[rows["lsoa_code"] == "E01020618"].set_index(["sex", "age"])["population"]
    assert a[(2, 0)] == 10 and a[(2, 2)] == 12 and a[(1, 0)] == 12 and a[(1, 1)] == 13  # F: 10 + age % 3; M: 12 + age % 2
    assert a.xs(2, level="sex").sum() == sum(10 + x % 3 for x in range(18))
    assert set(rows["lad_code"]) == {"E06000047"} and rows["sex"].isin([1, 2]).all()


def test_the_mid_year_comes_from_the_file_name_or_the_file_is_refused():
    assert mid_year_from_name(Path("lsoa_population_mid_2024.csv")) == 2024
    assert mid_year_from_name(Path("sapelsoasyoa2022.csv")) == 2022
    assert mid_year_from_name(Path("sapelsoasyoa20192022.csv")) is None  # two years: which sheet?
    with pytest.raises(SourceFileError, match="mid-year"):
        read_population_lsoa(FIXTURES / "sapelsoasyoa.csv")


def test_the_long_layout_reads_like_the_ward_files():
    read = read_population_lsoa(FIXTURES / "lsoa_population_long_2023.csv")
    assert set(read.rows["mid_year"]) == {2023} and read.rows_read == 6
    assert _rejected(read) == [(6, "sex", "allowed"), (7, "population", "integer")]
    kept = read.rows.set_index(["lsoa_code", "sex", "age"])["population"]
    assert kept[("E01020618", 1, 17)] == 1002 and len(kept) == 3  # aged 30: dropped, not rejected


def test_a_malformed_lsoa_line_is_rejected_not_lost_in_either_layout(tmp_path):
    """A line the CSV reader cannot use (here: more values than the header has columns, an unquoted comma in a
    name) is a reject with its line number in both layouts, and counted as read: every line is loaded or
    rejected. (Eleven good lines: a file with more than 10 % such lines is refused as a whole.)"""
    ages = ",".join(f"F{a}" for a in range(18)) + "," + ",".join(f"M{a}" for a in range(18))
    counts = ",".join(["1"] * 36)
    good = [f"E06000047,County Durham,E010206{n:02d},County Durham 0{n:02d}A,36,{counts}" for n in range(11)]
    published = tmp_path / "lsoa_population_mid_2024.csv"
    published.write_text("\n".join([f"LAD 2021 Code,LAD 2021 Name,LSOA 2021 Code,LSOA 2021 Name,Total,{ages}",
                                     *good[:2], f"E06000047,Durham, County,E01020699,Durham 099A,36,{counts}",
                                     *good[2:]]) + "\n", encoding="utf-8")
    read = read_population_lsoa(published)
    assert _rejected(read) == [(4, "", "malformed_line")]
    assert "values where the header has" in read.rejects["message"].iloc[0]
    assert read.rows_read == 12 and read.rows["lsoa_code"].nunique() == 11
    assert "E01020699" not in set(read.rows["lsoa_code"]) and 4 not in set(read.rows["source_line"])

    good = [f"E010206{n:02d},County Durham 0{n:02d}A,E06000047,County Durham,1,{n},12" for n in range(11)]
    long = tmp_path / "lsoa_population_long_2024.csv"
    long.write_text("\n".join(["LSOA21CD,LSOA21NM,LAD24CD,LAD24NM,sex,age,population_2024", *good[:2],
                               "E01020699,Durham 099A,E06000047,Durham, County,2,0,11", *good[2:]]) + "\n",
                    encoding="utf-8")
    read = read_population_lsoa(long)
    assert _rejected(read) == [(4, "", "malformed_line")]
    assert read.rows_read == 12 and len(read.rows) == 11 and 4 not in set(read.rows["source_line"])


def test_census_ts021_maps_every_category_to_the_childrens_broad_groups():
    read = read_census_ethnicity(FIXTURES / "census2021-ts021-lsoa.csv")
    assert _rejected(read) == [(4, "Ethnic group: Asian, Asian British or Asian Welsh: Bangladeshi", "integer")]
    groups = read.rows.groupby(["area_code", "ethnicity_group"])["population"].sum()
    a = groups["E01020618"]
    # the detailed categories are read (not the high-level ones): Chinese goes with DfE's CHNE, to Other
    assert a.to_dict() == {"Asian or Asian British": 30, "Black or Black British": 20, "Mixed": 30,
                           "Other ethnic group": 20, "White": 1400}
    assert a.sum() == 1500  # the file's total of all usual residents
    assert set(read.rows["area_type"]) == {"lsoa"} and set(read.rows["age_basis"]) == {"all usual residents"}


def test_rm032_keeps_the_youngest_band_only_and_leaves_does_not_apply_out():
    read = read_census_ethnicity(FIXTURES / "RM032_ethnic_group_by_age_lsoa.csv")
    assert set(read.rows["age_basis"]) == {"aged 15 years and under"}
    assert _rejected(read) == [(12, "population", "integer")]
    a = read.rows[read.rows["area_code"] == "E01020618"].groupby("ethnicity_group")["population"].sum()
    assert a.to_dict() == {"Asian or Asian British": 3, "Black or Black British": 5, "Mixed": 6,
                           "Other ethnic group": 6, "White": 280}  # Chinese (2) with Other (4)


def test_census_category_labels():
    assert category_group("Ethnic group: Total: All usual residents") == (None, False)
    assert category_group("White") == ("White", False)
    assert category_group("Ethnic group: Asian, Asian British or Asian Welsh: Chinese") == ("Other ethnic group", True)
    assert category_group("Mixed or Multiple ethnic groups: White and Asian") == ("Mixed", True)
    assert category_group("Does not apply") == (None, False)


def test_iod2025_with_idaci_reads_both_indices():
    read = read_deprivation(FIXTURES / "iod2025_file7_idaci.csv")
    rows = read.rows.set_index("lsoa_code")
    assert rows.loc["E01012290", ["imd_decile", "idaci_rank", "idaci_decile"]].tolist() == [4, 9870, 3]
    assert len(read.rejects) == 0


def test_the_population_by_authority_in_dfes_layout():
    read = ees.read_population_by_la(FIXTURES / "ons_mid-year_population_estimates_fixture.csv")
    rows = read.rows.set_index(read.rows["la_code"].fillna(read.rows["geographic_level"]))
    assert list(read.rows.columns[:12]) == ees.POPULATION_COLUMNS
    assert rows.loc["840", "population"] == 100432 and rows.loc["National", "population"] == 12183016
    assert pd.isna(rows.loc["390", "population"]) and rows.loc["390", "population_note"].startswith("x:")  # never 0
    assert _rejected(read) == [(7, "la_code", "missing_la_code"), (8, "population_estimate", "not_a_number")]
    assert rows.loc["841", "source"].startswith("ONS mid-year population estimates, mid-2024")


def test_the_new_sources_are_optional_reference_sources():
    registry = load_registry()
    for name in ("ons_population_lsoa", "census_ethnicity", "published_population"):
        assert registry[name].partitioning == "reference" and not registry[name].required
    assert registry["published_population"].shipped_path.is_file()


def test_a_folder_of_lsoa_files_loads_every_mid_year_with_an_audit_row_each(tmp_path):
    """reference/population_lsoa/ holds one file per mid-year: the reference asset reads them all into one table."""
    import shutil

    import duckdb

    from pipelines.assets.reference import load_reference
    from sources.incoming import find_reference

    incoming = tmp_path / "incoming"
    folder = incoming / "reference" / "population_lsoa"
    folder.mkdir(parents=True)
    for name in ("sapelsoasyoa_mid_2022.csv", "lsoa_population_long_2023.csv"):
        shutil.copy(FIXTURES / name, folder / name)
    source = load_registry()["ons_population_lsoa"]
    found = find_reference(incoming, source)
    assert [p.name for p in found] == ["lsoa_population_long_2023.csv", "sapelsoasyoa_mid_2022.csv"]
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS raw")
        load_reference(conn, source, found, incoming, "run-1")
        years = dict(conn.execute("SELECT mid_year, count(*) FROM raw.ons_population_lsoa GROUP BY ALL").fetchall())
        audit = conn.execute("SELECT file, rows_read, rows_loaded, rows_rejected FROM quality.load_audit "
                             "WHERE source = 'ons_population_lsoa' ORDER BY file").fetchall()
        rejects = conn.execute("SELECT count(*) FROM quality.rejects WHERE source = 'ons_population_lsoa'").fetchall()
    assert years == {2022: 72, 2023: 3}
    assert audit == [("reference/population_lsoa/lsoa_population_long_2023.csv", 6, 3, 2),
                     ("reference/population_lsoa/sapelsoasyoa_mid_2022.csv", 4, 72, 2)]
    assert rejects == [(4,)]
