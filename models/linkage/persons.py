"""Person linkage: deterministic groups, Splink scores, clusters, stable keys, for children or adults.

:func:`link_people` returns one row per record with its ``person_key``, ``method`` and
``match_probability``:

* ``method``: how the record joined its person: ``la_child_id``, ``eh_id``, ``client_id``,
  ``nhs_number``, ``upn`` (shared identifier, probability 1), ``probabilistic`` (its group was
  joined to the person by a Splink match; probability of the best such pair) or ``single record``
  (linked to nothing; probability NULL).
* In a cluster of several groups, the *anchor* group keeps its deterministic method: the group with
  the most sources, then the most records, then the lowest group number. The other groups are
  ``probabilistic``.

Thresholds (probabilities, from settings): a pair at or above ``match_threshold`` links; pairs in
``[review_threshold, match_threshold)`` are returned for clerical review and do not link.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .clusters import assign_stable_keys, cluster_groups
from .deterministic import deterministic_groups
from .probabilistic import PROFILE_COLUMNS, group_edges, score_pairs, with_group_pair

EXTRA_PROFILE_COLUMNS = ["surname_parts", "postcode_district"]


@dataclass
class LinkageThresholds:
    """``match``: pairs at or above it link. ``review``: pairs from it up to ``match`` go to clerical
    review. ``upper``: a stricter threshold. The person clusters are also formed at ``review`` (more
    links) and ``upper`` (fewer links) so the marts can show how much an estimate moves with the
    threshold (:attr:`PersonLinkage.sensitivity`)."""

    match: float = 0.95
    review: float = 0.50
    upper: float = 0.99

    @property
    def sensitivity(self) -> tuple[float, float]:
        return (self.review, self.upper)


@dataclass
class PersonLinkage:
    """``links``: the input records with ``det_group``, ``cluster``, ``person_key``, ``method``,
    ``match_probability``. ``review_pairs``: grey-band profile pairs with both sides' identifiers
    and Splink's match weights (identity store side only). ``conflicts``: see
    :class:`.deterministic.DeterministicGroups`. ``identifier_conflicts``: see
    :func:`identifier_conflicts`. ``profiles``/``pairs_scored``: sizes. ``sensitivity``: for each
    threshold in :attr:`LinkageThresholds.sensitivity`, the cluster number of each record (same
    order as ``links``) had that threshold been the match threshold."""

    links: pd.DataFrame
    review_pairs: pd.DataFrame
    conflicts: pd.DataFrame
    identifier_conflicts: dict[str, int]
    profiles: int
    pairs_scored: int
    model_json: dict
    seconds: dict = field(default_factory=dict)
    model_source: str = ""  # which Splink model scored the pairs (trained here, built in, a saved file)
    sensitivity: dict[float, np.ndarray] = field(default_factory=dict)


def profiles_of(records: pd.DataFrame, table_column: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Distinct identities (profiles) of the records and the profile number of each record."""
    columns = [table_column, "det_group", *PROFILE_COLUMNS]
    profile_of_record = records.groupby(columns, dropna=False, sort=False).ngroup().to_numpy()
    first = pd.Series(np.arange(len(records))).groupby(profile_of_record).first().to_numpy()
    profiles = records.iloc[first][columns + EXTRA_PROFILE_COLUMNS].reset_index(drop=True)
    profiles.insert(0, "profile_id", np.arange(len(profiles)))
    return profiles, profile_of_record


def link_people(records: pd.DataFrame, table_column: str, key_prefix: str,
                thresholds: LinkageThresholds = LinkageThresholds(), previous_keys: pd.DataFrame | None = None,
                model_path: Path | None = None, highest_issued: int = 0) -> PersonLinkage:
    """Link ``records`` (children or adults, never both) into people. ``table_column`` names the
    column splitting records into Splink's input tables (e.g. the source family). ``highest_issued``:
    the highest key number ever issued with this prefix (new keys are numbered above it)."""
    seconds = {}
    started = time.monotonic()
    det = deterministic_groups(records)
    records = records.assign(det_group=det.group, det_method=det.method.to_numpy())
    seconds["deterministic"] = time.monotonic() - started

    started = time.monotonic()
    profiles, profile_of_record = profiles_of(records, table_column)
    scored = score_pairs(profiles, thresholds.review, model_path, table_column, key_prefix)
    seconds["splink"] = time.monotonic() - started

    started = time.monotonic()
    pairs = with_group_pair(scored.pairs, profiles["det_group"].to_numpy())
    edges = group_edges(pairs[pairs["never_auto_linked"] == ""])
    matches = edges[edges["match_probability"] >= thresholds.match]
    n_groups = int(records["det_group"].max()) + 1
    group_cluster, refused = cluster_groups(n_groups, matches, group_identifiers(records, matches))
    cluster = group_cluster[records["det_group"].to_numpy()]
    sensitivity = {}
    for threshold in thresholds.sensitivity:
        at = edges[edges["match_probability"] >= threshold]
        sensitivity[threshold] = cluster_groups(n_groups, at, group_identifiers(records, at))[0][
            records["det_group"].to_numpy()]
    links = records.assign(cluster=cluster)
    links = _methods(links, matches)
    links["person_key"] = assign_stable_keys(links["record_id"], cluster, previous_keys, key_prefix, highest_issued)
    refused_pairs = set(zip(matches.loc[refused, "group_l"], matches.loc[refused, "group_r"]))
    review = _review_pairs(pairs, thresholds, profiles, records, profile_of_record, refused_pairs)
    seconds["clusters"] = time.monotonic() - started
    return PersonLinkage(links=links, review_pairs=review, conflicts=det.conflicts,
                         identifier_conflicts=identifier_conflicts(links), profiles=len(profiles),
                         pairs_scored=len(scored.pairs), model_json=scored.model_json, seconds=seconds,
                         model_source=scored.model_source,
                         sensitivity=sensitivity)


