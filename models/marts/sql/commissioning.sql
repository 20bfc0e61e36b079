-- The commissioning view (models/marts/commissioning.py): who received a service on each quarter end in the
-- temporary table `periods`, and where they lived, for marts.commissioning_view. Reads staging.* (each plan,
-- episode and early-help episode once, keyed by the pseudonymised person_key) and marts.child_neglect_tier.
--
-- A child RECEIVES A SERVICE from an authority on a quarter end when, on that day, it has with that authority
--   an open early-help episode (staging.early_help_episodes: start <= day <= effective end),
--   an open children-in-need episode (staging.cin_episodes, or an Ofsted Annex A list 6 episode begun after the
--     authority's latest census return: referral/start <= day <= effective end; a child on a CP plan is a
--     child in need too, as DfE counts them), or
--   an open child protection plan (staging.cp_plans: start <= day <= effective end).
-- The effective end is the marts' (staging.sql): the recorded end, or while open the last extract the record was
-- in (the CIN census: a year after its 31 March unless a later Annex A list closes it).
-- Ward: where the child lived on the quarter end, by the rule tiers.sql uses (a person-list address covering
-- the day; else the latest record before it; else the earliest after; ties by source, then by value), so a
-- child with identified neglect is in the same ward here as in marts.child_neglect_tier. Values that are not a
-- ward of the authority: 'Not known' (no address), 'Outside the authority', 'Outside the partnership'.
--
-- service_children   period_end, la_code (an authority), person_key, early_help, child_in_need, cp_plan, ward
-- identified_served  period_end, la_code (authorities and 'partnership'), person_key, ward (the tier table's),
--                    served: identified neglect (tiers 1-4, 12 months) and receiving a service on the quarter end
--                    from the same authority (the partnership: from any of its authorities)

CREATE OR REPLACE TEMP TABLE service_children AS
WITH days AS (SELECT DISTINCT period_end FROM periods),
open_services AS (
    SELECT d.period_end, e.la_code, e.person_key, 'early_help' AS service
    FROM staging.early_help_episodes e JOIN days d
      ON e.start_date <= d.period_end AND coalesce(e.effective_end, d.period_end) >= d.period_end
    WHERE e.person_key IS NOT NULL
    UNION ALL
    SELECT d.period_end, c.la_code, c.person_key, 'child_in_need'
    FROM staging.cin_episodes c JOIN days d
      ON c.referral_date <= d.period_end AND coalesce(c.effective_end, d.period_end) >= d.period_end
    UNION ALL
    SELECT d.period_end, a.la_code, a.person_key, 'child_in_need'
    FROM staging.annex_a_cin_episodes a JOIN days d
      ON a.start_date <= d.period_end AND coalesce(a.effective_end, d.period_end) >= d.period_end
    WHERE a.start_date > coalesce(a.census_covered_to, DATE '1900-01-01')
    UNION ALL
    SELECT d.period_end, p.la_code, p.person_key, 'cp_plan'
    FROM staging.cp_plans p JOIN days d
      ON p.start_date <= d.period_end AND coalesce(p.effective_end, d.period_end) >= d.period_end
),
children AS (
    SELECT period_end, la_code, person_key,
           bool_or(service = 'early_help') AS early_help,
           bool_or(service IN ('child_in_need', 'cp_plan')) AS child_in_need,
           bool_or(service = 'cp_plan') AS cp_plan
    FROM open_services GROUP BY ALL
),
locations AS (
    SELECT w.period_end, r.person_key,
           max_by({'ward_code': r.ward_code, 'lsoa_code': r.lsoa_code, 'deprivation_decile': r.deprivation_decile},
                  address_preference(r.address_from, r.address_to, r.extract_date, r.source, r.ward_code,
                                     r.lsoa_code, r.deprivation_decile, w.period_end)).ward_code AS ward_code
    FROM staging.child_records r
    JOIN days w ON true
    WHERE r.ward_code IS NOT NULL AND r.person_key IN (SELECT person_key FROM children)
    GROUP BY ALL
),
ward_la AS (SELECT DISTINCT ward_code, la_code FROM staging.population)
SELECT c.period_end, c.la_code, c.person_key, c.early_help, c.child_in_need, c.cp_plan,
       CASE WHEN l.ward_code IS NULL THEN 'Not known'
            WHEN w.la_code IS NULL THEN 'Outside the partnership'
            WHEN w.la_code <> c.la_code THEN 'Outside the authority'
            ELSE l.ward_code END AS ward
FROM children c
LEFT JOIN locations l USING (period_end, person_key)
LEFT JOIN ward_la w ON w.ward_code = l.ward_code;

CREATE OR REPLACE TEMP TABLE identified_served AS
WITH ward_la AS (SELECT DISTINCT ward_code, la_code FROM staging.population),
identified AS (
    SELECT t.period_end, t.la_code, t.person_key,
           CASE WHEN t.ward_code IS NULL THEN 'Not known'
                WHEN w.la_code IS NULL THEN 'Outside the partnership'
                WHEN t.la_code <> 'partnership' AND w.la_code <> t.la_code THEN 'Outside the authority'
                ELSE t.ward_code END AS ward
    FROM marts.child_neglect_tier t LEFT JOIN ward_la w USING (ward_code)
    WHERE t.measure = '12_month' AND t.period_end IN (SELECT period_end FROM periods)
      AND t.tier IN (SELECT tier FROM tier_set_members WHERE tier_set = '1-4')  -- identified neglect
)
SELECT i.period_end, i.la_code, i.person_key, i.ward,
       EXISTS (SELECT 1 FROM service_children s
               WHERE s.period_end = i.period_end AND s.person_key = i.person_key
                 AND (i.la_code = 'partnership' OR s.la_code = i.la_code)) AS served
FROM identified i;
