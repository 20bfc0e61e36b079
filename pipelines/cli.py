"""The ``neglect`` command: generate the synthetic partnership, run the pipeline, show settings.

    neglect generate [--children N] [--seed S] [--out DIR] [--force]
    neglect run [--no-generate] [--all-reports]
    neglect paths

``run`` executes the jobs ``cin_census_refresh`` (every census year with a return),
``quarterly_refresh`` (every quarter from the first to the last period with files, as one
run over the range) and ``board_report`` (the latest quarter; every quarter with ``--all-reports``) in this process against the
persistent Dagster instance (``DAGSTER_HOME`` = the project root, state in ``.dagster/``), so
its runs appear in the Dagster UI. It first prints what the incoming folder holds and what it
skipped (with the reason). Exit codes: 0 success, 1 a file could not be read, a run or an
error check failed (or the input is missing, or generation failed), 2 the synthetic generator
is not available, 130 interrupted.

No Python traceback reaches the terminal: an unexpected error is reported in one line with
what to do, and its details are written to ``logs/neglect-<date and time>.log``.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Callable

from . import waits
from .settings import Settings, SettingsError, load_settings

EXIT_OK, EXIT_FAILED, EXIT_NO_GENERATOR = 0, 1, 2
LAUNCHED_BY_TAG, LAUNCHED_BY = "neglect/launched_by", "neglect run"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_OK
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        return args.handler(args, settings)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback on the analyst's terminal: one line, and the details in a log
        log = _write_crash_log(settings)
        print(f"error: {_plain(exc)}\nThis is not something in your files that you can fix. The details are in "
              f"{log}; please send that file to whoever supports the pipeline.", file=sys.stderr)
        return EXIT_FAILED


def _plain(exc: Exception) -> str:
    """An exception in one line: its message, without Dagster's or Python's internals."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) < 400 else text[:400] + " ..."


def _write_crash_log(settings: Settings) -> Path:
    """Write the current exception's traceback to logs/neglect-<timestamp>.log under the project root."""
    import traceback
    from datetime import datetime

    folder = settings.project_root / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"neglect-{datetime.now():%Y%m%d-%H%M%S}.log"
    path.write_text(traceback.format_exc(), encoding="utf-8")
    return path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neglect",
        description="Neglect prevalence pipeline for a local safeguarding partnership.",
        epilog="Settings come from settings.toml and NEGLECT_* environment variables; see `neglect paths`.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    gen = sub.add_parser("generate", help="build the synthetic partnership (fictional extracts and their truth)")
    gen.add_argument("--children", type=int, default=None, help="children aged 0-17 (default: setting synthetic_children)")
    gen.add_argument("--seed", type=int, default=None, help="random seed (default: setting synthetic_seed)")
    gen.add_argument("--out", type=Path, default=None, help="output folder (default: setting synthetic_dir)")
    gen.add_argument("--force", action="store_true", help="rebuild even if OUT/manifest.json exists")
    gen.set_defaults(handler=cmd_generate)

    run = sub.add_parser("run", help="run the pipeline (job quarterly_refresh) and print where its outputs are")
    run.add_argument("--no-generate", action="store_true",
                     help="do not build the synthetic partnership, even if it is missing")
    run.add_argument("--all-reports", action="store_true",
                     help="write the board report of every quarter with data, not only the latest quarter's")
    run.set_defaults(handler=cmd_run)

    paths = sub.add_parser("paths", help="print the resolved settings")
    paths.set_defaults(handler=cmd_paths)
    return parser


# ---------------------------------------------------------------- generate

def cmd_generate(args, settings: Settings) -> int:
    out = (args.out if args.out is not None else settings.synthetic_dir).expanduser().resolve()
    children = args.children if args.children is not None else settings.synthetic_children
    seed = args.seed if args.seed is not None else settings.synthetic_seed
    if (out / "manifest.json").exists() and not args.force:
        print(f"A synthetic partnership already exists in {out} (manifest.json); use --force to rebuild it.")
        return EXIT_OK
    return _generate(out, children, seed)


