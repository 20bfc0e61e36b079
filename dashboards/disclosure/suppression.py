"""Choosing what to hide: primary suppression, the relation rule and the intruder-checked secondary
suppression (:func:`protect`)."""
from __future__ import annotations

import math
import warnings
from typing import Iterable

import numpy as np
import pandas as pd

from .intruder import _LAZY_ABOVE, _batch_ranges, _Component, _components, _group, _pack, _propagate
from .relations import (_AT_MOST, _EPS, DEFAULT_THRESHOLD, SUPPRESSED, _check_consistent, _sort_key, _System,
                        compile_relations, round_count)


def _pick(system: _System, counts: np.ndarray, supp: np.ndarray, rel_mask: np.ndarray,
          allow_zero: bool = False, published_before: np.ndarray | None = None) -> int | None:
    """The published cell, in a relation of ``rel_mask``, with the smallest positive count
    (a part before a total, then the canonical order); zeros only when ``allow_zero``. Cells in
    ``published_before`` (already published earlier: hiding them now protects nothing) are never chosen."""
    cell = system.e_cell
    ok = rel_mask[system.e_rel] & ~supp[cell]
    if published_before is not None:
        ok &= ~published_before[cell]
    if not allow_zero:
        ok &= counts[cell] > 0
    idx = np.flatnonzero(ok)
    if len(idx) == 0:
        return None
    best = np.lexsort((cell[idx], system.e_total[idx], counts[cell[idx]]))[0]
    return int(cell[idx[best]])


