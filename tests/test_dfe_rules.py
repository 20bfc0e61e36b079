"""The DfE-style validation rules (checks.dfe_rules): every rule on a hand-made passing and failing case.

The tables are built here row by row with exactly the columns and dtypes the readers
return (``test_builder_matches_the_readers`` keeps them in step) plus ``record_id``. One
small scenario (``base``) is valid under every rule; each case changes it just enough to
pass at the boundary or to fail, and names the record_ids that must be found.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest

from checks.dfe_rules import OUTPUT_COLUMNS, all_rules, get_rule, prepare_connection, rule, run_rules
from sources.cin_census import read_cin_census
from sources.cp_list import read_cp_list

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REF = date(2026, 3, 31)  # census reference date; the census year starts 2025-04-01
CIN_FILE = "cin_census_2026.xml"
CP_FILE = "991_northbrook/2026-03-31/annex_a_list_7_child_protection.xlsx"

# ----------------------------------------------------------------------------- building tables

# table: (element path in source_location, parent table, own ordinal column)
ELEMENTS = {
    "cin_child": ("Child", None, "child_ordinal"),
    "cin_disability": ("ChildCharacteristics/Disabilities/Disability", "cin_child", "disability_ordinal"),
    "cin_episode": ("CINdetails", "cin_child", "episode_ordinal"),
    "cin_assessment": ("Assessments", "cin_episode", "assessment_ordinal"),
    "cin_assessment_factor": ("FactorsIdentifiedAtAssessment/AssessmentFactors", "cin_assessment", "factor_ordinal"),
    "cin_plan": ("CINPlanDates", "cin_episode", "cin_plan_ordinal"),
    "cin_section47": ("Section47", "cin_episode", "section47_ordinal"),
    "cin_cp_plan": ("ChildProtectionPlans", "cin_episode", "cp_plan_ordinal"),
    "cin_cp_review": ("Reviews/CPPreviewDate", "cin_cp_plan", "review_ordinal"),
}
D, S, B, I = "datetime64[s]", "string", "boolean", "Int64"
# Value columns after the keys, in reader order, with their dtype.
VALUE_COLUMNS = {
    "cin_child": {"upn": S, "former_upn": S, "upn_unknown": S, "person_birth_date": D,
                  "expected_person_birth_date": D, "sex": S, "person_death_date": D, "ethnicity": S},
    "cin_disability": {"disability": S},
    "cin_episode": {"cin_referral_date": D, "referral_source": S, "primary_need_code": S, "cin_closure_date": D,
                    "reason_for_closure": S, "date_of_initial_cpc": D, "referral_nfa": B},
    "cin_assessment": {"assessment_actual_start_date": D, "assessment_internal_review_date": D,
                       "assessment_authorisation_date": D},
    "cin_assessment_factor": {"assessment_factor": S},
    "cin_plan": {"cin_plan_start_date": D, "cin_plan_end_date": D},
    "cin_section47": {"s47_actual_start_date": D, "initial_cpc_target": D, "date_of_initial_cpc": D,
                      "icpc_not_required": B},
    "cin_cp_plan": {"cpp_start_date": D, "cpp_end_date": D, "initial_category_of_abuse": S,
                    "latest_category_of_abuse": S, "number_of_previous_cpp": I},
    "cin_cp_review": {"cpp_review_date": D},
}
N = "datetime64[ns]"
CP_LIST_COLUMNS = {"authority": S, "child_id": S, "gender": S, "ethnicity": S, "date_of_birth": N, "age_years": I,
                   "disability": S, "cp_plan_start_date": N, "initial_category": S, "latest_category": S,
                   "last_statutory_visit_date": N, "seen_alone": S, "latest_review_date": N, "cp_plan_end_date": N,
                   "emergency_protection_order": S, "previous_cp_plans": I, "allocated_team": S, "source_file": S,
                   "source_line": "int64", "extract_date": D}


def keys_of(table: str) -> list[str]:
    """The ordinal columns of a CIN table: the parents' and its own."""
    element, parent, ordinal = ELEMENTS[table]
    return (keys_of(parent) if parent else []) + [ordinal]


def location(table: str, row: dict) -> str:
    """The reader's source_location for a row, e.g. Child[1]/CINdetails[1]/ChildProtectionPlans[1]."""
    element, parent, ordinal = ELEMENTS[table]
    own = f"{element}[{row.get(ordinal, 1)}]"
    return f"{location(parent, row)}/{own}" if parent else own


def rid(table: str, **ordinals) -> str:
    """The record_id the loader gives a CIN row (ordinals default to 1), or a CP list row (``line=``)."""
    if table == "cp_list":
        return f"{CP_FILE}#{ordinals.get('line', 2)}"
    return f"{CIN_FILE}#{location(table, ordinals)}"


def base() -> dict[str, list[dict]]:
    """One child with one episode carrying one of everything, and one CP list row: valid under every rule."""
    return copy.deepcopy({
        "cin_child": [{"la_child_id": "C1", "person_birth_date": "2015-06-01", "sex": "F", "ethnicity": "WBRI"}],
        "cin_disability": [{"disability": "NONE"}],
        "cin_episode": [{"cin_referral_date": "2025-05-01", "referral_source": "2A", "primary_need_code": "N1",
                         "referral_nfa": False}],
        "cin_assessment": [{"assessment_actual_start_date": "2025-05-02", "assessment_authorisation_date": "2025-05-16"}],
        "cin_assessment_factor": [{"assessment_factor": "16A"}],
        "cin_plan": [{"cin_plan_start_date": "2025-05-16", "cin_plan_end_date": "2025-05-20"}],
        "cin_section47": [{"s47_actual_start_date": "2025-05-06", "initial_cpc_target": "2025-05-20",
                           "date_of_initial_cpc": "2025-05-20", "icpc_not_required": False}],
        "cin_cp_plan": [{"cpp_start_date": "2025-05-20", "initial_category_of_abuse": "NEG",
                         "latest_category_of_abuse": "NEG", "number_of_previous_cpp": 0}],
        "cin_cp_review": [{"cpp_review_date": "2025-08-20"}],
        "cp_list": [{"child_id": "X1", "date_of_birth": "2015-06-01", "age_years": 10, "cp_plan_start_date": "2025-05-20",
                     "initial_category": "NEG", "latest_category": "NEG", "previous_cp_plans": 0, "source_line": 2}],
    })