def _generate(out: Path, children: int, seed: int) -> int:
    try:
        from sources.synthetic.config import GeneratorConfig
        from sources.synthetic.generate import generate_partnership
    except ImportError as exc:
        print("error: the synthetic partnership generator (sources.synthetic.generate) cannot be imported:\n"
              f"  {exc}\n"
              "It may not be written yet. Put real extracts in the incoming folder instead "
              "(setting incoming_dir) and run `neglect run --no-generate`.", file=sys.stderr)
        return EXIT_NO_GENERATOR
    print(f"Building the synthetic partnership: {children:,} children, seed {seed}, in {out}")
    started = time.monotonic()
    try:
        summary = generate_partnership(GeneratorConfig(seed=seed, children=children), out_dir=out,
                                       progress=_progress_printer(started))
    except Exception as exc:  # report, don't dump a traceback on the analyst
        print(f"error: building the synthetic partnership failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"Done in {time.monotonic() - started:.1f} s.")
    if isinstance(summary, dict) and summary:
        _print_table([(str(k), _format_value(v)) for k, v in summary.items()], ("figure", "value"))
    return EXIT_OK


def _progress_printer(started: float) -> Callable[[str], None]:
    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {message}", flush=True)
    return progress


def _format_value(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_format_value(v)}" for k, v in value.items())
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _print_table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    print(line)
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())


# ---------------------------------------------------------------- run

def cmd_run(args, settings: Settings) -> int:
    _use_project_instance(settings)
    if settings.uses_synthetic_incoming and not (settings.synthetic_dir / "manifest.json").exists():
        if args.no_generate:
            print(f"note: no synthetic partnership in {settings.synthetic_dir} and --no-generate was given.")
        else:
            code = _generate(settings.synthetic_dir, settings.synthetic_children, settings.synthetic_seed)
            if code != EXIT_OK:
                return code
    if not settings.incoming_dir.is_dir():
        print(f"error: the incoming folder {settings.incoming_dir} does not exist "
              "(setting incoming_dir, environment variable NEGLECT_INCOMING_DIR).", file=sys.stderr)
        return EXIT_FAILED
    return _execute(settings, all_reports=args.all_reports)


def _use_project_instance(settings: Settings) -> None:
    """Point Dagster at the project's instance: DAGSTER_HOME and the working directory.

    dagster.yaml keeps Dagster's state in .dagster/ by relative paths, which Dagster
    resolves against the working directory, so the command runs from DAGSTER_HOME.
    """
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    settings.dagster_storage_dir.mkdir(parents=True, exist_ok=True)
    os.chdir(settings.dagster_home)


