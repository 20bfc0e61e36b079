"""The journeys the synthetic truth implies, computed independently of the marts' SQL (issue 21).

The product measures *recorded* journeys: a child's tier on each quarter end from the evidence services
recorded. So the truth side starts from :func:`marts_truth.truth_tiers` (the domain's tier rules applied in
pandas to ``truth/recorded_evidence.csv`` with the true person and dates, ``point`` measure) on every quarter
end, and applies the journey definitions of ``models/marts/journeys.py`` written out again in pandas:

* transitions: tier on the previous quarter end x tier on this one ('none'; 'moved away/aged out' when the
  child has no tier here, and is 18 by the quarter end or has a tier in another authority on it);
* spells: runs of quarter ends in tiers 1-4 where no two consecutive quarter ends lack them;
* cohorts: children whose first spell starts on a quarter end, their outcome 4 and 8 quarters on.

:func:`latent_spells` gives, for context only, the spells of *true* neglect (``truth/neglect_by_quarter.csv``),
which no service sees in full.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from marts_truth import truth_tiers


def quarter_number(days) -> np.ndarray:
    days = pd.to_datetime(pd.Series(days))
    return (4 * days.dt.year + days.dt.quarter).to_numpy()


QUARTERLY_SOURCES = ("early_help", "adult_services")  # sources only in the quarterly extracts, not the census


def point_tiers(truth_dir: Path, quarter_ends: list[str], visible_from: str, evidence, dob,
                extracts_from: str | None = None) -> pd.DataFrame:
    """(period_end, qn, la_code, person_id, tier) for every quarter end, measure 'point'.

    ``visible_from``: see :func:`marts_truth.truth_tiers` (assessments before the first census year are in no
    extract). ``extracts_from``: the first day the quarterly extracts cover; early-help and adult-services
    evidence that ended before it is in no extract either (an extract lists the episodes open at any time in its
    quarter), so it is left out."""
    if extracts_from is not None:
        gone = evidence["source"].isin(QUARTERLY_SOURCES) & (evidence["end_date"] < pd.Timestamp(extracts_from))
        evidence = evidence[~gone]
    parts = []
    for end in quarter_ends:
        tiers = truth_tiers(truth_dir, end, visible_from, evidence, dob)
        tiers = tiers[tiers["measure"] == "point"].drop(columns="measure").assign(period_end=pd.Timestamp(end))
        parts.append(tiers)
    out = pd.concat(parts, ignore_index=True)
    out["qn"] = quarter_number(out["period_end"])
    return out


def transitions(tiers: pd.DataFrame, quarter_end: str, dob: pd.Series) -> pd.DataFrame:
    """Children per (la_code, from_state, to_state) between the previous quarter end and ``quarter_end``."""
    end = pd.Timestamp(quarter_end)
    qn = quarter_number([end])[0]
    now = tiers[tiers["qn"] == qn]
    before = tiers[tiers["qn"] == qn - 1]
    pairs = now.merge(before, on=["la_code", "person_id"], how="outer", suffixes=("_to", "_from"))
    aged = (dob.reindex(pairs["person_id"]) + pd.DateOffset(years=18) <= end).to_numpy()
    authorities = now[now["la_code"] != "partnership"]
    elsewhere = pairs[["la_code", "person_id"]].merge(authorities[["la_code", "person_id"]], on="person_id",
                                                       suffixes=("", "_other"))
    elsewhere = elsewhere[(elsewhere["la_code"] != elsewhere["la_code_other"]) & (elsewhere["la_code"] != "partnership")]
    moved = pd.MultiIndex.from_frame(pairs[["la_code", "person_id"]]).isin(
        pd.MultiIndex.from_frame(elsewhere[["la_code", "person_id"]]))
    pairs["from_state"] = np.where(pairs["tier_from"].isna(), "none",
                                   "tier " + pairs["tier_from"].astype("Int64").astype(str))
    pairs["to_state"] = np.where(pairs["tier_to"].notna(), "tier " + pairs["tier_to"].astype("Int64").astype(str),
                                 np.where(aged | moved, "moved away/aged out", "none"))
    return pairs.groupby(["la_code", "from_state", "to_state"]).size().rename("children").reset_index()


def spells(tiers: pd.DataFrame, as_at: str) -> pd.DataFrame:
    """Spells of identified neglect (tiers 1-4) per (la_code, person_id) as known at ``as_at``."""
    qn_end = quarter_number([pd.Timestamp(as_at)])[0]
    seen = tiers[(tiers["qn"] <= qn_end) & tiers["tier"].between(1, 4)].sort_values(["la_code", "person_id", "qn"])
    gap = seen.groupby(["la_code", "person_id"])["qn"].diff()
    seen = seen.assign(spell_number=(gap.isna() | (gap > 2)).astype(int).groupby([seen["la_code"], seen["person_id"]])
                       .cumsum())
    grouped = seen.groupby(["la_code", "person_id", "spell_number"])
    out = grouped.agg(first_qn=("qn", "min"), last_qn=("qn", "max"), quarters_identified=("qn", "size"),
                      strongest_tier=("tier", "min")).reset_index()
    out["first_tier"] = grouped["tier"].first().to_numpy()
    out["open"] = out["last_qn"] == qn_end
    previous_last = out.groupby(["la_code", "person_id"])["last_qn"].shift()
    out["re_entry_within_12_months"] = (out["first_qn"] - previous_last) <= 4
    out["escalated"] = out["strongest_tier"] < out["first_tier"]
    return out


def cohort_outcomes(tiers: pd.DataFrame, as_at: str, horizon: int, dob: pd.Series) -> pd.DataFrame:
    """Children per (la_code, outcome) of the cohort first identified ``horizon`` quarters before ``as_at``."""
    end = pd.Timestamp(as_at)
    qn_end = quarter_number([end])[0]
    s = spells(tiers, as_at)
    cohort = s[(s["spell_number"] == 1) & (s["first_qn"] == qn_end - horizon)][["la_code", "person_id", "first_tier"]]
    identified = tiers[tiers["tier"].between(1, 4)]
    now = identified[identified["qn"] == qn_end][["la_code", "person_id", "tier"]]
    before = identified[identified["qn"] == qn_end - 1][["la_code", "person_id"]].assign(before=True)
    any_now = tiers[(tiers["qn"] == qn_end) & (tiers["la_code"] != "partnership")][["la_code", "person_id"]]
    c = cohort.merge(now, on=["la_code", "person_id"], how="left").merge(before, on=["la_code", "person_id"], how="left")
    other = c[["la_code", "person_id"]].merge(any_now, on="person_id", suffixes=("", "_o"))
    other = other[(other["la_code"] != other["la_code_o"]) & (other["la_code"] != "partnership")]
    elsewhere = pd.MultiIndex.from_frame(c[["la_code", "person_id"]]).isin(
        pd.MultiIndex.from_frame(other[["la_code", "person_id"]]))
    aged = (dob.reindex(c["person_id"]) + pd.DateOffset(years=18) <= end).to_numpy()
    t, f = c["tier"], c["first_tier"]
    outcome = np.select(
        [aged, t.isna() & elsewhere, t.isna() & c["before"].notna(), t.isna(), (f >= 3) & (t <= 2), t < f, t == f],
        ["moved away/aged out", "moved away/aged out", "no evidence this quarter", "resolved",
         "escalated to a CP plan", "higher tier", "same tier"], "lower tier")
    return c.assign(outcome=outcome).groupby(["la_code", "outcome"]).size().rename("children").reset_index()


def latent_spells(truth_dir: Path, as_at: str) -> pd.DataFrame:
    """Spells of true neglect (the same gap rule) per person, from ``neglect_by_quarter.csv``; context only."""
    truth = pd.read_csv(truth_dir / "neglect_by_quarter.csv", parse_dates=["quarter_end"])
    truth = truth[truth["quarter_end"] <= pd.Timestamp(as_at)]
    tiers = pd.DataFrame({"la_code": "partnership", "person_id": truth["person_id"], "tier": 1,
                          "qn": quarter_number(truth["quarter_end"])})
    return spells(tiers, as_at)
