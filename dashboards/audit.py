"""The intruder's attack on everything the board has been given: every pack's files, every refresh.

An intruder holding the board papers has, for every quarter a refresh published and every refresh
since, the HTML report, the workbook and the CSV files. :func:`read_published` reads all of them back
(CSV rows, workbook sheets and the report's ``data-cell`` counts) into one list of published cells,
and :func:`attack_refreshes` runs the linear (or integer) programme of
:func:`dashboards.disclosure.attack` over the cells of every refresh together, with every relation of
:func:`dashboards.publication.relations_for`:

* a cell whose count did not change between refreshes is one unknown (what one refresh hides and
  another shows is known);
* a changed count is a new unknown, with its refresh's relations;
* cells never shown (auxiliary cells, counts no pack showed) are unknowns too; they are reported
  with the reason ``unpublished`` but, like the protection, the attack only requires the
  *suppressed* counts to stay wide (:meth:`AttackResult.narrowed`).

It reports, for every suppressed or unshown count, the range the intruder can narrow it to.
Nothing here reads the publication history: the truth comes from each refresh's marts
(:func:`dashboards.publication.count_cells`), the published values from the files.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook

from .disclosure import SUPPRESSED, AtMost, attack
from .exports import MARKER, NOT_APPLICABLE, column_of_label
from .commissioning_tables import COMMISSIONING_TABLE_CELLS
from .journey_tables import JOURNEY_TABLE_CELLS
from .tables import NOT_AVAILABLE
from .publication import (cell_of_key, children_cell, iso, observed_cell, persons_cell, practice_cell,
                          relations_for, rows_cell, rule_cell)

# table -> [(count column, function(row) -> cell)]
TABLE_CELLS = {
    "prevalence": [("children", lambda r: children_cell(r["period_end"], r["measure"], r["la_code"], r["breakdown"],
                                                        r["breakdown_value"], r["tier_group"]))],
    "trend": [("children", lambda r: children_cell(r["period_end"], r["measure"], r["la_code"], "all",
                                                   "All children", r["tier_group"]))],
    "identification": [
        ("cp_neglect_children", lambda r: children_cell(r["period_end"], r["measure"], r["la_code"], "all",
                                                        "All children", "Tier 1")),
        ("identified_children", lambda r: children_cell(r["period_end"], r["measure"], r["la_code"], "all",
                                                        "All children", "Tiers 1-4"))],
    "identification_trend": [
        ("cp_neglect_children", lambda r: children_cell(r["period_end"], r["measure"], r["la_code"], "all",
                                                        "All children", "Tier 1")),
        ("identified_children", lambda r: children_cell(r["period_end"], r["measure"], r["la_code"], "all",
                                                        "All children", "Tiers 1-4"))],
    "practice_trend": [(part, lambda r, part=part: practice_cell(r["period_end"], r["indicator"], r["la_code"], part))
                       for part in ("numerator", "denominator")],
    "hidden": [("observed", lambda r: observed_cell(r["period_end"], r["la_code"], r["linkage"]))],
    "practice": [(part, lambda r, part=part: practice_cell(r["period_end"], r["indicator"], r["la_code"], part))
                 for part in ("numerator", "denominator")],
    "data_quality": [(f"rows_{kind}", lambda r, kind=kind: rows_cell(r["period_end"], r["source"], r["la_code"], kind))
                     for kind in ("read", "loaded", "rejected")],
    "rejects": [("rows_rejected", lambda r: rule_cell(r["period_end"], r["source"], r["la_code"], r["rule"]))],
    "linkage": [("persons", lambda r: persons_cell(r["person_type"], r["source"]))],
}
TABLE_CELLS |= JOURNEY_TABLE_CELLS  # the journeys section's tables (issue 21)
TABLE_CELLS |= COMMISSIONING_TABLE_CELLS  # the commissioning page's (issue 20)
_DATA_CELL = re.compile(r'data-count="([^"]*)" data-cell="([^"]*)"')


def _value(raw):
    """A published count as read from a file: int, ``"c"``, or None (blank, ``x``: not available, or ``z``: not
    applicable; no cell)."""
    if raw is None or (isinstance(raw, float) and pd.isna(raw)):
        return None
    if isinstance(raw, (int, float)):
        return int(raw)
    text = str(raw).strip().replace(",", "")
    if text in ("", NOT_AVAILABLE, NOT_APPLICABLE):
        return None
    return SUPPRESSED if text == SUPPRESSED else int(float(text))


def _text(value) -> str:
    """Key columns as text the way the CSV shows them (workbook cells come back typed)."""
    if hasattr(value, "year") and hasattr(value, "month"):
        return iso(value)
    return "" if value is None else str(value)


def cells_of_table(name: str, frame: pd.DataFrame, where: str) -> list[tuple]:
    """(cell, published value, where) for every count of the published table ``name``."""
    out = []
    for count_column, cell_of in TABLE_CELLS.get(name, []):
        if count_column not in frame:
            raise KeyError(f"{where}: no column {count_column!r}")
        marker = count_column + MARKER  # the exports' "c" / "x" / "z", beside an empty number (dashboards.exports)
        for record in frame.to_dict("records"):
            row = {k: _text(v) for k, v in record.items()}
            mark = record.get(marker)
            shown = "" if mark is None or (isinstance(mark, float) and pd.isna(mark)) else str(mark).strip()
            value = _value(shown if shown else record[count_column])
            if value is not None:
                out.append((cell_of(row), value, where))
    return out


def read_published(output_root: Path, workbooks: bool = True) -> pd.DataFrame:
    """Every count in every pack under ``output_root/dashboards``: ``cell``, ``published`` (int or
    ``"c"``), ``file`` (where it was read). CSV files, workbook sheets (unless not ``workbooks``: they
    hold the CSV files' tables) and the HTML report's counts."""
    rows: list[tuple] = []
    for folder in sorted((output_root / "dashboards").glob("*/")):
        exports = folder / "exports"
        for path in sorted((exports / "csv").glob("*.csv")):
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
            rows += cells_of_table(path.stem, frame, str(path.relative_to(output_root)))
        for path in sorted(exports.glob("*.xlsx")) if workbooks else []:
            book = load_workbook(path, read_only=True)
            for sheet in book.worksheets:
                values = list(sheet.iter_rows(values_only=True))
                if values and sheet.title in TABLE_CELLS:  # friendly headings back to column names
                    frame = pd.DataFrame(values[1:], columns=[column_of_label(h) for h in values[0]])
                    rows += cells_of_table(sheet.title, frame, f"{path.relative_to(output_root)}[{sheet.title}]")
            book.close()
        for path in sorted(folder.glob("*.html")):
            text = path.read_text(encoding="utf-8")
            for shown, key in _DATA_CELL.findall(text):
                value = _value(html.unescape(shown))
                if value is not None:  # x: not available, no cell
                    rows.append((cell_of_key(html.unescape(key)), value, str(path.relative_to(output_root))))
    return pd.DataFrame(rows, columns=["cell", "published", "file"])


@dataclass
class AttackResult:
    """``ranges``: one row per suppressed (or small unshown) count: ``cell``, ``refresh`` (the first that
    shows that count), ``count``, ``lower``, ``upper``, ``width``, ``recovered``, ``reason``.
    ``conflicts``: cells shown with two values in one refresh's files, or as a number after an earlier
    refresh showed the same count as ``c``. ``unmatched``: published cells that no refresh's marts have."""

    ranges: pd.DataFrame
    conflicts: list[str] = field(default_factory=list)
    unmatched: list[tuple] = field(default_factory=list)
    cells: int = 0
    relations: int = 0

    def narrowed(self, threshold: int) -> pd.DataFrame:
        """Suppressed counts recovered or narrowed to fewer than ``threshold`` possible values."""
        r = self.ranges[self.ranges["reason"] == "suppressed"]
        return r[r["recovered"] | (r["width"] < threshold)]


def attack_refreshes(refreshes: list[tuple[pd.DataFrame, pd.DataFrame]], monotone: set[str], threshold: int,
                     integer: bool = False) -> AttackResult:
    """Attack the files of several refreshes together.

    ``refreshes``: in order, (published, truth) per refresh: ``published`` from :func:`read_published`,
    ``truth`` from :func:`dashboards.publication.count_cells` on that refresh's warehouse (``cell``,
    ``count``, ``shown``). ``monotone``: as for :func:`dashboards.publication.relations_for`."""
    counts: dict[tuple, int] = {}
    shown: dict[tuple, set] = {}
    first_refresh: dict[tuple, int] = {}
    relations: dict = {}
    conflicts: list[str] = []
    unmatched: list[tuple] = []
    ever_c: set = set()
    for number, (published, truth) in enumerate(refreshes, start=1):
        count_of = dict(zip(truth["cell"], truth["count"].astype("int64")))
        node = {c: (c, int(n)) for c, n in count_of.items()}
        for n in node.values():
            counts[n] = n[1]
            first_refresh.setdefault(n, number)
        for rel in relations_for(count_of, monotone):
            if isinstance(rel, AtMost):
                relations[AtMost(node[rel.part], node[rel.whole])] = None
            else:
                relations[type(rel)(node[rel.total], [node[p] for p in rel.parts])] = None
        this_refresh: dict[tuple, set] = {}
        for cell, value in zip(published["cell"], published["published"]):
            if cell not in node:
                unmatched.append(cell)
                continue
            this_refresh.setdefault(node[cell], set()).add(value)
        for n, values in this_refresh.items():
            if len(values) > 1:
                conflicts.append(f"refresh {number}: {n[0]!r} shown as {sorted(map(str, values))}")
            if n in ever_c and any(v != SUPPRESSED for v in values):
                conflicts.append(f"refresh {number}: {n[0]!r} shown as a number after an earlier refresh "
                                 "showed the same count as c")
            if SUPPRESSED in values:
                ever_c.add(n)
            shown.setdefault(n, set()).update(values)
    rows = []
    for n in sorted(counts):
        values = shown.get(n, set())
        numbers = [v for v in values if v != SUPPRESSED]
        if numbers:
            rows.append((n, numbers[0], n[1], None))
        elif values:
            rows.append((n, SUPPRESSED, n[1], "suppressed"))
        else:
            rows.append((n, SUPPRESSED, n[1], "unpublished"))
    table = pd.DataFrame(rows, columns=["cell", "published", "count", "reason"])
    wrong = table[(table["reason"].isna()) & (table["published"] != table["count"])]
    conflicts += [f"{c[0]!r} published as {p} but the count is {n}"
                  for c, p, n in zip(wrong["cell"], wrong["published"], wrong["count"])]
    table = table.assign(suppressed=table["published"] == SUPPRESSED)
    found = attack(table, list(relations), round_to=None, threshold=threshold, integer=integer)
    found = found.assign(refresh=[first_refresh[n] for n in found["cell"]],
                         cell=[n[0] for n in found["cell"]])
    return AttackResult(found, conflicts, sorted(set(unmatched)), cells=len(table), relations=len(relations))
