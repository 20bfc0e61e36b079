-- Children per tier set, area and breakdown value, with the population they are counted against,
-- for the periods in the temporary table `periods`. Input: marts.child_neglect_tier, staging.population,
-- the temporary table `tier_set_members` (tier_set, tier). Output: the temporary table `prevalence_counts`.
--
-- Population: ONS mid-year estimate of children 0-17 for the latest mid-year (30 June) on or before
-- the quarter end (the earliest mid-year for quarters before it); `population_note` says so aloud when
-- that is not the mid-year the quarter needs (e.g. no mid-2025 file). The partnership's population is
-- that of the authorities present in the quarter (marts.authority_presence): an authority that supplied
-- nothing for a quarter is left out of the partnership's numerator (tiers.sql) and its population. Breakdowns with a population:
-- all, age_band, sex, ward (ONS ward estimates); deprivation_decile (ONS LSOA estimates, staging.population_lsoa,
-- summed over the area's LSOAs of each IMD decile) and ethnicity_group (modelled: the Census 2021 ethnic mix of each
-- LSOA, or ward, staging.ethnic_shares, applied to its ONS estimate of children, rounded to whole children) when
-- those optional files were supplied; their mid-year is chosen in the same way from the LSOA file's mid-years, and
-- population_note says how the denominator was made. Disability has no population (counts only), nor has 'Not
-- known'. Values that are not a place in the area: 'Not known' (no address), 'Outside the authority' /
-- 'Outside the partnership'. As for age and sex, a child is counted by the authority that holds their evidence
-- wherever they live, and the population is of the children living in the area.
-- Every breakdown value with a population appears, with children = 0 where no child is counted.

