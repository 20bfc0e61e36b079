"""The GCP2 rescoring the synthetic truth implies, computed independently of the mart's SQL (issue 21).

Starts from ``truth/gcp2_assessments.csv`` (every GCP2 row written, with the true person, date, service, true
scores and defects), keeps what a correct load keeps -- an out-of-range row is rejected, so is a duplicate copy; a
domain left blank was not scored -- and applies the definitions of ``models/marts/gcp2.py`` in pandas with the true
person instead of the linked one: per quarter end, area (authority, or partnership with every assessment) and
service (each, and all), children with assessments on two or more dates up to the quarter end, the latest in the
12 months to it, and the change between the first and the latest score of each domain ('any domain': the highest
of the four, over assessments that scored all four).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DOMAINS = {"gcp2_physical_care": "physical care", "gcp2_safety": "safety", "gcp2_love_and_care": "love and care",
           "gcp2_stimulation": "stimulation"}


def recorded_assessments(truth_dir: Path) -> pd.DataFrame:
    """(lea, person_id, service, day, domain, score, neglected): the scores a correct load keeps, long."""
    rows = pd.read_csv(truth_dir / "gcp2_assessments.csv", dtype={"lea": str}, keep_default_na=False)
    rows = rows[~rows["defect"].isin(["score_out_of_range", "duplicate_row"])].copy()
    rows["day"] = pd.to_datetime(rows["assessment_date"])
    long = []
    for column, domain in DOMAINS.items():
        scored = rows[rows[f"written_{column}"].astype(str) != ""]
        long.append(scored.assign(domain=domain, score=scored[column]))
    whole = rows[np.logical_and.reduce([rows[f"written_{c}"].astype(str) != "" for c in DOMAINS])]
    long.append(whole.assign(domain="any domain", score=whole[list(DOMAINS)].max(axis=1)))
    out = pd.concat(long, ignore_index=True)
    return out[["lea", "person_id", "service", "day", "domain", "score", "neglected"]]


def progress(assessed: pd.DataFrame, quarter_end: str) -> pd.DataFrame:
    """Per (la_code, service, domain): children, improved, unchanged, worse at ``quarter_end``."""
    end = pd.Timestamp(quarter_end)
    upto = assessed[assessed["day"] <= end]
    scopes = [upto.assign(la_code=upto["lea"]), upto.assign(la_code="partnership")]
    scoped = pd.concat(scopes, ignore_index=True)
    scoped = pd.concat([scoped, scoped.assign(service="all")], ignore_index=True)
    scoped = scoped.drop_duplicates(["la_code", "service", "domain", "person_id", "day", "score"])
    keys = ["la_code", "service", "domain", "person_id"]
    ordered = scoped.sort_values(keys + ["day", "score"], kind="stable")
    grouped = ordered.groupby(keys)
    per_child = pd.DataFrame({"first": grouped["score"].first(), "latest": grouped["score"].last(),
                              "dates": grouped["day"].nunique(), "last_day": grouped["day"].max()}).reset_index()
    per_child = per_child[(per_child["dates"] >= 2) & (per_child["last_day"] > end - pd.DateOffset(years=1))]
    per_child["change"] = np.sign(per_child["latest"] - per_child["first"])
    counts = per_child.groupby(["la_code", "service", "domain"]).agg(
        children=("change", "size"), improved=("change", lambda s: int((s < 0).sum())),
        unchanged=("change", lambda s: int((s == 0).sum())), worse=("change", lambda s: int((s > 0).sum())))
    return counts.reset_index()


def latent_direction(assessed: pd.DataFrame, quarter_end: str) -> pd.DataFrame:
    """For context: children rescored in any service ('any domain', partnership), by whether they were neglected
    (latent) at their first and latest assessment, and the share whose highest score fell."""
    end = pd.Timestamp(quarter_end)
    a = assessed[(assessed["domain"] == "any domain") & (assessed["day"] <= end)].sort_values(
        ["person_id", "day", "score"], kind="stable")
    g = a.groupby("person_id")
    per = pd.DataFrame({"first": g["score"].first(), "latest": g["score"].last(), "dates": g["day"].nunique(),
                        "neglected_first": g["neglected"].first(), "neglected_latest": g["neglected"].last(),
                        "last_day": g["day"].max()})
    per = per[(per["dates"] >= 2) & (per["last_day"] > end - pd.DateOffset(years=1))]
    per["improved"], per["worse"] = per["latest"] < per["first"], per["latest"] > per["first"]
    return per.groupby(["neglected_first", "neglected_latest"]).agg(
        children=("improved", "size"), improved=("improved", "mean"), worse=("worse", "mean")).reset_index()
