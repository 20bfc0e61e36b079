-- marts.conversion_rates (after thresholds.sql, which makes `threshold_section47`): the temporary table
-- `conversion_episodes`, see thresholds.sql and models/marts/thresholds.py.

CREATE OR REPLACE TEMP TABLE conversion_episodes AS
WITH windows AS (
    SELECT DISTINCT period_end, CAST(last_day(period_end - INTERVAL 15 MONTH) AS DATE) AS after,
           CAST(last_day(period_end - INTERVAL 3 MONTH) AS DATE) AS until
    FROM periods
),
episodes AS (
    SELECT w.period_end, e.person_key, e.la_code, e.referral_date, e.effective_end, e.date_of_initial_cpc,
           e.primary_need_code
    FROM staging.cin_episodes e JOIN windows w ON e.referral_date > w.after AND e.referral_date <= w.until
),
assessed AS (
    SELECT person_key, la_code, referral_date, bool_or(list_has_any(coalesce(factors, []), neglect_factor_codes()))
           AS neglect_factor
    FROM staging.cin_assessments GROUP BY ALL
),
enquiries AS (
    SELECT person_key, la_code, referral_date, bool_or(icpc_date IS NOT NULL) AS icpc, min(icpc_date) AS icpc_date
    FROM threshold_section47 GROUP BY ALL
)
SELECT e.period_end, e.la_code, e.person_key, e.referral_date,
       a.person_key IS NOT NULL AS assessed,
       s.person_key IS NOT NULL AS section47,
       coalesce(s.icpc, false) OR e.date_of_initial_cpc IS NOT NULL AS icpc,
       EXISTS (SELECT 1 FROM staging.cp_plans p WHERE p.person_key = e.person_key AND p.la_code = e.la_code
               AND p.start_date >= e.referral_date AND p.start_date <= coalesce(e.effective_end, e.period_end)
               AND p.start_date >= coalesce(s.icpc_date, e.date_of_initial_cpc, e.referral_date))
           AND (coalesce(s.icpc, false) OR e.date_of_initial_cpc IS NOT NULL) AS plan
FROM episodes e
LEFT JOIN assessed a USING (person_key, la_code, referral_date)
LEFT JOIN enquiries s USING (person_key, la_code, referral_date)
WHERE e.primary_need_code = abuse_or_neglect_need_code() OR coalesce(a.neglect_factor, false);
