"""Disclosure control for the partnership's published count tables.

What it does, in plain English
------------------------------
Every count we publish (children with neglect, by tier set, area and breakdown) is a *cell*.
Small counts can identify a child, so before anything reaches the board:

1. **Primary suppression.** A count from 1 to ``threshold - 1`` (the setting
   ``suppression_threshold``, default 5, so 1-4) is replaced by ``"c"`` (the GSS / DfE symbol
   for "confidential"). A count of 0 is published as 0: it discloses nothing about a child.
2. **Secondary suppression.** Hiding a small count is useless if it can be worked out by
   subtraction: from a row or column total ("All children" minus the other age bands), from a
   neighbouring breakdown, or from nested tier sets (tier set "1" = 12 and "1-2" = 14 tells you
   that 2 children are in tier 2). The tables' arithmetic is given to us as *relations*:

   * ``Sum(total, parts)``: the total is exactly the sum of the parts (a breakdown including
     "Not known" adds up to "All"; tier set "1-4" is tiers 1 + 2 + 3 + 4).
   * ``Union(total, parts)``: the total counts each child once across the parts (the partnership
     counts a child known to both authorities once), so ``max(parts) <= total <= sum(parts)``.

   Some cells are in the arithmetic but never shown at all (*unpublished*): with only the
   cumulative tier sets in the table, single tiers are such cells. The intruder cannot see
   them, but a small one (tier 2 = 14 - 12 = 2 above) must be protected like a hidden count.

   We hide further cells until no hidden cell can be recovered. First a simple rule, applied
   until nothing changes: in any relation where exactly one cell is hidden (and no unpublished
   cell is in it either), also hide the published cell with the smallest positive count (a part
   before the total on a tie, then a fixed order of the cell ids). Zeros are not chosen: an
   intruder already knows a count is not negative, so hiding a 0 rarely protects anything.
3. **The intruder check (audit).** We then attack our own table the way an intruder would
   (:func:`attack`): for every hidden cell, the smallest and largest value it could take given
   every published number and every relation, found by linear programming. If any hidden cell
   is pinned down to a range narrower than the threshold (an intruder could tell it is, say,
   "between 1 and 4"), we hide one more cell next to it (the smallest positive published count
   in a relation containing it; if all of those are hidden or 0, the nearest such count one
   relation further out) and attack again. This repeats until every hidden cell's range (and
   every small unpublished cell's) is at least ``threshold`` wide. Each round hides at least
   one more cell, and there are finitely many, so it always stops; hiding a cell only ever
   widens the ranges, so a cell found safe stays safe. The result depends only on the counts
   and relations, never on the order of the rows or of the relations.
4. **Rounding (optional).** Where the partnership asks, every published count is rounded to the
   nearest multiple of ``round_to`` (5), halves rounded up; 0 stays 0 and hidden cells stay
   ``"c"``. Suppression is chosen as if the intruder saw the *unrounded* numbers, so rounding
   only adds protection; :func:`attack` on a rounded table treats each published number as the
   range of counts that round to it.
5. **Rates.** Any rate, interval, comparison flag or other figure computed from a hidden count is
   blanked too (:func:`suppress_rates`).
6. **No identifiers.** Published tables never carry identifiers (NHS numbers, UPNs, pseudonymous
   keys, record ids), exact dates of birth or full postcodes: :func:`check_no_identifiers`
   refuses them, and :func:`apply_to_table` calls it.

How the intruder is modelled
----------------------------
The unknowns are the hidden cells (and, for a rounded table, every published cell within its
rounding range). Constraints: a Sum is an equation; a Union is ``total >= each part`` and
``total <= sum(parts)`` (the true inequalities: the overlap between the authorities is not
published); every count is at least 0; in a rounded table a published non-zero count is also at
least the threshold (else it would have been hidden). For each hidden cell we minimise and
maximise it with ``scipy.optimize.linprog`` (HiGHS), over just the connected group of unknowns it
belongs to. Counts are whole numbers, so the bounds are rounded inwards (``ceil``/``floor``;
interval reasoning over single relations sometimes proves a tighter whole-number bound, which is
then used); ``integer=True`` solves the integer programme exactly with ``scipy.optimize.milp``.
When the rule in step 2 chooses cells, a Union is treated like a Sum (as if the overlap were
zero), which can only hide more. (For speed, the LPs for many cells are stacked into one solver
call, and feasible points already found are reused to prove bounds; see the function notes.)

Relations are ``Sum`` (an equation), ``Union`` (``max(parts) <= total <= sum(parts)``) and ``AtMost``
(``part <= whole``: children at a quarter end are among the 12 months' children). Earlier
publications enter through :func:`protect`'s ``known`` (cells already published: never hidden now) and
``suppressed_before`` (cells shown as "c": they stay hidden); ``auxiliary`` cells carry arithmetic
only. The integer intruder (``integer=True``) solves the same LPs first and an integer programme only
where an LP optimum is fractional (a whole-numbered LP optimum is the integer optimum too).

Limits: the intruder here knows the published tables and their arithmetic, not outside knowledge
(e.g. the size of the overlap between authorities, or that a hidden cell is at least 1). Ranges of
at least ``threshold`` are a cautious protection level, but tables published from the same data at
different times or cuts must be protected together: pass all their cells and relations in one call
(:mod:`dashboards.publication` does this for every table, quarter and version a refresh publishes).

References
----------
* Hundepool, A., Domingo-Ferrer, J., Franconi, L., Giessing, S., Schulte Nordholt, E., Spicer,
  K. and de Wolf, P.-P. (2012) *Statistical Disclosure Control*. Wiley. Chapters 4-5 (tabular
  data: sensitivity rules, secondary cell suppression, the audit by linear programming of each
  suppressed cell's feasibility interval, protection levels); an updated text is published as
  the *Handbook on Statistical Disclosure Control* (sdctools.github.io/HandbookSDC).
* Government Statistical Service / ONS guidance on disclosure control for tables produced from
  administrative sources (GSS, 2014): threshold rules for small counts, secondary suppression
  against differencing (including between tables and geographies), rounding, and suppressing
  rates derived from suppressed counts.
* Department for Education statistics conventions: ``"c"`` marks a figure suppressed to protect
  confidentiality.
"""
from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from typing import Hashable, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse.csgraph import connected_components

