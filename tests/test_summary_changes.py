"""Page 1's "three largest changes since last quarter" (``dashboards.summary.largest_changes``) on a hand-made
trend table: the largest relative changes first, suppressed and unjudged rows left out, and a rate that was 0
left out (from 0 to 0 is no change, from 0 to a rate is no percentage; a partnership run with one authority's
files missing printed "0.0 to 0.0 per 10,000 (+nan %)" there)."""
from __future__ import annotations

from datetime import date

import pandas as pd

from dashboards.disclosure import SUPPRESSED
from dashboards.summary import changes_html, largest_changes
from dashboards.tables import Publication

Q, BEFORE = "2026-03-31", "2025-12-31"
AREAS = [("partnership", "Partnership"), ("991", "Northbrook"), ("992", "Eastmere")]


def _trend(rows) -> Publication:
    """rows: (la_code, tier_group, rate before, children before, rate now, judged change)."""
    records = []
    for la, group, before, children_before, now, change in rows:
        records.append({"period_end": BEFORE, "measure": "12_month", "la_code": la, "tier_group": group,
                        "rate_per_10k": before, "children": children_before, "change_since_previous_quarter": None})
        records.append({"period_end": Q, "measure": "12_month", "la_code": la, "tier_group": group,
                        "rate_per_10k": now, "children": 50, "change_since_previous_quarter": change})
    return Publication(date(2026, 3, 31), AREAS, {"trend": pd.DataFrame(records)}, {}, {}, 5)


def test_largest_relative_changes_first_and_zero_rates_left_out():
    pub = _trend([
        ("991", "Tier 1", 10.0, 20, 12.0, "no clear change"),        # +20 %
        ("991", "Tiers 1-4", 40.0, 80, 20.0, "lower"),               # -50 %
        ("992", "Tier 1", 0.0, 0, 0.0, "no clear change"),           # 0 to 0: no change at all
        ("992", "Tiers 1-4", 0.0, 0, 5.0, "higher"),                 # from 0: no percentage
        ("partnership", "Tiers 1-5", 30.0, SUPPRESSED, 90.0, "higher"),  # suppressed before: not shown
        ("partnership", "Tier 1", 20.0, 40, 22.0, None),             # not judged
        ("partnership", "Tiers 1-4", 50.0, 100, 55.0, "no clear change"),  # +10 %
    ])
    pairs = largest_changes(pub)
    assert list(zip(pairs["la_code"], pairs["tier_group"])) == [("991", "Tiers 1-4"), ("991", "Tier 1"),
                                                                ("partnership", "Tiers 1-4")]
    assert [round(r, 1) for r in pairs["relative"]] == [-50.0, 20.0, 10.0]
    text = changes_html(pub)
    assert "nan" not in text and "Eastmere" not in text
    assert "Northbrook, identified neglect (tiers 1-4), 12 months" in text and "(-50.0 %)" in text


def test_no_change_to_judge_says_so():
    pub = _trend([("992", "Tier 1", 0.0, 0, 0.0, "no clear change")])
    assert largest_changes(pub).empty
    assert "No change since the previous quarter can be judged" in changes_html(pub)


def test_position_table_shows_x_for_an_authority_that_supplied_nothing():
    from dashboards.summary import position_table

    rows = []
    for la, children, rate in (("partnership", 12, 5.5), ("991", 12, 5.5), ("992", "x", None)):
        for measure, group in (("point", "Tier 1"), ("12_month", "Tiers 1-4")):
            rows.append({"la_code": la, "measure": measure, "breakdown": "all", "tier_group": group,
                         "children": children, "rate_per_10k": rate, "ci95_lower": None, "ci95_upper": None,
                         "england_rate_per_10k": 22.1, "vs_england": "lower" if rate else None,
                         "research_rate_per_10k": None, "vs_research": None, "other_la_rate_per_10k": None,
                         "vs_other_la": None, "_cell_children": None})
    pub = Publication(date(2026, 3, 31), AREAS, {"prevalence": pd.DataFrame(rows)}, {}, {}, 5)
    cells = pd.read_html(__import__("io").StringIO(position_table(pub)))[0]
    assert list(cells.loc[cells["area"] == "Eastmere", "rate"]) == ["x", "x"]  # not supplied: x, not c (suppressed)
    assert list(cells.loc[cells["area"] == "Northbrook", "rate"].astype(float)) == [5.5, 5.5]


def test_the_headline_says_when_a_change_cannot_be_judged():
    from dashboards.report import change_words

    assert change_words("higher", "last quarter") == "is higher than last quarter"
    assert change_words("no significant change", "a year ago") == "shows no clear change from a year ago"
    # no figure to compare with (a first quarter, or a source missing in either): not "no clear change"
    assert change_words(None, "last quarter") == "cannot be compared with last quarter"
    assert change_words(float("nan"), "a year ago") == "cannot be compared with a year ago"
