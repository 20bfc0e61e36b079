"""The default partnership has years of census returns, each in its year's style, and one authority
without adult-services extracts for its first year. Everything here is counted from the files
(and, for what really happened, from truth/), not from the generator's own summary."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lxml import etree

from synthetic_fixtures import census_episodes

CENSUS_YEARS = list(range(2021, 2027))
QUARTER_ENDS = [d.strftime("%Y-%m-%d") for d in pd.date_range("2023-06-30", "2026-03-31", freq="QE")]
ADULT_SERVICES = ["mental_health", "substance_misuse", "domestic_abuse", "learning_disability"]
QUARTERLY = {"annex_a_list_7_child_protection.xlsx", "annex_a_list_7_child_protection.csv", "early_help_episodes.csv",
             "csc_person_list.csv"} | {f"adult_{s}_{k}.csv" for s in ADULT_SERVICES for k in ("episodes", "household_children")}
QUARTERLY |= {f"partner_{a}_concerns.csv" for a in ("health_visiting", "school", "police", "emergency_department")}
QUARTERLY |= {"gcp2_assessments.csv"}  # GCP2 rescoring: every quarter, both authorities (sources/synthetic/gcp2.py)
EASTMERE_NO_ADULT = QUARTER_ENDS[:4]  # 2023-06-30 ... 2024-03-31: no data-sharing agreement yet
# commissioned services' activity returns (sources/synthetic/commissioning.py, issue 20): Eastmere's start 2025-06-30
EASTMERE_NO_SERVICE_ACTIVITY = [q for q in QUARTER_ENDS if q < "2025-06-30"]


def _truth(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / "truth" / name, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def episodes(partnership) -> pd.DataFrame:
    """Every CINdetails of every census file, with the file's year and authority."""
    folder, _ = partnership
    frames = []
    for path in sorted((folder / "incoming").glob("*/*-03-31/cin_census_*.xml")):
        frame = census_episodes(path)
        frames.append(frame.assign(year=int(path.stem[-4:]), lea=path.parts[-3][:3]))
    return pd.concat(frames, ignore_index=True)


def test_layout_census_every_year_quarterly_extracts_from_2023(partnership):
    folder, _ = partnership
    incoming = folder / "incoming"
    for authority in ("991_northbrook", "992_eastmere"):
        periods = sorted(p.name for p in (incoming / authority).iterdir())
        assert periods == sorted({f"{y}-03-31" for y in CENSUS_YEARS} | set(QUARTER_ENDS)), authority
        for year in CENSUS_YEARS:
            names = {p.name for p in (incoming / authority / f"{year}-03-31").iterdir()}
            assert f"cin_census_{year}.xml" in names
            if f"{year}-03-31" not in QUARTER_ENDS:  # census years before the extracts began: the return only
                assert names == {f"cin_census_{year}.xml"}, (authority, year)
        for end in QUARTER_ENDS:
            names = {p.name for p in (incoming / authority / end).iterdir()} - {f"cin_census_{end[:4]}.xml"}
            expected = {n for n in QUARTERLY if not n.startswith("annex_a")}
            expected |= {"annex_a_list_7_child_protection." + ("xlsx" if authority.startswith("991") else "csv")}
            if authority.startswith("992") and end in EASTMERE_NO_ADULT:
                expected = {n for n in expected if not n.startswith("adult_")}
            if end[5:7] in ("03", "09"):  # an Ofsted Annex A workbook each half-year
                expected.add("ofsted_annex_a.xlsx")
            if not (authority.startswith("992") and end in EASTMERE_NO_SERVICE_ACTIVITY):
                expected.add("service_activity.csv")
            assert names == expected, (authority, end)


