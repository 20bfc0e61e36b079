"""The cells of the board pack (each published count is one, named by a tuple of strings: the kind first, then
what it counts, dates as ``YYYY-MM-DD``), the tier groups they use, and the relations that hold between them by
construction (:func:`relations_for`). What each kind of cell is: :mod:`dashboards.publication`'s docstring."""
from __future__ import annotations

import json

import pandas as pd

from .disclosure import AtMost, Sum, Union
from .commissioning_cells import commissioning_relations
from .journey_cells import journey_relations

MART_SET = {"1": "Tier 1", "2": "Tier 2", "3": "Tier 3", "4": "Tier 4", "5": "Tier 5", "6": "Tier 6",
            "1-2": "Tiers 1-2", "1-4": "Tiers 1-4", "1-5": "Tiers 1-5"}  # tier set in the mart -> tier group
SINGLE = [f"Tier {k}" for k in range(1, 7)]
PREFIX = {k: ("Tier 1" if k == 1 else f"Tiers 1-{k}") for k in range(1, 7)}  # the first k tiers
BREAKDOWN_GROUP = "Tiers 1-4"  # the one tier group published for each breakdown value
TREND_GROUPS = ("Tier 1", "Tiers 1-4", "Tiers 1-5")
PARTNERSHIP = "partnership"
UNPUBLISHED_PARTNERSHIP_BREAKDOWNS = ("ward",)  # see "Wards are published by authority only"


def iso(value) -> str:
    """A date (or Timestamp, or ISO string) as ``YYYY-MM-DD``."""
    if isinstance(value, str):
        return value[:10]
    return pd.Timestamp(value).date().isoformat()


def children_cell(quarter, measure, la_code, breakdown, value, group) -> tuple:
    return ("children", iso(quarter), str(measure), str(la_code), str(breakdown), str(value), str(group))


def practice_cell(quarter, indicator, la_code, part) -> tuple:
    return ("practice", iso(quarter), str(indicator), str(la_code), str(part))


def observed_cell(quarter, la_code, linkage) -> tuple:
    return ("hidden_observed", iso(quarter), str(la_code), str(linkage))


def rows_cell(period, source, la_code, kind) -> tuple:
    return ("rows", iso(period), str(source), str(la_code), str(kind))


def rule_cell(period, source, la_code, rule) -> tuple:
    return ("rejected_by_rule", iso(period), str(source), str(la_code), str(rule))


def persons_cell(person_type, source) -> tuple:
    return ("linkage_persons", str(person_type), str(source))


def file_rows_cell(period, source, la_code, file, kind) -> tuple:
    return ("file_rows", iso(period), str(source), str(la_code), str(file), str(kind))


def cell_key(cell: tuple) -> str:
    """The cell as text (JSON), as stored in the history and in the report's ``data-cell``."""
    return json.dumps(list(cell), ensure_ascii=False, separators=(",", ":"))


def cell_of_key(key: str) -> tuple:
    return tuple(json.loads(key))


class _Relations:
    """The relations found so far among the ``present`` cells; :meth:`add` keeps only those whose cells are all
    present: a part not available (x) may still hold children the total counts, and an authority that supplied
    nothing has no cell at all for the quarter and is in no list of parts."""

    def __init__(self, present: set):
        self.present, self.found = present, []

    def add(self, rel_type, total, parts) -> None:
        parts = list(parts)
        if total in self.present and parts and all(p in self.present for p in parts):
            self.found.append(rel_type(total, parts))

    def at_most(self, part, whole) -> None:
        if part in self.present and whole in self.present:
            self.found.append(AtMost(part, whole))


def relations_for(cells, monotone: set[str]) -> list:
    """Every relation between ``cells`` (an iterable of cell tuples) that holds by construction
    (see :mod:`dashboards.publication`'s docstring). Only relations whose cells are all present are returned."""
    rel = _Relations(set(cells))
    by_kind: dict[str, list[tuple]] = {}
    for c in rel.present:
        by_kind.setdefault(c[0], []).append(c)
    _children_relations(rel, sorted(by_kind.get("children", [])), monotone)
    _practice_relations(rel, by_kind.get("practice", []))
    _quality_relations(rel, by_kind)
    journey_relations(by_kind, rel.add, rel.at_most)  # see dashboards/journey_cells.py
    commissioning_relations(by_kind, rel.add, rel.at_most)  # see dashboards/commissioning_cells.py (issue 20)
    return rel.found


