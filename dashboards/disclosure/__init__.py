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

from .attack import attack
from .relations import (DEFAULT_THRESHOLD, RELATION_KINDS, SUPPRESSED, AtMost, Sum, Union, broken_relations,
                        compile_relations, round_count)
from .suppression import protect
from .tables import IDENTIFIER_COLUMNS, apply_to_table, check_no_identifiers, counts_from_table, suppress_rates

__all__ = [
    "DEFAULT_THRESHOLD", "IDENTIFIER_COLUMNS", "RELATION_KINDS", "SUPPRESSED", "AtMost", "Sum", "Union",
    "apply_to_table", "attack", "broken_relations", "check_no_identifiers", "compile_relations",
    "counts_from_table", "protect", "round_count", "suppress_rates",
]
