-- marts.tier_transitions rows (after journey_states.sql): the temporary table `transition_rows`.
CREATE OR REPLACE TEMP TABLE transition_rows AS
WITH runs AS (  -- run quarters whose previous quarter is in the tier table
    SELECT * FROM journey_runs WHERE previous_end IN (SELECT period_end FROM journey_states)
),
cur AS (SELECT r.as_at, s.la_code, s.person_key, s.tier FROM runs r JOIN journey_states s ON s.period_end = r.as_at),
prev AS (SELECT r.as_at, s.la_code, s.person_key, s.tier FROM runs r JOIN journey_states s ON s.period_end = r.previous_end),
pairs AS (
    SELECT coalesce(c.as_at, p.as_at) AS as_at, coalesce(c.la_code, p.la_code) AS la_code,
           coalesce(c.person_key, p.person_key) AS person_key, p.tier AS from_tier, c.tier AS to_tier
    FROM cur c FULL OUTER JOIN prev p ON c.as_at = p.as_at AND c.la_code = p.la_code AND c.person_key = p.person_key
),
elsewhere AS (  -- children with a tier in another authority on the quarter end
    SELECT DISTINCT p.as_at, p.la_code, p.person_key
    FROM pairs p JOIN journey_states s ON s.period_end = p.as_at AND s.person_key = p.person_key
                                       AND s.la_code <> p.la_code AND s.la_code <> 'partnership'
    WHERE p.to_tier IS NULL AND p.la_code <> 'partnership'
)
SELECT p.as_at AS period_end, r.previous_end AS previous_period_end, p.la_code,
       coalesce('tier ' || p.from_tier, 'none') AS from_state,
       CASE WHEN p.to_tier IS NOT NULL THEN 'tier ' || p.to_tier
            WHEN a.birth_month IS NOT NULL AND a.birth_month + INTERVAL 18 YEAR <= p.as_at THEN 'moved away/aged out'
            WHEN e.person_key IS NOT NULL THEN 'moved away/aged out'
            ELSE 'none' END AS to_state,
       p.from_tier, p.to_tier,
       CASE WHEN p.from_tier IS NULL THEN 'entered' WHEN p.to_tier IS NULL THEN 'left'
            WHEN p.to_tier < p.from_tier THEN 'stronger' WHEN p.to_tier = p.from_tier THEN 'same'
            ELSE 'weaker' END AS direction,
       count(*) AS children
FROM pairs p
JOIN runs r USING (as_at)
LEFT JOIN staging.child_attributes a USING (person_key)
LEFT JOIN elsewhere e ON e.as_at = p.as_at AND e.la_code = p.la_code AND e.person_key = p.person_key
GROUP BY ALL;