def build(rows: dict[str, list[dict]]) -> dict[str, pd.DataFrame]:
    """DataFrames as the readers return them, plus record_id, from a scenario's row dicts."""
    ids = {r.get("child_ordinal", 1): r.get("la_child_id") for r in rows["cin_child"]}
    tables = {}
    for table, values in VALUE_COLUMNS.items():
        keys = keys_of(table)
        data = {"source_file": [CIN_FILE] * len(rows[table]), "la_code": "991", "collection_year": 2026,
                "child_ordinal": [r.get("child_ordinal", 1) for r in rows[table]],
                "la_child_id": [ids.get(r.get("child_ordinal", 1)) for r in rows[table]],
                "is_duplicate": False}
        for k in keys[1:]:
            data[k] = [r.get(k, 1) for r in rows[table]]
        data["source_location"] = [location(table, r) for r in rows[table]]
        data["source_line"] = 0
        for column in values:
            data[column] = [r.get(column) for r in rows[table]]
        frame = pd.DataFrame(data).astype({"source_file": S, "la_code": S, "collection_year": "int64",
                                           "la_child_id": S, "is_duplicate": "bool", **{k: "int64" for k in keys},
                                           "source_location": S, "source_line": "int64", **values})
        frame["record_id"] = frame["source_file"] + "#" + frame["source_location"]
        tables[table] = frame
    cp_defaults = {"authority": "991_northbrook", "gender": "F", "ethnicity": "WBRI", "disability": "N",
                   "seen_alone": "Y", "emergency_protection_order": "N", "allocated_team": "Team 1",
                   "source_file": CP_FILE, "extract_date": "2026-03-31"}
    cp = pd.DataFrame([{c: r.get(c, cp_defaults.get(c)) for c in CP_LIST_COLUMNS} for r in rows["cp_list"]],
                      columns=list(CP_LIST_COLUMNS)).astype(CP_LIST_COLUMNS)
    cp["record_id"] = cp["source_file"] + "#" + cp["source_line"].astype(str)
    cp["la_code"] = pd.Series("991", index=cp.index, dtype=S)
    tables["cp_list"] = cp
    return tables


def set_row(rows: dict, table: str, i: int = 0, **values) -> None:
    rows[table][i].update(values)


def add_row(rows: dict, table: str, **values) -> None:
    """Append a copy of the table's first row with the given ordinals and values changed."""
    rows[table].append({**rows[table][0], **values})


# ----------------------------------------------------------------------------- cases, one per rule

@dataclass
class Case:
    fail: Callable[[dict], None]          # changes base() so the rule fails ...
    expected: list[str]                   # ... on exactly these record_ids
    passing: Callable[[dict], None] = lambda rows: None  # changes base() to the edge of passing (default: base)


def two_dates(table: str, column: str, first: str, second: str, **second_row) -> Callable[[dict], None]:
    """Set ``column`` of the first row to ``first`` and add a second row (``second_row`` ordinals) with ``second``."""
    def change(rows):
        set_row(rows, table, **{column: first})
        add_row(rows, table, **second_row, **{column: second})
    return change


def changes(*steps: Callable[[dict], None]) -> Callable[[dict], None]:
    def change(rows):
        for step in steps:
            step(rows)
    return change


def put(table: str, i: int = 0, **values) -> Callable[[dict], None]:
    return lambda rows: set_row(rows, table, i, **values)


def append(table: str, **values) -> Callable[[dict], None]:
    return lambda rows: add_row(rows, table, **values)


