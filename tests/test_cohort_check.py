"""The cohort check (``checks.journeys.cohort_outcomes_recount``) on small hand-made tier tables: it passes on a
correct mart, fails on a cohort that is due and missing or does not add up, and passes -- saying there is no
cohort to follow yet -- when the partnership's history is shorter than a year (a real partnership's first run:
before, the board report was blocked by "no cohorts followed to check")."""
from __future__ import annotations

from datetime import date

import duckdb
import pytest

from checks.journeys import cohort_outcomes_recount

Q = [date(2025, 3, 31), date(2025, 6, 30), date(2025, 9, 30), date(2025, 12, 31), date(2026, 3, 31)]


def _warehouse(tier_rows, cohort_rows) -> duckdb.DuckDBPyConnection:
    """tier_rows: (period_end, la_code, person_key, tier); cohort_rows: (period_end, cohort_period_end,
    horizon_quarters, la_code, outcome, children, cohort_children)."""
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts")
    conn.execute("""CREATE TABLE marts.child_neglect_tier (period_end DATE, la_code VARCHAR, person_key VARCHAR,
                                                          measure VARCHAR, tier INTEGER)""")
    conn.execute("""CREATE TABLE marts.cohort_outcomes (period_end DATE, cohort_period_end DATE,
                    horizon_quarters INTEGER, la_code VARCHAR, outcome VARCHAR, children BIGINT,
                    cohort_children BIGINT)""")
    for day, la, person, tier in tier_rows:
        conn.execute("INSERT INTO marts.child_neglect_tier VALUES (?, ?, ?, 'point', ?)", [day, la, person, tier])
    for row in cohort_rows:
        conn.execute("INSERT INTO marts.cohort_outcomes VALUES (?, ?, ?, ?, ?, ?, ?)", list(row))
    return conn


def test_short_history_passes_saying_there_is_no_cohort_yet():
    conn = _warehouse([(Q[3], "991", "a", 3), (Q[4], "991", "a", 3), (Q[4], "991", "b", 4)], [])
    outcome = cohort_outcomes_recount(conn, [Q[3], Q[4]])
    assert outcome.passed, outcome.description
    assert "no cohort to follow yet" in outcome.description and "31 December 2025" in outcome.description


def test_a_cohort_due_and_missing_fails():
    # child a first identified on 31 March 2025: four quarters on (31 March 2026) its cohort must be followed
    conn = _warehouse([(Q[0], "991", "a", 3), (Q[4], "991", "b", 4)], [])
    outcome = cohort_outcomes_recount(conn, [Q[4]])
    assert not outcome.passed
    assert outcome.metadata["wrong"] == 1 and outcome.metadata["examples"] == ["2025-03-31 +4 991"]


def test_a_correct_cohort_passes_and_a_wrong_one_fails():
    tiers = [(Q[0], "991", "a", 3), (Q[0], "991", "c", 4), (Q[4], "991", "a", 3)]
    right = [(Q[4], Q[0], 4, "991", "same tier", 1, 2), (Q[4], Q[0], 4, "991", "resolved", 1, 2)]
    outcome = cohort_outcomes_recount(_warehouse(tiers, right), [Q[4]])
    assert outcome.passed and outcome.metadata == {"checked": 1, "wrong": 0, "examples": []}
    short = [(Q[4], Q[0], 4, "991", "same tier", 1, 2)]  # outcomes add up to 1 of a cohort of 2
    assert not cohort_outcomes_recount(_warehouse(tiers, short), [Q[4]]).passed


@pytest.mark.parametrize("tiers", [[], [(Q[0], "991", "a", 6)]])
def test_nothing_identified_in_these_quarters_still_fails(tiers):
    # an empty tier table (or no child in tiers 1-4) is not "too little history": the check fails as before
    outcome = cohort_outcomes_recount(_warehouse(tiers, []), [Q[3], Q[4]])
    assert not outcome.passed and "no cohorts followed to check" in outcome.description