def _execute(settings: Settings, all_reports: bool = False) -> int:
    from dagster import DagsterInstance

    from ingest.connections import kept_open_between_steps
    from sources.registry import load_registry

    from .definitions import build_definitions
    from .runs import execute_range, plan_runs, scan_for_run

    registry = load_registry(settings.registry_dirs)
    scan = scan_for_run(settings.incoming_dir, _today(), registry)
    _print_scan(scan, registry)
    plan = plan_runs(scan, all_reports)
    if not plan:
        print(f"error: no extract files in {settings.incoming_dir}: expected <LA number>_<name>/<period end>/<file> "
              "(e.g. 991_northbrook/2026-03-31/cin_census_2026.xml); see 'What the pipeline loads' in the README.",
              file=sys.stderr)
        return EXIT_FAILED
    defs = build_definitions(settings)
    lock = _warehouse_lock(settings)
    if lock is None:
        return EXIT_FAILED
    check_names = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    started = time.monotonic()
    failures: list[str] = []
    with lock, DagsterInstance.get() as instance:
        _close_interrupted_runs(instance)
        unfinished: set[str] = set()  # jobs with a step that failed (not only a check)
        for planned in plan:
            if planned.job_name == "board_report" and "quarterly_refresh" in unfinished:
                print("Not running board_report: the marts did not finish (see below).")
                continue
            if not waits.wait_for_other_runs(instance, settings.wait_minutes):
                return EXIT_FAILED
            print(f"Running {planned.job_name} for {planned.label} on {settings.incoming_dir}")
            run_id = str(uuid.uuid4())  # Dagster run ids are UUID4 strings
            watcher = _EventPrinter(instance, run_id, started, check_names, give_up_after=60 * settings.wait_minutes)
            watcher.start()
            try:
                # execute_range tags the run with the quarter ITS data end at (runs.data_end)
                with kept_open_between_steps():  # ingest/connections.py: the warehouse opened once for unchanged steps
                    result = execute_range(defs, instance, planned, run_id, tags={LAUNCHED_BY_TAG: LAUNCHED_BY})
            except KeyboardInterrupt:
                if watcher.gave_up:  # the watcher interrupted the run: a step waited too long for the warehouse
                    print(f"error: {watcher.gave_up}", file=sys.stderr)
                    return EXIT_FAILED
                raise
            finally:
                watcher.stop()
            failed_checks = [e for e in result.get_asset_check_evaluations()
                             if not e.passed and e.severity.value == "ERROR"]
            if not result.success:
                unfinished.add(planned.job_name)
            if not result.success or failed_checks:
                failures += [f"{planned.job_name}: {m}" for m in _failure_messages(result, failed_checks)]
    elapsed = time.monotonic() - started
    _print_outputs(settings)
    if failures:
        print(f"\nThe run FINISHED WITH PROBLEMS after {elapsed:.1f} s (what could be loaded was loaded; figures "
              "that a missing or unreadable file would have fed are marked 'not available'):", file=sys.stderr)
        for message in failures:
            print(f"  - {message}", file=sys.stderr)
        print("Details: `make dagster`, then open the run in the Dagster UI.", file=sys.stderr)
        return EXIT_FAILED
    print(f"\nThe run succeeded in {elapsed:.1f} s.")
    return EXIT_OK


def _print_scan(scan, registry) -> None:
    """What the incoming folder holds, per source, which sheet of each workbook each source reads, and
    everything skipped with the reason."""
    print(f"Incoming folder {scan.root}: {len(scan.authorities)} authorit{'y' if len(scan.authorities) == 1 else 'ies'} "
          f"({', '.join(f'{code} {folder}' for code, folder in sorted(scan.authorities.items())) or 'none'})")
    for source in registry.partitioned():
        files = [f for f in scan.files if f.source == source.name]
        if files:
            periods = sorted({f.period_end for f in files})
            print(f"  {source.label}: {len(files)} file(s), periods {periods[0]} to {periods[-1]}")
        else:
            print(f"  {source.label}: not supplied")
    for f in sorted((f for f in scan.files if f.sheet), key=lambda f: (f.rel, f.sheet)):
        print(f"  {f.rel}: sheet '{f.sheet}' read as {registry[f.source].label}")
    for rel, why in scan.skipped:
        print(f"  skipped {rel}: {why}")
    for found in scan.files:
        if found.problem:
            print(f"  not loaded {found.rel}: {found.problem.partition(': ')[2]}")


def _print_outputs(settings: Settings) -> None:
    print("Outputs:")
    print(f"  warehouse  {settings.warehouse_path}")
    data_docs = settings.output_dir / "data_docs" / "index.html"
    if data_docs.exists():
        print(f"  data docs  {data_docs}")
    marts = settings.output_dir / "marts"
    if (marts / "data_dictionary.csv").exists():
        print(f"  marts      {marts} (published/, analyst_only_unsuppressed/: never publish, data_dictionary.csv)")
    reports = sorted((settings.output_dir / "dashboards").glob("*/neglect_board_report_*.html"))
    if reports:
        print(f"  exports    {reports[-1].parent / 'exports'}")
        print(f"  dashboard  {reports[-1]}")


