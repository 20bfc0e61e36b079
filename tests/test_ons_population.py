"""The ONS population reader: columns by header pattern, ages 0-17, rejects with line numbers."""
from __future__ import annotations

import pytest

from population_fixtures import HEADER, WARDS, population_lines, write_population
from sources.errors import SourceFileError
from sources.ons_population import OUTPUT_DTYPES, population_files, read_population_file, read_population_files


def test_reads_a_complete_file(tmp_path):
    path = write_population(tmp_path, 2024)
    read = read_population_file(path)
    rows = read.rows
    assert list(rows.columns) == list(OUTPUT_DTYPES)
    assert len(rows) == len(WARDS) * 36
    assert read.rejects.empty and read.over_17 == 0
    assert set(rows["mid_year"]) == {2024}
    assert set(rows["sex"]) == {1, 2} and set(rows["age"]) == set(range(18))
    first = rows.iloc[0]
    assert (first["ward_code"], first["ward_name"], first["la_code"], first["la_name"]) == WARDS[0]
    assert (first["sex"], first["age"], first["population"]) == (1, 0, 10)
    assert (first["source_file"], first["source_line"]) == ("population_mid_2024.csv", 2)
    assert rows["source_line"].iloc[-1] == len(rows) + 1
    assert rows["population"].sum() == len(WARDS) * 2 * sum(10 + a for a in range(18))


def test_adult_ages_are_dropped_and_counted_not_rejected(tmp_path):
    path = write_population(tmp_path, 2024, population_lines(2024, ages=range(91)))
    read = read_population_file(path)
    assert read.rejects.empty
    assert read.over_17 == len(WARDS) * 2 * (91 - 18)
    assert read.rows["age"].max() == 17 and len(read.rows) == len(WARDS) * 36


def test_other_geography_vintage_and_mid_year_from_header(tmp_path):
    lines = population_lines(2022)
    lines[0] = "WD22CD,WD22NM,LAD22CD,LAD22NM,sex,age,population_2022"
    read = read_population_file(write_population(tmp_path, 2022, lines))
    assert len(read.rows) == len(WARDS) * 36 and set(read.rows["mid_year"]) == {2022}


def test_bad_values_go_to_rejects_with_their_line(tmp_path):
    lines = population_lines(2024)
    lines[3] = lines[3].replace(",1,2,", ",3,2,")  # line 4: sex 3
    lines[5] = ",".join(["", *lines[5].split(",")[1:]])  # line 6: blank ward code
    parts = lines[7].split(",")
    lines[7] = ",".join([*parts[:-1], "12.5"])  # line 8: count not a whole number
    read = read_population_file(write_population(tmp_path, 2024, lines))
    rejects = read.rejects
    assert list(rejects.columns) == ["file", "line", "field", "rule", "message"]
    assert list(zip(rejects["line"], rejects["field"], rejects["rule"])) == [
        (4, "sex", "allowed"), (6, "ward_code", "required"), (8, "population", "integer")]
    assert set(rejects["file"]) == {"population_mid_2024.csv"}
    assert rejects.iloc[0]["message"] == "sex '3' is not one of 1, 2"
    assert len(read.rows) == len(WARDS) * 36 - 3  # the three rows are not in the output
    assert not read.rows["source_line"].isin([4, 6, 8]).any()


def test_missing_column_raises_with_file_line_and_column(tmp_path):
    lines = population_lines(2024)
    lines[0] = HEADER.format(year=2024).replace(",sex,", ",gender,")
    path = write_population(tmp_path, 2024, lines)
    with pytest.raises(SourceFileError) as err:
        read_population_file(path)
    assert str(err.value) == ("population_mid_2024.csv, line 1 (header): required column 'sex' not found; "
                              "expected a header matching ^sex$")
    assert err.value.path == path and err.value.location == "line 1 (header)"


@pytest.mark.parametrize("content, problem", [
    (b"", "the file is empty"),
    (b"PK\x03\x04\x00\x00binary", "not a readable .xlsx workbook"),
    (HEADER.format(year=2024).encode() + b"\n", "no data rows"),
])
def test_unreadable_files_raise(tmp_path, content, problem):
    path = tmp_path / "population_mid_2024.csv"
    path.write_bytes(content)
    with pytest.raises(SourceFileError, match=problem):
        read_population_file(path)


@pytest.mark.parametrize("encoding, newline", [("cp1252", "\r\n"), ("utf-8-sig", "\n")])
def test_cp1252_and_utf8_with_bom(tmp_path, encoding, newline):
    wards = [("E05900003", "Ashby-de-la-Zouch Café", "E06000901", "Northbrook")]
    path = write_population(tmp_path, 2024, population_lines(2024, wards=wards), encoding=encoding, newline=newline)
    read = read_population_file(path)
    assert read.encodings == {"population_mid_2024.csv": encoding}
    assert len(read.rows) == 36 and read.rejects.empty
    assert set(read.rows["ward_name"]) == {"Ashby-de-la-Zouch Café"}
    assert read.rows["ward_code"].iloc[0] == "E05900003"  # no BOM glued to the first header or value


def test_reads_every_file_in_the_folder(tmp_path):
    for year in (2023, 2024):
        write_population(tmp_path, year)
    read = read_population_files(population_files(tmp_path))
    assert read.files == ["population_mid_2023.csv", "population_mid_2024.csv"]
    assert read.rows.groupby("mid_year").size().to_dict() == {2023: len(WARDS) * 36, 2024: len(WARDS) * 36}
