"""Linkage on the default synthetic partnership, run by the ingest fixture's quarterly_refresh job.

Scores are read against ``truth/`` (the generator's own record of who each extract line is),
partly recomputed here independently of :mod:`models.linkage.evaluation`.
"""
from __future__ import annotations

import shutil
import stat
from datetime import date

import duckdb
import pandas as pd
import pytest

from models.linkage.clusters import key_stability
from models.linkage.evaluation import record_truth
from models.linkage.records import ANNEX_A_CHILD_SOURCES
from models.linkage.run import link_partnership, previous_person_links, write_linkage_tables

PARTNERS = ["partner_health_visiting", "partner_school", "partner_police", "partner_emergency_department"]


@pytest.fixture(scope="module")
def evaluation(warehouse) -> dict:
    rows = warehouse.execute("SELECT scope, level, measure, value FROM quality.linkage_evaluation").fetchall()
    return {(scope, level, measure): value for scope, level, measure, value in rows}


@pytest.fixture(scope="module")
def links_with_truth(ingested, warehouse) -> pd.DataFrame:
    """person_links joined to the true person of each record (record ids built from truth's file and line)."""
    links = warehouse.execute("SELECT source, source_record_id, person_key, person_type, method "
                              "FROM linkage.person_links").df()
    truth = record_truth(ingested.folder / "truth").astype({"person_id": "string"})  # persons.csv read as text
    return links.merge(truth, on="source_record_id", how="left")


def _check_outcomes(result) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def test_linkage_checks_pass(ingested):
    outcomes = _check_outcomes(ingested.results["quarterly_refresh"])
    assert outcomes["every_record_linked"] is True
    assert outcomes["one_nhs_number_per_person"] is True
    assert outcomes["adults_never_children"] is True
    assert "cp_children_in_person_list" in outcomes


def test_every_loaded_record_has_one_person_key(warehouse, links_with_truth):
    loaded = sum(warehouse.execute(f"SELECT count(*) FROM raw.{t}").fetchall()[0][0] for t in
                 ["person_list", "cin_child", "cp_list", "early_help", "adult_household_children", "adult_episodes",
                  "gcp2_assessments", *PARTNERS, *ANNEX_A_CHILD_SOURCES])
    assert len(links_with_truth) == loaded
    assert links_with_truth["source_record_id"].is_unique
    assert links_with_truth["person_id"].notna().all()  # every linked record is a real extract line


def test_child_linkage_f1_is_at_least_0_98(evaluation):
    assert evaluation[("children", "source identities", "f1")] >= 0.98
    assert evaluation[("children", "records", "f1")] >= 0.98


def test_no_twins_are_merged(ingested, links_with_truth):
    """Recomputed from persons.csv: twins are children of one household with the same date of birth."""
    persons = pd.read_csv(ingested.folder / "truth" / "persons.csv", dtype=str)
    children = persons[persons["role"] == "child"]
    twins = children[children.duplicated(["household_id", "dob"], keep=False)]
    twin_set = twins.groupby(["household_id", "dob"])["person_id"].agg(frozenset)
    keys = links_with_truth[links_with_truth["person_type"] == "child"].groupby("person_id")["person_key"].agg(set)
    linked_twin_sets = 0
    for members in twin_set:
        present = [keys[p] for p in members if p in keys.index]
        if len(present) > 1:
            linked_twin_sets += 1
            assert not set.intersection(*present), f"twins {sorted(members)} share a person_key"
    assert linked_twin_sets > 50  # the check is about real twins in the data, not an empty loop


def test_each_person_key_is_mostly_one_true_child(links_with_truth):
    children = links_with_truth[links_with_truth["person_type"] == "child"]
    people_per_key = children.groupby("person_key")["person_id"].nunique()
    assert (people_per_key > 1).sum() <= 0.001 * len(people_per_key)


def test_adult_child_links_precision_and_recall(evaluation):
    assert evaluation[("adult-child links", "recorded in household", "precision")] >= 0.95
    assert evaluation[("adult-child links", "recorded in household",
                       "recall, child also known to children's services")] >= 0.85


def test_family_links_join_adults_to_children(warehouse):
    rows = warehouse.execute("SELECT method, count(*), count(DISTINCT child_key), "
                             "bool_and(child_key LIKE 'C%' AND adult_key LIKE 'A%'), bool_and(valid_from <= valid_to) "
                             "FROM linkage.family_links GROUP BY method").fetchall()
    by_method = {m: (n, kids, right_way, ordered) for m, n, kids, right_way, ordered in rows}
    assert set(by_method) == {"recorded in household", "same address"}
    assert all(right_way and ordered for _, _, right_way, ordered in by_method.values())


def test_linkage_summary_covers_every_source(warehouse):
    summary = warehouse.execute("SELECT person_type, section, source, item, value FROM quality.linkage_summary").df()
    sources = set(summary.loc[summary["section"] == "records", "source"])
    assert sources == {"person_list", "cin_census", "cp_list", "early_help", "adult_household_children",
                       "adult_services", "gcp2_assessments", *PARTNERS, *ANNEX_A_CHILD_SOURCES}
    rate = summary[(summary["section"] == "match rate %") & (summary["source"] == "cp_list")]["value"].iloc[0]
    assert rate == 100.0  # every CP-list record shares its LA child ID with the person list