def _children_relations(rel: _Relations, children: list[tuple], monotone: set[str]) -> None:
    """Tier sets as sums of single tiers and breakdowns adding up to 'All children' (per area); the partnership
    as the union of its authorities; a quarter-end count at most the 12 months' for tier sets that only grow."""
    rows_of: dict[tuple, list[tuple]] = {}  # (quarter, measure) -> its children cells
    for c in children:
        rows_of.setdefault((c[1], c[2]), []).append(c)
    for (quarter, measure), group_cells in rows_of.items():
        areas = sorted({c[3] for c in group_cells})
        authorities = [a for a in areas if a != PARTNERSHIP]
        cell = lambda la, b, v, g: children_cell(quarter, measure, la, b, v, g)  # noqa: E731
        for la in areas:
            all_row = lambda g: cell(la, "all", "All children", g)  # noqa: E731
            for k in (2, 3, 4, 5, 6):  # add() skips a set with a tier not available (see the module docstring)
                rel.add(Sum, all_row(PREFIX[k]), [all_row(t) for t in SINGLE[:k]])
            values: dict[str, list[str]] = {}
            for c in group_cells:
                if c[3] == la and c[4] != "all" and c[6] == BREAKDOWN_GROUP:
                    values.setdefault(c[4], []).append(c[5])
            for breakdown, members in sorted(values.items()):
                rel.add(Sum, all_row(BREAKDOWN_GROUP), [cell(la, breakdown, v, BREAKDOWN_GROUP) for v in sorted(members)])
        if PARTNERSHIP in areas and authorities:
            for k in range(1, 7):
                rel.add(Union, cell(PARTNERSHIP, "all", "All children", PREFIX[k]),
                        [cell(a, "all", "All children", PREFIX[k]) for a in authorities])
            for c in group_cells:
                if c[3] == PARTNERSHIP and c[4] not in ("all", "ward") and c[6] == BREAKDOWN_GROUP:
                    # the child's own value, the same in every area ("Not known" too)
                    rel.add(Union, c, [cell(a, c[4], c[5], BREAKDOWN_GROUP) for a in authorities])
    for c in children:
        whole = (*c[:2], "12_month", *c[3:])
        if c[2] == "point" and c[6] in monotone and whole in rel.present:
            rel.found.append(AtMost(c, whole))


def _practice_relations(rel: _Relations, practice_cells: list[tuple]) -> None:
    """The partnership's numerator and denominator as unions of its authorities'; numerator <= denominator."""
    practice: dict[tuple, set[str]] = {}
    for c in practice_cells:
        practice.setdefault((c[1], c[2]), set()).add(c[3])
    for (quarter, indicator), areas in sorted(practice.items()):
        authorities = sorted(areas - {PARTNERSHIP})
        for part in ("numerator", "denominator"):
            rel.add(Union, practice_cell(quarter, indicator, PARTNERSHIP, part),
                    [practice_cell(quarter, indicator, a, part) for a in authorities])
        for la in sorted(areas):
            rel.at_most(*(practice_cell(quarter, indicator, la, p) for p in ("numerator", "denominator")))


def _quality_relations(rel: _Relations, by_kind: dict[str, list[tuple]]) -> None:
    """Hidden prevalence's observed children (partnership = union of authorities); rows read = loaded +
    rejected, rejected rows as a union of the rules' and a sum of the files'; linked persons by source."""
    observed: dict[str, set[str]] = {}
    for c in by_kind.get("hidden_observed", []):
        if c[3] == "match threshold":
            observed.setdefault(c[1], set()).add(c[2])
    for quarter, areas in sorted(observed.items()):
        rel.add(Union, observed_cell(quarter, PARTNERSHIP, "match threshold"),
                [observed_cell(quarter, a, "match threshold") for a in sorted(areas - {PARTNERSHIP})])
    rules: dict[tuple, list[tuple]] = {}
    for c in sorted(by_kind.get("rejected_by_rule", [])):
        rules.setdefault(c[1:4], []).append(c)
    for c in sorted(by_kind.get("rows", [])):
        if c[4] == "read":
            rel.add(Sum, c, [rows_cell(c[1], c[2], c[3], "loaded"), rows_cell(c[1], c[2], c[3], "rejected")])
        elif c[4] == "rejected" and rules.get(c[1:4]):
            rel.add(Union, c, rules[c[1:4]])
    files: dict[tuple, list[tuple]] = {}
    for c in sorted(by_kind.get("file_rows", [])):
        files.setdefault(c[1:4], []).append(c)
    for group, file_cells in sorted(files.items()):
        rel.add(Sum, rows_cell(*group, "read"), [c for c in file_cells if c[5] == "read"])
        rel.add(Sum, rows_cell(*group, "rejected"), [c for c in file_cells if c[5] == "not_loaded"])
        for c in file_cells:
            if c[5] != "read":
                rel.found.append(AtMost(c, (*c[:5], "read")))
    persons: dict[str, list[tuple]] = {}
    for c in sorted(by_kind.get("linkage_persons", [])):
        if c[2] != "all":
            persons.setdefault(c[1], []).append(c)
    for person_type, parts in sorted(persons.items()):
        rel.add(Union, persons_cell(person_type, "all"), parts)
