-- marts.child_neglect_evidence: one row per child (person_key), authority, source, evidence kind and
-- window: the dates the evidence was current. `evidence_end` NULL = still current (see staging.sql,
-- `effective_end`). The kinds and their windows are listed in models/marts/tier_definitions.yaml.
--
-- The codes and thresholds are macros written from tier_definitions.yaml (models/marts/definitions.py:
-- neglect_factor_codes(), other_abuse_factor_codes(), family_link_methods(), abuse_or_neglect_need_code(),
-- gcp2_concern_threshold(), partner_concern_types()); staging.partner_concerns is the view over the
-- partner-agency lists supplied (docs/partner-lists.md, models/marts/evidence.py).
-- `recorded_dates`: the dates on which a service *recorded* this evidence (plan start and each review,
-- assessment authorisation, early-help assessment, referral, adult episode start).
-- Ofsted Annex A lists (source 'annex_a') feed assessment_16A (list 4, where the system exports the factors),
-- primary_need_N1 (list 6) and eh_16A / eh_gcp2 (list 2) only for what started after the authority's latest
-- CIN census return (list 2: after its latest early-help export): for the months the census (or the export)
-- covers, it takes precedence. List 7 is the CP list (source cin_census/cp_list). The window says
-- when the evidence was current; recorded_dates say when it was made or renewed. Tiers use windows;
-- capture-recapture lists use recorded dates (a child is on a list for a window only through
-- evidence recorded in it, see active_evidence.sql and capture_histories.sql).
-- `source_record_id`: the warehouse record the latest version came from (file and line, no identifier),
-- so an analyst can trace a count back to an extract line. `person_record_id`: the child's own record
-- that gave the person_key (NULL for same-address links), used to swap in another linkage.

CREATE SCHEMA IF NOT EXISTS marts;