def test_review_file_is_beside_the_identity_store_and_private(ingested):
    folder = ingested.settings.clerical_review_dir
    files = list(folder.glob("linkage_review_*.csv"))
    assert files and folder.is_relative_to(ingested.settings.identity_path.parent)
    assert not folder.is_relative_to(ingested.settings.output_dir)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    review = pd.read_csv(files[0])
    assert {"match_weight", "match_probability", "never_auto_linked", "forename_std_l", "forename_std_r"} <= set(review)
    assert (review["match_probability"] >= ingested.settings.linkage_review_threshold).all()


@pytest.mark.slow  # slow: links the partnership twice more (about 50 s)
def test_person_keys_survive_the_next_quarter(ingested, tmp_path):
    """Link everything up to the previous quarter, then everything: >= 99.5 % of the earlier keys stay."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(ingested.settings.warehouse_path, copy)
    conn = duckdb.connect(str(copy))
    try:
        conn.execute("DROP TABLE linkage.person_links")
        latest = conn.execute("SELECT max(period_end) FROM raw.person_list").fetchall()[0][0]
        previous_quarter = conn.execute("SELECT max(period_end) FROM raw.person_list WHERE period_end < ?",
                                        [latest]).fetchall()[0][0]
        before = link_partnership(conn, ingested.settings.identity_path, up_to=previous_quarter)
        write_linkage_tables(conn, before)
        written = conn.execute("SELECT * FROM linkage.person_links").df()
        written_sensitivity = conn.execute("SELECT * FROM linkage.person_links_sensitivity").df()
        after = link_partnership(conn, ingested.settings.identity_path, previous=previous_person_links(conn))
    finally:
        conn.close()
    _assert_written_as_linked(before, written, written_sensitivity)
    assert isinstance(previous_quarter, date) and previous_quarter < latest
    stability = key_stability(before.person_links, after.person_links)
    assert stability["records_compared"] == len(before.person_links)
    assert stability["records_unchanged_pct"] >= 99.5
    assert stability["keys_unchanged_pct"] >= 99.5
    new_records = after.person_links[~after.person_links["source_record_id"].isin(before.person_links["source_record_id"])]
    assert len(new_records) > 10_000  # the latest quarter really added records
    # most of the latest quarter's records belong to children already known
    assert new_records["person_key"].isin(before.person_links["person_key"]).mean() > 0.9


def _assert_written_as_linked(result, written: pd.DataFrame, sensitivity: pd.DataFrame) -> None:
    """The tables write_linkage_tables made from the linkage's frames in DuckDB hold the rows of those frames:
    ``linkage.person_links`` those of ``result.person_links``, the sensitivity table each child record's
    cluster at each threshold, labelled ``C@<threshold>:<cluster>``."""
    def normalised(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.astype({"period_end": "datetime64[us]", "match_probability": "float64"})
        frame = frame.astype({c: "object" for c in frame.columns if c not in ("period_end", "match_probability")})
        return frame.sort_values("source_record_id").reset_index(drop=True)

    assert list(written.columns) == ["source", "source_record_id", "person_key", "person_type", "la_code",
                                     "period_end", "match_probability", "method"]
    expected = result.person_links
    assert len(written) == len(expected) > 100_000
    pd.testing.assert_frame_equal(normalised(written), normalised(expected[list(written.columns)]))

    children = result.children
    assert children.sensitivity and sorted(set(sensitivity["threshold"])) == sorted(children.sensitivity)
    expected = pd.concat([pd.DataFrame({"source_record_id": children.links["record_id"].astype(object),
                                        "threshold": threshold,
                                        "person_key": pd.Series([f"C@{threshold:g}:{c}" for c in clusters],
                                                                dtype=object)})
                          for threshold, clusters in children.sensitivity.items()], ignore_index=True)
    pd.testing.assert_frame_equal(sensitivity.astype({"source_record_id": object, "person_key": object}), expected)


def test_records_digest_follows_what_linkage_reads_only(ingested, tmp_path):
    """The linkage asset's input version (issue 18): a field linkage does not read (an early-help team) leaves
    the digest as it was, so a file changed only there is not relinked; a field it reads (sex) or an identifier
    (in the identity store) changes it. Copies of the warehouse and identity store are changed, not the
    fixture's."""
    from models.linkage.records import records_digest

    warehouse, identities = tmp_path / "warehouse.duckdb", tmp_path / "identity.duckdb"
    shutil.copy(ingested.settings.warehouse_path, warehouse)
    shutil.copy(ingested.settings.identity_path, identities)
    conn = duckdb.connect(str(warehouse))
    try:
        before = records_digest(conn, identities, tuple(PARTNERS))
        assert before is not None and before.startswith("children:") and "\nadults:" in before
        assert "idstore" not in {r[0] for r in conn.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
        first = conn.execute("SELECT min(record_id) FROM raw.early_help").fetchall()[0][0]
        conn.execute("UPDATE raw.early_help SET lead_practitioner_team = 'A team never seen' WHERE record_id = ?",
                     [first])
        assert records_digest(conn, identities, tuple(PARTNERS)) == before
        conn.execute("UPDATE raw.early_help SET gender = CASE WHEN gender = '1' THEN '2' ELSE '1' END "
                     "WHERE record_id = ?", [first])
        after_sex = records_digest(conn, identities, tuple(PARTNERS))
        assert after_sex != before
        with duckdb.connect(str(identities)) as ids:
            ids.execute("UPDATE identifiers.early_help SET forename = forename || 'x' WHERE record_id = ?", [first])
        assert records_digest(conn, identities, tuple(PARTNERS)) not in (before, after_sex)
        conn.execute("DROP TABLE raw.partner_police")  # a source whose tables do not exist yet: build it
        assert records_digest(conn, identities, tuple(PARTNERS)) is None
    finally:
        conn.close()