CASES: dict[str, Case] = {
    # children
    "CIN-8500": Case(fail=put("cin_child", la_child_id=None), expected=[rid("cin_child")],
                     passing=put("cin_child", la_child_id="0")),
    "CIN-8510": Case(fail=changes(append("cin_child", child_ordinal=2), append("cin_child", child_ordinal=3,
                                                                             la_child_id="C3")),
                     expected=[rid("cin_child", child_ordinal=1), rid("cin_child", child_ordinal=2)],
                     passing=append("cin_child", child_ordinal=2, la_child_id="C2")),
    # born 29 Feb 2008: 17 on 28 Feb 2026, 18 on 1 March 2026
    "NEG-10": Case(fail=changes(put("cin_child", person_birth_date="2008-02-29"),
                                put("cin_episode", cin_referral_date="2026-03-01")),
                   expected=[rid("cin_episode")],
                   passing=changes(put("cin_child", person_birth_date="2008-02-29"),
                                   put("cin_episode", cin_referral_date="2026-02-28"))),
    # episodes
    "CIN-8600": Case(fail=put("cin_episode", cin_referral_date="2026-04-01"), expected=[rid("cin_episode")],
                     passing=put("cin_episode", cin_referral_date="2026-03-31")),
    "CIN-8620": Case(fail=two_dates("cin_episode", "cin_closure_date", "2026-04-01", "2025-03-31", episode_ordinal=2,
                                    cin_referral_date="2025-01-01", reason_for_closure="RC8"),
                     expected=[rid("cin_episode", episode_ordinal=1), rid("cin_episode", episode_ordinal=2)],
                     passing=two_dates("cin_episode", "cin_closure_date", "2026-03-31", "2025-04-01",
                                       episode_ordinal=2, cin_referral_date="2025-01-01", reason_for_closure="RC8")),
    "CIN-8630": Case(fail=put("cin_episode", cin_closure_date="2025-04-30", reason_for_closure="RC8"),
                     expected=[rid("cin_episode")],
                     passing=put("cin_episode", cin_closure_date="2025-05-01", reason_for_closure="RC8")),
    "CIN-8805": Case(fail=put("cin_episode", cin_closure_date="2026-03-01"), expected=[rid("cin_episode")],
                     passing=put("cin_episode", cin_closure_date="2026-03-01", reason_for_closure="RC7")),
    "CIN-8810": Case(fail=put("cin_episode", reason_for_closure="RC7"), expected=[rid("cin_episode")]),
    "NEG-11": Case(fail=put("cin_episode", date_of_initial_cpc="2026-04-01"), expected=[rid("cin_episode")],
                   passing=put("cin_episode", date_of_initial_cpc="2026-03-31")),
    # section 47 enquiries
    "NEG-12": Case(fail=put("cin_section47", s47_actual_start_date="2026-04-01"), expected=[rid("cin_section47")],
                   passing=put("cin_section47", s47_actual_start_date="2026-03-31")),
    "CIN-8715": Case(fail=two_dates("cin_section47", "date_of_initial_cpc", "2026-04-01", "2025-03-31",
                                    section47_ordinal=2, s47_actual_start_date="2025-03-20"),
                     expected=[rid("cin_section47", section47_ordinal=1), rid("cin_section47", section47_ordinal=2)],
                     passing=two_dates("cin_section47", "date_of_initial_cpc", "2026-03-31", "2025-04-01",
                                       section47_ordinal=2, s47_actual_start_date="2025-03-20")),
    # assessments
    "CIN-8608": Case(fail=put("cin_assessment", assessment_authorisation_date="2025-05-01"),
                     expected=[rid("cin_assessment")],
                     passing=put("cin_assessment", assessment_authorisation_date="2025-05-02")),
    # assessment 2 is open and has no factors: fine either way
    "CIN-8614": Case(fail=changes(put("cin_assessment", assessment_authorisation_date=None),
                                  append("cin_assessment", assessment_ordinal=2, assessment_authorisation_date=None)),
                     expected=[rid("cin_assessment", assessment_ordinal=1)],
                     passing=append("cin_assessment", assessment_ordinal=2, assessment_authorisation_date=None)),
    "CIN-8696": Case(fail=two_dates("cin_assessment", "assessment_authorisation_date", "2026-04-01", "2025-03-31",
                                    assessment_ordinal=2, assessment_actual_start_date="2025-03-01"),
                     expected=[rid("cin_assessment", assessment_ordinal=1), rid("cin_assessment", assessment_ordinal=2)],
                     passing=two_dates("cin_assessment", "assessment_authorisation_date", "2026-03-31", "2025-04-01",
                                       assessment_ordinal=2, assessment_actual_start_date="2025-03-01")),
    "NEG-13": Case(fail=put("cin_assessment", assessment_actual_start_date="2026-04-01",
                            assessment_authorisation_date=None), expected=[rid("cin_assessment")],
                   passing=put("cin_assessment", assessment_actual_start_date="2026-03-31",
                               assessment_authorisation_date=None)),
    "NEG-14": Case(fail=put("cin_assessment", assessment_internal_review_date="2026-04-01"),
                   expected=[rid("cin_assessment")],
                   passing=put("cin_assessment", assessment_internal_review_date="2026-03-31")),
    # CIN plans
    "CIN-4010": Case(fail=put("cin_plan", cin_plan_start_date="2026-04-01", cin_plan_end_date=None),
                     expected=[rid("cin_plan")],
                     passing=put("cin_plan", cin_plan_start_date="2026-03-31", cin_plan_end_date=None)),
    "CIN-4011": Case(fail=put("cin_plan", cin_plan_end_date="2025-05-15"), expected=[rid("cin_plan")],
                     passing=put("cin_plan", cin_plan_end_date="2025-05-16")),
    "CIN-4013": Case(fail=two_dates("cin_plan", "cin_plan_end_date", "2026-04-01", "2025-03-31", cin_plan_ordinal=2,
                                    cin_plan_start_date="2025-03-01"),
                     expected=[rid("cin_plan", cin_plan_ordinal=1), rid("cin_plan", cin_plan_ordinal=2)],
                     passing=two_dates("cin_plan", "cin_plan_end_date", "2026-03-31", "2025-04-01",
                                       cin_plan_ordinal=2, cin_plan_start_date="2025-03-01")),
    # child protection plans
    "CIN-8925": Case(fail=put("cin_cp_plan", cpp_end_date="2025-05-19"), expected=[rid("cin_cp_plan")],
                     passing=put("cin_cp_plan", cpp_end_date="2025-05-20")),
    "CIN-1105": Case(fail=put("cin_cp_plan", cpp_start_date="2025-04-30"), expected=[rid("cin_cp_plan")],
                     passing=put("cin_cp_plan", cpp_start_date="2025-05-01")),
    "CIN-8905": Case(fail=changes(put("cin_cp_plan", initial_category_of_abuse="XYZ"),
                                  append("cin_cp_plan", cp_plan_ordinal=2, cpp_end_date="2025-06-01",
                                         initial_category_of_abuse=None)),
                     expected=[rid("cin_cp_plan", cp_plan_ordinal=1), rid("cin_cp_plan", cp_plan_ordinal=2)],
                     passing=append("cin_cp_plan", cp_plan_ordinal=2, cpp_end_date="2025-06-01",
                                    initial_category_of_abuse="MUL")),
    "CIN-8910": Case(fail=changes(put("cin_cp_plan", latest_category_of_abuse="neg"),
                                  append("cin_cp_plan", cp_plan_ordinal=2, cpp_end_date="2025-06-01",
                                         latest_category_of_abuse=None)),
                     expected=[rid("cin_cp_plan", cp_plan_ordinal=1), rid("cin_cp_plan", cp_plan_ordinal=2)],
                     passing=append("cin_cp_plan", cp_plan_ordinal=2, cpp_end_date="2025-06-01",
                                    latest_category_of_abuse="EMO")),
    "CIN-8720": Case(fail=put("cin_cp_plan", cpp_start_date="2026-04-01"), expected=[rid("cin_cp_plan")],
                     passing=put("cin_cp_plan", cpp_start_date="2026-03-31")),
    "CIN-8930": Case(fail=two_dates("cin_cp_plan", "cpp_end_date", "2026-04-01", "2025-03-31", cp_plan_ordinal=2,
                                    cpp_start_date="2025-03-01"),
                     expected=[rid("cin_cp_plan", cp_plan_ordinal=1), rid("cin_cp_plan", cp_plan_ordinal=2)],
                     passing=two_dates("cin_cp_plan", "cpp_end_date", "2026-03-31", "2025-04-01", cp_plan_ordinal=2,
                                       cpp_start_date="2025-03-01")),
    # child 1 has open plans in two episodes; child 2's single open plan is fine
    "CIN-8935": Case(fail=changes(append("cin_cp_plan", episode_ordinal=2),
                                  append("cin_cp_plan", child_ordinal=2)),
                     expected=[rid("cin_cp_plan", episode_ordinal=1), rid("cin_cp_plan", episode_ordinal=2)],
                     passing=changes(append("cin_cp_plan", episode_ordinal=2, cpp_end_date="2025-06-01"),
                                     append("cin_cp_plan", child_ordinal=2))),
    "NEG-20": Case(fail=changes(put("cin_cp_plan", number_of_previous_cpp=None),
                                append("cin_cp_plan", cp_plan_ordinal=2, cpp_end_date="2025-06-01",
                                       number_of_previous_cpp=-1)),
                   expected=[rid("cin_cp_plan", cp_plan_ordinal=1), rid("cin_cp_plan", cp_plan_ordinal=2)],
                   passing=append("cin_cp_plan", cp_plan_ordinal=2, cpp_end_date="2025-06-01",
                                  number_of_previous_cpp=3)),
    "NEG-21": Case(fail=put("cin_episode", cin_closure_date="2026-03-01", reason_for_closure="RC7"),
                   expected=[rid("cin_cp_plan")],
                   passing=changes(put("cin_episode", cin_closure_date="2026-03-01", reason_for_closure="RC7"),
                                   put("cin_cp_plan", cpp_end_date="2026-03-01"))),
    "CIN-8841": Case(fail=two_dates("cin_cp_review", "cpp_review_date", "2025-05-20", "2025-05-19", review_ordinal=2),
                     expected=[rid("cin_cp_review", review_ordinal=1), rid("cin_cp_review", review_ordinal=2)],
                     passing=put("cin_cp_review", cpp_review_date="2025-05-21")),
    "NEG-22": Case(fail=put("cin_cp_plan", cpp_end_date="2025-08-19"), expected=[rid("cin_cp_review")],
                   passing=put("cin_cp_plan", cpp_end_date="2025-08-20")),
    "NEG-23": Case(fail=put("cin_cp_review", cpp_review_date="2026-04-01"), expected=[rid("cin_cp_review")],
                   passing=put("cin_cp_review", cpp_review_date="2026-03-31")),
    # CP list
    "NEG-30": Case(fail=put("cp_list", cp_plan_end_date="2025-05-19"), expected=[rid("cp_list")],
                   passing=put("cp_list", cp_plan_end_date="2025-05-20")),
    "NEG-31": Case(fail=changes(put("cp_list", initial_category=None), append("cp_list", source_line=3,
                                                                              initial_category="Neglect")),
                   expected=[rid("cp_list", line=2), rid("cp_list", line=3)],
                   passing=append("cp_list", source_line=3, initial_category="SAB")),
    "NEG-32": Case(fail=changes(put("cp_list", latest_category=None), append("cp_list", source_line=3,
                                                                             latest_category="X")),
                   expected=[rid("cp_list", line=2), rid("cp_list", line=3)],
                   passing=append("cp_list", source_line=3, latest_category="PHY")),
    "NEG-33": Case(fail=put("cp_list", previous_cp_plans=-1), expected=[rid("cp_list")],
                   passing=append("cp_list", source_line=3, previous_cp_plans=None)),
    # line 2: 18 on the extract date, plan open; line 3: plan ended the day after the 18th birthday;
    # line 4: no date of birth, aged 18 on the list, plan open
    "NEG-34": Case(fail=changes(put("cp_list", date_of_birth="2008-03-31"),
                                append("cp_list", source_line=3, date_of_birth="2007-12-01",
                                       cp_plan_end_date="2025-12-02"),
                                append("cp_list", source_line=4, date_of_birth=None, age_years=18)),
                   expected=[rid("cp_list", line=2), rid("cp_list", line=3), rid("cp_list", line=4)],
                   passing=changes(put("cp_list", date_of_birth="2008-04-01"),
                                   append("cp_list", source_line=3, date_of_birth="2007-12-01",
                                          cp_plan_end_date="2025-12-01"),
                                   append("cp_list", source_line=4, date_of_birth=None, age_years=18,
                                          cp_plan_end_date="2026-01-01"))),
    # --- rules that remove, duplicate or move a child's neglect evidence (issue 14) ---
    # UPN check letter: H243278544154 is valid (DfE's example), R247962919251 has the wrong letter
    "CIN-1510": Case(fail=put("cin_child", upn="R247962919251"), expected=[rid("cin_child")],
                     passing=put("cin_child", upn="H243278544154")),
    # 421 is no LA code; 003 is (942 and 943 only from 2023-24: test_1530_changed_in_2024)
    "CIN-1530": Case(fail=put("cin_child", upn="R421962919251"), expected=[rid("cin_child")],
                     passing=put("cin_child", upn="H003278544154")),
    "CIN-1570": Case(fail=put("cin_child", la_child_id="X" * 21), expected=[rid("cin_child")],
                     passing=put("cin_child", la_child_id="X" * 20)),
    # born 2015-06-01: dying the day before is wrong, the same day is not
    "CIN-8535Q": Case(fail=put("cin_child", person_death_date="2015-05-31"), expected=[rid("cin_child")],
                      passing=put("cin_child", person_death_date="2015-06-01")),
    "CIN-8545Q": Case(fail=put("cin_child", person_death_date="2025-03-31"), expected=[rid("cin_child")],
                      passing=put("cin_child", person_death_date="2025-04-01")),
    # referred 2025-05-01
    "CIN-8555": Case(fail=put("cin_child", person_death_date="2025-04-30"), expected=[rid("cin_episode")],
                     passing=put("cin_child", person_death_date="2025-05-01")),
    # no valid disability code is fine only when every episode was a no-further-action referral
    "CIN-8540": Case(fail=put("cin_disability", disability=None), expected=[rid("cin_child")],
                     passing=changes(put("cin_disability", disability=None), put("cin_episode", referral_nfa=True))),
    "CIN-8790": Case(fail=append("cin_disability", disability_ordinal=2, disability="MOB"),
                     expected=[rid("cin_disability", disability_ordinal=2)],
                     passing=changes(put("cin_disability", disability="MOB"),
                                     append("cin_disability", disability_ordinal=2, disability="HAND"))),
    "CIN-8794": Case(fail=append("cin_disability", disability_ordinal=2),
                     expected=[rid("cin_disability", disability_ordinal=1), rid("cin_disability", disability_ordinal=2)],
                     passing=changes(put("cin_disability", disability="MOB"),
                                     append("cin_disability", disability_ordinal=2, disability="HAND"))),
    # closed 2025-05-15: the assessment authorised 05-16, the CIN plan 05-16 to 05-20 and the conference of
    # 05-20 come after it; closed on 2025-05-20 (the CP plan ending that day) nothing does
    "CIN-8565": Case(fail=put("cin_episode", cin_closure_date="2025-05-15", reason_for_closure="RC7"),
                     expected=[rid("cin_episode"), rid("cin_assessment"), rid("cin_plan"), rid("cin_section47")],
                     passing=changes(put("cin_episode", cin_closure_date="2025-05-20", reason_for_closure="RC7"),
                                     put("cin_cp_plan", cpp_end_date="2025-05-20"))),
    "CIN-2990": Case(fail=put("cin_episode", cin_closure_date="2026-03-01", reason_for_closure="RC8"),
                     expected=[rid("cin_episode"), rid("cin_section47"), rid("cin_cp_plan"), rid("cin_plan")],
                     passing=changes(put("cin_episode", cin_closure_date="2026-03-01", reason_for_closure="RC8"),
                                     lambda rows: rows.update(cin_section47=[], cin_cp_plan=[], cin_plan=[],
                                                              cin_cp_review=[]))),
    "CIN-8831": Case(fail=put("cin_episode", referral_nfa=True),
                     expected=[rid("cin_episode"), rid("cin_assessment"), rid("cin_section47")],
                     passing=changes(put("cin_episode", referral_nfa=True),
                                     lambda rows: rows.update(cin_assessment=[], cin_assessment_factor=[],
                                                              cin_section47=[]))),
    "CIN-1103": Case(fail=put("cin_assessment", assessment_actual_start_date="2025-04-30"),
                     expected=[rid("cin_assessment")],
                     passing=put("cin_assessment", assessment_actual_start_date="2025-05-01")),
    "CIN-1104": Case(fail=put("cin_section47", date_of_initial_cpc="2025-04-30"), expected=[rid("cin_section47")],
                     passing=put("cin_section47", date_of_initial_cpc="2025-05-01")),
    "CIN-2889": Case(fail=put("cin_section47", s47_actual_start_date="2025-04-30"), expected=[rid("cin_section47")],
                     passing=put("cin_section47", s47_actual_start_date="2025-05-01")),
    # a completed assessment with no factor: queried when completed in the census year, not before it
    "CIN-8897Q": Case(fail=lambda rows: rows.update(cin_assessment_factor=[]), expected=[rid("cin_assessment")],
                      passing=changes(lambda rows: rows.update(cin_assessment_factor=[]),
                                      put("cin_assessment", assessment_actual_start_date="2025-03-01",
                                          assessment_authorisation_date="2025-03-31"))),
    "CIN-8945Q": Case(fail=put("cin_assessment_factor", assessment_factor="18A"),
                      expected=[rid("cin_assessment_factor")],
                      passing=put("cin_assessment_factor", assessment_factor="18B")),
    "CIN-8950Q": Case(fail=put("cin_assessment_factor", assessment_factor="19A"),
                      expected=[rid("cin_assessment_factor")],
                      passing=put("cin_assessment_factor", assessment_factor="19C")),
    # the CP plan starts 2025-05-20 and is open: a CIN plan starting that day is inside it; one starting on
    # the day a plan ended is not
    "CIN-4016": Case(fail=put("cin_plan", cin_plan_start_date="2025-05-20", cin_plan_end_date=None),
                     expected=[rid("cin_plan")],
                     passing=changes(put("cin_cp_plan", cpp_end_date="2025-06-01"),
                                     put("cin_plan", cin_plan_start_date="2025-06-01", cin_plan_end_date=None))),
    "CIN-8940": Case(fail=append("cin_cp_plan", cp_plan_ordinal=2, cpp_start_date="2025-06-01"),
                     expected=[rid("cin_cp_plan", cp_plan_ordinal=1), rid("cin_cp_plan", cp_plan_ordinal=2)],
                     passing=changes(put("cin_cp_plan", cpp_end_date="2025-05-31"),
                                     append("cin_cp_plan", cp_plan_ordinal=2, cpp_start_date="2025-06-01",
                                            cpp_end_date=None))),
    "NEG-35": Case(fail=append("cp_list", source_line=3, cp_plan_start_date="2025-06-01"),
                   expected=[rid("cp_list", line=2), rid("cp_list", line=3)],
                   passing=changes(put("cp_list", cp_plan_end_date="2025-06-01"),
                                   append("cp_list", source_line=3, cp_plan_start_date="2025-06-01",
                                          cp_plan_end_date=None))),
}

