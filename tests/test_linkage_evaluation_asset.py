"""quality/linkage_evaluation is declared in every project (issue 16: the asset graph does not depend on the
files present); on extracts with no truth/ folder beside them (real data) its step is skipped, with the reason
in the log, and nothing is written."""
from __future__ import annotations

from dagster import AssetKey, materialize

from pipelines.assets.linkage import LINKAGE_EVALUATION_KEY, linkage_evaluation, truth_folder
from pipelines.definitions import build_definitions
from pipelines.resources import IdentityStoreResource, IncomingExtracts, RefreshState, WarehouseResource
from pipelines.settings import load_settings


def test_declared_whatever_the_extracts(tmp_path, monkeypatch):
    monkeypatch.setenv("NEGLECT_INCOMING_DIR", str(tmp_path / "incoming"))  # a real partnership's folder, no truth/
    defs = build_definitions(load_settings())
    assert defs.resolve_asset_graph().has(LINKAGE_EVALUATION_KEY)


def test_skipped_with_the_reason_when_there_is_no_truth(tmp_path, capsys):
    (tmp_path / "incoming").mkdir()
    extracts = IncomingExtracts(incoming_dir=str(tmp_path / "incoming"))
    assert truth_folder(extracts) is None
    result = materialize([linkage_evaluation], resources={
        "warehouse": WarehouseResource(database=str(tmp_path / "warehouse.duckdb")),
        "identity_store": IdentityStoreResource(database=str(tmp_path / "identity.duckdb")),
        "extracts": extracts, "refresh": RefreshState()})
    assert result.success
    assert result.get_asset_materialization_events() == []
    log = capsys.readouterr().err  # the step's log on the console
    assert "linkage evaluation skipped: the extracts have no truth/ folder" in log
    assert not (tmp_path / "warehouse.duckdb").exists()  # nothing written


def test_a_synthetic_partnerships_truth_is_found(tmp_path):
    (tmp_path / "incoming").mkdir()
    (tmp_path / "truth").mkdir()
    (tmp_path / "truth" / "source_records.csv").write_text("source,record_id,person_id\n")
    assert truth_folder(IncomingExtracts(incoming_dir=str(tmp_path / "incoming"))) == tmp_path / "truth"
    assert AssetKey(["quality", "linkage_evaluation"]) == LINKAGE_EVALUATION_KEY


def test_not_scored_again_while_links_extracts_and_truth_are_unchanged(tmp_path, monkeypatch):
    """@reusable: a second run with the same links, extracts and truth files reports the first's result; a changed
    truth file, or changed links, is scored again. (The scoring itself is replaced: tests/test_linkage_pipeline.py
    checks its figures.)"""
    import duckdb
    import pandas as pd

    import pipelines.assets.linkage as linkage_assets

    scored = []

    def fake_evaluate(person_links, family_links, household, truth_dir):
        scored.append(len(person_links))
        return pd.DataFrame({"scope": ["child records"], "level": ["source identities"], "measure": ["F1"],
                             "value": [0.99], "records": [len(person_links)]})

    monkeypatch.setattr(linkage_assets, "evaluate_linkage", fake_evaluate)
    monkeypatch.setattr(linkage_assets, "household_adult_records", lambda conn: pd.DataFrame())
    (tmp_path / "incoming").mkdir()
    (tmp_path / "truth").mkdir()
    for name in ("source_records.csv", "persons.csv", "household_members.csv"):
        (tmp_path / "truth" / name).write_text("a,b\n1,2\n")
    warehouse, identity = tmp_path / "warehouse.duckdb", tmp_path / "identity.duckdb"
    duckdb.connect(str(identity)).close()
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("CREATE SCHEMA linkage")
        conn.execute("CREATE TABLE linkage.person_links AS SELECT 'cp_list' AS source, 'f#line 2' AS source_record_id, "
                     "'C0000001' AS person_key")
        conn.execute("CREATE TABLE linkage.family_links (child_key VARCHAR, adult_key VARCHAR)")

    def run():
        result = materialize([linkage_evaluation], resources={
            "warehouse": WarehouseResource(database=str(warehouse)),
            "identity_store": IdentityStoreResource(database=str(identity)),
            "extracts": IncomingExtracts(incoming_dir=str(tmp_path / "incoming")), "refresh": RefreshState()})
        assert result.success
        (event,) = result.get_asset_materialization_events()
        return event.materialization.metadata["recomputed"].value

    assert run() is True and run() is False and scored == [1]
    (tmp_path / "truth" / "persons.csv").write_text("a,b\n1,3\n")
    assert run() is True and run() is False and scored == [1, 1]
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("INSERT INTO linkage.person_links VALUES ('cp_list', 'f#line 3', 'C0000002')")
    assert run() is True and scored == [1, 1, 2]
