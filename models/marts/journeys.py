"""Children's journeys through neglect (issue 21): ``marts.tier_transitions``, ``marts.neglect_episodes`` and
``marts.cohort_outcomes``, all read from ``marts.child_neglect_tier`` (measure ``point``: each child's strongest
tier on a quarter end) by ``models/marts/sql/journeys.sql``. Rows are keyed by the run's quarter end
(``period_end``) and area (``la_code``: the DfE LA number, or ``partnership``); a child is its pseudonymised
``person_key`` only (no identifier is read or written). Tiers: 1 (strongest, CP plan for neglect) to 6
(at risk); "identified neglect" = tiers 1-4.

``marts.tier_transitions`` -- one row per quarter end, area, ``from_state`` (the child's tier at the previous
quarter end, ``previous_period_end``: ``tier 1`` ... ``tier 6`` or ``none``) and ``to_state`` (the tier at this
quarter end, ``none``, or ``moved away/aged out``: no tier here now and either aged 18 by the quarter end or
holding a tier in another authority of the partnership on it), with ``children`` (a count of children), the
tiers as integers (NULL for a state without one) and ``direction`` (``entered``, ``left``, ``stronger`` = a
lower tier number, ``same``, ``weaker``). Children with no tier on either quarter end are not counted (the
"none -> none" flow is the rest of the population). A quarter whose previous quarter is not in the tier table
has no rows. The flows a Sankey shows.

``marts.neglect_episodes`` -- spells of identified neglect per child and area, *as known at* each quarter end
``period_end`` (the history up to it; a later quarter may extend or close a spell, earlier rows never change).
A spell is a run of quarter ends on which the child was in tiers 1-4 where no two consecutive quarter ends
lack it: one quarter end without evidence does not break a spell; two do (resolution = no evidence for at
least 2 quarters). Columns: ``spell_number`` (1 = the child's first in the history), ``first_quarter_end`` /
``last_quarter_end`` (first and last quarter end identified), ``status`` (``open``: identified on
``period_end``; ``open, no evidence this quarter``: identified on the previous quarter end only; ``aged out``:
18 by the quarter end after the last; ``moved away``: a tier in another authority in the two quarters after
the last and none here; ``resolved``: otherwise, no evidence for 2 quarter ends), ``quarters_identified``
(quarter ends in tiers 1-4; time in neglect, in quarters), ``months_in_spell`` (3 x quarters from first to
last, inclusive; months), ``first_tier``, ``latest_tier``, ``strongest_tier``, ``services`` (the services whose
evidence was current in the spell: child protection, children in need, early help, adult services, partner
agencies), ``escalated`` (a stronger tier later in the spell than at its start), ``escalated_to_cp_plan``
(entered at tier 3-4, reached tier 1-2), ``re_entry`` (not the child's first spell), ``re_entry_within_12_months``
(this spell began at most 4 quarter ends after the previous one's last), ``previous_spell_last_quarter_end``,
``started_before_history`` (the spell starts on the first quarter of the tier table: it may have begun earlier).
Quarter ends are the unit: a spell between two quarter ends is not seen.

``marts.cohort_outcomes`` -- children first identified (their first spell in the history starts) on a quarter
end ``cohort_period_end``, followed ``horizon_quarters`` = 4 and 8 quarters to ``period_end``: one row per
outcome (``resolved``, ``no evidence this quarter``, ``lower tier``, ``same tier``, ``higher tier``,
``escalated to a CP plan``, ``moved away/aged out``; see journeys.sql) with ``children``, ``cohort_children``
and ``share_pct`` (percent) with Wilson score intervals at 95 % and 99.8 % (percent,
:func:`models.intervals.wilson_interval`), ``history_months_before_cohort`` (months of tier history before the
cohort quarter: with under 12, "first identified" may include children identified before the history began;
``history_complete`` says whether there were 12).
"""
from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from .evidence import read_sql, register_periods, replace_period_frame, replace_period_rows
from .practice_indicators import with_proportion_intervals

TRANSITION_COLUMNS = """
    period_end DATE NOT NULL, previous_period_end DATE NOT NULL, la_code VARCHAR NOT NULL, from_state VARCHAR NOT NULL,
    to_state VARCHAR NOT NULL, from_tier INTEGER, to_tier INTEGER, direction VARCHAR NOT NULL, children BIGINT NOT NULL"""
