-- marts.cohort_outcomes rows (after journey_states.sql), from marts.neglect_episodes of the run's quarters:
-- The cohort of a quarter c: children whose first spell (in the tier table's history) starts at c. Followed to
-- the run quarter q = c + 4 or c + 8 quarters, each child has one outcome at q:
--   'moved away/aged out'     aged 18 by q, or no tier here at q but a tier in another authority at q
--   'escalated to a CP plan'  tier 1-2 at q having entered at tier 3-4
--   'higher tier' / 'same tier' / 'lower tier'   identified at q, against the tier they entered at
--   'no evidence this quarter'   not identified at q but identified at q - 1 (not resolved yet)
--   'resolved'                not identified at q nor at q - 1 (no evidence for 2 quarter ends)
CREATE OR REPLACE TEMP TABLE cohort_rows AS
WITH horizons AS (SELECT unnest([4, 8]) AS horizon_quarters),
cohort AS (
    SELECT r.as_at, r.as_at_qn, r.history_qn, h.horizon_quarters, s.la_code, s.person_key, s.first_tier,
           s.first_quarter_end AS cohort_period_end, a.birth_month
    FROM marts.neglect_episodes s
    JOIN journey_runs r ON r.as_at = s.period_end
    JOIN horizons h ON 4 * year(s.first_quarter_end) + quarter(s.first_quarter_end) = r.as_at_qn - h.horizon_quarters
    LEFT JOIN staging.child_attributes a ON a.person_key = s.person_key
    WHERE s.spell_number = 1
),
followed AS (
    SELECT c.*, now.tier AS tier_now, before.tier AS tier_before,
           EXISTS (SELECT 1 FROM journey_states o WHERE o.person_key = c.person_key AND o.period_end = c.as_at
                   AND o.la_code NOT IN (c.la_code, 'partnership')) AS elsewhere
    FROM cohort c
    LEFT JOIN journey_states now ON now.person_key = c.person_key AND now.la_code = c.la_code
                                AND now.qn = c.as_at_qn AND now.tier BETWEEN 1 AND 4
    LEFT JOIN journey_states before ON before.person_key = c.person_key AND before.la_code = c.la_code
                                   AND before.qn = c.as_at_qn - 1 AND before.tier BETWEEN 1 AND 4
),
outcomes AS (
    SELECT *, CASE WHEN birth_month IS NOT NULL AND birth_month + INTERVAL 18 YEAR <= as_at THEN 'moved away/aged out'
                   WHEN tier_now IS NULL AND c_elsewhere THEN 'moved away/aged out'
                   WHEN tier_now IS NULL AND tier_before IS NOT NULL THEN 'no evidence this quarter'
                   WHEN tier_now IS NULL THEN 'resolved'
                   WHEN first_tier >= 3 AND tier_now <= 2 THEN 'escalated to a CP plan'
                   WHEN tier_now < first_tier THEN 'higher tier'
                   WHEN tier_now = first_tier THEN 'same tier'
                   ELSE 'lower tier' END AS outcome
    FROM (SELECT *, elsewhere AND la_code <> 'partnership' AS c_elsewhere FROM followed) c
),
cells AS (
    SELECT DISTINCT as_at, history_qn, horizon_quarters, la_code, cohort_period_end,
           4 * year(cohort_period_end) + quarter(cohort_period_end) AS cohort_qn
    FROM cohort
),
categories AS (
    SELECT unnest(['resolved', 'no evidence this quarter', 'lower tier', 'same tier', 'higher tier',
                   'escalated to a CP plan', 'moved away/aged out']) AS outcome
)
SELECT c.as_at AS period_end, c.cohort_period_end, c.horizon_quarters, c.la_code, k.outcome,
       count(o.person_key) AS children,
       (SELECT count(*) FROM cohort x WHERE x.as_at = c.as_at AND x.la_code = c.la_code
                                       AND x.horizon_quarters = c.horizon_quarters) AS cohort_children,
       3 * (c.cohort_qn - c.history_qn) AS history_months_before_cohort
FROM cells c CROSS JOIN categories k
LEFT JOIN outcomes o ON o.as_at = c.as_at AND o.la_code = c.la_code AND o.horizon_quarters = c.horizon_quarters
                    AND o.outcome = k.outcome
GROUP BY ALL;
