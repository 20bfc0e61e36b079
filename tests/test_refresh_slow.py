"""Repeatability and disclosure over two refreshes of another partnership (slow: ``pytest -m slow``).

Seed 7, 20,000 children. The first refresh loads every period up to 31 December 2025; the second adds
the quarter ending 31 March 2026, whose folders also hold the 2026 census: late data that revise the
earlier quarters (a census reports a year's assessments only in March). Each refresh is run twice from
the same state (the first from an empty warehouse, the second from the first's state), and the two
results must be identical table for table and byte for byte; then every pack of both refreshes is
attacked together by integer programming.
"""
from __future__ import annotations

from datetime import date

import duckdb
import pytest

from dashboards.audit import attack_refreshes, read_published
from dashboards.publication import HISTORY_TABLE, count_cells, monotone_groups
from models.marts.definitions import load_definitions
from pipelines.settings import Settings
from refresh_helpers import (copy_state, file_differences, linked_incoming, materialisation_metadata, project_settings,
                             refresh, step_failures, table_differences)
from sources.synthetic.config import GeneratorConfig
from sources.synthetic.generate import generate_partnership

pytestmark = pytest.mark.slow

FIRST, LAST, NEW_QUARTER = date(2023, 6, 30), date(2025, 12, 31), date(2026, 3, 31)  # 11 quarters, then 12
SKIP = ("quality.load_audit",  # load time and Dagster run id of each file: an audit trail, not a figure
        "cache.asset_builds",  # what each asset's last build reported (its folders, seconds): not a figure
        "cache.asset_files")  # the SHA-256 of each file a build wrote, Data Docs pages (with run times) included


@pytest.fixture(scope="module")
def other_partnership(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seed7")
    generate_partnership(GeneratorConfig(seed=7, children=20_000), folder)
    return folder


def _empty_project(folder, project, incoming) -> Settings:
    return project_settings(folder, project, incoming)


@pytest.fixture(scope="module")
def first_refreshes(other_partnership, tmp_path_factory):
    """The first refresh, twice, from an empty warehouse with the same pseudonym key."""
    incoming = linked_incoming(other_partnership / "incoming", tmp_path_factory.mktemp("incoming_to_2025"),
                               left_out=(NEW_QUARTER.isoformat(),))
    runs = []
    for name in ("first_a", "first_b"):
        settings = _empty_project(other_partnership, tmp_path_factory.mktemp(name), incoming)
        if runs:
            settings.pseudonym_key_path.parent.mkdir(parents=True, exist_ok=True)
            settings.pseudonym_key_path.write_bytes(runs[0][0].pseudonym_key_path.read_bytes())
        runs.append((settings, refresh(settings, (FIRST, LAST), census_years=(2024, 2025))))
    return runs


@pytest.fixture(scope="module")
def second_refreshes(other_partnership, first_refreshes, tmp_path_factory):
    """The second refresh (all extracts), twice, each from a copy of the first refresh's state (its packs
    included: the new refresh rewrites them, and keeps the PNG charts of the first one's latest quarter)."""
    first, _ = first_refreshes[0]
    runs = []
    for name in ("second_a", "second_b"):
        settings = copy_state(first, tmp_path_factory.mktemp(name), incoming=other_partnership / "incoming")
        runs.append((settings, refresh(settings, (FIRST, NEW_QUARTER), census_years=(2026, 2026))))
    return runs


def test_every_refresh_succeeds(first_refreshes, second_refreshes):
    for _, results in first_refreshes + second_refreshes:
        for job, result in results.items():
            assert not step_failures(result), (job, step_failures(result))


def test_the_first_refresh_twice_from_an_empty_warehouse_gives_the_same_marts_and_packs(first_refreshes):
    (a, _), (b, _) = first_refreshes
    assert table_differences(a.warehouse_path, b.warehouse_path, skip=SKIP) == {}
    assert file_differences(a.output_dir / "dashboards", b.output_dir / "dashboards") == []


def test_the_second_refresh_twice_from_the_same_state_gives_the_same_marts_and_packs(second_refreshes):
    (a, _), (b, _) = second_refreshes
    assert table_differences(a.warehouse_path, b.warehouse_path, skip=SKIP) == {}
    packs_b = b.output_dir / "dashboards"
    assert len(list(packs_b.glob("*/*.html"))) == 12
    differing = file_differences(a.output_dir / "dashboards", packs_b)
    assert differing == []


def test_late_data_make_a_second_version_and_both_are_safe_together(first_refreshes, second_refreshes):
    first, _ = first_refreshes[0]
    second, results = second_refreshes[0]
    board = materialisation_metadata(results["board_report"], "dashboards/board_report")
    assert board["publication_version"] == 2 and board["figures_revised"] > 0
    assert board["disclosure_relations_dropped"] == 0 and board["disclosure_cells_unprotected"] == 0
    with duckdb.connect(str(second.warehouse_path), read_only=True) as conn:
        versions = [v for (v,) in conn.execute(f"SELECT DISTINCT version FROM {HISTORY_TABLE} ORDER BY 1").fetchall()]
    assert versions == [1, 2]
    definitions = load_definitions()
    refreshes = []
    for state, latest in ((first, LAST), (second, NEW_QUARTER)):
        with duckdb.connect(str(state.warehouse_path), read_only=True) as conn:
            truth = count_cells(conn, latest, definitions)
        refreshes.append((read_published(state.output_dir), truth))
    result = attack_refreshes(refreshes, monotone_groups(definitions), first.suppression_threshold,
                              integer=True)
    assert result.conflicts == [] and result.unmatched == []
    assert (result.ranges["refresh"] == 2).any()
    narrowed = result.narrowed(first.suppression_threshold)
    assert narrowed.empty, narrowed.head(10)
