-- Practice indicators: for each quarter end in `periods` and each authority (plus 'partnership'),
-- one row per indicator with its numerator and denominator. Definitions: models/marts/practice_indicators.py.
--
-- Every indicator counts UNITS (plans, referrals, closures, assessments, early-help episodes). A unit
-- belongs to the authority whose record it is; in the partnership total a unit is identified by
-- person_key and its start date (plan start, referral date, assessment start, early-help start), so
-- the same plan or episode recorded by both authorities counts once, while two different plans of
-- one child count twice. Look-backs for earlier plans / referrals and the step-up follow-up use the
-- child's records in ANY authority.
--
-- Windows: q = quarter end; "the 12 months to q" = (q - 1 year, q] (both ends as dates).
-- Needs: staging.cp_plans, staging.cin_episodes, staging.cin_assessments, staging.early_help_episodes,
-- temp tables `periods` (period_end) and `bank_holidays` (holiday_date DATE).
-- Writes the temp table `practice_indicator_counts`.

CREATE OR REPLACE TEMP TABLE practice_indicator_counts AS
WITH quarters AS (
    SELECT DISTINCT period_end AS q,
           CAST(period_end - INTERVAL 1 YEAR AS DATE) AS y1,   -- window is (y1, q]
           CAST(period_end - INTERVAL 2 YEAR AS DATE) AS y2    -- 2-year mark; step-up window is (y2, y1]
    FROM periods
),
authorities AS (
    SELECT la_code FROM staging.cp_plans
    UNION SELECT la_code FROM staging.cin_episodes
    UNION SELECT la_code FROM staging.cin_assessments
    UNION SELECT la_code FROM staging.early_help_episodes
),
indicators(indicator, sort_order) AS (
    VALUES ('cp_plans_2_years_plus', 1), ('cp_second_or_subsequent', 2), ('cp_within_2_years_of_previous', 3),
           ('re_referrals_12_months', 4), ('step_up_within_12_months', 5), ('step_down_rc9', 6),
           ('assessments_within_45_working_days', 7)
),

-- Each plan with what is known of the child's earlier plans (any authority): how many distinct
-- earlier start dates, and whether one of them was still open on or after the date two years
-- before this plan started (ended within 2 years before it, or still open when it started).
plan_history AS (
    SELECT p.person_key, p.la_code, p.start_date, p.effective_end, p.previous_plans,
           count(DISTINCT e.start_date) AS earlier_plans,
           coalesce(bool_or(e.start_date IS NOT NULL
                            AND (e.effective_end IS NULL
                                 OR e.effective_end >= CAST(p.start_date - INTERVAL 2 YEAR AS DATE))), false)
               AS recent_earlier_plan
    FROM staging.cp_plans p
    LEFT JOIN staging.cp_plans e ON e.person_key = p.person_key AND e.start_date < p.start_date
    WHERE p.start_date IS NOT NULL
    GROUP BY p.person_key, p.la_code, p.start_date, p.effective_end, p.previous_plans
),

-- Each CIN referral with whether the child had another referral (any authority) in the 12 calendar
-- months before it: previous referral date in [referral - 12 months, referral).
referral_history AS (
    SELECT r.person_key, r.la_code, r.referral_date,
           coalesce(bool_or(e.referral_date IS NOT NULL), false) AS re_referral
    FROM staging.cin_episodes r
    LEFT JOIN staging.cin_episodes e
           ON e.person_key = r.person_key AND e.referral_date < r.referral_date
          AND e.referral_date >= CAST(r.referral_date - INTERVAL 12 MONTH AS DATE)
    WHERE r.referral_date IS NOT NULL
    GROUP BY r.person_key, r.la_code, r.referral_date
),

-- Each early-help episode with whether the child was referred to children's social care (a CIN
-- referral, any authority) on or after its start and within 12 calendar months of it.
early_help_follow_up AS (
    SELECT h.person_key, h.la_code, h.episode_pseudonym, h.start_date,
           coalesce(bool_or(c.referral_date IS NOT NULL), false) AS stepped_up
    FROM staging.early_help_episodes h
    LEFT JOIN staging.cin_episodes c
           ON c.person_key = h.person_key AND c.referral_date >= h.start_date
          AND c.referral_date <= CAST(h.start_date + INTERVAL 12 MONTH AS DATE)
    WHERE h.start_date IS NOT NULL AND h.person_key IS NOT NULL
    GROUP BY h.person_key, h.la_code, h.episode_pseudonym, h.start_date
),