CREATE OR REPLACE TABLE marts.child_neglect_evidence AS
WITH plan_reviews AS (
    -- review conferences of CP plans: CIN census CPPreviewDate and the CP list's latest review date
    SELECT k.person_key, p.la_code, p.cpp_start_date AS start_date, r.cpp_review_date AS review_date
    FROM raw.cin_cp_review r
    JOIN raw.cin_cp_plan p ON p.source_file = r.source_file AND p.child_ordinal = r.child_ordinal
                          AND p.episode_ordinal = r.episode_ordinal AND p.cp_plan_ordinal = r.cp_plan_ordinal
    JOIN staging.cin_child_keys k ON k.source_file = r.source_file AND k.child_ordinal = r.child_ordinal
    UNION
    SELECT l.person_key, c.la_code, c.cp_plan_start_date, c.latest_review_date
    FROM raw.cp_list c JOIN linkage.person_links l ON l.source = 'cp_list' AND l.source_record_id = c.record_id
    WHERE c.latest_review_date IS NOT NULL
),
plan_review_dates AS (  -- by plan: overlapping plans counted once (staging.cp_plan_starts) share their reviews
    SELECT r.person_key, r.la_code, coalesce(m.plan_start, r.start_date) AS start_date,
           list(DISTINCT r.review_date) AS reviews
    FROM plan_reviews r
    LEFT JOIN staging.cp_plan_starts m USING (person_key, la_code, start_date)
    WHERE r.review_date IS NOT NULL GROUP BY ALL
),
evidence AS (
    -- CP plans: neglect (NEG), multiple (MUL, never NEG), or another category only
    SELECT person_key, la_code, 'cin_census/cp_list' AS source,
           CASE WHEN ever_neg THEN 'cp_neg' WHEN ever_mul THEN 'cp_mul' ELSE 'cp_other' END AS kind,
           start_date AS evidence_start, effective_end AS evidence_end, record_id AS source_record_id, person_record_id,
           list_prepend(start_date, coalesce(r.reviews, [])) AS recorded_dates
    FROM staging.cp_plans LEFT JOIN plan_review_dates r USING (person_key, la_code, start_date)

    UNION ALL
    -- CIN assessments authorised with a neglect factor, current until their episode closes
    SELECT person_key, la_code, 'cin_census', 'assessment_16A', authorisation_date, episode_effective_end, record_id,
           person_record_id, [authorisation_date]
    FROM staging.cin_assessments
    WHERE authorisation_date IS NOT NULL AND list_has_any(factors, neglect_factor_codes())

    UNION ALL
    SELECT person_key, la_code, 'cin_census', 'assessment_other_abuse', authorisation_date,
           episode_effective_end, record_id, person_record_id, [authorisation_date]
    FROM staging.cin_assessments
    WHERE authorisation_date IS NOT NULL AND list_has_any(factors, other_abuse_factor_codes())

    UNION ALL
    -- CIN episodes with primary need "abuse or neglect"
    SELECT person_key, la_code, 'cin_census', 'primary_need_N1', referral_date, effective_end, record_id, person_record_id,
           [referral_date]
    FROM staging.cin_episodes
    WHERE primary_need_code = abuse_or_neglect_need_code()

    UNION ALL
    -- early help: neglect among the presenting needs, from the early-help assessment on
    SELECT person_key, la_code, 'early_help', 'eh_16A', assessment_date, effective_end, record_id, person_record_id,
           [assessment_date]
    FROM staging.early_help_episodes
    WHERE assessment_date IS NOT NULL AND list_has_any(presenting_needs, neglect_factor_codes())

    UNION ALL
    SELECT person_key, la_code, 'early_help', 'eh_gcp2', assessment_date, effective_end, record_id, person_record_id,
           [assessment_date]
    FROM staging.early_help_episodes
    WHERE assessment_date IS NOT NULL AND gcp2_max >= gcp2_concern_threshold()

    UNION ALL
    -- Ofsted Annex A (lists 4, 6 and 2) for what started after the authority's latest CIN census return (the
    -- census takes precedence where both cover a period) or, for list 2, after its latest early-help export
    SELECT person_key, la_code, 'annex_a', 'assessment_16A', authorisation_date, episode_effective_end, record_id,
           person_record_id, [authorisation_date]
    FROM staging.annex_a_assessments
    WHERE authorisation_date IS NOT NULL AND list_has_any(factors, neglect_factor_codes())
      AND authorisation_date > coalesce(census_covered_to, DATE '1900-01-01')

    UNION ALL
    SELECT person_key, la_code, 'annex_a', 'assessment_other_abuse', authorisation_date, episode_effective_end,
           record_id, person_record_id, [authorisation_date]
    FROM staging.annex_a_assessments
    WHERE authorisation_date IS NOT NULL AND list_has_any(factors, other_abuse_factor_codes())
      AND authorisation_date > coalesce(census_covered_to, DATE '1900-01-01')

    UNION ALL
    SELECT person_key, la_code, 'annex_a', 'primary_need_N1', start_date, effective_end, record_id, person_record_id,
           [start_date]
    FROM staging.annex_a_cin_episodes
    WHERE primary_need_code = abuse_or_neglect_need_code() AND start_date > coalesce(census_covered_to, DATE '1900-01-01')

    UNION ALL
    -- list 2 has no episode dates: the window is the assessment's own (start to completion)
    SELECT person_key, la_code, 'annex_a', 'eh_16A', start_date, effective_end, record_id, person_record_id,
           [start_date]
    FROM staging.annex_a_early_help
    WHERE list_has_any(presenting_needs, neglect_factor_codes())
      AND start_date > coalesce(early_help_covered_to, DATE '1900-01-01')

    UNION ALL
    SELECT person_key, la_code, 'annex_a', 'eh_gcp2', start_date, effective_end, record_id, person_record_id,
           [start_date]
    FROM staging.annex_a_early_help
    WHERE gcp2_max >= gcp2_concern_threshold() AND start_date > coalesce(early_help_covered_to, DATE '1900-01-01')

    UNION ALL
    -- a child recorded in an adult-services episode's household list
    SELECT c.child_key, a.la_code, 'adult_services', kind, a.start_date, a.effective_end, a.record_id,
           c.person_record_id, [a.start_date]
    FROM staging.adult_household_children c
    JOIN staging.adult_episodes a USING (la_code, service_file, episode_pseudonym)
    CROSS JOIN (VALUES ('adult_known'), ('adult_concern')) k(kind)
    WHERE list_contains(family_link_methods(), 'recorded in household')
      AND (kind = 'adult_known' OR a.safeguarding_concern)

    UNION ALL
    -- a child linked to the adult by the same-address rule (only if family_link_methods asks for it)
    SELECT f.child_key, a.la_code, 'adult_services', kind, a.start_date, a.effective_end, a.record_id,
           NULL, [a.start_date]
    FROM linkage.family_links f
    JOIN staging.adult_episodes a ON a.adult_key = f.adult_key AND a.service = f.source
    CROSS JOIN (VALUES ('adult_known'), ('adult_concern')) k(kind)
    WHERE f.method = 'same address' AND list_contains(family_link_methods(), 'same address')
      AND (kind = 'adult_known' OR a.safeguarding_concern)

    UNION ALL
    -- a partner agency's concern of a counted type (staging.partner_concerns): an event, current and recorded
    -- on its date; kind partner:<agency>
    SELECT l.person_key, c.la_code, c.source, 'partner:' || c.agency, c.concern_date, c.concern_date, c.record_id,
           c.record_id, [c.concern_date]
    FROM staging.partner_concerns c
    JOIN linkage.person_links l ON l.source = c.source AND l.source_record_id = c.record_id
    WHERE list_contains(partner_concern_types(), c.concern_type)
)
SELECT DISTINCT person_key, la_code, source, kind, evidence_start, evidence_end, source_record_id, person_record_id,
       list_sort(list_distinct(list_filter(recorded_dates, lambda d: d IS NOT NULL))) AS recorded_dates
FROM evidence
WHERE evidence_start IS NOT NULL
  AND (evidence_end IS NULL OR evidence_end >= evidence_start)
ORDER BY person_key, la_code, kind, evidence_start, source, source_record_id, evidence_end, person_record_id;
