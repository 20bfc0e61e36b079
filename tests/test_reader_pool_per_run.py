"""A run executed in one process (Dagster's in-process executor: every run from the UI, a schedule or the sensor)
starts one pool of reader processes for all its steps, through the ``extracts`` resource, and ends it with the
run (pipelines/resources.py, ``IncomingExtracts.yield_for_execution``)."""
import operator
from datetime import date

from dagster import asset, materialize

import ingest.parallel as parallel
from pipelines.resources import IncomingExtracts


def _reads(tmp_path) -> list:
    """Two files' reads through the pool (``operator.is_``: a picklable stand-in for reading a file)."""
    jobs = []
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text("x\n", encoding="utf-8")
        jobs.append((tmp_path / name, date(2026, 3, 31)))
    return list(parallel.read_in_order(operator.is_, jobs))


def test_the_steps_of_a_run_share_one_reader_pool_that_ends_with_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv("NEGLECT_READ_WORKERS", "2")
    monkeypatch.setenv("NEGLECT_SMALL_READ_BYTES", "0")  # a pool however small the files
    started = []
    new_pool = parallel._new_pool
    monkeypatch.setattr(parallel, "_new_pool", lambda *a, **k: started.append(1) or new_pool(*a, **k))

    @asset
    def first_source(extracts: IncomingExtracts) -> None:
        assert _reads(tmp_path) == [False, False]

    @asset(deps=[first_source])
    def second_source(extracts: IncomingExtracts) -> None:
        assert _reads(tmp_path) == [False, False]

    result = materialize([first_source, second_source],
                         resources={"extracts": IncomingExtracts(incoming_dir=str(tmp_path))})
    assert result.success
    assert len(started) == 1  # without the resource's pool: one per step
    assert parallel._shared is None and parallel._sharing == 0  # ended with the run
