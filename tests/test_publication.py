"""dashboards.publication: the relations an intruder can use hold by construction, even when the
authorities disagree about a child; the republication rule protects two versions together.

Children are simulated here with evidence in one or both authorities (each authority decides its own
tier from its own evidence, the partnership takes the strongest), and counted the way the marts count
them (``marts.neglect_prevalence`` rows). A small warehouse holding those counts lets
:func:`protect_refresh` run as the board pack runs it.
"""
from __future__ import annotations

import itertools
import random
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from dashboards.audit import attack_refreshes
from dashboards.disclosure import SUPPRESSED, Union, broken_relations, compile_relations
from dashboards.publication import (HISTORY_TABLE, PREFIX, children_cell, count_cells, monotone_groups,
                                    protect_refresh, record_publication, relations_for)
from models.marts.definitions import load_definitions

DEFINITIONS = load_definitions()
TIER_SETS = {"1": [1], "1-2": [1, 2], "1-4": [1, 2, 3, 4], "1-5": [1, 2, 3, 4, 5], "6": [6], "2": [2], "3": [3],
             "4": [4], "5": [5]}
GROUP = {"1": "Tier 1", "2": "Tier 2", "3": "Tier 3", "4": "Tier 4", "5": "Tier 5", "6": "Tier 6",
         "1-2": "Tiers 1-2", "1-4": "Tiers 1-4", "1-5": "Tiers 1-5"}
WARDS = {"W991A": "991", "W991B": "991", "W991C": "991", "W992A": "992", "W992B": "992"}
KINDS = ["cp_neg", "cp_mul", "cp_other", "assessment_16A", "primary_need_N1", "eh_16A", "eh_gcp2", "adult_known"]
QUARTERS = [date(2025, 12, 31), date(2026, 3, 31)]


def tier_of(kinds: set[str]) -> int | None:
    """The first tier of tier_definitions.yaml whose rule the kinds meet (as tiers.sql decides it)."""
    for rule in DEFINITIONS.tiers:
        if rule.all_of and not set(rule.all_of) <= kinds:
            continue
        if rule.any_of and not set(rule.any_of) & kinds:
            continue
        if rule.none_of and set(rule.none_of) & kinds:
            continue
        return rule.tier
    return None


def simulate_children(seed: int, n: int = 400) -> pd.DataFrame:
    """One row per quarter, measure, child and authority with evidence: kinds over the 12 months, a subset
    of them current at the quarter end; where the child lives (the same in every area)."""
    rng = random.Random(seed)
    rows = []
    for child in range(n):
        authorities = rng.choice([["991"], ["992"], ["991", "992"], ["991", "992"]])
        place = {"ward": rng.choice([*WARDS, None, "OUTSIDE"]), "age_band": rng.choice(["0-4", "5-9", "10-15", "16-17"]),
                 "sex": rng.choice(["Female", "Male"]), "deprivation_decile": str(rng.randint(1, 10))}
        for quarter in QUARTERS:
            for la in authorities:
                year = set(rng.sample(KINDS, rng.randint(1, 3)))
                now = {k for k in year if rng.random() < 0.6}
                rows.append({"period_end": quarter, "measure": "12_month", "la_code": la, "child": child,
                             "kinds": year, **place})
                if now:
                    rows.append({"period_end": quarter, "measure": "point", "la_code": la, "child": child,
                                 "kinds": now, **place})
    return pd.DataFrame(rows)


def tier_rows(children: pd.DataFrame) -> pd.DataFrame:
    """Like marts.child_neglect_tier: each authority's tier from its own evidence, the partnership's the
    strongest of them (min over the authorities' tiers)."""
    rows = children.assign(tier=children["kinds"].map(tier_of))
    keys = ["period_end", "measure", "child"]
    strongest = rows.groupby(keys, as_index=False).agg(
        tier=("tier", "min"), ward=("ward", "first"), age_band=("age_band", "first"), sex=("sex", "first"),
        deprivation_decile=("deprivation_decile", "first"))
    return pd.concat([rows.drop(columns="kinds"), strongest.assign(la_code="partnership")], ignore_index=True)


