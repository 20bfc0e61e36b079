"""The board report's journeys and thresholds section (issue 21) and its disclosure control.

* hand-built flow, cohort and GCP2 tables: small flows are suppressed, the flow table's margins are relations, and
  the intruder (linear programming over every published count and relation) narrows no suppressed flow;
* the section renders for hand-built tables, and says "not available" without the journey marts or without
  ``marts.gcp2_progress``;
* on the session's refresh: a section per area, no count from 1 to 4 in it, the flow margins add up, the numbers
  shown are the marts' (recounted from the tier table), and the flow and cohort cells are among those the
  intruder attacks (``tests/test_dashboard.py`` runs that attack on every pack).
"""
from __future__ import annotations

import html
import re
from datetime import date

import duckdb
import pandas as pd
import pytest

from dashboards.disclosure import SUPPRESSED, Sum, attack, protect
from dashboards.journey_cells import (FROM_STATES, TO_STATES, flow_cell, gcp2_cell, journey_cells,
                                     protect_in_two_stages)
from dashboards.journey_tables import published_journeys
from dashboards.journeys_section import GCP2_MISSING, journey_section
from dashboards.publication import ProtectedRun, cell_of_key, relations_for
from dashboards.html_parts import Charts
from dashboards.tables import Publication, _Counts

QUARTER = date(2026, 3, 31)
Q = QUARTER.isoformat()
AREAS = [("partnership", "Partnership"), ("991", "Northbrook"), ("992", "Eastmere")]


def _flows_frame() -> pd.DataFrame:
    """Two authorities' flows: mostly large, some of 1-4 children (one row per flow, none -> none left out)."""
    rows = []
    for la, small in (("991", {("tier 3", "tier 4"): 2, ("tier 5", "tier 1"): 1}), ("992", {("tier 1", "none"): 3})):
        for i, f in enumerate(FROM_STATES):
            for j, t in enumerate(TO_STATES):
                if (f, t) == ("none", "none"):
                    continue
                n = small.get((f, t), 0 if (i + j) % 3 else 20 + 7 * i + j)
                if n:
                    rows.append((QUARTER, "2025-12-31", la, f, t, n))
    return pd.DataFrame(rows, columns=["period_end", "previous_period_end", "la_code", "from_state", "to_state",
                                       "children"])


def _gcp2_frame() -> pd.DataFrame:
    rows = []
    for la in ("991", "992", "partnership"):
        for service in ("early help", "children's social care", "all"):
            for k, domain in enumerate(("physical care", "safety", "love and care", "stimulation", "any domain")):
                improved, unchanged, worse = 12 + k, 3 if la == "991" else 9, 6
                children = improved + unchanged + worse + (10 if service == "all" else 0)
                if service == "all":
                    improved += 10
                share = improved / children
                rows.append((QUARTER, la, service, domain, children, improved, unchanged, worse, share,
                             max(share - 0.2, 0), min(share + 0.2, 1)))
    return pd.DataFrame(rows, columns=["quarter_end", "la_code", "service", "domain", "children", "improved",
                                       "unchanged", "worse", "share_improved", "improved_ci95_lower",
                                       "improved_ci95_upper"])


def _warehouse(flows: bool = True, gcp2: bool = True) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts")
    if flows:
        frame = _flows_frame()
        conn.register("f", frame)
        conn.execute("CREATE TABLE marts.tier_transitions AS SELECT CAST(period_end AS DATE) AS period_end, "
                     "CAST(previous_period_end AS DATE) AS previous_period_end, la_code, from_state, to_state, "
                     "CAST(children AS BIGINT) AS children FROM f")
    if flows:  # the funnel of both authorities (a stage is one count in the two steps it is part of)
        conn.execute("""
            CREATE TABLE marts.conversion_rates AS
            SELECT DATE '2026-03-31' AS period_end, la AS la_code, a || ' to ' || b AS step, a AS from_stage,
                   b AS to_stage, DATE '2024-12-31' AS referral_window_start, DATE '2025-12-31' AS referral_window_end,
                   CAST(num AS BIGINT) AS numerator, CAST(den AS BIGINT) AS denominator, 100.0 * num / den AS rate_pct,
                   100.0 * num / den - 5 AS ci95_lower_pct, 100.0 * num / den + 5 AS ci95_upper_pct,
                   CAST([] AS VARCHAR[]) AS significantly_higher_than, CAST([] AS VARCHAR[]) AS significantly_lower_than,
                   false AS authorities_differ
            FROM (VALUES ('991', 'referral', 'assessment', 180, 200), ('991', 'assessment', 'section 47', 60, 180),
                         ('991', 'section 47', 'initial conference', 30, 60),
                         ('991', 'initial conference', 'CP plan', 27, 30), ('991', 'referral', 'CP plan', 27, 200),
                         ('992', 'referral', 'assessment', 90, 100), ('992', 'assessment', 'section 47', 30, 90),
                         ('992', 'section 47', 'initial conference', 20, 30),
                         ('992', 'initial conference', 'CP plan', 18, 20), ('992', 'referral', 'CP plan', 18, 100))
                 t(la, a, b, num, den)""")
    if gcp2:
        frame = _gcp2_frame()
        conn.register("g", frame)
        conn.execute("CREATE TABLE marts.gcp2_progress AS SELECT CAST(quarter_end AS DATE) AS quarter_end, "
                     "* EXCLUDE (quarter_end) FROM g")
    return conn


