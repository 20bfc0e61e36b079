"""The synthetic partnership's published comparators, written as DfE would publish them.

``write_published`` writes, under ``incoming/reference/``, the four DfE *Children in need* tables the
benchmarks use, in the explore-education-statistics CSV layout that ``sources/ees.py`` reads
(``c3_factors_identified_at_end_of_assessment_synthetic.csv``, ``d5_cpps_at31march_by_duration_synthetic.csv``,
``d3_cpps_subsequent_plan_synthetic.csv``, ``c1_children_in_need_referrals_and_rereferrals_synthetic.csv``),
``statistical_neighbours_synthetic.csv`` in the layout of DfE's groupings, and
``ons_mid-year_population_estimates_synthetic.csv`` (children aged 0-17 per area, the EES layout DfE publishes the
ONS estimates in). They replace the shipped real files for a synthetic run (a real authority gets the real ones by its LA code; the synthetic LA codes 991 and
992 are not in them).

What is in them, for every census year of the simulation:

* each synthetic authority's own figures, counted from the simulation as DfE counts the census: assessments
  completed in the year with any factor / with factor 16A (C3); children on a CP plan at 31 March and those
  whose plan had lasted 2 years or more (D5); plans starting in the year and those that were a second or
  subsequent plan (D3); referrals in the year and those within 12 months of the child's previous referral
  (C1). Counts 1-5 are suppressed (``c``) as DfE does;
* ten invented neighbours per authority (LA codes 960-979, names "Synthetic neighbour 1" ...): each
  neighbour's denominator is the authority's times a size factor and its rate the authority's times a
  factor drawn around 1 (sd 0.25 on the log scale), so the partnership sits inside its neighbours' range;
* a Regional and a National row: the rounded (to 10) totals of the authorities and their neighbours (the
  synthetic "country" is the partnership and its invented neighbours);
* the population of children aged 0-17 at mid-(Y-1) for each census year Y (DfE's rates for the year to 31 March Y
  divide by it): each authority's simulated children living there on 30 June, each neighbour's the authority's
  times its size factor (so its rate per 10,000 is the authority's times its rate factor), and the exact (not
  rounded) Regional and National totals, as ONS publishes them.

The draws use their own random generator seeded from the configuration's seed, so the files are the same
for the same seed and no other output of the generator changes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .common import write_csv

REGION = ("E12000099", "Synthetic region")
GEO = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name", "region_code",
       "region_name", "old_la_code", "new_la_code", "la_name", "category"]
# file name, DfE category, (denominator column, numerator column, percent column or None)
TABLES = {
    "c3": ("c3_factors_identified_at_end_of_assessment_synthetic.csv", "Factors identified at the end of assessment",
           ("Episodes_with_assessment_factor", "Neglect", None)),
    "d5": ("d5_cpps_at31march_by_duration_synthetic.csv", "Child Protection Plans by length of time",
           ("CPP_At31", "2_years_or_more", "2_years_or_more_percent")),
    "d3": ("d3_cpps_subsequent_plan_synthetic.csv", "Child Protection Plans which are a second or subsequent plan",
           ("CPP_start", "CPP_subsequent", "CPP_subsequent_percent")),
    "c1": ("c1_children_in_need_referrals_and_rereferrals_synthetic.csv", "Referrals and Re-referrals",
           ("referral_count", "rereferral_count", "rereferral_percent")),
}
CLOSENESS = ["Very Close"] * 4 + ["Close"] * 4 + ["Somewhat close"] * 2


def authority_counts(sim, lea: str, start: int, ref: int) -> dict[str, tuple[int, int]]:
    """{table: (denominator, numerator)} of one authority for the census year [start, ref]."""
    ep = sim.episodes[sim.episodes["lea"] == lea]
    assessed = sim.assessments[sim.assessments["episode_id"].isin(ep["episode_id"])
                               & (sim.assessments["authorised_day"] >= start)
                               & (sim.assessments["authorised_day"] <= ref)]
    factors = assessed["factors"].fillna("")
    with_any = int((factors != "").sum())
    neglect = int(factors.str.split(",").map(lambda f: "16A" in f).sum())
    cp = sim.cp_plans[sim.cp_plans["lea"] == lea]
    open_cp = cp[(cp["start_day"] <= ref) & (cp["end_day"] >= ref)]
    started = cp[(cp["start_day"] >= start) & (cp["start_day"] <= ref)]
    referrals = sim.episodes.sort_values(["person_id", "referral_day"], kind="stable")
    previous = referrals.groupby("person_id")["referral_day"].shift()
    in_year = (referrals["lea"] == lea) & (referrals["referral_day"] >= start) & (referrals["referral_day"] <= ref)
    again = in_year & (referrals["referral_day"] - previous <= 365)
    return {"c3": (with_any, neglect),
            "d5": (int(len(open_cp)), int((open_cp["start_day"] <= ref - 730).sum())),
            "d3": (int(len(started)), int((started["previous_plans"] > 0).sum())),
            "c1": (int(in_year.sum()), int(again.sum()))}


def _cell(count: int) -> str:
    return "c" if 1 <= count <= 5 else str(count)


def _percent(num: int, den: int) -> str:
    if den == 0 or 1 <= num <= 5 or 1 <= den <= 5:
        return "c" if den else "z"
    return f"{round(100 * num / den, 1):g}"


def _neighbours(cfg) -> pd.DataFrame:
    """Ten invented neighbours per authority: code, name, the authority they neighbour, size and rate factors."""
    rng = np.random.default_rng([int(cfg.seed), 20])  # its own stream: the generator's other draws are untouched
    rows = []
    for i, la in enumerate(cfg.authorities):
        for k in range(10):
            rows.append({"lea": str(960 + 10 * i + k), "name": f"Synthetic neighbour {10 * i + k + 1}",
                         "of": la.lea, "size": float(rng.uniform(0.6, 1.6)), "rate": float(np.exp(rng.normal(0, 0.25)))})
    return pd.DataFrame(rows)


def children_by_authority(people, when: np.datetime64) -> dict[str, int]:
    """Children aged 0-17 living in each authority (DfE LA number) on ``when``."""
    from ..population import age_on

    persons = people.persons[people.persons["role"] == "child"]
    dob = persons["dob"].to_numpy().astype("datetime64[D]")
    keep = (dob <= when) & (age_on(dob, when) < 18)
    rows = people.address_index(persons["household_id"].to_numpy()[keep], np.full(int(keep.sum()), when))
    return pd.Series(people.addresses["lea"].to_numpy()[rows]).value_counts().to_dict()


def _population_rows(cfg, people, years) -> list[list[str]]:
    neighbours = _neighbours(cfg)
    age_group = "Children aged 0 to 17 years"
    out = []
    for year in sorted({int(y) - 1 for y, _, _ in years}, reverse=True):
        own = children_by_authority(people, np.datetime64(f"{year}-06-30"))
        areas = []
        for la in cfg.authorities:
            areas.append((la.lea, la.lad_code, la.name, int(own.get(la.lea, 0))))
            for nb in neighbours[neighbours["of"] == la.lea].itertuples():
                areas.append((nb.lea, f"E06000{nb.lea}", nb.name, int(round(own.get(la.lea, 0) * nb.size))))
        total = str(sum(a[3] for a in areas))
        for level, region in (("National", ("", "")), ("Regional", REGION)):
            out.append([str(year), "Reporting year", level, "E92000001", "England", *region, "", "", "", age_group, total])
        for lea, lad, name, count in areas:
            out.append([str(year), "Reporting year", "Local authority", "E92000001", "England", *REGION, lea, lad, name,
                        age_group, str(count)])
    return out


def _rows(cfg, sim, years) -> dict[str, list[list[str]]]:
    neighbours = _neighbours(cfg)
    out = {t: [] for t in TABLES}
    for year, start, ref in sorted(years, reverse=True):
        areas = []  # (lea, lad code, name, {table: (den, num)})
        for la in cfg.authorities:
            own = authority_counts(sim, la.lea, int(start), int(ref))
            areas.append((la.lea, la.lad_code, la.name, own))
            for nb in neighbours[neighbours["of"] == la.lea].itertuples():
                counts = {}
                for t, (den, num) in own.items():
                    d = int(round(den * nb.size))
                    counts[t] = (d, min(d, int(round(num * nb.size * nb.rate))))
                areas.append((nb.lea, f"E06000{nb.lea}", nb.name, counts))
        for t in TABLES:
            den, num = (sum(a[3][t][k] for a in areas) for k in (0, 1))
            rounded = (int(round(den, -1)), int(round(num, -1)))
            for level, region in (("National", ("", "")), ("Regional", REGION)):
                out[t].append([str(year), "Reporting year", level, "E92000001", "England", *region, "", "", "",
                               TABLES[t][1], *_values(t, *rounded, suppress=False)])
            for lea, lad, name, counts in areas:
                out[t].append([str(year), "Reporting year", "Local authority", "E92000001", "England", *REGION, lea,
                               lad, name, TABLES[t][1], *_values(t, *counts[t])])
    return out


def _values(table: str, den: int, num: int, suppress: bool = True) -> list[str]:
    cell = _cell if suppress else str
    values = [cell(den), cell(num)]
    if TABLES[table][2][2]:
        values.append(_percent(num, den) if suppress else f"{round(100 * num / den, 1):g}" if den else "z")
    return values


def write_published(cfg, sim, years, incoming: Path, people=None) -> None:
    """The synthetic comparators, neighbours and (given ``people``) population under ``incoming/reference/``
    (see the module)."""
    for t, rows in _rows(cfg, sim, years).items():
        name, _, columns = TABLES[t]
        header = GEO + [c for c in columns if c]
        write_csv(pd.DataFrame(rows, columns=header), incoming / "reference" / name, "utf-8")
    neighbours = _neighbours(cfg)
    header = ["LA num", "LA Name", "LA number", "GOInd", "GOReg"]
    for k in range(1, 11):
        header += [f"SN{k}", "SNP"]
    rows = []
    for la in cfg.authorities:
        near = neighbours[neighbours["of"] == la.lea].assign(distance=lambda f: np.abs(np.log(f["rate"])))
        row = [la.lea, la.name, la.lea, "99", REGION[1]]
        for (code, close) in zip(near.sort_values("distance", kind="stable")["lea"], CLOSENESS):
            row += [code, close]
        rows.append(row)
    frame = pd.DataFrame(rows, columns=range(len(header)))
    frame.columns = header
    write_csv(frame, incoming / "reference" / "statistical_neighbours_synthetic.csv", "utf-8")
    if people is not None:
        frame = pd.DataFrame(_population_rows(cfg, people, years), columns=GEO[:-1] + ["age_group", "population_estimate"])
        write_csv(frame, incoming / "reference" / "ons_mid-year_population_estimates_synthetic.csv", "utf-8")
