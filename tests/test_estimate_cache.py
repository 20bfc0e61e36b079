"""Log-linear estimates kept by table (models/mse/estimate_cache.py): the same fields from the cache as estimated,
and a table estimated before is not estimated again."""
from __future__ import annotations

import math

import duckdb
import pandas as pd
import pytest

import models.marts.hidden_prevalence as hidden
from models.mse.estimate_cache import EstimateCache, estimate_key

pytestmark = pytest.mark.unit

LISTS = ["social_care", "early_help", "adult_services"]


def _table(extra: int = 0) -> pd.DataFrame:
    """A three-list capture-history table with two strata (counts of children per history)."""
    rows = []
    for stratum, scale in (("0-4", 1), ("5-17", 2)):
        for history, count in {(1, 0, 0): 120, (0, 1, 0): 90, (0, 0, 1): 60, (1, 1, 0): 40, (1, 0, 1): 25,
                               (0, 1, 1): 20, (1, 1, 1): 12}.items():
            rows.append({**dict(zip(LISTS, history)), "stratum": stratum, "count": count * scale})
    table = pd.DataFrame(rows)
    table.loc[0, "count"] += extra
    return table


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (isinstance(a[k], float) and isinstance(b[k], float) and math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k]
        for k in a)


def test_cached_fields_equal_the_estimate_and_are_not_recomputed(monkeypatch):
    conn = duckdb.connect()
    fresh = hidden.loglinear_fields(_table(), LISTS)
    first = hidden.loglinear_fields(_table(), LISTS, EstimateCache(conn))
    assert fresh["status"] == "estimated" and fresh["estimate"] > _table()["count"].sum()
    assert _same(first, fresh)

    def not_again(*args, **kwargs):
        raise AssertionError("a table estimated before was estimated again")

    monkeypatch.setattr(hidden, "estimate_population", not_again)
    again = hidden.loglinear_fields(_table(), LISTS, EstimateCache(conn))
    assert _same(again, fresh)
    with pytest.raises(AssertionError, match="estimated again"):  # another table is estimated
        hidden.loglinear_fields(_table(extra=1), LISTS, EstimateCache(conn))


def test_the_key_follows_the_table_and_the_settings():
    settings = {"confidence": 0.95, "min_overlap": 5, "n_boot": 1000, "lists": LISTS}
    key = estimate_key(_table(), settings)
    assert key == estimate_key(_table(), dict(settings))
    assert len({key, estimate_key(_table(extra=1), settings), estimate_key(_table(), {**settings, "n_boot": 200}),
                estimate_key(_table().rename(columns={"adult_services": "police"}), settings)}) == 4


def test_the_consistency_sampler_is_shortened_only_below_its_own_length():
    assert hidden.consistency_sampler(None) == hidden.CONSISTENCY_SAMPLER
    assert hidden.consistency_sampler({"burn": 500, "draws": 500}) == hidden.CONSISTENCY_SAMPLER  # the default
    assert hidden.consistency_sampler({"burn": 100, "draws": 100}) == {**hidden.CONSISTENCY_SAMPLER,
                                                                      "burn": 100, "draws": 100}
