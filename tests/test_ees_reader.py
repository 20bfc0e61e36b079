"""The reader of DfE's published tables (EES CSV layout) and of the statistical neighbour groupings
(sources/ees.py), on hand-written files in the published layouts (tests/fixtures/reference/ees/)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sources import ees
from sources.errors import SourceFileError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "reference" / "ees"


def test_published_rows_keep_level_codes_and_counts():
    read = ees.read_cin_factors(FIXTURES / "c3_factors_identified_at_end_of_assessment_fixture.csv")
    rows = read.rows.set_index(read.rows["la_code"].fillna(read.rows["geographic_level"]))
    assert list(read.rows.columns[:16]) == ees.OUTPUT_COLUMNS
    assert set(read.rows["time_period"]) == {2025}  # '202425' is the year to March 2025
    assert rows.loc["National", ["numerator", "denominator"]].tolist() == [90370, 513250]  # "513,250" read
    assert rows.loc["Regional", "region_code"] == "E12000001"
    assert rows.loc["840", ["lad_code", "numerator", "denominator"]].tolist() == ["E06000047", 945, 4298]
    assert read.rows["measure"].eq("neglect_at_assessment").all() and read.rows["table_id"].eq("C3").all()
    # England and regional totals are rounded by DfE; an authority's are not
    assert rows.loc[["National", "Regional"], "rounded"].all() and not rows.loc["840", "rounded"]
    assert rows.loc["840", "source"].startswith("DfE, Children in need 2025")


def test_markers_are_not_available_with_the_reason_never_zero():
    read = ees.read_cin_factors(FIXTURES / "c3_factors_identified_at_end_of_assessment_fixture.csv")
    rows = read.rows.set_index("la_code")
    assert pd.isna(rows.loc["841", "numerator"]) and rows.loc["841", "numerator_note"].startswith("c: confidential")
    assert rows.loc["841", "denominator"] == 980 and pd.isna(rows.loc["841", "denominator_note"])
    assert rows.loc["420", "numerator_note"].startswith("low: rounds to 0")
    assert rows.loc["420", "denominator_note"].startswith("c:")  # '[c]', as EES writes it in brackets
    assert rows.loc["908", ["numerator_note", "denominator_note"]].tolist() == [": not available", "x: not available"]
    dur = ees.read_cp_duration(FIXTURES / "d5_cpps_at31march_by_duration_fixture.csv").rows.set_index("la_code")
    assert dur.loc["201", "numerator_note"] == "z: not applicable" and pd.isna(dur.loc["201", "published_percent"])
    assert dur.loc["392", "numerator_note"].startswith("k:") and dur.loc["392", "denominator"] == 133
    assert not (dur[["numerator", "denominator"]] == 0).any().any()


def test_rows_that_cannot_be_read_are_rejected_with_a_reason():
    read = ees.read_cin_factors(FIXTURES / "c3_factors_identified_at_end_of_assessment_fixture.csv")
    rules = dict(zip(read.rejects["source_line"], read.rejects["rule"]))
    assert rules == {8: "missing_la_code", 9: "unknown_level", 10: "not_a_number"}
    assert read.rows_read == 9 and len(read.rows) == 6
    assert "'n/a'" in read.rejects.loc[read.rejects["rule"] == "not_a_number", "message"].iloc[0]


def test_a_file_without_its_measure_column_is_refused(tmp_path):
    path = tmp_path / "c3_factors.csv"
    path.write_text("time_period,geographic_level,old_la_code,Episodes_with_assessment_factor\n2025,National,,5\n")
    with pytest.raises(SourceFileError, match="(?i)neglect"):
        ees.read_cin_factors(path)


def test_statistical_neighbours_ten_per_authority_in_order_with_closeness():
    read = ees.read_statistical_neighbours(FIXTURES / "Statistical_Neighbours_fixture.csv")
    rows = read.rows
    assert list(rows.columns[:6]) == ees.NEIGHBOUR_COLUMNS
    assert rows.groupby("la_code").size().to_dict() == {"841": 10, "909": 10}  # "Old SNs" block not read
    darlington = rows[rows["la_code"] == "841"].sort_values("neighbour_rank")
    assert darlington["neighbour_la_code"].tolist()[:3] == ["808", "344", "342"]
    assert darlington["closeness"].tolist()[:2] == ["Extremely Close", "Very Close"]
    assert darlington["region"].iloc[0] == "North East"
    assert read.rejects[["source_line", "rule"]].values.tolist() == [[4, "bad_la_code"]]
