-- Children's journeys (issue 21): the temporary tables every journey mart starts from, for the quarters in the
-- temporary table `periods` (the run's quarter ends). Everything is read from marts.child_neglect_tier,
-- measure 'point' (the tier on each quarter end), per area (authority la_code, or 'partnership'), keyed by the
-- pseudonymised person_key; no identifier is read or written.
--
-- Quarters are numbered qn = 4 * year + quarter, so consecutive quarter ends differ by 1 whatever the
-- calendar. "Identified neglect" = tiers 1-4. A quarter the tier table does not hold counts as a quarter with
-- no evidence: the journey marts need every quarter from the first to the run's (neglect run and the
-- quarterly_refresh job compute them all in one run).
--
-- journey_states      every child-quarter with a tier (1-6), with qn, kinds and the birth month.
-- journey_runs        the run's quarter ends (`as_at`), their qn, the previous quarter end, and the first qn of
--                     the tier table's history (`history_qn`).
-- Then tier_transitions.sql, neglect_episodes.sql (spells: a run of quarter ends with tiers 1-4 in which no
-- two consecutive quarter ends lack them; one without evidence does not break it, two do: "resolved") and
-- cohort_outcomes.sql.

CREATE OR REPLACE TEMP TABLE journey_states AS
SELECT t.period_end, 4 * year(t.period_end) + quarter(t.period_end) AS qn, t.la_code, t.person_key, t.tier,
       t.kinds, a.birth_month
FROM marts.child_neglect_tier t
LEFT JOIN staging.child_attributes a USING (person_key)
WHERE t.measure = 'point' AND t.tier IS NOT NULL;

CREATE OR REPLACE TEMP TABLE journey_runs AS
SELECT DISTINCT period_end AS as_at, 4 * year(period_end) + quarter(period_end) AS as_at_qn,
       CAST(last_day(period_end - INTERVAL 3 MONTH) AS DATE) AS previous_end,
       (SELECT min(qn) FROM journey_states) AS history_qn
FROM periods;
