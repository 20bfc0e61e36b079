"""Everything a refresh publishes, protected together, and the record of what has been published.

A board keeps last quarter's paper, and every table of every quarter's pack (HTML, workbook, CSV)
can be read side by side. So disclosure control is not applied table by table: every count a
refresh could publish, for every quarter up to its latest, is one *cell* of one system, with every
relation an intruder could use between them, and :func:`dashboards.disclosure.protect` chooses the
suppression for all of them at once. Earlier refreshes' publications are part of the same system
(the *republication rule*, below). The packs then only look their counts up
(:class:`ProtectedRun`), and every figure derived from a count (rates, intervals, ratios,
previous-period rates, change flags, method labels) is computed from the published values only
(:mod:`dashboards.tables`).

Cells
-----
A cell is a tuple of strings (dates as ``YYYY-MM-DD``), first the kind:

* ``("children", quarter end, measure, la_code, breakdown, breakdown_value, tier group)``: children in
  ``marts.neglect_prevalence``. Published: each area's ``all`` row in every tier group (Tier 1 ... Tier 6,
  Tiers 1-2, 1-4, 1-5) and each breakdown value in Tiers 1-4, except the partnership's wards (see
  below). Not published (*auxiliary*, only in the arithmetic): Tiers 1-3 and Tiers 1-6 of each ``all`` row;
* ``("practice", quarter end, indicator, la_code, "numerator" | "denominator")``;
* ``("hidden_observed", quarter end, la_code, linkage)``: children on at least one capture list;
* ``("rows", period end, source, la_code, "read" | "loaded" | "rejected")``: extract rows (quality.summary);
* ``("rejected_by_rule", period end, source, la_code, rule)``: rejected rows with that rule (a row can
  break several rules);
* ``("linkage_persons", person_type, source)``: distinct persons per source (``all``: auxiliary);
* ``("file_rows", period end, source, la_code, file, "read" | "not_loaded")``: one file's rows (the board
  report lists the files with rows not loaded; every other file's cells are auxiliary).

and the journeys and thresholds section's cells (``flow``, ``flow_margin``, ``cohort``, ``cohort_children``,
``spells``, ``conversion``, ``profile``, ``gcp2``), with their relations, in :mod:`dashboards.journey_cells`, and
the commissioning page's (``commissioning``) in :mod:`dashboards.commissioning_cells`.

A count the marts leave NULL (*not available*: its source was not supplied) is no cell: it is
published as ``x``, and a relation is made only where all its cells are present. An authority that
supplied nothing for a quarter has no cell in it and is left out of the partnership's unions (the
partnership leaves it out too). A tier not available may still hold children its set counts (from
other evidence), so the set is no sum of the tiers shown; what an intruder can still infer there (the
set is at least the sum of the tiers shown, the partnership at least each authority) is *not*
modelled: a known gap, which matters only where few children separate those figures.

Relations (all hold by construction, whatever the data; see :func:`relations_for`)
-------------------------------------------------------------------------------
* in each area: the tier sets are sums of the single tiers (1-2 = 1 + 2, ..., 1-6 = 1 + ... + 6); each
  breakdown's values add up to the area's Tiers 1-4;
* the partnership against its authorities: a partnership child is counted once, at the strongest of
  their authorities' tiers, so only *prefix* tier sets (1, 1-2, 1-3, 1-4, 1-5, 1-6) are unions of the
  authorities' (``Union``: max <= partnership <= sum). A single tier is not: a child at tier 2 in one
  authority and tier 1 in the other is tier 1 in the partnership, so the partnership's tier 2 can be
  smaller than an authority's (this is what crashed the board pack when authorities disagreed). The
  single tiers are tied to the partnership through the sets. Breakdown values (Tiers 1-4) are unions
  too (age, sex, ethnicity, disability and deprivation are the child's, the same in every area);
* at the quarter end against the 12 months to it (``AtMost``): for a tier set whose rules have no
  ``none_of`` (1 to 1-4 by default), every child counted at the quarter end is counted over the 12
  months, in every area and breakdown value;
* practice indicators: numerator <= denominator; partnership numerator and denominator are unions of
  the authorities' (a plan or referral recorded by both counts once);
* hidden prevalence: the partnership's observed children are the union of the authorities';
* data quality: rows read = loaded + rejected; rejected rows are the union of the rows rejected by
  each rule; persons of all sources are the union of each source's; a period's rows read are the sum
  of its files' and its rows rejected the sum of its loaded files' rows not loaded.

Wards are published by authority only
-------------------------------------
A partnership ward's count is its own authority's ward count plus the other authority's children living
there, who are all in that authority's small ``Outside the authority`` row. So a partnership ward and
its authority's ward differ by at most that small number: publishing both tells, ward by ward, how many
of the other authority's children live there, and protecting that took hundreds of further
suppressions, up to the headline totals. The partnership's ward rows are therefore not published; the
partnership's ward map and ranking show each ward as its own authority counts it.

Auxiliary cells, and counts no pack has shown, are unknown to the intruder but not protected
themselves: only suppressed counts must keep a range of at least ``threshold`` values.

The republication rule
----------------------
``marts.publication_history`` keeps, for each *version* (a refresh whose counts differ from the
previous one's), every cell's true count, whether it is published or auxiliary, the value published
(a number or ``c``) and whether a pack written in that version showed it. A refresh whose counts
are all unchanged reuses the latest version's choices (so re-running gives the same packs). A
refresh that changes any count (late data, a refused file) makes a new version and protects the new
counts *together with every earlier version*: a cell whose count is unchanged is the same cell (an
intruder who guesses which figures did not change loses nothing); a changed count is a new cell,
beside the old one with the old version's relations. Cells written before as numbers are known to
the intruder and never chosen for suppression; cells written as ``c`` stay ``c`` while their count
is unchanged. So the intruder check covers both versions, and every revision is recorded.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from ingest.write import registered
from models.marts.definitions import NeglectDefinitions, load_definitions

from .cells import (  # noqa: F401 (the cells and their names are re-exported: tables, audit and tests import them here)
    BREAKDOWN_GROUP, MART_SET, PARTNERSHIP, PREFIX, SINGLE, TREND_GROUPS, UNPUBLISHED_PARTNERSHIP_BREAKDOWNS, cell_key,
    cell_of_key, children_cell, file_rows_cell, iso, observed_cell, persons_cell, practice_cell, relations_for,
    rows_cell, rule_cell)
from .disclosure import SUPPRESSED, AtMost, broken_relations, compile_relations
from .commissioning_cells import commissioning_cells
from .journey_cells import journey_cells, protect_in_two_stages

HISTORY_TABLE = "marts.publication_history"
HISTORY_COLUMNS = """version INTEGER NOT NULL, threshold INTEGER NOT NULL, cell VARCHAR NOT NULL, count BIGINT NOT NULL,
    shown BOOLEAN NOT NULL, published VARCHAR, written BOOLEAN NOT NULL"""

# ---------------------------------------------------------------------------------------------
# The cells a refresh could publish, with their true counts
# ---------------------------------------------------------------------------------------------


def monotone_groups(definitions: NeglectDefinitions) -> set[str]:
    """Prefix tier sets whose membership can only grow with more evidence (no ``none_of`` in any of
    their tiers' rules): for these, every child counted at the quarter end is counted in the 12 months."""
    rules = {rule.tier: rule for rule in definitions.tiers}
    out = set()
    for k, group in PREFIX.items():
        if all(not rules[t].none_of for t in range(1, k + 1) if t in rules):
            out.add(group)
    return out


def _table_exists(conn, schema: str, table: str) -> bool:
    return bool(conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
                             "AND table_name = ?", [schema, table]).fetchall()[0][0])


