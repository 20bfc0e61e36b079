"""The intruder's attack on a published table (:func:`attack`): every hidden cell's feasible range given
the published numbers (as ranges where they are rounded) and the relations, by :mod:`.intruder`."""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import pandas as pd

from .intruder import _ranges
from .relations import SUPPRESSED, _sort_key, compile_relations


_FROM_ATTRS = object()


def _published_bounds(pub: list, round_to, threshold) -> tuple[np.ndarray, np.ndarray]:
    """Range of true counts consistent with each published value (exact unless rounded)."""
    n = len(pub)
    lo = np.empty(n)
    hi = np.empty(n)
    for i, v in enumerate(pub):
        if isinstance(v, str):
            if v != SUPPRESSED:
                raise ValueError(f"published value {v!r} is neither a count nor {SUPPRESSED!r}")
            lo[i], hi[i] = 0.0, np.inf
            continue
        v = float(v)
        if not round_to:
            lo[i] = hi[i] = v
            continue
        r = float(round_to)
        # round-half-up(c) == v  <=>  v - r/2 <= c < v + r/2
        a, b = math.ceil(v - r / 2), math.ceil(v + r / 2) - 1
        if v == 0:
            # 0 is published for a true 0, or for a count >= threshold that rounds to 0.
            b = b if (threshold is None or threshold <= b) else 0
            a = 0
        elif threshold is not None:
            a = max(a, threshold)  # a published non-zero count was not small
        lo[i], hi[i] = max(0.0, float(a)), float(b)
    return lo, hi


def attack(published: pd.DataFrame, relations: Iterable, *, round_to=_FROM_ATTRS,
           threshold=_FROM_ATTRS, integer: bool = False) -> pd.DataFrame:
    """The intruder: the feasible range of every suppressed cell of a published table.

    ``published`` has columns ``cell`` and ``published`` (int or ``"c"``), optionally
    ``suppressed`` and ``count`` (the truth, only echoed back). ``round_to`` / ``threshold``
    default to ``published.attrs`` (set by :func:`protect`); with ``round_to`` each published
    value means "a count that rounds to this". Every ``"c"`` cell is unknown to the intruder.

    Returns one row per suppressed cell: ``cell``, ``count``, ``lower``, ``upper`` (inf when
    unbounded), ``width``, ``recovered`` (``upper - lower < 1``: the value is determined
    exactly), and ``reason`` when ``published`` has it. Cells that :func:`protect` marked
    ``"unpublished"`` are reported only when small (1..threshold-1): working out a large count
    that is simply not shown (tier 1 from tier set "1") discloses nothing.
    """
    if round_to is _FROM_ATTRS:
        round_to = published.attrs.get("round_to")
    if threshold is _FROM_ATTRS:
        threshold = published.attrs.get("threshold")
    relations = list(relations)
    in_cells = list(published["cell"])
    pub = list(published["published"])
    if "suppressed" in published:
        supp_in = published["suppressed"].to_numpy(dtype=bool)
        if any(s != (isinstance(v, str)) for s, v in zip(supp_in, pub)):
            raise ValueError("'suppressed' disagrees with the published values")
    else:
        supp_in = np.array([isinstance(v, str) for v in pub], dtype=bool)
    truth = (published["count"].to_numpy(dtype=float) if "count" in published
             else np.full(len(in_cells), np.nan))
    if len(set(in_cells)) != len(in_cells):
        raise ValueError("published has the same cell more than once")
    order = sorted(range(len(in_cells)), key=lambda i: _sort_key(in_cells[i]))
    cells = [in_cells[i] for i in order]
    system = compile_relations(cells, relations)
    lo_in, hi_in = _published_bounds(pub, round_to, threshold)
    lo, hi, targets = lo_in[order], hi_in[order], supp_in[order]
    lower, upper = _ranges(system, lo, hi, targets, integer)
    back = np.empty(len(order), dtype=np.int64)
    back[order] = np.arange(len(order))
    lower_in, upper_in = lower[back], upper[back]
    report = supp_in.copy()
    if "reason" in published and threshold is not None:
        not_small = ~((truth > 0) & (truth < threshold))  # NaN (unknown truth) is kept
        not_small &= ~np.isnan(truth)
        report &= ~((published["reason"].to_numpy(dtype=object) == "unpublished") & not_small)
    rows = np.flatnonzero(report)
    out = pd.DataFrame({
        "cell": pd.Series([in_cells[i] for i in rows], dtype=object),
        "count": truth[rows],
        "lower": lower_in[rows],
        "upper": upper_in[rows],
    })
    out["width"] = out["upper"] - out["lower"]
    out["recovered"] = out["width"] < 1
    if "reason" in published:
        out["reason"] = pd.Series(published["reason"].to_numpy(dtype=object)[rows], dtype=object)
    return out


