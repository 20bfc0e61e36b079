"""Incremental refresh (issue 18): a refresh redoes only what changed, and gives what a full refresh gives.

A small partnership (seed 7, 20,000 children, as in ``test_refresh_slow.py``: at 3,000 children some rates
have more children than population and a blocking check stops the marts) is refreshed as `neglect run` does
(every census year, every quarter, the latest quarter's board pack) from an empty warehouse. Then:

* again with nothing changed: no source asset (every period unchanged) and no asset after the extracts is
  recomputed (each reports ``recomputed: false``), and every output file is what the first refresh wrote;
* one row of one file is changed (the latest quarter's early-help extract of the first authority, one
  character of its last field, the lead practitioner team, which no figure reads:
  :func:`sources.synthetic.edits.change_team`, ``bench/refresh_run.py``'s first change) and the project is
  refreshed again (*incremental*). A copy of the state before the change is refreshed on the same files with
  ``NEGLECT_READ_ALL=1`` and ``NEGLECT_RECOMPUTE_ALL=1`` (every file read, every asset rebuilt: a *full
  recomputation*), and a third project from an empty warehouse with the same pseudonym key (*from empty*).
  Every ``marts.*`` and ``published.*`` table and every output file (board pack, exports, mart files) of the
  incremental refresh equals the full recomputation's and the refresh from empty;
* then, from copies of the incremental project, a change that reaches the figures: one row of the same file
  loses its neglect need (:func:`sources.synthetic.edits.drop_neglect_need`, the benchmark's second change).
  The incremental refresh rebuilds the evidence, the tiers and the pack but reads no other file, relinks
  nobody and estimates hidden prevalence only for the quarters whose inputs changed; its tables and files
  equal a full recomputation's, and a refresh from empty's but for the publication history (the incremental
  project has published a second version, kept consistent with its first; the cells its pack wrote are the
  same).

Slow (eight refreshes of a small partnership, several minutes on a busy 2-core machine): ``pytest -m slow``.
"""
from __future__ import annotations

from datetime import date

import duckdb
import pytest

from refresh_helpers import (copy_state, file_differences, file_digests, linked_incoming, project_settings, run_everything,
                             step_failures, table_differences)
from dashboards.publication import HISTORY_TABLE
from sources.synthetic.config import GeneratorConfig
from sources.synthetic.edits import change_team, drop_neglect_need
from sources.synthetic.generate import generate_partnership

pytestmark = pytest.mark.slow

TODAY = date(2026, 11, 23)
OUTPUTS = ("dashboards", "marts")


def reusable_materialisations(results) -> dict[str, dict]:
    """Asset key -> metadata of each materialisation in the runs ``results`` of an asset that may be reported
    again instead of recomputed (its metadata says ``recomputed``: linkage, marts, board pack, source assets)."""
    found = {}
    for result in results.values():
        for event in result.get_asset_materialization_events():
            metadata = {k: v.value for k, v in event.materialization.metadata.items()}
            if "recomputed" in metadata:
                found[event.materialization.asset_key.to_user_string()] = metadata
    return found


@pytest.fixture(scope="module")
def refreshes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seed7")
    generate_partnership(GeneratorConfig(seed=7, children=20_000), folder)
    incoming = linked_incoming(folder / "incoming", tmp_path_factory.mktemp("incoming"))
    first = project_settings(folder, tmp_path_factory.mktemp("incremental"), incoming, latent_class_draws=50)
    runs = {"first": run_everything(first, TODAY)}
    before = {part: file_digests(first.output_dir / part) for part in OUTPUTS}
    runs["unchanged"] = run_everything(first, TODAY)
    after = {part: file_digests(first.output_dir / part) for part in OUTPUTS}
    full = copy_state(first, tmp_path_factory.mktemp("full_recomputation"))
    change_team(incoming)
    runs["incremental"] = run_everything(first, TODAY)
    runs["full"] = recomputed_in_full(full)
    empty = project_settings(folder, tmp_path_factory.mktemp("from_empty"), incoming, latent_class_draws=50)
    runs["from_empty"] = refreshed_from_empty(empty, first)
    return {"runs": runs, "incremental": first, "full": full, "empty": empty, "files_before": before,
            "files_after": after, "folder": folder, "incoming": incoming}


