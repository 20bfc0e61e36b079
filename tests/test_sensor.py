"""The incoming-files sensor: the census years and the quarters (with everything downstream) that new or changed
files affect, one refresh per change, keyed by the files' content."""
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
        # as the daemon does: the extracts resource is a context manager (the run's reader pool)
        with build_sensor_context(instance=instance, cursor=cursor,
                                  resources={"extracts": IncomingExtracts(incoming_dir=str(incoming))}) as context:
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


def _summary(requests):
    return {(r.job_name, r.partition_key, r.tags.get("dagster/asset_partition_range_start"),
             r.tags.get("dagster/asset_partition_range_end"), r.tags["neglect/quarter_end"])
            for r in requests.values()}


def test_first_tick_loads_the_census_years_then_refreshes_every_affected_quarter_downstream(tmp_path):
    requests, cursor = _tick(_incoming(tmp_path))
    # census 2025-26 (key 2025-04-01) and extracts for quarters ending 30 Sep and 31 Dec 2025: the census run,
    # then the whole quarterly job (extracts, linkage, marts) from the first affected quarter to the latest
    assert _summary(requests) == {("cin_census_refresh", "2025-04-01", None, None, "2026-03-31"),
                                  ("quarterly_refresh", None, "2025-04-01", "2026-01-01", "2026-03-31")}
    assert all(r.asset_selection is None for r in requests.values())  # the job's selection: downstream included
    assert len(json.loads(cursor)["files"]) == 3  # a cached hash per file


def test_unchanged_folder_starts_nothing_and_a_changed_file_refreshes_from_its_quarter(tmp_path):
    incoming = _incoming(tmp_path)
    first, cursor = _tick(incoming)
    again, cursor = _tick(incoming, cursor)
    assert again == {}
    path = incoming / "992_eastmere/2025-12-31/annex_a_list_7_child_protection.csv"
    path.write_bytes(path.read_bytes() + b"\n")
    changed, cursor = _tick(incoming, cursor)
    # one refresh, quarterly only, from the changed quarter (ending 31 Dec 2025) to the latest with files
    assert _summary(changed) == {("quarterly_refresh", None, "2025-10-01", "2026-01-01", "2026-03-31")}
    assert not set(changed) & set(first)
    assert _tick(incoming, cursor)[0] == {}


def test_a_new_latest_quarter_is_one_quarterly_run_for_that_quarter(tmp_path):
    incoming = _incoming(tmp_path)
    _, cursor = _tick(incoming)
    rel = "992_eastmere/2026-03-31/csc_person_list.csv"
    (incoming / rel).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(BAD / "992_eastmere/2025-09-30/csc_person_list.csv", incoming / rel)
    requests, _ = _tick(incoming, cursor)
    assert _summary(requests) == {("quarterly_refresh", "2026-01-01", None, None, "2026-03-31")}


def test_cursor_of_the_older_sensor_is_kept_as_the_file_cache(tmp_path):
    incoming = _incoming(tmp_path)
    _, cursor = _tick(incoming)
    old = json.dumps(json.loads(cursor)["files"])  # the sensor before this change kept only the file hashes
    requests, upgraded = _tick(incoming, old)
    assert len(requests) == 2 and json.loads(upgraded)["files"] == json.loads(old)


def test_requests_are_valid_for_the_jobs_of_the_code_location(tmp_path):
    """Evaluated as the daemon does (with the repository): partition keys and ranges resolve against the jobs."""
    with DagsterInstance.ephemeral(settings={"telemetry": {"enabled": False}}) as instance:
        with build_sensor_context(instance=instance, repository_def=defs.get_repository_def(),
                                  resources={"extracts": IncomingExtracts(incoming_dir=str(_incoming(tmp_path)))}
                                  ) as context:
            result = incoming_files_sensor.evaluate_tick(context)
    assert {r.job_name for r in result.run_requests} == {"cin_census_refresh", "quarterly_refresh"}


def test_a_scan_is_kept_while_the_folder_is_unchanged_and_made_again_when_it_changes(tmp_path):
    """IncomingExtracts.scan keeps a scan for the process (every source asset of a run scans): given again, as a
    copy, while nothing under the folder changed; a file added, removed or rewritten is seen at once."""
    incoming = _incoming(tmp_path)
    extracts = IncomingExtracts(incoming_dir=str(incoming))
    first = extracts.scan()
    rels = sorted(f.rel for f in first.files)
    assert len(rels) == 3
    first.files.clear()  # a caller changing its scan does not change the next one
    assert sorted(f.rel for f in extracts.scan().files) == rels
    shutil.copyfile(BAD / "992_eastmere/2025-09-30/csc_person_list.csv",
                    incoming / "992_eastmere/2025-12-31/csc_person_list.csv")
    assert len(extracts.scan().files) == 4
    (incoming / "992_eastmere/2025-12-31/csc_person_list.csv").unlink()
    assert sorted(f.rel for f in extracts.scan().files) == rels
    moved = incoming / "992_eastmere/2025-12-31/annex_a_list_7_child_protection.csv"
    moved.rename(moved.with_name("notes.csv"))  # renamed (still recognised as a CP list by its columns)
    assert [f.rel for f in extracts.scan().files if f.source == "cp_list"] == ["992_eastmere/2025-12-31/notes.csv"]