def _protected(conn, secondary: bool = True) -> tuple[pd.DataFrame, list, ProtectedRun]:
    cells = pd.DataFrame(journey_cells(conn, QUARTER), columns=["cell", "count", "shown"])
    relations = relations_for(cells["cell"], set())
    series = pd.Series(cells["count"].to_numpy(), index=pd.Index(list(cells["cell"]), tupleize_cols=False, dtype=object))
    auxiliary = [c for c, s in zip(cells["cell"], cells["shown"]) if not s]
    out = protect(series, relations, threshold=5, secondary=secondary, auxiliary=auxiliary)
    run = ProtectedRun(1, 5, cells.assign(published=list(out["published"])), new_version=True)
    return out, relations, run


def test_small_flows_are_suppressed_and_their_margins_protect_them():
    conn = _warehouse(gcp2=False)
    bare, relations, _ = _protected(conn, secondary=False)
    found = attack(bare, relations)
    assert found["recovered"].any()  # primary suppression alone: a small flow is its margin minus its row
    out, relations, _ = _protected(conn)
    small = out[(out["count"] > 0) & (out["count"] < 5)]
    assert len(small) == 3 and (small["published"] == SUPPRESSED).all()
    assert (out["published"] == SUPPRESSED).sum() > len(small)  # secondary suppression in the rows and columns
    found = attack(out, relations)
    shown = found[found["reason"] != "unpublished"]
    assert not shown["recovered"].any() and (shown["width"] >= 5).all(), shown.sort_values("width").head()
    exact = attack(out, relations, integer=True)
    assert (exact[exact["reason"] != "unpublished"]["width"] >= 5).all()


def test_flow_margins_are_the_sums_of_their_rows_and_columns():
    conn = _warehouse(gcp2=False)
    cells = dict((c, n) for c, n, _ in journey_cells(conn, QUARTER))
    for la in ("991", "992"):
        for f in FROM_STATES:
            assert cells[flow_cell(Q, la, f, "all")] == sum(cells[flow_cell(Q, la, f, t)] for t in TO_STATES
                                                           if (f, t) != ("none", "none"))
        for t in TO_STATES:
            assert cells[flow_cell(Q, la, "all", t)] == sum(cells[flow_cell(Q, la, f, t)] for f in FROM_STATES
                                                           if (f, t) != ("none", "none"))
    sums = [r for r in relations_for(list(cells), set()) if type(r).__name__ == "Sum"
            and (r.total[0] == "flow_margin" or r.parts[0][0] == "flow") and r.total[0] != "flow_entered_identified"]
    assert len(sums) == 2 * (7 + 8 + 2)  # per authority: rows, columns, the total twice
    # a tier's margin is its prevalence cell at the quarter end (the previous one for a row)
    assert flow_cell(Q, "991", "all", "tier 1") == ("children", Q, "point", "991", "all", "All children", "Tier 1")
    assert flow_cell(Q, "991", "tier 1", "all")[1] == "2025-12-31"


def test_gcp2_progress_is_protected_through_the_same_cells():
    conn = _warehouse(flows=False)
    out, relations, run = _protected(conn)
    assert run.value(gcp2_cell(Q, "991", "early help", "safety", "unchanged")) == SUPPRESSED  # 3 children
    found = attack(out, relations)
    assert not found.empty and (found["width"] >= 5).all()


def _publication(conn, run) -> Publication:
    counts = _Counts(run)
    tables = published_journeys(conn, QUARTER, counts)
    return Publication(QUARTER, AREAS, tables, {}, {}, 5, set(counts.shown))