__all__ = [
    "DEFAULT_THRESHOLD",
    "SUPPRESSED",
    "Sum",
    "Union",
    "AtMost",
    "protect",
    "attack",
    "suppress_rates",
    "apply_to_table",
    "counts_from_table",
    "check_no_identifiers",
    "round_count",
]

SUPPRESSED = "c"
DEFAULT_THRESHOLD = 5
_EPS = 1e-6  # tolerance when rounding LP optima inwards to whole numbers


# ---------------------------------------------------------------------------------------------
# Relations
# ---------------------------------------------------------------------------------------------


def _check_relation(rel) -> None:
    parts = tuple(rel.parts)
    object.__setattr__(rel, "parts", parts)
    if not parts:
        raise ValueError(f"{type(rel).__name__}({rel.total!r}) has no parts")
    if len(set(parts)) != len(parts):
        raise ValueError(f"{type(rel).__name__}({rel.total!r}) lists a part twice")
    if rel.total in set(parts):
        raise ValueError(f"{type(rel).__name__}({rel.total!r}) has its total among its parts")


@dataclass(frozen=True)
class Sum:
    """``total == sum(parts)`` exactly (a breakdown adding up to "All"; nested tier sets)."""

    total: Hashable
    parts: tuple

    def __post_init__(self) -> None:
        _check_relation(self)


@dataclass(frozen=True)
class Union:
    """``total`` counts each child once across ``parts``: ``max(parts) <= total <= sum(parts)``."""

    total: Hashable
    parts: tuple

    def __post_init__(self) -> None:
        _check_relation(self)


@dataclass(frozen=True, init=False)
class AtMost:
    """``part <= whole``: every child counted in ``part`` is counted in ``whole`` too (children at the
    quarter end are among the children of the 12 months to it; a numerator is part of its
    denominator). Nothing bounds ``whole`` from above."""

    total: Hashable
    parts: tuple

    def __init__(self, part: Hashable, whole: Hashable) -> None:
        object.__setattr__(self, "total", whole)
        object.__setattr__(self, "parts", (part,))
        _check_relation(self)

    @property
    def part(self) -> Hashable:
        return self.parts[0]

    @property
    def whole(self) -> Hashable:
        return self.total

    def __repr__(self) -> str:
        return f"AtMost(part={self.part!r}, whole={self.whole!r})"


RELATION_KINDS = (Sum, Union, AtMost)
_SUM, _UNION, _AT_MOST = 0, 1, 2  # relation kind codes in a compiled system


def _kind(rel) -> int:
    for code, kind in enumerate(RELATION_KINDS):
        if isinstance(rel, kind):
            return code
    raise TypeError(f"relation {rel!r} is {type(rel).__name__}, not Sum, Union or AtMost")


# ---------------------------------------------------------------------------------------------
# Helpers: canonical order, the compiled constraint system
# ---------------------------------------------------------------------------------------------


def _sort_key(x) -> tuple:
    """A total order over any cell ids (numbers, strings, tuples of them, anything else)."""
    if isinstance(x, tuple):
        return (3, 0.0, "", tuple(_sort_key(e) for e in x))
    if isinstance(x, (bool, int, float, np.integer, np.floating)):
        return (1, float(x), repr(x), ())
    if isinstance(x, str):
        return (2, 0.0, str(x), ())
    return (4, 0.0, type(x).__name__ + ":" + repr(x), ())


def round_count(count: int, round_to: int | None) -> int:
    """``count`` to the nearest multiple of ``round_to`` (halves up); unchanged when None."""
    if not round_to:
        return int(count)
    return int(math.floor(count / round_to + 0.5) * round_to)


@dataclass
class _System:
    cells: list  # canonical order (index = rank)
    pos: dict  # cell -> index
    n_rel: int
    relations: list  # the relations, in the order given
    kind: np.ndarray  # per relation: _SUM, _UNION or _AT_MOST
    is_sum: np.ndarray  # per relation: Sum (True) or an inequality (False)
    e_rel: np.ndarray  # one entry per (relation, cell)
    e_cell: np.ndarray
    e_total: np.ndarray  # bool: the cell is the relation's total
    cell_rels: sparse.csr_matrix  # cells x relations incidence
    a_eq: sparse.csr_matrix  # one row per Sum: total - sum(parts) == 0
    eq_rel: np.ndarray
    a_ub: sparse.csr_matrix  # per Union: part - total <= 0 (each part); total - sum(parts) <= 0
    ub_rel: np.ndarray