@pytest.mark.parametrize("year", CENSUS_YEARS)
def test_each_return_is_written_in_the_style_of_its_year(partnership, year):
    folder, _ = partnership
    files = sorted((folder / "incoming").glob(f"*/{year}-03-31/cin_census_{year}.xml"))
    assert len(files) == 2
    for path in files:
        root = etree.parse(str(path)).getroot()
        assert root.findtext("Header/CollectionDetails/Year") == str(year)
        assert root.findtext("Header/CollectionDetails/ReferenceDate") == f"{year}-03-31"
        children = root.findall("Children/Child")
        gender = {c.findtext("ChildIdentifiers/GenderCurrent") for c in children}
        sex = {c.findtext("ChildIdentifiers/Sex") for c in children}
        yes_no = {e.text for e in root.iter("ReferralNFA", "ICPCnotRequired")}
        if year <= 2024:  # GenderCurrent 1/2 up to 2023-24
            assert gender == {"1", "2"} and sex == {None}, path.name
        else:  # Sex from 2024-25
            assert sex == {"M", "F"} and gender == {None}, path.name
        assert yes_no == ({"0", "1"} if year >= 2026 else {"true", "false"}), path.name


def test_codes_are_those_in_use_in_each_year(partnership, episodes):
    folder, _ = partnership
    factors = {}
    for path in sorted((folder / "incoming").glob("*/*-03-31/cin_census_*.xml")):
        codes = {e.text for e in etree.parse(str(path)).getroot().iter("AssessmentFactors")}
        factors.setdefault(int(path.stem[-4:]), set()).update(codes)
    for year in CENSUS_YEARS:
        sources = set(episodes.loc[episodes["year"] == year, "referral_source"])
        reasons = set(episodes.loc[episodes["year"] == year, "reason_for_closure"]) - {""}
        assert ("5D" in sources) == (year >= 2023), year
        assert ("RC9" in reasons) == (year >= 2023), year
        assert ("24A" in factors[year]) == (year >= 2022), year
        assert ("13A" in factors[year]) == (year < 2022), year  # the simulation draws no gangs factor itself
        assert not {"18A", "19A"} & factors[year], year
        assert {"18B", "18C", "19B", "19C"} <= factors[year], year


def test_step_ups_and_step_downs_are_recorded_with_the_codes_of_the_time(partnership, episodes):
    """Truth knows every step-up and step-down; before 2022-23 the returns say 5B and RC8 for them."""
    folder, _ = partnership
    truth = _truth(folder, "cin_episodes.csv")
    ids = _truth(folder, "system_ids.csv")
    ids = ids[ids["system"].str.startswith("csc:")].assign(lea=lambda f: f["system"].str[4:])
    truth = truth.merge(ids[["lea", "person_id", "local_id"]], on=["lea", "person_id"])[
        ["lea", "local_id", "referral_day", "person_id", "stepped_up_from_early_help", "stepped_down_to_early_help"]]
    merged = episodes.drop_duplicates(["year", "lea", "child_id", "referral_date"]).merge(
        truth.rename(columns={"referral_day": "referral_date", "local_id": "child_id"}),
        on=["lea", "child_id", "referral_date"], how="left", validate="many_to_one")
    assert merged["person_id"].notna().all()  # every episode in a return is a simulated one
    up = merged["stepped_up_from_early_help"] == "True"
    down = merged["stepped_down_to_early_help"] == "True"
    early = merged["year"] < 2023
    assert up.any() and down.any() and (up & early).any() and (down & early).any()
    assert (merged.loc[up & early, "referral_source"] == "5B").all()
    assert (merged.loc[up & ~early, "referral_source"] == "5D").all()
    assert not (merged.loc[~up, "referral_source"] == "5D").any()
    closed = merged["reason_for_closure"] != ""
    assert (merged.loc[down & early & closed, "reason_for_closure"] == "RC8").all()
    assert (merged.loc[down & ~early & closed, "reason_for_closure"] == "RC9").all()
    assert not (merged.loc[~down, "reason_for_closure"] == "RC9").any()
    history = _truth(folder, "cin_code_history.csv").set_index("code")
    assert history.loc["RC9", "before"] == "RC8" and history.loc["5D", "before"] == "5B"
    assert history.loc["24A", "before"] == "13A"
    assert history["first_year"].to_dict() == {"RC9": "2023", "5D": "2023", "24A": "2022"}


