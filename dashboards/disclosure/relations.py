"""The arithmetic of published tables: relations between cells (Sum, Union, AtMost) and the compiled
constraint system the suppression and the intruder share (see the package docstring)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Hashable, Sequence

import numpy as np
from scipy import sparse


SUPPRESSED = "c"
DEFAULT_THRESHOLD = 5
_EPS = 1e-6  # tolerance when rounding LP optima inwards to whole numbers


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


def compile_relations(cells: list, relations: Sequence) -> _System:
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


