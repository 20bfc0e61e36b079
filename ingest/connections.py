"""How much memory and how many threads DuckDB may use: one rule for every DuckDB instance the pipeline opens.

DuckDB gives each *instance* (a database file opened in a process, or an in-memory database) a memory
limit of 80 % of the machine's memory by default, and the pipeline can have several open at once (the
warehouse and the identity store while a file is loaded). Left alone, each could grow to 80 % of memory
before spilling to disk. :func:`duckdb_config` gives every instance the same explicit limit instead:

* setting ``duckdb_memory_limit`` (``NEGLECT_DUCKDB_MEMORY_LIMIT``): a DuckDB size such as ``2GB`` or
  ``1.5GiB`` for each instance; empty (the default) means :func:`automatic_memory_limit`:
  :data:`MEMORY_SHARE` (a tenth) of the memory this process may use (the machine's, or a container's limit
  when lower), divided by :data:`CONCURRENT_INSTANCES`. On a 16 GiB council laptop that is 819 MiB for each;
  on a 24 GiB machine 1.2 GiB. It was a quarter (3 GiB each at 24 GiB) until December 2026: the pipeline runs
  every step in one process, whose Python side (imports, the frames a step holds) takes 0.5-1 GiB beside
  DuckDB, so a quarter let a 300,000-child partnership's full refresh reach 3.5-3.8 GiB. With the marts built
  a few quarters at a time, an eighth (1.5 GiB) still gave 2.59 GiB, in the linkage; a tenth brought it to
  2.67 GiB on an idle machine, and 2.45-2.57 once NumPyro was no longer imported (issue 18 asks for 2.5;
  README, Benchmarks). The linkage, which holds whole-partnership frames beside DuckDB, lowers the limit by
  what they hold while it links (:func:`models.linkage.run.frames_beside_duckdb`): 2.28-2.32 GiB since.
* setting ``duckdb_threads`` (``NEGLECT_DUCKDB_THREADS``): threads each instance may use; 0 (the
  default) leaves DuckDB's own default (one per core).

Past its limit DuckDB writes intermediate results to its temporary folder (beside the database file,
``<file>.tmp``) instead of holding them in memory: a lower limit costs time, not correctness. The limit
covers DuckDB's own buffers, not the pandas frames a step holds.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
from contextlib import contextmanager
from pathlib import Path

MEMORY_SHARE = 0.1  # of the memory available, for all DuckDB instances together (module docstring)
CONCURRENT_INSTANCES = 2  # the warehouse and the identity store, open together while files are loaded
_SIZE = re.compile(r"\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", re.IGNORECASE)


def available_memory_bytes() -> int:
    """Bytes of memory this process may use: the machine's physical memory, or the cgroup (container)
    limit when that is lower."""
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory/memory.limit_in_bytes")):
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            return min(physical, int(text))
    return physical


def automatic_memory_limit(available: int | None = None) -> str:
    """The default memory limit of one DuckDB instance, in MiB: :data:`MEMORY_SHARE` of ``available``
    bytes (default :func:`available_memory_bytes`) divided by :data:`CONCURRENT_INSTANCES`, at least 256 MiB."""
    available = available_memory_bytes() if available is None else available
    return f"{max(256, int(available * MEMORY_SHARE / CONCURRENT_INSTANCES / 2**20))}MiB"


def memory_limit(setting: str) -> str:
    """The memory limit one DuckDB instance gets for the setting ``duckdb_memory_limit`` (see module
    docstring): the setting itself when it is a DuckDB size, :func:`automatic_memory_limit` when empty."""
    if not setting.strip():
        return automatic_memory_limit()
    if not _SIZE.fullmatch(setting):
        raise ValueError(f"duckdb_memory_limit must be a size such as 2GB or 1.5GiB (or empty for automatic), "
                         f"got {setting!r}")
    return setting.strip()


_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def size_in_bytes(size: str) -> int:
    """Bytes in a DuckDB size such as ``1205MiB``, ``2GB`` or ``1.5 GiB`` (DuckDB's units: GB = 1000^3,
    GiB = 1024^3)."""
    if not _SIZE.fullmatch(size):
        raise ValueError(f"not a size such as 2GB or 1.5GiB: {size!r}")
    number, unit = re.fullmatch(r"\s*([\d.]+)\s*([A-Za-z]+)\s*", size).groups()
    return int(float(number) * _UNITS[unit.lower()])


def duckdb_config(memory_limit_setting: str = "", threads: int = 0) -> dict[str, str | int]:
    """DuckDB configuration (for ``duckdb.connect(config=...)``) with the memory limit and threads of the
    settings ``duckdb_memory_limit`` and ``duckdb_threads`` (0: DuckDB's default)."""
    config: dict[str, str | int] = {"memory_limit": memory_limit(memory_limit_setting)}
    if threads > 0:
        config["threads"] = threads
    return config


def release_unused_memory() -> None:
    """Give the memory this process has freed but still holds back to the operating system: the C library's
    free heap pages (glibc ``malloc_trim``; nothing elsewhere) and pyarrow's memory pool (mimalloc or jemalloc
    keep freed pages for reuse). The pipeline runs every step in one process, so without it the pages a step's
    frames and Arrow tables had could stay resident under the next step's DuckDB (a 300,000-child partnership's
    run held 0.85-1.0 GiB when its linkage began, against 0.35 GiB of imports; how much of that this gives
    back was not measured separately). Called once before each step that is recomputed
    (:mod:`pipelines.assets.reuse`): 10-40 ms on a large heap (it was called at every warehouse connection, about
    90 times in a refresh, 2.9 s); the figures cannot change."""
    try:
        import pyarrow

        pyarrow.default_memory_pool().release_unused()
    except Exception:  # noqa: BLE001 (an optional saving: never a reason to fail a step)
        pass
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _glibc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return libc if libc is not None and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _glibc()


# --- the warehouse kept open between the steps of a run ------------------------------------------------------------
_KEEPING = False
_KEPT: dict[str, object] = {}  # database file -> the connection kept open


@contextmanager
def kept_open_between_steps():
    """While inside (``neglect run``, around each job), the first warehouse connection a step opens leaves a second
    connection to the same file open after the step closes its own (:func:`keep`). DuckDB shares one open database
    per file and configuration within a process, so the next step's ``duckdb.connect`` finds it open instead of
    opening the file again (reading its catalogue; and, at the last close, a checkpoint): 25-40 ms each, about 60
    times in a refresh with nothing changed. A step that is recomputed lets it go first (:func:`let_go`), so it
    opens the file afresh and its memory is what it was without this; the kept connection is closed on leaving."""
    global _KEEPING
    _KEEPING = True
    try:
        yield
    finally:
        _KEEPING = False
        let_go()


def keep(database: str, config: dict) -> None:
    """Inside :func:`kept_open_between_steps`, keep a connection to ``database`` (a file) open with ``config`` (the
    configuration the caller opened it with: DuckDB refuses a second one); outside it, nothing."""
    if _KEEPING and database != ":memory:" and database not in _KEPT:
        import duckdb

        _KEPT[database] = duckdb.connect(database, config=config)


def let_go() -> None:
    """Close the kept connections (the database closes once its other connections are closed too)."""
    while _KEPT:
        _KEPT.popitem()[1].close()
