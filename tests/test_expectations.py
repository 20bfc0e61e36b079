"""Great Expectations suites (checks/expectations.py, checks/expectations/*.yaml).

The frames are built by hand with the warehouse columns of each raw table (pseudonymised: no
names, dates of birth or local IDs), 20 rows per period, clean unless a test breaks one value.
"""
from __future__ import annotations

import hashlib
import json
import re
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from checks import expectations as ex

TABLES = ["adult_episodes", "adult_household_children", "cin_assessment", "cin_assessment_factor", "cin_child",
          "cin_cp_plan", "cin_cp_review", "cin_disability", "cin_episode", "cin_plan", "cin_section47", "cp_list",
          "early_help", "ons_population", "person_list"]
PERIOD = pd.Timestamp("2026-03-31")
N = 20
PLANTED = "ZZPLANTED-CHILD-ID-4711"  # an identifier-like value that must never reach a report


def pseudonym(kind: str, i: int) -> str:
    return hashlib.sha256(f"{kind}:{i}".encode()).hexdigest()


def days_before(period: pd.Timestamp, days) -> pd.Series:
    return pd.Series(period - pd.to_timedelta(np.asarray(days), unit="D"), dtype="datetime64[us]")


def lineage(table: str, period: pd.Timestamp, n: int = N) -> dict:
    """record_id, la_code, period_end, source_file, source_line."""
    file = f"991_northbrook/{period.date()}/{table}.csv"
    return {"record_id": [f"{file}#line {i + 2}" for i in range(n)], "la_code": ["991"] * n,
            "period_end": pd.Series([period] * n, dtype="datetime64[us]"), "source_file": [file] * n,
            "source_line": np.arange(2, n + 2)}


def geography(n: int = N) -> dict:
    return {"has_postcode": [True] * n, "postcode_matched": [True] * n,
            "ward_code": [f"E0590000{i % 9 + 1}" for i in range(n)],
            "lsoa_code": [f"E0190{i:04d}" for i in range(n)], "deprivation_decile": [i % 10 + 1 for i in range(n)]}


def child(n: int = N) -> dict:
    return {"birth_month": days_before(PERIOD, [365 * (i % 17) + 40 for i in range(n)]).dt.to_period("M")
            .dt.to_timestamp().astype("datetime64[us]"),
            "age_at_period_end": [i % 17 for i in range(n)]}


def cin(table: str, period: pd.Timestamp, n: int = N, **ordinals) -> dict:
    """The columns every CIN census table has."""
    return {**lineage(table, period, n), "collection_year": [period.year] * n, "child_ordinal": np.arange(1, n + 1),
            "child_pseudonym": [pseudonym("child", i) for i in range(n)], "is_duplicate": [False] * n,
            "source_location": [f"Child[{i + 1}]" for i in range(n)], **{k: [v] * n for k, v in ordinals.items()}}