def _warehouse_lock(settings: Settings):
    """An exclusive lock on ``<warehouse>.lock`` (beside the warehouse), held while a `neglect run` executes.

    Per warehouse, not per project or Dagster home: two runs writing one warehouse must never interleave,
    whichever folder they were started from. When another run holds it, say who and wait, up to the setting
    ``wait_minutes``; then give up saying what to do. Returns the open lock file, or None after giving up.
    """
    import fcntl  # POSIX only, like the Makefile
    from datetime import datetime

    path = Path(f"{settings.warehouse_path}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", encoding="utf-8")
    deadline = time.monotonic() + 60 * settings.wait_minutes
    holder = None
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if holder is None:
                holder = path.read_text(encoding="utf-8").strip() or "another `neglect run`"
                print(f"Waiting for {holder} to finish: it is writing the warehouse {settings.warehouse_path}. "
                      f"Giving up after {settings.wait_minutes:g} minutes (setting wait_minutes) ...", flush=True)
            if time.monotonic() > deadline:
                handle.close()
                print(f"error: gave up after {settings.wait_minutes:g} minutes waiting for {holder} to finish with "
                      f"the warehouse {settings.warehouse_path}. Let it finish and run `neglect run` again; if no such "
                      "run is going on any more, its process is gone and the next `neglect run` will proceed.",
                      file=sys.stderr)
                return None
            time.sleep(1)
    handle.seek(0)
    handle.truncate()
    handle.write(f"`neglect run` (process {os.getpid()}, started {datetime.now():%Y-%m-%d %H:%M} from "
                 f"{settings.project_root})\n")
    handle.flush()
    return handle


def _close_interrupted_runs(instance) -> None:
    """Mark earlier `neglect run` runs still shown as in progress as failed, and free their pool slots.

    We hold the run lock, so no other `neglect run` is executing: such a run was killed before it could
    finish (a closed terminal, a power cut). Left alone, its slot in the `duckdb_warehouse` pool would
    make every later run wait for ever.
    """
    from dagster import DagsterRunStatus, RunsFilter

    stale = instance.get_runs(filters=RunsFilter(
        statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.NOT_STARTED],
        tags={LAUNCHED_BY_TAG: LAUNCHED_BY}))
    for run in stale:
        instance.report_run_failed(run, "the `neglect run` process running this run ended before it finished")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        print(f"note: marked interrupted run {run.run_id} as failed and freed its warehouse slot")


def _today():
    from datetime import date
    return date.today()


def _failure_messages(result, failed_checks) -> list[str]:
    messages = []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            data = event.step_failure_data
            if data.error is not None and data.error.cls_name == "DagsterAssetCheckFailedError":
                continue  # a blocking check failed: reported below with the check's own description
            if data.user_failure_data is not None and data.user_failure_data.description:
                text = data.user_failure_data.description
            else:
                text = _root_message(data.error)
            messages.append(f"{event.step_key}: {text}")
    for e in failed_checks:
        messages.append(f"check {e.check_name} on {e.asset_key.to_user_string()} failed: {e.description}")
    if not messages:
        messages.append("the run did not succeed; no step reported an error")
    return messages


# DuckDB's own advice when it runs out of memory names SQL statements; an analyst changes the project's setting
OUT_OF_MEMORY_ADVICE = ("DuckDB needed more memory than its limit allows: set duckdb_memory_limit in settings.toml "
                        "(or NEGLECT_DUCKDB_MEMORY_LIMIT) to a larger size, e.g. 2GB, and run again")


def _root_message(error) -> str:
    """The innermost cause of a SerializableErrorInfo, as one line (DuckDB's out-of-memory error: its first line
    and :data:`OUT_OF_MEMORY_ADVICE`)."""
    if error is None:
        return "unknown error"
    while getattr(error, "cause", None) is not None:
        error = error.cause
    if error.cls_name == "OutOfMemoryException":
        return f"{error.message.strip().splitlines()[0]} {OUT_OF_MEMORY_ADVICE}"
    return f"{error.cls_name}: {error.message.strip()}" if error.cls_name else error.message.strip()


