"""The counts of the journeys and thresholds section (issue 21) as disclosure-control cells, and the relations
between them that hold by construction (see :mod:`dashboards.publication` for cells and relations in general).

:func:`journey_cells` reads the journey and threshold marts (and ``marts.gcp2_progress`` when it exists) and
returns every count a pack of a quarter up to ``latest`` could show; :func:`journey_relations` gives the
relations an intruder can use. :func:`dashboards.publication.count_cells` and
:func:`dashboards.publication.relations_for` add them to everything else a refresh publishes, so these counts
are protected together with every other table, quarter and earlier version.

Cells (a tuple of strings, dates as ``YYYY-MM-DD``, first the kind):

* ``("flow", quarter, la_code, from_state, to_state)``: children at ``from_state`` on the previous quarter end
  and ``to_state`` on this one (``marts.tier_transitions``); the full grid of states (``none``, ``tier 1`` ...
  ``tier 6``; ``moved away/aged out`` as a destination), 0 where the mart has no row, except none -> none;
* ``("flow_margin", quarter, la_code, "from" | "to" | "all", state)``: the flow table's row margin of ``none``,
  column margins of ``none`` and ``moved away/aged out``, and total (``"all", "all"``); a tier's row or column
  margin is the prevalence cell of that tier on the previous or this quarter end (measure ``point``), the same
  count in both tables;
* ``("flow_entered_identified", quarter, la_code)``: children moving into tiers 1-4 from none, tier 5 or tier 6
  (auxiliary: never shown; it bounds the cohort first identified on that quarter end);
* ``("cohort", quarter, la_code, horizon, outcome)`` and ``("cohort_children", cohort quarter, la_code)``: the
  children first identified on a quarter end, by outcome ``horizon`` quarters later (``marts.cohort_outcomes``);
  the cohort's size is keyed by its own quarter, so the 4-quarter view of one pack and the 8-quarter view of a
  pack a year later are the same count;
* ``("spells", quarter, la_code, item)``: spells of identified neglect (``marts.neglect_episodes``): open ones
  by time in neglect so far, and those begun in the 12 months to the quarter end with their re-entries within
  12 months of a previous spell and escalations to a CP plan;
* ``("conversion", quarter, la_code, stage)``: neglect-related CIN episodes reaching each stage
  (``marts.conversion_rates``; a step's denominator is the stage before it);
* ``("profile", quarter, la_code, service_level, indicator)``: neglect-related children entering a service level
  (``entrants``) and how many of them had each piece of evidence (``marts.threshold_profile``, scope
  ``neglect-related``);
* ``("gcp2", quarter, la_code, service, domain, part)``: ``children`` with repeat GCP2 assessments and those
  ``improved`` / ``unchanged`` / ``worse`` (``marts.gcp2_progress``, when supplied).

Relations (each holds whatever the data; :func:`dashboards.publication.protect_refresh` drops, out loud, any
the counts break):

* flows: each row margin is the sum of its row, each column margin the sum of its column, the total the sum of
  either (a tier's margins being prevalence cells, this quarter's column margin is next quarter's row margin);
* cohorts: the outcomes add up to the cohort; the cohort is among the children moving into tiers 1-4 on its
  quarter end and among the children in tiers 1-4 then;
* spells: the open spells by time in neglect add up to the open spells, which are the children in tiers 1-4 at
  the quarter end (one open spell each); re-entries and escalations are among the spells begun;
* conversion: each stage is at most the stage before it; the partnership's referrals are a union of the
  authorities' (an episode referred to both on the same day counts once);
* threshold profile: each indicator's children are among the entrants, GCP2 of concern among GCP2 recorded;
* GCP2 progress: improved + unchanged + worse = children in each row; a service's children are among all
  services' children.

Protection in two stages (:func:`protect_in_two_stages`): the journey cells are tied to the prevalence counts
(a tier's flow margin *is* its point prevalence), so protecting everything in one system let a hidden flow
margin pull the prevalence tables' tier counts, and through the published tier sets the trend, into secondary
suppression (on the default partnership, all quarters to March 2026: 1,277 prevalence counts hidden instead of 687, and
187 s instead of 87 s on a busy 2-core machine).
So the cells of the tables that existed before are protected first, exactly as without this section; then
everything is protected together with those choices fixed -- every count they publish is *known* to the
intruder (never chosen again), every ``c`` stays hidden and protected -- so only journey cells are added to the
suppression, and the intruder check of the second stage covers every cell and relation at once. The one exception:
a journey count with no other published cell left around it. After a revision a changed flow's other cells may all
have been published by the earlier version, and fixing the first stage's choices left it determined (a flow of 1
recovered from a revised margin less its unchanged flows). So the first stage's numbers are passed as ``avoid``
(:func:`dashboards.disclosure.protect`), not as known: hidden only as that last resort, and then a secondary
suppression the intruder works out exactly anyway is published rather than protected.

Known gaps (not modelled, as in :mod:`dashboards.publication`): between the partnership and its authorities
flows, cohorts, spells, conversion stages after referral, the neglect-related profile and GCP2 progress hold no
relation (a child at tier 2 in one authority and tier 1 in the other is tier 1 in the partnership; the
partnership keeps one entry per child), only inequalities such as "the partnership's cohort is at most the sum
of the authorities'", which an intruder could use but which bound a count from one side only.
"""
from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from .disclosure import SUPPRESSED, Sum, Union, protect

