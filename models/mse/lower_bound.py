"""Chao's lower bound for the number of children: a floor, not an estimate.

What it bounds
--------------
N, the children in the population the lists draw on (as in :mod:`models.capture_recapture`).
With ``t`` lists, let ``n`` be the children on at least one list, ``f1`` those on exactly one list
and ``f2`` those on exactly two. Chao's bound for heterogeneous capture (model Mh) is

    N_LB = n + ((t - 1) / t) * f1^2 / (2 f2)        (f2 > 0)
    N_LB = n + ((t - 1) / t) * f1 (f1 - 1) / 2      (f2 = 0, bias-corrected form)

(Chao 1987 for the t-sample form f1^2/(2 f2); the (t-1)/t factor and the bias-corrected form as in
Chao 1989 and Chao et al. 2001). For two lists it is n + f1^2 / (4 f2), with f1 the children on
one list only and f2 those on both. When every child has the same chance on every list it equals
N in expectation; when chances vary from child to child *in the same direction on every list*
(the usual failure of capture-recapture) it is below N. It is **not** a bound when the lists
depend on each other negatively (e.g. early help takes mild cases and social care severe ones):
then fewer children than chance are on two lists, f2 is small and the "bound" can exceed N. The
validation harness (``bench/mse_validation.py``) measures how often it stays below N.

Interval: Chao's (1987) variance,
    var = f2 [ c^2 r^4 / 4 + c^2 r^3 + c r^2 / 2 ],   r = f1 / f2, c = (t - 1) / t,
and the log-normal interval on the unobserved part f0 = N_LB - n, which never goes below n.

References: Chao (1987) Biometrics 43:783-791; Chao (1989) Biometrics 45:427-438; Chao, Tsay,
Lin, Shau & Chao (2001) Stat. Med. 20:3123-3157; Chao (2001) in Encyclopedia of Environmetrics.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .latent_class import as_tables, cell_patterns

__all__ = ["LowerBound", "chao_lower_bound", "frequency_counts"]


@dataclass(frozen=True)
class LowerBound:
    observed: int
    estimate: float
    lower: float
    upper: float
    se: float
    f1: int
    f2: int
    lists: int
    confidence: float


def frequency_counts(table) -> np.ndarray:
    """f_k: children on exactly k lists (k = 0..t; f_0 is 0) from a table in cell_patterns order."""
    table = as_tables(table)[0]
    t = table.size.bit_length() - 1
    k = cell_patterns(t).sum(axis=1).astype(int)
    return np.bincount(k, weights=table, minlength=t + 1)


def chao_lower_bound(table, confidence: float = 0.95) -> LowerBound:
    """Chao's lower bound of N with a log-normal interval, from one capture-history table
    ([2^t] or [2^t - 1] counts in :func:`models.mse.latent_class.cell_patterns` order)."""
    f = frequency_counts(table)
    t = len(f) - 1
    n, f1, f2 = float(f[1:].sum()), float(f[1]), float(f[2])
    c = (t - 1) / t
    if f2 > 0:
        f0 = c * f1**2 / (2 * f2)
        r = f1 / f2
        var = f2 * (c**2 * r**4 / 4 + c**2 * r**3 + c * r**2 / 2)
    else:
        f0 = c * f1 * (f1 - 1) / 2
        var = c * f1 * (f1 - 1) / 2 + c**2 * f1 * (2 * f1 - 1) ** 2 / 4 - c**2 * f1**4 / (4 * max(f0 + n, 1))
        var = max(var, 0.0)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    if f0 > 0 and var > 0:
        C = math.exp(z * math.sqrt(math.log1p(var / f0**2)))
        lower, upper = n + f0 / C, n + f0 * C
    else:
        lower = upper = n + f0
    return LowerBound(int(n), n + f0, lower, upper, math.sqrt(var), int(f1), int(f2), t, confidence)
