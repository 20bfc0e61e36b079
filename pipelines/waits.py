"""Waiting for other Dagster runs that use the warehouse, out loud and for a limited time.

DuckDB allows one writer per file, so every asset that writes the warehouse is in the Dagster
pool ``duckdb_warehouse`` (limit 1). A run started from the Dagster UI, a schedule or the sensor
holds a slot of that pool while its step runs; a `neglect run` started meanwhile would wait for
it without a word. :func:`wait_for_other_runs` is called before each job `neglect run` runs: it
lists the runs in progress on this Dagster instance, prints what it waits for, and gives up
after ``minutes`` with what to do. Slots still held by runs that have ended (a process killed
before it could free them) are freed, with a note.
"""
from __future__ import annotations

import sys
import time

WAREHOUSE_POOL = "duckdb_warehouse"
POLL_SECONDS = 2.0
IN_PROGRESS = ("STARTING", "STARTED", "CANCELING")


def runs_in_progress(instance) -> list:
    """Runs of this instance that are starting, running or being cancelled."""
    from dagster import DagsterRunStatus, RunsFilter

    return list(instance.get_runs(filters=RunsFilter(statuses=[DagsterRunStatus[s] for s in IN_PROGRESS])))


def free_stale_slots(instance) -> list[str]:
    """Free the warehouse pool's slots held by runs that are no longer in progress; their run ids."""
    storage = instance.event_log_storage
    try:
        info = storage.get_concurrency_info(WAREHOUSE_POOL)
    except Exception:  # noqa: BLE001 - a storage without pools: nothing to free
        return []
    freed = []
    for run_id in sorted({slot.run_id for slot in info.claimed_slots if slot.run_id}):
        run = instance.get_run_by_id(run_id)
        if run is None or run.status.value not in IN_PROGRESS:
            storage.free_concurrency_slots_for_run(run_id)
            freed.append(run_id)
    return freed


def _describe(run) -> str:
    launched = run.tags.get("neglect/launched_by") or run.tags.get("dagster/schedule_name") or \
        run.tags.get("dagster/sensor_name") or "the Dagster UI"
    return f"Dagster run {run.run_id[:8]} ({run.job_name}, started from {launched}, {run.status.value.lower()})"


def wait_for_other_runs(instance, minutes: float, out=None, err=None) -> bool:
    """Wait until no other run is in progress on ``instance``; False (after printing what to do) on timeout."""
    out, err = out or sys.stdout, err or sys.stderr
    for run_id in free_stale_slots(instance):
        print(f"note: freed the warehouse slot still held by run {run_id[:8]}, which is no longer running", file=out)
    deadline = time.monotonic() + 60 * minutes
    told: set[str] = set()
    while True:
        running = runs_in_progress(instance)
        if not running:
            return True
        for run in running:
            if run.run_id not in told:
                told.add(run.run_id)
                print(f"Waiting for {_describe(run)} to finish: it uses the warehouse. Giving up after "
                      f"{minutes:g} minutes (setting wait_minutes) ...", file=out, flush=True)
        if time.monotonic() > deadline:
            names = "; ".join(_describe(r) for r in running)
            print(f"error: gave up after {minutes:g} minutes waiting for {names}. Let it finish, or stop it in the "
                  "Dagster UI (`make dagster`, Runs, the run, Terminate), then run `neglect run` again. If its "
                  "process is gone (the machine restarted), Terminate in the UI marks it ended.", file=err)
            return False
        time.sleep(POLL_SECONDS)
