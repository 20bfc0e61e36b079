"""CIN census header problems are return-level findings (DfE rule 100 and kin), not refusals.

The census year used: Year when valid and equal to the folder's year; else ReferenceDate's
year if that is the folder's; else Year (or ReferenceDate's year); else the folder's. The
reference date used is 31 March of that year.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sources.cin_census import HEADER_FINDING_COLUMNS, read_cin_census
from sources.errors import SourceFileError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cin"
SMALL = "cin_census_2026_small.xml"  # Year 2026 on line 10, ReferenceDate line 11, Source line 13, LEA line 15
YEAR, REF, LEA = "Header/CollectionDetails/Year", "Header/CollectionDetails/ReferenceDate", "Header/Source/LEA"


def variant(tmp_path: Path, *pairs: tuple[str, str], name: str = "cin.xml") -> Path:
    text = (FIXTURES / SMALL).read_text(encoding="utf-8")
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def found(result) -> list[tuple]:
    f = result.header_findings
    return list(zip(f["rule_code"], f["location"], f["source_line"], f["message"]))


def used(year: int, because: str) -> str:
    return f"the return was read as collection year {year} ({because}), reference date {year}-03-31"


def test_a_clean_header_has_no_findings_and_the_frame_its_columns():
    r = read_cin_census(FIXTURES / SMALL, la_code="991", expected_year=2026)
    f = r.header_findings
    assert tuple(f.columns) == HEADER_FINDING_COLUMNS == (
        "rule_code", "rule_name", "severity", "location", "source_line", "message")
    assert f.empty and dict(f.dtypes.astype(str)) == {
        "rule_code": "string", "rule_name": "string", "severity": "string", "location": "string",
        "source_line": "Int64", "message": "string"}
    assert (r.header.collection_year, r.header.reference_date, r.header.year_from) == (
        2026, pd.Timestamp("2026-03-31"), "Year")
    # the pipeline's call, without the folder's year, still works and reads the same
    plain = read_cin_census(FIXTURES / SMALL, la_code="991")
    assert plain.header == r.header and plain.header_findings.empty


@pytest.mark.parametrize("year_el, ref_el, expected_year, want_year, year_from, want", [
    # Year disagrees with ReferenceDate: the folder's year wins, whichever element has it
    ("<Year>2025</Year>", None, 2026, 2026, "ReferenceDate",
     [("CIN-100", YEAR, 10, "Header Year 2025 does not match ReferenceDate 2026-03-31; " + used(2026, "the folder's year"))]),
    ("<Year>2026</Year>", "<ReferenceDate>2025-03-31</ReferenceDate>", 2026, 2026, "Year",
     [("CIN-100", REF, 11, "Header Year 2026 does not match ReferenceDate 2025-03-31; " + used(2026, "the folder's year"))]),
    # ... and without a folder year, Year is used
    ("<Year>2025</Year>", None, None, 2025, "Year",
     [("CIN-100", REF, 11, "Header Year 2025 does not match ReferenceDate 2026-03-31; " + used(2025, "the header's Year"))]),
    # neither agrees with the folder: Year is used, and the folder mismatch is a warning
    ("<Year>2025</Year>", "<ReferenceDate>2024-03-31</ReferenceDate>", 2026, 2025, "Year",
     [("CIN-100", REF, 11, "Header Year 2025 does not match ReferenceDate 2024-03-31; " + used(2025, "the header's Year")),
      ("NEG-02", YEAR, 10, "the Header gives collection year 2025 but the file is in the folder of collection year "
       "2026; " + used(2025, "the header's Year"))]),
    # a ReferenceDate that is not 31 March: 31 March is used
    (None, "<ReferenceDate>2026-03-28</ReferenceDate>", 2026, 2026, "Year",
     [("CIN-100", REF, 11, "Header ReferenceDate 2026-03-28 is not 31 March; " + used(2026, "the folder's year"))]),
    # two deviations, two findings
    ("<Year>2025</Year>", "<ReferenceDate>2026-03-28</ReferenceDate>", 2026, 2026, "ReferenceDate",
     [("CIN-100", YEAR, 10, "Header Year 2025 does not match ReferenceDate 2026-03-28; " + used(2026, "the folder's year")),
      ("CIN-100", REF, 11, "Header ReferenceDate 2026-03-28 is not 31 March; " + used(2026, "the folder's year"))]),
    # missing or unreadable elements
    ("", None, None, 2026, "ReferenceDate",
     [("CIN-100", YEAR, 8, "Header Year is missing; " + used(2026, "the year of ReferenceDate"))]),
    ("<Year>2O26</Year>", None, 2026, 2026, "ReferenceDate",
     [("CIN-100", YEAR, 10, "Header Year '2O26' is not a year (YYYY); " + used(2026, "the folder's year"))]),
    (None, "", 2026, 2026, "Year",
     [("CIN-100", REF, 8, "Header ReferenceDate is missing; " + used(2026, "the folder's year"))]),
    (None, "<ReferenceDate>31/03/2026</ReferenceDate>", None, 2026, "Year",
     [("CIN-100", REF, 11, "Header ReferenceDate '31/03/2026' is not a date (YYYY-MM-DD); " + used(2026, "the header's Year"))]),
    ("", "", 2026, 2026, "folder",
     [("CIN-100", YEAR, 8, "Header Year is missing; " + used(2026, "the folder's year")),
      ("CIN-100", REF, 8, "Header ReferenceDate is missing; " + used(2026, "the folder's year"))]),
    # a year-consistent header in another year's folder
    ("<Year>2025</Year>", "<ReferenceDate>2025-03-31</ReferenceDate>", 2026, 2025, "Year",
     [("NEG-02", YEAR, 10, "the Header gives collection year 2025 but the file is in the folder of collection year "
       "2026; " + used(2025, "the header's Year"))]),
])
def test_year_and_reference_date(tmp_path, year_el, ref_el, expected_year, want_year, year_from, want):
    pairs = []
    if year_el is not None:
        pairs.append(("<Year>2026</Year>", year_el))
    if ref_el is not None:
        pairs.append(("<ReferenceDate>2026-03-31</ReferenceDate>", ref_el))
    r = read_cin_census(variant(tmp_path, *pairs), la_code="991", expected_year=expected_year)
    assert found(r) == want
    assert (r.header.collection_year, r.header.reference_date) == (want_year, pd.Timestamp(f"{want_year}-03-31"))
    assert r.header.year_from == year_from
    assert set(r.tables["cin_child"]["collection_year"]) == {want_year}
    f = r.header_findings
    assert list(f["rule_name"]) == [{"CIN-100": "reference_date_incorrect", "NEG-02": "header_year_differs_from_folder"}[c]
                                    for c in f["rule_code"]]
    assert list(f["severity"]) == [{"CIN-100": "error", "NEG-02": "warning"}[c] for c in f["rule_code"]]
    assert r.children_read == len(r.tables["cin_child"]) == 3  # the children are read whatever the header says


def test_every_date_rule_uses_31_march_never_a_28_march_reference_date(tmp_path):
    # a closure on 30 March 2026 is inside the census year; with the file's 28 March it would not be
    path = variant(tmp_path, ("<ReferenceDate>2026-03-31</ReferenceDate>", "<ReferenceDate>2026-03-28</ReferenceDate>"),
                   ("<CINclosureDate>2026-03-10</CINclosureDate>", "<CINclosureDate>2026-03-30</CINclosureDate>"))
    r = read_cin_census(path, la_code="991", expected_year=2026)
    assert r.header.reference_date == pd.Timestamp("2026-03-31") and r.header.reference_date_derived
    assert r.rejects.empty
    assert pd.Timestamp("2026-03-30") in set(r.tables["cin_episode"]["cin_closure_date"])
    # with the date after 31 March it is flagged, against 31 March
    later = variant(tmp_path, ("<ReferenceDate>2026-03-31</ReferenceDate>", "<ReferenceDate>2026-03-28</ReferenceDate>"),
                    ("<CINclosureDate>2026-03-10</CINclosureDate>", "<CINclosureDate>2026-04-01</CINclosureDate>"),
                    name="later.xml")
    r = read_cin_census(later, la_code="991", expected_year=2026)
    assert list(r.rejects["message"]) == ["CINclosureDate is after the census reference date 2026-03-31"]


@pytest.mark.parametrize("lea_el, la_code, want_lea, message", [
    ("", "991", "991", "Header LEA is missing; the folder's LA number 991 was used"),
    ("", None, None, "Header LEA is missing; no LA number is recorded"),
    ("<LEA>91</LEA>", "991", "991", "Header LEA '91' is not a 3-digit LA number; the folder's LA number 991 was used"),
    ("<LEA>E06000901</LEA>", None, None, "Header LEA 'E06000901' is not a 3-digit LA number; no LA number is recorded"),
])
def test_a_missing_or_odd_lea_is_a_finding(tmp_path, lea_el, la_code, want_lea, message):
    r = read_cin_census(variant(tmp_path, ("<LEA>991</LEA>", lea_el)), la_code=la_code, expected_year=2026)
    assert found(r) == [("NEG-01", LEA, 15 if lea_el else 13, message)]
    assert list(r.header_findings["severity"]) == ["error"]
    assert r.header.lea == want_lea
    assert list(r.tables["cin_child"]["la_code"].astype(object).fillna("none")) == [want_lea or "none"] * 3


def test_no_header_or_no_collection_details_uses_the_folder(tmp_path):
    text = (FIXTURES / SMALL).read_text(encoding="utf-8")
    start, end = text.index("  <Header>"), text.index("</Header>") + len("</Header>\n")
    no_header = tmp_path / "no_header.xml"
    no_header.write_text(text[:start] + text[end:], encoding="utf-8")
    r = read_cin_census(no_header, la_code="991", expected_year=2026)
    assert (r.header.collection_year, r.header.lea, r.header.year_from) == (2026, "991", "folder")
    assert found(r) == [
        ("CIN-100", "Header", pd.NA, "the return has no Header (no Year, ReferenceDate or LEA); "
         + used(2026, "the folder's year")),
        ("NEG-01", LEA, pd.NA, "Header LEA is missing; the folder's LA number 991 was used")]
    assert r.children_read == len(r.tables["cin_child"]) == 3
    with pytest.raises(SourceFileError, match=r"no_header.xml, Message: no Header: the collection year .* and no "
                                              r"folder year was given"):
        read_cin_census(no_header, la_code="991")

    start, end = text.index("    <CollectionDetails>"), text.index("</CollectionDetails>") + len("</CollectionDetails>\n")
    no_details = tmp_path / "no_details.xml"
    no_details.write_text(text[:start] + text[end:], encoding="utf-8")
    r = read_cin_census(no_details, la_code="991", expected_year=2026)
    assert found(r) == [("CIN-100", "Header/CollectionDetails", 7, "the Header has no CollectionDetails (no Year or "
                         "ReferenceDate); " + used(2026, "the folder's year"))]


def test_still_refused(tmp_path):
    # another authority's return
    with pytest.raises(SourceFileError, match="the Header's LEA is 991 but the file was expected for LA 992"):
        read_cin_census(FIXTURES / SMALL, la_code="992", expected_year=2026)
    # no year anywhere
    bad = variant(tmp_path, ("<Year>2026</Year>", "<Year>20-26</Year>"),
                  ("<ReferenceDate>2026-03-31</ReferenceDate>", "<ReferenceDate>2026-02-30</ReferenceDate>"))
    with pytest.raises(SourceFileError) as info:
        read_cin_census(bad, la_code="991")
    assert info.value.location == "line 7 (Header)"
    assert info.value.problem == (
        "Header Year '20-26' is not a year (YYYY) and Header ReferenceDate '2026-02-30' is not a date (YYYY-MM-DD): "
        "the collection year is needed to choose the year's code lists, and no folder year was given")
    # ... which the folder's year rescues
    r = read_cin_census(bad, la_code="991", expected_year=2026)
    assert r.header.collection_year == 2026 and list(r.header_findings["location"]) == [YEAR, REF]
    # a year the schema does not describe
    old = variant(tmp_path, ("<Year>2026</Year>", "<Year>2016</Year>"), ("2026-03-31<", "2016-03-31<"), name="old.xml")
    with pytest.raises(SourceFileError, match="collection year 2016 is outside the years the CIN schema describes"):
        read_cin_census(old, expected_year=2016)
    # the folder's year can overrule a Year outside the schema when ReferenceDate agrees with the folder
    typo = variant(tmp_path, ("<Year>2026</Year>", "<Year>2016</Year>"), name="typo.xml")
    r = read_cin_census(typo, expected_year=2026)
    assert r.header.collection_year == 2026 and list(r.header_findings["rule_code"]) == ["CIN-100"]
    # another collection
    other = variant(tmp_path, ("<Collection>CIN</Collection>", "<Collection>CLA</Collection>"), name="cla.xml")
    with pytest.raises(SourceFileError, match="Collection is 'CLA', expected 'CIN'"):
        read_cin_census(other, expected_year=2026)