def full_quarters(results) -> int:
    """How many quarters the quarterly run of ``results`` built the hidden-prevalence mart for."""
    return len({e.partition for e in results["quarterly_refresh"].get_asset_materialization_events()
                if e.asset_key.to_user_string() == "marts/hidden_prevalence"})


def recomputed_in_full(settings) -> dict:
    """`neglect run`'s plan with every file read and every asset rebuilt (a *full recomputation*)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NEGLECT_READ_ALL", "1")
        env.setenv("NEGLECT_RECOMPUTE_ALL", "1")
        return run_everything(settings, TODAY)


def refreshed_from_empty(empty, keyed_like) -> dict:
    """`neglect run`'s plan in the new project ``empty`` with the pseudonym key of ``keyed_like``."""
    empty.pseudonym_key_path.parent.mkdir(parents=True, exist_ok=True)
    empty.pseudonym_key_path.write_bytes(keyed_like.pseudonym_key_path.read_bytes())
    return run_everything(empty, TODAY)


def assert_every_run_succeeded(runs: dict) -> None:
    for name, results in runs.items():
        for job, result in results.items():
            assert not step_failures(result), (name, job, step_failures(result))


def assert_same_figures(incremental, against, skip: tuple[str, ...] = ()) -> None:
    """Every marts.* and published.* table (but ``skip``) and every output file of the two projects are the same."""
    assert table_differences(incremental.warehouse_path, against.warehouse_path,
                             only=("marts", "published"), skip=skip) == {}
    for part in OUTPUTS:
        assert file_differences(incremental.output_dir / part, against.output_dir / part) == [], part


@pytest.fixture(scope="module")
def need_dropped(refreshes, tmp_path_factory):
    """The second change (one row's neglect need dropped), refreshed three ways from copies of the incremental
    project after the first change: the first change's projects are left as they were for its tests."""
    first, incoming = refreshes["incremental"], refreshes["incoming"]
    incremental = copy_state(first, tmp_path_factory.mktemp("need_incremental"))
    full = copy_state(first, tmp_path_factory.mktemp("need_full_recomputation"))
    drop_neglect_need(incoming)
    runs = {"incremental": run_everything(incremental, TODAY), "full": recomputed_in_full(full)}
    empty = project_settings(refreshes["folder"], tmp_path_factory.mktemp("need_from_empty"), incoming,
                             latent_class_draws=50)
    runs["from_empty"] = refreshed_from_empty(empty, first)
    return {"runs": runs, "incremental": incremental, "full": full, "empty": empty}


def test_every_refresh_succeeds(refreshes):
    assert_every_run_succeeded(refreshes["runs"])


def test_an_unchanged_refresh_recomputes_nothing_after_the_extracts(refreshes):
    first = reusable_materialisations(refreshes["runs"]["first"])
    again = reusable_materialisations(refreshes["runs"]["unchanged"])
    assert {"raw/cin_census", "raw/early_help", "linkage/person_links", "marts/child_neglect_evidence",
            "marts/hidden_prevalence", "dashboards/board_report"} <= set(first)
    assert set(again) == set(first)
    assert all(meta["recomputed"] for meta in first.values())
    assert {name for name, meta in again.items() if meta["recomputed"]} == set()
    assert refreshes["files_after"] == refreshes["files_before"]


def test_a_changed_file_is_recomputed(refreshes):
    changed = reusable_materialisations(refreshes["runs"]["incremental"])
    assert changed["raw/early_help"]["recomputed"] and not changed["raw/person_list"]["recomputed"]
    assert changed["marts/child_neglect_evidence"]["recomputed"]
    # the changed field (the early-help lead practitioner team) is not one linkage reads: the links are reused;
    # nor is it in staging.* or the evidence, which the evidence mart rebuilds to the same rows, so nothing after
    # it is recomputed (the tables they read are unchanged: @reusable(reads=...)); and the figures still equal a
    # full refresh's, below
    assert not changed["linkage/person_links"]["recomputed"]
    after_evidence = ("marts/child_neglect_tier", "marts/neglect_prevalence", "marts/hidden_prevalence",
                      "marts/commissioning_view", "marts/gcp2_progress", "dashboards/board_report")
    assert [name for name in after_evidence if changed[name]["recomputed"]] == []


