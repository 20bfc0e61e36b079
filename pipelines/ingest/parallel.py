"""Read many extract files on every core: reading (parsing, validating) is the slow part of ingest.

:func:`read_in_order` hands ``load_file(path, period_end)`` calls to a pool of worker
processes and yields the :class:`FileLoad` results in the order asked, so the caller
can write period after period while later files are still being read. Writing stays
in the calling process (DuckDB allows one writer). Workers are started with ``spawn``
(never ``fork``: the Dagster process has threads) once per process and reused.
``load_file`` must be picklable: a module-level function or a ``functools.partial`` of one.

The number of workers is the number of CPUs, at most 4 (setting
``NEGLECT_READ_WORKERS`` overrides it; 1 reads in this process, without a pool).
"""
from __future__ import annotations

import atexit
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

from .files import FileLoad

MAX_WORKERS = 4
_pool: ProcessPoolExecutor | None = None


def worker_count() -> int:
    configured = os.environ.get("NEGLECT_READ_WORKERS")
    if configured:
        return max(1, int(configured))
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def _get_pool(workers: int) -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
        atexit.register(_pool.shutdown, cancel_futures=True)
    return _pool


def _import_readers() -> None:
    import pipelines.ingest.worker  # noqa: F401  (what every read needs)


def warm_up() -> None:
    """Start the workers and their imports now (about 1.5 s), e.g. while Dagster starts a run."""
    workers = worker_count()
    if workers > 1:
        pool = _get_pool(workers)
        for _ in range(workers):
            pool.submit(_import_readers)


def read_in_order(load_file: Callable[[Path, date], FileLoad],
                  jobs: list[tuple[Path, date]]) -> Iterator[FileLoad]:
    """``load_file(path, period_end)`` for every job, read in parallel, yielded in the jobs' order."""
    workers = worker_count()
    if workers == 1 or len(jobs) < 2:
        for path, period_end in jobs:
            yield load_file(path, period_end)
        return
    futures = [_get_pool(workers).submit(load_file, path, period_end) for path, period_end in jobs]
    try:
        for future in futures:
            yield future.result()
    finally:
        for future in futures:
            future.cancel()
