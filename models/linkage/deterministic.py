"""Deterministic linkage: records sharing an identifier are the same person.

Keys, strongest first (:data:`KEY_PRIORITY`):

* ``la_child_id``: the LA child ID within one authority (CIN census, CP list, person list,
  early help where recorded);
* ``eh_id`` / ``client_id``: the early-help person ID, the adult-services client ID,
  within one authority (and service);
* ``household_child_id``: a child listed by one adult-services client under the same names and
  DOB in several extracts;
* ``nhs_number``: the NHS number, across authorities;
* ``upn``: the unique pupil number (or former UPN), across authorities.

NHS number and UPN are *bridges*: they may join records of different local IDs, e.g. a
child known to both authorities under two LA child IDs. A bridge value held by two or
more different LA child IDs of the **same** authority is a conflict (two children's
records of one system share an NHS number or UPN): it is reported and not used to link,
so the probabilistic step and the analyst decide. Records are grouped by connected
components of the record-key graph (scipy), all vectorised.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

KEY_PRIORITY = ["la_child_id", "eh_id", "client_id", "household_child_id", "nhs_number", "upn"]
LOCAL_KEYS = {"la_child_id", "eh_id", "client_id", "household_child_id"}
BRIDGE_KEYS = {"nhs_number", "upn"}


@dataclass
class DeterministicGroups:
    """Result of :func:`deterministic_groups`.

    ``group``: the group number of each record (aligned with the input frame's rows).
    ``method``: the strongest key each record shares with another record of its group
    (``None`` when the record shares no key).
    ``conflicts``: one row per conflicting bridge value: ``key_type``, ``la_code``,
    ``key_value``, ``local_ids`` (the LA child IDs holding it), ``records``. Identifiers:
    for the identity store side (clerical review) only; counts go to the warehouse.
    """

    group: np.ndarray
    method: pd.Series
    conflicts: pd.DataFrame


def record_keys(records: pd.DataFrame) -> pd.DataFrame:
    """Long table of (row, key_type, key_value, la_code, la_child_id) for every identifier a record holds."""
    rows = np.arange(len(records))
    la = records["la_code"].astype("string")
    parts = []

    def add(key_type: str, values: pd.Series, scoped: bool) -> None:
        values = values.astype("string")
        if scoped:
            values = la + ":" + values
        parts.append(pd.DataFrame({"row": rows, "key_type": key_type, "key_value": values, "la_code": la,
                                   "la_child_id": records["la_child_id"].astype("string")
                                   if "la_child_id" in records else pd.NA}))

    for column, scoped in [("la_child_id", True), ("eh_id", True), ("client_id", True),
                           ("household_child_id", True)]:
        if column in records:
            add(column, records[column], scoped)
    if "nhs_std" in records:
        add("nhs_number", records["nhs_std"], False)
    for column in ("upn", "former_upn"):
        if column in records:
            add("upn", records[column], False)
    keys = pd.concat(parts, ignore_index=True)
    keys = keys[keys["key_value"].notna() & (keys["key_value"] != "")]
    # a former UPN equal to the record's own UPN is one key, not two
    return keys.drop_duplicates(["row", "key_type", "key_value"]).reset_index(drop=True)


def bridge_conflicts(keys: pd.DataFrame) -> pd.DataFrame:
    """Bridge values (NHS number, UPN) held by two or more LA child IDs of one authority."""
    bridges = keys[keys["key_type"].isin(BRIDGE_KEYS) & keys["la_child_id"].notna()]
    by = ["key_type", "key_value", "la_code"]
    ids = bridges.groupby(by)["la_child_id"].transform("nunique")
    conflicting = bridges[ids > 1]  # usually none: lists are built only for these
    return (conflicting.groupby(by).agg(local_ids=("la_child_id", lambda s: sorted(set(s))), records=("row", "size"))
            .reset_index())


def deterministic_groups(records: pd.DataFrame) -> DeterministicGroups:
    """Group records that share a key (see module docstring); conflicting bridge values are not used."""
    n = len(records)
    keys = record_keys(records)
    conflicts = bridge_conflicts(keys)
    if len(conflicts):
        bad = set(zip(conflicts["key_type"], conflicts["key_value"]))
        usable = ~pd.Series(list(zip(keys["key_type"], keys["key_value"]))).isin(bad).to_numpy()
        keys = keys[usable].reset_index(drop=True)
    key_index, _ = pd.factorize(keys["key_type"] + "|" + keys["key_value"])
    graph = coo_matrix((np.ones(len(keys), dtype=np.int8), (keys["row"].to_numpy(), n + key_index)),
                       shape=(n + key_index.max(initial=-1) + 1,) * 2)
    _, labels = connected_components(graph, directed=False)
    group = pd.factorize(labels[:n])[0]

    # method: the strongest key type whose value the record shares with at least one other record
    shared = keys[keys.groupby(["key_type", "key_value"])["row"].transform("size") > 1]
    rank = shared["key_type"].map({k: i for i, k in enumerate(KEY_PRIORITY)})
    best = shared.assign(rank=rank).sort_values("rank").drop_duplicates("row")
    method = pd.Series(pd.NA, index=range(n), dtype="string")
    method.iloc[best["row"].to_numpy()] = best["key_type"].to_numpy()
    return DeterministicGroups(group=group, method=method, conflicts=conflicts)
