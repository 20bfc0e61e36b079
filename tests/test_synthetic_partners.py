"""Partner agencies in the synthetic partnership (health visiting, schools, police, emergency department).

Checked from the files (read with the project's own reader, through the source registry) and from
truth/, independently of the generator's summary: a file per authority, quarter and agency in the
contract's layout (docs/partner-lists.md); rejected lines are exactly the injected defects; ages in
each agency's range; false-positive shares near the configured ones (truly neglected taken from
neglect_by_quarter.csv); severity gradients (universal services flat, social care steep); police
concerns followed by more referrals; the validation knobs (no agencies, scales).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math

import numpy as np
import pandas as pd
import pytest

from sources.registry import load_registry
from sources.synthetic.config import DEFAULT_PARTNER_AGENCIES, DefectRates, GeneratorConfig
from sources.synthetic.generate import generate_partnership
from synthetic_fixtures import read_extract

AGENCIES = {a.name: a for a in DEFAULT_PARTNER_AGENCIES}
CONTRACT_HEADERS = ["Agency", "Record ID", "NHS Number", "Forename", "Surname", "Date of Birth", "Sex", "Postcode",
                    "Concern Date", "Concern Type", "Severity"]
QUARTER_ENDS = [d.strftime("%Y-%m-%d") for d in pd.date_range("2023-06-30", "2026-03-31", freq="QE")]
AUTHORITIES = ["991_northbrook", "992_eastmere"]
RATES = DefectRates()


def _truth(folder, name) -> pd.DataFrame:
    return pd.read_csv(folder / "truth" / name, dtype=str, keep_default_na=False)


def _age(dob: pd.Series, on: pd.Series) -> np.ndarray:
    """Completed years on a date (both datetime series)."""
    dob, on = pd.DatetimeIndex(dob), pd.DatetimeIndex(on)
    before = (on.month < dob.month) | ((on.month == dob.month) & (on.day < dob.day))
    return np.asarray(on.year - dob.year - before.astype(int))


@pytest.fixture(scope="module")
def concerns(partnership) -> pd.DataFrame:
    """truth/partner_concerns.csv without the duplicate copies, with the true DOB, age on the concern date
    and at the quarter end, and ``neglected``: in neglect_by_quarter.csv for the concern's quarter."""
    folder, _ = partnership
    t = _truth(folder, "partner_concerns.csv")
    t = t[t["defect"] != "duplicate_row"].copy()
    persons = _truth(folder, "persons.csv").set_index("person_id")
    t["dob"] = pd.to_datetime(persons.loc[t["person_id"], "dob"].to_numpy())
    t["age"] = _age(t["dob"], pd.to_datetime(t["concern_date"]))
    t["age_at_quarter_end"] = _age(t["dob"], pd.to_datetime(t["quarter_end"]))
    neglected = _truth(folder, "neglect_by_quarter.csv")
    keys = set(zip(neglected["person_id"], neglected["quarter_end"]))
    t["neglected"] = [(p, q) in keys for p, q in zip(t["person_id"], t["quarter_end"])]
    return t


def test_a_file_per_authority_quarter_and_agency_in_the_contract_layout(partnership):
    folder, _ = partnership
    supplied = _truth(folder, "extracts_supplied.csv").set_index("file")
    for authority in AUTHORITIES:
        for end in QUARTER_ENDS:
            for name in AGENCIES:
                rel = f"{authority}/{end}/partner_{name}_concerns.csv"
                path = folder / "incoming" / rel
                assert path.exists(), rel
                rows = read_extract(path)
                assert list(rows.columns) == CONTRACT_HEADERS, rel
                assert len(rows) > 20, rel
                assert (rows["Agency"] == name).all(), rel
                assert supplied.loc[rel, "source"] == f"partner_{name}"
                assert supplied.loc[rel, "supplied"] == "True" and int(supplied.loc[rel, "rows"]) == len(rows)
    encodings = {a: (folder / "incoming" / a / QUARTER_ENDS[-1] / "partner_school_concerns.csv").read_bytes()[:3]
                 for a in AUTHORITIES}
    assert encodings["991_northbrook"] == b"\xef\xbb\xbf" and encodings["992_eastmere"] != b"\xef\xbb\xbf"