def test_the_reader_finds_nothing_out_of_year_in_any_return(partnership):
    """Only the deliberate defects are reported: no code or element out of its year."""
    from sources.cin_census import read_cin_census
    folder, _ = partnership
    records = _truth(folder, "source_records.csv")
    for path in sorted((folder / "incoming").glob("*/*-03-31/cin_census_*.xml")):
        result = read_cin_census(path)
        rel = path.relative_to(folder / "incoming").as_posix()
        assert result.header.collection_year == int(path.stem[-4:])
        assert result.children_read == (records["file"] == rel).sum() and result.children_rejected == 0, rel
        assert set(result.rejects["rule"]) == {"duplicate_child", "date_order", "after_reference_date"}, rel


def test_cin_and_cp_rates_at_each_31_march_are_in_published_ranges(partnership, episodes):
    folder, _ = partnership
    for year in CENSUS_YEARS:
        e = episodes[episodes["year"] == year].drop_duplicates(["lea", "child_id", "referral_date"])
        in_need = e.loc[e["closure_date"] == "", ["lea", "child_id"]].drop_duplicates().shape[0]
        on_plan = e.loc[e["open_plans"] > 0, ["lea", "child_id"]].drop_duplicates().shape[0]
        population = pd.read_csv(folder / "incoming" / "reference" / "population" / f"population_mid_{year - 1}.csv")
        children = population[f"population_{year - 1}"].sum()
        # England 2021-2025: 330-344 children in need and 41-43 on a plan per 10,000
        assert 250 <= in_need / children * 1e4 <= 400, year
        assert 30 <= on_plan / children * 1e4 <= 60, year


def test_eastmere_sends_no_adult_services_extracts_for_its_first_year(partnership):
    folder, _ = partnership
    incoming = folder / "incoming"
    supplied = _truth(folder, "extracts_supplied.csv")
    records = _truth(folder, "source_records.csv")
    activity = _truth(folder, "service_activity.csv")  # rows about services, not people: not in source_records
    on_disk = {p.relative_to(incoming).as_posix() for p in incoming.glob("99[12]_*/*/*")}
    # the supply list names every file on disk as supplied, and the missing ones as not supplied
    assert set(supplied.loc[supplied["supplied"] == "True", "file"]) == on_disk == \
        set(records["file"]) | set(activity["file"])
    missing = supplied[supplied["supplied"] == "False"]
    assert not set(missing["file"]) & on_disk
    no_return = missing[missing["source"] == "service_activity"]  # Eastmere's returns start later (issue 20)
    assert set(no_return["file"]) == {f"992_eastmere/{end}/service_activity.csv" for end in EASTMERE_NO_SERVICE_ACTIVITY}
    assert no_return["reason"].str.contains("no service-activity return before 2025-06-30").all()
    missing = missing[missing["source"] != "service_activity"]
    expected = {f"992_eastmere/{end}/adult_{s}_{k}.csv" for end in EASTMERE_NO_ADULT for s in ADULT_SERVICES
                for k in ("episodes", "household_children")}
    assert set(missing["file"]) == expected
    assert (missing["reason"].str.contains("data-sharing agreement")).all()
    assert set(missing["source"]) == {"adult_services", "adult_household_children"}
    rows = pd.concat([records["file"].value_counts(), activity["file"].value_counts()])
    assert (supplied["rows"].astype(int) == supplied["file"].map(rows).fillna(0)).all()
    # the services ran all the same: Eastmere adult episodes open in those quarters are in truth
    adult = _truth(folder, "adult_episodes.csv")
    adult = adult[adult["lea"] == "992"]
    for end in EASTMERE_NO_ADULT:
        start = (pd.Timestamp(end) - pd.offsets.QuarterBegin(startingMonth=1)).strftime("%Y-%m-%d")
        open_then = adult[(adult["start_day"] <= end) & (adult["end_day"] >= start)]
        assert len(open_then) > 100, end
    # Northbrook sent them every quarter
    for end in QUARTER_ENDS:
        assert len(list((incoming / "991_northbrook" / end).glob("adult_*.csv"))) == 8, end


