"""The journey checks on small hand-made tier tables, where a partnership's history is short.

The cohort check (``checks.journeys.cohort_outcomes_recount``) passes on a correct mart, fails on a cohort that is
due and missing or does not add up, and passes -- saying there is no cohort to follow yet -- when the history is
shorter than a year. The flows check (``transitions_recount``) passes, saying so, on a partnership's first quarter.
Before, both failed with "no ... to check", and being blocking they held back the board report of a partnership in
its first year (cohorts) or with one quarter of extracts (flows)."""
from __future__ import annotations

from datetime import date

import duckdb
import pytest

from checks.journeys import cohort_outcomes_recount, transitions_recount

Q = [date(2025, 3, 31), date(2025, 6, 30), date(2025, 9, 30), date(2025, 12, 31), date(2026, 3, 31)]


def _warehouse(tier_rows, cohort_rows) -> duckdb.DuckDBPyConnection:
    """tier_rows: (period_end, la_code, person_key, tier); cohort_rows: (period_end, cohort_period_end,
    horizon_quarters, la_code, outcome, children, cohort_children)."""
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts")
    conn.execute("""CREATE TABLE marts.child_neglect_tier (period_end DATE, la_code VARCHAR, person_key VARCHAR,
                                                          measure VARCHAR, tier INTEGER)""")
    conn.execute("""CREATE TABLE marts.tier_transitions (period_end DATE, previous_period_end DATE, la_code VARCHAR,
                                                        from_tier INTEGER, to_tier INTEGER, children BIGINT)""")
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


def test_flows_on_a_first_quarter_pass_saying_there_is_no_flow_yet():
    conn = _warehouse([(Q[4], "991", "a", 3), (Q[4], "991", "b", 4)], [])
    outcome = transitions_recount(conn, [Q[4]])
    assert outcome.passed and "no flow to recount yet" in outcome.description, outcome.description


def test_flows_missing_where_a_quarter_before_exists_fail():
    conn = _warehouse([(Q[3], "991", "a", 3), (Q[4], "991", "a", 3)], [])
    outcome = transitions_recount(conn, [Q[4]])
    assert not outcome.passed and "no flow margins" in outcome.description
    assert not transitions_recount(_warehouse([], []), [Q[4]]).passed  # nothing in the tier table: fails as before


def test_correct_flows_pass():
    conn = _warehouse([(Q[3], "991", "a", 3), (Q[4], "991", "a", 3), (Q[4], "991", "b", 4)], [])
    conn.execute("INSERT INTO marts.tier_transitions VALUES (?, ?, '991', 3, 3, 1), (?, ?, '991', NULL, 4, 1)",
                 [Q[4], Q[3], Q[4], Q[3]])
    outcome = transitions_recount(conn, [Q[4]])
    assert outcome.passed and outcome.metadata["checked"] == 3, outcome.description
