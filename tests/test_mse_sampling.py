"""The latent-class sampler run for many tables (models/mse/sampling.py): the same draws whether a table
is sampled alone, among others, in worker processes or taken from the warehouse's cache."""
from __future__ import annotations

import duckdb
import numpy as np

from models.mse.false_positives import ListPPV
from models.mse.publication import publish_tables
from models.mse.sampling import DrawCache, SamplerJob, draw_tables, run_job
from models.mse.simulate import Scenario, simulate

FAST = {"chains": 2, "burn": 50, "draws": 50, "thin": 1}


def _tables(count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [simulate(Scenario(lists=4, heterogeneity="none", fp=0.1, N=800), rng).table for _ in range(count)]


def test_draws_do_not_depend_on_the_pool_the_batch_or_the_cache(monkeypatch):
    tables = _tables(5)
    jobs = [SamplerJob(t, seed=7, ppvs=(ListPPV(0.8),) * 4, settings=FAST) for t in tables]
    alone = [run_job(job) for job in jobs]
    monkeypatch.setenv("NEGLECT_SAMPLER_WORKERS", "2")
    pooled = draw_tables(jobs)                              # five jobs: a pool of two spawned workers
    reversed_batch = draw_tables(jobs[::-1])[::-1]          # other tables around it, another order
    conn = duckdb.connect()
    cache = DrawCache(conn)
    first = draw_tables(jobs[:3], cache)
    assert conn.sql("SELECT count(*) FROM cache.latent_class_draws").fetchall() == [(3,)]
    cached = draw_tables(jobs, cache)                       # three from the cache, two sampled
    for expected, *others in zip(alone, pooled, reversed_batch, first + cached[3:], cached):
        assert expected.shape == (2, 50)
        for other in others:
            np.testing.assert_array_equal(expected, other)


def test_the_cache_key_changes_with_everything_the_draws_depend_on():
    table = _tables(1)[0]
    base = SamplerJob(table, seed=1, ppvs=(ListPPV(0.8),) * 4, settings=FAST)
    variants = [SamplerJob(table + np.eye(1, len(table), 3)[0], 1, base.ppvs, FAST),
                SamplerJob(table, 2, base.ppvs, FAST),
                SamplerJob(table, 1, (ListPPV(0.7),) * 4, FAST),
                SamplerJob(table, 1, None, FAST),
                SamplerJob(table, 1, base.ppvs, {**FAST, "draws": 60})]
    keys = {base.key(), *(v.key() for v in variants)}
    assert len(keys) == 1 + len(variants)
    assert SamplerJob(table.copy(), 1, base.ppvs, dict(FAST)).key() == base.key()


def test_published_figures_are_identical_from_the_cache():
    tables = np.array(_tables(2))
    names, ppvs = list("abcd"), [ListPPV(0.9)] * 4
    cache = DrawCache(duckdb.connect())
    fresh = publish_tables(tables, names, ppvs, sampler=FAST, cache=cache)
    again = publish_tables(tables, names, ppvs, sampler=FAST, cache=cache)
    plain = publish_tables(tables, names, ppvs, sampler=FAST)
    assert [p.as_row() for p in fresh] == [p.as_row() for p in again] == [p.as_row() for p in plain]
    assert all(p.central is not None and p.lower <= p.central <= p.upper for p in fresh)


def test_a_cache_in_the_layout_before_december_2026_is_replaced():
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA cache")
    conn.execute(f"CREATE TABLE {DrawCache.TABLE} (key VARCHAR PRIMARY KEY, chains INTEGER, draws BLOB, last_used DATE)")
    conn.execute(f"INSERT INTO {DrawCache.TABLE} VALUES ('old', 2, ''::BLOB, current_date)")
    cache = DrawCache(conn)
    draws = np.arange(12, dtype=np.float64).reshape(3, 4)
    cache.put({"new": draws})
    found = cache.get(["old", "new"])
    assert list(found) == ["new"]
    np.testing.assert_array_equal(found["new"], draws)
    assert found["new"].shape == (3, 4) and found["new"].dtype == np.float64