def test_the_section_renders_from_hand_built_tables_with_counts_as_cells():
    conn = _warehouse()
    _, _, run = _protected(conn)
    pub = _publication(conn, run)
    assert set(pub.tables) >= {"journey_flows", "journey_gcp2", "journey_cohorts"}
    for la, _ in AREAS[1:]:
        chart = Charts(pub)
        text = journey_section(pub, la, chart)
        assert {f"{la}_journey_{n}" for n in ("flows", "gcp2", "conversion")} <= set(chart.figures)
        assert "View as table" in text and "suppressed" in text and GCP2_MISSING not in text
        shown = re.findall(r'data-count="([^"]*)" data-cell="([^"]*)"', text)
        assert shown and all(v == SUPPRESSED or int(v.replace(",", "")) == 0 or int(v.replace(",", "")) >= 5
                             for v, _ in shown)
        for value, key in shown:  # every count is the protected value of its cell
            assert str(run.value(cell_of_key(html.unescape(key)))) == value.replace(",", "")
    assert "not available" in text  # no cohorts, spells, conversion or profile marts here


def test_not_available_without_journey_marts_or_gcp2():
    conn = _warehouse(flows=False, gcp2=False)
    assert journey_cells(conn, QUARTER) == []
    empty = pd.DataFrame({"cell": pd.Series(dtype=object), "count": pd.Series(dtype="int64"),
                          "shown": pd.Series(dtype=bool), "published": pd.Series(dtype=object)})
    run = ProtectedRun(1, 5, empty, new_version=True)
    pub = _publication(conn, run)
    assert "journey_gcp2" not in pub.tables and pub.tables["journey_flows"].empty
    text = journey_section(pub, "991", Charts(pub))
    assert GCP2_MISSING in text and "not available" in text
    bare = Publication(QUARTER, AREAS, {}, {}, {}, 5)  # a publication made before the journey tables
    assert "not available" in journey_section(bare, "partnership", Charts(bare))


def test_a_first_year_says_no_cohort_can_be_followed_yet():
    conn = _warehouse(flows=False, gcp2=False)
    empty = pd.DataFrame({"cell": pd.Series(dtype=object), "count": pd.Series(dtype="int64"),
                          "shown": pd.Series(dtype=bool), "published": pd.Series(dtype=object)})
    pub = _publication(conn, ProtectedRun(1, 5, empty, new_version=True))
    assert pub.tables["journey_cohorts"].empty
    pub.meta["first_extract"] = pd.Timestamp(QUARTER) - pd.DateOffset(months=3)  # two quarters of extracts
    text = journey_section(pub, "991", Charts(pub))
    assert "not available yet (children are followed 4 and 8 quarters after they are first identified" in text
    assert "Flows between tiers: not available (the journey marts were not built" in text  # a quarter before: built
    pub.meta["first_extract"] = pd.Timestamp(QUARTER)  # one quarter of extracts: no flow yet either
    assert "Flows between tiers: not available yet (a flow needs the quarter end before this one" in \
        journey_section(pub, "991", Charts(pub))
    pub.meta["first_extract"] = pd.Timestamp(QUARTER) - pd.DateOffset(months=24)  # history enough: another cause
    assert "the journey marts were not built for this quarter" in journey_section(pub, "991", Charts(pub))


# ---------------------------------------------------------------------------------------------
# On the session's refresh of the default partnership
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report_text(ingested) -> str:
    path = ingested.settings.output_dir / "dashboards" / Q / f"neglect_board_report_{Q}.html"
    return path.read_text(encoding="utf-8")


def _section(text: str, la_code: str) -> str:
    start = text.index(f"id='journeys-{la_code}'")
    return text[start:text.index("</section>", start)]


def _shown(section: str) -> dict[tuple, str]:
    return {cell_of_key(html.unescape(k)): v.replace(",", "")
            for v, k in re.findall(r'data-count="([^"]*)" data-cell="([^"]*)"', section)}


def test_the_section_renders_for_every_area_without_small_counts(report_text):
    for la in ("partnership", "991", "992"):
        section = _section(report_text, la)
        assert "What happens to the children we identify" in section and "View as table" in section
        assert f'data-chart="{la}_journey_flows"' in section and f'data-chart="{la}_journey_cohorts"' in section
        # the default partnership supplies GCP2 rescoring: its progress is shown, not "not available"
        assert GCP2_MISSING not in section and f'data-chart="{la}_journey_gcp2"' in section
        values = _shown(section).values()
        assert len(values) > 100 and SUPPRESSED in values
        assert not [v for v in values if v not in (SUPPRESSED, "") and 0 < int(v) < 5]


