"""From links to people: clusters of deterministic groups, and stable ``person_key`` values.

A *cluster* joins deterministic groups by the Splink pairs at or above the match threshold,
strongest first, refusing any pair that would give one person two NHS numbers (or UPNs, or LA
child IDs in one authority): one cluster = one person.

``person_key`` values are opaque (``C0000001`` for children, ``A0000001`` for adults), never
derived from identifiers, and carried over between runs: each new cluster takes the key its
records had in the previous run (the key most of them had; ties go to the lowest key). When a
previous person is split, the part holding most of their old records keeps the key. Clusters
with no previous records get new keys, numbered on from the highest key ever issued, in the
order of their first record, so the same input always gives the same keys.
"""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd


def cluster_groups(n_groups: int, edges: pd.DataFrame, group_identifiers: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Cluster number of each deterministic group, and which edges were refused.

    Edges (``group_l``, ``group_r``, ``match_probability``) are taken strongest first (equal
    probabilities, common when two pairs agree on the same comparisons, in the order of the group
    numbers, so the result never depends on the order the pairs arrive in); an edge is
    refused when it would put two different identifiers of one kind in a person (two NHS numbers,
    two UPNs, two LA child IDs of one authority): such a person would be two people, whatever the
    names say. ``group_identifiers``: for each group with identifiers, a set of (kind, value)
    pairs such as ``("nhs", "9990000018")``, ``("la:991", "123456")``. Runs over the match edges
    only (a few per thousand records), so the Python loop is small.
    """
    parent = np.arange(n_groups)
    identifiers: dict[int, dict[str, str]] = {}
    for group, pairs in group_identifiers.items():
        identifiers[int(group)] = dict(pairs)

    def root(g: int) -> int:
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    refused = pd.Series(False, index=edges.index)
    ordered = edges.sort_values(["match_probability", "group_l", "group_r"], ascending=[False, True, True],
                                kind="stable")
    for index, left, right in zip(ordered.index, ordered["group_l"].to_numpy(), ordered["group_r"].to_numpy()):
        a, b = root(int(left)), root(int(right))
        if a == b:
            continue
        ids_a, ids_b = identifiers.get(a, {}), identifiers.get(b, {})
        if any(ids_b.get(kind, value) != value for kind, value in ids_a.items()):
            refused[index] = True
            continue
        parent[b] = a
        if ids_b:
            identifiers[a] = {**ids_b, **ids_a}
    while True:  # point every group straight at its root (vectorised path compression)
        grandparent = parent[parent]
        if np.array_equal(grandparent, parent):
            break
        parent = grandparent
    return pd.factorize(parent)[0], refused


def key_number(keys: pd.Series) -> pd.Series:
    """The number part of ``C0000123`` -> 123."""
    return pd.to_numeric(keys.str[1:], errors="coerce")


def assign_stable_keys(record_ids: pd.Series, cluster: np.ndarray, previous: pd.DataFrame | None,
                       prefix: str, highest_issued: int = 0) -> np.ndarray:
    """``person_key`` for each record (see module docstring), by :func:`assign_stable_keys_in` on an in-memory
    DuckDB.

    ``previous``: the previous run's (``source_record_id``, ``person_key``) for this kind of person
    (keys starting with ``prefix``), or None on a first run. ``highest_issued``: the highest key
    number ever issued (kept in ``linkage.key_sequence``), so a retired key is never reused.
    """
    con = duckdb.connect()
    try:
        con.register("current_clusters", pd.DataFrame({"record_id": record_ids.to_numpy(), "cluster": cluster}))
        if previous is not None:
            con.register("previous_keys", previous)
        return assign_stable_keys_in(con, "current_clusters", "previous_keys" if previous is not None else None,
                                     prefix, highest_issued)[cluster]
    finally:
        con.close()


def assign_stable_keys_in(conn: duckdb.DuckDBPyConnection, current: str, previous: str | None, prefix: str,
                          highest_issued: int = 0) -> np.ndarray:
    """The ``person_key`` of each cluster (an array indexed by cluster number; see module docstring).

    ``current``: a table or view of ``conn`` with each record's ``record_id`` and ``cluster`` (numbered from
    0); ``previous``: one with the previous run's ``source_record_id`` and ``person_key`` (only keys starting
    with ``prefix`` are used), or None on a first run. Computed in DuckDB: no whole-partnership frame.
    """
    n_clusters = conn.execute(f"SELECT coalesce(max(cluster), -1) + 1 FROM {current}").fetchall()[0][0]
    keys = np.full(n_clusters, None, dtype=object)
    highest = highest_issued
    if previous is not None:
        old = f"(SELECT source_record_id, person_key FROM {previous} WHERE starts_with(person_key, '{prefix}'))"
        count, top = conn.execute(f"SELECT count(*), max(TRY_CAST(substr(person_key, 2) AS BIGINT)) "
                                  f"FROM {old}").fetchall()[0]
        highest = max(highest, int(top)) if count else highest
        # each cluster's favourite old key, then each old key to the cluster that holds most of it
        kept = conn.execute(f"""
            WITH votes AS (SELECT c.cluster, p.person_key, count(*) AS votes
                           FROM {current} c JOIN {old} p ON c.record_id = p.source_record_id GROUP BY ALL),
                 favourite AS (SELECT * FROM votes
                               QUALIFY row_number() OVER (PARTITION BY cluster ORDER BY votes DESC, person_key) = 1)
            SELECT cluster, person_key FROM favourite
            QUALIFY row_number() OVER (PARTITION BY person_key ORDER BY votes DESC, cluster) = 1""").fetchnumpy()
        keys[kept["cluster"].astype(np.int64)] = kept["person_key"].astype(object)
    missing = np.flatnonzero(pd.isna(keys))
    if len(missing):
        conn.register("clusters_without_key", pd.DataFrame({"cluster": missing}))
        try:
            order = conn.execute(f"""
                SELECT c.cluster FROM {current} c SEMI JOIN clusters_without_key m ON m.cluster = c.cluster
                GROUP BY c.cluster ORDER BY min(c.record_id)""").fetchnumpy()["cluster"].astype(np.int64)
        finally:
            conn.unregister("clusters_without_key")
        keys[order] = [f"{prefix}{n:07d}" for n in range(highest + 1, highest + 1 + len(order))]
    return keys


def key_stability(previous: pd.DataFrame, current: pd.DataFrame) -> dict[str, float]:
    """How many of the previous run's keys survived: share of previous records (present in both runs)
    whose ``person_key`` is unchanged, and share of previous keys whose records all kept it."""
    both = previous.merge(current, on=["source", "source_record_id"], suffixes=("_before", "_after"))
    if both.empty:
        return {"records_compared": 0, "records_unchanged_pct": float("nan"), "keys_compared": 0,
                "keys_unchanged_pct": float("nan")}
    same = both["person_key_before"] == both["person_key_after"]
    per_key = same.groupby(both["person_key_before"]).all()
    return {"records_compared": int(len(both)), "records_unchanged_pct": round(100 * float(same.mean()), 3),
            "keys_compared": int(len(per_key)), "keys_unchanged_pct": round(100 * float(per_key.mean()), 3)}
