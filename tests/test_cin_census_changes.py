"""The CIN census yearly changes as data: one *.diff.yml file per change, read in year order."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sources import cin_census
from sources.cin_census import load_cin_schema, read_cin_census
from sources.schema import SCHEMA_DIR

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cin"
CHANGES = SCHEMA_DIR / "cin" / "changes"


def schema_copy(tmp_path: Path) -> Path:
    """A copy of cin_census.yaml and its change folder, laid out as in sources/schemas/."""
    shutil.copy(SCHEMA_DIR / "cin_census.yaml", tmp_path / "cin_census.yaml")
    shutil.copytree(CHANGES, tmp_path / "cin" / "changes")
    return tmp_path / "cin_census.yaml"


def test_each_change_is_one_file_read_in_year_order():
    schema = load_cin_schema()
    assert [(c.collection_year, c.file) for c in schema.change_files] == [
        (2021, "2021_assessment_factor_split.diff.yml"),
        (2022, "2022_criminal_exploitation_24A.diff.yml"),
        (2023, "2023_referral_5D_closure_RC9.diff.yml"),
        (2025, "2025_sex_replaces_gendercurrent.diff.yml"),
        (2026, "2026_yes_no_0_1.diff.yml")]
    assert all(c.title and len(c.why) > 80 for c in schema.change_files)
    assert schema.raw["years"] == {"first": 2017, "last": 2026, "changes": "cin/changes"}  # no changes inline
    assert list(schema.changes) == [2021, 2022, 2023, 2025, 2026]
    # what each year's files mean for the reader
    valid_2020, superseded_2020, added = schema.codes_for_year("assessment_factor", 2020)
    assert {"18A", "19A"} <= valid_2020 and not {"18B", "18C", "19B", "19C", "24A"} & valid_2020
    assert superseded_2020 == set()
    assert added == {"18B": 2021, "18C": 2021, "19B": 2021, "19C": 2021, "24A": 2022}
    valid_2021, superseded_2021, _ = schema.codes_for_year("assessment_factor", 2021)
    assert {"18B", "19C"} <= valid_2021 and "24A" not in valid_2021 and superseded_2021 == {"18A", "19A"}
    assert "5D" not in schema.codes_for_year("referral_source", 2022)[0]
    assert "5D" in schema.codes_for_year("referral_source", 2023)[0]
    assert "RC9" not in schema.codes_for_year("reason_for_closure", 2022)[0]
    assert schema.element_year("ChildIdentifiers/Sex") == ("ChildIdentifiers/GenderCurrent", 2025)
    assert schema.changes[2026] == [{"path": "code_lists.yes_no", "note": schema.changes[2026][0]["note"],
                                     "value": "0/1 from 2026; true/false before",
                                     "file": "2026_yes_no_0_1.diff.yml"}]


NEW_CHANGE = """\
collection_year: 2027
title: Assessment factor 25A (a change of a future year, for the test)
why: >-
  A hypothetical DfE change: a new factor 25A from the 2026 to 2027 census, and factor 20
  ("Other") queried from then on. Written as a new file dropped into the folder.
changes:
  - path: code_lists.assessment_factor
    type: add
    description: a new factor
    value:
      25A: A new factor
  - path: code_lists.assessment_factor
    type: supersede
    description: factor 20 (other) is queried
    value: ["20"]
"""


def test_a_change_file_dropped_into_the_folder_is_picked_up(tmp_path, monkeypatch):
    yaml_path = schema_copy(tmp_path)
    (tmp_path / "cin" / "changes" / "2027_assessment_factor_25A.diff.yml").write_text(NEW_CHANGE)
    schema = load_cin_schema(yaml_path)
    assert schema.change_files[-1].file == "2027_assessment_factor_25A.diff.yml"
    assert schema.last_year == 2027  # a change file for a later year extends the years read
    assert "25A" in schema.code_lists["assessment_factor"].codes
    assert "25A" not in schema.codes_for_year("assessment_factor", 2026)[0]
    valid, superseded, _ = schema.codes_for_year("assessment_factor", 2027)
    assert "25A" in valid and superseded == {"18A", "19A", "20"}

    # The reader uses it: a 2026 return with 25A has a code not yet in use; a 2027 one does not,
    # and its factor 20 is flagged as superseded.
    monkeypatch.setattr(cin_census, "load_cin_schema", lambda: schema)
    text = (FIXTURES / "cin_census_2026_small.xml").read_text(encoding="utf-8")
    text = text.replace("<AssessmentFactors>4B</AssessmentFactors>", "<AssessmentFactors>25A</AssessmentFactors>")
    text = text.replace("<AssessmentFactors>3B</AssessmentFactors>", "<AssessmentFactors>20</AssessmentFactors>")
    assert "25A" in text and ">20<" in text
    y2026 = tmp_path / "cin_2026.xml"
    y2026.write_text(text, encoding="utf-8")
    r = read_cin_census(y2026)
    assert list(r.rejects["rule"]) == ["code_not_in_year"]
    assert "'25A' is not in use in collection year 2026 (added in 2027)" in r.rejects["message"].iloc[0]
    y2027 = tmp_path / "cin_2027.xml"
    y2027.write_text(text.replace("<Year>2026</Year>", "<Year>2027</Year>")
                     .replace("<ReferenceDate>2026-03-31", "<ReferenceDate>2027-03-31"), encoding="utf-8")
    r = read_cin_census(y2027)
    assert r.header.collection_year == 2027
    assert list(zip(r.rejects["rule"], r.rejects["field"])) == [("code_superseded", "assessment_factor")]
    assert list(r.tables["cin_assessment_factor"]["assessment_factor"])[:3] == ["16A", "20", "25A"]
    # the schema in use by default is untouched
    assert load_cin_schema().last_year == 2026


@pytest.mark.parametrize("name, body, problem", [
    ("2024_wrong_year.diff.yml", NEW_CHANGE, "collection_year 2027 differs from the year 2024 in the file name"),
    ("new_factor.diff.yml", NEW_CHANGE, "a change file is named <collection year>_<name>.diff.yml"),
    ("2027_bad_type.diff.yml", NEW_CHANGE.replace("type: add", "type: drop"), "change type 'drop'"),
    ("2027_unknown_code.diff.yml", NEW_CHANGE.replace('["20"]', '["99Z"]'), "99Z not in code list assessment_factor"),
    ("2027_no_why.diff.yml", NEW_CHANGE.replace("why:", "reason:"), "missing why"),
    ("2027_rename.diff.yml", NEW_CHANGE.split("changes:")[0] + (
        "changes:\n  - path: tables.cin_child.columns.sex\n    type: rename\n    description: x\n"
        "    value: {from: ChildIdentifiers/Gender, to: ChildIdentifiers/Sex}\n"),
     "column sex must read element ChildIdentifiers/Sex with legacy_element ChildIdentifiers/Gender"),
])
def test_a_malformed_change_file_is_refused_naming_it(tmp_path, name, body, problem):
    yaml_path = schema_copy(tmp_path)
    (tmp_path / "cin" / "changes" / name).write_text(body)
    with pytest.raises(ValueError) as info:
        load_cin_schema(yaml_path)
    assert str(info.value).startswith(name) and problem in str(info.value), str(info.value)
