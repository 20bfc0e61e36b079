"""Log-linear estimates computed once: a capture-history table estimated before is not estimated again.

The hidden-prevalence mart estimates about 60 tables (quarters x areas x linkage variants) with the
log-linear models and 1,000 bootstrap replicates each, about 5 CPU seconds in all. An estimate depends
only on the table (its lists, strata and counts), the estimation settings (confidence, minimum overlap,
replicates; the bootstrap's seed is fixed) and the estimator's code, so :func:`estimate_key` hashes exactly
those, the code as the bytes of its modules (:data:`ESTIMATOR_MODULES`) and the versions of the libraries
it computes with: editing the estimator makes every key new, no version number to remember. A refresh in
which one quarter's lists changed estimates that quarter's tables (and the following quarters' whose
12-month windows include it) and reads the others from ``cache.loglinear_estimates`` (the row's estimate
fields as JSON), the same figures to the last digit. Entries not used for 90 days are removed. The table holds counts of children per capture history's estimates only:
no identifier, no record.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ingest.keyed_cache import KeyedCache, library_versions

__all__ = ["EstimateCache", "estimate_key"]

MODELS = Path(__file__).resolve().parents[1]  # models/
ESTIMATOR_MODULES = ("capture_recapture.py", "mse/loglinear.py", "mse/result.py")
LIBRARIES = ("numpy", "scipy", "pandas", "statsmodels")


@lru_cache(maxsize=1)
def _estimator_version() -> str:
    digest = hashlib.sha256()
    for module in ESTIMATOR_MODULES:
        digest.update(module.encode() + b"\0" + (MODELS / module).read_bytes() + b"\0")
    digest.update(library_versions(LIBRARIES).encode())
    return digest.hexdigest()


def estimate_key(table: pd.DataFrame, settings: dict) -> str:
    """SHA-256 of a capture-history ``table`` (its columns, in order, and rows), the estimation ``settings`` and
    the estimator's code and libraries."""
    text = json.dumps({"estimator": _estimator_version(), "settings": settings, "columns": list(table.columns)},
                      sort_keys=True, default=str)
    return hashlib.sha256(f"{text}\n{table.to_csv(index=False)}".encode()).hexdigest()


def _plain(value):
    """A NumPy scalar as the Python value JSON can hold."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot keep {type(value).__name__} in the estimate cache")


class EstimateCache:
    """Estimate fields (a dict of numbers and text) kept as JSON in the warehouse table ``cache.loglinear_estimates``
    (:class:`ingest.keyed_cache.KeyedCache`)."""

    def __init__(self, conn):
        self.kept = KeyedCache(conn, "cache.loglinear_estimates")

    def get(self, keys: list[str]) -> dict[str, dict]:
        """The fields kept for ``keys`` (a key not kept is left out); NaN comes back as NaN."""
        return {key: json.loads(value) for key, value in self.kept.get(keys).items()}

    def put(self, estimates: dict[str, dict]) -> None:
        self.kept.put({key: json.dumps(fields, default=_plain).encode() for key, fields in estimates.items()})
