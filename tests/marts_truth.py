"""Neglect tiers computed from the synthetic partnership's ground truth, independently of the marts' SQL.

:func:`truth_tiers` reads ``truth/recorded_evidence.csv`` (the neglect evidence each service
recorded, with its true dates and the true person) and ``truth/persons.csv`` (true dates of birth)
and applies the domain definition of the tiers in plain pandas, without reading the warehouse:

1. CP plan, category NEG or MUL;  2. CP plan under another category with assessment factor 16A;
3. assessment factor 16A;  4. early help with 16A or a GCP2 domain scored 4+;
5. primary need N1 with no CP plan under another category;  6. a parent known to adult services.

Tiers are decided within each authority (the evidence its services recorded); a child's
partnership tier is the strongest of their authorities' tiers. Evidence is current in a period when
its window contains the quarter end (``point``) or overlaps the 12 months to it (``12_month``);
children count when aged 0-17 on the quarter end (``point``) or not yet 18 at the window's start.

``visible_from``: the CIN census reports an assessment only in the collection year it is
authorised in, so an assessment authorised before the first census year in the extracts cannot be
seen by any pipeline; pass that year's first day to leave such assessments out.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

TRUTH_KINDS = {"eh_gcp2_4plus": "eh_gcp2"}  # truth's kind name -> the marts' name


def read_truth(truth_dir: Path) -> tuple[pd.DataFrame, pd.Series]:
    """(recorded evidence with dates, true date of birth by person_id)."""
    evidence = pd.read_csv(truth_dir / "recorded_evidence.csv", dtype={"lea": "string"},
                           parse_dates=["start_date", "end_date"])
    evidence["kind"] = evidence["kind"].replace(TRUTH_KINDS)
    persons = pd.read_csv(truth_dir / "persons.csv", usecols=["person_id", "dob"], parse_dates=["dob"])
    return evidence, persons.set_index("person_id")["dob"]


def tier_of(kinds: set) -> int | None:
    """The domain's tier rules, written out plainly."""
    if kinds & {"cp_neg", "cp_mul"}:
        return 1
    if "assessment_16A" in kinds and kinds & {"cp_other", "cp_mul"}:
        return 2
    if "assessment_16A" in kinds:
        return 3
    if kinds & {"eh_16A", "eh_gcp2"}:
        return 4
    if "primary_need_N1" in kinds and "cp_other" not in kinds:
        return 5
    if "adult_known" in kinds:
        return 6
    return None


def truth_tiers(truth_dir: Path, quarter_end: str, visible_from: str | None = None,
                evidence: pd.DataFrame | None = None, dob: pd.Series | None = None) -> pd.DataFrame:
    """One row per (measure, la_code, person_id) with the child's true tier (areas: LA numbers and 'partnership')."""
    if evidence is None or dob is None:
        evidence, dob = read_truth(truth_dir)
    end = pd.Timestamp(quarter_end)
    if visible_from is not None:
        hidden = (evidence["kind"] == "assessment_16A") & (evidence["start_date"] < pd.Timestamp(visible_from))
        evidence = evidence[~hidden]
    rows = []
    for measure, start in (("point", end), ("12_month", end - pd.DateOffset(years=1) + pd.Timedelta(days=1))):
        current = evidence[(evidence["start_date"] <= end)
                           & (evidence["end_date"].isna() | (evidence["end_date"] >= start))]
        born = dob.reindex(current["person_id"]).to_numpy()
        eighteenth = (dob + pd.DateOffset(years=18)).reindex(current["person_id"]).to_numpy()
        current = current[(born <= end) & (eighteenth > (end if measure == "point" else start))]
        by_authority = current.groupby(["lea", "person_id"])["kind"].agg(set).map(tier_of).dropna().astype(int)
        by_authority = by_authority.rename("tier").reset_index()
        partnership = by_authority.groupby("person_id")["tier"].min().reset_index().assign(lea="partnership")
        rows.append(pd.concat([by_authority, partnership]).assign(measure=measure))
    return pd.concat(rows, ignore_index=True).rename(columns={"lea": "la_code"})[
        ["measure", "la_code", "person_id", "tier"]]


def tier_set_counts(tiers: pd.DataFrame, tier_sets: dict[str, tuple[int, ...]]) -> pd.DataFrame:
    """Children per (measure, la_code, tier_set) from one row per child and tier."""
    parts = [tiers[tiers["tier"].isin(members)].groupby(["measure", "la_code"]).size().rename("children")
             .reset_index().assign(tier_set=name) for name, members in tier_sets.items()]
    return pd.concat(parts, ignore_index=True)