def test_the_project_reader_loads_every_row_and_rejects_exactly_the_injected_defects(partnership):
    folder, _ = partnership
    registry = load_registry()
    truth = _truth(folder, "partner_concerns.csv")
    records = _truth(folder, "source_records.csv")
    for name in AGENCIES:
        source = f"partner_{name}"
        files = sorted((folder / "incoming").glob(f"*/*/{source}_concerns.csv"))
        mine = truth[truth["source"] == source]
        assert {p.relative_to(folder / "incoming").as_posix() for p in files} == set(mine["file"])
        assert set(records.loc[records["source"] == source, "file"]) == set(mine["file"])
        read = rejected_total = 0
        loaded = []
        for path in files:
            rel = path.relative_to(folder / "incoming").as_posix()
            result = registry[source].read(path)
            t = mine[mine["file"] == rel]
            rejected = set(result.rejects["source_line"])
            assert result.rows_read == len(t) == len(result.rows) + len(rejected), rel
            assert rejected == set(t.loc[t["defect"] != "", "line"].astype(int)), rel
            read += result.rows_read
            rejected_total += len(rejected)
            loaded.append(result.rows)
        rows = pd.concat(loaded, ignore_index=True)
        # every contract column was recognised and holds what it should
        assert (rows["agency"] == name).all()
        assert rows["concern_type"].notna().all() and rows["concern_date"].notna().all()
        assert set(rows["concern_type"]) <= {c for c, _ in AGENCIES[name].concern_types + AGENCIES[name].false_positive_types
                                             + AGENCIES[name].under_5_types + AGENCIES[name].domestic_abuse_types}
        assert set(rows["severity"].dropna()) == {"low", "moderate", "high"}
        assert set(rows["gender"].dropna()) == {"M", "F"}
        assert rows["forename"].notna().all() and rows["date_of_birth"].notna().all() and rows["postcode"].notna().all()
        assert (rows["concern_date"] <= rows["extract_date"]).all()
        # the defects at the configured rates (per data row, duplicates as extra rows)
        expected = RATES.invalid_code + RATES.future_date + RATES.blank_mandatory + RATES.duplicate_row
        assert abs(rejected_total / read - expected) < 0.25 * expected, name


def test_ages_are_within_each_agencys_range(concerns):
    for name, agency in AGENCIES.items():
        ages = concerns.loc[concerns["agency"] == name, "age"]
        assert ages.min() == agency.min_age and ages.max() == agency.max_age, name
    # emergency departments see the under-fives most, and their concerns are mostly repeat attendances
    ed = concerns[concerns["agency"] == "emergency_department"]
    assert (ed["age"] <= 4).mean() > 0.3
    assert (ed.loc[ed["age"] <= 4, "concern_type"] == "repeat_attendance").mean() > \
        (ed.loc[ed["age"] > 4, "concern_type"] == "repeat_attendance").mean()


def test_false_positive_shares_are_near_the_configured_ones(concerns):
    """Of the children an agency lists in a quarter, the configured share is not neglected then."""
    t = concerns[concerns["age_at_quarter_end"] < 18]  # neglect_by_quarter lists children aged 0-17 at the end
    assert (t["neglected"] == (t["neglected_in_quarter"] == "True")).all()
    child_quarters = t.drop_duplicates(["agency", "person_id", "quarter_end"])
    for name, agency in AGENCIES.items():
        share = 1 - child_quarters.loc[child_quarters["agency"] == name, "neglected"].mean()
        assert abs(share - agency.false_positive_share) < 0.03, (name, share)
    # police: domestic-abuse notifications, also about children who are not neglected
    police = t[t["agency"] == "police"]
    assert (police.loc[~police["neglected"], "concern_type"] == "domestic_abuse_child_present").mean() > 0.5


def _rate_by_severity(events: pd.DataFrame, neglected: pd.DataFrame, ages: tuple[int, int], dob: pd.Series) -> pd.Series:
    """Share of neglected child-quarters (in the age range at the quarter end) with an event, by severity."""
    n = neglected.copy()
    n["age"] = _age(dob.reindex(n["person_id"]), pd.to_datetime(n["quarter_end"]))
    n = n[(n["age"] >= ages[0]) & (n["age"] <= ages[1])]
    hit = set(zip(events["person_id"], events["quarter_end"]))
    n["hit"] = [(p, q) in hit for p, q in zip(n["person_id"], n["quarter_end"])]
    return n.groupby("severity")["hit"].mean()