def identifier_conflicts(links: pd.DataFrame) -> dict[str, int]:
    """Persons (clusters) holding two different NHS numbers, or two LA child IDs in one authority."""
    nhs = links.dropna(subset=["nhs_std"]).groupby("person_key")["nhs_std"].nunique()
    result = {"persons with two or more NHS numbers": int((nhs > 1).sum())}
    if "la_child_id" in links and links["la_child_id"].notna().any():
        ids = links.dropna(subset=["la_child_id"]).groupby(["person_key", "la_code"])["la_child_id"].nunique()
        result["persons with two LA child IDs in one authority"] = int((ids > 1).sum())
    return result


def group_identifiers(records: pd.DataFrame, edges: pd.DataFrame) -> pd.Series:
    """For each group on an edge: its identifiers as (kind, value) pairs: NHS number, UPN, LA child ID per authority."""
    on_edge = records[records["det_group"].isin(pd.concat([edges["group_l"], edges["group_r"]]))]
    parts = [pd.DataFrame({"det_group": on_edge["det_group"], "kind": "nhs", "value": on_edge["nhs_std"]})]
    if "upn" in on_edge:
        parts.append(pd.DataFrame({"det_group": on_edge["det_group"], "kind": "upn", "value": on_edge["upn"]}))
    if "la_child_id" in on_edge:
        parts.append(pd.DataFrame({"det_group": on_edge["det_group"], "kind": "la:" + on_edge["la_code"].astype("string"),
                                   "value": on_edge["la_child_id"]}))
    long = pd.concat(parts).dropna(subset=["value"]).drop_duplicates(["det_group", "kind"])
    long["pair"] = list(zip(long["kind"], long["value"]))
    return long.groupby("det_group")["pair"].agg(list)


def _methods(links: pd.DataFrame, matches: pd.DataFrame) -> pd.DataFrame:
    """``method`` and ``match_probability`` of each record (see module docstring)."""
    groups = links.groupby("det_group").agg(cluster=("cluster", "first"), sources=("source", "nunique"),
                                            records=("record_id", "size"))
    groups = groups.rename_axis("group").reset_index()
    groups = groups.sort_values(["cluster", "sources", "records", "group"], ascending=[True, False, False, True],
                                kind="stable").set_index("group")
    anchor = groups.index[~groups["cluster"].duplicated()]
    best = pd.concat([matches[["group_l", "match_probability"]].rename(columns={"group_l": "g"}),
                      matches[["group_r", "match_probability"]].rename(columns={"group_r": "g"})])
    best = best.groupby("g")["match_probability"].max()
    is_anchor = links["det_group"].isin(anchor).to_numpy()
    method = links["det_method"].astype("string")
    probability = pd.Series(1.0, index=links.index)
    # joined by a Splink match: every group but the anchor, and an anchor that shares no identifier
    joined = ~is_anchor | method.isna().to_numpy()
    method[joined] = "probabilistic"
    probability[joined] = links.loc[joined, "det_group"].map(best).to_numpy()
    single_cluster = links.groupby("cluster")["record_id"].transform("size") == 1
    method[single_cluster] = "single record"
    return links.assign(method=method, match_probability=probability.where(~single_cluster))


def _review_pairs(pairs: pd.DataFrame, thresholds: LinkageThresholds, profiles: pd.DataFrame,
                  records: pd.DataFrame, profile_of_record: np.ndarray, refused: set) -> pd.DataFrame:
    """Pairs (with :func:`.probabilistic.with_group_pair` columns) for clerical review: the grey band, pairs never linked automatically, and matches refused
    because they would give one person two identifiers; with the identifiers of both sides, one
    example record each, and the Splink explanation (match weight, each comparison's level and
    Bayes factor)."""
    was_refused = pd.Series(list(zip(pairs["group_l"], pairs["group_r"])), index=pairs.index).isin(refused)
    pairs = pairs.assign(never_auto_linked=pairs["never_auto_linked"].mask(
        was_refused & (pairs["never_auto_linked"] == ""), "would give one person two identifiers"))
    grey = pairs[(pairs["match_probability"] >= thresholds.review)
                 & ((pairs["match_probability"] < thresholds.match) | (pairs["never_auto_linked"] != ""))]
    if grey.empty:
        return pd.DataFrame()
    example = pd.Series(records["record_id"].to_numpy()).groupby(profile_of_record).first()
    explain = [c for c in grey.columns if c.startswith(("gamma_", "bf_", "mw_"))]
    out = grey[["profile_id_l", "profile_id_r", "match_weight", "match_probability", "never_auto_linked", *explain]].copy()
    for side in ("l", "r"):
        ids = out[f"profile_id_{side}"].to_numpy()
        out[f"record_id_{side}"] = example.loc[ids].to_numpy()
        for col in ["la_code", "la_child_id", "nhs_std", "upn", "forename_std", "surname_std", "dob", "sex_std",
                    "postcode_std"]:
            out[f"{col}_{side}"] = profiles[col].to_numpy()[ids]
    return out.sort_values(["match_probability", "profile_id_l", "profile_id_r"], ascending=[False, True, True]) \
        .reset_index(drop=True)
