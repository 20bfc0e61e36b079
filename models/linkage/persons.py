"""Person linkage: deterministic groups, Splink scores, clusters, stable keys, for children or adults.

:func:`link_people_in` links the records of a DuckDB table (the pipeline's way: the grouping and the
profiles in SQL, Splink on the same DuckDB); :func:`link_people` the records of a DataFrame, through the
same code on an in-memory DuckDB. Both return one row per record with its ``person_key``, ``method`` and
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
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from .clusters import assign_stable_keys_in, cluster_groups
from .deterministic import deterministic_groups_in
from .probabilistic import PROFILE_COLUMNS, group_edges, score_pairs_in, with_group_pair

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


def profiles_in(conn: duckdb.DuckDBPyConnection, records: str, groups: str, table_column: str, out: str) -> None:
    """Distinct identities (profiles) of the records: table ``out`` (profile_id, the ``table_column``, det_group,
    :data:`~.probabilistic.PROFILE_COLUMNS`, surname_parts, postcode_district; one row per distinct combination,
    numbered in the order of its first record, the first record's values) and ``out__of_record`` (row,
    profile_id)."""
    columns = [table_column, "det_group", *PROFILE_COLUMNS]
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE {out}__first AS
        SELECT r.row, min(r.row) OVER (PARTITION BY {", ".join(f'"{c}"' for c in columns)}) AS first_row
        FROM {records} r JOIN {groups} g USING (row)""")
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE {out}__of_record AS
        SELECT row, dense_rank() OVER (ORDER BY first_row) - 1 AS profile_id FROM {out}__first""")
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE {out} AS
        SELECT p.profile_id, {", ".join(f'r."{c}"' if c != "det_group" else "g.det_group" for c in columns)},
               {", ".join(f"r.{c}" for c in EXTRA_PROFILE_COLUMNS)}
        FROM {out}__first f JOIN {out}__of_record p USING (row) JOIN {records} r USING (row) JOIN {groups} g USING (row)
        WHERE f.row = f.first_row ORDER BY p.profile_id""")
    conn.execute(f"DROP TABLE {out}__first")