RULE_CODES = [r.code for r in all_rules()]


def scenario(change: Callable[[dict], None]) -> dict[str, pd.DataFrame]:
    rows = base()
    change(rows)
    return build(rows)


# ----------------------------------------------------------------------------- every rule, pass and fail

def test_every_case_is_for_a_registered_rule():
    assert sorted(set(CASES) - set(RULE_CODES)) == []


@pytest.mark.parametrize("code", RULE_CODES)
def test_rule_passes_and_fails_on_its_case(code):
    assert code in CASES, f"rule {code} has no test case in CASES"
    case, r = CASES[code], get_rule(code)

    passed = run_rules(scenario(case.passing), REF, rules=[r])
    assert passed.empty, passed.to_string()
    assert passed.attrs["rules_run"] == [code]

    failed = run_rules(scenario(case.fail), REF, rules=[r])
    assert sorted(failed["record_id"]) == sorted(case.expected)
    assert set(failed["rule_code"]) == {code} and set(failed["rule_name"]) == {r.name}
    assert set(failed["severity"]) == {r.severity} and set(failed["message"]) == {r.message}
    assert set(failed["la_code"]) == {"991"}
    assert set(failed["table_name"]) == {_table_of(e) for e in case.expected}


def _table_of(record_id: str) -> str:
    if record_id.startswith(CP_FILE):
        return "cp_list"
    element = record_id.split("#", 1)[1].split("/")[-1].split("[")[0]
    return next(t for t, (path, _, _) in ELEMENTS.items() if path.split("/")[-1] == element)