FROM_STATES = ("none", "tier 1", "tier 2", "tier 3", "tier 4", "tier 5", "tier 6")
TO_STATES = ("tier 1", "tier 2", "tier 3", "tier 4", "tier 5", "tier 6", "none", "moved away/aged out")
IDENTIFIED = ("tier 1", "tier 2", "tier 3", "tier 4")
NOT_IDENTIFIED = ("none", "tier 5", "tier 6")
ALL = "all"
HORIZONS = (4, 8)
OPEN_BANDS = (("open: up to 6 months", 0, 6), ("open: 7 to 12 months", 7, 12), ("open: 13 to 24 months", 13, 24),
              ("open: over 2 years", 25, 10_000))
SPELL_ITEMS = ("open", *(b[0] for b in OPEN_BANDS), "begun in the 12 months", "re-entry within 12 months",
               "escalated to a CP plan")
STAGES = ("referral", "assessment", "section 47", "initial conference", "CP plan")
PROFILE_SCOPE = "neglect-related"
PROFILE_SHARES = ("neglect_factor", "toxic_trio", "learning_disability", "prior_early_help", "gcp2_recorded",
                  "gcp2_concern", "factors_known")
FACTOR_SHARES = ("neglect_factor", "toxic_trio", "learning_disability")  # of the entrants whose factors are known
GCP2_PARTS = ("children", "improved", "unchanged", "worse")
GCP2_TABLE = ("marts", "gcp2_progress")
PARTNERSHIP = "partnership"


def _iso(value) -> str:
    return value[:10] if isinstance(value, str) else value.isoformat()[:10]


def shift(quarter, quarters: int) -> str:
    """The quarter end ``quarters`` quarters after ``quarter`` (before, when negative), ISO."""
    return (pd.Timestamp(_iso(quarter)) + pd.offsets.MonthEnd(3 * int(quarters))).date().isoformat()


def flow_cell(quarter, la_code, from_state, to_state) -> tuple:
    """A flow, or (``from_state`` or ``to_state`` ``"all"``) one of the flow table's margins. A tier's margin
    *is* the children in that tier on the quarter end (the previous one for a row): the prevalence cell
    (:func:`dashboards.publication.children_cell`, measure ``point``), one count in both tables."""
    from .publication import children_cell

    q, la = _iso(quarter), str(la_code)
    if from_state == ALL and to_state == ALL:
        return ("flow_margin", q, la, ALL, ALL)
    state, day, side = (from_state, shift(q, -1), "from") if to_state == ALL else (to_state, q, "to")
    if ALL in (from_state, to_state):
        if str(state).startswith("tier "):
            return children_cell(day, "point", la, "all", "All children", f"Tier {str(state)[5:]}")
        return ("flow_margin", q, la, side, str(state))
    return ("flow", q, la, str(from_state), str(to_state))


def cohort_cell(quarter, la_code, horizon, outcome) -> tuple:
    return ("cohort", _iso(quarter), str(la_code), str(int(horizon)), str(outcome))


def cohort_size_cell(cohort_quarter, la_code) -> tuple:
    return ("cohort_children", _iso(cohort_quarter), str(la_code))


def spells_cell(quarter, la_code, item) -> tuple:
    return ("spells", _iso(quarter), str(la_code), str(item))


def stage_cell(quarter, la_code, stage) -> tuple:
    return ("conversion", _iso(quarter), str(la_code), str(stage))


