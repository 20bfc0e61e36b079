"""Ofsted Annex A workbooks read as real ones are filled in (tests/fixtures/annex_a/, written by hand to the
2024 template; README there): which sheet each list is read from, and the values as workbooks hold them.

The end-to-end run of `neglect run` on these files is in tests/test_real_partnership.py.
"""
from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from sources.errors import SourceFileError
from sources.incoming import scan_incoming
from sources.registry import load_registry
from sources.xlsx import choose_sheet, shows_whole_number

FIXTURES = Path(__file__).parent / "fixtures" / "annex_a"
TEMPLATE = FIXTURES / "annex_a_2024_template_northbrook.xlsx"
OTHER_NAMES = FIXTURES / "annex_a_other_sheet_names_northbrook.xlsx"
LIST_4_CSV = FIXTURES / "annex_a_list_4_assessments_eastmere.csv"
REGISTRY = load_registry()
LISTS = {"cp_list": "List 7", "annex_a_early_help": "List 2", "annex_a_referrals": "List 3",
         "annex_a_assessments": "List 4", "annex_a_section47": "List 5", "annex_a_children_in_need": "List 6"}


def read(source: str, path: Path, extract_date: str = "2025-09-30"):
    return REGISTRY[source].read(path, extract_date=extract_date, authority="991_northbrook")