def _compile(cells: list, relations: Sequence) -> _System:
    pos = {c: i for i, c in enumerate(cells)}
    n = len(cells)
    e_rel, e_cell, e_total = [], [], []
    eq_r, eq_c, eq_v, eq_rel = [], [], [], []
    ub_r, ub_c, ub_v, ub_rel = [], [], [], []
    n_eq = n_ub = 0
    kinds = np.array([_kind(rel) for rel in relations], dtype=np.int8)
    for r, rel in enumerate(relations):
        try:
            t = pos[rel.total]
            ps = [pos[p] for p in rel.parts]
        except KeyError as exc:
            raise ValueError(f"relation {rel!r} refers to cell {exc.args[0]!r}, which has no count") from None
        e_rel += [r] * (len(ps) + 1)
        e_cell += [t, *ps]
        e_total += [True] + [False] * len(ps)
        if isinstance(rel, Sum):
            eq_r += [n_eq] * (len(ps) + 1)
            eq_c += [t, *ps]
            eq_v += [1.0] + [-1.0] * len(ps)
            eq_rel.append(r)
            n_eq += 1
        elif isinstance(rel, AtMost):
            ub_r += [n_ub, n_ub]
            ub_c += [ps[0], t]
            ub_v += [1.0, -1.0]
            ub_rel.append(r)
            n_ub += 1
        else:
            for p in ps:
                ub_r += [n_ub, n_ub]
                ub_c += [p, t]
                ub_v += [1.0, -1.0]
                ub_rel.append(r)
                n_ub += 1
            ub_r += [n_ub] * (len(ps) + 1)
            ub_c += [t, *ps]
            ub_v += [1.0] + [-1.0] * len(ps)
            ub_rel.append(r)
            n_ub += 1
    e_rel_a = np.asarray(e_rel, dtype=np.int64)
    e_cell_a = np.asarray(e_cell, dtype=np.int64)
    n_rel = len(relations)
    return _System(
        cells=cells,
        pos=pos,
        n_rel=n_rel,
        relations=list(relations),
        kind=kinds,
        is_sum=kinds == _SUM,
        e_rel=e_rel_a,
        e_cell=e_cell_a,
        e_total=np.asarray(e_total, dtype=bool),
        cell_rels=sparse.csr_matrix(
            (np.ones(len(e_rel_a), dtype=np.int8), (e_cell_a, e_rel_a)), shape=(n, n_rel)
        ),
        a_eq=sparse.csr_matrix((eq_v, (eq_r, eq_c)), shape=(n_eq, n)),
        eq_rel=np.asarray(eq_rel, dtype=np.int64),
        a_ub=sparse.csr_matrix((ub_v, (ub_r, ub_c)), shape=(n_ub, n)),
        ub_rel=np.asarray(ub_rel, dtype=np.int64),
    )


def broken_relations(system: _System, counts: np.ndarray) -> list[int]:
    """Numbers of the relations the counts do not satisfy."""
    x = counts.astype(float)
    bad_eq = np.flatnonzero(np.abs(system.a_eq @ x) > 0.5)
    bad_ub = np.flatnonzero(system.a_ub @ x > 0.5)
    return sorted(set(system.eq_rel[bad_eq].tolist()) | set(system.ub_rel[bad_ub].tolist()))


def _describe(system: _System, counts: np.ndarray, r: int) -> str:
    """A relation with the counts of its cells, for an error message (cell ids hold no identifiers)."""
    rel = system.relations[r]
    count = lambda c: int(counts[system.pos[c]])  # noqa: E731
    parts = ", ".join(f"{p!r} = {count(p)}" for p in rel.parts)
    return f"{type(rel).__name__}: total {rel.total!r} = {count(rel.total)}; parts {parts}"


def _check_consistent(system: _System, counts: np.ndarray) -> None:
    """The true counts must satisfy every relation (else the relations are wrong, not the counts)."""
    bad = broken_relations(system, counts)
    if bad:
        raise ValueError(f"counts break {len(bad)} relation(s) the tables are supposed to obey, so the relations "
                         f"given to disclosure control are wrong; e.g. relation number {bad[0]}, "
                         f"{_describe(system, counts, bad[0])}")


# ---------------------------------------------------------------------------------------------
# The intruder: feasible range of each unknown cell by linear programming
# ---------------------------------------------------------------------------------------------


def _components(system: _System, var: np.ndarray) -> np.ndarray:
    """Component label per cell: unknown cells sharing a relation are in one component."""
    n = len(system.cells)
    m = var[system.e_cell]
    rows = system.e_cell[m]
    cols = n + system.e_rel[m]
    size = n + system.n_rel
    graph = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(size, size))
    _, labels = connected_components(graph, directed=False)
    return labels[:n]


