"""Defects are in the files at the configured rates (within ±20 %), measured from the files."""
from __future__ import annotations

import pandas as pd
import pytest

from sources.synthetic.config import DefectRates
from synthetic_fixtures import read_extract

RATES = DefectRates()


def _within(observed: float, configured: float, label: str) -> None:
    assert abs(observed - configured) <= 0.2 * configured, f"{label}: observed {observed:.4f}, configured {configured:.4f}"


@pytest.fixture(scope="module")
def early_help(partnership):
    """All early-help rows with the true person and extract date of each."""
    folder, _ = partnership
    records = pd.read_csv(folder / "truth" / "source_records.csv", dtype=str, keep_default_na=False)
    frames = []
    for path in sorted((folder / "incoming").glob("*/*/early_help_episodes.csv")):
        rows = read_extract(path)
        rel = path.relative_to(folder / "incoming").as_posix()
        mine = records[records["file"] == rel]
        rows["person_id"] = mine.sort_values("line", key=lambda s: s.astype(int))["person_id"].to_numpy()
        rows["lea"] = path.parts[-3][:3]
        rows["extract_date"] = pd.Timestamp(path.parts[-2])
        frames.append(rows)
    return pd.concat(frames, ignore_index=True)


def _dates(values: pd.Series) -> pd.Series:
    iso = pd.to_datetime(values.where(values.str.contains("-")), format="%Y-%m-%d", errors="coerce")
    uk = pd.to_datetime(values.where(values.str.contains("/")), format="%d/%m/%Y", errors="coerce")
    return iso.fillna(uk)


def test_row_defect_rates_in_early_help(early_help):
    rows = early_help
    n_original = len(rows) - rows.duplicated().sum()
    _within(rows.duplicated().sum() / n_original, RATES.duplicate_row, "duplicate rows")
    start, end = _dates(rows["Episode Start Date"]), _dates(rows["Episode End Date"])
    _within((end < start).sum() / n_original, RATES.date_out_of_order, "end before start")
    _within((start > rows["extract_date"]).sum() / n_original, RATES.future_date, "start after the extract date")
    blank = (rows["EH ID"] == "").sum() + (rows["Episode Start Date"] == "").sum()
    _within(blank / n_original, RATES.blank_mandatory, "blank mandatory fields")
    valid_gender = rows["Gender"].isin(["Male", "Female"])
    factor_ok = rows["Presenting Needs"].str.fullmatch(r"(\d{1,2}[A-F]?)(; \d{1,2}[A-F]?)*|") & ~rows["Presenting Needs"].isin(["16"])
    invalid = (~valid_gender).sum() + (~factor_ok).sum()
    _within(invalid / n_original, RATES.invalid_code, "invalid codes")


def test_identity_defect_rates_in_the_early_help_system(early_help, partnership):
    folder, _ = partnership
    truth = pd.read_csv(folder / "truth" / "persons.csv", dtype=str, keep_default_na=False).set_index("person_id")
    # one recorded identity per person and system: take each person's first clean row
    rows = early_help[(early_help["EH ID"] != "")].drop_duplicates(["lea", "EH ID"])
    true = truth.loc[rows["person_id"]]
    n = len(rows)
    forename_changed = (rows["Forename"].to_numpy() != true["forename"].to_numpy()).mean()
    _within(forename_changed, RATES.name_typo + RATES.nickname, "forename typo or nickname")
    surname_changed = (rows["Surname"].to_numpy() != true["surname"].to_numpy()).mean()
    _within(surname_changed, RATES.name_typo + RATES.hyphenated_surname + RATES.surname_change, "surname changed")
    hyphen_added = (rows["Surname"].str.contains("-").to_numpy() & ~true["surname"].str.contains("-").to_numpy()).mean()
    _within(hyphen_added, RATES.hyphenated_surname, "hyphenated surname")
    recorded = _dates(rows["Date of Birth"]).to_numpy()
    actual = pd.to_datetime(true["dob"]).to_numpy()
    swapped = pd.to_datetime(pd.Series(actual).dt.strftime("%Y-%d-%m"), format="%Y-%m-%d", errors="coerce").to_numpy()
    _within(((recorded != actual) & (recorded == swapped)).mean(), RATES.dob_transposed, "day/month transposed")
    _within((rows["NHS Number"] == "").mean(), RATES.missing_nhs_number, "missing NHS number")
    assert n > 2000


def test_cp_list_invalid_categories_and_duplicates(partnership):
    folder, _ = partnership
    from sources.synthetic.writers.extracts import CATEGORY_STYLES
    known = {v for style in CATEGORY_STYLES.values() for v in style.values()}
    frames = [read_extract(p) for p in sorted((folder / "incoming").glob("*/*/annex_a_list_7_child_protection.*"))]
    rows = pd.concat(frames, ignore_index=True)
    duplicates = sum(f.duplicated().sum() for f in frames)
    n_original = len(rows) - duplicates
    unknown = (~rows["Initial Category of Abuse"].isin(known)).sum()
    bad_gender = (~rows["Gender"].isin(["a) Male", "b) Female", "M", "F"])).sum()
    _within((unknown + bad_gender) / n_original, RATES.invalid_code, "CP list invalid codes")
    _within(duplicates / n_original, RATES.duplicate_row, "CP list duplicate rows")


def test_adult_services_defect_rates_hold_in_the_files_written(partnership):
    """Eastmere's first-year adult extracts are not written; the defects are spread over what is."""
    folder, _ = partnership
    frames = [read_extract(p) for p in sorted((folder / "incoming").glob("*/*/adult_*_episodes.csv"))]
    rows = pd.concat(frames, ignore_index=True)
    duplicates = sum(f.duplicated().sum() for f in frames)
    n_original = len(rows) - duplicates
    _within(duplicates / n_original, RATES.duplicate_row, "adult services duplicate rows")
    start, end = _dates(rows["Episode Start Date"]), _dates(rows["Episode End Date"])
    _within((end < start).sum() / n_original, RATES.date_out_of_order, "adult services end before start")
    blank = (rows["Client ID"] == "").sum() + (rows["Episode Start Date"] == "").sum()
    _within(blank / n_original, RATES.blank_mandatory, "adult services blank mandatory fields")


def test_synthetic_upns_carry_la_codes_from_dfe_list(partnership):
    """A real return's UPNs are issued under DfE's LA codes: the synthetic authorities' fictional numbers
    (991, 992) must not make every UPN fail CIN-1530, which would hide the defects the generator puts in."""
    from checks.dfe_rules import run_rules
    from sources.cin_census import read_cin_census

    folder, _ = partnership
    for path in sorted(folder.glob("incoming/*/2026-03-31/cin_census_2026.xml")):
        result = read_cin_census(path, la_code=path.parent.parent.name[:3], expected_year=2026)
        child = result.tables["cin_child"]
        upns = child["upn"].dropna()
        assert len(upns) > 1000
        tables = {t: df.assign(record_id=df["source_file"] + "#" + df["source_location"])
                  for t, df in result.tables.items()}
        findings = run_rules(tables, result.header.reference_date.date(), rules=["CIN-1530"])
        # the generator's own UPN defects (mistyped or truncated UPNs) may still fail; a fictional LA code may not
        assert len(findings) < 0.01 * len(upns), (path.name, len(findings))
