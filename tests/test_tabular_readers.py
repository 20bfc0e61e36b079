"""Tabular extract readers (CP list, early help, adult services, person list) and sources.tabular.

The sample tests read every extract of a small generated partnership and check that the
rejected lines are exactly the lines truth/source_records.csv marks with a row defect.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from sources.adult_services import (adult_episode_files, adult_household_children_files, read_adult_episodes,
                                    read_adult_household_children)
from sources.cp_list import cp_list_files, read_cp_list
from sources.early_help import early_help_files, read_early_help
from sources.errors import SourceFileError
from sources.person_list import person_list_files, read_person_list
from sources.synthetic.config import GeneratorConfig
from sources.synthetic.generate import generate_partnership
from sources.tabular import REJECT_COLUMNS, load_code_map, nhs_number_valid, normalise_value, read_table

FIXTURES = Path(__file__).parent / "fixtures" / "tabular"

READERS = {  # truth source name -> (file lister, reader)
    "cp_list": (cp_list_files, read_cp_list),
    "early_help": (early_help_files, read_early_help),
    "adult_services": (adult_episode_files, read_adult_episodes),
    "adult_household_children": (adult_household_children_files, read_adult_household_children),
    "person_list": (person_list_files, read_person_list),
}

from sources.synthetic.writers.annex_a import FILE_NAME as ANNEX_A_WORKBOOK  # noqa: E402


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("tabular_sample")
    generate_partnership(GeneratorConfig(children=4000), out)
    truth = pd.read_csv(out / "truth" / "source_records.csv", dtype=str, keep_default_na=False)
    return out / "incoming", truth


def _data_rows(path: Path) -> int:
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook
        wb = load_workbook(path, read_only=True)
        n = sum(1 for row in wb.worksheets[0].iter_rows(values_only=True) if any(v is not None for v in row)) - 1
        wb.close()
        return n
    return len(pd.read_csv(path, dtype=str, keep_default_na=False, encoding_errors="replace"))


@pytest.mark.parametrize("source", list(READERS))
def test_sample_rejects_match_truth(sample, source):
    _assert_rejects_match_truth(*sample, source)


@pytest.mark.parametrize("source", list(READERS))
def test_default_partnership_rejects_match_truth(partnership, source):
    folder, _ = partnership
    truth = pd.read_csv(folder / "truth" / "source_records.csv", dtype=str, keep_default_na=False)
    _assert_rejects_match_truth(folder / "incoming", truth, source)


def _assert_rejects_match_truth(incoming, truth, source):
    """Loaded + rejected = read for every file, and the rejected lines are exactly the injected defects."""
    lister, reader = READERS[source]
    files = lister(incoming)
    assert files, f"no {source} files"
    # the lists of the Annex A workbooks (list 7 is cp_list) are the Annex A tests' (tests/test_annex_a*.py)
    truth = truth[(truth["source"] == source) & ~truth["file"].str.endswith(ANNEX_A_WORKBOOK)]
    assert set(truth["file"]) == {p.relative_to(incoming).as_posix() for p in files}
    for path in files:
        rel = path.relative_to(incoming).as_posix()
        result = reader(path)
        assert result.rows_read == _data_rows(path), rel
        rejected = set(result.rejects["source_line"])
        assert result.rows_read == len(result.rows) + len(rejected), rel
        assert not set(result.rows["source_line"]) & rejected
        t = truth[truth["file"] == rel]
        assert len(t) == result.rows_read, rel
        expected = set(t.loc[t["defect"] != "", "line"].astype(int))
        assert rejected == expected, (rel, sorted(rejected - expected), sorted(expected - rejected),
                                      result.rejects.to_string())
        # every defect is reported under the rule the generator names
        d = t[t["defect"] != ""]
        got = set(zip(result.rejects["source_line"], result.rejects["rule"]))
        for line, defect in zip(d["line"].astype(int), d["defect"]):
            assert (line, defect) in got, (rel, line, defect)
        assert list(result.rejects.columns) == REJECT_COLUMNS
        assert (result.rows["source_file"] == rel).all()
        assert (result.rows["extract_date"] == pd.Timestamp(path.parent.name)).all()


def test_sample_values_are_canonical(sample):
    incoming, _ = sample
    cp = pd.concat([read_cp_list(p).rows for p in cp_list_files(incoming)])
    assert set(cp["initial_category"]) <= {"NEG", "PHY", "SAB", "EMO", "MUL"}
    assert set(cp["latest_category"]) <= {"NEG", "PHY", "SAB", "EMO", "MUL"}
    assert {"NEG", "MUL"} <= set(cp["initial_category"])
    assert set(cp["gender"]) <= {"M", "F", "U"}
    assert "allocated_worker" not in cp.columns
    assert set(cp["authority"]) == {"991_northbrook", "992_eastmere"}
    eh = pd.concat([read_early_help(p).rows for p in early_help_files(incoming)])
    assert eh["episode_start_date"].notna().all()
    # both date styles (dd/mm/yyyy in Northbrook, yyyy-mm-dd in Eastmere) parse to the same range
    for lea in ("991_northbrook", "992_eastmere"):
        starts = eh.loc[eh["authority"] == lea, "episode_start_date"]
        assert starts.min() > pd.Timestamp("2015-01-01") and starts.max() <= pd.Timestamp("2026-03-31")
    assert eh["presenting_needs"].dropna().str.fullmatch(r"[0-9A-Z]+(;[0-9A-Z]+)*").all()
    assert eh["gcp2_physical_care"].dropna().between(1, 5).all()


# ---------------------------------------------------------------- hand-made fixtures

CP_HEADER = ("Child Unique ID,Gender,Ethnicity,Date of Birth,Age of Child (Years),Does the Child have a Disability,"
             "Child Protection Plan Start Date,Initial Category of Abuse,Latest Category of Abuse,"
             "Date of the Last Statutory Visit,Was the Child Seen Alone?,Date of latest review conference,"
             "Child Protection Plan End Date,Subject to Emergency Protection Order or Protected Under Police Powers "
             "in Last Six Months (Y/N),Number of Previous Child Protection Plans,Allocated Team,Allocated Worker")


def _cp_row(child_id="C1001", gender="F", dob="03/04/2015", start="01/02/2025", initial="NEG", latest="NEG",
            end="", worker="Zoë Bright") -> str:
    return f"{child_id},{gender},WBRI,{dob},10,N,{start},{initial},{latest},01/03/2025,Yes,15/02/2025,{end},N,0,Team 1,{worker}"


def _write(tmp_path: Path, name: str, lines: list[str], encoding="utf-8") -> Path:
    folder = tmp_path / "991_test" / "2025-03-31"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def test_fixture_files_read():
    """The committed fixtures: a cp1252 CP list and a UTF-8-BOM CP list with untidy headers."""
    cp1252 = FIXTURES / "cp_list_cp1252.csv"
    assert "Zoë".encode("cp1252") in cp1252.read_bytes()
    r = read_cp_list(cp1252, extract_date="2025-03-31", authority="992_test")
    assert r.encoding == "cp1252" and r.rows_read == 2 and len(r.rows) == 2
    bom = FIXTURES / "cp_list_utf8_bom.csv"
    assert bom.read_bytes().startswith(b"\xef\xbb\xbf")
    r = read_cp_list(bom, extract_date="2025-03-31", authority="991_test")
    assert r.encoding == "utf-8-sig" and len(r.rows) == 2 and r.rejects.empty
    assert list(r.rows["child_id"]) == ["C2001", "C2002"]
    assert list(r.rows["initial_category"]) == ["NEG", "PHY"]


def test_cp1252_name_decodes(tmp_path):
    path = _write(tmp_path, "annex_a_list_7_child_protection.csv", [CP_HEADER, _cp_row()], encoding="cp1252")
    table = read_table(path, "cp_list", extract_date="2025-03-31")
    assert table.encoding == "cp1252"
    from sources.tabular import read_raw
    frame, _, _ = read_raw(path)
    assert frame["Allocated Worker"].iloc[0] == "Zoë Bright"


def test_utf8_bom_and_untidy_headers(tmp_path):
    header = CP_HEADER.replace("Child Unique ID", "CHILD  unique-ID").replace("Child Protection Plan Start Date",
                                                                            " child protection plan start date ")
    path = tmp_path / "cp.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (header + "\n" + _cp_row() + "\n").encode("utf-8"))
    r = read_cp_list(path, extract_date="2025-03-31", authority="x")
    assert r.encoding == "utf-8-sig" and len(r.rows) == 1
    assert r.rows["child_id"].iloc[0] == "C1001"
    assert r.rows["cp_plan_start_date"].iloc[0] == pd.Timestamp("2025-02-01")


def test_missing_required_column(tmp_path):
    header = CP_HEADER.replace("Child Protection Plan Start Date,", "")
    row = _cp_row().replace("01/02/2025,", "", 1)
    path = _write(tmp_path, "annex_a_list_7_child_protection.csv", [header, row])
    with pytest.raises(SourceFileError) as err:
        read_cp_list(path)
    msg = str(err.value)
    assert msg.endswith("annex_a_list_7_child_protection.csv, line 1 (header): " + err.value.problem)
    assert msg.startswith(err.value.display)  # the file is named relative to the incoming folder
    assert "required column 'Child Protection Plan Start Date' not found" in msg


@pytest.mark.parametrize("content", [b"", b"  \r\n\r\n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "annex_a_list_7_child_protection.csv"
    path.write_bytes(content)
    with pytest.raises(SourceFileError, match=r"annex_a_list_7_child_protection\.csv, line 1: the file is empty"):
        read_cp_list(path, extract_date="2025-03-31")


def test_header_only_file_has_no_rows(tmp_path):
    path = _write(tmp_path, "annex_a_list_7_child_protection.csv", [CP_HEADER])
    r = read_cp_list(path)
    assert r.rows_read == 0 and r.rows.empty and r.rejects.empty


def test_not_csv_or_xlsx(tmp_path):
    path = tmp_path / "annex_a_list_7_child_protection.csv"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    with pytest.raises(SourceFileError, match="not a CSV or .xlsx"):
        read_cp_list(path, extract_date="2025-03-31")
    bad = tmp_path / "list.xlsx"
    bad.write_bytes(b"Child Unique ID\nC1\n")
    with pytest.raises(SourceFileError, match="not an .xlsx"):
        read_cp_list(bad, extract_date="2025-03-31")


def test_unreadable_encoding(tmp_path):
    path = tmp_path / "cp.csv"
    path.write_bytes((CP_HEADER + "\n").encode() + b"C1,\x81\x8d\x8f\x90\x9d\n")  # undefined in cp1252, bad UTF-8
    # the one data line cannot be decoded: past the share of bad lines a file may have, so the file is refused,
    # naming the first line that fails
    with pytest.raises(SourceFileError, match=r"cp.csv, line 2: cannot be decoded as utf-8-sig or cp1252"):
        read_cp_list(path, extract_date="2025-03-31")


def test_category_variants(tmp_path):
    values = ["a) Neglect", "NEG", "Neglect", "YNNN", "NNYN", "YYNN", "  neglect ", "e) Multiple/not recommended"]
    rows = [_cp_row(child_id=f"C{i}", initial=v, latest=v) for i, v in enumerate(values)]
    rows.append(_cp_row(child_id="C99", initial="Financial abuse"))
    path = _write(tmp_path, "annex_a_list_7_child_protection.csv", [CP_HEADER] + rows)
    r = read_cp_list(path)
    assert list(r.rows["initial_category"]) == ["NEG", "NEG", "NEG", "NEG", "SAB", "MUL", "NEG", "MUL"]
    assert list(r.rows["latest_category"]) == ["NEG", "NEG", "NEG", "NEG", "SAB", "MUL", "NEG", "MUL"]
    assert len(r.rejects) == 1
    bad = r.rejects.iloc[0]
    assert (bad["source_line"], bad["field"], bad["rule"]) == (len(values) + 2, "initial_category", "invalid_code")
    assert "Financial abuse" in bad["message"]  # a new variant of a category: shaped like the list's codes, quoted


def test_code_map_matching_is_case_and_space_insensitive():
    m = load_code_map("category_of_abuse")
    keys = normalise_value(pd.Series(["A)  NEGLECT", "ynnn", "Neglect;  Emotional abuse"]))
    assert list(keys.map(m)) == ["NEG", "NEG", "MUL"]
    assert load_code_map("gender")["a) male"] == "M"


def test_future_date_duplicate_and_order(tmp_path):
    rows = [_cp_row(child_id="C1"),
            _cp_row(child_id="C2", start="15/06/2025"),  # after the extract date
            _cp_row(child_id="C3"), _cp_row(child_id="C3"),  # exact duplicate: second copy rejected
            _cp_row(child_id="C4", start="10/01/2025", end="01/01/2025"),  # end before start
            _cp_row(child_id="C5", start="31/02/2025"),  # impossible date
            _cp_row(child_id="", gender="X")]  # blank mandatory + invalid code, one line
    path = _write(tmp_path, "annex_a_list_7_child_protection.csv", [CP_HEADER] + rows)
    r = read_cp_list(path)
    got = set(zip(r.rejects["source_line"], r.rejects["field"], r.rejects["rule"]))
    assert got == {(3, "cp_plan_start_date", "future_date"), (5, "", "duplicate_row"),
                   (6, "cp_plan_end_date", "date_out_of_order"), (7, "cp_plan_start_date", "invalid_date"),
                   (8, "child_id", "blank_mandatory"), (8, "gender", "invalid_code")}
    assert r.rows_read == 7 and list(r.rows["source_line"]) == [2, 4]
    assert r.rows_read == len(r.rows) + r.rejects["source_line"].nunique()


def test_messages_hold_no_identifiers(tmp_path):
    header = ("EH ID,Episode ID,LA Child ID,NHS Number,Forename,Surname,Date of Birth,Gender,Postcode,Episode Start Date,"
              "Episode End Date,End Reason,EH Assessment Date,Presenting Needs,GCP2 Physical Care,GCP2 Care of Safety,"
              "GCP2 Love and Care,GCP2 Stimulation and Education,Lead Practitioner Team")
    ident = "EH123,EP9,LC77,9434765919,Zoë,Quintrell,2015-13-45,Male,QN1 2AB"
    rows = [f"{ident},2025-01-10,2025-01-01,Outcomes achieved,2025-01-12,16A; 4B,6,,,,Team A",
            f"{ident.replace('9434765919', '9434765918')},2025-01-10,,,2025-09-12,NEG,,,,,Team A",
            f"{ident.replace('9434765919', '9434765918').replace('2015-13-45', '2015-12-25')},2025-01-10,,,,,4,5,,,Team A"]
    path = _write(tmp_path, "early_help_episodes.csv", [header] + rows)
    r = read_early_help(path)
    assert set(r.rejects["rule"]) >= {"invalid_date", "date_out_of_order", "future_date", "invalid_code",
                                      "invalid_number"}
    assert len(r.flags) == 1 and r.flags["rule"].iloc[0] == "invalid_nhs_number" and r.flags["source_line"].iloc[0] == 4
    kept = r.rows.iloc[0]
    assert len(r.rows) == 1 and pd.isna(kept["nhs_number"]) and kept["gcp2_care_of_safety"] == 5
    text = " ".join(r.rejects["message"]) + " ".join(r.flags["message"])
    for value in ["EH123", "EP9", "LC77", "9434765919", "9434765918", "Zoë", "Quintrell", "2015-13-45", "QN1 2AB"]:
        assert value not in text


def test_iso_and_uk_dates_and_month_first_refused(tmp_path):
    header = "Client ID,Episode ID,Child Forename,Child Surname,Child Date of Birth,Child Lives With Client"
    ok = _write(tmp_path, "adult_mental_health_household_children.csv",
                [header, "A1,E1,Amy,Bee,2015-04-03,Y", "A2,E2,Cal,Dee,3/4/15,Y", "A3,E3,Eve,Fay,3-Apr-2015,N",
                 "A4,E4,Gus,Hay,03/04/2015,Y"])
    r = read_adult_household_children(ok)
    assert r.rejects.empty
    assert set(r.rows["child_date_of_birth"]) == {pd.Timestamp("2015-04-03")}
    assert set(r.rows["service_file"]) == {"mental_health"}
    us = _write(tmp_path, "adult_substance_misuse_household_children.csv",
                [header, "A1,E1,Amy,Bee,04/23/2015,Y", "A2,E2,Cal,Dee,04/03/2015,Y"])
    with pytest.raises(SourceFileError, match="month-first"):
        read_adult_household_children(us)


def test_nhs_number_check_digit():
    s = pd.Series(["9434765919", "943 476 5919", "9434765918", "123", ""])
    assert list(nhs_number_valid(s)) == [True, True, False, False, False]


def test_xlsx_reader(tmp_path):
    from datetime import datetime
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.append(CP_HEADER.split(","))
    ws.append(["C1", "a) Male", "WBRI", datetime(2015, 4, 3), 10, "b) No", datetime(2025, 2, 1), "a) Neglect",
               "YNNY", None, "Yes", None, None, "N", 0, "Team", "Worker Name"])
    ws.append(["C2", "b) Female", "WBRI", datetime(2015, 4, 3), 10, "b) No", datetime(2026, 2, 1), "a) Neglect",
               "a) Neglect", None, "Yes", None, None, "N", 0, "Team", "Worker Name"])
    folder = tmp_path / "991_x" / "2025-03-31"
    folder.mkdir(parents=True)
    path = folder / "annex_a_list_7_child_protection.xlsx"
    wb.save(path)
    r = read_cp_list(path)
    assert r.rows_read == 2 and len(r.rows) == 1
    row = r.rows.iloc[0]
    assert (row["gender"], row["initial_category"], row["latest_category"]) == ("M", "NEG", "MUL")
    assert row["date_of_birth"] == pd.Timestamp("2015-04-03") and row["source_line"] == 2
    assert row["source_file"] == "991_x/2025-03-31/annex_a_list_7_child_protection.xlsx"
    assert r.rejects["source_line"].tolist() == [3] and r.rejects["rule"].tolist() == ["future_date"]