def test_universal_services_see_mild_and_severe_alike_social_care_the_severe(partnership, concerns):
    folder, _ = partnership
    neglected = _truth(folder, "neglect_by_quarter.csv")
    neglected = neglected[neglected["quarter_end"].isin(QUARTER_ENDS)]
    dob = pd.to_datetime(_truth(folder, "persons.csv").set_index("person_id")["dob"])
    ratio = {}
    for name, agency in AGENCIES.items():
        rates = _rate_by_severity(concerns[concerns["agency"] == name], neglected, (agency.min_age, agency.max_age), dob)
        assert rates["low"] < rates["moderate"] < rates["severe"] or name in ("health_visiting", "school"), (name, rates)
        ratio[name] = rates["severe"] / rates["low"]
    episodes = _truth(folder, "cin_episodes.csv")
    ends = pd.to_datetime(pd.Series(QUARTER_ENDS))
    referral = pd.to_datetime(episodes["referral_day"])
    episodes["quarter_end"] = ends.iloc[np.searchsorted(ends, referral).clip(0, len(ends) - 1)].dt.strftime("%Y-%m-%d").to_numpy()
    episodes = episodes[(referral > pd.Timestamp("2023-03-31")) & (referral <= ends.iloc[-1])]
    social_care = _rate_by_severity(episodes, neglected, (0, 17), dob)
    ratio["social care"] = social_care["severe"] / social_care["low"]
    # (measured: health visiting 1.3, schools 1.5, social care 2.4 - a child with an open episode is not
    # referred again - police 6, emergency department 4)
    assert ratio["health_visiting"] < 1.7 and ratio["school"] < 1.7, ratio
    assert ratio["social care"] > 2.0 and ratio["police"] > 2.5 and ratio["emergency_department"] > 2.5, ratio


def test_police_concerns_are_followed_by_more_referrals_than_for_matched_children(partnership, concerns):
    """Children with a police concern in a quarter, against children without one of the same neglect
    state and severity (none with an episode open): referrals in the next quarter."""
    folder, _ = partnership
    episodes = _truth(folder, "cin_episodes.csv")
    referral, closure = pd.to_datetime(episodes["referral_day"]), pd.to_datetime(episodes["closure_day"])
    neglected = _truth(folder, "neglect_by_quarter.csv")
    dob = pd.to_datetime(_truth(folder, "persons.csv").query("role == 'child'").set_index("person_id")["dob"])
    frames = []
    for quarter, following in zip(QUARTER_ENDS[:-1], QUARTER_ENDS[1:]):
        start, end = pd.Timestamp(quarter) + pd.Timedelta(days=1), pd.Timestamp(following)
        children = pd.DataFrame({"person_id": dob[(dob <= start) & (dob + pd.DateOffset(years=18) > end)].index})
        open_at_start = set(episodes.loc[(referral < start) & (closure >= start), "person_id"])
        children = children[~children["person_id"].isin(open_at_start)]
        severity = neglected[neglected["quarter_end"] == quarter].set_index("person_id")["severity"]
        children["stratum"] = children["person_id"].map(severity).fillna("not neglected")
        police = concerns.loc[(concerns["agency"] == "police") & (concerns["quarter_end"] == quarter), "person_id"]
        children["police"] = children["person_id"].isin(set(police))
        children["referred"] = children["person_id"].isin(set(episodes.loc[(referral >= start) & (referral <= end), "person_id"]))
        frames.append(children)
    f = pd.concat(frames, ignore_index=True)
    without = f[~f["police"]].groupby("stratum")["referred"].mean()
    notified = f[f["police"]]
    expected = notified["stratum"].map(without).sum()  # referrals if a notification changed nothing
    assert len(notified) > 1000
    assert notified["referred"].sum() > 1.8 * expected, (notified["referred"].sum(), expected)
    # and in every stratum
    by_stratum = f.groupby(["stratum", "police"])["referred"].mean().unstack()
    assert (by_stratum[True] > by_stratum[False]).all(), by_stratum


def test_identities_as_each_agency_records_them(partnership, concerns):
    """Health agencies hold NHS numbers; schools and police mostly names and dates of birth."""
    folder, _ = partnership
    frames = []
    for path in sorted((folder / "incoming").glob("*/*/partner_*_concerns.csv")):
        rows = read_extract(path)
        rows["line"] = np.arange(2, len(rows) + 2).astype(str)
        rows["file"] = path.relative_to(folder / "incoming").as_posix()
        frames.append(rows)
    rows = pd.concat(frames, ignore_index=True).merge(concerns[["file", "line", "person_id", "agency"]], on=["file", "line"])
    persons = _truth(folder, "persons.csv").set_index("person_id")
    first = rows.drop_duplicates(["agency", "person_id"])
    missing = (first["NHS Number"] == "").groupby(first["agency"]).mean()
    for name, agency in AGENCIES.items():
        assert abs(missing[name] - agency.nhs_missing) < 0.05, (name, missing[name])
    shown = first[first["NHS Number"] != ""]
    assert (shown["NHS Number"].to_numpy() == persons.loc[shown["person_id"], "nhs_number"].to_numpy()).all()
    changed = (first["Forename"].to_numpy() != persons.loc[first["person_id"], "forename"].to_numpy()).mean()
    assert 0.03 < changed < 0.12  # typos and nicknames, as in every recording system