def profile_cell(quarter, la_code, level, indicator) -> tuple:
    return ("profile", _iso(quarter), str(la_code), str(level), str(indicator))


def gcp2_cell(quarter, la_code, service, domain, part) -> tuple:
    return ("gcp2", _iso(quarter), str(la_code), str(service), str(domain), str(part))


def table_exists(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
                             "AND table_name = ?", [schema, table]).fetchall()[0][0])


# ---------------------------------------------------------------------------------------------
# The cells, with their true counts
# ---------------------------------------------------------------------------------------------


def journey_cells(conn: duckdb.DuckDBPyConnection, latest: date) -> list[tuple[tuple, int, bool]]:
    """(cell, count, shown) for every journey and threshold count of the quarters up to ``latest``."""
    rows: list[tuple[tuple, int, bool]] = []
    if table_exists(conn, "marts", "tier_transitions"):
        rows += _flow_cells(conn, latest)
    if table_exists(conn, "marts", "cohort_outcomes"):
        rows += _cohort_cells(conn, latest)
    if table_exists(conn, "marts", "neglect_episodes"):
        rows += _spell_cells(conn, latest)
    stages: dict[tuple, int] = {}
    if table_exists(conn, "marts", "conversion_rates"):  # a stage is one cell in every step it is part of
        for quarter, la, step, from_stage, to_stage, numerator, denominator in conn.execute("""
                SELECT period_end, la_code, step, from_stage, to_stage, numerator, denominator
                FROM marts.conversion_rates WHERE period_end <= ? ORDER BY ALL""", [latest]).fetchall():
            stages[stage_cell(quarter, la, from_stage)] = int(denominator)
            stages[stage_cell(quarter, la, to_stage)] = int(numerator)
        rows += [(cell, n, True) for cell, n in stages.items()]
    if table_exists(conn, "marts", "threshold_profile"):
        rows += _profile_cells(conn, latest)
    if table_exists(conn, *GCP2_TABLE):
        for quarter, la, service, domain, *parts in conn.execute("""
                SELECT quarter_end, la_code, service, domain, children, improved, unchanged, worse
                FROM marts.gcp2_progress WHERE quarter_end <= ? ORDER BY ALL""", [latest]).fetchall():
            for part, n in zip(GCP2_PARTS, parts):
                if n is not None:
                    rows.append((gcp2_cell(quarter, la, service, domain, part), int(n), True))
    return rows


def _flow_cells(conn, latest: date) -> list[tuple[tuple, int, bool]]:
    flows: dict[tuple, dict[tuple, int]] = {}
    for quarter, la, from_state, to_state, n in conn.execute("""
            SELECT period_end, la_code, from_state, to_state, sum(children) FROM marts.tier_transitions
            WHERE period_end <= ? GROUP BY ALL ORDER BY ALL""", [latest]).fetchall():
        flows.setdefault((_iso(quarter), la), {})[(from_state, to_state)] = int(n)
    rows = []
    for (quarter, la), grid in sorted(flows.items()):
        full = {(f, t): grid.get((f, t), 0) for f in FROM_STATES for t in TO_STATES if (f, t) != ("none", "none")}
        for (f, t), n in full.items():
            rows.append((flow_cell(quarter, la, f, t), n, True))
        for f in FROM_STATES:
            rows.append((flow_cell(quarter, la, f, ALL), sum(n for (a, _), n in full.items() if a == f), True))
        for t in TO_STATES:
            rows.append((flow_cell(quarter, la, ALL, t), sum(n for (_, b), n in full.items() if b == t), True))
        rows.append((flow_cell(quarter, la, ALL, ALL), sum(full.values()), True))
        entered = sum(n for (a, b), n in full.items() if a in NOT_IDENTIFIED and b in IDENTIFIED)
        rows.append((("flow_entered_identified", quarter, la), entered, False))
    return rows


def _cohort_cells(conn, latest: date) -> list[tuple[tuple, int, bool]]:
    rows = []
    sizes: dict[tuple, int] = {}
    for quarter, cohort, horizon, la, outcome, n, size in conn.execute("""
            SELECT period_end, cohort_period_end, horizon_quarters, la_code, outcome, children, cohort_children
            FROM marts.cohort_outcomes WHERE period_end <= ? ORDER BY ALL""", [latest]).fetchall():
        rows.append((cohort_cell(quarter, la, horizon, outcome), int(n), True))
        cell = cohort_size_cell(cohort, la)
        if sizes.setdefault(cell, int(size)) != int(size):
            raise ValueError(f"marts.cohort_outcomes gives two sizes for the cohort {cell!r}")
    rows += [(cell, n, True) for cell, n in sizes.items()]
    return rows


