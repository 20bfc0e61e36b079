"""The incoming-files sensor: one run per (asset, period) with files, keyed by their content."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from dagster import DagsterInstance, build_sensor_context

from pipelines.definitions import defs
from pipelines.resources import IncomingExtracts

incoming_files_sensor = defs.resolve_sensor_def("incoming_files_sensor")

BAD = Path(__file__).parent / "fixtures" / "bad_files" / "incoming"


def _tick(incoming: Path, cursor: str | None = None):
    with DagsterInstance.ephemeral(settings={"telemetry": {"enabled": False}}) as instance:
        context = build_sensor_context(instance=instance, cursor=cursor,
                                       resources={"extracts": IncomingExtracts(incoming_dir=str(incoming))})
        result = incoming_files_sensor(context)
    return {r.run_key: r for r in result.run_requests}, result.cursor


def _incoming(tmp_path: Path) -> Path:
    incoming = tmp_path / "incoming"
    for rel in ["992_eastmere/2025-12-31/annex_a_list_7_child_protection.csv",
                "992_eastmere/2026-03-31/cin_census_2026.xml",
                "992_eastmere/2025-09-30/csc_person_list.csv"]:
        (incoming / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(BAD / rel, incoming / rel)
    (incoming / "reference").mkdir()
    return incoming


def test_one_request_per_asset_and_period_with_the_right_partition(tmp_path):
    requests, cursor = _tick(_incoming(tmp_path))
    by_asset = {(r.asset_selection[0].to_user_string(), r.partition_key, r.job_name) for r in requests.values()}
    assert by_asset == {("raw/cp_list", "2025-10-01", "quarterly_refresh"),
                        ("raw/cin_census", "2025-04-01", "cin_census_refresh"),
                        ("raw/person_list", "2025-07-01", "quarterly_refresh")}
    assert len(json.loads(cursor)) == 3  # a cached hash per file


def test_run_keys_stay_while_files_are_unchanged_and_change_with_content(tmp_path):
    incoming = _incoming(tmp_path)
    first, cursor = _tick(incoming)
    again, cursor = _tick(incoming, cursor)
    assert set(again) == set(first)  # Dagster skips run keys it has seen: nothing new starts
    path = incoming / "992_eastmere/2025-12-31/annex_a_list_7_child_protection.csv"
    path.write_bytes(path.read_bytes() + b"\n")
    changed, _ = _tick(incoming, cursor)
    new = set(changed) - set(first)
    assert len(new) == 1 and next(iter(new)).startswith("raw/cp_list:2025-10-01:")