-- Working-day calendar: working_index counts Monday-Friday days that are not bank holidays, up to
-- and including the day, so working days in (start, end] = index(end) - index(start).
calendar_bounds AS (
    SELECT least(min(start_date), min(authorisation_date)) AS first_day,
           greatest(max(start_date), max(authorisation_date)) AS last_day
    FROM staging.cin_assessments
),
calendar AS (
    SELECT d.day,
           sum(CASE WHEN isodow(d.day) <= 5 AND h.holiday_date IS NULL THEN 1 ELSE 0 END)
               OVER (ORDER BY d.day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS working_index
    FROM (SELECT CAST(unnest(generate_series(first_day, last_day, INTERVAL 1 DAY)) AS DATE) AS day
          FROM calendar_bounds WHERE first_day IS NOT NULL) d
    LEFT JOIN (SELECT DISTINCT holiday_date FROM bank_holidays) h ON h.holiday_date = d.day
),
holiday_coverage AS (   -- whole calendar years the bank-holiday list covers
    SELECT make_date(year(min(holiday_date)), 1, 1) AS first_day,
           make_date(year(max(holiday_date)), 12, 31) AS last_day
    FROM bank_holidays
),
assessment_times AS (
    SELECT a.person_key, a.la_code, a.start_date, a.authorisation_date,
           ce.working_index - cs.working_index AS working_days,
           a.start_date < hc.first_day OR a.authorisation_date > hc.last_day OR hc.first_day IS NULL
               AS outside_holiday_list
    FROM staging.cin_assessments a
    JOIN calendar cs ON cs.day = a.start_date
    JOIN calendar ce ON ce.day = a.authorisation_date
    CROSS JOIN holiday_coverage hc
    WHERE a.start_date IS NOT NULL AND a.authorisation_date IS NOT NULL
),

-- One row per unit in an indicator's denominator, with `hit` = in the numerator too.
units AS (
    -- CP plans open at q (started on or before q, not ended before q); hit: started on or before q - 2 years
    SELECT x.q AS period_end, 'cp_plans_2_years_plus' AS indicator, p.la_code,
           p.person_key || '|' || CAST(p.start_date AS VARCHAR) AS unit, p.start_date <= x.y2 AS hit
    FROM quarters x JOIN staging.cp_plans p
      ON p.start_date <= x.q AND (p.effective_end IS NULL OR p.effective_end >= x.q)
    UNION ALL
    -- CP plans starting in (y1, q]; hit: a previous plan (recorded number or earlier plan seen)
    SELECT x.q, 'cp_second_or_subsequent', p.la_code, p.person_key || '|' || CAST(p.start_date AS VARCHAR),
           greatest(coalesce(p.previous_plans, 0), p.earlier_plans) > 0
    FROM quarters x JOIN plan_history p ON p.start_date > x.y1 AND p.start_date <= x.q
    UNION ALL
    -- CP plans starting in (y1, q]; hit: within 2 years of the end of an earlier plan
    SELECT x.q, 'cp_within_2_years_of_previous', p.la_code, p.person_key || '|' || CAST(p.start_date AS VARCHAR),
           p.recent_earlier_plan
    FROM quarters x JOIN plan_history p ON p.start_date > x.y1 AND p.start_date <= x.q
    UNION ALL
    -- CIN referrals in (y1, q]; hit: another referral of the child in the 12 months before
    SELECT x.q, 're_referrals_12_months', r.la_code, r.person_key || '|' || CAST(r.referral_date AS VARCHAR),
           r.re_referral
    FROM quarters x JOIN referral_history r ON r.referral_date > x.y1 AND r.referral_date <= x.q
    UNION ALL
    -- early-help episodes starting in (y2, y1]; hit: a CIN referral within 12 months of the start
    SELECT x.q, 'step_up_within_12_months', h.la_code, h.person_key || '|' || CAST(h.start_date AS VARCHAR),
           h.stepped_up
    FROM quarters x JOIN early_help_follow_up h ON h.start_date > x.y2 AND h.start_date <= x.y1
    UNION ALL
    -- CIN episodes with a recorded closure in (y1, q]; hit: reason RC9
    SELECT x.q, 'step_down_rc9', c.la_code, c.person_key || '|' || CAST(c.referral_date AS VARCHAR),
           coalesce(c.reason_for_closure = 'RC9', false)
    FROM quarters x JOIN staging.cin_episodes c ON c.closure_date > x.y1 AND c.closure_date <= x.q
    UNION ALL
    -- CIN assessments authorised in (y1, q], not before they started; hit: within 45 working days
    SELECT x.q, 'assessments_within_45_working_days', a.la_code,
           a.person_key || '|' || CAST(a.start_date AS VARCHAR), a.working_days <= 45
    FROM quarters x JOIN assessment_times a
      ON a.authorisation_date > x.y1 AND a.authorisation_date <= x.q AND a.working_days >= 0
),
counts AS (
    SELECT period_end, indicator, la_code, count(DISTINCT unit) AS denominator,
           count(DISTINCT unit) FILTER (WHERE hit) AS numerator
    FROM units GROUP BY period_end, indicator, la_code
    UNION ALL
    SELECT period_end, indicator, 'partnership', count(DISTINCT unit), count(DISTINCT unit) FILTER (WHERE hit)
    FROM units GROUP BY period_end, indicator
),

-- Assessment data problems in each window, for the note.
assessment_problems AS (
    SELECT x.q AS period_end, a.la_code,
           count(*) FILTER (WHERE a.working_days < 0) AS authorised_before_start,
           count(*) FILTER (WHERE a.outside_holiday_list) AS outside_holiday_list
    FROM quarters x JOIN assessment_times a ON a.authorisation_date > x.y1 AND a.authorisation_date <= x.q
    GROUP BY ALL
),
assessment_problems_all AS (
    SELECT * FROM assessment_problems
    UNION ALL
    SELECT period_end, 'partnership', sum(authorised_before_start), sum(outside_holiday_list)
    FROM assessment_problems GROUP BY period_end
),

-- Source coverage per authority: the latest extract (max last_seen) and the first day the extracts
-- cover (CIN census: the year to its first census date; quarterly lists: the quarter to the first list).
source_coverage AS (
    SELECT 'cin' AS source, la_code, max(last_seen) AS latest,
           CAST(min(last_seen) + INTERVAL 1 DAY - INTERVAL 1 YEAR AS DATE) AS covered_from
    FROM staging.cin_episodes GROUP BY la_code
    UNION ALL
    SELECT 'cp', la_code, max(last_seen), CAST(min(last_seen) + INTERVAL 1 DAY - INTERVAL 3 MONTH AS DATE)
    FROM staging.cp_plans GROUP BY la_code
    UNION ALL
    SELECT 'eh', la_code, max(last_seen), CAST(min(last_seen) + INTERVAL 1 DAY - INTERVAL 3 MONTH AS DATE)
    FROM staging.early_help_episodes GROUP BY la_code
),
-- ... and for the partnership: complete only as far as every authority is (NULL if one has none).
coverage AS (
    SELECT s.source, a.la_code, c.latest, c.covered_from
    FROM (VALUES ('cin'), ('cp'), ('eh')) s(source) CROSS JOIN authorities a
    LEFT JOIN source_coverage c ON c.source = s.source AND c.la_code = a.la_code
    UNION ALL
    SELECT s.source, 'partnership',
           CASE WHEN count(c.latest) = count(*) THEN min(c.latest) END,
           max(c.covered_from)
    FROM (VALUES ('cin'), ('cp'), ('eh')) s(source) CROSS JOIN authorities a
    LEFT JOIN source_coverage c ON c.source = s.source AND c.la_code = a.la_code
    GROUP BY s.source
),

-- What each indicator needs: its main source through `needed_through`, history from `needed_from`;
-- step-up also needs the early-help extracts through the end of its start window.
needs AS (
    SELECT x.q AS period_end, i.indicator, i.sort_order,
           CASE WHEN i.indicator LIKE 'cp_%' THEN 'cp' ELSE 'cin' END AS source,
           x.q AS needed_through,
           CASE i.indicator
               WHEN 'cp_plans_2_years_plus' THEN NULL
               WHEN 'cp_within_2_years_of_previous' THEN CAST(x.y1 - INTERVAL 2 YEAR + INTERVAL 1 DAY AS DATE)
               WHEN 're_referrals_12_months' THEN CAST(x.y1 - INTERVAL 12 MONTH + INTERVAL 1 DAY AS DATE)
               WHEN 'step_up_within_12_months' THEN CAST(x.y2 + INTERVAL 1 DAY AS DATE)
               ELSE CAST(x.y1 + INTERVAL 1 DAY AS DATE)
           END AS needed_from,
           CASE WHEN i.indicator = 'step_up_within_12_months' THEN x.y1 END AS eh_needed_through,
           CASE WHEN i.indicator = 'step_up_within_12_months' THEN CAST(x.y2 + INTERVAL 1 DAY AS DATE) END
               AS eh_needed_from
    FROM quarters x CROSS JOIN indicators i
),
grid AS (
    SELECT n.*, a.la_code
    FROM needs n CROSS JOIN (SELECT la_code FROM authorities UNION ALL SELECT 'partnership') a
)
SELECT g.period_end, g.la_code, g.indicator, g.sort_order,
       coalesce(c.numerator, 0) AS numerator, coalesce(c.denominator, 0) AS denominator,
       coalesce(m.latest >= g.needed_through, false)
           AND (g.eh_needed_through IS NULL OR coalesce(e.latest >= g.eh_needed_through, false)) AS data_complete,
       m.latest AS source_latest_extract,
       nullif(concat_ws('; ',
           CASE WHEN coalesce(c.denominator, 0) = 0 THEN 'Denominator is 0: no rate' END,
           CASE WHEN m.latest IS NULL THEN upper(g.source) || ' data: none for this area'
                WHEN m.latest < g.needed_through
                THEN CASE g.source WHEN 'cin' THEN 'CIN census' ELSE 'CP data' END
                     || ' reaches only ' || strftime(m.latest, '%Y-%m-%d') || ', the indicator needs it to '
                     || strftime(g.needed_through, '%Y-%m-%d') END,
           CASE WHEN g.eh_needed_through IS NOT NULL AND e.latest IS NULL THEN 'Early-help data: none for this area'
                WHEN e.latest < g.eh_needed_through
                THEN 'Early-help extracts reach only ' || strftime(e.latest, '%Y-%m-%d') || ', the start window ends '
                     || strftime(g.eh_needed_through, '%Y-%m-%d') END,
           CASE WHEN m.covered_from > g.needed_from
                THEN 'Records before ' || strftime(m.covered_from, '%Y-%m-%d')
                     || ' are not in the extracts (needed from ' || strftime(g.needed_from, '%Y-%m-%d')
                     || '): counts may be low' END,
           CASE WHEN e.covered_from > g.eh_needed_from
                THEN 'Early-help episodes before ' || strftime(e.covered_from, '%Y-%m-%d')
                     || ' are not in the extracts (needed from ' || strftime(g.eh_needed_from, '%Y-%m-%d')
                     || '): counts may be low' END,
           CASE WHEN g.indicator = 'assessments_within_45_working_days' AND p.authorised_before_start > 0
                THEN CAST(p.authorised_before_start AS VARCHAR)
                     || ' assessment(s) authorised before their start date left out' END,
           CASE WHEN g.indicator = 'assessments_within_45_working_days' AND p.outside_holiday_list > 0
                THEN CAST(p.outside_holiday_list AS VARCHAR)
                     || ' assessment(s) with dates outside the bank-holiday list (weekends only excluded)' END
       ), '') AS note
FROM grid g
LEFT JOIN counts c USING (period_end, indicator, la_code)
LEFT JOIN coverage m ON m.source = g.source AND m.la_code = g.la_code
LEFT JOIN coverage e ON e.source = 'eh' AND e.la_code = g.la_code
LEFT JOIN assessment_problems_all p ON p.period_end = g.period_end AND p.la_code = g.la_code
ORDER BY g.period_end, g.la_code = 'partnership', g.la_code, g.sort_order;