def test_the_base_scenario_passes_every_rule():
    findings = run_rules(build(base()), REF)
    assert findings.empty, findings.to_string()
    assert findings.attrs["rules_run"] == RULE_CODES and findings.attrs["rules_skipped"] == {}
    assert list(findings.columns) == list(OUTPUT_COLUMNS)


def test_a_failing_case_fails_only_where_expected_among_all_rules():
    """Changing one thing breaks the rules about that thing and no other (here: a CP plan ending before it starts)."""
    findings = run_rules(scenario(put("cin_cp_plan", cpp_end_date="2025-05-19")), REF)
    # the review (2025-08-20) is now after the plan's end too
    assert sorted(zip(findings["rule_code"], findings["record_id"])) == [
        ("CIN-8925", rid("cin_cp_plan")), ("NEG-22", rid("cin_cp_review"))]


# ----------------------------------------------------------------------------- the registry and the runner

def test_rules_are_well_formed():
    rules = all_rules()
    assert len({r.code for r in rules}) == len(rules)
    assert len({r.name for r in rules}) == len(rules)
    for r in rules:
        assert r.severity in ("error", "warning")
        assert r.message and r.message[0].isupper() and r.message.endswith(".")


def test_rule_decorator_refuses_bad_definitions():
    def check(con):  # never registered: every call below raises first
        raise AssertionError

    with pytest.raises(ValueError, match="registered twice"):
        rule(code="CIN-8925", name="x", severity="error", tables=("cin_cp_plan",), message="X.")(check)
    with pytest.raises(ValueError, match="severity"):
        rule(code="NEG-99", name="x", severity="fatal", tables=("cin_cp_plan",), message="X.")(check)
    with pytest.raises(ValueError, match="tables"):
        rule(code="NEG-99", name="x", severity="error", tables=("cin_children",), message="X.")(check)
    with pytest.raises(ValueError, match="code"):
        rule(code="8925", name="x", severity="error", tables=("cin_cp_plan",), message="X.")(check)
    assert "NEG-99" not in [r.code for r in all_rules()]