class _Component:
    """The LPs for one connected group of unknown cells.

    Variables: the group's unknown cells, with their bounds (0..inf for a hidden count; the
    rounding range for a rounded published one). Constraints: every relation touching the group,
    published values moved to the right-hand side.
    """

    def __init__(self, system: _System, members: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                 fixed: np.ndarray, integer: bool):
        self.members = members
        self.m = len(members)
        self.local = {int(c): i for i, c in enumerate(members)}
        rel_mask = np.zeros(system.n_rel, dtype=bool)
        rel_mask[system.cell_rels[members].indices] = True
        self.eq = self._rows(system.a_eq, system.eq_rel, rel_mask, members, fixed)
        self.ub_rows = self._rows(system.a_ub, system.ub_rel, rel_mask, members, fixed)
        self.lb = lo[members].astype(float)
        self.ub = hi[members].astype(float)
        self.integer = integer

    @staticmethod
    def _rows(a, row_rel, rel_mask, members, fixed):
        """(rows, cols, values, rhs) in the group's own numbering."""
        rows = np.flatnonzero(rel_mask[row_rel]) if len(row_rel) else np.zeros(0, dtype=np.int64)
        sub = a[rows]
        rhs = -(sub @ fixed)
        coo = sub[:, members].tocoo()
        return coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data, rhs

    @staticmethod
    def _matrix(blocks, n_cols):
        """Stack (rows, cols, values, rhs, row offset, col offset) blocks into one sparse matrix."""
        n_rows = sum(len(b[3]) for b in blocks)
        if n_rows == 0:
            return None, None
        r = np.concatenate([b[0] + b[4] for b in blocks])
        c = np.concatenate([b[1] + b[5] for b in blocks])
        v = np.concatenate([b[2] for b in blocks])
        rhs = np.concatenate([b[3] for b in blocks])
        return sparse.csr_matrix((v, (r, c)), shape=(n_rows, n_cols)), rhs

    @staticmethod
    def _copies(rows, k: int, m: int):
        """k copies of a constraint block, side by side (copy i on columns i*m..i*m+m-1)."""
        r, c, v, rhs = rows
        off = np.arange(k)
        return ((r[None, :] + len(rhs) * off[:, None]).ravel(), (c[None, :] + m * off[:, None]).ravel(),
                np.tile(v, k), np.tile(rhs, k))

    def _solve(self, c, eq_blocks, ub_blocks, bounds):
        a_eq, b_eq = self._matrix(eq_blocks, len(c))
        a_ub, b_ub = self._matrix(ub_blocks, len(c))
        res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if res.status == 2:
            raise ValueError("the published values are inconsistent with the relations (infeasible)")
        if res.status not in (0, 3):
            raise RuntimeError(f"linprog failed: {res.message}")
        return res

    def _lp(self, c):
        """min c.x: (value, solution point); value -inf (point None) when unbounded."""
        res = self._solve(c, [(*self.eq, 0, 0)], [(*self.ub_rows, 0, 0)],
                          np.column_stack([self.lb, self.ub]))
        if res.status == 3:
            return -math.inf, None
        return float(res.fun), res.x

    def _ip(self, c):
        cons = []
        for (r, col, v, rhs), lower in ((self.eq, True), (self.ub_rows, False)):
            if len(rhs):
                a = sparse.csr_matrix((v, (r, col)), shape=(len(rhs), self.m))
                cons.append(LinearConstraint(a, rhs if lower else -np.inf, rhs))
        res = milp(c, integrality=np.ones(len(c)), bounds=Bounds(self.lb, self.ub), constraints=cons)
        if res.status != 0:
            raise RuntimeError(f"milp failed: {res.message}")
        return float(res.fun), res.x

    def _objective(self, cell: int, sign: float) -> np.ndarray:
        c = np.zeros(self.m)
        c[self.local[cell]] = sign
        return c

    def lower(self, cell: int):
        """(smallest whole value the cell can take, a feasible point reaching it)."""
        c = self._objective(cell, 1.0)
        value, x = self._ip(c) if self.integer else self._lp(c)
        return max(0.0, float(math.ceil(value - _EPS))) + 0.0, x

    def upper(self, cell: int):
        """(largest whole value the cell can take, or inf; a feasible point reaching it, or None)."""
        c = self._objective(cell, -1.0)
        value, x = self._lp(c)
        if value == -math.inf:
            return math.inf, None
        if self.integer:
            value, x = self._ip(c)
        return float(math.floor(-value + _EPS)), x

    def range_of(self, cell: int) -> tuple[float, float]:
        return self.lower(cell)[0], self.upper(cell)[0]

    def unbounded_above(self, cells: Sequence[int]) -> np.ndarray:
        """Which of ``cells`` can grow without limit (the recession LP of :func:`_batch_ranges`)."""
        k, m = len(cells), self.m
        loc = np.array([self.local[t] for t in cells], dtype=np.int64)
        n_eq, n_ub = len(self.eq[3]), len(self.ub_rows[3])
        eq_blocks = [(self.eq[0], self.eq[1], self.eq[2], np.zeros(n_eq), 0, 0)]
        ub_blocks = [(self.ub_rows[0], self.ub_rows[1], self.ub_rows[2], np.zeros(n_ub), 0, 0),
                     (np.concatenate([np.arange(k), np.arange(k)]), np.concatenate([loc, m + np.arange(k)]),
                      np.concatenate([-np.ones(k), np.ones(k)]), np.zeros(k), n_ub, 0)]
        bounds = np.vstack([np.column_stack([np.zeros(m), np.where(np.isinf(self.ub), np.inf, 0.0)]),
                            np.column_stack([np.zeros(k), np.ones(k)])])
        x = _solve_blocks(np.concatenate([np.zeros(m), -np.ones(k)]), eq_blocks, ub_blocks, bounds)
        return x[m:] > 0.5

    def exact_ranges(self, cells: Sequence[int], plo: np.ndarray, phi: np.ndarray):
        """Exact whole-number (lower, upper) of ``cells`` in a large group, with few LPs.

        ``plo``/``phi`` are valid bounds from :func:`_propagate` (per group member). A feasible
        point where a cell sits on such a bound proves that bound is its exact minimum or
        maximum, so: one LP pushing every cell down, one pushing every bounded cell up, then
        one LP per cell still unproven (each new point may prove others).
        """
        cells = list(cells)
        loc = np.array([self.local[t] for t in cells], dtype=np.int64)
        k = len(cells)
        lower = np.full(k, np.nan)
        upper = np.full(k, np.nan)
        lo_b, hi_b = plo[loc], phi[loc]

        def certify(x):
            if x is None:
                return
            v = x[loc]
            hit_lo = np.isnan(lower) & (v <= lo_b + _EPS)
            lower[hit_lo] = np.maximum(0.0, lo_b[hit_lo])
            hit_hi = np.isnan(upper) & np.isfinite(hi_b) & (v >= hi_b - _EPS)
            upper[hit_hi] = hi_b[hit_hi]

        c = np.zeros(self.m)
        c[loc] = 1.0
        certify(self._lp(c)[1])
        maybe_inf = np.flatnonzero(np.isinf(hi_b))
        if len(maybe_inf):
            unbounded = self.unbounded_above([cells[i] for i in maybe_inf])
            upper[maybe_inf[unbounded]] = np.inf
        todo = np.isnan(upper)
        if todo.any():
            c = np.zeros(self.m)
            c[loc[todo]] = -1.0
            certify(self._lp(c)[1])
        for i, t in enumerate(cells):
            if np.isnan(lower[i]):
                lower[i], x = self.lower(t)
                certify(x)
            if np.isnan(upper[i]):
                upper[i], x = self.upper(t)
                certify(x)
        return lower + 0.0, upper



