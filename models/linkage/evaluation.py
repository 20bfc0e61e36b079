"""Linkage scored against the synthetic partnership's ground truth (``truth/``).

Only possible on synthetic data: ``truth/source_records.csv`` says which true person each
extract line is. Measures (all over loaded records):

* pairwise precision, recall and F1: a pair of records is *predicted* when both have the same
  ``person_key`` and *true* when both are the same person. Reported at two levels:
  ``records`` (every record, so a child listed in twelve quarterly person lists counts twelve
  times) and ``source identities`` (one unit per source, authority, person_key and true person:
  repeated copies collapsed, so the score is about joining sources, the hard part);
* cluster purity (share of records whose cluster's most common true person is theirs) and
  completeness (share of records in their true person's most common cluster);
* false merges of twins (same household, same date of birth) and of other siblings (same household):
  the number of pairs of such children sharing a ``person_key``;
* adult-child links (``family_links``): precision and recall of (adult, child) pairs against the
  household membership, for children listed in the adult's household record.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


# the files of the synthetic partnership's truth/ the evaluation reads (its input version hashes them)
TRUTH_FILES = ("source_records.csv", "persons.csv", "household_members.csv")


def record_truth(truth_dir: Path) -> pd.DataFrame:
    """(source_record_id, person_id) for every extract line, with record ids built as the ingest builds them."""
    truth = pd.read_csv(truth_dir / "source_records.csv", dtype="string", keep_default_na=False)
    sheet = truth["sheet"] if "sheet" in truth else pd.Series("", index=truth.index, dtype="string")
    # a workbook of several lists (Annex A) names the sheet in its record ids: "<file>#List 3 line 12"
    record_id = np.where(truth["source"] == "cin_census", truth["file"] + "#Child[" + truth["line"] + "]",
                         np.where(sheet != "", truth["file"] + "#" + sheet + " line " + truth["line"],
                                  truth["file"] + "#line " + truth["line"]))
    return pd.DataFrame({"source_record_id": record_id, "person_id": truth["person_id"].astype("int64")})


def _pairs(counts: pd.Series) -> int:
    n = counts.to_numpy(dtype=np.int64)
    return int((n * (n - 1) // 2).sum())


def pairwise_scores(key: pd.Series, person: pd.Series) -> dict[str, float]:
    """Pairwise precision, recall and F1 of ``key`` (predicted person) against ``person`` (true)."""
    frame = pd.DataFrame({"key": key.to_numpy(), "person": person.to_numpy()})
    true_positive = _pairs(frame.groupby(["key", "person"]).size())
    predicted = _pairs(frame.groupby("key").size())
    actual = _pairs(frame.groupby("person").size())
    precision = true_positive / predicted if predicted else 1.0
    recall = true_positive / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "true_pairs": actual, "predicted_pairs": predicted}


def purity_completeness(key: pd.Series, person: pd.Series) -> dict[str, float]:
    frame = pd.DataFrame({"key": key.to_numpy(), "person": person.to_numpy()})
    cells = frame.groupby(["key", "person"]).size()
    return {"cluster_purity": float(cells.groupby(level="key").max().sum() / len(frame)),
            "cluster_completeness": float(cells.groupby(level="person").max().sum() / len(frame))}


def household_false_merges(key: pd.Series, person: pd.Series, persons: pd.DataFrame) -> dict[str, int]:
    """Pairs of different true children sharing a key who are twins / other siblings."""
    frame = pd.DataFrame({"key": key.to_numpy(), "person": person.to_numpy()}).drop_duplicates()
    merged = frame[frame.duplicated("key", keep=False)]
    pairs = merged.merge(merged, on="key")
    pairs = pairs[pairs["person_x"] < pairs["person_y"]]
    info = persons.set_index("person_id")[["household_id", "dob"]]
    x, y = info.reindex(pairs["person_x"]).to_numpy(), info.reindex(pairs["person_y"]).to_numpy()
    same_household = x[:, 0] == y[:, 0]
    twins = same_household & (x[:, 1] == y[:, 1])
    return {"merged_person_pairs": int(len(pairs)), "twin_false_merges": int(twins.sum()),
            "sibling_false_merges": int((same_household & ~twins).sum())}


def most_common(frame: pd.DataFrame, by: str, value: str) -> pd.Series:
    """For each ``by``, the ``value`` it has most often (e.g. the true person most of a key's records are)."""
    counts = frame.groupby([by, value]).size().rename("n").reset_index()
    return counts.sort_values("n", ascending=False).drop_duplicates(by).set_index(by)[value]


def evaluate_child_links(person_links: pd.DataFrame, truth: pd.DataFrame, persons: pd.DataFrame) -> list[dict]:
    """Rows of ``quality.linkage_evaluation`` for the child linkage (see module docstring).
    ``truth``: :func:`record_truth`; ``persons``: ``truth/persons.csv`` (person_id, household_id, dob)."""
    children = person_links[person_links["person_key"].str.startswith("C")]
    scored = children.merge(truth, on="source_record_id", how="inner")
    rows = []

    def add(level: str, frame: pd.DataFrame) -> None:
        result = {**pairwise_scores(frame["person_key"], frame["person_id"]),
                  **purity_completeness(frame["person_key"], frame["person_id"]),
                  **household_false_merges(frame["person_key"], frame["person_id"], persons)}
        rows.extend({"scope": "children", "level": level, "measure": k, "value": float(v), "records": len(frame)}
                    for k, v in result.items())

    add("records", scored)
    identities = scored.assign(la_code=scored["source_record_id"].str[:3]) \
        .drop_duplicates(["source", "la_code", "person_key", "person_id"])
    add("source identities", identities)
    return rows


CHILDRENS_SERVICES_SOURCES = ["person_list", "cin_census", "cp_list", "early_help"]


def evaluate_family_links(family_links: pd.DataFrame, person_links: pd.DataFrame,
                          household_adult_records: pd.DataFrame, truth: pd.DataFrame,
                          members: pd.DataFrame) -> list[dict]:
    """Precision and recall of adult-child links by method, against ``household_members.csv``.

    Each key is read as the true person most of its records are. A link is correct when that adult
    and that child are in ``household_members``. Recall (recorded links) is over the true pairs in
    the loaded household-children records: the adult of the episode and the listed child; the
    stricter recall also requires the child's key to be the one holding their children's-services
    records (so a listed child who was not linked to their social-care record is a miss).
    ``household_adult_records``: (source_record_id, adult_record_id) of each household-children record;
    ``truth``: :func:`record_truth`; ``members``: ``truth/household_members.csv``.
    """
    majority = most_common(person_links.merge(truth, on="source_record_id"), "person_key", "person_id")
    true_pairs = set(zip(members["adult_person_id"], members["child_person_id"]))
    rows = []
    for method, links in family_links.groupby("method"):
        pairs = set(zip(links["adult_key"].map(majority), links["child_key"].map(majority)))
        correct = sum(p in true_pairs for p in pairs)
        rows.append({"scope": "adult-child links", "level": method, "measure": "precision",
                     "value": correct / len(pairs) if pairs else float("nan"), "records": len(links)})
    recorded = family_links[family_links["method"] == "recorded in household"]
    listed = household_adult_records.merge(truth, on="source_record_id").rename(columns={"person_id": "child_id"}) \
        .merge(truth.rename(columns={"source_record_id": "adult_record_id", "person_id": "adult_id"}),
               on="adult_record_id")
    wanted = set(zip(listed["adult_id"], listed["child_id"]))
    found = set(zip(recorded["adult_key"].map(majority), recorded["child_key"].map(majority)))
    rows.append({"scope": "adult-child links", "level": "recorded in household", "measure": "recall",
                 "value": len(wanted & found) / len(wanted) if wanted else float("nan"), "records": len(wanted)})

    # stricter: the child must be found under the key that holds their children's-services records
    services = person_links[person_links["source"].isin(CHILDRENS_SERVICES_SOURCES)].merge(truth, on="source_record_id")
    main_key = most_common(services, "person_id", "person_key")
    known = {(a, c) for a, c in wanted if c in main_key.index}
    found_known = set(zip(recorded["adult_key"].map(majority), recorded["child_key"]))
    hits = sum((a, main_key[c]) in found_known for a, c in known)
    rows.append({"scope": "adult-child links", "level": "recorded in household",
                 "measure": "recall, child also known to children's services",
                 "value": hits / len(known) if known else float("nan"), "records": len(known)})
    return rows


def evaluate_linkage(person_links: pd.DataFrame, family_links: pd.DataFrame,
                     household_adult_records: pd.DataFrame, truth_dir: Path) -> pd.DataFrame:
    """``quality.linkage_evaluation``: scope, level, measure, value, records (each truth file read once)."""
    truth = record_truth(truth_dir)
    persons = pd.read_csv(truth_dir / "persons.csv", usecols=["person_id", "household_id", "dob"])
    members = pd.read_csv(truth_dir / "household_members.csv", usecols=["adult_person_id", "child_person_id"])
    rows = evaluate_child_links(person_links, truth, persons)
    rows += evaluate_family_links(family_links, person_links, household_adult_records, truth, members)
    return pd.DataFrame(rows, columns=["scope", "level", "measure", "value", "records"])