def prevalence_rows(tiers: pd.DataFrame) -> pd.DataFrame:
    """Like marts.neglect_prevalence (children only): every tier set, area, breakdown and value."""
    def ward_value(row):
        if not isinstance(row["ward"], str):
            return "Not known"
        if row["ward"] == "OUTSIDE":
            return "Outside the partnership"
        if row["la_code"] != "partnership" and WARDS[row["ward"]] != row["la_code"]:
            return "Outside the authority"
        return row["ward"]
    tiers = tiers.assign(ward_value=tiers.apply(ward_value, axis=1))
    out = []
    values = {"all": ["All children"], "age_band": ["0-4", "5-9", "10-15", "16-17"], "sex": ["Female", "Male"],
              "deprivation_decile": [str(d) for d in range(1, 11)]}
    for (quarter, measure, la), group in tiers.groupby(["period_end", "measure", "la_code"]):
        wards = [w for w, owner in WARDS.items() if la in ("partnership", owner)]
        extra = ["Not known", "Outside the partnership"] + ([] if la == "partnership" else ["Outside the authority"])
        columns = {"all": None, "age_band": "age_band", "sex": "sex", "deprivation_decile": "deprivation_decile",
                   "ward": "ward_value"}
        for breakdown, column in columns.items():
            for value in values.get(breakdown, wards + extra):
                rows = group if column is None else group[group[column] == value]
                for tier_set, members in TIER_SETS.items():
                    out.append((quarter, measure, tier_set, la, breakdown, value, int(rows["tier"].isin(members).sum())))
    return pd.DataFrame(out, columns=["period_end", "measure", "tier_set", "la_code", "breakdown", "breakdown_value",
                                      "children"])