def test_rules_whose_tables_are_missing_are_skipped_and_reported():
    tables = scenario(put("cp_list", previous_cp_plans=-1))
    only = {"cp_list": tables["cp_list"], "cin_cp_plan": tables["cin_cp_plan"]}
    findings = run_rules(only, REF)
    assert list(findings["rule_code"]) == ["NEG-33"]
    skipped = findings.attrs["rules_skipped"]
    assert skipped["CIN-1105"] == ["cin_episode"]
    assert skipped["CIN-8841"] == ["cin_cp_review"]
    assert skipped["CIN-8500"] == ["cin_child"]
    ran = findings.attrs["rules_run"]
    assert {"CIN-8925", "CIN-8935", "NEG-20", "NEG-30", "NEG-34"} <= set(ran)
    assert set(ran) | set(skipped) == set(RULE_CODES) and not set(ran) & set(skipped)


def test_rules_can_be_chosen_by_code():
    findings = run_rules(scenario(put("cin_cp_plan", cpp_end_date="2025-05-19")), REF, rules=["NEG-22"])
    assert list(findings["record_id"]) == [rid("cin_cp_review")]


def test_findings_hold_no_identifiers_or_values():
    rows = base()
    set_row(rows, "cin_child", la_child_id="ID555")
    add_row(rows, "cin_child", child_ordinal=2)  # the same LAchildID twice (CIN-8510)
    set_row(rows, "cin_child", 0, person_birth_date="2007-04-30")  # 18 on referral (NEG-10)
    set_row(rows, "cp_list", child_id="CP777", date_of_birth="2007-01-15")
    findings = run_rules(build(rows), REF)
    assert {"CIN-8510", "NEG-10", "NEG-34"} <= set(findings["rule_code"])
    text = findings.to_csv(index=False)
    for value in ("ID555", "CP777", "2007", "04-30", "01-15"):
        assert value not in text
    assert list(findings.columns) == list(OUTPUT_COLUMNS)
    assert all(str(t) == "string" for t in findings.dtypes)


def test_a_table_without_record_id_is_refused():
    tables = build(base())
    tables["cin_episode"] = tables["cin_episode"].drop(columns="record_id")
    with pytest.raises(ValueError, match="cin_episode"):
        run_rules(tables, REF)


def test_tables_from_two_files_are_kept_apart():
    """Rows link by source_file and ordinals: a plan in file B is not judged against file A's episode."""
    a = scenario(put("cin_episode", cin_referral_date="2025-05-01"))
    b = scenario(put("cin_episode", cin_referral_date="2025-06-01"))  # B's plan (2025-05-20) starts before referral
    stacked = {}
    for name in a:
        other = b[name].copy()
        other["source_file"] = other["source_file"].str.replace(CIN_FILE, "other.xml")
        other["record_id"] = other["record_id"].str.replace(CIN_FILE, "other.xml")
        stacked[name] = pd.concat([a[name], other], ignore_index=True)
    findings = run_rules(stacked, REF, rules=["CIN-1105", "CIN-8510", "CIN-8935"])
    assert list(zip(findings["rule_code"], findings["record_id"])) == [
        ("CIN-1105", rid("cin_cp_plan").replace(CIN_FILE, "other.xml"))]


@pytest.mark.parametrize(("birth", "on", "age"), [
    ("2010-06-15", "2026-06-14", 15), ("2010-06-15", "2026-06-15", 16), ("2010-06-15", "2026-12-31", 16),
    ("2008-02-29", "2026-02-28", 17), ("2008-02-29", "2026-03-01", 18), ("2008-02-29", "2028-02-29", 20),
])
def test_age_in_years_counts_whole_birthdays(birth, on, age):
    con = prepare_connection({}, REF)
    assert con.execute("SELECT age_in_years(?::DATE, ?::TIMESTAMP)", [birth, on]).fetchone()[0] == age


