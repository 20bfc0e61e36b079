"""Read many extract files on every core: reading (parsing, validating) is the slow part of ingest.

:func:`read_in_order` hands ``load_file(path, period_end)`` calls to a pool of worker
processes and yields the :class:`FileLoad` results in the order asked, so the caller
can write period after period while later files are still being read. Writing stays
in the calling process (DuckDB allows one writer). Workers are started with ``spawn``
(never ``fork``: the Dagster process has threads). ``load_file`` must be picklable: a
module-level function or a ``functools.partial`` of one.

How long workers live:

* inside :func:`shared_pool` (``neglect run`` wraps each job it runs in this process; the
  ``extracts`` resource, :class:`pipelines.resources.IncomingExtracts`, wraps a run launched from
  the Dagster UI, a schedule or the sensor, whose steps run in its process), one pool serves every
  asset of the run and is shut down when the block ends;
* anywhere else (a step process of Dagster's multiprocess executor, should a deployment choose it;
  a script), each :func:`read_in_order` call starts its own pool and shuts it down before it
  returns, so no worker outlives the step; files adding up to less than ``SMALL_BYTES`` are read
  in the calling process, with no pool at all;
* a worker ends itself within a second when the process that started it is gone (killed with
  ``kill -9``, say): no orphaned readers holding hundreds of MB.

A worker that dies mid-read (the operating system's out-of-memory killer, a crash in a C
library) breaks the pool: the file it was reading is read once more in a fresh pool, and if
that breaks too, ``on_crash`` gives the file's refusal; the other files are read as usual.

The number of workers is the number of CPUs, at most 4 (setting ``NEGLECT_READ_WORKERS``
overrides it; 1 reads in this process, without a pool).
"""
from __future__ import annotations

import importlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the sampler's workers import this module without the readers
    from .files import FileLoad

MAX_WORKERS = 4
SMALL_BYTES = 2 * 1024 * 1024  # files adding up to less are read without starting a pool (NEGLECT_SMALL_READ_BYTES)
STOP_GRACE_SECONDS = 5.0  # how long a running read may take to finish when the pool is stopped
_shared: ProcessPoolExecutor | None = None
_sharing = 0


def worker_count() -> int:
    configured = os.environ.get("NEGLECT_READ_WORKERS")
    if configured:
        return max(1, int(configured))
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def end_with_parent(parent: int, preload: tuple[str, ...] = ()) -> None:
    """Worker initializer: end this worker within a second when the process that started it has gone,
    and import ``preload`` (module names: what every task of the pool needs) once, now."""
    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    for module in preload:
        try:
            importlib.import_module(module)
        except ImportError:
            pass  # the task that needs it imports it again and reports the error as its own


def _module_of(function: Callable) -> tuple[str, ...]:
    """The module a (possibly ``functools.partial``) function comes from, for the workers to import early."""
    module = getattr(getattr(function, "func", function), "__module__", None)
    return (module,) if module else ()


def _new_pool(workers: int, preload: tuple[str, ...] = ()) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=end_with_parent, initargs=(os.getpid(), preload))


def _stop(pool: ProcessPoolExecutor) -> None:
    """Shut ``pool`` down: cancel what has not started, give running reads a moment, then end the workers."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in processes:
        process.join(timeout=max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            process.terminate()
            process.join(timeout=2)
        if process.is_alive():
            process.kill()
            process.join(timeout=2)


@contextmanager
def shared_pool():
    """One pool for every read inside the block (e.g. all the assets of a run executed in this process)."""
    global _sharing, _shared
    _sharing += 1
    try:
        yield
    finally:
        _sharing -= 1
        if _sharing == 0 and _shared is not None:
            pool, _shared = _shared, None
            _stop(pool)


def _get_shared(workers: int, renew: bool = False, preload: tuple[str, ...] = ()) -> ProcessPoolExecutor:
    global _shared
    if renew and _shared is not None:
        _stop(_shared)
        _shared = None
    if _shared is None:
        _shared = _new_pool(workers, preload)
    return _shared


def warm_up(preload: tuple[str, ...] = ()) -> None:
    """Start the shared pool's workers and their imports of ``preload`` (module names) now (about 1.5 s),
    e.g. while Dagster starts a run. Does nothing outside :func:`shared_pool`."""
    workers = worker_count()
    if workers > 1 and _sharing:
        pool = _get_shared(workers, preload=preload)
        for _ in range(workers):
            pool.submit(int)


def _size(path: Path) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0


def read_in_order(load_file: Callable[[Path, date], FileLoad], jobs: list[tuple[Path, date]],
                  on_crash: Callable[[Path, date, str], FileLoad] | None = None) -> Iterator[FileLoad]:
    """``load_file(path, period_end)`` for every job, read in parallel, yielded in the jobs' order.

    ``on_crash(path, period_end, message)``: the load to give for a file whose reading killed its worker
    twice (without it, BrokenProcessPool is raised).
    """
    workers = worker_count()
    owned = not _sharing
    small = int(os.environ.get("NEGLECT_SMALL_READ_BYTES", SMALL_BYTES))
    if workers == 1 or len(jobs) < 2 or (owned and sum(_size(p) for p, _ in jobs) < small):
        for path, period_end in jobs:
            yield load_file(path, period_end)
        return
    preload = _module_of(load_file)
    pool = _new_pool(workers, preload) if owned else _get_shared(workers, preload=preload)

    def renew() -> ProcessPoolExecutor:
        if owned:
            _stop(pool)
            return _new_pool(workers, preload)
        return _get_shared(workers, renew=True, preload=preload)

    def submit_from(start: int) -> list:
        """Futures of ``jobs[start:]``; None for those not handed out because a worker died meanwhile (on a busy
        machine an earlier file can crash its worker before every job is submitted): they go to a new pool."""
        out = []
        for path, period_end in jobs[start:]:
            try:
                out.append(pool.submit(load_file, path, period_end))
            except BrokenProcessPool:
                return out + [None] * (len(jobs) - start - len(out))
        return out

    futures = submit_from(0)
    try:
        for i, (path, period_end) in enumerate(jobs):
            if futures[i] is None:  # never handed out: a first try on a new pool
                pool = renew()
                futures[i:] = submit_from(i)
            try:
                if futures[i] is None:
                    raise BrokenProcessPool("a new pool broke before the file was handed out")
                result = futures[i].result()
            except BrokenProcessPool:
                pool = renew()
                try:
                    result = pool.submit(load_file, path, period_end).result()
                except BrokenProcessPool:
                    if on_crash is None:
                        raise
                    pool = renew()
                    result = on_crash(path, period_end, "file: the process reading it ended abruptly, twice "
                                      "(out of memory, or a crash in a library); the file was not loaded")
                futures[i + 1:] = submit_from(i + 1)
            yield result
    finally:
        for future in futures:
            if future is not None:
                future.cancel()
        if owned:
            _stop(pool)