def count_cells(conn: duckdb.DuckDBPyConnection, latest: date, definitions: NeglectDefinitions) -> pd.DataFrame:
    """Every cell a refresh publishing quarters up to ``latest`` could show, and the auxiliary cells of
    their arithmetic: ``cell`` (tuple), ``count`` (int, the truth), ``shown`` (False: auxiliary).
    Sorted by cell."""
    rows: list[tuple[tuple, int, bool]] = []
    prevalence = conn.execute("""
        SELECT period_end, measure, la_code, breakdown, breakdown_value, tier_set, children
        FROM marts.neglect_prevalence WHERE period_end <= ? AND tier_set IN (SELECT unnest(?))
        ORDER BY ALL""", [latest, list(MART_SET)]).fetchall()
    singles: dict[tuple, dict[str, int]] = {}
    for period_end, measure, la_code, breakdown, value, tier_set, children in prevalence:
        group = MART_SET[tier_set]
        if children is None:  # not available: published as x, no cell
            continue
        if la_code == PARTNERSHIP and breakdown in UNPUBLISHED_PARTNERSHIP_BREAKDOWNS:
            continue
        if breakdown == "all":
            rows.append((children_cell(period_end, measure, la_code, "all", value, group), int(children), True))
            singles.setdefault((iso(period_end), measure, la_code, value), {})[group] = int(children)
        elif group == BREAKDOWN_GROUP:
            rows.append((children_cell(period_end, measure, la_code, breakdown, value, group), int(children), True))
    for (period_end, measure, la_code, value), groups in singles.items():
        for k in (3, 6):  # auxiliary sets, only where every tier is available (x: no cell, see above)
            if all(t in groups for t in SINGLE[:k]):
                rows.append((children_cell(period_end, measure, la_code, "all", value, PREFIX[k]),
                             sum(groups[t] for t in SINGLE[:k]), False))
    for period_end, indicator, la_code, numerator, denominator in conn.execute("""
            SELECT period_end, indicator, la_code, numerator, denominator FROM marts.practice_indicators
            WHERE period_end <= ? ORDER BY ALL""", [latest]).fetchall():
        if numerator is None or denominator is None:  # not available
            continue
        rows.append((practice_cell(period_end, indicator, la_code, "numerator"), int(numerator), True))
        rows.append((practice_cell(period_end, indicator, la_code, "denominator"), int(denominator), True))
    for period_end, la_code, linkage, observed in conn.execute("""
            SELECT period_end, la_code, linkage, coalesce(observed, 0) FROM marts.hidden_prevalence
            WHERE period_end <= ? ORDER BY ALL""", [latest]).fetchall():
        rows.append((observed_cell(period_end, la_code, linkage), int(observed), True))
    if _table_exists(conn, "quality", "summary"):
        for period_end, source, la_code, read, loaded, rejected in conn.execute("""
                SELECT period_end, source, la_code, rows_read, rows_loaded, rows_rejected FROM quality.summary
                WHERE period_end <= ? ORDER BY ALL""", [latest]).fetchall():
            for kind, n in (("read", read), ("loaded", loaded), ("rejected", rejected)):
                rows.append((rows_cell(period_end, source, la_code, kind), int(n or 0), True))
    if _table_exists(conn, "quality", "rejects"):
        for period_end, source, la_code, rule, n in conn.execute(REJECTED_BY_RULE_SQL + " AND period_end <= ? "
                                                                  "GROUP BY ALL ORDER BY ALL", [latest]).fetchall():
            rows.append((rule_cell(period_end, source, la_code, rule), int(n), True))
    if _table_exists(conn, "quality", "load_audit"):
        rows += _file_cells(conn, latest)
    if _table_exists(conn, "quality", "linkage_summary"):
        for person_type, source, n in conn.execute("""
                SELECT person_type, source, CAST(value AS BIGINT) FROM quality.linkage_summary
                WHERE section = 'persons' AND item = 'persons' ORDER BY ALL""").fetchall():
            rows.append((persons_cell(person_type, source), int(n), source != "all"))
    # flows, cohorts, spells, conversion, thresholds, GCP2 (issue 21); a tier's flow margin is the prevalence cell
    # above (not available, x: no cell, and the flow table shows x too)
    rows += [r for r in journey_cells(conn, latest) if r[0][0] != "children"]
    # the commissioning page (issue 20): the pack's own quarter only; its identified children are prevalence cells
    rows += commissioning_cells(conn, latest)
    frame = pd.DataFrame(rows, columns=["cell", "count", "shown"])
    frame = frame.drop_duplicates("cell")
    cells = frame["cell"].tolist()
    return frame.iloc[sorted(range(len(cells)), key=cells.__getitem__)].reset_index(drop=True)