def _solve_blocks(c, eq_blocks, ub_blocks, bounds):
    a_eq, b_eq = _Component._matrix(eq_blocks, len(c))
    a_ub, b_ub = _Component._matrix(ub_blocks, len(c))
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if res.status == 2:
        raise ValueError("the published values are inconsistent with the relations (infeasible)")
    if res.status != 0:
        raise RuntimeError(f"linprog failed: {res.message}")
    return res.x


def _batch_ranges(jobs: list) -> list:
    """For each job (component, cells): (lower, upper, points): whole-number bounds of each cell
    (upper inf when unbounded) and feasible points the LPs found (rows, for certifying).

    Minimising each of k cells is k independent LPs over the same constraints; k copies of the
    constraints side by side (and the copies for other components beside them) make one LP whose
    optimum is optimal in every copy, so two solver calls replace 2k. The first call also finds
    which cells are unbounded above: those that some recession direction d increases (d >= 0,
    and 0 where the cell has an upper bound; A_eq d = 0; A_ub d <= 0). Maximising sum(s) with
    s_i <= d[cell i] and 0 <= s_i <= 1 gives s_i = 1 exactly for those (directions add up, so
    none is left at 0). The second call maximises the bounded ones.

    For an integer intruder (``comp.integer``) the LPs come first too: where the LP's optimal point is
    whole in every variable, it is also the integer programme's optimum; only the other bounds are
    solved again as integer programmes (``scipy.optimize.milp``), which keeps the exact attack cheap.
    """
    results: list = [None] * len(jobs)
    lp_jobs = list(range(len(jobs)))
    if not lp_jobs:
        return results

    def stack(parts, with_recession):
        """parts: (job, cells' local indices, sign). Returns the LP pieces and column offsets."""
        eq_blocks, ub_blocks, bounds, costs, offsets = [], [], [], [], []
        col = eq_row = ub_row = 0
        for comp, loc, sign in parts:
            k, m = len(loc), comp.m
            n_eq, n_ub = len(comp.eq[3]), len(comp.ub_rows[3])
            box = np.column_stack([comp.lb, comp.ub])
            eq_blocks.append((*comp._copies(comp.eq, k, m), eq_row, col))
            ub_blocks.append((*comp._copies(comp.ub_rows, k, m), ub_row, col))
            eq_row += k * n_eq
            ub_row += k * n_ub
            cost = np.zeros(k * m)
            cost[np.arange(k) * m + loc] = sign
            costs.append(cost)
            bounds.append(np.tile(box, (k, 1)))
            offsets.append(col)
            col += k * m
            if with_recession:
                eq_blocks.append((comp.eq[0], comp.eq[1], comp.eq[2], np.zeros(n_eq), eq_row, col))
                ub_blocks.append((comp.ub_rows[0], comp.ub_rows[1], comp.ub_rows[2], np.zeros(n_ub),
                                  ub_row, col))
                eq_row += n_eq
                ub_row += n_ub
                ub_blocks.append((np.concatenate([np.arange(k), np.arange(k)]),
                                  np.concatenate([loc, m + np.arange(k)]),
                                  np.concatenate([-np.ones(k), np.ones(k)]), np.zeros(k), ub_row, col))
                ub_row += k
                costs.append(np.concatenate([np.zeros(m), -np.ones(k)]))
                bounds.append(np.column_stack([np.zeros(m), np.where(np.isinf(comp.ub), np.inf, 0.0)]))
                bounds.append(np.column_stack([np.zeros(k), np.ones(k)]))
                col += m + k
        return np.concatenate(costs), eq_blocks, ub_blocks, np.vstack(bounds), offsets

    locs = {j: np.array([jobs[j][0].local[t] for t in jobs[j][1]], dtype=np.int64) for j in lp_jobs}
    c, eq_b, ub_b, bounds, offsets = stack([(jobs[j][0], locs[j], 1.0) for j in lp_jobs], True)
    x = _solve_blocks(c, eq_b, ub_b, bounds)
    bounded_of = {}
    for j, off in zip(lp_jobs, offsets):
        comp, loc = jobs[j][0], locs[j]
        k, m = len(loc), comp.m
        x_low = x[off:off + k * m].reshape(k, m)
        lower = np.maximum(0.0, np.ceil(x_low[np.arange(k), loc] - _EPS)) + 0.0
        bounded_of[j] = np.flatnonzero(x[off + k * m + m:off + k * m + m + k] <= 0.5)
        results[j] = (lower, np.full(k, np.inf), [x_low])
    second = [j for j in lp_jobs if len(bounded_of[j])]
    if second:
        c, eq_b, ub_b, bounds, offsets = stack(
            [(jobs[j][0], locs[j][bounded_of[j]], -1.0) for j in second], False)
        x = _solve_blocks(c, eq_b, ub_b, bounds)
        for j, off in zip(second, offsets):
            comp, idx = jobs[j][0], bounded_of[j]
            kb, m = len(idx), comp.m
            x_up = x[off:off + kb * m].reshape(kb, m)
            results[j][1][idx] = np.floor(x_up[np.arange(kb), locs[j][idx]] + _EPS)
            results[j][2].append(x_up)
    for j in lp_jobs:
        lower, upper, points = results[j]
        comp, cells = jobs[j]
        if comp.integer:
            _integer_bounds(comp, cells, lower, upper, points[0], points[1] if len(points) > 1 else None,
                            bounded_of[j])
        results[j] = (lower, upper, np.vstack(points))
    return results