CREATE OR REPLACE TEMP TABLE prevalence_counts AS
WITH ward_la AS (SELECT DISTINCT ward_code, ward_name, la_code FROM staging.population),
children AS (
    SELECT t.period_end, t.measure, t.la_code, t.tier, t.age_band, t.sex, t.ethnicity_group, t.disability,
           coalesce(CAST(t.deprivation_decile AS VARCHAR), 'Not known') AS deprivation_decile,
           CASE WHEN t.ward_code IS NULL THEN 'Not known'
                WHEN w.la_code IS NULL THEN 'Outside the partnership'
                WHEN t.la_code <> 'partnership' AND w.la_code <> t.la_code THEN 'Outside the authority'
                ELSE t.ward_code END AS ward
    FROM marts.child_neglect_tier t LEFT JOIN ward_la w USING (ward_code)
    WHERE t.period_end IN (SELECT period_end FROM periods)
),
child_values AS (
    SELECT period_end, measure, la_code, tier, 'all' AS breakdown, 'All children' AS breakdown_value FROM children
    UNION ALL SELECT period_end, measure, la_code, tier, 'age_band', age_band FROM children
    UNION ALL SELECT period_end, measure, la_code, tier, 'sex', sex FROM children
    UNION ALL SELECT period_end, measure, la_code, tier, 'ethnicity_group', ethnicity_group FROM children
    UNION ALL SELECT period_end, measure, la_code, tier, 'disability', disability FROM children
    UNION ALL SELECT period_end, measure, la_code, tier, 'ward', ward FROM children
    UNION ALL SELECT period_end, measure, la_code, tier, 'deprivation_decile', deprivation_decile FROM children
),
counts AS (
    SELECT period_end, measure, la_code, tier_set, breakdown, breakdown_value, count(*) AS children
    FROM child_values JOIN tier_set_members USING (tier)
    GROUP BY ALL
),
quarter_ends AS (SELECT DISTINCT period_end FROM periods),
population_year AS (
    SELECT q.period_end,
           coalesce(max(y.mid_year) FILTER (WHERE make_date(y.mid_year, 6, 30) <= q.period_end), min(y.mid_year))
               AS mid_year
    FROM quarter_ends q CROSS JOIN (SELECT DISTINCT mid_year FROM staging.population) y
    GROUP BY q.period_end
),
people AS (
    SELECT y.period_end, y.mid_year, p.la_code, p.ward_code, p.sex, p.age, p.population
    FROM staging.population p JOIN population_year y USING (mid_year)
    UNION ALL
    SELECT y.period_end, y.mid_year, 'partnership', p.ward_code, p.sex, p.age, p.population
    FROM staging.population p JOIN population_year y USING (mid_year)
    WHERE NOT EXISTS (SELECT 1 FROM marts.authority_presence a
                      WHERE a.period_end = y.period_end AND a.la_code = p.la_code AND NOT a.present)
),
lsoa_year AS (
    SELECT q.period_end,
           coalesce(max(y.mid_year) FILTER (WHERE make_date(y.mid_year, 6, 30) <= q.period_end), min(y.mid_year))
               AS mid_year
    FROM quarter_ends q CROSS JOIN (SELECT DISTINCT mid_year FROM staging.population_lsoa) y
    GROUP BY q.period_end
),
lsoa_people AS (
    SELECT y.period_end, y.mid_year, p.la_code, p.lsoa_code, p.imd_decile, p.population
    FROM staging.population_lsoa p JOIN lsoa_year y USING (mid_year)
    UNION ALL
    SELECT y.period_end, y.mid_year, 'partnership', p.lsoa_code, p.imd_decile, p.population
    FROM staging.population_lsoa p JOIN lsoa_year y USING (mid_year)
    WHERE NOT EXISTS (SELECT 1 FROM marts.authority_presence a
                      WHERE a.period_end = y.period_end AND a.la_code = p.la_code AND NOT a.present)
),
-- the ethnic mix by LSOA when the Census file has LSOAs (with the LSOA population), else by ward
ethnic_basis AS (
    SELECT CASE WHEN EXISTS (SELECT 1 FROM staging.ethnic_shares s JOIN staging.population_lsoa p
                                        ON p.lsoa_code = s.area_code) THEN 'lsoa' ELSE 'ward' END AS basis
),
ethnic_people AS (
    SELECT p.period_end, p.mid_year, p.la_code, s.ethnicity_group, s.age_basis, p.population * s.share AS modelled
    FROM lsoa_people p JOIN staging.ethnic_shares s ON s.area_code = p.lsoa_code
    WHERE (SELECT basis FROM ethnic_basis) = 'lsoa'
    UNION ALL
    SELECT p.period_end, p.mid_year, p.la_code, s.ethnicity_group, s.age_basis, p.population * s.share
    FROM people p JOIN staging.ethnic_shares s ON s.area_code = p.ward_code
    WHERE (SELECT basis FROM ethnic_basis) = 'ward'
),
population AS (
    SELECT period_end, mid_year, la_code, 'all' AS breakdown, 'All children' AS breakdown_value,
           sum(population) AS population, NULL::VARCHAR AS note
    FROM people GROUP BY ALL
    UNION ALL
    SELECT period_end, mid_year, la_code, 'age_band',
           age_band(age),
           sum(population), NULL
    FROM people GROUP BY ALL
    UNION ALL
    SELECT period_end, mid_year, la_code, 'sex', CASE sex WHEN 'M' THEN 'Male' ELSE 'Female' END, sum(population), NULL
    FROM people GROUP BY ALL
    UNION ALL
    SELECT period_end, mid_year, la_code, 'ward', ward_code, sum(population), NULL
    FROM people GROUP BY ALL
    UNION ALL
    SELECT period_end, mid_year, la_code, 'deprivation_decile', CAST(imd_decile AS VARCHAR), sum(population),
           'population: ONS mid-' || mid_year || ' estimates of children aged 0-17 in the LSOAs of this IMD decile'
    FROM lsoa_people WHERE imd_decile IS NOT NULL GROUP BY ALL
    UNION ALL
    SELECT period_end, mid_year, la_code, 'ethnicity_group', ethnicity_group, round(sum(modelled)),
           'population modelled: the Census 2021 ethnic mix of ' || max(age_basis) || ' in each '
           || (SELECT CASE basis WHEN 'lsoa' THEN 'LSOA' ELSE 'ward' END FROM ethnic_basis)
           || ' applied to the ONS mid-' || mid_year || ' estimate of children aged 0-17 there (no Census table gives '
           || 'ethnic group for ages 0-17 by small area)'
    FROM ethnic_people GROUP BY period_end, mid_year, la_code, ethnicity_group HAVING round(sum(modelled)) > 0
),
areas AS (SELECT DISTINCT la_code FROM people),
fixed_values(breakdown, breakdown_value) AS (
    SELECT 'ethnicity_group', unnest(ethnicity_groups())
    UNION ALL SELECT 'disability', unnest(['Disabled', 'Not disabled', 'Not known'])
    UNION ALL SELECT 'deprivation_decile', CAST(unnest(range(1, 11)) AS VARCHAR)
),
value_domain AS (
    SELECT period_end, la_code, breakdown, breakdown_value FROM population
    UNION SELECT period_end, la_code, breakdown, breakdown_value FROM counts
    UNION SELECT q.period_end, a.la_code, f.breakdown, f.breakdown_value FROM quarter_ends q, areas a, fixed_values f
),
grid AS (
    SELECT d.*, m.measure, s.tier_set
    FROM value_domain d
    CROSS JOIN (SELECT DISTINCT measure FROM periods) m
    CROSS JOIN (SELECT DISTINCT tier_set FROM tier_set_members) s
)
SELECT g.period_end, g.measure, g.tier_set, g.la_code, g.breakdown, g.breakdown_value,
       CASE WHEN g.breakdown = 'ward' THEN coalesce(w.ward_name, g.breakdown_value) ELSE g.breakdown_value END
           AS breakdown_label,
       coalesce(c.children, 0) AS children, p.population, coalesce(p.mid_year, y.mid_year) AS population_mid_year,
       CASE WHEN p.note IS NOT NULL THEN p.note
            WHEN y.mid_year <> year(g.period_end) - CASE WHEN month(g.period_end) < 6 THEN 1 ELSE 0 END
            THEN 'population: mid-' || y.mid_year || ' estimate used; there is no mid-'
                 || (year(g.period_end) - CASE WHEN month(g.period_end) < 6 THEN 1 ELSE 0 END)
                 || ' population file in reference/population/' END AS population_note
FROM grid g
JOIN population_year y USING (period_end)
LEFT JOIN counts c USING (period_end, measure, la_code, tier_set, breakdown, breakdown_value)
LEFT JOIN population p USING (period_end, la_code, breakdown, breakdown_value)
LEFT JOIN ward_la w ON g.breakdown = 'ward' AND w.ward_code = g.breakdown_value;
