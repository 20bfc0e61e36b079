-- Each child's strongest neglect tier per period, measure and area, from the temporary table
-- `active_evidence` (active_evidence.sql): the temporary table `tier_rows`.
--
-- In an authority (la_code), a child's tier is the first tier of tier_definitions.yaml whose rule the
-- kinds of evidence that authority's records hold for the child meet (NULL when none does, e.g. a CP
-- plan under physical abuse alone): evidence is combined within the authority whose services
-- recorded it. In the partnership (la_code 'partnership') a child is one child, at the strongest of
-- their authorities' tiers, so a partnership tier set counts exactly the children counted in it by
-- at least one authority. An authority that supplied no file for the quarter (marts.authority_presence)
-- is left out of the partnership row. `kinds`: the evidence kinds current for the child in the period (in the
-- partnership row: all authorities'). `age_band` uses age on the quarter end (17 for a child who
-- turned 18 during a 12-month window). Ward, LSOA and deprivation decile: where the child lived on
-- the quarter end (a person-list address covering that date; else the latest record before it;
-- else the earliest after). Records that tie (the same extract date, e.g. the person list and an
-- early-help line of one quarter, or both authorities' person lists) are chosen by source (person
-- list, then early help, then adult services' household lists), then by ward, LSOA and decile, so
-- the choice never depends on the order DuckDB's threads read the rows in.
-- neglect_tier(kinds): the macro models/marts/definitions.py writes from tier_definitions.yaml.

CREATE OR REPLACE TEMP TABLE tier_rows AS
WITH by_authority AS (
    SELECT period_end, measure, la_code, person_key, list(DISTINCT kind ORDER BY kind) AS kinds, max(age) AS age
    FROM active_evidence GROUP BY ALL
),
authority_tiers AS (
    SELECT b.*, neglect_tier(b.kinds) AS tier FROM by_authority b
),
tiered AS (
    SELECT period_end, measure, la_code, person_key, kinds, age, tier FROM authority_tiers
    UNION ALL
    SELECT period_end, measure, 'partnership', person_key, list_sort(list_distinct(flatten(list(kinds)))),
           max(age), min(tier)
    FROM authority_tiers t
    WHERE NOT EXISTS (SELECT 1 FROM marts.authority_presence p
                      WHERE p.period_end = t.period_end AND p.la_code = t.la_code AND NOT p.present)
    GROUP BY period_end, measure, person_key
),
locations AS (
    SELECT w.period_end, r.person_key,
           max_by({'ward_code': r.ward_code, 'lsoa_code': r.lsoa_code, 'deprivation_decile': r.deprivation_decile},
                  address_preference(r.address_from, r.address_to, r.extract_date, r.source, r.ward_code,
                                     r.lsoa_code, r.deprivation_decile, w.period_end)) AS place
    FROM staging.child_records r
    JOIN (SELECT DISTINCT period_end FROM periods) w ON true
    WHERE r.ward_code IS NOT NULL AND r.person_key IN (SELECT person_key FROM active_evidence)
    GROUP BY ALL
)
SELECT t.period_end, t.measure, t.la_code, t.person_key, t.tier, t.kinds,
       age_band(t.age) AS age_band,
       CASE a.sex WHEN 'M' THEN 'Male' WHEN 'F' THEN 'Female' ELSE 'Not known' END AS sex,
       coalesce(a.ethnicity_group, 'Not known') AS ethnicity_group,
       coalesce(a.disability, 'Not known') AS disability,
       l.place.ward_code AS ward_code, l.place.lsoa_code AS lsoa_code,
       l.place.deprivation_decile AS deprivation_decile
FROM tiered t
LEFT JOIN staging.child_attributes a USING (person_key)
LEFT JOIN locations l USING (period_end, person_key);
