"""The intruder: the feasible range of each hidden cell given every published number and relation, by
linear (and, on request, integer) programming; :func:`attack` on a published table."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse.csgraph import connected_components

from .relations import _AT_MOST, _EPS, _System


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
        programme = dict(c=c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        res = linprog(**programme)
        if res.status == 2:  # once called a feasible programme infeasible (a full test run, not reproduced): again,
            res = linprog(**programme, options={"presolve": False})  # without HiGHS's presolve, before believing it
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


def _stacked_lp(parts, with_recession: bool):
    """One LP of many: ``parts`` are (component, cells' local indices, sign); each cell's copy of the
    component's constraints sits beside the others (and, ``with_recession``, the recession-direction block
    of :func:`_batch_ranges`). Returns (costs, equality blocks, inequality blocks, bounds, column offsets)."""
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

    locs = {j: np.array([jobs[j][0].local[t] for t in jobs[j][1]], dtype=np.int64) for j in lp_jobs}
    c, eq_b, ub_b, bounds, offsets = _stacked_lp([(jobs[j][0], locs[j], 1.0) for j in lp_jobs], True)
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
        c, eq_b, ub_b, bounds, offsets = _stacked_lp(
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