def _relation_rule(system: _System, counts: np.ndarray, unknown: np.ndarray,
                   protected: np.ndarray, published_before: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Until stable: in every relation whose only unknown cell is one to protect, hide the
    published cell with the smallest positive count (all such relations at once each round, so
    the result does not depend on the order of the relations). An AtMost bounds its cells on one
    side only, so it is left to the intruder check; ``published_before`` cells are never chosen."""
    unknown, protected = unknown.copy(), protected.copy()
    cell, rel = system.e_cell, system.e_rel
    two_sided = system.kind != _AT_MOST
    while True:
        n_unknown = np.bincount(rel, weights=unknown[cell].astype(float), minlength=system.n_rel)
        n_protected = np.bincount(rel, weights=protected[cell].astype(float), minlength=system.n_rel)
        active = (n_unknown == 1) & (n_protected == 1) & two_sided
        ok = active[rel] & ~unknown[cell] & ~published_before[cell] & (counts[cell] > 0)
        idx = np.flatnonzero(ok)
        if len(idx) == 0:
            return unknown, protected
        order = np.lexsort((cell[idx], system.e_total[idx], counts[cell[idx]], rel[idx]))
        idx = idx[order]
        _, first = np.unique(rel[idx], return_index=True)
        unknown[cell[idx[first]]] = True
        protected[cell[idx[first]]] = True


def _as_counts(counts: pd.Series) -> tuple[list, np.ndarray]:
    if not isinstance(counts, pd.Series):
        raise TypeError("counts must be a pandas Series indexed by cell id")
    if not counts.index.is_unique:
        raise ValueError("counts has the same cell more than once")
    values = pd.to_numeric(counts, errors="raise").to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(values).any():
        raise ValueError("counts has missing values")
    if (values < 0).any() or (values != np.round(values)).any():
        raise ValueError("counts must be non-negative whole numbers")
    return list(counts.index), values.astype(np.int64)


def protect(counts: pd.Series, relations: Iterable, threshold: int = DEFAULT_THRESHOLD,
            round_to: int | None = None, *, unpublished: Iterable = (), secondary: bool = True,
            integer: bool = False, known: Iterable = (), suppressed_before: Iterable = (),
            auxiliary: Iterable = (), avoid: Iterable = ()) -> pd.DataFrame:
    """Primary and secondary suppression (and optional rounding) of a set of related counts.

    ``counts``: Series, index = cell ids (any hashable), values = non-negative whole numbers.
    ``relations``: :class:`Sum` / :class:`Union` / :class:`AtMost` over those cells. ``threshold``:
    counts 1..threshold-1 are hidden. ``round_to``: publish other counts to the nearest multiple
    (None: exact). ``unpublished``: cells that are in the arithmetic but never shown (e.g. single
    tiers when only the cumulative tier sets are published): the intruder does not see them, and
    those with a count 1..threshold-1 are protected from being worked out by differencing.
    ``secondary=False`` gives primary suppression only (for demonstrations). ``integer=True``:
    the intruder check solves integer programmes instead of linear ones. ``auxiliary``: cells that
    only carry arithmetic (e.g. a tier set no table shows): unknown to the intruder, never shown,
    and not protected themselves (their range may be narrow; a suppressed cell's may not).

    Earlier publications (the republication rule): ``known`` cells were published before with
    this same count, so the intruder already has them: they are never chosen for secondary
    suppression (hiding them now protects nothing); ``suppressed_before`` cells were shown as
    ``"c"`` before with this same count: they stay hidden and protected. A known cell that is
    now small (the threshold was raised) is shown as ``"c"`` but the intruder still knows it.

    ``avoid``: cells an earlier stage of the same protection chose to publish (not yet published
    anywhere): treated like ``known`` cells, except that one is hidden after all when a cell to
    protect has no other published cell left around it (the last resort of the secondary
    suppression; without it that cell would stay determined). In that case a secondary suppression
    the intruder can work out exactly is published instead: hiding it protects nothing.

    Returns one row per cell, in the order of ``counts``: ``cell``, ``count`` (the true count:
    never publish this column), ``published`` (int or ``"c"``), ``suppressed``, ``reason``
    (``"primary"``, ``"secondary"``, ``"unpublished"`` or None). ``attrs`` carries
    ``threshold``, ``round_to`` and ``unprotected``: hidden cells still too narrow with nothing left to
    hide (every cell around them ``known``), in the order of ``counts``; a warning says how many.
    """
    threshold = int(threshold)
    if threshold < 1:
        raise ValueError("threshold must be at least 1")
    if round_to is not None and int(round_to) < 1:
        raise ValueError("round_to must be a positive whole number or None")
    relations = list(relations)
    in_cells, in_values = _as_counts(counts)
    order = sorted(range(len(in_cells)), key=lambda i: _sort_key(in_cells[i]))
    cells = [in_cells[i] for i in order]
    values = in_values[order]
    system = compile_relations(cells, relations)
    _check_consistent(system, values)
    hidden = np.zeros(len(cells), dtype=bool)
    for c in unpublished:
        if c not in system.pos:
            raise ValueError(f"unpublished cell {c!r} has no count")
        hidden[system.pos[c]] = True

    was_published = _flags(system, known, "known")
    before = _flags(system, suppressed_before, "suppressed_before") & ~was_published
    aux = _flags(system, auxiliary, "auxiliary") & ~was_published & ~before
    avoided = _flags(system, avoid, "avoid") & ~was_published & ~before & ~aux

    small = (values > 0) & (values < threshold)
    unknown = (small & ~was_published) | hidden | before | aux
    protected = (small & ~was_published & ~aux) | before
    unresolved = np.zeros(len(cells), dtype=bool)
    if secondary and protected.any():
        may_publish = ~small & ~before & ~hidden & ~aux  # a secondary suppression, if it turns out determined
        unknown, protected, unresolved = _secondary(system, values, unknown, protected, small, threshold, integer,
                                                    was_published, avoided, may_publish)
    return _result(in_cells, in_values, order, unknown, small, hidden | aux, small & ~aux, unresolved, threshold,
                   round_to)


def _result(in_cells: list, in_values: np.ndarray, order: list, unknown: np.ndarray, small: np.ndarray,
            unshown: np.ndarray, primary: np.ndarray, unresolved: np.ndarray, threshold: int,
            round_to: int | None) -> pd.DataFrame:
    """:func:`protect`'s table, in the input order (the flags are in the canonical ``order``)."""
    back = np.empty(len(order), dtype=np.int64)
    back[order] = np.arange(len(order))  # input position -> canonical index
    shown_c = unknown | small
    u_in, s_in, h_in = shown_c[back], primary[back], unshown[back]
    published = [SUPPRESSED if u else round_count(v, round_to) for u, v in zip(u_in, in_values)]
    reason = [
        ("unpublished" if h else "primary" if s else "secondary") if u else None
        for u, s, h in zip(u_in, s_in, h_in)
    ]
    out = pd.DataFrame({
        "cell": pd.Series(in_cells, dtype=object),
        "count": pd.Series(in_values, dtype=np.int64),
        "published": pd.Series(published, dtype=object),
        "suppressed": pd.Series(u_in, dtype=bool),
        "reason": pd.Series(reason, dtype=object),
    })
    unprotected = [in_cells[i] for i in range(len(in_cells)) if unresolved[back[i]]]
    if unprotected:  # the cells are in attrs, not in the message: a caller's cell ids may carry their counts
        warnings.warn(f"{len(unprotected)} hidden cells cannot be protected further (attrs['unprotected']): every "
                      "cell around them was published before", stacklevel=3)
    out.attrs.update(threshold=threshold, round_to=round_to, unprotected=unprotected)
    return out


def _flags(system: _System, cells: Iterable, name: str) -> np.ndarray:
    flags = np.zeros(len(system.cells), dtype=bool)
    for c in cells:
        if c not in system.pos:
            raise ValueError(f"{name} cell {c!r} has no count")
        flags[system.pos[c]] = True
    return flags


def _secondary(system: _System, values: np.ndarray, unknown: np.ndarray, protected: np.ndarray,
               small: np.ndarray, threshold: int, integer: bool,
               known: np.ndarray | None = None, avoid: np.ndarray | None = None,
               may_publish: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The relation rule, then the intruder check until every protected cell's range is at
    least ``threshold`` wide. ``unknown``: cells the intruder does not see (suppressed or
    unpublished); ``protected``: those whose range must be wide (suppressed ones, and small
    unpublished ones). ``known`` cells are never chosen; ``avoid`` cells only as a last resort, when a
    ``may_publish`` cell (a secondary suppression) that needs protecting is not worked out exactly
    (:func:`_hide_one_more`). Returns ``unknown``, ``protected`` and the cells left unprotected (unsafe with
    nothing left to hide).

    Hiding one more cell only removes an equation the intruder had, so every range can only
    widen: a cell found safe stays safe and is not checked again. Any feasible point an LP
    returns also proves a lower bound on every other cell's range (the true counts are feasible
    too), which clears most cells without solving for them. In each connected group of unknown
    cells the first unsafe cell found (small cells first) gets one more suppression per round;
    every round hides at least one more cell, so there are at most as many rounds as cells.
    """
    n = len(values)
    known = np.zeros(n, dtype=bool) if known is None else known.copy()  # published before: never chosen
    avoid = np.zeros(n, dtype=bool) if avoid is None else avoid  # chosen only when nothing else is left
    may_publish = np.zeros(n, dtype=bool) if may_publish is None else may_publish
    truth = values.astype(float)
    check_order = np.lexsort((np.arange(n), values, ~small))
    safe = np.zeros(n, dtype=bool)
    unresolved = np.zeros(n, dtype=bool)
    for _ in range(2 * n + 2):
        unknown, protected = _relation_rule(system, values, unknown, protected, known | avoid)
        lo, hi, fixed = _intruder_view(unknown, truth)
        targets = protected & ~safe & ~unresolved
        labels, groups = _group(system, unknown, targets, check_order)
        failing: list[int] = []
        small_jobs = []
        bounds = None  # interval-reasoning bounds of every cell, worked out for the first large group
        for _label, members, tgts in groups:
            pending = [t for t in tgts if not safe[t]]
            if len(members) == 1 and not system.cell_rels[members[0]].nnz:
                safe[pending] = True  # in no relation: unbounded
                continue
            comp = _Component(system, members, lo, hi, fixed, integer)
            if len(members) <= _LAZY_ABOVE:
                small_jobs.append((comp, pending))
                continue
            bounds = bounds or _propagate(system, lo, hi)
            bad = _first_unsafe_in_large_group(comp, pending, bounds, truth, threshold, safe)
            if bad is not None:
                failing.append(bad)
        failing.extend(_first_unsafe_in_small_groups(small_jobs, threshold, safe))
        if not failing:
            break
        for cell in failing:
            _hide_one_more(system, values, unknown, protected, known, avoid, may_publish, unresolved, cell, integer)
    return unknown, protected, unresolved


def _first_unsafe_in_large_group(comp: _Component, pending: list, bounds: tuple, truth: np.ndarray,
                                 threshold: int, safe: np.ndarray) -> int | None:
    """A large group is solved cell by cell, in order, stopping at the first unsafe cell (returned); the
    feasible points found on the way clear most of the others (``safe`` is updated), and a cell whose
    interval-reasoning ``bounds`` (lower, upper) are already too close is unsafe without any LP."""
    plo, phi = bounds
    for t in pending:
        if safe[t]:
            continue
        if phi[t] - plo[t] < threshold:
            return t
        up, x_up = comp.upper(t)
        _certify(comp, x_up, truth, threshold, safe)
        if up == math.inf or safe[t]:
            safe[t] = True
            continue
        low, x_low = comp.lower(t)
        _certify(comp, x_low, truth, threshold, safe)
        if up - low >= threshold:
            safe[t] = True
            continue
        return t
    return None


def _first_unsafe_in_small_groups(small_jobs: list, threshold: int, safe: np.ndarray) -> list[int]:
    """Small groups: every pending cell at once (stacked LPs); the first unsafe cell of each group."""
    first_bad: dict[int, int] = {}
    for batch in _pack(small_jobs):
        for (comp, cells), (low, up, _) in zip(batch, _batch_ranges(batch)):
            ok = up - low >= threshold
            safe[np.asarray(cells)[ok]] = True
            if not ok.all():
                first_bad.setdefault(id(comp), cells[int(np.flatnonzero(~ok)[0])])
    return list(first_bad.values())


def _hide_one_more(system: _System, values: np.ndarray, unknown: np.ndarray, protected: np.ndarray,
                   known: np.ndarray, avoid: np.ndarray, may_publish: np.ndarray, unresolved: np.ndarray,
                   cell: int, integer: bool) -> None:
    """Hide one more cell next to the unsafe ``cell`` (:func:`_choose_extra`), not one of ``known`` or
    ``avoid``. Failing that (every published cell around it is ``known`` or ``avoid``):

    * a ``may_publish`` cell the intruder works out exactly is published (and ``known`` from now on): its
      value follows from what is published, so showing it adds nothing to what the intruder can learn,
      now or after more cells are hidden, and hiding it protects nothing;
    * otherwise one of ``avoid`` is hidden.

    When there is none: nothing published touches its group, so its constraints are homogeneous and any
    cell with a positive count is unbounded: only a hidden 0 can end up here, unless every cell around it
    was published before (nothing left to hide); it is marked unresolved (:func:`protect` warns)."""
    choice = _choose_extra(system, values, unknown, cell, known | avoid)
    if choice is None and avoid.any():
        if may_publish[cell] and _worked_out_exactly(system, values, unknown, cell, integer):
            unknown[cell] = protected[cell] = False
            known[cell] = True
            return
        choice = _choose_extra(system, values, unknown, cell, known)
    if choice is not None:
        unknown[choice] = protected[choice] = True
        return
    if values[cell] > 0 and not (known | avoid).any():
        raise RuntimeError(f"cannot protect cell {system.cells[cell]!r}")
    unresolved[cell] = True


def _worked_out_exactly(system: _System, values: np.ndarray, unknown: np.ndarray, cell: int, integer: bool) -> bool:
    """Whether the intruder's range of the hidden ``cell`` is its count alone, given everything not ``unknown``."""
    labels = _components(system, unknown)
    members = np.flatnonzero(unknown & (labels == labels[cell]))
    comp = _Component(system, members, *_intruder_view(unknown, values.astype(float)), integer)
    return comp.upper(cell)[0] == comp.lower(cell)[0]


def _intruder_view(unknown: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower bounds, upper bounds, fixed values) of every cell as the intruder sees them: an unknown cell is
    0..inf (fixed 0, as it is a variable), a published one its count."""
    return np.where(unknown, 0.0, truth), np.where(unknown, np.inf, truth), np.where(unknown, 0.0, truth)


def _certify(comp: _Component, x, truth: np.ndarray, threshold: int, safe: np.ndarray) -> None:
    """Mark safe every cell of ``comp`` whose value at the feasible point ``x`` is at least
    ``threshold`` from its true value (both points are feasible, so its range is that wide)."""
    if x is None:
        return
    members = comp.members
    gap = np.maximum(np.floor(x + _EPS) - truth[members], truth[members] - np.ceil(x - _EPS))
    safe[members[gap >= threshold]] = True


def _choose_extra(system: _System, values: np.ndarray, unknown: np.ndarray, cell: int,
                  published_before: np.ndarray | None = None) -> int | None:
    """One more cell to hide for an unsafe ``cell``: the published cell with the smallest
    positive count in a relation containing it; failing that, in the relations one step further
    out through unknown cells, and so on; failing that, a published 0 in any of those. Cells
    published before (``published_before``) are never chosen."""
    seen_rel = np.zeros(system.n_rel, dtype=bool)
    seen_cell = np.zeros(len(values), dtype=bool)
    seen_cell[cell] = True
    frontier = np.array([cell])
    while len(frontier):
        rels = np.unique(system.cell_rels[frontier].indices)
        rels = rels[~seen_rel[rels]]
        if len(rels) == 0:
            break
        mask = np.zeros(system.n_rel, dtype=bool)
        mask[rels] = True
        seen_rel |= mask
        choice = _pick(system, values, unknown, mask, published_before=published_before)
        if choice is not None:
            return choice
        nxt = np.unique(system.e_cell[mask[system.e_rel]])
        frontier = nxt[unknown[nxt] & ~seen_cell[nxt]]
        seen_cell[frontier] = True
    return _pick(system, values, unknown, seen_rel, allow_zero=True, published_before=published_before)