def test_population_files_cover_every_mid_year_the_periods_need(partnership):
    folder, _ = partnership
    files = sorted(p.name for p in (folder / "incoming" / "reference" / "population").iterdir())
    assert files == [f"population_mid_{y}.csv" for y in range(2020, 2026)]
    totals = {}
    for year in range(2020, 2026):
        frame = pd.read_csv(folder / "incoming" / "reference" / "population" / f"population_mid_{year}.csv")
        totals[year] = frame[f"population_{year}"].sum()
    assert all(100_000 < n < 110_000 for n in totals.values()), totals


def test_truth_neglect_covers_every_quarter_from_the_first_census_year(partnership):
    folder, _ = partnership
    neglect = pd.read_csv(folder / "truth" / "neglect_by_quarter.csv", usecols=["quarter_end"])
    expected = [d.strftime("%Y-%m-%d") for d in pd.date_range("2020-06-30", "2026-03-31", freq="QE")]
    counts = neglect["quarter_end"].value_counts()
    assert sorted(counts.index) == expected
    assert np.ptp(counts.to_numpy()) < 0.15 * counts.mean()  # a steady state, not a burn-in ramp


def test_the_history_and_the_missing_extracts_follow_the_configuration(tmp_path):
    from sources.synthetic.config import GeneratorConfig
    from sources.synthetic.generate import generate_partnership
    cfg = GeneratorConfig(children=3_000, seed=5, simulation_start="2019-01-01", first_census_year=2022,
                          adult_services_first_quarter_end={"991": "2023-12-31"})
    generate_partnership(cfg, tmp_path)
    incoming = tmp_path / "incoming"
    census = sorted(p.relative_to(incoming).as_posix() for p in incoming.glob("*/*/cin_census_*.xml"))
    assert census == [f"{a}/{y}-03-31/cin_census_{y}.xml" for a in ("991_northbrook", "992_eastmere") for y in range(2022, 2027)]
    supplied = _truth(tmp_path, "extracts_supplied.csv")
    no_dsa = supplied[supplied["reason"].str.contains("data-sharing agreement")]
    assert set(no_dsa["file"]) == {f"991_northbrook/{end}/adult_{s}_{k}.csv" for end in ("2023-06-30", "2023-09-30")
                                   for s in ADULT_SERVICES for k in ("episodes", "household_children")}
    assert not any((incoming / f).exists() for f in no_dsa["file"])
    # in a partnership this small a service may have no client in a quarter: no file, said so
    no_return = supplied["reason"].str.contains("no service-activity return before")  # Eastmere's, from 2025-06-30
    assert set(supplied.loc[no_return, "file"]) == {f"992_eastmere/{end}/service_activity.csv"
                                                    for end in EASTMERE_NO_SERVICE_ACTIVITY}
    empty = supplied[(supplied["supplied"] == "False") & ~supplied.index.isin(no_dsa.index) & ~no_return]
    assert (empty["reason"] == "no rows for the period (no file written)").all()
    assert not any((incoming / f).exists() for f in empty["file"])
    on_disk = {p.relative_to(incoming).as_posix() for p in incoming.glob("99[12]_*/*/*")}
    assert set(supplied.loc[supplied["supplied"] == "True", "file"]) == on_disk
    assert any(f.startswith("991_northbrook/2023-12-31/adult_") for f in on_disk)
    populations = sorted(p.name for p in (incoming / "reference" / "population").iterdir())
    assert populations == [f"population_mid_{y}.csv" for y in range(2021, 2026)]


def test_a_census_year_before_the_simulation_starts_is_refused(tmp_path):
    from sources.synthetic.config import GeneratorConfig
    from sources.synthetic.generate import generate_partnership
    with pytest.raises(ValueError, match=r"simulation_start 2018-04-01 is after the start of the first census year \(2017-04-01\)"):
        generate_partnership(GeneratorConfig(children=3_000, first_census_year=2018), tmp_path)
    assert not (tmp_path / "incoming").exists()
