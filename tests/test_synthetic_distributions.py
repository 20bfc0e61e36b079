"""The default partnership looks like an English partnership (DfE published ranges)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from lxml import etree

from synthetic_fixtures import read_extract


def _population(folder, year=2025) -> int:
    frame = pd.read_csv(folder / "incoming" / "reference" / "population" / f"population_mid_{year}.csv")
    return int(frame[f"population_{year}"].sum())


def test_default_size_is_two_authorities_of_about_60k_and_45k_children(partnership):
    folder, _ = partnership
    frame = pd.read_csv(folder / "incoming" / "reference" / "population" / "population_mid_2024.csv")
    by_la = frame.groupby("LAD24NM")["population_2024"].sum()
    assert abs(by_la["Northbrook"] - 60_000) < 1_000 and abs(by_la["Eastmere"] - 45_000) < 1_000


def test_cin_and_cp_rates_from_the_latest_census_are_in_published_ranges(partnership):
    folder, _ = partnership
    children_in_need = on_plan = 0
    initial = []
    for path in sorted((folder / "incoming").glob("*/*/cin_census_2026.xml")):
        for _, child in etree.iterparse(str(path), tag="Child"):
            details = child.findall("CINdetails")
            if any(d.find("CINclosureDate") is None for d in details):
                children_in_need += 1
            plans = [p for d in details for p in d.findall("ChildProtectionPlans")]
            if any(p.find("CPPendDate") is None for p in plans):
                on_plan += 1
            initial += [p.findtext("InitialCategoryOfAbuse") for p in plans if p.findtext("CPPstartDate") >= "2025-04-01"]
            child.clear()
    children = _population(folder)
    assert 250 <= children_in_need / children * 1e4 <= 450
    assert 25 <= on_plan / children * 1e4 <= 60
    assert 0.40 <= np.mean(np.array(initial) == "NEG") <= 0.60


def test_true_neglect_prevalence_and_hidden_neglect(partnership):
    folder, _ = partnership
    truth = folder / "truth"
    neglected = pd.read_csv(truth / "neglect_by_quarter.csv", dtype={"person_id": int})
    last = neglected[neglected["quarter_end"] == "2026-03-31"]
    children = pd.read_csv(truth / "persons.csv", usecols=["role", "dob"])
    dob = pd.to_datetime(children.loc[children["role"] == "child", "dob"])
    alive = ((dob <= "2026-03-31") & (dob > "2008-03-31")).sum()
    prevalence = len(last) / alive
    assert 0.08 <= prevalence <= 0.12
    # some neglected children are on plans recorded under another category
    plans = pd.read_csv(truth / "cp_plans.csv")
    open_other = plans[(plans["start_day"] <= "2026-03-31") & ((plans["end_day"] > "2026-03-31"))
                       & ~plans["initial_category"].isin(["NEG", "MUL"]) & ~plans["latest_category"].isin(["NEG", "MUL"])]
    assert open_other["person_id"].isin(last["person_id"]).sum() >= 10
    # most neglected children are not on any plan: the gap the product exists to show
    open_any = plans[(plans["start_day"] <= "2026-03-31") & (plans["end_day"] > "2026-03-31")]
    assert open_any["person_id"].isin(last["person_id"]).sum() < 0.25 * len(last)


def test_early_help_is_larger_than_child_protection(partnership):
    folder, _ = partnership
    for lea in ("991", "992"):
        quarter = next((folder / "incoming").glob(f"{lea}_*")) / "2026-03-31"
        eh = read_extract(quarter / "early_help_episodes.csv")
        cp = read_extract(next(quarter.glob("annex_a_list_7_child_protection.*")))
        open_eh = eh.loc[eh["Episode End Date"] == "", "EH ID"].nunique()
        open_cp = cp.loc[cp["Child Protection Plan End Date"] == "", "Child Unique ID"].nunique()
        assert open_eh > 2 * open_cp, lea


def test_adult_services_record_children_for_only_part_of_their_clients(partnership):
    folder, _ = partnership
    quarter = next((folder / "incoming").glob("991_*")) / "2026-03-31"
    for service in ("mental_health", "substance_misuse", "domestic_abuse", "learning_disability"):
        episodes = read_extract(quarter / f"adult_{service}_episodes.csv")
        children = read_extract(quarter / f"adult_{service}_household_children.csv")
        with_children = episodes[episodes["Parental Responsibility"] == "Y"]["Episode ID"].nunique()
        listed = children["Episode ID"].nunique()
        assert 0 < listed < with_children, service
        assert set(episodes["Child Safeguarding Concern Raised"]) >= {"Y", "N"}
