"""Incremental refresh (issue 18): a refresh redoes only what changed, and gives what a full refresh gives.

A small partnership (seed 7, 20,000 children, as in ``test_refresh_slow.py``: at 3,000 children some rates
have more children than population and a blocking check stops the marts) is refreshed as `neglect run` does
(every census year, every quarter, the latest quarter's board pack) from an empty warehouse. Then:

* again with nothing changed: no source asset (every period unchanged) and no asset after the extracts is
  recomputed (each reports ``recomputed: false``), and every output file is what the first refresh wrote;
* one row of one file is changed (the latest quarter's early-help extract of the first authority, one
  character of its last field: ``bench/refresh_run.py``'s change) and the project is refreshed again
  (*incremental*). A copy of the state before the change is refreshed on the same files with
  ``NEGLECT_READ_ALL=1`` and ``NEGLECT_RECOMPUTE_ALL=1`` (every file read, every asset rebuilt: a *full
  recomputation*), and a third project from an empty warehouse with the same pseudonym key (*from empty*).
  Every ``marts.*`` and ``published.*`` table and every output file (board pack, exports, mart files) of the
  incremental refresh equals the full recomputation's and the refresh from empty.

Slow (five refreshes of a small partnership, several minutes on a busy 2-core machine): ``pytest -m slow``.
"""
from __future__ import annotations

from datetime import date

import pytest

from refresh_helpers import (copy_state, file_differences, file_digests, linked_incoming, project_settings, run_everything,
                             step_failures, table_differences)
from sources.synthetic.config import GeneratorConfig
from sources.synthetic.generate import generate_partnership

pytestmark = pytest.mark.slow

TODAY = date(2026, 11, 23)
OUTPUTS = ("dashboards", "marts")


def change_one_row(incoming) -> str:
    """Rewrite the latest quarter's early-help CSV of the first authority with one character of its first data
    row's last field changed (a new file, not the hard-linked original); returns its path in the folder."""
    files = sorted(incoming.glob("*/*/early_help*.csv"))
    latest = max(p.parent.name for p in files)
    path = [p for p in files if p.parent.name == latest][0]
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    row = lines[1].rstrip("\r\n")
    lines[1] = row[:-1] + ("1" if row[-1] != "1" else "2") + lines[1][len(row):]
    path.unlink()
    path.write_text("".join(lines), encoding="utf-8")
    return path.relative_to(incoming).as_posix()


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
    changed = change_one_row(incoming)
    runs["incremental"] = run_everything(first, TODAY)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NEGLECT_READ_ALL", "1")
        env.setenv("NEGLECT_RECOMPUTE_ALL", "1")
        runs["full"] = run_everything(full, TODAY)
    empty = project_settings(folder, tmp_path_factory.mktemp("from_empty"), incoming, latent_class_draws=50)
    empty.pseudonym_key_path.parent.mkdir(parents=True, exist_ok=True)
    empty.pseudonym_key_path.write_bytes(first.pseudonym_key_path.read_bytes())
    runs["from_empty"] = run_everything(empty, TODAY)
    return {"runs": runs, "incremental": first, "full": full, "empty": empty, "changed": changed,
            "files_before": before, "files_after": after}


def test_every_refresh_succeeds(refreshes):
    for name, results in refreshes["runs"].items():
        for job, result in results.items():
            assert not step_failures(result), (name, job, step_failures(result))


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
    incremental, against = refreshes["incremental"], refreshes[other]
    assert table_differences(incremental.warehouse_path, against.warehouse_path,
                             only=("marts", "published")) == {}
    for part in OUTPUTS:
        assert file_differences(incremental.output_dir / part, against.output_dir / part) == [], part