def _integer_bounds(comp, cells, lower, upper, x_low, x_up, bounded) -> None:
    """Replace the LP bounds of ``cells`` by the integer programme's where the LP optimum is fractional
    (in place). A whole-numbered LP optimum is the integer optimum as well."""
    fractional = lambda x: np.abs(x - np.round(x)).max(axis=1) > _EPS  # noqa: E731
    for i in np.flatnonzero(fractional(x_low)):
        lower[i] = comp.lower(cells[i])[0]
    if x_up is not None and len(bounded):
        for row, i in enumerate(bounded):
            if fractional(x_up[row:row + 1])[0]:
                upper[i] = comp.upper(cells[i])[0]


def _pack(jobs: list) -> list[list]:
    """Jobs (component, cells) split and grouped so that one stacked LP stays near
    ``_BATCH_VARIABLES`` variables."""
    batches, current, size = [], [], 0
    for comp, cells in jobs:
        step = max(1, _BATCH_VARIABLES // max(1, comp.m))
        for start in range(0, len(cells), step):
            chunk = cells[start:start + step]
            cost = len(chunk) * comp.m
            if current and size + cost > _BATCH_VARIABLES:
                batches.append(current)
                current, size = [], 0
            current.append((comp, chunk))
            size += cost
    if current:
        batches.append(current)
    return batches


def _group(system: _System, var: np.ndarray, targets: np.ndarray, order: np.ndarray):
    """Component labels, and for each component holding targets: (label, its unknown cells,
    its targets in ``order``), components in the order of their first target."""
    labels = _components(system, var)
    var_idx = np.flatnonzero(var)
    sorter = np.argsort(labels[var_idx], kind="stable")
    grouped = var_idx[sorter]
    uniq, starts = np.unique(labels[grouped], return_index=True)
    members_of = dict(zip(uniq.tolist(), np.split(grouped, starts[1:])))
    by_comp: dict[int, list[int]] = {}
    for t in order[targets[order]].tolist():
        by_comp.setdefault(int(labels[t]), []).append(t)
    return labels, [(label, members_of[label], tgts) for label, tgts in by_comp.items()]


_BATCH_VARIABLES = 5_000  # size of one stacked LP (copies x unknowns)
_LAZY_ABOVE = 40  # the intruder check solves groups with more unknowns than this cell by cell


def _propagate(system: _System, lo: np.ndarray, hi: np.ndarray, rounds: int = 50):
    """Valid whole-number bounds for every cell by interval reasoning over each relation on its
    own (a Sum's total lies between the sums of its parts' bounds, a part between the total's
    bounds less the other parts', and the Union analogues), repeated until nothing changes.
    Looser than the LP (it never combines relations), but nearly free."""
    lo, hi = lo.astype(float).copy(), hi.astype(float).copy()
    rel, cell, is_total = system.e_rel, system.e_cell, system.e_total
    part = ~is_total
    n_rel = system.n_rel
    pr, pc = rel[part], cell[part]
    tr, tc = rel[is_total], cell[is_total]
    kind_sum_p = system.is_sum[pr]
    kind_sum_t = system.is_sum[tr]
    at_most_p = system.kind[pr] == _AT_MOST  # part <= whole: no bound on the whole from above,
    at_most_t = system.kind[tr] == _AT_MOST  # nor on the part from below
    for _ in range(rounds):
        pl, ph = lo[pc], hi[pc]
        ph_inf = np.isinf(ph)
        sum_lo = np.bincount(pr, weights=pl, minlength=n_rel)
        sum_hi_fin = np.bincount(pr, weights=np.where(ph_inf, 0.0, ph), minlength=n_rel)
        n_inf = np.bincount(pr, weights=ph_inf.astype(float), minlength=n_rel)
        sum_hi = np.where(n_inf > 0, np.inf, sum_hi_fin)
        max_lo = np.zeros(n_rel)
        np.maximum.at(max_lo, pr, pl)
        t_lo = np.zeros(n_rel)
        t_hi = np.zeros(n_rel)
        t_lo[tr], t_hi[tr] = lo[tc], hi[tc]
        new_lo, new_hi = lo.copy(), hi.copy()
        np.maximum.at(new_lo, tc, np.where(kind_sum_t, sum_lo[tr], max_lo[tr]))
        np.minimum.at(new_hi, tc, np.where(at_most_t, np.inf, sum_hi[tr]))
        others_hi = np.where(n_inf[pr] - ph_inf > 0, np.inf, sum_hi_fin[pr] - np.where(ph_inf, 0.0, ph))
        others_lo = sum_lo[pr] - pl
        np.minimum.at(new_hi, pc, np.where(kind_sum_p, t_hi[pr] - others_lo, t_hi[pr]))
        with np.errstate(invalid="ignore"):
            np.maximum.at(new_lo, pc, np.where(at_most_p, 0.0, t_lo[pr] - others_hi))
        new_lo = np.maximum(0.0, np.ceil(new_lo - _EPS))
        new_hi = np.floor(new_hi + _EPS)
        if np.array_equal(new_lo, lo) and np.array_equal(new_hi, hi):
            break
        lo, hi = new_lo, new_hi
    return lo, hi


def _ranges(system: _System, lo: np.ndarray, hi: np.ndarray, targets: np.ndarray, integer: bool):
    """Lower and upper bound of every target cell (NaN elsewhere), component by component."""
    n = len(system.cells)
    var = (lo < hi) | targets
    fixed = np.where(var, 0.0, lo).astype(float)
    lower = np.full(n, np.nan)
    upper = np.full(n, np.nan)
    _, groups = _group(system, var, targets, np.arange(n))
    jobs = []
    plo = phi = None
    for _, members, tgts in groups:
        if len(members) == 1 and not system.cell_rels[members[0]].nnz:
            t = int(members[0])  # in no relation: only its own bounds
            lower[t], upper[t] = max(0.0, lo[t]), hi[t]
            continue
        comp = _Component(system, members, lo, hi, fixed, integer)
        if len(members) <= _LAZY_ABOVE or integer:
            jobs.append((comp, list(tgts)))
        else:
            if plo is None:
                plo, phi = _propagate(system, lo, hi)
            lower[tgts], upper[tgts] = comp.exact_ranges(tgts, plo[members], phi[members])
    for batch in _pack(jobs):
        for (_, cells), (low, up, _) in zip(batch, _batch_ranges(batch)):
            lower[cells], upper[cells] = low, up
    return lower, upper


# ---------------------------------------------------------------------------------------------
# Choosing secondary suppressions
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


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
            auxiliary: Iterable = ()) -> pd.DataFrame:
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

    Returns one row per cell, in the order of ``counts``: ``cell``, ``count`` (the true count:
    never publish this column), ``published`` (int or ``"c"``), ``suppressed``, ``reason``
    (``"primary"``, ``"secondary"``, ``"unpublished"`` or None). ``attrs`` carries
    ``threshold`` and ``round_to``.
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
    system = _compile(cells, relations)
    _check_consistent(system, values)
    hidden = np.zeros(len(cells), dtype=bool)
    for c in unpublished:
        if c not in system.pos:
            raise ValueError(f"unpublished cell {c!r} has no count")
        hidden[system.pos[c]] = True

    was_published = _flags(system, known, "known")
    before = _flags(system, suppressed_before, "suppressed_before") & ~was_published
    aux = _flags(system, auxiliary, "auxiliary") & ~was_published & ~before

    small = (values > 0) & (values < threshold)
    unknown = (small & ~was_published) | hidden | before | aux
    protected = (small & ~was_published & ~aux) | before
    if secondary and protected.any():
        unknown, protected = _secondary(system, values, unknown, protected, small, threshold, integer, was_published)

    back = np.empty(len(order), dtype=np.int64)
    back[order] = np.arange(len(order))  # input position -> canonical index
    shown_c = unknown | small
    u_in, s_in, h_in = shown_c[back], (small & ~aux)[back], (hidden | aux)[back]
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
    out.attrs.update(threshold=threshold, round_to=round_to)
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
               known: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The relation rule, then the intruder check until every protected cell's range is at
    least ``threshold`` wide. ``unknown``: cells the intruder does not see (suppressed or
    unpublished); ``protected``: those whose range must be wide (suppressed ones, and small
    unpublished ones).

    Hiding one more cell only removes an equation the intruder had, so every range can only
    widen: a cell found safe stays safe and is not checked again. Any feasible point an LP
    returns also proves a lower bound on every other cell's range (the true counts are feasible
    too), which clears most cells without solving for them. In each connected group of unknown
    cells the first unsafe cell found (small cells first) gets one more suppression per round;
    every round hides at least one more cell, so there are at most as many rounds as cells.
    """
    n = len(values)
    known = np.zeros(n, dtype=bool) if known is None else known  # published before: never chosen
    truth = values.astype(float)
    check_order = np.lexsort((np.arange(n), values, ~small))
    safe = np.zeros(n, dtype=bool)
    unresolved = np.zeros(n, dtype=bool)
    for _ in range(2 * n + 2):
        unknown, protected = _relation_rule(system, values, unknown, protected, known)
        lo = np.where(unknown, 0.0, truth)
        hi = np.where(unknown, np.inf, truth)
        fixed = np.where(unknown, 0.0, truth)
        targets = protected & ~safe & ~unresolved
        labels, groups = _group(system, unknown, targets, check_order)
        failing: list[int] = []
        small_jobs = []
        plo = phi = None
        for _label, members, tgts in groups:
            pending = [t for t in tgts if not safe[t]]
            if len(members) == 1 and not system.cell_rels[members[0]].nnz:
                safe[pending] = True  # in no relation: unbounded
                continue
            comp = _Component(system, members, lo, hi, fixed, integer)
            if len(members) <= _LAZY_ABOVE:
                small_jobs.append((comp, pending))
                continue
            # A large group: solve cell by cell, in order, and stop at the first unsafe one;
            # the feasible points found on the way clear most of the others, and a cell whose
            # interval-reasoning bounds are already too close is unsafe without any LP.
            if plo is None:
                plo, phi = _propagate(system, lo, hi)
            for t in pending:
                if safe[t]:
                    continue
                if phi[t] - plo[t] < threshold:
                    failing.append(t)
                    break
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
                failing.append(t)
                break
        # Small groups: every pending cell at once (stacked LPs), the first unsafe one per group.
        first_bad: dict[int, int] = {}
        for batch in _pack(small_jobs):
            for (comp, cells), (low, up, _) in zip(batch, _batch_ranges(batch)):
                ok = up - low >= threshold
                safe[np.asarray(cells)[ok]] = True
                if not ok.all():
                    key = id(comp)
                    first_bad.setdefault(key, cells[int(np.flatnonzero(~ok)[0])])
        failing.extend(first_bad.values())
        if not failing:
            break
        for cell in failing:
            choice = _choose_extra(system, values, unknown, cell, known)
            if choice is None:
                # Nothing published touches this group, so its constraints are homogeneous and
                # any cell with a positive count is unbounded: only a hidden 0 can end up here,
                # unless every cell around it was published before (nothing left to hide).
                if values[cell] > 0 and not known.any():
                    raise RuntimeError(f"cannot protect cell {system.cells[cell]!r}")
                if values[cell] > 0:
                    unresolved[cell] = True
                    warnings.warn(f"cell {system.cells[cell]!r} cannot be protected further: every cell "
                                  "around it was published before", stacklevel=3)
                    continue
                unresolved[cell] = True
                warnings.warn(f"hidden zero cell {system.cells[cell]!r} stays determined", stacklevel=3)
            else:
                unknown[choice] = protected[choice] = True
    return unknown, protected


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
    system = _compile(cells, relations)
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


def suppress_rates(frame: pd.DataFrame, count_column: str, rate_columns: Iterable[str],
                   suppressed_column: str | None = "suppressed") -> pd.DataFrame:
    """A copy of ``frame`` with every column in ``rate_columns`` blanked (NaN) where the count is
    suppressed: rates, confidence bounds, and anything else computed from the count (comparison
    flags, method). Suppressed rows are taken from ``suppressed_column``, or, when that is None
    or absent, from ``count_column == "c"``."""
    out = frame.copy()
    if suppressed_column is not None and suppressed_column in out:
        mask = out[suppressed_column].astype(bool).to_numpy()
    else:
        mask = (out[count_column].astype(object) == SUPPRESSED).to_numpy()
    for col in rate_columns:
        if col not in out:
            raise KeyError(f"rate column {col!r} is not in the table")
        if mask.any():
            out[col] = out[col].where(~mask)
    return out


def _cell_ids(table: pd.DataFrame, cell_columns: Sequence[str]) -> list:
    cell_columns = [cell_columns] if isinstance(cell_columns, str) else list(cell_columns)
    if len(cell_columns) == 1:
        return list(table[cell_columns[0]])
    return list(zip(*(table[c].tolist() for c in cell_columns)))


def counts_from_table(table: pd.DataFrame, cell_columns: Sequence[str], count_column: str) -> pd.Series:
    """The counts of a long table as a Series indexed by cell id (the tuple of ``cell_columns``)."""
    ids = _cell_ids(table, cell_columns)
    return pd.Series(table[count_column].to_numpy(), index=pd.Index(ids, tupleize_cols=False, dtype=object))


def apply_to_table(table: pd.DataFrame, cell_columns: Sequence[str], count_column: str,
                   protected: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` with ``count_column`` replaced by the published value (object: int or
    ``"c"``) and a boolean ``suppressed`` column. Every row's cell (the tuple of
    ``cell_columns``) must have been through :func:`protect`; the table is then checked for
    identifiers (:func:`check_no_identifiers`)."""
    ids = _cell_ids(table, cell_columns)
    reasons = protected["reason"] if "reason" in protected else pd.Series(None, index=protected.index)
    lookup = dict(zip(protected["cell"], zip(protected["published"], protected["suppressed"], reasons)))
    missing = [c for c in ids if c not in lookup]
    if missing:
        raise KeyError(f"{len(missing)} row(s) were not protected, e.g. {missing[0]!r}")
    hidden = [c for c in ids if lookup[c][2] == "unpublished"]
    if hidden:
        raise ValueError(f"{len(hidden)} row(s) were protected as unpublished cells, e.g. {hidden[0]!r}")
    out = table.copy()
    out[count_column] = pd.Series([lookup[c][0] for c in ids], index=out.index, dtype=object)
    out["suppressed"] = pd.Series([bool(lookup[c][1]) for c in ids], index=out.index, dtype=bool)
    check_no_identifiers(out)
    return out


