"""A refused CIN census return, then the corrected return sent again: the board packs are produced, the
corrected refresh revises earlier quarters and records both versions, and an intruder with every pack
of both refreshes recovers nothing.

Slow (a partnership generated and refreshed three times): `pytest -m slow`. That each bad file fails its
own asset, the rest loads and nothing is lost is tested on hand-written files in test_real_partnership.py.
"""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance

from dashboards.audit import attack_refreshes, read_published
from dashboards.publication import HISTORY_TABLE, count_cells, monotone_groups
from models.marts.definitions import load_definitions
from pipelines.event_log import instance_overrides
from pipelines.definitions import build_definitions
from pipelines.runs import execute_range, run_plan
from pipelines.settings import Settings
from refresh_helpers import DOWNSTREAM, DOWNSTREAM_GROUPS, copy_state, linked_incoming, materialisation_metadata, refresh
from sources.synthetic.config import GeneratorConfig
from sources.synthetic.generate import generate_partnership

pytestmark = pytest.mark.slow

BAD = Path(__file__).parent / "fixtures" / "bad_files" / "incoming"
# bad file (relative to incoming) -> (asset, words its failure message must contain)
PLANTED = {
    "992_eastmere/2026-03-31/cin_census_2026.xml": ("raw/cin_census", ["cin_census_2026.xml", "line 53", "truncated"]),
    "992_eastmere/2025-06-30/adult_mental_health_episodes.csv": (
        "raw/adult_episodes", ["adult_mental_health_episodes.csv", "line 1 (header)", "Episode Start Date"]),
    "991_northbrook/2025-09-30/early_help_episodes.csv": ("raw/early_help", ["early_help_episodes.csv", "empty"]),
}


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad_partnership")
    generate_partnership(GeneratorConfig(children=3000), folder)
    incoming = folder / "incoming"
    for rel in PLANTED:
        (folder / "originals" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(incoming / rel, folder / "originals" / rel)  # the good file, for the corrected refresh
        shutil.copyfile(BAD / rel, incoming / rel)
    project = tmp_path_factory.mktemp("bad_project")
    settings = Settings(project_root=project, synthetic_dir=folder, incoming_dir=incoming,
                        warehouse_path=project / "w.duckdb", identity_path=project / "i.duckdb",
                        pseudonym_key_path=project / "key", output_dir=project / "output", dagster_home=project)
    defs = build_definitions(settings)
    (project / ".dagster").mkdir()
    results = {}
    with DagsterInstance.local_temp(str(project / ".dagster"), overrides=instance_overrides(str(project / ".dagster"))) as instance:
        for planned in run_plan(incoming, date(2026, 11, 23)):
            results[planned.job_name] = execute_range(defs, instance, planned)
    return settings, results


def _failures(result) -> dict[str, str]:
    out = {}
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            data = event.step_failure_data
            text = data.user_failure_data.description if data.user_failure_data else data.error.message
            out[event.step_key] = text
    return out


# --- the board pack when a CIN file is refused; the corrected file sent again -----------------------------
CIN_2026 = "992_eastmere/2026-03-31/cin_census_2026.xml"


# the last six quarters only (with the census years they cover), and no PNG charts: enough to show the
# board pack and the republication rule at work, at half a full refresh's cost (with four quarters the
# adult-services linkage of so small a partnership has too few pairs to train on)
QUARTERS = (date(2024, 12, 31), date(2026, 3, 31))
CENSUS_YEARS = (2025, 2026)


@pytest.fixture(scope="module")
def no_png():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("dashboards.exports.find_chromium", lambda: None)
        yield


@pytest.fixture(scope="module")
def refused_cin_run(bad_run, no_png, tmp_path_factory):
    """The same partnership with only Eastmere's 2026 census refused (the other bad files put right): the
    quarterly refresh, which does not include the census, builds the marts and the board packs."""
    settings, _ = bad_run
    folder = settings.synthetic_dir
    incoming = linked_incoming(folder / "incoming", tmp_path_factory.mktemp("refused_incoming"),
                               replaced={rel: folder / "originals" / rel for rel in PLANTED if rel != CIN_2026})
    project = tmp_path_factory.mktemp("refused_project")
    refused = Settings(project_root=project, synthetic_dir=folder, incoming_dir=incoming,
                       warehouse_path=project / "w.duckdb", identity_path=project / "i.duckdb",
                       pseudonym_key_path=project / "key", output_dir=project / "output", dagster_home=project)
    return refused, refresh(refused, QUARTERS, census_years=CENSUS_YEARS)


def test_the_board_pack_is_produced_when_one_authoritys_cin_file_is_refused(refused_cin_run):
    """Without Eastmere's 2026 census, a child known to both authorities can be at a different tier in
    each (each authority decides from its own evidence; the partnership takes the strongest): the
    partnership's single tiers are then not unions of the authorities', which the disclosure relations
    once assumed, and the board pack stopped with 'counts break 1 relation(s)'. (This small partnership
    has no such child; test_publication.py simulates many, and the default partnership has some.)"""
    refused, results = refused_cin_run
    # a refused file fails its source's files_readable check (error, not blocking), not the step (issue 12)
    assert _failures(results["cin_census_refresh"]) == {}
    readable = {e.asset_key.to_user_string(): e.passed for e in results["cin_census_refresh"].get_asset_check_evaluations()
                if e.check_name == "files_readable"}
    assert readable["raw/cin_census"] is False
    assert _failures(results["quarterly_refresh"]) == {}
    board = materialisation_metadata(results["board_report"], "dashboards/board_report")
    assert board["reports"] == 6 and board["disclosure_relations_dropped"] == 0
    report = refused.output_dir / "dashboards" / "2026-03-31" / "neglect_board_report_2026-03-31.html"
    assert report.exists() and (report.parent / "exports" / "csv" / "prevalence.csv").exists()
    with duckdb.connect(str(refused.warehouse_path), read_only=True) as conn:
        census = dict(conn.execute("SELECT la_code, count(*) FROM raw.cin_child WHERE period_end = DATE '2026-03-31' "
                                   "GROUP BY la_code").fetchall())
    assert "992" not in census and census.get("991", 0) > 0


def test_an_intruder_with_every_pack_of_the_refused_refresh_recovers_nothing(refused_cin_run):
    refused, _ = refused_cin_run
    definitions = load_definitions()
    with duckdb.connect(str(refused.warehouse_path), read_only=True) as conn:
        truth = count_cells(conn, date(2026, 3, 31), definitions)
    result = attack_refreshes([(read_published(refused.output_dir), truth)], monotone_groups(definitions),
                              refused.suppression_threshold, integer=True)
    assert result.conflicts == [] and result.unmatched == [] and (result.ranges["reason"] == "suppressed").any()
    assert result.narrowed(refused.suppression_threshold).empty


# The census sent again: a second refresh with late data (slow, with test_refresh_slow.py: a full-size
# version of the same check runs there; the default suite has the republication rule on simulated
# children in test_publication.py and a second refresh of the default partnership in test_refresh.py).


@pytest.fixture(scope="module")
def corrected_run(refused_cin_run, no_png, tmp_path_factory):
    """Eastmere sends its census again, readable: the partnership refreshes from where it was, and the
    earlier quarters' figures change (late data)."""
    refused, _ = refused_cin_run
    folder = refused.synthetic_dir
    incoming = linked_incoming(folder / "incoming", tmp_path_factory.mktemp("corrected_incoming"),
                               replaced={rel: folder / "originals" / rel for rel in PLANTED})
    corrected = copy_state(refused, tmp_path_factory.mktemp("corrected_project"), incoming=incoming)
    results = refresh(corrected, QUARTERS, census_years=(2026, 2026), downstream=DOWNSTREAM_GROUPS)
    return corrected, results


@pytest.mark.slow
def test_the_corrected_refresh_revises_earlier_quarters_and_records_both_versions(corrected_run):
    corrected, results = corrected_run
    assert not any(_failures(r) for r in results.values())
    board = materialisation_metadata(results[DOWNSTREAM], "dashboards/board_report")
    assert board["publication_version"] == 2 and board["figures_revised"] > 0
    assert board["disclosure_relations_dropped"] == 0
    with duckdb.connect(str(corrected.warehouse_path), read_only=True) as conn:
        versions = conn.execute(f"SELECT version, count(*) FILTER (WHERE written) FROM {HISTORY_TABLE} "
                                "GROUP BY version ORDER BY version").fetchall()
    assert [v for v, _ in versions] == [1, 2] and all(n > 500 for _, n in versions)


@pytest.mark.slow
def test_an_intruder_with_both_refreshes_packs_recovers_nothing(refused_cin_run, corrected_run):
    """Every file of both refreshes (the first refresh's packs stay on the board's desk: the copy kept
    them), attacked together by integer programming."""
    refused, _ = refused_cin_run
    corrected, _ = corrected_run
    definitions = load_definitions()
    refreshes = []
    for state in (refused, corrected):
        with duckdb.connect(str(state.warehouse_path), read_only=True) as conn:
            truth = count_cells(conn, date(2026, 3, 31), definitions)
        refreshes.append((read_published(state.output_dir), truth))
    first_files = set(refreshes[0][0]["file"])
    assert first_files and first_files <= set(refreshes[1][0]["file"])  # the same packs, rewritten
    result = attack_refreshes(refreshes, monotone_groups(definitions), refused.suppression_threshold,
                              integer=True)
    assert result.conflicts == [] and result.unmatched == []
    assert (result.ranges["refresh"] == 2).any()  # revised counts are new cells
    narrowed = result.narrowed(refused.suppression_threshold)
    assert narrowed.empty, narrowed.head(10)