def clean_frame(table: str, period: pd.Timestamp = PERIOD, n: int = N) -> pd.DataFrame:
    """A frame of ``table`` that meets every rule of its suite."""
    i = np.arange(n)
    start = days_before(period, 200 + i)
    if table == "cp_list":
        cols = {**lineage(table, period, n), "child_pseudonym": [pseudonym("child", k) for k in i],
                "gender": ["M", "F"] * (n // 2), "ethnicity": ["WBRI"] * n, **child(n),
                "age_years": [k % 17 for k in i], "disability": ["N"] * n, "cp_plan_start_date": start,
                "initial_category": ["NEG", "PHY", "SAB", "EMO", "MUL"] * (n // 5), "latest_category": ["NEG"] * n,
                "last_statutory_visit_date": days_before(period, 10 + i), "seen_alone": ["Y"] * n,
                "latest_review_date": days_before(period, 30 + i),
                "cp_plan_end_date": pd.Series([pd.NaT] * n, dtype="datetime64[us]"),
                "emergency_protection_order": ["N"] * n, "previous_cp_plans": [k % 3 for k in i],
                "allocated_team": ["Safeguarding Team 1"] * n, "extract_date": lineage(table, period, n)["period_end"]}
    elif table == "early_help":
        gcp2 = pd.array([pd.NA, 1, 3, 5] * (n // 4), dtype="Int64")
        cols = {**lineage(table, period, n), "eh_pseudonym": [pseudonym("eh", k) for k in i],
                "episode_pseudonym": [pseudonym("episode", k) for k in i],
                "child_pseudonym": [pseudonym("child", k) if k % 2 else None for k in i],
                "has_nhs_number": [True] * n, **child(n), "gender": ["F"] * n, **geography(n),
                "episode_start_date": start, "episode_end_date": days_before(period, 5 + i),
                "end_reason": ["Outcomes achieved"] * n, "assessment_date": days_before(period, 150 + i),
                "presenting_needs": ["16A", "4B;16A", "21", "3B; 18C"] * (n // 4), "gcp2_physical_care": gcp2,
                "gcp2_care_of_safety": gcp2, "gcp2_love_and_care": gcp2, "gcp2_stimulation_and_education": gcp2,
                "lead_practitioner_team": ["Family Help North"] * n,
                "extract_date": lineage(table, period, n)["period_end"]}
    elif table == "person_list":
        cols = {**lineage(table, period, n), "child_pseudonym": [pseudonym("child", k) for k in i],
                "has_nhs_number": [True] * n, "has_upn": [k % 2 == 0 for k in i], **child(n), "gender": ["M"] * n,
                **geography(n), "address_start_date": start,
                "address_end_date": pd.Series([pd.NaT] * n, dtype="datetime64[us]"),
                "extract_date": lineage(table, period, n)["period_end"]}
    elif table == "adult_episodes":
        cols = {**lineage(table, period, n), "service_file": ["mental_health"] * n,
                "adult_pseudonym": [pseudonym("adult", k) for k in i],
                "episode_pseudonym": [pseudonym("episode", k) for k in i], "has_nhs_number": [True] * n,
                "birth_month": days_before(period, 365 * 30 + i), "age_at_period_end": [30 + k for k in i],
                "gender": ["F"] * n, **geography(n), "service": ["Adult Mental Health"] * n,
                "episode_start_date": start, "episode_end_date": pd.Series([pd.NaT] * n, dtype="datetime64[us]"),
                "parental_responsibility": ["Y", "N", "U", "Y"] * (n // 4),
                "children_in_household": pd.array([2] * n, dtype="Int64"),
                "child_safeguarding_concern": ["N"] * n, "extract_date": lineage(table, period, n)["period_end"]}
    elif table == "adult_household_children":
        cols = {**lineage(table, period, n), "service_file": ["domestic_abuse"] * n,
                "adult_pseudonym": [pseudonym("adult", k) for k in i],
                "episode_pseudonym": [pseudonym("episode", k) for k in i], **child(n),
                "lives_with_client": ["Y"] * n, "extract_date": lineage(table, period, n)["period_end"]}
    elif table == "cin_child":
        cols = {**cin(table, period, n), "has_upn": [True] * n, "has_former_upn": [False] * n,
                "upn_unknown": [None] * (n - 1) + ["UN1"], **child(n),
                "expected_birth_month": pd.Series([pd.NaT] * n, dtype="datetime64[us]"), "sex": ["M", "F"] * (n // 2),
                "death_month": pd.Series([pd.NaT] * n, dtype="datetime64[us]"),
                "ethnicity": ["WBRI", "APKN"] * (n // 2)}
    elif table == "cin_disability":
        cols = {**cin(table, period, n, disability_ordinal=1), "disability": ["NONE"] * (n - 1) + ["AUT"]}
    elif table == "cin_episode":
        cols = {**cin(table, period, n, episode_ordinal=1), "cin_referral_date": start,
                "referral_source": ["5D", "2A", "6", "10"] * (n // 4), "primary_need_code": ["N1"] * n,
                "cin_closure_date": days_before(period, 20 + i), "reason_for_closure": ["RC9"] * n,
                "date_of_initial_cpc": days_before(period, 180 + i), "referral_nfa": [False] * n}
    elif table == "cin_assessment":
        cols = {**cin(table, period, n, episode_ordinal=1, assessment_ordinal=1),
                "assessment_actual_start_date": start,
                "assessment_internal_review_date": pd.Series([pd.NaT] * n, dtype="datetime64[us]"),
                "assessment_authorisation_date": days_before(period, 160 + i)}
    elif table == "cin_assessment_factor":
        cols = {**cin(table, period, n, episode_ordinal=1, assessment_ordinal=1, factor_ordinal=1),
                "assessment_factor": ["16A", "4B", "3B", "21"] * (n // 4)}
    elif table == "cin_plan":
        cols = {**cin(table, period, n, episode_ordinal=1, cin_plan_ordinal=1), "cin_plan_start_date": start,
                "cin_plan_end_date": days_before(period, 3 + i)}
    elif table == "cin_section47":
        cols = {**cin(table, period, n, episode_ordinal=1, section47_ordinal=1), "s47_actual_start_date": start,
                "initial_cpc_target": days_before(period, -10 + i), "date_of_initial_cpc": days_before(period, 190 + i),
                "icpc_not_required": [False] * n}
    elif table == "cin_cp_plan":
        cols = {**cin(table, period, n, episode_ordinal=1, cp_plan_ordinal=1), "cpp_start_date": start,
                "cpp_end_date": pd.Series([pd.NaT] * n, dtype="datetime64[us]"),
                "initial_category_of_abuse": ["NEG"] * n, "latest_category_of_abuse": ["MUL"] * n,
                "number_of_previous_cpp": [0] * n}
    elif table == "cin_cp_review":
        cols = {**cin(table, period, n, episode_ordinal=1, cp_plan_ordinal=1, review_ordinal=1),
                "cpp_review_date": days_before(period, 60 + i)}
    elif table == "ons_population":
        grid = pd.MultiIndex.from_product([["E05900001", "E05900002"], [1, 2], range(18)],
                                          names=["ward_code", "sex", "age"]).to_frame(index=False)
        return grid.assign(mid_year=period.year, ward_name="Saltwell", la_code="E06000901", la_name="Northbrook",
                           population=100, source_file=f"population_mid_{period.year}.csv",
                           source_line=np.arange(2, len(grid) + 2))
    else:
        raise KeyError(table)
    return pd.DataFrame(cols)


def two_periods(table: str, rows: tuple[int, int]) -> pd.DataFrame:
    """Two quarters of ``table`` with the given row counts, record_ids distinct."""
    first = clean_frame(table, pd.Timestamp("2025-12-31"), rows[0])
    return pd.concat([first, clean_frame(table, PERIOD, rows[1])], ignore_index=True)


def codes(validation: ex.TableValidation) -> set[str]:
    return {f["rule_code"] for f in validation.failed}


def validate_one(table: str, frame: pd.DataFrame, previous: int | None = None) -> ex.TableValidation:
    [validation] = ex.validate_frames({table: frame}, {table: previous})
    return validation


# ------------------------------------------------------------------------------------ suites


def test_every_yaml_loads_and_maps_to_gx_expectations():
    import great_expectations as gx

    suites = ex.load_suites()
    assert sorted(suites) == TABLES
    all_codes = []
    for table, suite in suites.items():
        assert suite.description
        rules = [*suite.rules, suite.row_count_rule]
        assert suite.row_count_rule is not None, f"{table}: no row_count_change rule"
        assert rules[0].entry["expect"] == "has_columns"
        prefix = rules[0].code.rsplit("-", 1)[0]
        for number, rule in enumerate(rules, start=1):
            assert isinstance(rule.expectation, gx.expectations.Expectation)
            assert rule.code == f"{prefix}-{number:02d}", f"{table}: rule codes must run 01, 02, ... in order"
            assert rule.expectation.meta["rule_code"] == rule.code
            assert rule.expectation.description.startswith(f"{rule.code} ({rule.severity}): ")
        all_codes += [r.code for r in rules]
    assert len(all_codes) == len(set(all_codes)), "rule codes must be unique across tables"
    assert all(re.fullmatch(r"GX-[A-Z0-9]+-\d{2}", c) for c in all_codes)


def test_vocabulary_maps_to_the_intended_gx_classes():
    suite = ex.load_suite("early_help")
    by_code = {r.code: type(r.expectation).__name__ for r in (*suite.rules, suite.row_count_rule)}
    assert by_code["GX-EH-01"] == "ExpectTableColumnsToMatchSet"
    assert by_code["GX-EH-03"] == "ExpectColumnValuesToBeUnique"
    assert by_code["GX-EH-07"] == "ExpectColumnValuesToNotBeNull"
    assert by_code["GX-EH-08"] == "ExpectColumnValuesToMatchRegex"
    assert by_code["GX-EH-11"] == "ExpectCompoundColumnsToBeUnique"
    assert by_code["GX-EH-13"] == "ExpectColumnValuesToMatchRegex"  # in_set with a separator
    assert by_code["GX-EH-14"] == "ExpectColumnValuesToBeBetween"
    assert by_code["GX-EH-20"] == "ExpectColumnValuesToBeInSet"
    assert by_code["GX-EH-25"] == "ExpectColumnPairValuesAToBeGreaterThanB"
    assert by_code["GX-EH-28"] == "ExpectColumnValuesToBeBetween"  # on the per-period counts
    categories = ex.load_suite("cp_list").rules[11].expectation  # GX-CPL-12, from the CIN code list
    assert sorted(categories.value_set) == ["EMO", "MUL", "NEG", "PHY", "SAB"]


@pytest.mark.parametrize("text, problem", [
    ("- {rule: GX-T-01, expect: not_nul, column: a}", "unknown expect"),
    ("- {rule: GX-T-01, expect: not_null, column: a, mostyl: 0.9}", "unknown keys"),
    ("- {rule: GX-T-01, expect: not_null, column: a}\n  - {rule: GX-T-01, expect: not_null, column: b}",
     "its own rule code"),
    ("- {rule: GX-T-01, expect: not_null, column: a, severity: fatal}", "severity"),
    ("- {rule: GX-T-01, expect: in_set, column: a, code_list: no_such_list}", "no_such_list"),
])
def test_malformed_suites_are_refused(tmp_path, text, problem):
    (tmp_path / "t.yaml").write_text(f"table: t\nexpectations:\n  {text}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=f"t.yaml, rule GX-T-01: .*{problem}"):
        ex.load_suite("t", tmp_path)


def test_a_table_without_a_suite_is_refused():
    assert ex.has_suite("cp_list") and not ex.has_suite("no_such_table")
    with pytest.raises(KeyError, match="no_such_table"):
        ex.validate_frames({"no_such_table": pd.DataFrame({"a": [1]})})


# ------------------------------------------------------------------------------------ validation


@pytest.mark.parametrize("table", TABLES)
def test_clean_hand_made_frame_passes(table):
    validation = validate_one(table, clean_frame(table))
    assert validation.failed == []
    assert validation.success and not validation.blocking
    suite = ex.load_suite(table)
    assert validation.evaluated == len(suite.rules)  # no previous count: row-count change not evaluated


def test_all_tables_in_one_call_with_previous_counts():
    frames = {t: clean_frame(t) for t in TABLES}
    previous = {t: len(f) for t, f in frames.items()}
    validations = ex.validate_frames(frames, previous)
    assert [v.table for v in validations] == TABLES
    assert all(v.success for v in validations), [(v.table, v.failed) for v in validations if not v.success]
    assert all(v.evaluated == len(ex.load_suite(v.table).rules) + 1 for v in validations)


def _null_key(f):
    f.loc[3, "child_pseudonym"] = None


def _out_of_set_code(f):
    f.loc[4, "latest_category"] = "XXX"


def _out_of_range_age(f):
    f.loc[5, "age_at_period_end"] = 40


def _duplicate_record_id(f):
    f.loc[6, "record_id"] = f.loc[7, "record_id"]


@pytest.mark.parametrize("defect, expected", [
    (_null_key, {"GX-CPL-07"}),
    (_out_of_set_code, {"GX-CPL-12"}),
    (_out_of_range_age, {"GX-CPL-16"}),
    (_duplicate_record_id, {"GX-CPL-03"}),
])
def test_each_defect_fails_exactly_its_rule(defect, expected):
    frame = clean_frame("cp_list")
    defect(frame)
    validation = validate_one("cp_list", frame)
    assert codes(validation) == expected
    [failure] = validation.failed
    assert not validation.success and validation.blocking
    assert failure["severity"] == "error"
    assert failure["unexpected_count"] == (2 if defect is _duplicate_record_id else 1)
    assert failure["unexpected_percent"] > 0


def test_row_count_drop_against_the_previous_quarter():
    frame = clean_frame("cp_list")  # 20 rows
    assert validate_one("cp_list", frame, previous=24).success  # -17 %: within 25 %
    validation = validate_one("cp_list", frame, previous=40)  # -50 %
    assert codes(validation) == {"GX-CPL-26"}
    [failure] = validation.failed
    assert failure["column"] == "rows per period" and failure["severity"] == "warning"
    assert not validation.success and not validation.blocking
    assert validation.row_counts[["rows", "previous_rows", "change"]].to_dict("records") == [
        {"rows": 20, "previous_rows": 40.0, "change": 0.5}]


def test_row_count_change_per_period_within_one_frame():
    validation = validate_one("cp_list", two_periods("cp_list", (40, 20)))
    assert codes(validation) == {"GX-CPL-26"}
    assert validation.failed[0]["unexpected_count"] == 1
    assert validation.row_counts["rows"].tolist() == [40, 20]
    # the first period compares with the count given for the quarter before it
    validation = validate_one("cp_list", two_periods("cp_list", (20, 20)), previous=10)
    assert codes(validation) == {"GX-CPL-26"} and validation.row_counts["change"].tolist() == [2.0, 1.0]


def test_row_counts_frame():
    frame = two_periods("cp_list", (20, 10))
    counts = ex.row_counts(frame, "period_end", None)
    assert counts["period"].tolist() == [pd.Timestamp("2025-12-31"), PERIOD]
    assert counts["rows"].tolist() == [20, 10]
    assert np.isnan(counts["change"].iloc[0]) and counts["change"].iloc[1] == 0.5
    empty = ex.row_counts(frame.iloc[:0], "period_end", 30)
    assert empty[["rows", "change"]].to_dict("records") == [{"rows": 0, "change": 0.0}]
    assert ex.row_counts(frame.iloc[:0], "period_end", 0)["change"].isna().all()  # 0 after 0: nothing to say
    assert np.isinf(ex.row_counts(frame, "period_end", 0)["change"].iloc[0])  # something after nothing: out


@pytest.mark.parametrize("table, column, row, value, expected, blocking", [
    ("early_help", "gcp2_love_and_care", 1, 6, {"GX-EH-16"}, True),
    ("early_help", "presenting_needs", 2, "16A;99Z", {"GX-EH-13"}, True),
    ("person_list", "deprivation_decile", 0, 11, {"GX-PL-16"}, True),
    ("adult_episodes", "parental_responsibility", 0, "Maybe", {"GX-AE-13"}, True),
    ("cin_child", "child_pseudonym", 1, pseudonym("child", 0), {"GX-CCH-09"}, True),  # repeated, not flagged
    ("cin_episode", "cin_closure_date", 0, pd.Timestamp("2020-01-01"), {"GX-CEP-16"}, False),  # closed before referral
    ("cin_assessment_factor", "assessment_factor", 0, "16Z", {"GX-CAF-09"}, True),
    ("ons_population", "population", 0, -1, {"GX-ONS-10"}, True),
])
def test_other_tables_defects(table, column, row, value, expected, blocking):
    frame = clean_frame(table)
    frame.loc[row, column] = value
    validation = validate_one(table, frame)
    assert codes(validation) == expected
    assert validation.blocking is blocking


def test_a_repeated_child_flagged_as_duplicate_passes_but_counts_towards_the_warning():
    frame = clean_frame("cin_child")
    frame.loc[1, "child_pseudonym"] = frame.loc[0, "child_pseudonym"]
    frame.loc[1, "is_duplicate"] = True  # as the reader marks later copies
    assert codes(validate_one("cin_child", frame)) == {"GX-CCH-10"}  # 1 in 20 > 1 %: warning only


def test_a_missing_column_is_reported_by_name(tmp_path, caplog):
    validation = validate_one("cp_list", clean_frame("cp_list").drop(columns=["latest_category"]))
    failure = {f["rule_code"]: f for f in validation.failed}
    assert failure["GX-CPL-01"]["error"] == "missing columns: latest_category"
    assert "latest_category" in failure["GX-CPL-12"]["error"]  # could not be evaluated
    assert failure["GX-CPL-12"]["unexpected_count"] is None
    with caplog.at_level("WARNING"):  # GX renders the rules it could not evaluate without errors
        ex.build_data_docs([validation], tmp_path)
    assert not [r for r in caplog.records if r.name.startswith("great_expectations")]


# ------------------------------------------------------------------------------------ no values out


def _planted_frame() -> pd.DataFrame:
    frame = clean_frame("cp_list")
    frame.loc[2, "child_pseudonym"] = PLANTED  # breaks GX-CPL-08 (64 hex)
    frame.loc[3, "latest_category"] = PLANTED  # breaks GX-CPL-12
    frame.loc[4, "ethnicity"] = PLANTED
    return frame


def test_results_and_failures_hold_no_values():
    frame = _planted_frame()
    [validation] = ex.validate_frames({"cp_list": frame})
    assert {"GX-CPL-08", "GX-CPL-12"} <= codes(validation)
    for failure in validation.failed:
        assert set(failure) <= {"rule_code", "expectation", "column", "unexpected_count", "unexpected_percent",
                                "severity", "error"}
    text = json.dumps([r.to_json_dict() for r in validation.results], default=str)
    assert PLANTED not in text
    assert not any(p in text for p in frame["child_pseudonym"])


def test_data_docs_hold_no_identifier_values(tmp_path, caplog):
    frame = _planted_frame()
    validations = ex.validate_frames({"cp_list": frame, "early_help": clean_frame("early_help")},
                                     {"cp_list": 30, "early_help": 20})
    with caplog.at_level("WARNING"):
        index = ex.build_data_docs(validations, tmp_path / "data_docs")
    assert [r.getMessage()[:200] for r in caplog.records if r.name.startswith("great_expectations")] == []
    assert index == tmp_path / "data_docs" / "index.html" and index.is_file()
    pages = [p for p in (tmp_path / "data_docs").rglob("*") if p.is_file()]  # HTML, JSON, CSS, JS, fonts
    cp_pages = [p for p in pages if "validations" in p.parts and p.parts[p.parts.index("validations") + 1] == "cp_list"]
    assert len(cp_pages) == 1 and "GX-CPL-08" in cp_pages[0].read_text(encoding="utf-8")
    assert any("cp_list__row_counts" in p.parts for p in pages)
    identifiers = [PLANTED, *frame["child_pseudonym"], *clean_frame("early_help")["eh_pseudonym"]]
    for page in pages:
        text = page.read_text(encoding="utf-8", errors="replace")
        leaked = [v for v in identifiers if v in text]
        assert not leaked, f"{page.relative_to(tmp_path)} shows {len(leaked)} identifier value(s)"


def test_data_docs_show_only_the_validations_given(tmp_path):
    docs = tmp_path / "docs"
    ex.build_data_docs(ex.validate_frames({"cp_list": clean_frame("cp_list"),
                                           "early_help": clean_frame("early_help")}), docs)
    assert (docs / "validations" / "early_help").is_dir()
    ex.build_data_docs(ex.validate_frames({"cp_list": clean_frame("cp_list")}), docs)
    assert not list((docs / "validations").glob("early_help/**/*.html"))
    assert len(list((docs / "validations").glob("cp_list/**/*.html"))) == 1


def test_no_gx_folder_no_network_no_progress_bars(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)

    def refuse(*args, **kwargs):
        raise AssertionError("GX tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    validations = ex.validate_frames({"cp_list": clean_frame("cp_list")}, {"cp_list": 20})
    ex.build_data_docs(validations, tmp_path / "docs")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs"]  # no gx/, no uncommitted/
    assert not (Path(__file__).resolve().parents[1] / "gx").exists()
    captured = capfd.readouterr()
    assert "Calculating Metrics" not in captured.err + captured.out


# ------------------------------------------------------------------------------------ synthetic default


@pytest.mark.slow
def test_suites_pass_on_the_synthetic_default(ingested):
    """Every raw table the pipeline wrote for the default partnership meets its suite, all periods at once."""
    import duckdb

    with duckdb.connect(str(ingested.settings.warehouse_path), read_only=True) as conn:
        present = {r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables "
                                              "WHERE table_schema = 'raw'").fetchall()}
        frames = {t: conn.execute(f"SELECT * FROM raw.{t}").df() for t in TABLES if t in present}
    assert {"cp_list", "early_help", "person_list", "cin_child", "cin_cp_plan", "ons_population"} <= set(frames)
    validations = ex.validate_frames(frames)
    assert [(v.table, v.failed) for v in validations if not v.success] == []