def test_params_hold_the_census_year():
    con = prepare_connection({}, REF)
    assert con.execute("SELECT census_start, reference_date FROM params").fetchone() == (date(2025, 4, 1), REF)


def test_builder_matches_the_readers():
    """The hand-built frames have the readers' columns and dtypes (plus record_id; the CP list also la_code)."""
    built = build(base())
    read = read_cin_census(FIXTURES / "cin" / "cin_census_2026_small.xml").tables
    for name, frame in read.items():
        assert list(built[name].columns) == list(frame.columns) + ["record_id"], name
        assert built[name].drop(columns="record_id").dtypes.astype(str).to_dict() == frame.dtypes.astype(str).to_dict()
    cp = read_cp_list(FIXTURES / "tabular" / "cp_list_utf8_bom.csv", extract_date="2025-03-31",
                      authority="991_test").rows
    assert list(built["cp_list"].columns) == list(cp.columns) + ["record_id", "la_code"]
    assert built["cp_list"][list(cp.columns)].dtypes.astype(str).to_dict() == cp.dtypes.astype(str).to_dict()


# ----------------------------------------------------------------------------- the synthetic census

# Which rule restates each check the reader flags: (table, field, reader rule) -> rule code.
READER_FLAG_RULES = {
    ("cin_episode", "cin_closure_date", "date_order"): "CIN-8630",
    ("cin_assessment", "assessment_authorisation_date", "date_order"): "CIN-8608",
    ("cin_plan", "cin_plan_end_date", "date_order"): "CIN-4011",
    ("cin_cp_plan", "cpp_end_date", "date_order"): "CIN-8925",
    ("cin_episode", "cin_referral_date", "after_reference_date"): "CIN-8600",
    ("cin_episode", "cin_closure_date", "after_reference_date"): "CIN-8620",
    ("cin_episode", "date_of_initial_cpc", "after_reference_date"): "NEG-11",
    ("cin_section47", "s47_actual_start_date", "after_reference_date"): "NEG-12",
    ("cin_section47", "date_of_initial_cpc", "after_reference_date"): "CIN-8715",
    ("cin_assessment", "assessment_actual_start_date", "after_reference_date"): "NEG-13",
    ("cin_assessment", "assessment_internal_review_date", "after_reference_date"): "NEG-14",
    ("cin_assessment", "assessment_authorisation_date", "after_reference_date"): "CIN-8696",
    ("cin_plan", "cin_plan_start_date", "after_reference_date"): "CIN-4010",
    ("cin_plan", "cin_plan_end_date", "after_reference_date"): "CIN-4013",
    ("cin_cp_plan", "cpp_start_date", "after_reference_date"): "CIN-8720",
    ("cin_cp_plan", "cpp_end_date", "after_reference_date"): "CIN-8930",
    ("cin_cp_review", "cpp_review_date", "after_reference_date"): "NEG-23",
    ("cin_child", "la_child_id", "duplicate_child"): "CIN-8510",
}


def test_reader_flag_rules_exist():
    assert set(READER_FLAG_RULES.values()) <= set(RULE_CODES)


@pytest.mark.parametrize("authority", ["991_northbrook", "992_eastmere"])
def test_rules_find_every_defect_the_reader_flagged_in_the_synthetic_census(partnership, authority):
    folder, _ = partnership  # the default partnership, generated once per test session
    path = folder / "incoming" / authority / "2026-03-31" / "cin_census_2026.xml"
    result = read_cin_census(path)
    tables = {name: df.assign(record_id=df["source_file"] + "#" + df["source_location"])
              for name, df in result.tables.items()}
    findings = run_rules(tables, result.header.reference_date.date())
    found = set(zip(findings["rule_code"], findings["record_id"]))

    flags = result.rejects[result.rejects["rule"].isin(["date_order", "after_reference_date", "duplicate_child"])]
    assert {"date_order", "after_reference_date"} <= set(flags["rule"])  # the generator injected both
    expected = set()
    for row in flags.itertuples():
        code = READER_FLAG_RULES[(row.table, row.field, row.rule)]
        # the reader locates the element (…/CINdetails[1]/CINclosureDate); the record is its row (…/CINdetails[1])
        record = row.location if row.rule == "duplicate_child" else row.location.rsplit("/", 1)[0]
        expected.add((code, f"{result.source_file}#{record}"))
    assert len(expected) == len(flags)
    assert expected - found == set()


# ----------------------------------------------------------------------------- scale

def test_100k_valid_children_give_no_finding():
    """All rules over 100,000 valid children, each with one of everything: no finding (no join blows up
    or pairs records of different children). Speed is measured in bench/, not here."""
    n = 100_000
    one = build(base())
    tables = {}
    for name, frame in one.items():
        if name == "cp_list":
            big = frame.loc[np.zeros(n, dtype=int)].reset_index(drop=True)
            big["source_line"] = np.arange(2, n + 2)
            big["child_id"] = ("X" + pd.Series(np.arange(1, n + 1)).astype(str)).astype("string")  # one plan each
            big["record_id"] = big["source_file"] + "#" + big["source_line"].astype(str)
        else:
            big = frame.loc[np.zeros(n, dtype=int)].reset_index(drop=True)
            big["child_ordinal"] = np.arange(1, n + 1)
            big["la_child_id"] = ("C" + pd.Series(np.arange(1, n + 1)).astype(str)).astype("string")
            tail = frame["source_location"].iloc[0].split("/", 1)
            rest = "/" + tail[1] if len(tail) > 1 else ""
            big["source_location"] = ("Child[" + pd.Series(np.arange(1, n + 1)).astype(str) + "]" + rest).astype("string")
            big["record_id"] = big["source_file"] + "#" + big["source_location"]
        tables[name] = big
    findings = run_rules(tables, REF)
    assert findings.empty


# ----------------------------------------------------------------------------- rule sets by collection year

