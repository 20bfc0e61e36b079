"""Run the latent-class sampler for many tables: on every core, and never twice for the same table.

Every table's draws depend only on the table, its lists' false-positive settings, the sampler's
settings and the seed (:func:`models.mse.latent_class.table_seed`), never on which other tables a
refresh estimates. So the tables of a refresh can be shared out among worker processes, and draws
computed once can be kept and reused: the figures are the same either way, to the last digit.

* :func:`draw_tables` runs a list of :class:`SamplerJob` and returns their draws [chains, draws] in
  the order given. Jobs whose draws ``cache`` already holds are not run again; the others run in a
  pool of ``spawn`` worker processes (one per core, at most 4; ``NEGLECT_SAMPLER_WORKERS`` overrides
  it, and 1 runs them in this process) when there are at least ``MIN_JOBS_FOR_POOL`` of them. As with
  any ``spawn`` pool, a script that calls it needs ``if __name__ == "__main__":`` (the workers import
  the script); if the pool breaks, the jobs left are run in this process.
* :class:`DrawCache` keeps draws in the warehouse table ``cache.latent_class_draws`` (key: a hash of
  everything the draws depend on, including ``SAMPLER_VERSION``, which a change to the sampler's
  code must increase). Entries not used for 90 days are removed. The table holds counts
  of children per capture history's posterior draws of N only: no identifier, no record.

Why it matters: the sampler costs about 0.8 CPU seconds per published table and 0.2 per internal
consistency table, about 120 CPU seconds for the default partnership's 21 quarters; a refresh in
which most quarters' lists did not change re-runs almost none of it.
"""
from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import numpy as np

from ingest.keyed_cache import KeyedCache
from ingest.parallel import end_with_parent
from ingest.write import table_columns

from .false_positives import ListPPV, beta_parameters, imputer
from .latent_class import DEFAULTS, as_tables, sample_lcmcr, table_seed

__all__ = ["SamplerJob", "DrawCache", "draw_tables", "SAMPLER_VERSION"]

SAMPLER_VERSION = 1  # increase when a change to the sampler or the false-positive draw changes the draws
MAX_WORKERS = 4
MIN_JOBS_FOR_POOL = 4   # fewer tables than this are sampled in this process (a pool costs ~1 s to start)


@dataclass(frozen=True)
class SamplerJob:
    """One table [2^J] to sample: ``seed`` is the run's seed (the table's own is derived from its counts),
    ``ppvs`` its lists' false-positive settings (None: no allowance), ``settings`` overrides of DEFAULTS."""

    table: np.ndarray
    seed: int = 0
    ppvs: tuple[ListPPV, ...] | None = None
    settings: dict = field(default_factory=dict)

    def key(self) -> str:
        """A hash of everything the draws depend on."""
        table = as_tables(self.table)[0]
        ppv = beta_parameters(list(self.ppvs)).tolist() if self.ppvs else None
        text = json.dumps({"version": SAMPLER_VERSION, "table": table.tolist(), "seed": int(self.seed), "ppv": ppv,
                           "settings": {**DEFAULTS, **self.settings}}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def run_job(job: SamplerJob) -> np.ndarray:
    """The draws of N [chains, draws] for one job (a module-level function, so worker processes can run it)."""
    settings = {**DEFAULTS, **job.settings}
    table = as_tables(job.table)
    impute = imputer([list(job.ppvs)], settings["chains"]) if job.ppvs else None
    return sample_lcmcr(table, seed=table_seed(job.seed, table[0]), impute=impute, **settings)[0]


class DrawCache:
    """Draws [chains, draws] kept in ``cache.latent_class_draws`` of a DuckDB connection (the warehouse), each as
    NumPy's ``.npy`` bytes (shape and values) in a :class:`ingest.keyed_cache.KeyedCache`."""

    TABLE = "cache.latent_class_draws"

    def __init__(self, conn):
        if "chains" in (table_columns(conn, self.TABLE) or []):  # its layout before December 2026: only a cache,
            conn.execute(f"DROP TABLE {self.TABLE}")            # so the draws are sampled once more, identically
        self.kept = KeyedCache(conn, self.TABLE)

    def get(self, keys: list[str]) -> dict[str, np.ndarray]:
        return {key: np.load(io.BytesIO(value), allow_pickle=False) for key, value in self.kept.get(keys).items()}

    def put(self, draws: dict[str, np.ndarray]) -> None:
        self.kept.put({key: _npy_bytes(d) for key, d in draws.items()})


def _npy_bytes(draws: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, np.ascontiguousarray(draws, dtype=np.float64), allow_pickle=False)
    return out.getvalue()


def _cost(job: SamplerJob) -> int:
    settings = {**DEFAULTS, **job.settings}
    return settings["chains"] * (settings["burn"] + settings["draws"] * settings["thin"]) * len(job.table)


def worker_count(jobs: int) -> int:
    configured = os.environ.get("NEGLECT_SAMPLER_WORKERS")
    workers = int(configured) if configured else min(os.cpu_count() or 1, MAX_WORKERS)
    return max(1, min(workers, jobs))


def _run_in_pool(todo: dict[str, SamplerJob], workers: int) -> dict[str, np.ndarray]:
    """Run ``todo`` in ``workers`` spawned processes; what a broken pool leaves undone runs here (same draws)."""
    order = sorted(todo, key=lambda k: -_cost(todo[k]))  # the longest first: no worker is left with one at the end
    done: dict[str, np.ndarray] = {}
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=end_with_parent, initargs=(os.getpid(),)) as pool:
            for key, draws in zip(order, pool.map(run_job, [todo[k] for k in order])):
                done[key] = draws
    except BrokenProcessPool:
        pass
    return {key: done[key] if key in done else run_job(todo[key]) for key in order}


def draw_tables(jobs: list[SamplerJob], cache: DrawCache | None = None) -> list[np.ndarray]:
    """Draws of N [chains, draws] for each job, in order: from ``cache`` where it has them, else sampled
    (in worker processes when there are enough jobs and cores) and added to ``cache``."""
    keys = [job.key() for job in jobs]
    known = cache.get(sorted(set(keys))) if cache is not None else {}
    todo = {key: job for key, job in zip(keys, jobs) if key not in known}
    workers = worker_count(len(todo))
    if workers > 1 and len(todo) >= MIN_JOBS_FOR_POOL:
        new = _run_in_pool(todo, workers)
    else:
        new = {key: run_job(job) for key, job in todo.items()}
    if cache is not None:
        cache.put(new)
    found = {**known, **new}
    return [found[key] for key in keys]
