"""Bad files in the incoming folder: each fails its own source's `files_readable` check with a
message naming the file (path relative to the incoming folder), the position and what was
expected; every other file still loads and the marts and the board report are still produced;
nothing is lost (the bad file is in quality.load_audit as failed, with nothing of it kept)."""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance

from pipelines.definitions import build_definitions
from pipelines.runs import execute_range, run_plan
from pipelines.settings import Settings
from sources.synthetic.config import GeneratorConfig
from sources.synthetic.generate import generate_partnership

BAD = Path(__file__).parent / "fixtures" / "bad_files" / "incoming"
# bad file (relative to incoming) -> (asset, words its failure message must contain)
PLANTED = {
    "992_eastmere/2026-03-31/cin_census_2026.xml": (
        "raw/cin_census", ["992_eastmere/2026-03-31/cin_census_2026.xml", "line 53", "truncated"]),
    "992_eastmere/2025-06-30/adult_mental_health_episodes.csv": (
        "raw/adult_episodes", ["992_eastmere/2025-06-30/adult_mental_health_episodes.csv", "line 1 (header)",
                               "Episode Start Date"]),
    "991_northbrook/2025-09-30/early_help_episodes.csv": (
        "raw/early_help", ["991_northbrook/2025-09-30/early_help_episodes.csv", "empty"]),
}


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad_partnership")
    generate_partnership(GeneratorConfig(children=3000), folder)
    incoming = folder / "incoming"
    for rel in PLANTED:
        shutil.copyfile(BAD / rel, incoming / rel)
    project = tmp_path_factory.mktemp("bad_project")
    settings = Settings(project_root=project, synthetic_dir=folder, incoming_dir=incoming,
                        warehouse_path=project / "w.duckdb", identity_path=project / "i.duckdb",
                        pseudonym_key_path=project / "key", output_dir=project / "output", dagster_home=project)
    defs = build_definitions(settings)
    (project / ".dagster").mkdir()
    results = {}
    with DagsterInstance.local_temp(str(project / ".dagster"), overrides={"telemetry": {"enabled": False}}) as instance:
        for planned in run_plan(incoming, date(2026, 11, 23)):
            results[planned.job_name] = execute_range(defs, instance, planned)
    return settings, results


def _failures(result) -> dict[str, str]:
    """asset step key -> the description of its failed files_readable check."""
    return {e.asset_key.to_user_string().replace("/", "__"): e.description
            for e in result.get_asset_check_evaluations() if e.check_name == "files_readable" and not e.passed}


def test_each_bad_file_fails_its_own_asset_with_a_clear_message(bad_run):
    _, results = bad_run
    failures = {**_failures(results["cin_census_refresh"]), **_failures(results["quarterly_refresh"])}
    assert set(failures) == {asset.replace("/", "__") for asset, _ in PLANTED.values()}
    for asset, words in PLANTED.values():
        message = failures[asset.replace("/", "__")]
        for word in words:
            assert word in message, (asset, word, message)
        assert "Traceback" not in message


def test_unreadable_files_do_not_stop_the_marts_or_the_report(bad_run):
    settings, results = bad_run
    assert results["quarterly_refresh"].success and results["board_report"].success
    assert sorted((settings.output_dir / "dashboards").glob("*/neglect_board_report_*.html"))
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        status = conn.execute("SELECT status FROM marts.source_availability WHERE la_code = '992' "
                              "AND source = 'cin_census' AND period_end = DATE '2026-03-31'").fetchone()[0]
    assert status == "failed"


def test_the_other_sources_still_load(bad_run):
    _, results = bad_run
    materialised = {m.asset_key.to_user_string() for r in results.values()
                    for m in r.get_asset_materialization_events() for m in [m.materialization]}
    for asset in ["raw/cp_list", "raw/person_list", "raw/adult_household_children", "raw/postcode_lookup",
                  "raw/ons_population"]:
        assert asset in materialised


def test_nothing_is_lost_the_bad_files_are_audited_and_their_neighbours_loaded(bad_run):
    settings, _ = bad_run
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        audit = dict(conn.execute("SELECT file, status FROM quality.load_audit").fetchall())
        for rel in PLANTED:
            assert audit[rel] == "failed", rel
            kept = conn.execute("SELECT rows_loaded, rows_rejected FROM quality.load_audit WHERE file = ?",
                                [rel]).fetchone()
            assert kept == (0, 0), rel  # a refused file leaves nothing behind
            assert conn.execute("SELECT count(*) FROM quality.rejects WHERE file = ?", [rel]).fetchone()[0] == 0
        # the other authority's census of the same year, and the other quarters' files, loaded
        assert audit["991_northbrook/2026-03-31/cin_census_2026.xml"] == "loaded"
        assert audit["992_eastmere/2025-06-30/adult_substance_misuse_episodes.csv"] == "loaded"
        assert conn.execute("SELECT count(*) FROM raw.early_help WHERE period_end = DATE '2025-09-30' "
                            "AND la_code = '992'").fetchone()[0] > 0
        message = conn.execute("SELECT message FROM quality.load_audit WHERE file = ?",
                               ["992_eastmere/2026-03-31/cin_census_2026.xml"]).fetchone()[0]
        assert "truncated" in message