def _file_cells(conn, latest: date) -> list[tuple[tuple, int, bool]]:
    """Each file's rows read and rows not loaded (``not_loaded``: rejected rows of a file loaded;
    ``not_read``: every row of a file that could not be read). Shown for the files the board report
    lists (rows not loaded, or not read), auxiliary for the others."""
    out = []
    for period_end, source, la_code, file, failed, read, rejected in conn.execute("""
            SELECT period_end, source, la_code, file, bool_or(status = 'failed'), sum(rows_read), sum(rows_rejected)
            FROM quality.load_audit WHERE file IS NOT NULL AND period_end <= ? AND status <> 'not supplied'
            GROUP BY ALL ORDER BY ALL""", [latest]).fetchall():
        shown = bool(failed) or bool(rejected)
        out.append((file_rows_cell(period_end, source, la_code, file, "read"), int(read or 0), shown))
        if failed:
            out.append((file_rows_cell(period_end, source, la_code, file, "not_read"), int(read or 0), shown))
        else:
            out.append((file_rows_cell(period_end, source, la_code, file, "not_loaded"), int(rejected or 0), shown))
    return out


# rows rejected per rule (a row rejected for two rules counts under each), before GROUP BY
REJECTED_BY_RULE_SQL = """
    SELECT period_end, source, la_code, rule, count(DISTINCT (file, location)) AS rows_rejected
    FROM quality.rejects WHERE action = 'row_rejected' AND period_end IS NOT NULL"""


