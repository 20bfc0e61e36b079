-- Thresholds (issue 21): the temporary tables of marts.threshold_profile and marts.conversion_rates for the
-- quarters in the temporary table `periods`. Read from staging.* (each plan, episode, assessment and
-- early-help episode once, keyed by the pseudonymised person_key) and the census's section 47 enquiries.
-- Sources: the CIN census (assessments, enquiries, plans; CP lists for plans) and the early-help export.
-- Ofsted Annex A lists 3-5 are not read here yet: a quarter after an authority's latest census return has
-- no CIN assessment or section 47 entrants (the marts say so through entrants = 0).
--
-- threshold_section47    section 47 enquiries, one per (person_key, la_code, start date): the episode's
--                        referral date, the ICPC date (latest version), ICPC not required.
-- threshold_entries      one row per child, authority, service level and quarter the child entered it
--                        (its first entry in the quarter), with the evidence the child had on entry.
--                        `factors_known`: the assessment factors are recorded (early help: its presenting
--                        needs; otherwise an assessment completed -- authorised -- by the latest extract;
--                        factors are recorded at the end of an assessment, so one still open has none yet).
-- conversion_episodes    neglect-related CIN episodes referred in the 12 months ending one quarter before the
--                        quarter end (each followed for at least 3 months), with the stages reached.

CREATE OR REPLACE TEMP TABLE threshold_section47 AS
WITH versions AS (
    SELECT k.person_key, s.la_code, e.cin_referral_date AS referral_date, s.s47_actual_start_date AS start_date,
           k.extract_date, s.date_of_initial_cpc AS icpc_date, s.icpc_not_required
    FROM raw.cin_section47 s
    JOIN staging.cin_child_keys k ON k.source_file = s.source_file AND k.child_ordinal = s.child_ordinal
    JOIN raw.cin_episode e ON e.source_file = s.source_file AND e.child_ordinal = s.child_ordinal
                          AND e.episode_ordinal = s.episode_ordinal
    WHERE s.s47_actual_start_date IS NOT NULL
)
SELECT person_key, la_code, start_date,
       max_by(referral_date, {'extract': extract_date, 'value': referral_date}) AS referral_date,
       max_by(icpc_date, {'has': icpc_date IS NOT NULL, 'extract': extract_date, 'value': icpc_date}) AS icpc_date,
       max_by(icpc_not_required, {'extract': extract_date, 'value': icpc_not_required}) AS icpc_not_required
FROM versions GROUP BY person_key, la_code, start_date;