def test_years_file_names_registered_rules_and_sets_inherit_year_by_year():
    from checks.dfe_rules.years import FIRST_YEAR, rule_set, rule_years

    years = rule_years()
    named = {code for change in years.changes.values() for code in change.added + change.changed + change.deleted}
    assert named and named <= set(RULE_CODES)
    for year in range(FIRST_YEAR + 1, 2028):  # each year: the year before, plus added, less deleted
        change = years.changes.get(year)
        before = {r.code for r in rule_set(year - 1)}
        expected = (before | set(change.added)) - set(change.deleted) if change else before
        assert {r.code for r in rule_set(year)} == expected, year
    assert {"CIN-8945Q", "CIN-8950Q", "CIN-1570"} - {r.code for r in rule_set(2024)} == {"CIN-8945Q", "CIN-8950Q",
                                                                                          "CIN-1570"}
    assert {"CIN-8945Q", "CIN-8950Q", "CIN-1570"} <= {r.code for r in rule_set(2025)}


def test_a_rule_added_in_2025_does_not_run_on_a_2024_return():
    tables = scenario(put("cin_assessment_factor", assessment_factor="18A"))
    in_2024 = run_rules(tables, date(2024, 3, 31), rules=["CIN-8945Q"])
    assert in_2024.empty and in_2024.attrs["rules_not_in_year"] == ["CIN-8945Q"] and in_2024.attrs["rules_run"] == []
    in_2026 = run_rules(tables, REF, rules=["CIN-8945Q"])
    assert list(in_2026["record_id"]) == [rid("cin_assessment_factor")]


def test_1510_accepts_check_letters_y_and_z():
    """Remainders 21 and 22 are Y and Z (weights 2-13 on Y891000000025 sum to 136 = 5 x 23 + 21)."""
    for upn in ("Y891000000025", "Z891000000016"):
        assert run_rules(scenario(put("cin_child", upn=upn)), REF, rules=["CIN-1510"]).empty, upn
    wrong = scenario(put("cin_child", upn="Z891000000025"))
    assert list(run_rules(wrong, REF, rules=["CIN-1510"])["record_id"]) == [rid("cin_child")]


def test_1530_changed_in_2024_to_accept_la_codes_942_and_943():
    # an LA code that became valid in 2023-24: refused by the 2023 version of the rule, accepted from 2024
    rows = base()
    set_row(rows, "cin_child", upn="A942000178301")
    assert list(run_rules(build(rows), date(2023, 3, 31), rules=["CIN-1530"])["record_id"]) == [rid("cin_child")]
    assert run_rules(build(rows), date(2024, 3, 31), rules=["CIN-1530"]).empty


def test_a_cp_list_extract_date_falls_in_the_collection_year_of_the_next_31_march():
    from checks.dfe_rules.years import collection_year

    assert [collection_year(date(*d)) for d in ((2026, 3, 31), (2025, 12, 31), (2025, 4, 1), (2025, 3, 31))] == \
        [2026, 2026, 2026, 2025]


# ----------------------------------------------------------------------------- every rule on hand-written files

HAND_WRITTEN_RETURNS = [("cin_return_2018.xml", "991", 2018), ("cin_return_2021.xml", "991", 2021),
                        ("cin_return_2022.xml", "992", 2022), ("cin_return_2024_year_2023.xml", "991", 2024),
                        ("cin_return_2025_reference_28_march.xml", "991", 2025),
                        ("cin_census_2026_small.xml", "991", 2026)]


def test_every_rule_of_its_year_runs_on_each_hand_written_return():
    """The rules run on returns another system wrote (not the generator) and find what those files hold."""
    found = {}
    for name, la, year in HAND_WRITTEN_RETURNS:
        result = read_cin_census(FIXTURES / "cin" / name, la_code=la, expected_year=year)
        tables = {t: df.assign(record_id=df["source_file"] + "#" + df["source_location"])
                  for t, df in result.tables.items()}
        findings = run_rules(tables, result.header.reference_date.date())
        cin_rules = {r.code for r in all_rules() if "cp_list" not in r.tables}
        assert set(findings.attrs["rules_skipped"]) == set(RULE_CODES) - cin_rules, name  # the CP-list rules
        assert set(findings.attrs["rules_run"]) | set(findings.attrs["rules_not_in_year"]) == cin_rules, name
        found[name] = set(zip(findings["rule_code"], findings["record_id"].str.split("#").str[1]))
    # the 2022 return repeats one LAchildID on Child[1] and Child[5]
    assert {("CIN-8510", "Child[1]"), ("CIN-8510", "Child[5]")} <= found["cin_return_2022.xml"]
    # the 2018 return uses 18A, valid then: DfE queries it only from 2024-25 (CIN-8945Q is not in the 2018 set)
    assert not any(code in ("CIN-8945Q", "CIN-8950Q") for code, _ in found["cin_return_2018.xml"])
    # made-up UPNs carry no valid check letter; the small 2026 return's UPNs are of the fictional LA 991 (no LA code)
    assert any(code == "CIN-1510" for code, _ in found["cin_return_2021.xml"])
    assert ("CIN-1530", "Child[1]") in found["cin_census_2026_small.xml"]
    # a CIN plan ending after 31 March (2021) is CIN-4013, and nothing on 29-31 March 2025 is out of year
    assert ("CIN-4013", "Child[2]/CINdetails[1]/CINPlanDates[1]") in found["cin_return_2021.xml"]
    assert not any(code in ("CIN-8600", "NEG-13", "CIN-4013") for code, _ in
                   found["cin_return_2025_reference_28_march.xml"])


def test_cp_list_rules_run_on_hand_written_lists_and_an_annex_a_list_7():
    lists = [read_cp_list(FIXTURES / "tabular" / "cp_list_utf8_bom.csv", extract_date="2025-03-31", authority="991_a"),
             read_cp_list(FIXTURES / "annex_a" / "annex_a_2024_template_northbrook.xlsx", extract_date="2025-12-31",
                          authority="991_b")]
    for read in lists:
        rows = read.rows.assign(record_id=read.rows["source_file"] + "#line " + read.rows["source_line"].astype(str),
                                la_code="991")
        findings = run_rules({"cp_list": rows}, date(2025, 12, 31))
        assert {"NEG-30", "NEG-31", "NEG-34", "NEG-35"} <= set(findings.attrs["rules_run"])
    # the Annex A list 7: four plans of four children, categories read through their option letters
    assert findings.empty and len(lists[1].rows) == 4