# ---------------------------------------------------------------------------------------------
# Protecting a refresh, with the earlier versions
# ---------------------------------------------------------------------------------------------


@dataclass
class ProtectedRun:
    """The published value of every cell a refresh could show.

    ``cells``: ``cell``, ``count`` (the truth: never publish it), ``shown``, ``published`` (int or
    ``"c"``; None for auxiliary cells). ``version``: its version in the history; ``new_version``:
    whether this refresh made it (counts changed) or reused the latest one. ``dropped_relations``:
    relations the counts broke (a relation that does not hold is not one an intruder can use; on
    correct data there are none, and the tests check that). ``unprotected``: suppressed cells (names, no
    counts) the intruder can still narrow because every cell around them was published before (none is
    expected; the board pack logs them)."""

    version: int
    threshold: int
    cells: pd.DataFrame
    new_version: bool
    dropped_relations: list[str] = field(default_factory=list)
    revised: int = 0  # cells written before whose count has changed since
    unprotected: list[tuple] = field(default_factory=list)

    def __post_init__(self) -> None:
        shown = self.cells[self.cells["shown"]]
        self._values = dict(zip(shown["cell"], shown["published"]))

    def value(self, cell: tuple, default=None):
        """The published value of ``cell`` (int or ``"c"``), or ``default`` when it is not a shown cell."""
        return self._values.get(cell, default)

    def published(self, cell: tuple) -> bool:
        """True when ``cell`` is shown as a number."""
        value = self._values.get(cell)
        return value is not None and value != SUPPRESSED