CREATE OR REPLACE TEMP TABLE threshold_entries AS
WITH quarters AS (
    SELECT DISTINCT period_end, CAST(last_day(period_end - INTERVAL 3 MONTH) AS DATE) AS after FROM periods
),
assessment_of AS (  -- each assessment with its episode's primary need
    SELECT a.person_key, a.la_code, a.referral_date, a.start_date, coalesce(a.factors, []) AS factors,
           e.primary_need_code, a.authorisation_date IS NOT NULL AS factors_known
    FROM staging.cin_assessments a
    LEFT JOIN staging.cin_episodes e USING (person_key, la_code, referral_date)
),
raw_entries AS (
    SELECT 'early help' AS service_level, person_key, la_code, start_date AS entry_date,
           presenting_needs AS factors, NULL::VARCHAR AS primary_need_code, NULL::BOOLEAN AS neglect_category,
           episode_pseudonym AS entry_ref, TRUE AS factors_known
    FROM staging.early_help_episodes WHERE start_date IS NOT NULL
    UNION ALL
    SELECT 'CIN assessment', person_key, la_code, start_date, factors, primary_need_code, NULL, NULL, factors_known
    FROM assessment_of
    UNION ALL
    SELECT 'section 47', person_key, la_code, start_date, NULL, NULL, NULL, NULL, NULL FROM threshold_section47
    UNION ALL
    SELECT 'CP plan', person_key, la_code, start_date, NULL, NULL, ever_neg OR ever_mul, NULL, NULL
    FROM staging.cp_plans
),
in_quarter AS (
    SELECT q.period_end, r.*
    FROM raw_entries r JOIN quarters q ON r.entry_date > q.after AND r.entry_date <= q.period_end
    QUALIFY row_number() OVER (PARTITION BY q.period_end, r.service_level, r.la_code, r.person_key
                               ORDER BY r.entry_date, r.entry_ref NULLS LAST, CAST(r.factors AS VARCHAR),
                                        r.primary_need_code, r.neglect_category) = 1  -- a total order: repeatable
),
with_assessment AS (  -- section 47 and plans: the factors of the child's latest assessment here started by then
    SELECT i.* REPLACE (coalesce(i.factors, a.factors) AS factors,
                        coalesce(i.primary_need_code, a.primary_need_code) AS primary_need_code,
                        coalesce(i.factors_known, a.factors_known, false) AS factors_known)
    FROM in_quarter i
    LEFT JOIN assessment_of a ON i.service_level IN ('section 47', 'CP plan') AND a.person_key = i.person_key
                             AND a.la_code = i.la_code AND a.start_date <= i.entry_date
                             AND a.start_date > i.entry_date - INTERVAL 12 MONTH
    QUALIFY row_number() OVER (PARTITION BY i.period_end, i.service_level, i.la_code, i.person_key
                               ORDER BY a.start_date DESC NULLS LAST, a.referral_date DESC,
                                        CAST(a.factors AS VARCHAR), a.primary_need_code) = 1
),
gcp2 AS (  -- the latest early-help GCP2 (highest domain score, 1-5) assessed in the 12 months to entry, any authority
    SELECT w.period_end, w.service_level, w.la_code, w.person_key,
           max_by(h.gcp2_max, {'date': h.assessment_date, 'score': h.gcp2_max}) AS gcp2_max
    FROM with_assessment w
    JOIN staging.early_help_episodes h ON h.person_key = w.person_key AND h.gcp2_max >= 1
                                      AND h.assessment_date <= w.entry_date
                                      AND h.assessment_date > w.entry_date - INTERVAL 12 MONTH
                                      AND (w.service_level <> 'early help' OR h.episode_pseudonym = w.entry_ref
                                           OR h.start_date < w.entry_date)
    GROUP BY ALL
),
prior_eh AS (  -- an early-help episode (any authority) that started in the 12 months before entry
    SELECT DISTINCT w.period_end, w.service_level, w.la_code, w.person_key
    FROM with_assessment w
    JOIN staging.early_help_episodes h ON h.person_key = w.person_key AND h.start_date < w.entry_date
                                      AND h.start_date >= w.entry_date - INTERVAL 12 MONTH
)
SELECT w.period_end, w.service_level, w.la_code, w.person_key, w.entry_date,
       list_has_any(coalesce(w.factors, []), neglect_factor_codes()) AS neglect_factor,
       list_has_any(coalesce(w.factors, []), ['1B', '2B', '3B', '4B']) AS toxic_trio,
       list_has_any(coalesce(w.factors, []), ['5B']) AS learning_disability,
       CASE WHEN w.factors_known THEN len(list_filter(coalesce(w.factors, []), lambda f: f <> '21')) END AS factors,
       w.factors_known,
       g.gcp2_max,
       p.person_key IS NOT NULL AS prior_early_help,
       date_sub('year', a.birth_month, w.entry_date) AS age,
       list_has_any(coalesce(w.factors, []), neglect_factor_codes()) OR coalesce(g.gcp2_max >= gcp2_concern_threshold(), false)
           OR coalesce(w.primary_need_code = abuse_or_neglect_need_code(), false) OR coalesce(w.neglect_category, false) AS neglect_related
FROM with_assessment w
LEFT JOIN gcp2 g USING (period_end, service_level, la_code, person_key)
LEFT JOIN prior_eh p USING (period_end, service_level, la_code, person_key)
LEFT JOIN staging.child_attributes a ON a.person_key = w.person_key;