def test_the_numbers_shown_are_the_marts(report_text, warehouse):
    for la in ("partnership", "991", "992"):
        shown = _shown(_section(report_text, la))
        flows = dict(((f, t), n) for f, t, n in warehouse.execute(
            "SELECT from_state, to_state, children FROM marts.tier_transitions WHERE period_end = ? AND la_code = ? "
            "ORDER BY ALL", [QUARTER, la]).fetchall())
        tiers = {f"tier {t}": n for t, n in warehouse.execute(  # recounted from the tier table
            "SELECT tier, count(*) FROM marts.child_neglect_tier WHERE measure = 'point' AND period_end = ? "
            "AND la_code = ? AND tier IS NOT NULL GROUP BY ALL ORDER BY ALL", [QUARTER, la]).fetchall()}
        checked = 0
        for cell, value in shown.items():
            if value == SUPPRESSED or cell[1] != Q:
                continue
            if cell[0] == "flow":
                assert int(value) == flows.get((cell[3], cell[4]), 0), cell
            elif cell[0] == "children" and cell[2] == "point" and cell[6].startswith("Tier "):  # a column margin
                assert int(value) == tiers.get(cell[6].lower(), 0), cell
            elif cell[0] == "spells" and cell[3] == "open":
                assert int(value) == sum(n for t, n in tiers.items() if t in ("tier 1", "tier 2", "tier 3", "tier 4"))
            else:
                continue
            checked += 1
        assert checked > 30
        cohort = dict(((h, o), n) for h, o, n in warehouse.execute(
            "SELECT horizon_quarters, outcome, children FROM marts.cohort_outcomes WHERE period_end = ? AND la_code = ? "
            "ORDER BY ALL", [QUARTER, la]).fetchall())
        for cell, value in shown.items():
            if cell[0] == "cohort" and cell[1] == Q and value != SUPPRESSED:
                assert int(value) == cohort[(int(cell[3]), cell[4])]


def test_published_flow_margins_add_up_where_not_suppressed(ingested):
    frame = pd.read_csv(ingested.settings.output_dir / "dashboards" / Q / "exports" / "csv" / "journey_flows.csv",
                        encoding="utf-8-sig", dtype={"children_marker": str}, keep_default_na=False)
    frame["children"] = pd.to_numeric(frame["children"], errors="coerce")
    checked = 0
    for la, area in frame.groupby("la_code"):
        grid = area[(area["from_state"] != "all") & (area["to_state"] != "all")]
        for side, other in (("from_state", "to_state"), ("to_state", "from_state")):
            for state, rows in grid.groupby(side):
                margin = area[(area[side] == state) & (area[other] == "all")]["children"].iloc[0]
                if pd.isna(margin):
                    continue
                checked += 1
                if rows["children"].notna().all():
                    assert rows["children"].sum() == margin, (la, side, state)
                else:  # hidden flows: never a single one in a row or column with its margin shown
                    assert rows["children"].isna().sum() != 1, (la, side, state)
                    assert rows["children"].sum() <= margin - rows["children"].isna().sum(), (la, side, state)
    assert checked > 20 and (frame["children_marker"] == "c").any()


def test_a_revised_flow_is_protected_by_hiding_its_revised_margin():
    """The slow two-refresh test's failure in miniature. Version 1 published a tier's row margin (10) and its two
    flows (0 and 10). Late data make the first flow 1 and the margin 11; the other flow is unchanged, so it is
    the same cell and the intruder has it. The first stage (the prevalence tables) publishes the new margin;
    the second must hide the new flow, and with every other cell around it published it used to leave it
    determined (11 - 10). Now the new margin, which only this refresh's first stage chose to publish, is hidden
    too, and both versions together leave the flow's range wide."""
    margin_1, margin_2 = (("children", "2025-06-30", "tier 3"), 10), (("children", "2025-06-30", "tier 3"), 11)
    revised_flow = flow_cell("2025-06-30", "991", "tier 3", "tier 4")
    flow_0, flow_1 = (revised_flow, 0), (revised_flow, 1)
    other = (flow_cell("2025-06-30", "991", "tier 3", "tier 3"), 10)
    counts = {margin_1: 10, margin_2: 11, flow_0: 0, flow_1: 1, other: 10}
    relations = [Sum(margin_1, [flow_0, other]), Sum(margin_2, [flow_1, other])]
    result = protect_in_two_stages(counts, relations, 5, auxiliary=set(), known={margin_1, flow_0, other},
                                   hidden_before=set())
    published = dict(zip(result["cell"], result["published"]))
    assert published[flow_1] == SUPPRESSED and published[margin_2] == SUPPRESSED
    assert published[other] == 10 and published[margin_1] == 10
    found = attack(result, relations)
    flow = found[[c == flow_1 for c in found["cell"]]].iloc[0]
    assert not flow["recovered"] and flow["width"] >= 5
