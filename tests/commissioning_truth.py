"""The commissioning view's figures computed from the synthetic partnership's ground truth (``truth/``), in pandas,
without reading the warehouse: where each child really lived on a quarter end, who was really receiving a
service, who was really neglected, and the projection the truth's own rates imply.

* :func:`ward_on` -- each person's ward and authority (LEA) on a day, from ``addresses.csv`` (the household's
  address history, ``to_date`` exclusive) and ``persons.csv``;
* :func:`identified_by_ward` -- children with identified neglect (the domain's tiers 1-4, 12 months, per authority:
  :func:`marts_truth.truth_tiers`) by the ward they really lived in on the quarter end, classified as the marts do
  ('Outside the authority' for a ward of another authority);
* :func:`true_need_by_ward` -- children really neglected at a quarter end in the 12 months to the quarter end
  (``neglect_by_quarter.csv``: the four quarter ends), by the authority and ward they lived in on the quarter end:
  the need the estimate is after;
* :func:`services_on` -- children really in early help, in need (CP included) and on a CP plan on a day, per
  authority (``early_help_episodes.csv``, ``cin_episodes.csv``, ``cp_plans.csv``);
* :func:`truth_projection` -- the truth's identified children by age band (true dates of birth) over the ONS
  mid-year population file, times the projection files' populations, as :mod:`models.marts.commissioning` does.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from marts_truth import truth_tiers

BANDS = ((0, 4, "0-4"), (5, 9, "5-9"), (10, 15, "10-15"), (16, 17, "16-17"))


def age_band(age: np.ndarray) -> np.ndarray:
    age = np.minimum(np.asarray(age), 17)
    return np.select([age < 5, age < 10, age < 16], ["0-4", "5-9", "10-15"], "16-17")


def ward_on(truth_dir: Path, day: str) -> pd.DataFrame:
    """person_id -> ward_code and lea of the address on ``day``."""
    persons = pd.read_csv(truth_dir / "persons.csv", usecols=["person_id", "household_id", "dob"], parse_dates=["dob"])
    addresses = pd.read_csv(truth_dir / "addresses.csv", dtype={"lea": "string"}, parse_dates=["from_date", "to_date"])
    when = pd.Timestamp(day)
    current = addresses[(addresses["from_date"] <= when) & (addresses["to_date"].isna() | (addresses["to_date"] > when))]
    current = current.drop_duplicates("household_id", keep="last")
    out = persons.merge(current[["household_id", "ward_code", "lea"]], on="household_id", how="left")
    return out.set_index("person_id")[["ward_code", "lea", "dob"]]


def identified_by_ward(truth_dir: Path, quarter_end: str, visible_from: str, places: pd.DataFrame) -> pd.DataFrame:
    """la_code, ward (as the marts classify it), children: identified neglect (tiers 1-4, 12 months)."""
    tiers = truth_tiers(truth_dir, quarter_end, visible_from)
    tiers = tiers[(tiers["measure"] == "12_month") & tiers["tier"].between(1, 4) & (tiers["la_code"] != "partnership")]
    where = places.reindex(tiers["person_id"])
    ward = np.where(where["ward_code"].isna(), "Not known",
                    np.where(where["lea"].to_numpy() != tiers["la_code"].to_numpy(), "Outside the authority",
                             where["ward_code"]))
    return tiers.assign(ward=ward).groupby(["la_code", "ward"]).size().rename("children").reset_index()


def true_need_by_ward(truth_dir: Path, quarter_end: str, places: pd.DataFrame) -> pd.DataFrame:
    """la_code (the authority the child lived in on the quarter end), ward_code, children truly neglected at one of
    the four quarter ends in the 12 months to ``quarter_end``."""
    neglect = pd.read_csv(truth_dir / "neglect_by_quarter.csv", parse_dates=["quarter_end"])
    end = pd.Timestamp(quarter_end)
    window = neglect[(neglect["quarter_end"] > end - pd.DateOffset(years=1)) & (neglect["quarter_end"] <= end)]
    children = pd.Index(window["person_id"].unique())
    where = places.reindex(children)
    frame = pd.DataFrame({"la_code": where["lea"].to_numpy(), "ward_code": where["ward_code"].to_numpy()})
    return frame.groupby(["la_code", "ward_code"]).size().rename("true_need").reset_index()


def services_on(truth_dir: Path, day: str) -> pd.DataFrame:
    """la_code, service (early_help / child_in_need / cp_plan / any), children receiving it on ``day``."""
    when = pd.Timestamp(day)
    rows = []
    for file, start, end, service in (("early_help_episodes.csv", "start_day", "end_day", "early_help"),
                                      ("cin_episodes.csv", "referral_day", "closure_day", "child_in_need"),
                                      ("cp_plans.csv", "start_day", "end_day", "cp_plan")):
        frame = pd.read_csv(truth_dir / file, usecols=["person_id", "lea", start, end], dtype={"lea": "string"},
                            parse_dates=[start, end])
        open_ = frame[(frame[start] <= when) & (frame[end].isna() | (frame[end] >= when))]
        rows.append(open_[["person_id", "lea"]].drop_duplicates().assign(service=service))
    both = pd.concat(rows, ignore_index=True)
    cp = both[both["service"] == "cp_plan"].assign(service="child_in_need")  # CP plans are children in need too
    both = pd.concat([both, cp, both.assign(service="any")], ignore_index=True).drop_duplicates()
    return both.groupby(["lea", "service"])["person_id"].nunique().rename("children").reset_index().rename(
        columns={"lea": "la_code"})


def truth_projection(folder: Path, quarter_end: str, visible_from: str, mid_year: int,
                     years: list[int]) -> pd.DataFrame:
    """la_code, year, projected children: the truth's identified children (tiers 1-4, 12 months, true age on the
    quarter end) by age band over the mid-``mid_year`` population file, times the persons projection file."""
    truth = folder / "truth"
    tiers = truth_tiers(truth, quarter_end, visible_from)
    tiers = tiers[(tiers["measure"] == "12_month") & tiers["tier"].between(1, 4) & (tiers["la_code"] != "partnership")]
    dob = pd.read_csv(truth / "persons.csv", usecols=["person_id", "dob"], parse_dates=["dob"]).set_index("person_id")["dob"]
    end = pd.Timestamp(quarter_end)
    born = dob.reindex(tiers["person_id"])
    age = _ages(born, end)
    counts = tiers.assign(band=age_band(age)).groupby(["la_code", "band"]).size()
    reference = folder / "incoming" / "reference"
    codes = pd.read_csv(reference / "la_codes.csv", dtype=str).set_index("new_la_code")["old_la_code"]
    population = pd.read_csv(reference / "population" / f"population_mid_{mid_year}.csv")
    population = population.assign(la_code=population.filter(regex="^LAD").iloc[:, 0].map(codes),
                                   band=age_band(population["age"]))
    pops = population.groupby(["la_code", "band"])[f"population_{mid_year}"].sum()
    snpp_file = next((reference / "population_projections").glob("*persons.csv"))
    snpp = pd.read_csv(snpp_file)
    snpp = snpp[snpp["AGE_GROUP"].astype(str).str.fullmatch(r"\d+")].copy()
    snpp["band"] = age_band(snpp["AGE_GROUP"].astype(int))
    snpp["la_code"] = snpp["AREA_CODE"].map(codes)
    rows = []
    for la in sorted(counts.index.get_level_values(0).unique()):
        for year in years:
            future = snpp[snpp["la_code"] == la].groupby("band")[str(year)].sum()
            value = sum(counts.get((la, b), 0) / pops[(la, b)] * future[b] for _, _, b in BANDS)
            rows.append((la, year, value))
    return pd.DataFrame(rows, columns=["la_code", "year", "projected"])


def _ages(born: pd.Series, when: pd.Timestamp) -> np.ndarray:
    before = (born.dt.month > when.month) | ((born.dt.month == when.month) & (born.dt.day > when.day))
    return (when.year - born.dt.year - before.astype(int)).to_numpy()