def read_history(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """``marts.publication_history`` (empty frame when there is none yet), cells as tuples."""
    if not _table_exists(conn, *HISTORY_TABLE.split(".")):
        return pd.DataFrame(columns=["version", "threshold", "cell", "count", "shown", "published", "written"])
    history = conn.execute(f"SELECT version, threshold, cell, count, shown, published, written FROM {HISTORY_TABLE} "
                           "ORDER BY version, cell").df()
    cells = {key: cell_of_key(key) for key in history["cell"].unique()}  # each cell once, not once per version
    history["cell"] = history["cell"].map(cells)
    return history


def _published_value(text):
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None
    return SUPPRESSED if text == SUPPRESSED else int(text)


def revisions(history: pd.DataFrame, current: pd.DataFrame) -> int:
    """How many cells written in ``history`` (earlier versions) now have a count they were never
    written with: figures an earlier pack showed that this refresh revises."""
    written = history[history["written"].astype(bool)]
    if written.empty:
        return 0
    nodes = set(zip(written["cell"], written["count"].astype("int64")))
    cells = {c for c, _ in nodes}
    return sum(1 for c, n in zip(current["cell"], current["count"]) if c in cells and (c, int(n)) not in nodes)


def _relations_of(cells: frozenset, monotone: set[str], compiled: dict) -> tuple:
    """(the relations between ``cells``, the cells in order, the relations compiled over them), found once per set
    of cells and kept in ``compiled``: every version published with the same cells has the same relations."""
    if cells not in compiled:
        found = relations_for(cells, monotone)
        ordered = sorted(cells)
        compiled[cells] = (found, ordered, compile_relations(ordered, found) if found else None)
    return compiled[cells]


def protect_refresh(conn: duckdb.DuckDBPyConnection, latest: date, threshold: int,
                    definitions: NeglectDefinitions | None = None) -> ProtectedRun:
    """Choose what a refresh publishing quarters up to ``latest`` shows, given every earlier version
    (see the module docstring). Reads the history; :func:`record_publication` writes it."""
    definitions = definitions or load_definitions()
    current = count_cells(conn, latest, definitions)
    history = read_history(conn)
    if len(history):
        last = int(history["version"].max())
        previous = history[history["version"] == last]
        same_threshold = int(previous["threshold"].iloc[0]) == int(threshold)
        before = dict(zip(previous["cell"], zip(previous["count"], previous["shown"], previous["published"])))
        unchanged = same_threshold and all(
            before.get(c) is not None and before[c][0] == n and bool(before[c][1]) == bool(s)
            for c, n, s in zip(current["cell"], current["count"], current["shown"]))
        if unchanged:
            cells = current.assign(published=[_published_value(before[c][2]) for c in current["cell"]])
            return ProtectedRun(last, int(threshold), cells, new_version=False,
                                revised=revisions(history[history["version"] < last], current))
        version = last + 1
    else:
        version = 1
    monotone = monotone_groups(definitions)

    node = lambda cell, count: (cell, int(count))  # noqa: E731  (a cell with its count at one version)
    counts: dict[tuple, int] = {}
    auxiliary, known, hidden_before = set(), set(), set()
    relations: dict = {}
    dropped: list[str] = []

    compiled: dict[frozenset, tuple] = {}  # each set of cells' relations (_relations_of)

    def add_version(frame: pd.DataFrame, is_current: bool) -> None:
        nodes = {c: node(c, n) for c, n in zip(frame["cell"], frame["count"])}
        for c, n in zip(frame["cell"], frame["count"]):
            counts[nodes[c]] = int(n)
        found, ordered, system = _relations_of(frozenset(nodes), monotone, compiled)
        broken = set(broken_relations(system, np.array([counts[nodes[c]] for c in ordered]))) if found else set()
        for r in sorted(broken):  # cells only, no counts: this goes to the run's log
            rel = found[r]
            dropped.append(("current: " if is_current else "earlier version: ") + f"{type(rel).__name__} of "
                           f"{rel.total!r} over {list(rel.parts)!r}")
        relations.update(dict.fromkeys(
            type(r)(nodes[r.total], [nodes[p] for p in r.parts]) if not isinstance(r, AtMost)
            else AtMost(nodes[r.part], nodes[r.whole]) for i, r in enumerate(found) if i not in broken))

    for v, frame in history.groupby("version", sort=True):
        add_version(frame, is_current=False)
        written = frame[frame["written"].astype(bool)]
        for c, n, text in zip(written["cell"], written["count"], written["published"]):
            (hidden_before if text == SUPPRESSED else known).add(node(c, n))
        for c, n in zip(frame.loc[~frame["shown"].astype(bool), "cell"], frame.loc[~frame["shown"].astype(bool), "count"]):
            auxiliary.add(node(c, n))
    old_nodes = set(counts)
    add_version(current, is_current=True)
    current_nodes = {node(c, n) for c, n in zip(current["cell"], current["count"])}
    for c, n, shown in zip(current["cell"], current["count"], current["shown"]):
        if not shown:
            auxiliary.add(node(c, n))
    # earlier counts no pack showed are unknown to the intruder, like the auxiliary cells
    written_nodes = known | hidden_before
    auxiliary |= {n for n in old_nodes - current_nodes if n not in written_nodes}
    revised = revisions(history, current)
    for text in dropped:
        warnings.warn(f"disclosure relation dropped, the counts do not obey it: {text}", stacklevel=2)
    hidden_before -= known
    # the tables before issue 21 first, then the journey tables around them (dashboards/journey_cells.py)
    with warnings.catch_warnings():  # the cells are reported below, by name: the warning would only repeat it
        warnings.filterwarnings("ignore", message=".*cannot be protected further")
        result = protect_in_two_stages(counts, list(relations), threshold, auxiliary, known, hidden_before)
    published = dict(zip(result["cell"], result["published"]))
    cells = current.assign(published=[published[node(c, n)] if s else None
                                      for c, n, s in zip(current["cell"], current["count"], current["shown"])])
    unprotected = sorted({n[0] for n in result.attrs.get("unprotected", [])})
    return ProtectedRun(version, int(threshold), cells, new_version=True, dropped_relations=dropped,
                        revised=revised, unprotected=unprotected)


def record_publication(conn: duckdb.DuckDBPyConnection, run: ProtectedRun, written: set) -> None:
    """Add ``run`` to ``marts.publication_history`` (a new version), or mark the cells ``written`` by
    this refresh's packs in the version it reused."""
    conn.execute("CREATE SCHEMA IF NOT EXISTS marts")
    conn.execute(f"CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} ({HISTORY_COLUMNS})")
    keys = [cell_key(c) for c in run.cells["cell"]]
    flags = [c in written for c in run.cells["cell"]]
    if run.new_version:
        frame = pd.DataFrame({
            "version": run.version, "threshold": run.threshold, "cell": keys,
            "count": run.cells["count"].astype("int64").to_numpy(), "shown": run.cells["shown"].astype(bool).to_numpy(),
            "published": [None if v is None else str(v) for v in run.cells["published"]], "written": flags})
        with registered(conn, frame, "_history_rows"):
            conn.execute(f"DELETE FROM {HISTORY_TABLE} WHERE version = ?", [run.version])
            conn.execute(f"INSERT INTO {HISTORY_TABLE} BY NAME SELECT * FROM _history_rows ORDER BY cell")
        return
    marked = sorted(k for k, f in zip(keys, flags) if f)
    if marked:
        conn.execute(f"UPDATE {HISTORY_TABLE} SET written = true WHERE version = ? AND cell IN (SELECT unnest(?)) "
                     "AND NOT written", [run.version, marked])
