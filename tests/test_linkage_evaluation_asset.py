"""quality/linkage_evaluation is declared in every project (issue 16: the asset graph does not depend on the
files present); on extracts with no truth/ folder beside them (real data) its step is skipped, with the reason
in the log, and nothing is written."""
from __future__ import annotations

from dagster import AssetKey, materialize

from pipelines.assets.linkage import LINKAGE_EVALUATION_KEY, linkage_evaluation, truth_folder
from pipelines.definitions import build_definitions
from pipelines.resources import IdentityStoreResource, IncomingExtracts, WarehouseResource
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
        "extracts": extracts})
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