def _spell_cells(conn, latest: date) -> list[tuple[tuple, int, bool]]:
    bands = " ".join(f"WHEN months_in_spell BETWEEN {lo} AND {hi} THEN '{name}'" for name, lo, hi in OPEN_BANDS)
    counts = conn.execute(f"""
        SELECT period_end, la_code,
               count(*) FILTER (WHERE status = 'open') AS open,
               {", ".join(f"count(*) FILTER (WHERE status = 'open' AND CASE {bands} END = '{b[0]}')" for b in OPEN_BANDS)},
               count(*) FILTER (WHERE begun) AS begun,
               count(*) FILTER (WHERE begun AND re_entry_within_12_months) AS re_entry,
               count(*) FILTER (WHERE begun AND escalated_to_cp_plan) AS escalated
        FROM (SELECT *, first_quarter_end > period_end - INTERVAL 12 MONTH AS begun FROM marts.neglect_episodes
              WHERE period_end <= ?)
        GROUP BY ALL ORDER BY ALL""", [latest]).fetchall()
    return [(spells_cell(quarter, la, item), int(n), True)
            for quarter, la, *values in counts for item, n in zip(SPELL_ITEMS, values)]


def _profile_cells(conn, latest: date) -> list[tuple[tuple, int, bool]]:
    rows = []
    for quarter, la, level, indicator, numerator, denominator in conn.execute("""
            SELECT period_end, la_code, service_level, indicator, numerator, denominator FROM marts.threshold_profile
            WHERE period_end <= ? AND scope = ? AND indicator IN (SELECT unnest(?)) ORDER BY ALL""",
                                                                  [latest, PROFILE_SCOPE,
                                                                   ["entrants", *PROFILE_SHARES]]).fetchall():
        rows.append((profile_cell(quarter, la, level, indicator), int(numerator), True))
    return rows


def profile_denominator(indicator: str) -> str:
    """The indicator whose count is ``indicator``'s denominator (its share is of those children)."""
    if indicator in ("gcp2_concern", "mean_gcp2_max"):
        return "gcp2_recorded"
    return "factors_known" if indicator in FACTOR_SHARES else "entrants"


# ---------------------------------------------------------------------------------------------
# Relations
# ---------------------------------------------------------------------------------------------


def journey_relations(by_kind: dict[str, list[tuple]], add, at_most) -> None:
    """Add the journey relations (see module docstring) through ``add(type, total, parts)`` (made only when
    every cell is present) and ``at_most(part, whole)``. ``by_kind``: cell kind -> cells present."""
    from .publication import children_cell

    for c in sorted(by_kind.get("flow_margin", [])):
        if c[3] == ALL:  # the total: the sum of either margin
            add(Sum, c, [flow_cell(c[1], c[2], f, ALL) for f in FROM_STATES])
            add(Sum, c, [flow_cell(c[1], c[2], ALL, t) for t in TO_STATES])
    for c in sorted(by_kind.get("flow_entered_identified", [])):
        _, quarter, la = c
        add(Sum, c, [flow_cell(quarter, la, f, t) for f in NOT_IDENTIFIED for t in IDENTIFIED])
        for f in FROM_STATES:  # each row and column margin (a tier's is its prevalence cell) is the sum of its flows
            add(Sum, flow_cell(quarter, la, f, ALL), [flow_cell(quarter, la, f, t) for t in TO_STATES
                                                      if (f, t) != ("none", "none")])
        for t in TO_STATES:
            add(Sum, flow_cell(quarter, la, ALL, t), [flow_cell(quarter, la, f, t) for f in FROM_STATES
                                                      if (f, t) != ("none", "none")])
    outcomes: dict[tuple, list[tuple]] = {}
    for c in sorted(by_kind.get("cohort", [])):
        outcomes.setdefault(c[1:4], []).append(c)
    for (quarter, la, horizon), parts in sorted(outcomes.items()):
        add(Sum, cohort_size_cell(shift(quarter, -int(horizon)), la), parts)
    for c in sorted(by_kind.get("cohort_children", [])):
        _, cohort, la = c
        at_most(c, ("flow_entered_identified", cohort, la))
        at_most(c, children_cell(cohort, "point", la, "all", "All children", "Tiers 1-4"))
    _spell_relations(by_kind, add, at_most, children_cell)
    _stage_relations(by_kind, add, at_most)
    for c in sorted(by_kind.get("profile", [])):
        _, quarter, la, level, indicator = c
        if indicator != "entrants":
            at_most(c, profile_cell(quarter, la, level, profile_denominator(indicator)))
    for c in sorted(by_kind.get("gcp2", [])):
        _, quarter, la, service, domain, part = c
        if part == "children":
            add(Sum, c, [gcp2_cell(quarter, la, service, domain, p) for p in GCP2_PARTS[1:]])
            if service != ALL:
                at_most(c, gcp2_cell(quarter, la, ALL, domain, "children"))