@pytest.mark.parametrize("other", ["full", "empty"])
def test_the_incremental_refresh_gives_the_figures_of_a_full_refresh(refreshes, other):
    assert_same_figures(refreshes["incremental"], refreshes[other])


def test_every_refresh_after_the_second_change_succeeds(need_dropped):
    assert_every_run_succeeded(need_dropped["runs"])


def test_a_change_that_reaches_the_figures_rebuilds_what_follows_it_and_no_more(need_dropped):
    changed = reusable_materialisations(need_dropped["runs"]["incremental"])
    assert changed["raw/early_help"]["recomputed"] and not changed["raw/person_list"]["recomputed"]
    assert not changed["linkage/person_links"]["recomputed"]  # no identifier changed
    assert changed["marts/child_neglect_evidence"]["recomputed"] and changed["marts/child_neglect_tier"]["recomputed"]
    assert changed["dashboards/board_report"]["recomputed"]
    full = reusable_materialisations(need_dropped["runs"]["full"])
    estimated, every = changed["marts/hidden_prevalence"], full["marts/hidden_prevalence"]
    # the full recomputation (NEGLECT_RECOMPUTE_ALL=1) estimates every quarter; here no capture history changed
    assert every["quarters_estimated"] == full_quarters(need_dropped["runs"]["full"])
    assert estimated["quarters_estimated"] < every["quarters_estimated"]


def test_the_second_change_reached_the_figures(refreshes, need_dropped):
    """The dropped need changed the evidence and the tiers (the first change changed neither), so what the
    comparisons below find the same is not the same for want of a change."""
    changed = table_differences(refreshes["incremental"].warehouse_path, need_dropped["incremental"].warehouse_path,
                                only=("marts",))
    assert {"marts.child_neglect_evidence", "marts.child_neglect_tier"} <= set(changed)


def test_after_a_change_that_reaches_the_figures_they_equal_a_full_recomputations(need_dropped):
    assert_same_figures(need_dropped["incremental"], need_dropped["full"])


def test_after_a_change_that_reaches_the_figures_they_equal_a_refresh_from_empty(need_dropped):
    """The same tables and files, but the publication history: the incremental project has published twice (its
    second pack kept consistent with the first), the project from empty once. The cells its latest pack wrote are
    the ones the pack from empty wrote; cells not written (earlier quarters' breakdowns) may be protected
    differently, as the first version's choices constrain the second's."""
    incremental, empty = need_dropped["incremental"], need_dropped["empty"]
    assert_same_figures(incremental, empty, skip=(HISTORY_TABLE,))
    columns = "threshold, cell, count, shown, published"
    latest = f"SELECT {columns} FROM incremental.{HISTORY_TABLE} WHERE version = 2 AND written"
    fresh = f"SELECT {columns} FROM empty.{HISTORY_TABLE} WHERE written"
    with duckdb.connect() as conn:
        conn.execute(f"ATTACH '{incremental.warehouse_path}' AS incremental (READ_ONLY)")
        conn.execute(f"ATTACH '{empty.warehouse_path}' AS empty (READ_ONLY)")
        versions = [conn.execute(f"SELECT list_sort(list(DISTINCT version)) FROM {db}.{HISTORY_TABLE}").fetchall()[0][0]
                    for db in ("incremental", "empty")]
        assert versions == [[1, 2], [1]]
        assert conn.execute(f"SELECT count(*) FROM ({fresh})").fetchall()[0][0] > 0
        for a, b in ((latest, fresh), (fresh, latest)):
            assert conn.execute(f"SELECT count(*) FROM ({a} EXCEPT ALL {b})").fetchall()[0][0] == 0
