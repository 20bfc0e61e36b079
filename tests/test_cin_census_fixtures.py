"""Hand-written CIN census returns in the published format of their year (tests/fixtures/cin/README.md).

Each file was written by hand, as another system would write it, not by this project's
generator. For each: the Child elements counted independently (a regex on the bytes and an
lxml count) equal the children loaded plus the children rejected; the collection year and
reference date used; the header findings; the rejects and flags of the deliberate defects;
which legacy elements were read; and that the only departures from the year's XSD are the
deliberate ones.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from lxml import etree

from sources.cin_census import read_cin_census

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cin"
XSD_2026 = Path(__file__).resolve().parents[1] / "sources" / "schemas" / "cin" / "CIN_schema_2026.xsd"
CHILD_TAG = re.compile(rb"<Child\b")  # <Child> or <Child ...>, not <ChildIdentifiers>/<ChildCharacteristics>


def xsd_for_year(year: int) -> etree.XMLSchema:
    """The 2026 XSD turned back to collection year ``year``'s element names and types.

    GenderCurrent (0/1/2/9) instead of Sex before 2025; yes/no items as xs:boolean
    (true/false/0/1) before 2026; the Header's Content/CBDSLevels block before 2022 (omitted
    from the 2022 schema on). Code lists stay the 2026 ones (a superset of earlier years').
    """
    text = XSD_2026.read_text(encoding="utf-8")
    if year < 2025:
        sex = '<xs:element name="Sex" type="sextype" minOccurs="1" maxOccurs="1"/>'
        assert sex in text
        text = text.replace(sex, '<xs:element name="GenderCurrent" type="gendertype" minOccurs="1" maxOccurs="1"/>')
        text = text.replace('<xs:simpleType name="sextype">', (
            '<xs:simpleType name="gendertype"><xs:restriction base="xs:string">'
            + "".join(f'<xs:enumeration value="{c}"/>' for c in "0129")
            + '</xs:restriction></xs:simpleType>\n  <xs:simpleType name="sextype">'))
    if year < 2026:
        text, n = re.subn(r'<xs:simpleType name="yesnotype">.*?</xs:simpleType>',
                          '<xs:simpleType name="yesnotype"><xs:restriction base="xs:boolean"/></xs:simpleType>',
                          text, flags=re.S)
        assert n == 1
    if year < 2022:
        source = '<xs:element name="Source" type="sourcetype" minOccurs="0" maxOccurs="unbounded"/>'
        assert source in text
        text = text.replace(source, source + (
            '<xs:element name="Content" minOccurs="0"><xs:complexType><xs:sequence>'
            '<xs:any processContents="skip" minOccurs="0" maxOccurs="unbounded"/></xs:sequence></xs:complexType>'
            '</xs:element>'))
    return etree.XMLSchema(etree.fromstring(text.encode("utf-8")))


def children_in_file(path: Path) -> int:
    """Child elements counted without the reader: a regex on the bytes, checked against lxml."""
    data = path.read_bytes()
    by_regex = len(CHILD_TAG.findall(data))
    by_lxml = len(etree.fromstring(data).findall("Children/Child"))
    assert by_regex == by_lxml
    return by_regex


def findings(result) -> list[tuple]:
    f = result.header_findings
    return list(zip(f["rule_code"], f["severity"], f["location"], f["source_line"], f["message"]))


def rejects(result) -> list[tuple]:
    r = result.rejects
    return list(zip(r["rule"], r["location"], r["action"]))


def read(name: str, **kwargs):
    result = read_cin_census(FIXTURES / name, **kwargs)
    assert children_in_file(FIXTURES / name) == len(result.tables["cin_child"]) + result.children_rejected
    assert result.children_read == children_in_file(FIXTURES / name)
    return result


def xsd_errors(name: str, year: int) -> list[tuple[int, str]]:
    schema = xsd_for_year(year)
    schema.validate(etree.parse(str(FIXTURES / name)))
    return [(e.line, re.match(r"Element '(\w+)'", e.message).group(1)) for e in schema.error_log]


# ----------------------------------------------------------------------------- the file's bytes

@pytest.mark.parametrize("name, bom, crlf", [
    ("cin_return_2018.xml", True, True),
    ("cin_return_2021.xml", False, False),
    ("cin_return_2022.xml", False, False),
    ("cin_return_2024_year_2023.xml", False, True),
    ("cin_return_2025_reference_28_march.xml", False, False),
])
def test_fixture_bytes_keep_their_quirks(name, bom, crlf):
    data = (FIXTURES / name).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") == bom
    assert (b"\r\n" in data) == crlf and (data.count(b"\r\n") == data.count(b"\n")) == crlf
    assert b"xmlns=" not in data  # DfE's CIN schemas have no target namespace, in any year


# ----------------------------------------------------------------------------- 2018

def test_2018_return_gendercurrent_true_false_and_unsplit_factors():
    name = "cin_return_2018.xml"
    r = read(name, la_code="991", expected_year=2018)
    assert (r.header.collection_year, r.header.reference_date, r.header.lea) == (2018, pd.Timestamp("2018-03-31"), "991")
    assert r.header.year_from == "Year" and not r.header.reference_date_derived
    assert findings(r) == []
    assert (len(r.tables["cin_child"]), r.children_rejected) == (6, 0)
    assert {k: len(v) for k, v in r.tables.items()} == {
        "cin_child": 6, "cin_disability": 5, "cin_episode": 7, "cin_assessment": 6, "cin_assessment_factor": 11,
        "cin_plan": 2, "cin_section47": 2, "cin_cp_plan": 2, "cin_cp_review": 5}
    # the deliberate defects: a category written out in words, an authorisation after the census
    assert rejects(r) == [
        ("unknown_code", "Child[4]/CINdetails[1]/ChildProtectionPlans[1]/LatestCategoryOfAbuse", "value_nulled"),
        ("after_reference_date", "Child[5]/CINdetails[1]/Assessments[1]/AssessmentAuthorisationDate", "flagged")]
    cp = r.tables["cin_cp_plan"].set_index("child_ordinal")
    assert cp.loc[4, "initial_category_of_abuse"] == "NEG" and pd.isna(cp.loc[4, "latest_category_of_abuse"])
    # legacy elements: GenderCurrent 1/2/1/2/0/9 read into sex; true/false into booleans
    child = r.tables["cin_child"]
    assert list(child["sex"]) == ["M", "F", "M", "F", "U", "U"]
    assert list(r.tables["cin_episode"]["referral_nfa"]) == [False, False, True, False, False, False, False]
    assert list(r.tables["cin_section47"]["icpc_not_required"]) == [False, True]
    # 18A is the code of its year: no flag; an unborn child has only the expected birth date
    factors = r.tables["cin_assessment_factor"]
    assert list(factors.loc[factors["child_ordinal"] == 2, "assessment_factor"]) == ["5A", "18A"]
    assert pd.isna(child["person_birth_date"].iloc[4])
    assert child["expected_person_birth_date"].iloc[4] == pd.Timestamp("2018-05-20")
    # optional elements absent: no UPN (UPNunknown), no Disabilities, no PrimaryNeedCode
    assert child["upn_unknown"].iloc[1] == "UN1" and pd.isna(child["upn"].iloc[1])
    assert set(r.tables["cin_disability"]["child_ordinal"]) == {1, 2, 4, 6}
    assert pd.isna(r.tables["cin_episode"].set_index("child_ordinal").loc[6, "primary_need_code"])
    # the Header's pre-2022 Content/CBDSLevels block and the xsi attributes are not reported
    assert not (r.rejects["rule"] == "unexpected_element").any()
    assert xsd_errors(name, 2018) == [(172, "LatestCategoryOfAbuse")]


# ----------------------------------------------------------------------------- 2021

def test_2021_return_first_year_of_the_factor_split():
    name = "cin_return_2021.xml"
    r = read(name, la_code="991", expected_year=2021)
    assert (r.header.collection_year, r.header.reference_date) == (2021, pd.Timestamp("2021-03-31"))
    assert findings(r) == []
    assert (len(r.tables["cin_child"]), r.children_rejected) == (5, 1)
    assert rejects(r) == [
        ("code_superseded", "Child[2]/CINdetails[1]/Assessments[1]/FactorsIdentifiedAtAssessment/AssessmentFactors[2]",
         "flagged"),
        ("after_reference_date", "Child[2]/CINdetails[1]/CINPlanDates[1]/CINPlanEndDate", "flagged"),
        ("child_unusable", "Child[3]/ChildIdentifiers/LAchildID", "row_rejected"),
        ("code_not_in_year", "Child[4]/CINdetails[1]/Assessments[1]/FactorsIdentifiedAtAssessment/AssessmentFactors[1]",
         "value_nulled")]
    # the blank LAchildID's Child is in no table; its neglect factor is not counted anywhere
    for df in r.tables.values():
        assert 3 not in set(df["child_ordinal"])
    factors = r.tables["cin_assessment_factor"]
    assert list(factors["assessment_factor"].fillna("null")) == [
        "16A", "18C", "3B", "6A", "18A", "null", "13A", "10A", "19B", "4A"]
    messages = " ".join(r.rejects["message"])
    assert "'18A' is superseded by collection year 2021" in messages
    assert "'24A' is not in use in collection year 2021 (added in 2022)" in messages
    # legacy elements: GenderCurrent and true/false; the stray text inside ChildIdentifiers is ignored
    assert list(r.tables["cin_child"]["sex"]) == ["F", "M", "M", "F", "F"]
    assert r.tables["cin_child"]["person_birth_date"].iloc[1] == pd.Timestamp("2014-09-09")
    assert list(r.tables["cin_section47"]["icpc_not_required"]) == [False, True]
    assert list(r.tables["cin_cp_review"]["cpp_review_date"]) == [
        pd.Timestamp("2020-10-13"), pd.Timestamp("2020-05-26"), pd.Timestamp("2020-11-17")]
    assert xsd_errors(name, 2021) == [(71, "ChildIdentifiers")]  # the stray text (mixed content)


# ----------------------------------------------------------------------------- 2022

def test_2022_return_with_24A_mixed_yes_no_and_no_lea():
    name = "cin_return_2022.xml"
    r = read(name, la_code="992", expected_year=2022)
    assert (r.header.collection_year, r.header.reference_date, r.header.lea) == (2022, pd.Timestamp("2022-03-31"), "992")
    assert findings(r) == [("NEG-01", "error", "Header/Source/LEA", 8,
                            "Header LEA is missing; the folder's LA number 992 was used")]
    assert set(r.tables["cin_episode"]["la_code"]) == {"992"}
    assert (len(r.tables["cin_child"]), r.children_rejected) == (5, 0)
    assert rejects(r) == [
        ("unknown_code", "Child[2]/ChildCharacteristics/Disabilities/Disability[1]", "value_nulled"),
        ("code_superseded", "Child[3]/CINdetails[1]/Assessments[1]/FactorsIdentifiedAtAssessment/AssessmentFactors[2]",
         "flagged"),
        ("after_reference_date", "Child[4]/CINdetails[1]/Section47[1]/S47ActualStartDate", "flagged"),
        ("duplicate_child", "Child[5]", "flagged")]
    # 24A exists from 2022: read, not flagged
    factors = r.tables["cin_assessment_factor"]
    assert list(factors.loc[factors["child_ordinal"] == 1, "assessment_factor"]) == ["24A", "10A", "16A"]
    # the unknown disability keeps its row (the child has a disability recorded), value null
    disability = r.tables["cin_disability"]
    assert list(disability.loc[disability["child_ordinal"] == 2, "disability"].fillna("null")) == ["null", "LD"]
    # yes/no as 0/1 and true/false in one file
    assert list(r.tables["cin_episode"]["referral_nfa"]) == [False, False, False, False, True]
    assert list(r.tables["cin_section47"]["icpc_not_required"]) == [False, True]
    assert list(r.tables["cin_child"]["sex"]) == ["M", "F", "F", "M", "M"]
    assert list(r.tables["cin_child"]["is_duplicate"]) == [False, False, False, False, True]
    # without the folder's LA number the return has none, and says so
    alone = read_cin_census(FIXTURES / name)
    assert alone.header.lea is None and findings(alone)[0][4] == "Header LEA is missing; no LA number is recorded"
    assert xsd_errors(name, 2022) == [(10, "SoftwareCode"), (59, "Disability")]  # LEA expected before SoftwareCode


# ----------------------------------------------------------------------------- Year 2023, ReferenceDate 2024-03-31

def test_year_disagreeing_with_reference_date_is_a_finding_and_the_folder_decides():
    name = "cin_return_2024_year_2023.xml"
    r = read(name, la_code="991", expected_year=2024)
    assert (r.header.collection_year, r.header.reference_date) == (2024, pd.Timestamp("2024-03-31"))
    assert r.header.year_from == "ReferenceDate"
    assert findings(r) == [(
        "CIN-100", "error", "Header/CollectionDetails/Year", 6,
        "Header Year 2023 does not match ReferenceDate 2024-03-31; the return was read as collection year 2024 "
        "(the folder's year), reference date 2024-03-31")]
    assert (len(r.tables["cin_child"]), r.children_rejected) == (4, 0)
    assert rejects(r) == [
        ("unknown_code", "Child[2]/CINdetails[1]/PrimaryNeedCode", "value_nulled"),
        ("after_reference_date", "Child[3]/CINdetails[1]/DateOfInitialCPC", "flagged")]
    assert set(r.tables["cin_child"]["collection_year"]) == {2024}
    # 5D and RC9 exist in 2023-24: read, not flagged; GenderCurrent is the element of the year
    assert list(r.tables["cin_episode"]["referral_source"]) == ["5D", "2A", "3E", "1A", "5D"]
    assert r.tables["cin_episode"]["reason_for_closure"].iloc[1] == "RC9"
    assert list(r.tables["cin_child"]["sex"]) == ["F", "M", "F", "M"]
    assert xsd_errors(name, 2024) == [(77, "PrimaryNeedCode")]

    # With no folder year the Year element is used: the whole year's activity is then after
    # 31 March 2023, which is why the pipeline passes the folder's year.
    alone = read(name, la_code="991")
    assert (alone.header.collection_year, alone.header.reference_date) == (2023, pd.Timestamp("2023-03-31"))
    assert findings(alone) == [(
        "CIN-100", "error", "Header/CollectionDetails/ReferenceDate", 7,
        "Header Year 2023 does not match ReferenceDate 2024-03-31; the return was read as collection year 2023 "
        "(the header's Year), reference date 2023-03-31")]
    late = alone.rejects[alone.rejects["rule"] == "after_reference_date"]
    dated = ("CINreferralDate", "CINclosureDate", "DateOfInitialCPC", "AssessmentActualStartDate",
             "AssessmentInternalReviewDate", "AssessmentAuthorisationDate", "CINPlanStartDate", "CINPlanEndDate",
             "S47ActualStartDate", "CPPstartDate", "CPPendDate", "CPPreviewDate")  # not InitialCPCtarget
    tree = etree.parse(str(FIXTURES / name))
    after = [d for tag in dated for d in tree.xpath(f"//{tag}/text()") if d > "2023-03-31"]
    assert len(late) == len(after) == 22 and set(late["child_ordinal"]) == {1, 2, 3, 4}


# ----------------------------------------------------------------------------- ReferenceDate 28 March

def test_reference_date_of_28_march_is_a_finding_and_31_march_is_used():
    name = "cin_return_2025_reference_28_march.xml"
    r = read(name, la_code="991", expected_year=2025)
    assert (r.header.collection_year, r.header.reference_date) == (2025, pd.Timestamp("2025-03-31"))
    assert r.header.reference_date_derived  # not the file's ReferenceDate
    assert findings(r) == [(
        "CIN-100", "error", "Header/CollectionDetails/ReferenceDate", 8,
        "Header ReferenceDate 2025-03-28 is not 31 March; the return was read as collection year 2025 "
        "(the folder's year), reference date 2025-03-31")]
    assert (len(r.tables["cin_child"]), r.children_rejected) == (4, 0)
    # a referral on 29 March, an assessment on 30 March and a plan ending 31 March are inside the year;
    # only the closure on 1 April is after it
    assert rejects(r) == [
        ("element_not_in_year", "Child[2]/ChildIdentifiers/GenderCurrent", "flagged"),
        ("unknown_code", "Child[2]/ChildCharacteristics/Ethnicity", "value_nulled"),
        ("after_reference_date", "Child[3]/CINdetails[1]/CINclosureDate", "flagged")]
    episodes = r.tables["cin_episode"].set_index("child_ordinal")
    assert episodes.loc[2, "cin_referral_date"] == pd.Timestamp("2025-03-29")
    # Sex is the element of 2024-25; one Child still has GenderCurrent: read, and flagged
    assert list(r.tables["cin_child"]["sex"]) == ["F", "M", "M", "U"]
    assert "GenderCurrent was replaced by Sex from collection year 2025" in " ".join(r.rejects["message"])
    # the same without the folder's year: Year 2025 is used, with the same finding and flags
    alone = read(name)
    assert alone.header.reference_date == pd.Timestamp("2025-03-31")
    assert [f[4] for f in findings(alone)] == [
        "Header ReferenceDate 2025-03-28 is not 31 March; the return was read as collection year 2025 "
        "(the header's Year), reference date 2025-03-31"]
    assert rejects(alone) == rejects(r)
    assert xsd_errors(name, 2025) == [(68, "GenderCurrent"), (71, "Ethnicity")]


def test_no_identifier_in_any_message_of_the_fixtures():
    for name in ("cin_return_2018.xml", "cin_return_2021.xml", "cin_return_2022.xml",
                 "cin_return_2024_year_2023.xml", "cin_return_2025_reference_28_march.xml"):
        r = read_cin_census(FIXTURES / name)
        text = " ".join(r.rejects["message"]) + " ".join(r.header_findings["message"])
        tree = etree.parse(str(FIXTURES / name))
        for tag in ("LAchildID", "UPN", "FormerUPN", "PersonBirthDate", "ExpectedPersonBirthDate"):
            for value in tree.xpath(f"//{tag}/text()"):
                assert value not in text, (name, tag)