def _spell_relations(by_kind, add, at_most, children_cell) -> None:
    for c in sorted(by_kind.get("spells", [])):
        _, quarter, la, item = c
        if item == "open":
            add(Sum, c, [spells_cell(quarter, la, b[0]) for b in OPEN_BANDS])
            add(Sum, children_cell(quarter, "point", la, "all", "All children", "Tiers 1-4"), [c])
        elif item in ("re-entry within 12 months", "escalated to a CP plan"):
            at_most(c, spells_cell(quarter, la, "begun in the 12 months"))


def _stage_relations(by_kind, add, at_most) -> None:
    areas: dict[str, set[str]] = {}
    for c in sorted(by_kind.get("conversion", [])):
        _, quarter, la, stage = c
        areas.setdefault(quarter, set()).add(la)
        position = STAGES.index(stage) if stage in STAGES else -1
        if position > 0:
            at_most(c, stage_cell(quarter, la, STAGES[position - 1]))
    for quarter, las in sorted(areas.items()):
        add(Union, stage_cell(quarter, PARTNERSHIP, "referral"),
            [stage_cell(quarter, la, "referral") for la in sorted(las - {PARTNERSHIP})])


JOURNEY_KINDS = frozenset({"flow", "flow_margin", "flow_entered_identified", "cohort", "cohort_children", "spells",
                           "conversion", "profile", "gcp2"})


SECOND_STAGE_KINDS = JOURNEY_KINDS | {"commissioning"}  # and the commissioning page (dashboards/commissioning_cells.py)


def _is_journey(node) -> bool:
    """A node is (cell, count) in :func:`dashboards.publication.protect_refresh`: True for the cells protected in
    the second stage (the journeys section's, and the commissioning page's, which is tied to the prevalence counts
    in the same way)."""
    return node[0][0] in SECOND_STAGE_KINDS


def protect_in_two_stages(counts: dict, relations: list, threshold: int, auxiliary: set, known: set,
                          hidden_before: set) -> pd.DataFrame:
    """:func:`dashboards.disclosure.protect` of the nodes ``counts`` (node -> count), first without the
    journey cells, then with them and the first stage's choices fixed (see the module docstring). Returns
    :func:`protect`'s table for every node."""
    def run(nodes, rels, aux, seen, before, avoid=frozenset()):
        series = pd.Series([counts[n] for n in nodes], index=pd.Index(nodes, tupleize_cols=False, dtype=object))
        nodes_set = set(nodes)
        return protect(series, rels, threshold=threshold, auxiliary=sorted((aux - seen) & nodes_set),
                       known=sorted(seen & nodes_set), suppressed_before=sorted(before & nodes_set),
                       avoid=sorted((avoid - seen) & nodes_set))

    order = sorted(counts)
    base = [n for n in order if not _is_journey(n)]
    if len(base) == len(order):
        return run(order, relations, auxiliary, known, hidden_before)
    base_set = set(base)
    first = run(base, [r for r in relations if r.total in base_set and all(p in base_set for p in r.parts)],
                auxiliary, known, hidden_before)
    shown = [(n, v) for n, v in zip(first["cell"], first["published"]) if n not in auxiliary]
    first_numbers = {n for n, v in shown if v != SUPPRESSED} - known
    fixed_hidden = (hidden_before | {n for n, v in shown if v == SUPPRESSED}) - known - first_numbers
    # stage 1's numbers are hidden in stage 2 only when a journey count has nothing else left to hide around it
    # (a revised flow whose other cells an earlier version published: issue 18's slow disclosure test)
    # the second stage checks every cell (the first's c among them): its attrs['unprotected'] is the whole answer
    return run(order, relations, auxiliary - fixed_hidden, known, fixed_hidden, avoid=first_numbers)