class _EventPrinter:
    """Print asset materialisations, check results and step failures while the run goes on."""

    def __init__(self, instance, run_id: str, started: float, check_names: set[str], interval: float = 0.3,
                 give_up_after: float | None = None):
        self.instance, self.run_id, self.started, self.interval = instance, run_id, started, interval
        self.check_names = check_names  # check steps are reported by their result, not their start
        self.give_up_after = give_up_after  # seconds a step may wait for the warehouse before the run is stopped
        self.gave_up: str | None = None
        self._blocked_since: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._cursor = None
        self._partitioned_seen: set = set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._poll()  # whatever arrived after the last poll

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._poll()
            except Exception:  # the run may not have been created yet
                pass
            self._check_waiting()

    def _check_waiting(self) -> None:
        """Stop the run (as Ctrl-C would) when a step has waited for the warehouse longer than allowed."""
        if self.give_up_after is None or self.gave_up or not self._blocked_since:
            return
        step, since = min(self._blocked_since.items(), key=lambda item: item[1])
        if time.monotonic() - since > self.give_up_after:
            self.gave_up = (f"gave up after {self.give_up_after / 60:g} minutes: step {step} was waiting for the "
                            "warehouse, which another Dagster run is using (one started from the Dagster UI?). Let "
                            "that run finish, or stop it in the UI (`make dagster`, Runs), then run `neglect run` "
                            "again; setting wait_minutes says how long to wait")
            import _thread

            _thread.interrupt_main()

    def _poll(self) -> None:
        conn = self.instance.get_records_for_run(self.run_id, cursor=self._cursor, limit=1000)
        self._cursor = conn.cursor
        for record in conn.records:
            event = record.event_log_entry.dagster_event
            message = record.event_log_entry.user_message or ""
            if event is None and message.startswith((waits.HELD_PREFIX, waits.FORMAT_PREFIX)):
                # a step waiting for a process that holds the warehouse, or the warehouse's storage format
                print(f"[{time.monotonic() - self.started:6.1f}s] {message}", flush=True)
            if event is not None:
                line = self._describe(event)
                if line:
                    print(f"[{time.monotonic() - self.started:6.1f}s] {line}", flush=True)

    def _describe(self, event) -> str | None:
        kind = event.event_type_value
        if kind == "ASSET_MATERIALIZATION":
            mat = event.event_specific_data.materialization
            if mat.partition is not None:  # a run over a range reports each partition: say it once
                if mat.asset_key in self._partitioned_seen:
                    return None
                self._partitioned_seen.add(mat.asset_key)
                return f"materialised {mat.asset_key.to_user_string()} (every partition of the run)"
            rows = mat.metadata.get("dagster/row_count")
            extra = f" ({rows.value:,} rows)" if rows is not None else ""
            return f"materialised {mat.asset_key.to_user_string()}{extra}"
        if kind == "ASSET_CHECK_EVALUATION":
            ev = event.event_specific_data
            verdict = "passed" if ev.passed else ("FAILED" if ev.severity.value == "ERROR" else "WARNING")
            return f"check {ev.check_name} {verdict}: {ev.description or ''}".rstrip(": ")
        if kind == "ENGINE_EVENT" and event.step_key and "blocked by limit for pool" in (event.message or ""):
            first = event.step_key not in self._blocked_since
            self._blocked_since.setdefault(event.step_key, time.monotonic())
            if first:
                return (f"waiting: step {event.step_key} waits for the warehouse, which another run is using "
                        f"(giving up after {(self.give_up_after or 0) / 60:g} minutes)")
            return None
        if event.step_key in self._blocked_since and kind == "STEP_START":
            del self._blocked_since[event.step_key]
        is_check = any(event.step_key and event.step_key.endswith(name) for name in self.check_names)
        if kind == "STEP_FAILURE" and not is_check:
            return f"step {event.step_key} failed"
        if kind == "STEP_START" and not is_check:
            return f"started {event.step_key}"
        return None


# ---------------------------------------------------------------- paths

def cmd_paths(args, settings: Settings) -> int:
    _print_table(settings.as_rows(), ("setting", "environment variable", "value"))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