def small_warehouse(children: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse with what count_cells reads: the prevalence mart, and empty practice and
    hidden-prevalence marts."""
    conn = duckdb.connect()
    tiers = tier_rows(children)
    prevalence = prevalence_rows(tiers)
    conn.execute("CREATE SCHEMA marts")
    conn.register("_p", prevalence)
    conn.execute("CREATE TABLE marts.neglect_prevalence AS SELECT CAST(period_end AS DATE) AS period_end, measure, "
                 "tier_set, la_code, breakdown, breakdown_value, CAST(children AS BIGINT) AS children FROM _p")
    conn.execute("CREATE TABLE marts.practice_indicators (period_end DATE, indicator VARCHAR, la_code VARCHAR, "
                 "numerator BIGINT, denominator BIGINT)")
    conn.execute("CREATE TABLE marts.hidden_prevalence (period_end DATE, la_code VARCHAR, linkage VARCHAR, "
                 "observed BIGINT)")
    return conn


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_relation_holds_when_authorities_disagree(seed):
    """Children known to both authorities at different tiers (tier 1 in one, tier 2 in the other is tier 1
    in the partnership): every relation relations_for gives holds, while the partnership's single tier is
    not a union of the authorities' (the relation that crashed the board pack)."""
    children = simulate_children(seed)
    tiers = tier_rows(children)
    both = tiers[tiers["la_code"] != "partnership"].groupby(["period_end", "measure", "child"])["tier"]
    assert (both.nunique() > 1).sum() > 20  # plenty of disagreement
    conn = small_warehouse(children)
    cells = count_cells(conn, QUARTERS[-1], DEFINITIONS)
    relations = relations_for(cells["cell"], monotone_groups(DEFINITIONS))
    kinds = {type(r).__name__ for r in relations}
    assert kinds == {"Sum", "Union", "AtMost"} and len(relations) > 100
    system = compile_relations(list(cells["cell"]), relations)
    assert broken_relations(system, cells["count"].to_numpy()) == []
    # the old relation: the partnership's tier 2 as a union of the authorities' tier 2
    counts = dict(zip(cells["cell"], cells["count"]))
    broken_single = 0
    for quarter, measure, tier in itertools.product(QUARTERS, ["point", "12_month"], ["Tier 2", "Tier 3", "Tier 4"]):
        cell = lambda la: children_cell(quarter, measure, la, "all", "All children", tier)  # noqa: E731
        rel = Union(cell("partnership"), [cell("991"), cell("992")])
        old = compile_relations([rel.total, *rel.parts], [rel])
        broken_single += len(broken_relations(old, np.array([counts[c] for c in [rel.total, *rel.parts]])))
    assert broken_single > 0


def test_only_tier_sets_without_exclusions_tie_the_quarter_end_to_the_12_months():
    assert monotone_groups(DEFINITIONS) == {PREFIX[k] for k in (1, 2, 3, 4)}  # tier 5 has none_of


def test_protect_refresh_with_authorities_disagreeing_is_safe_and_records_its_version():
    children = simulate_children(4, n=160)
    conn = small_warehouse(children)
    run = protect_refresh(conn, QUARTERS[-1], 5, DEFINITIONS)
    assert run.version == 1 and run.new_version and run.dropped_relations == []
    suppressed = run.cells[run.cells["published"] == SUPPRESSED]
    assert len(suppressed) > 10
    record_publication(conn, run, set(run.cells.loc[run.cells["shown"], "cell"]))
    again = protect_refresh(conn, QUARTERS[-1], 5, DEFINITIONS)
    assert again.version == 1 and not again.new_version
    assert list(again.cells["published"]) == list(run.cells["published"])


def _published(run) -> pd.DataFrame:
    shown = run.cells[run.cells["shown"]]
    return pd.DataFrame({"cell": shown["cell"], "published": shown["published"], "file": "pack"})


def test_a_revised_quarter_is_protected_together_with_what_was_published_before():
    """Late records change some counts of the first quarter. The second version keeps every unchanged
    count that was c as c, never hides an unchanged count that was published, and an intruder holding
    both versions recovers nothing; protecting the second version on its own would not be safe."""
    before = simulate_children(5, n=160)
    conn = small_warehouse(before)
    first = protect_refresh(conn, QUARTERS[-1], 5, DEFINITIONS)
    record_publication(conn, first, set(first.cells.loc[first.cells["shown"], "cell"]))
    truth_first = first.cells[["cell", "count"]]
    # late data: more children with evidence in the first quarter
    late = simulate_children(6, n=30)
    late = late[late["period_end"] == QUARTERS[0]].assign(child=late["child"] + 10_000)
    after = pd.concat([before, late], ignore_index=True)
    conn2 = small_warehouse(after)
    conn2.register("_h", conn.execute(f"SELECT * FROM {HISTORY_TABLE}").df())  # the warehouse keeps its history
    conn2.execute(f"CREATE TABLE {HISTORY_TABLE} AS SELECT * FROM _h")
    second = protect_refresh(conn2, QUARTERS[-1], 5, DEFINITIONS)
    assert second.version == 2 and second.new_version and second.revised > 0 and second.unprotected == []
    old = {c: (n, v) for c, n, v in zip(first.cells["cell"], first.cells["count"], first.cells["published"])}
    for c, n, v in zip(second.cells["cell"], second.cells["count"], second.cells["published"]):
        if c in old and old[c][0] == n and old[c][1] is not None:
            assert (old[c][1] == SUPPRESSED) == (v == SUPPRESSED), c  # unchanged count: unchanged publication
    monotone = monotone_groups(DEFINITIONS)
    both = attack_refreshes([(_published(first), truth_first), (_published(second), second.cells[["cell", "count"]])],
                            monotone, 5)
    assert both.conflicts == [] and both.narrowed(5).empty
    # the second version protected on its own, without the history, next to the first version's pack
    alone = protect_refresh(small_warehouse(after), QUARTERS[-1], 5, DEFINITIONS)
    naive = attack_refreshes([(_published(first), truth_first), (_published(alone), alone.cells[["cell", "count"]])],
                             monotone, 5)
    assert not naive.narrowed(5).empty or naive.conflicts
