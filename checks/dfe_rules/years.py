"""Year-aware rule sets: which rules apply to a collection year (``years.yaml`` beside this module).

DfE's validator keeps one folder of rules per collection year, each inheriting the previous year's
rules, adding or replacing the ones that changed and deleting the ones that ended. Here every rule is
one function whatever the year; ``years.yaml`` says in which year a rule was added, changed or deleted,
and :func:`rule_set` builds a year's set the same way (start from the first year, then year by year add
what was added and drop what was deleted). A changed rule reads ``params.collection_year`` (the runner
sets it) to apply that year's version.

The collection year of a reference date is the year of the 31 March on or after it (a CIN census
return's reference date is its 31 March; a CP list's extract date of 31 December 2025 is in 2026).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml

from .registry import Rule, all_rules

YEARS_FILE = Path(__file__).with_name("years.yaml")
FIRST_YEAR = 2017  # the oldest CIN census the readers read


@dataclass(frozen=True)
class YearChanges:
    year: int
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleYears:
    changes: dict[int, YearChanges] = field(default_factory=dict)

    def first_year(self, code: str) -> int:
        added = [y for y, c in self.changes.items() if code in c.added]
        return min(added) if added else FIRST_YEAR

    def last_year(self, code: str) -> int | None:
        deleted = [y for y, c in self.changes.items() if code in c.deleted]
        return min(deleted) - 1 if deleted else None

    def changed_in(self, code: str) -> tuple[int, ...]:
        return tuple(sorted(y for y, c in self.changes.items() if code in c.changed))


@lru_cache(maxsize=1)
def rule_years() -> RuleYears:
    raw = yaml.safe_load(YEARS_FILE.read_text(encoding="utf-8")) or {}
    changes = {}
    for year, items in raw.items():
        items = items or {}
        unknown = set(items) - {"added", "changed", "deleted"}
        if unknown:
            raise ValueError(f"{YEARS_FILE}: {year}: unknown key(s) {sorted(unknown)} (added, changed, deleted)")
        changes[int(year)] = YearChanges(int(year), *(tuple(items.get(k) or ()) for k in ("added", "changed",
                                                                                            "deleted")))
    return RuleYears(changes)


def collection_year(reference_date: date) -> int:
    """The collection year (its 31 March) a date falls in: 2026-03-31 -> 2026, 2025-12-31 -> 2026."""
    return reference_date.year + (1 if (reference_date.month, reference_date.day) > (3, 31) else 0)


def rule_set(year: int, rules: list[Rule] | None = None) -> list[Rule]:
    """The rules of collection year ``year``, built as DfE's folders build it: the first year's rules, then
    for each later year up to ``year`` the rules added that year, less the rules deleted that year."""
    rules = all_rules() if rules is None else rules
    years = rule_years()
    codes = {r.code for r in rules if years.first_year(r.code) <= FIRST_YEAR}
    for y in range(FIRST_YEAR + 1, year + 1):
        change = years.changes.get(y)
        if change:
            codes = (codes | set(change.added)) - set(change.deleted)
    return [r for r in rules if r.code in codes]