@pytest.fixture(scope="module")
def incoming(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("annex_a") / "incoming"
    for rel, path in (("991_northbrook/2025-09-30", TEMPLATE), ("991_northbrook/2026-03-31", OTHER_NAMES),
                      ("992_eastmere/2026-03-31", LIST_4_CSV)):
        (root / rel).mkdir(parents=True)
        shutil.copy(path, root / rel / path.name)
    return root


def test_a_workbook_is_recognised_once_by_its_sheets_and_each_list_read_from_its_own(incoming):
    scan = scan_incoming(incoming, REGISTRY)
    found = {(f.source, f.rel.split("/")[1], f.sheet) for f in scan.files}
    assert {(s, "2025-09-30", sheet) for s, sheet in LISTS.items()} <= found  # lists 2-7 of the 2024 template
    # another report writer's names: "L3", "List 5 - S47" (empty), "Children in Need"; no list 2, 4 or 7
    assert {("annex_a_referrals", "2026-03-31", "L3"), ("annex_a_section47", "2026-03-31", "List 5 - S47"),
            ("annex_a_children_in_need", "2026-03-31", "Children in Need")} <= found
    later = {s for s, period, sheet in found if period == "2026-03-31" and sheet}
    assert not later & {"annex_a_early_help", "annex_a_assessments", "cp_list"}  # absent sheets: not supplied
    assert ("annex_a_assessments", "2026-03-31", None) in found  # Eastmere's list 4 as its own CSV, by name
    assert scan.skipped == []


def test_a_list_is_not_read_twice_where_the_period_has_its_own_file(tmp_path):
    folder = tmp_path / "991_northbrook" / "2025-09-30"
    folder.mkdir(parents=True)
    shutil.copy(TEMPLATE, folder / TEMPLATE.name)
    (folder / "annex_a_list_7_child_protection.csv").write_text(
        "Child Unique ID,Child Protection Plan Start Date,Initial Category of Abuse\nNB1,01/07/2025,Neglect\n",
        encoding="utf-8")
    scan = scan_incoming(tmp_path, REGISTRY)
    cp = [(f.rel.rsplit("/", 1)[1], f.sheet) for f in scan.files if f.source == "cp_list"]
    assert cp == [("annex_a_list_7_child_protection.csv", None)]
    assert {s for s, *_ in ((f.source,) for f in scan.files)} >= {"annex_a_referrals", "annex_a_children_in_need"}
    assert scan.skipped == [(f"991_northbrook/2025-09-30/{TEMPLATE.name} (sheet 'List 7')",
                             "not read as Child protection list (Ofsted Annex A list 7): the period has that list's "
                             "own file (annex_a_list_7_child_protection.csv), and a list is not read twice")]


@pytest.mark.parametrize(("names", "list_7"), [
    (["List 1", "List 7"], "List 7"), (["Contents", "List 7 - Child Protection"], "List 7 - Child Protection"),
    (["Summary", "CP"], "CP"), (["L6", "L7"], "L7"), (["LIST_7", "List 70"], "LIST_7"),
    (["Child Protection Plans", "Notes"], "Child Protection Plans"), (["List 70", "Sheet1"], None)])
def test_list_sheets_are_matched_tolerantly(names, list_7):
    assert choose_sheet(names, REGISTRY["cp_list"].sheets) == list_7


def test_values_as_the_workbook_holds_them():
    cp = read("cp_list", TEMPLATE)
    assert cp.sheet == "List 7" and cp.sheet_count == 10
    assert cp.rows_read == 4 == len(cp.rows) + cp.rejected_lines and cp.rejected_lines == 0
    rows = cp.rows.set_index("child_id")
    # Age 0.1943874058863792 displayed 0 is 0; 13.41 displayed 13 is 13
    assert rows.loc["NB9701", "age_years"] == 0 and rows.loc["NB9702", "age_years"] == 13
    # option letters: "a) Neglect", "b) Physical abuse", "e) Multiple/not recommended", "a) WBRI", "s) NOBT"
    assert list(rows["initial_category"]) == ["NEG", "PHY", "EMO", "NEG"]
    assert list(rows["latest_category"]) == ["NEG", "PHY", "MUL", "NEG"]
    assert list(rows["ethnicity"]) == ["WBRI", "WBRI", "NOBT", "CHNE"] and set(rows["gender"]) == {"M", "F"}
    assert rows.loc["NB9701", "disability"] == "N" and rows.loc["NB9703", "disability"] == "Y"
    # an Excel date cell, and a date typed as dd/mm/yyyy text
    assert rows.loc["NB9701", "cp_plan_start_date"] == pd.Timestamp("2025-08-04")
    assert rows.loc["NB9703", "latest_review_date"] == pd.Timestamp("2025-08-26")
    # a formula with a saved value is read by it; one without is flagged, never read silently as blank
    assert rows.loc["NB9702", "previous_cp_plans"] == 1
    flag = cp.flags.set_index("field").loc["cp_plan_end_date"]
    assert (flag["rule"], flag["source_line"]) == ("formula_without_value", 4)
    assert "cell M4" in flag["message"] and "unknown, not blank" in flag["message"]


def test_a_genuinely_fractional_whole_number_is_rejected_and_says_so():
    referrals = read("annex_a_referrals", TEMPLATE)
    assert referrals.rows_read == 4 and len(referrals.rows) == 3
    reject = referrals.rejects.iloc[0]
    assert (reject["source_line"], reject["field"], reject["rule"]) == (5, "age_years", "invalid_number")
    assert reject["message"] == "age_years is not a whole number"  # a number is not quoted (sources.quoting)
    assert list(referrals.rows["referral_nfa"]) == ["N", "N", "Y"]


def test_assessment_factors_where_the_system_exports_them():
    assessments = read("annex_a_assessments", TEMPLATE)
    assert list(assessments.rows["assessment_factors"]) == ["16A;3B", "21", "16A;18C"]  # "; " and "," separated
    assert assessments.missing_columns == ()
    early_help = read("annex_a_early_help", TEMPLATE)
    assert list(early_help.rows["presenting_needs"].fillna("")) == ["16A;3B", "4B", ""]
    assert "gcp2_physical_care" in early_help.missing_columns  # not exported: listed, not an error
    csv = REGISTRY["annex_a_assessments"].read(LIST_4_CSV, extract_date="2026-03-31", authority="992_eastmere")
    assert csv.sheet == "" and list(csv.rows["assessment_factors"].fillna("")) == ["16A", "3A;21", ""]


def test_children_in_need_primary_need_and_closure_through_their_option_letters():
    cin = read("annex_a_children_in_need", TEMPLATE).rows.set_index("child_id")
    assert cin.loc["NB9601", "primary_need"] == "N1" and cin.loc["NB9301", "primary_need"] == "N5"
    assert cin.loc["NB9602", "reason_for_closure"] == "RC7"
    assert cin.loc["NB9602", "cin_closure_date"] == pd.Timestamp("2025-07-30")


def test_an_empty_list_sheet_is_supplied_with_no_rows():
    s47 = read("annex_a_section47", OTHER_NAMES, "2026-03-31")
    assert (s47.sheet, s47.rows_read, len(s47.rows), len(s47.rejects)) == ("List 5 - S47", 0, 0, 0)


def test_a_workbook_named_for_a_list_without_its_sheet_is_refused_naming_the_sheets(tmp_path):
    path = tmp_path / "annex_a_list_7_child_protection.xlsx"
    shutil.copy(OTHER_NAMES, path)
    with pytest.raises(SourceFileError) as refused:
        read("cp_list", path)
    assert "no sheet named like the list this source reads" in str(refused.value)
    assert "'Contents', 'L3', 'List 5 - S47', 'Children in Need'" in str(refused.value)


def test_a_single_sheet_export_named_for_its_source_is_read_whatever_the_sheet_is_called(tmp_path):
    wb = Workbook()
    wb.active.title = "Export"
    wb.active.append(["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)",
                      "Child Protection Plan Start Date", "Initial Category of Abuse", "Latest Category of Abuse"])
    wb.active.append(["C1", "Male", "White British", datetime(2015, 4, 3), 10.0, "01/02/2025", "Neglect", "Neglect"])
    folder = tmp_path / "991_x" / "2025-03-31"
    folder.mkdir(parents=True)
    wb.save(folder / "annex_a_list_7_child_protection.xlsx")
    scan = scan_incoming(tmp_path, REGISTRY)
    assert [(f.source, f.recognised_by) for f in scan.files] == [("cp_list", "name")]
    rows = read("cp_list", folder / "annex_a_list_7_child_protection.xlsx", "2025-03-31").rows
    assert (rows.loc[0, "age_years"], rows.loc[0, "ethnicity"]) == (10, "WBRI")


@pytest.mark.parametrize(("fmt", "whole"), [("0", True), ("#,##0", True), ("0_);(0)", True), ("General", False),
                                             ("0.0", False), ("0%", False), ("# ?/?", False), ("@", False)])
def test_which_number_formats_show_a_whole_number(fmt, whole):
    assert shows_whole_number(fmt) is whole
