"""Waiting for other Dagster runs that use the warehouse, out loud and for a limited time.

DuckDB allows one writer per file, so every asset that writes the warehouse is in the Dagster
pool ``duckdb_warehouse`` (limit 1). A run started from the Dagster UI, a schedule or the sensor
holds a slot of that pool while its step runs; a `neglect run` started meanwhile would wait for
it without a word. :func:`wait_for_other_runs` is called before each job `neglect run` runs: it
lists the runs in progress on this Dagster instance, prints what it waits for, and gives up
after ``minutes`` with what to do. Slots still held by runs that have ended (a process killed
before it could free them) are freed, with a note.

Another *process* holding the DuckDB file (an analyst's open connection: DuckDB's command line, DBeaver,
an ODBC connection from Excel or Power BI) is waited for the same way: :func:`connect_when_free`, used
by the warehouse resources for every connection, names the program and PID that DuckDB's lock error
gives, and gives up after ``wait_minutes`` (:class:`WarehouseHeld`).
"""
from __future__ import annotations

import re
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


# ---------------------------------------------------------------------------------------------
# A warehouse file held open by another process (an analyst's DuckDB, DBeaver, Excel/Power BI ODBC)
# ---------------------------------------------------------------------------------------------

HELD_PREFIX = "warehouse held:"  # log lines `neglect run` prints as they come (see cli._EventPrinter)
FORMAT_PREFIX = "warehouse format:"  # the warehouse file's storage format (pipelines.resources)
_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)"
                     r"(?: by user (?P<user>\S+?)\.?(?:\s|$))?")


class WarehouseHeld(Exception):
    """Another process kept the DuckDB file locked for longer than the wait allowed."""


def lock_holder(message: str) -> str | None:
    """Who holds a DuckDB file, from DuckDB's lock error (``Conflicting lock is held in <program> (PID n)``):
    e.g. ``"/usr/bin/duckdb (PID 4242)"``; None when ``message`` is not a lock conflict."""
    found = _HOLDER.search(message)
    if not found:
        return None
    user = f", user {found['user']}" if found["user"] else ""
    return f"{found['program']} (PID {found['pid']}{user})"


def connect_when_free(connect, path: str, minutes: float, log=None, poll_seconds: float = POLL_SECONDS):
    """``connect()`` (a DuckDB connection to ``path``), waiting out loud while another process holds the file.

    DuckDB lets one process write a database file; a second one, even a read-only one (an analyst's DuckDB
    command line, DBeaver, an ODBC connection from Excel or Power BI), makes ``connect()`` fail with a lock
    error naming the program and its PID. This retries every ``poll_seconds`` for up to ``minutes``, says
    (through ``log``, a callable taking one line, once per holder) what holds the file, and then raises
    :class:`WarehouseHeld` saying what to do. Any other error is raised at once. (Dagster's own DuckDB
    resource retried ten times with backoff, about 100 s, without a word.)
    """
    import duckdb

    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    deadline = time.monotonic() + 60 * minutes
    told: set[str] = set()
    while True:
        try:
            return connect()
        except duckdb.IOException as exc:
            holder = lock_holder(str(exc))
            if holder is None:
                raise
        if time.monotonic() > deadline:
            raise WarehouseHeld(
                f"gave up after {minutes:g} minutes: the warehouse {path} is held open by {holder}. Close that "
                "program's connection to it (an analyst's DuckDB, DBeaver, or an Excel / Power BI ODBC "
                "connection; for reading, the Parquet files in output/marts/ need no connection), then run "
                "again; setting wait_minutes says how long to wait") from None
        if holder not in told:
            told.add(holder)
            log(f"{HELD_PREFIX} waiting for {holder}, which holds the warehouse {path} open (DuckDB lets one "
                f"process at a time use the file). Giving up after {minutes:g} minutes (setting wait_minutes) ...")
        time.sleep(poll_seconds)