def test_headline_figures_match_the_truth(partnership, concerns):
    folder, summary = partnership
    figures = summary["partner_agencies"]
    assert set(figures) == set(AGENCIES)
    neglected = _truth(folder, "neglect_by_quarter.csv")
    window = QUARTER_ENDS[-4:]
    neglected_in_window = set(neglected.loc[neglected["quarter_end"].isin(window), "person_id"])
    for name, f in figures.items():
        listed = set(concerns.loc[(concerns["agency"] == name) & concerns["quarter_end"].isin(window), "person_id"])
        assert f["children_with_concern_12m"] == len(listed)
        assert math.isclose(f["share_neglected_in_window"], len(listed & neglected_in_window) / len(listed), abs_tol=0.0015)
        assert 0.6 < f["share_neglected_in_window"] < 0.9
    # health visiting reaches a minority of neglected 0-4s in a year, police a smaller share
    assert 0.1 < figures["health_visiting"]["reach_of_neglected_in_age_range"] < 0.5
    assert figures["police"]["reach_of_neglected_in_age_range"] < figures["health_visiting"]["reach_of_neglected_in_age_range"]


def _hashes(folder) -> dict:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((folder / "incoming").rglob("*")) if p.is_file()}


@pytest.mark.slow  # slow: generates four small partnerships (about 12 s)
def test_knobs_for_validation(tmp_path):
    """No agencies; agencies whose draws leave every other file alone; detection and false-positive scales."""
    small = GeneratorConfig(children=4_000, seed=11)
    none = generate_partnership(dataclasses.replace(small, partner_agencies=()), tmp_path / "none")
    assert none["partner_agencies"] == {}
    assert not list((tmp_path / "none" / "incoming").rglob("partner_*"))
    assert not (tmp_path / "none" / "truth" / "partner_concerns.csv").exists()
    assert not _truth(tmp_path / "none", "source_records.csv")["source"].str.startswith("partner_").any()
    assert not _truth(tmp_path / "none", "extracts_supplied.csv")["source"].str.startswith("partner_").any()
    assert not _truth(tmp_path / "none", "recorded_evidence.csv")["kind"].str.startswith("partner:").any()

    # with no police -> referral dependence, the agencies change nothing but their own files
    generate_partnership(dataclasses.replace(small, police_referral_hazard=0.0), tmp_path / "quiet")
    quiet = _hashes(tmp_path / "quiet")
    partner_files = {f for f in quiet if "/partner_" in f}
    supplied = _truth(tmp_path / "quiet", "extracts_supplied.csv")
    supplied = supplied[supplied["source"].str.startswith("partner_")]
    assert len(supplied) == 2 * 12 * 4  # each authority, quarter and agency (a quarter without a concern: no file)
    assert partner_files == {"incoming/" + f for f in supplied.loc[supplied["supplied"] == "True", "file"]}
    assert len(partner_files) > 80
    assert {f: h for f, h in quiet.items() if f not in partner_files} == _hashes(tmp_path / "none")
    manifest = json.loads((tmp_path / "quiet" / "manifest.json").read_text())
    assert partner_files <= set(manifest["files"])  # so the determinism test covers them

    generate_partnership(dataclasses.replace(small, police_referral_hazard=0.0, partner_false_positive_scale=0.0,
                                             partner_detection_scale=2.0), tmp_path / "scaled")
    base = _truth(tmp_path / "quiet", "partner_concerns.csv")
    scaled = _truth(tmp_path / "scaled", "partner_concerns.csv")
    assert (scaled["neglected_in_quarter"] == "True").all()
    true_positive = lambda t: t[t["neglected_in_quarter"] == "True"].drop_duplicates(["agency", "person_id", "quarter_end"])  # noqa: E731
    assert 1.6 < len(true_positive(scaled)) / len(true_positive(base)) < 2.3