EPISODE_COLUMNS = """
    period_end DATE NOT NULL, la_code VARCHAR NOT NULL, person_key VARCHAR NOT NULL, spell_number BIGINT NOT NULL,
    first_quarter_end DATE NOT NULL, last_quarter_end DATE NOT NULL, status VARCHAR NOT NULL,
    quarters_identified BIGINT NOT NULL, months_in_spell BIGINT NOT NULL, first_tier INTEGER NOT NULL,
    latest_tier INTEGER NOT NULL, strongest_tier INTEGER NOT NULL, services VARCHAR[], escalated BOOLEAN NOT NULL,
    escalated_to_cp_plan BOOLEAN NOT NULL, re_entry BOOLEAN NOT NULL, previous_spell_last_quarter_end DATE,
    re_entry_within_12_months BOOLEAN NOT NULL, started_before_history BOOLEAN NOT NULL"""
COHORT_COLUMNS = """
    period_end DATE NOT NULL, cohort_period_end DATE NOT NULL, horizon_quarters INTEGER NOT NULL,
    la_code VARCHAR NOT NULL, outcome VARCHAR NOT NULL, children BIGINT NOT NULL, cohort_children BIGINT NOT NULL,
    share_pct DOUBLE, ci95_lower_pct DOUBLE, ci95_upper_pct DOUBLE, ci998_lower_pct DOUBLE, ci998_upper_pct DOUBLE,
    history_months_before_cohort BIGINT NOT NULL, history_complete BOOLEAN NOT NULL"""
COHORT_OUTCOMES = ("resolved", "no evidence this quarter", "lower tier", "same tier", "higher tier",
                   "escalated to a CP plan", "moved away/aged out")


def _prepare(conn: duckdb.DuckDBPyConnection, period_ends: list[date]) -> None:
    register_periods(conn, period_ends)
    conn.execute(read_sql("journey_states.sql"))


def build_tier_transitions(conn: duckdb.DuckDBPyConnection, period_ends: list[date]) -> int:
    """Replace the rows of ``marts.tier_transitions`` for ``period_ends``; returns the rows written."""
    _prepare(conn, period_ends)
    conn.execute(read_sql("tier_transitions.sql"))
    replace_period_rows(conn, "marts.tier_transitions", TRANSITION_COLUMNS,
                        "SELECT * FROM transition_rows ORDER BY period_end, la_code, from_state, to_state")
    return conn.execute("SELECT count(*) FROM transition_rows").fetchall()[0][0]


def build_neglect_episodes(conn: duckdb.DuckDBPyConnection, period_ends: list[date]) -> int:
    """Replace the rows of ``marts.neglect_episodes`` for ``period_ends``; returns the rows written."""
    _prepare(conn, period_ends)
    conn.execute(read_sql("neglect_episodes.sql"))
    replace_period_rows(conn, "marts.neglect_episodes", EPISODE_COLUMNS,
                        "SELECT * FROM episode_rows ORDER BY period_end, la_code, person_key, spell_number")
    return conn.execute("SELECT count(*) FROM episode_rows").fetchall()[0][0]


def build_cohort_outcomes(conn: duckdb.DuckDBPyConnection, period_ends: list[date]) -> pd.DataFrame:
    """Replace the rows of ``marts.cohort_outcomes`` for ``period_ends`` (from ``marts.neglect_episodes`` of the
    same quarters, built first); returns them."""
    _prepare(conn, period_ends)
    conn.execute(read_sql("cohort_outcomes.sql"))
    cohorts = cohort_intervals(conn.sql("SELECT * FROM cohort_rows").df())
    replace_period_frame(conn, "marts.cohort_outcomes", COHORT_COLUMNS, cohorts)
    return cohorts


def cohort_intervals(frame: pd.DataFrame) -> pd.DataFrame:
    """Shares (percent) of each cohort with Wilson 95 % / 99.8 % intervals; ``history_complete`` (12 months)."""
    shares = with_proportion_intervals(frame.assign(numerator=frame["children"], denominator=frame["cohort_children"]))
    shares = shares.rename(columns={"rate_pct": "share_pct"}).drop(columns=["numerator", "denominator"])
    order = {name: i for i, name in enumerate(COHORT_OUTCOMES)}
    shares = shares.assign(history_complete=shares["history_months_before_cohort"] >= 12,
                           _order=shares["outcome"].map(order))
    return shares.sort_values(["period_end", "la_code", "horizon_quarters", "_order"]).drop(columns="_order") \
        .reset_index(drop=True)