IDENTIFIER_COLUMNS = frozenset({
    "person_key", "person_id", "child_id", "local_id", "family_key", "household_id",
    "nhs_number", "upn", "former_upn", "source_record_id", "record_id",
    "name", "forename", "surname", "first_name", "last_name", "full_name",
    "date_of_birth", "dob", "birth_date", "postcode", "address",
})
_POSTCODE = re.compile(r"^\s*[A-Z]{1,2}[0-9][A-Z0-9]?\s*[0-9][A-Z]{2}\s*$", re.IGNORECASE)
_NHS_NUMBER = re.compile(r"^\s*\d{3}\s?\d{3}\s?\d{4}\s*$")
_UPN = re.compile(r"^\s*[A-Z]\d{11}[A-Z0-9]\s*$", re.IGNORECASE)


def check_no_identifiers(frame: pd.DataFrame) -> None:
    """Refuse a table that carries identifiers, exact dates of birth or full postcodes: a column
    named like one (e.g. ``nhs_number``, ``date_of_birth``, ``postcode``; a ``..._pct`` column is a
    percentage of records holding one, which is allowed), or text values shaped
    like a full postcode, an NHS number or a UPN. Postcode districts (``"AB1"``) are allowed."""
    named = [c for c in frame.columns if str(c).strip().lower() in IDENTIFIER_COLUMNS
             or (("date_of_birth" in str(c).lower() or "nhs_number" in str(c).lower())
                 and not str(c).lower().endswith("_pct"))]  # nhs_number_pct: a completeness percentage
    if named:
        raise ValueError(f"published table has identifier column(s): {named}")
    for col in frame.columns:
        column = frame[col]
        if not (column.dtype == object or pd.api.types.is_string_dtype(column)):
            continue
        text = [v for v in column.dropna().unique() if isinstance(v, str)]
        for pattern, what in ((_POSTCODE, "full postcode"), (_NHS_NUMBER, "NHS number"), (_UPN, "UPN")):
            hits = [v for v in text if pattern.match(v)]
            if hits:
                raise ValueError(f"column {col!r} holds what looks like a {what}")
