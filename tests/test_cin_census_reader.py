"""The CIN census XML reader: tables, canonical values by year, rejects, whole-file errors, safety."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from lxml import etree

from sources import cin_census
from sources.cin_census import TABLES, load_cin_schema, read_cin_census
from sources.errors import SourceFileError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cin"
XSD = Path(__file__).resolve().parents[1] / "sources" / "schemas" / "cin" / "CIN_schema_2026.xsd"
NAME_DATA = Path(__file__).resolve().parents[1] / "sources" / "synthetic" / "data"


def rejects_by_rule(result) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list] = {}
    for row in result.rejects.itertuples():
        out.setdefault(row.rule, []).append((row.location, row.field))
    return out


def rewrite(tmp_path: Path, fixture: str, name: str, *pairs: tuple[str, str]) -> Path:
    text = (FIXTURES / fixture).read_text(encoding="utf-8")
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- a valid 2026 file

def test_small_2026_fixture_is_valid_against_the_xsd():
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    assert schema.validate(etree.parse(str(FIXTURES / "cin_census_2026_small.xml"))), schema.error_log


def test_reads_every_table_of_a_valid_2026_file():
    r = read_cin_census(FIXTURES / "cin_census_2026_small.xml")
    assert r.rejects.empty, r.rejects.to_string()
    assert r.children_read == 3
    assert (r.header.collection_year, r.header.reference_date, r.header.lea) == (2026, pd.Timestamp("2026-03-31"), "991")
    assert {k: len(v) for k, v in r.tables.items()} == {
        "cin_child": 3, "cin_disability": 3, "cin_episode": 4, "cin_assessment": 3, "cin_assessment_factor": 5,
        "cin_plan": 1, "cin_section47": 2, "cin_cp_plan": 2, "cin_cp_review": 2}

    for name, df in r.tables.items():
        for col in ("source_file", "la_code", "collection_year", "child_ordinal", "la_child_id", "is_duplicate",
                    "source_location", "source_line"):
            assert col in df.columns, (name, col)
        assert set(df["source_file"]) == {"cin_census_2026_small.xml"}
        assert set(df["collection_year"]) == {2026} and set(df["la_code"]) == {"991"}
        assert not df["is_duplicate"].any()

    child = r.tables["cin_child"].set_index("la_child_id")
    assert list(child.index) == ["A1001", "B2002", "C3003"]
    assert list(child["child_ordinal"]) == [1, 2, 3]
    assert list(child["sex"]) == ["F", "M", "U"]
    assert child.loc["A1001", "upn"] == "A12345678901B"
    assert child.loc["B2002", "upn_unknown"] == "UN1"
    assert child.loc["A1001", "person_birth_date"] == pd.Timestamp("2015-06-01")
    assert child.loc["C3003", "expected_person_birth_date"] == pd.Timestamp("2026-05-01")
    assert pd.isna(child.loc["C3003", "person_birth_date"])
    assert str(child["person_birth_date"].dtype).startswith("datetime64")
    assert child.loc["A1001", "source_location"] == "Child[1]"

    disability = r.tables["cin_disability"]
    assert list(zip(disability["la_child_id"], disability["disability_ordinal"], disability["disability"])) == [
        ("A1001", 1, "LD"), ("A1001", 2, "AUT"), ("B2002", 1, "NONE")]

    ep = r.tables["cin_episode"]
    a2 = ep[(ep["la_child_id"] == "A1001") & (ep["episode_ordinal"] == 2)].iloc[0]
    assert (a2["cin_referral_date"], a2["referral_source"], a2["primary_need_code"]) == (pd.Timestamp("2025-05-01"), "2A", "N1")
    assert a2["source_location"] == "Child[1]/CINdetails[2]"
    assert ep["referral_nfa"].dtype == "boolean"
    assert list(ep["referral_nfa"]) == [True, False, False, False]
    assert list(ep["reason_for_closure"].fillna("-")) == ["RC8", "-", "RC9", "-"]

    factors = r.tables["cin_assessment_factor"]
    assert list(zip(factors["la_child_id"], factors["episode_ordinal"], factors["assessment_ordinal"],
                    factors["factor_ordinal"], factors["assessment_factor"])) == [
        ("A1001", 2, 1, 1, "16A"), ("A1001", 2, 1, 2, "3B"), ("A1001", 2, 1, 3, "4B"),
        ("B2002", 1, 1, 1, "24A"), ("B2002", 1, 1, 2, "18C")]
    assert factors["source_location"].iloc[0] == \
        "Child[1]/CINdetails[2]/Assessments[1]/FactorsIdentifiedAtAssessment/AssessmentFactors[1]"

    assessment = r.tables["cin_assessment"]
    open_assessment = assessment[assessment["la_child_id"] == "C3003"].iloc[0]
    assert pd.isna(open_assessment["assessment_authorisation_date"])

    s47 = r.tables["cin_section47"]
    assert list(s47["icpc_not_required"]) == [False, True]

    cp = r.tables["cin_cp_plan"]
    assert list(zip(cp["la_child_id"], cp["initial_category_of_abuse"], cp["latest_category_of_abuse"],
                    cp["number_of_previous_cpp"])) == [("A1001", "NEG", "NEG", 1), ("B2002", "PHY", "MUL", 0)]
    assert pd.isna(cp["cpp_end_date"].iloc[0]) and cp["cpp_end_date"].iloc[1] == pd.Timestamp("2026-03-01")

    reviews = r.tables["cin_cp_review"]
    assert list(reviews["cpp_review_date"]) == [pd.Timestamp("2025-09-01"), pd.Timestamp("2026-02-20")]
    assert list(reviews["cp_plan_ordinal"]) == [1, 1] and list(reviews["review_ordinal"]) == [1, 2]

    # source_line is the line of the row's element in the file
    lines = (FIXTURES / "cin_census_2026_small.xml").read_text().splitlines()
    for df in r.tables.values():
        for location, line in zip(df["source_location"], df["source_line"]):
            tag = re.sub(r"\[\d+\]$", "", location.rsplit("/", 1)[-1])
            assert f"<{tag}>" in lines[line - 1], (location, line)


def test_legacy_2024_file_gives_the_same_canonical_values():
    new = read_cin_census(FIXTURES / "cin_census_2026_small.xml")
    old = read_cin_census(FIXTURES / "cin_census_2024_legacy.xml")
    assert old.rejects.empty, old.rejects.to_string()
    assert old.header.collection_year == 2024
    # GenderCurrent 2/1/0 -> F/M/U, true/false -> booleans, the same as Sex and 0/1 in 2026
    assert list(old.tables["cin_child"]["sex"]) == ["F", "M", "U"]
    assert list(old.tables["cin_episode"]["referral_nfa"]) == [True, False, False, False]
    assert list(old.tables["cin_section47"]["icpc_not_required"]) == [False, True]
    skip = {"source_file", "collection_year", "source_line"}  # the legacy file's comment is a line shorter
    for name in TABLES:
        a, b = new.tables[name], old.tables[name]
        assert list(a.columns) == list(b.columns)
        assert list(a.dtypes) == list(b.dtypes), name
        for col in a.columns:
            if col in skip:
                continue
            if str(a[col].dtype).startswith("datetime64"):
                assert (a[col] - pd.DateOffset(years=2)).equals(b[col]), (name, col)
            else:
                assert a[col].equals(b[col]), (name, col)


# ----------------------------------------------------------------------------- rejects

def test_row_level_problems_go_to_rejects_with_their_rule():
    r = read_cin_census(FIXTURES / "cin_census_2019_rejects.xml")
    rules = rejects_by_rule(r)
    assert set(r.rejects.columns) >= {"source", "source_file", "location", "field", "rule", "message"}
    assert set(r.rejects["source"]) == {"cin_census"} and set(r.rejects["source_file"]) == {"cin_census_2019_rejects.xml"}

    # an unknown category code: flagged, the plan kept with the category null
    assert rules["unknown_code"] == [
        ("Child[1]/ChildCharacteristics/Disabilities/Disability[1]", "disability"),
        ("Child[1]/CINdetails[1]/ChildProtectionPlans[1]/InitialCategoryOfAbuse", "initial_category_of_abuse")]
    cp = r.tables["cin_cp_plan"]
    assert len(cp) == 1 and pd.isna(cp["initial_category_of_abuse"].iloc[0])
    assert cp["latest_category_of_abuse"].iloc[0] == "NEG"
    # codes that did not exist yet in 2019: 24A (2022), 18B (2021), 5D and RC9 (2023)
    assert rules["code_not_in_year"] == [
        ("Child[1]/CINdetails[1]/ReferralSource", "referral_source"),
        ("Child[1]/CINdetails[1]/ReasonForClosure", "reason_for_closure"),
        ("Child[1]/CINdetails[1]/Assessments[1]/FactorsIdentifiedAtAssessment/AssessmentFactors[2]", "assessment_factor"),
        ("Child[1]/CINdetails[1]/Assessments[1]/FactorsIdentifiedAtAssessment/AssessmentFactors[3]", "assessment_factor")]
    message = r.rejects.loc[r.rejects["location"].str.endswith("AssessmentFactors[2]"), "message"].iloc[0]
    assert "'24A'" in message and "2019" in message and "2022" in message
    factors = r.tables["cin_assessment_factor"]
    assert list(factors["assessment_factor"].fillna("null")) == ["16A", "null", "null", "18A"]  # 18A valid in 2019
    assert "code_superseded" not in rules
    assert rules["negative"] == [("Child[1]/CINdetails[1]/ChildProtectionPlans[1]/NumberOfPreviousCPP",
                                  "number_of_previous_cpp")]
    assert pd.isna(cp["number_of_previous_cpp"].iloc[0])
    # a CP plan with no start date is rejected; its review is still read
    assert ("Child[1]/CINdetails[1]/ChildProtectionPlans[2]/CPPstartDate", "cpp_start_date") in rules["required_missing"]
    assert list(r.tables["cin_cp_review"]["cp_plan_ordinal"]) == [1, 2]
    # a referral date that does not exist rejects the episode; the section 47 under it is kept
    assert rules["invalid_date"] == [("Child[1]/ChildIdentifiers/PersonBirthDate", "person_birth_date"),
                                     ("Child[3]/CINdetails[1]/CINreferralDate", "cin_referral_date")]
    assert list(r.tables["cin_episode"]["child_ordinal"]) == [1, 4]
    assert list(r.tables["cin_section47"]["child_ordinal"]) == [3]
    assert ("Child[4]/CINdetails[1]/ReferralNFA", "referral_nfa") in rules["required_missing"]
    assert rules["unexpected_element"] == [("Child[4]/ChildIdentifiers/FavouriteColour", "FavouriteColour")]
    assert r.tables["cin_child"].set_index("child_ordinal").loc[4, "sex"] == "U"  # GenderCurrent 9
    actions = dict(zip(r.rejects["rule"] + ":" + r.rejects["field"], r.rejects["action"]))
    assert actions["invalid_date:cin_referral_date"] == "row_rejected"
    assert actions["unknown_code:initial_category_of_abuse"] == "value_nulled"
    assert actions["duplicate_child:la_child_id"] == "flagged"


def test_identifiers_never_appear_in_reject_messages():
    r = read_cin_census(FIXTURES / "cin_census_2019_rejects.xml")
    text = " ".join(r.rejects["message"]) + " ".join(r.rejects["location"])
    for value in ("D4004", "E5005", "X12", "2012-13-01", "B12345678901C", "2010-01-01"):
        assert value not in text, value
    upn = r.rejects[r.rejects["field"] == "upn"]["message"].iloc[0]
    assert upn.startswith("UPN: value of length 3 not matching pattern")
    dob = r.rejects[r.rejects["field"] == "person_birth_date"]["message"].iloc[0]
    assert dob == "PersonBirthDate: value of length 10 is not a date (YYYY-MM-DD)"


def test_child_accounting_and_duplicates():
    r = read_cin_census(FIXTURES / "cin_census_2019_rejects.xml")
    children = r.tables["cin_child"]
    assert r.children_read == 4
    unusable = r.rejects[r.rejects["rule"] == "child_unusable"]
    assert list(unusable["location"]) == ["Child[2]/ChildIdentifiers/LAchildID"]
    assert r.children_read == len(children) + len(unusable) == len(children) + r.children_rejected
    assert sorted(set(children["child_ordinal"]) | set(unusable["child_ordinal"])) == [1, 2, 3, 4]
    # nothing of the unusable child is in any table (it had a NEG plan)
    for df in r.tables.values():
        assert 2 not in set(df["child_ordinal"])
    # the repeated LAchildID is kept, marked on every table and flagged
    assert list(zip(children["child_ordinal"], children["is_duplicate"])) == [(1, False), (3, True), (4, False)]
    dup = r.rejects[r.rejects["rule"] == "duplicate_child"]
    assert list(dup["location"]) == ["Child[3]"] and "Child[1]" in dup["message"].iloc[0]
    assert list(r.tables["cin_section47"]["is_duplicate"]) == [True]


def test_year_decides_which_codes_are_accepted(tmp_path):
    # The same return as collection year 2022: 24A and 18B exist, 18A is superseded (kept, flagged),
    # 5D and RC9 still do not exist.
    path = rewrite(tmp_path, "cin_census_2019_rejects.xml", "cin_census_2022.xml",
                   ("<Year>2019</Year>", "<Year>2022</Year>"), ("2019-03-31", "2022-03-31"))
    r = read_cin_census(path)
    rules = rejects_by_rule(r)
    assert [f for _, f in rules["code_not_in_year"]] == ["referral_source", "reason_for_closure"]
    assert rules["code_superseded"] == [
        ("Child[1]/CINdetails[1]/Assessments[1]/FactorsIdentifiedAtAssessment/AssessmentFactors[4]", "assessment_factor")]
    assert list(r.tables["cin_assessment_factor"]["assessment_factor"]) == ["16A", "24A", "18B", "18A"]
    # From 2023 the early-help referral source and step-down closure reason exist
    path = rewrite(tmp_path, "cin_census_2019_rejects.xml", "cin_census_2023.xml",
                   ("<Year>2019</Year>", "<Year>2023</Year>"), ("2019-03-31", "2023-03-31"))
    r = read_cin_census(path)
    assert "code_not_in_year" not in set(r.rejects["rule"])
    episode = r.tables["cin_episode"].iloc[0]
    assert (episode["referral_source"], episode["reason_for_closure"]) == ("5D", "RC9")


def test_every_collection_year_2017_to_2026_is_readable(tmp_path):
    schema = load_cin_schema()
    assert (schema.first_year, schema.last_year) == (2017, 2026)
    for year in range(2017, 2027):
        path = rewrite(tmp_path, "cin_census_2024_legacy.xml", f"cin_{year}.xml",
                       ("<Year>2024</Year>", f"<Year>{year}</Year>"),
                       ("<ReferenceDate>2024-03-31", f"<ReferenceDate>{year}-03-31"))
        r = read_cin_census(path)
        assert r.header.collection_year == year and len(r.tables["cin_child"]) == 3
        found = set(r.rejects["rule"])
        # GenderCurrent is the expected element up to 2024, flagged (and still read) from 2025
        assert ("element_not_in_year" in found) == (year >= 2025)
        assert list(r.tables["cin_child"]["sex"]) == ["F", "M", "U"]
        # RC9/5D (2023), 24A (2022), 18C (2021) appear in this return
        expected = {"code_not_in_year"} if year < 2023 else set()
        assert found & {"code_not_in_year"} == expected, year


def test_sex_in_a_legacy_year_is_read_and_flagged(tmp_path):
    path = rewrite(tmp_path, "cin_census_2024_legacy.xml", "cin_census_2024.xml",
                   ("<GenderCurrent>2</GenderCurrent>", "<Sex>F</Sex>"))
    r = read_cin_census(path)
    assert list(r.tables["cin_child"]["sex"]) == ["F", "M", "U"]
    flags = r.rejects[r.rejects["rule"] == "element_not_in_year"]
    assert list(flags["location"]) == ["Child[1]/ChildIdentifiers/Sex"]


# ----------------------------------------------------------------------------- whole-file errors

@pytest.mark.parametrize("fixture, location, problem", [
    ("empty.xml", "line 1", "the file is empty"),
    ("not_well_formed.xml", "line 23, column 19",
     "not well-formed XML: the closing tag </CINdetail> does not match the open element <CINdetails>; "
     "expected </CINdetails>"),
    ("truncated.xml", "line 97, column 32", "the file is truncated: it ends inside Children after 1 complete Child element"),
    ("wrong_root.xml", "line 3, column 1", "the root element is <Return>, expected <Message>"),
    ("external_entity.xml", "line 2", "DOCTYPE declarations are not allowed (external entities could read local "
                                      "files); remove the DOCTYPE"),
])
def test_bad_files_raise_a_clear_error_naming_file_and_position(fixture, location, problem):
    with pytest.raises(SourceFileError) as info:
        read_cin_census(FIXTURES / fixture)
    err = info.value
    assert err.location == location
    assert err.problem.startswith(problem), err.problem
    assert str(err).startswith(f"{fixture}, {location}: {problem}")


def test_external_entity_is_refused_before_parsing(monkeypatch):
    def no_parsing(*args, **kwargs):
        raise AssertionError("the file reached the XML parser")

    monkeypatch.setattr(cin_census.etree, "iterparse", no_parsing)
    with pytest.raises(SourceFileError) as info:
        read_cin_census(FIXTURES / "external_entity.xml")
    assert "root:" not in str(info.value) and "/bin/" not in str(info.value)
    assert "DOCTYPE" in info.value.problem


def test_doctype_after_comments_and_undeclared_entities_are_refused(tmp_path):
    body = (FIXTURES / "external_entity.xml").read_text()
    hidden = tmp_path / "hidden.xml"
    hidden.write_text(body.replace("<!DOCTYPE", "<!-- a comment -->\n<?pi x?>\n<!DOCTYPE"))
    with pytest.raises(SourceFileError, match=r"hidden.xml, line 4: DOCTYPE declarations are not allowed"):
        read_cin_census(hidden)
    # without a DOCTYPE an entity reference cannot be defined: not well-formed, never resolved
    bare = tmp_path / "bare_entity.xml"
    bare.write_text("\n".join(line for line in body.splitlines() if "DOCTYPE" not in line))
    with pytest.raises(SourceFileError, match=r"bare_entity.xml, line 12, column 23: not well-formed XML: the entity &x; is not defined"):
        read_cin_census(bare)


def test_parser_is_configured_safely():
    opts = cin_census.PARSER_OPTIONS
    assert opts["resolve_entities"] is False and opts["no_network"] is True
    assert opts["load_dtd"] is False and opts["huge_tree"] is False


def test_header_problems(tmp_path):
    no_year = rewrite(tmp_path, "cin_census_2026_small.xml", "no_year.xml",
                      ("<Year>2026</Year>", ""), ("<ReferenceDate>2026-03-31</ReferenceDate>", ""))
    with pytest.raises(SourceFileError, match=r"no_year.xml, line \d+ \(Header\): no Year and no ReferenceDate"):
        read_cin_census(no_year)
    only_ref = rewrite(tmp_path, "cin_census_2026_small.xml", "only_ref.xml", ("<Year>2026</Year>", ""))
    assert read_cin_census(only_ref).header.collection_year == 2026
    only_year = rewrite(tmp_path, "cin_census_2026_small.xml", "only_year.xml",
                        ("<ReferenceDate>2026-03-31</ReferenceDate>", ""))
    header = read_cin_census(only_year).header
    assert header.reference_date == pd.Timestamp("2026-03-31") and header.reference_date_derived
    too_old = rewrite(tmp_path, "cin_census_2026_small.xml", "old.xml",
                      ("<Year>2026</Year>", "<Year>2016</Year>"), ("2026-03-31<", "2016-03-31<"))
    with pytest.raises(SourceFileError, match="collection year 2016 is outside the years"):
        read_cin_census(too_old)
    with pytest.raises(SourceFileError, match="the Header's LEA is 991 but the file was expected for LA 992"):
        read_cin_census(FIXTURES / "cin_census_2026_small.xml", la_code="992")
    no_lea = rewrite(tmp_path, "cin_census_2026_small.xml", "no_lea.xml", ("<LEA>991</LEA>", ""))
    assert set(read_cin_census(no_lea, la_code="993").tables["cin_child"]["la_code"]) == {"993"}
    with pytest.raises(SourceFileError, match="missing.xml, file: cannot be opened"):
        read_cin_census(tmp_path / "missing.xml")


# ----------------------------------------------------------------------------- generated sample

@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    if not (NAME_DATA / "forenames.csv").exists():
        pytest.skip("synthetic name lists are missing")
    from sources.synthetic.config import GeneratorConfig
    from sources.synthetic.generate import generate_partnership

    out = tmp_path_factory.mktemp("cin_generated")
    generate_partnership(GeneratorConfig(children=3000), out)
    truth = pd.read_csv(out / "truth" / "source_records.csv", dtype=str, keep_default_na=False)
    yield out, truth[truth["source"] == "cin_census"]
    shutil.rmtree(out, ignore_errors=True)


def test_generated_files_match_truth_and_an_independent_count(generated):
    out, truth = generated
    files = sorted((out / "incoming").glob("*/*/cin_census_*.xml"))
    assert len(files) >= 3
    for path in files:
        rel = path.relative_to(out / "incoming").as_posix()
        records = truth[truth["file"] == rel]
        r = read_cin_census(path)
        assert r.children_read == len(records) > 0, rel
        assert r.children_read == len(r.tables["cin_child"]) + r.children_rejected
        # independent count: whole-tree parse and XPath
        tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
        assert int(tree.xpath("count(/Message/Children/Child)")) == r.children_read
        neg = int(tree.xpath('count(//ChildProtectionPlans[InitialCategoryOfAbuse="NEG"])'))
        cp = r.tables["cin_cp_plan"]
        assert int((cp["initial_category_of_abuse"] == "NEG").sum()) == neg, rel
        factors = int(tree.xpath("count(//AssessmentFactors)"))
        assert len(r.tables["cin_assessment_factor"]) == factors
        # the generator's defects are each reported where truth says they are
        rules = r.rejects.groupby("rule")["child_ordinal"].apply(lambda s: sorted(s.astype(int)))
        lines = lambda defect: sorted(records.loc[records["defect"] == defect, "line"].astype(int))  # noqa: E731
        assert rules.get("duplicate_child", []) == lines("duplicate_row")
        assert rules.get("date_order", []) == lines("date_out_of_order")
        assert rules.get("after_reference_date", []) == lines("future_date")
        assert set(r.rejects["rule"]) <= {"duplicate_child", "date_order", "after_reference_date"}
        assert set(r.tables["cin_child"]["sex"]) <= {"M", "F"}


def test_unknown_and_repeated_elements_are_reported_not_lost(tmp_path):
    path = rewrite(tmp_path, "cin_census_2026_small.xml", "extras.xml",
                   ("<Children>", "<Children>\n    <Note>exported by hand</Note>"),
                   ("<Sex>F</Sex>", "<Sex>F</Sex><Sex>M</Sex>"))
    r = read_cin_census(path)
    assert list(r.tables["cin_child"]["sex"]) == ["F", "M", "U"]  # the first Sex is used
    assert sorted(zip(r.rejects["rule"], r.rejects["location"], r.rejects["action"])) == [
        ("repeated_element", "Child[1]/ChildIdentifiers/Sex", "ignored"),
        ("unexpected_element", "Children/Note", "ignored")]


def test_namespaced_and_utf16_files_read_the_same(tmp_path):
    text = (FIXTURES / "cin_census_2026_small.xml").read_text(encoding="utf-8")
    ns = tmp_path / "ns.xml"
    ns.write_text(text.replace("<Message>", '<Message xmlns="urn:example:cin">'), encoding="utf-8")
    utf16 = tmp_path / "utf16.xml"
    utf16.write_bytes(text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"))
    base = read_cin_census(FIXTURES / "cin_census_2026_small.xml")
    for path in (ns, utf16):
        r = read_cin_census(path)
        assert r.rejects.empty
        for name in TABLES:
            assert r.tables[name].drop(columns="source_file").equals(base.tables[name].drop(columns="source_file")), name