def profiles_of(records: pd.DataFrame, table_column: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Distinct identities (profiles) of a DataFrame of records with ``det_group`` (as :func:`profiles_in`
    makes them, through an in-memory DuckDB) and the profile number of each record."""
    con = duckdb.connect()
    try:
        frame = records.reset_index(drop=True).assign(row=np.arange(len(records), dtype=np.int64))
        con.register("records_frame", frame)
        con.execute("CREATE TEMP TABLE records AS SELECT * EXCLUDE (det_group) FROM records_frame")
        con.execute("CREATE TEMP TABLE groups AS SELECT row, det_group FROM records_frame")
        con.unregister("records_frame")
        profiles_in(con, "records", "groups", table_column, "profiles")
        profiles = con.sql("SELECT * FROM profiles ORDER BY profile_id").df()
        of_record = con.sql("SELECT profile_id FROM profiles__of_record ORDER BY row").fetchnumpy()["profile_id"]
    finally:
        con.close()
    return profiles, np.asarray(of_record, dtype=np.int64)


def link_people(records: pd.DataFrame, table_column: str, key_prefix: str,
                thresholds: LinkageThresholds = LinkageThresholds(), previous_keys: pd.DataFrame | None = None,
                model_path: Path | None = None, highest_issued: int = 0) -> PersonLinkage:
    """Link ``records`` (children or adults, never both) into people. ``table_column`` names the
    column splitting records into Splink's input tables (e.g. the source family). ``highest_issued``:
    the highest key number ever issued with this prefix (new keys are numbered above it). The records of a
    DataFrame, linked by :func:`link_people_in` on an in-memory DuckDB; ``links`` keeps every column given."""
    con = duckdb.connect()
    try:
        frame = records.reset_index(drop=True)
        con.register("records_frame", frame.assign(row=np.arange(len(frame), dtype=np.int64)))
        con.execute("CREATE TEMP TABLE records AS SELECT * REPLACE (CAST(dob AS DATE) AS dob) FROM records_frame")
        con.unregister("records_frame")
        if previous_keys is not None:
            con.register("previous_keys", previous_keys)
        linkage = link_people_in(con, "records", table_column, key_prefix, thresholds,
                                 "previous_keys" if previous_keys is not None else None, model_path, highest_issued)
    finally:
        con.close()
    linkage.links = frame.assign(**{c: linkage.links[c].to_numpy() for c in LINK_COLUMNS})
    return linkage


# DuckDB DATE columns fetched as Arrow dates (written back as DATE), not as Python date objects
ARROW_DATES = {pa.date32(): pd.ArrowDtype(pa.date32())}
LINK_COLUMNS = ["det_group", "det_method", "cluster", "method", "match_probability", "person_key"]


def link_people_in(conn: duckdb.DuckDBPyConnection, records: str, table_column: str, key_prefix: str,
                   thresholds: LinkageThresholds = LinkageThresholds(), previous_keys: str | None = None,
                   model_path: Path | None = None, highest_issued: int = 0) -> PersonLinkage:
    """:func:`link_people` on the table ``records`` of ``conn`` (a 0-based ``row`` column, ``record_id``,
    ``source``, ``la_code``, ``period_end``, the identifier columns): the grouping and profiles in SQL, Splink on
    the same DuckDB. ``previous_keys``: a table or view of ``conn`` with the previous run's ``source_record_id``
    and ``person_key`` (None on a first run). ``links`` has one row per record in row order: ``record_id``,
    ``source``, ``la_code``, ``period_end`` and :data:`LINK_COLUMNS`."""
    seconds = {}
    started = time.monotonic()
    groups, profiles = f"{records}__groups", f"{records}__profiles"
    conflicts = deterministic_groups_in(conn, records, groups)
    det = conn.sql(f"SELECT r.record_id, r.source, r.la_code, r.period_end, g.det_group, g.det_method "
                   f"FROM {records} r JOIN {groups} g USING (row) ORDER BY row").to_arrow_table() \
        .to_pandas(types_mapper=ARROW_DATES.get)  # Arrow strings and dates: no Python object per record
    det_group = det["det_group"].to_numpy(dtype=np.int64)
    seconds["deterministic"] = time.monotonic() - started

    started = time.monotonic()
    profiles_in(conn, records, groups, table_column, profiles)
    n_profiles = conn.execute(f"SELECT count(*) FROM {profiles}").fetchall()[0][0]
    scored = score_pairs_in(conn, profiles, thresholds.review, model_path, table_column, key_prefix)
    seconds["splink"] = time.monotonic() - started

    started = time.monotonic()
    profile_group = conn.sql(f"SELECT det_group FROM {profiles} ORDER BY profile_id").fetchnumpy()["det_group"]
    pairs = with_group_pair(scored.pairs, np.asarray(profile_group, dtype=np.int64))
    edges = group_edges(pairs[pairs["never_auto_linked"] == ""])
    matches = edges[edges["match_probability"] >= thresholds.match]
    n_groups = int(det_group.max(initial=-1)) + 1
    identifiers = group_identifiers_in(conn, records, groups, edges)
    group_cluster, refused = cluster_groups(n_groups, matches, identifiers)
    cluster = group_cluster[det_group]
    sensitivity = {}
    for threshold in thresholds.sensitivity:
        at = edges[edges["match_probability"] >= threshold]
        sensitivity[threshold] = cluster_groups(n_groups, at, identifiers)[0][det_group]
    links = _methods(det.assign(cluster=cluster), matches)
    conn.register(f"{records}__clusters", pd.DataFrame({"row": np.arange(len(cluster), dtype=np.int64),
                                                        "cluster": cluster}))
    try:
        keys = assign_stable_keys_in(conn, f"(SELECT r.record_id, c.cluster FROM {records} r "
                                           f"JOIN {records}__clusters c USING (row))", previous_keys, key_prefix,
                                     highest_issued)
    finally:
        conn.unregister(f"{records}__clusters")
    links["person_key"] = keys[cluster]
    refused_pairs = set(zip(matches.loc[refused, "group_l"], matches.loc[refused, "group_r"]))
    review = _review_pairs(conn, pairs, thresholds, records, profiles, refused_pairs)
    seconds["clusters"] = time.monotonic() - started
    for table in (profiles, f"{profiles}__of_record", groups):
        conn.execute(f"DROP TABLE {table}")
    return PersonLinkage(links=links, review_pairs=review, conflicts=conflicts,
                         identifier_conflicts=identifier_conflicts_in(conn, records, links), profiles=n_profiles,
                         pairs_scored=len(scored.pairs), model_json=scored.model_json, seconds=seconds,
                         model_source=scored.model_source,
                         sensitivity=sensitivity)


def identifier_conflicts_in(conn: duckdb.DuckDBPyConnection, records: str, links: pd.DataFrame) -> dict[str, int]:
    """Persons (clusters) holding two different NHS numbers, or two LA child IDs in one authority. ``links``:
    the ``person_key`` of each row of ``records``, in row order."""
    has_la_child_id = "la_child_id" in {row[0] for row in conn.execute(f"DESCRIBE {records}").fetchall()}
    with registered_keys(conn, links) as keys:
        result = {"persons with two or more NHS numbers": conn.execute(f"""
            SELECT count(*) FROM (SELECT k.person_key FROM {records} r JOIN {keys} k USING (row)
                                  WHERE r.nhs_std IS NOT NULL GROUP BY k.person_key
                                  HAVING count(DISTINCT r.nhs_std) > 1)""").fetchall()[0][0]}
        if has_la_child_id and conn.execute(f"SELECT count(la_child_id) > 0 FROM {records}").fetchall()[0][0]:
            result["persons with two LA child IDs in one authority"] = conn.execute(f"""
                SELECT count(*) FROM (SELECT k.person_key FROM {records} r JOIN {keys} k USING (row)
                                      WHERE r.la_child_id IS NOT NULL AND r.la_code IS NOT NULL
                                      GROUP BY k.person_key, r.la_code HAVING count(DISTINCT r.la_child_id) > 1)
                """).fetchall()[0][0]
    return result


@contextmanager
def registered_keys(conn: duckdb.DuckDBPyConnection, links: pd.DataFrame):
    """The ``person_key`` of each row (``links`` in row order) as a view ``person_keys_of_rows`` (row, person_key)."""
    name = "person_keys_of_rows"
    conn.register(name, pd.DataFrame({"row": np.arange(len(links), dtype=np.int64),
                                      "person_key": links["person_key"].to_numpy()}))
    try:
        yield name
    finally:
        conn.unregister(name)


def group_identifiers_in(conn: duckdb.DuckDBPyConnection, records: str, groups: str, edges: pd.DataFrame) -> pd.Series:
    """For each group on an edge: its identifiers as (kind, value) pairs: NHS number, UPN, LA child ID per
    authority (the first record's, in row order, when a group holds two of a kind)."""
    columns = {row[0] for row in conn.execute(f"DESCRIBE {records}").fetchall()}
    parts = ["SELECT det_group, 0 AS part, row, 'nhs' AS kind, nhs_std AS value FROM on_edge"]
    if "upn" in columns:
        parts.append("SELECT det_group, 1, row, 'upn', upn FROM on_edge")
    if "la_child_id" in columns:
        parts.append("SELECT det_group, 2, row, 'la:' || la_code, la_child_id FROM on_edge")
    selected = ", ".join(f"r.{c}" for c in ("nhs_std", "upn", "la_code", "la_child_id") if c in columns)
    conn.register("edge_groups", pd.DataFrame({"det_group": np.union1d(edges["group_l"].to_numpy(dtype=np.int64),
                                                                       edges["group_r"].to_numpy(dtype=np.int64))}))
    try:
        long = conn.sql(f"""
            WITH on_edge AS (SELECT r.row, g.det_group, {selected} FROM {records} r JOIN {groups} g USING (row)
                             SEMI JOIN edge_groups e ON e.det_group = g.det_group),
                 long AS ({" UNION ALL ".join(parts)})
            SELECT det_group, kind, arg_min(value, row) AS value
            FROM long WHERE value IS NOT NULL GROUP BY det_group, part, kind
            ORDER BY det_group, part, min(row)""").df()
    finally:
        conn.unregister("edge_groups")
    long["pair"] = list(zip(long["kind"], long["value"]))
    return long.groupby("det_group", sort=True)["pair"].agg(list)


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


def _review_pairs(conn: duckdb.DuckDBPyConnection, pairs: pd.DataFrame, thresholds: LinkageThresholds,
                  records: str, profiles: str, refused: set) -> pd.DataFrame:
    """Pairs (with :func:`.probabilistic.with_group_pair` columns) for clerical review: the grey band, pairs never linked automatically, and matches refused
    because they would give one person two identifiers; with the identifiers of both sides, one
    example record each (the profile's first), and the Splink explanation (match weight, each comparison's
    level and Bayes factor)."""
    was_refused = pd.Series(list(zip(pairs["group_l"], pairs["group_r"])), index=pairs.index).isin(refused)
    pairs = pairs.assign(never_auto_linked=pairs["never_auto_linked"].mask(
        was_refused & (pairs["never_auto_linked"] == ""), "would give one person two identifiers"))
    grey = pairs[(pairs["match_probability"] >= thresholds.review)
                 & ((pairs["match_probability"] < thresholds.match) | (pairs["never_auto_linked"] != ""))]
    if grey.empty:
        return pd.DataFrame()
    explain = [c for c in grey.columns if c.startswith(("gamma_", "bf_", "mw_"))]
    out = grey[["profile_id_l", "profile_id_r", "match_weight", "match_probability", "never_auto_linked", *explain]].copy()
    shown = ["la_code", "la_child_id", "nhs_std", "upn", "forename_std", "surname_std", "dob", "sex_std",
             "postcode_std"]
    ids = np.union1d(out["profile_id_l"].to_numpy(dtype=np.int64), out["profile_id_r"].to_numpy(dtype=np.int64))
    conn.register("review_profile_ids", pd.DataFrame({"profile_id": ids}))
    try:
        shown_profiles = conn.sql(f"""
            SELECT p.profile_id, arg_min(r.record_id, o.row) AS record_id,
                   {", ".join(f"any_value(p.{c}) AS {c}" for c in shown)}
            FROM {profiles} p SEMI JOIN review_profile_ids i USING (profile_id)
            JOIN {profiles}__of_record o USING (profile_id) JOIN {records} r USING (row)
            GROUP BY p.profile_id""").df().set_index("profile_id")
    finally:
        conn.unregister("review_profile_ids")
    shown_profiles["dob"] = pd.to_datetime(shown_profiles["dob"]).astype("datetime64[us]")
    for side in ("l", "r"):
        side_profiles = shown_profiles.loc[out[f"profile_id_{side}"].to_numpy()]
        out[f"record_id_{side}"] = side_profiles["record_id"].to_numpy()
        for col in shown:
            out[f"{col}_{side}"] = side_profiles[col].to_numpy()
    return out.sort_values(["match_probability", "profile_id_l", "profile_id_r"], ascending=[False, True, True]) \
        .reset_index(drop=True)
