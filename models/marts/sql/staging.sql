-- Staging: each source's records as the things they describe, keyed by person, one row per thing.
--
-- The raw tables hold one row per extract line, so a CP plan open for a year appears in four
-- quarterly lists and one or two censuses. Here each plan, episode or assessment appears once, in
-- its LATEST known version (latest extract; on the same date, a version with an end date wins),
-- with the person_key the linkage gave its record.
--
-- `end_date` is the recorded end. `effective_end` is what the marts use: the recorded end, or, for
-- a thing recorded as still open, the last extract date it appeared in: what happened after the last
-- extract is not known (a record that stops appearing has ended; one in the latest extract is current
-- up to that extract's date). The CIN census is the exception: a record open in an authority's latest
-- return stays current for a year after its 31 March, until the next return is due (the census is then
-- 'carried forward' in marts.source_availability), unless an Ofsted Annex A list 6 of a later period shows
-- the episode closed.
-- `last_seen` is the latest extract it appeared in. `person_record_id` is the child's own record
-- (CIN Child element, CP-list line, early-help line, household-children line) that gave the
-- person_key, so another linkage (threshold sensitivity) can be swapped in without redoing staging.
-- Depends on: raw.*, linkage.person_links. Writes schema `staging`.

CREATE SCHEMA IF NOT EXISTS staging;

-- CIN census Child elements with their person_key (the CIN sub-tables join on file + child ordinal).
CREATE OR REPLACE TABLE staging.cin_child_keys AS
SELECT c.source_file, c.child_ordinal, c.la_code, c.period_end AS extract_date, l.person_key,
       c.record_id AS person_record_id
FROM raw.cin_child c
JOIN linkage.person_links l ON l.source = 'cin_census' AND l.source_record_id = c.record_id;

-- Ofsted Annex A lists 2, 4 and 6 (early help assessments, assessments, children in need), each thing
-- once in its latest version, keyed by person. The census takes precedence where both cover a period:
-- `census_covered_to` is the authority's latest CIN census reference date (NULL: no return loaded), and
-- evidence.sql uses Annex A only for what started after it. List 2 gives way to the early-help system's
-- own export in the same way (`early_help_covered_to`: the authority's latest early-help extract).
CREATE OR REPLACE TABLE staging.census_coverage AS
SELECT la_code, max(period_end) AS census_covered_to FROM raw.cin_child GROUP BY la_code;

-- List 6: CIN episodes, one per (person_key, la_code, CIN start date). Open in the latest list: current to
-- that list's period end; closed: to the closure date.
CREATE OR REPLACE TABLE staging.annex_a_cin_episodes AS
WITH versions AS (
    SELECT l.person_key, c.la_code, c.cin_start_date AS start_date, c.period_end AS extract_date,
           {'closure_date': c.cin_closure_date, 'primary_need_code': c.primary_need,
            'reason_for_closure': c.reason_for_closure, 'record_id': c.record_id} AS fields,
           {'extract_date': c.period_end, 'has_end': c.cin_closure_date IS NOT NULL, 'record_id': c.record_id}
               AS version_order
    FROM raw.annex_a_children_in_need c
    JOIN linkage.person_links l ON l.source = 'annex_a_children_in_need' AND l.source_record_id = c.record_id
    WHERE c.cin_start_date IS NOT NULL
),
entities AS (
    SELECT person_key, la_code, start_date, max_by(fields, version_order) AS f, max(extract_date) AS last_seen
    FROM versions GROUP BY person_key, la_code, start_date
)
SELECT person_key, la_code, start_date, f.closure_date, f.primary_need_code, f.reason_for_closure, last_seen,
       effective_end(f.closure_date, last_seen) AS effective_end, f.record_id, f.record_id AS person_record_id,
       c.census_covered_to
FROM entities LEFT JOIN staging.census_coverage c USING (la_code);

-- CIN episodes, one per (person_key, la_code, referral_date).
CREATE OR REPLACE TABLE staging.cin_episodes AS
WITH versions AS (
    SELECT k.person_key, e.la_code, e.cin_referral_date AS referral_date, k.extract_date, e.record_id,
           {'closure_date': e.cin_closure_date, 'primary_need_code': e.primary_need_code,
            'reason_for_closure': e.reason_for_closure, 'referral_source': e.referral_source,
            'referral_nfa': e.referral_nfa, 'date_of_initial_cpc': e.date_of_initial_cpc,
            'record_id': e.record_id, 'person_record_id': k.person_record_id} AS fields,
           {'extract_date': k.extract_date, 'has_end': e.cin_closure_date IS NOT NULL,
            'record_id': e.record_id} AS version_order
    FROM raw.cin_episode e JOIN staging.cin_child_keys k USING (source_file, child_ordinal)
    WHERE e.cin_referral_date IS NOT NULL
),
latest_extract AS (SELECT la_code, max(period_end) AS latest FROM raw.cin_child GROUP BY la_code),
entities AS (
    SELECT person_key, v.la_code, referral_date, max_by(fields, version_order) AS f,
           max(extract_date) AS last_seen, bool_or(extract_date = x.latest) AS in_latest_extract
    FROM versions v JOIN latest_extract x USING (la_code)
    GROUP BY person_key, v.la_code, referral_date
)
SELECT e.person_key, e.la_code, e.referral_date, f.closure_date, f.primary_need_code, f.reason_for_closure,
       f.referral_source, f.referral_nfa, f.date_of_initial_cpc, e.last_seen, e.in_latest_extract,
       coalesce(f.closure_date, a.closure_date,
                CASE WHEN in_latest_extract THEN CAST(e.last_seen + INTERVAL 1 YEAR AS DATE)
                     ELSE e.last_seen END) AS effective_end,
       f.record_id, f.person_record_id
FROM entities e
-- an episode open in the latest census return is carried for a year after it, unless an Ofsted Annex A
-- list 6 of a later period shows it closed (the same child, authority and start date): then it ends there
LEFT JOIN staging.annex_a_cin_episodes a ON a.person_key = e.person_key AND a.la_code = e.la_code
                                       AND a.start_date = e.referral_date AND a.last_seen > e.last_seen;

-- CIN assessments, one per (person_key, la_code, episode referral_date, assessment start), with
-- the list of assessment factors recorded.
CREATE OR REPLACE TABLE staging.cin_assessments AS
WITH factors AS (
    SELECT source_file, child_ordinal, episode_ordinal, assessment_ordinal,
           list(DISTINCT assessment_factor ORDER BY assessment_factor) AS factors
    FROM raw.cin_assessment_factor WHERE assessment_factor IS NOT NULL
    GROUP BY ALL
),
versions AS (
    SELECT k.person_key, a.la_code, e.cin_referral_date AS referral_date,
           a.assessment_actual_start_date AS start_date, k.extract_date,
           {'authorisation_date': a.assessment_authorisation_date, 'factors': coalesce(f.factors, []),
            'record_id': a.record_id, 'person_record_id': k.person_record_id} AS fields,
           {'extract_date': k.extract_date, 'has_end': a.assessment_authorisation_date IS NOT NULL,
            'record_id': a.record_id} AS version_order
    FROM raw.cin_assessment a
    JOIN staging.cin_child_keys k ON k.source_file = a.source_file AND k.child_ordinal = a.child_ordinal
    JOIN raw.cin_episode e ON e.source_file = a.source_file AND e.child_ordinal = a.child_ordinal
                          AND e.episode_ordinal = a.episode_ordinal
    LEFT JOIN factors f ON f.source_file = a.source_file AND f.child_ordinal = a.child_ordinal
                       AND f.episode_ordinal = a.episode_ordinal AND f.assessment_ordinal = a.assessment_ordinal
    WHERE e.cin_referral_date IS NOT NULL AND a.assessment_actual_start_date IS NOT NULL
),
entities AS (
    SELECT person_key, la_code, referral_date, start_date, max_by(fields, version_order) AS f,
           max(extract_date) AS last_seen
    FROM versions GROUP BY person_key, la_code, referral_date, start_date
)
SELECT a.person_key, a.la_code, a.referral_date, a.start_date, f.authorisation_date, f.factors, a.last_seen,
       e.effective_end AS episode_effective_end, f.record_id, f.person_record_id
FROM entities a
LEFT JOIN staging.cin_episodes e USING (person_key, la_code, referral_date);

-- CP plans from the CIN census and the CP lists (Annex A list 7), one per (person_key, la_code,
-- start_date). `ever_neg` / `ever_mul`: initial or latest category NEG / MUL in any version.
-- Overlapping or duplicated plans (DfE rule 8940: a plan starting while another plan of the same child
-- in the same authority is known to be open -- on or before its recorded end, or its last extract when
-- it has no end) are ONE plan here, counted once: from the first start to the latest end, NEG/MUL if
-- any of them was, the first plan's initial category and previous plans, the last one's latest
-- category. `merged_plans` says how many recorded plans it joins; staging.cp_plan_starts maps each
-- recorded start to its plan's start (for the review dates).
CREATE OR REPLACE TABLE staging.cp_plan_records AS
WITH versions AS (
    SELECT k.person_key, p.la_code, p.cpp_start_date AS start_date, 'cin_census' AS source,
           k.extract_date, p.cpp_end_date AS end_date, p.initial_category_of_abuse AS initial_category,
           p.latest_category_of_abuse AS latest_category, p.number_of_previous_cpp AS previous_plans,
           p.record_id, k.person_record_id
    FROM raw.cin_cp_plan p JOIN staging.cin_child_keys k USING (source_file, child_ordinal)
    UNION ALL
    SELECT l.person_key, c.la_code, c.cp_plan_start_date, 'cp_list', c.period_end, c.cp_plan_end_date,
           c.initial_category, c.latest_category, c.previous_cp_plans, c.record_id, c.record_id
    FROM raw.cp_list c JOIN linkage.person_links l ON l.source = 'cp_list' AND l.source_record_id = c.record_id
),
latest_extract AS (SELECT source, la_code, max(extract_date) AS latest FROM versions GROUP BY ALL),
entities AS (
    SELECT person_key, v.la_code, start_date,
           max_by({'end_date': end_date, 'initial_category': initial_category, 'latest_category': latest_category,
                   'previous_plans': previous_plans, 'record_id': record_id, 'person_record_id': person_record_id},
                  {'extract_date': extract_date, 'has_end': end_date IS NOT NULL, 'record_id': record_id}) AS f,
           bool_or('NEG' IN (initial_category, latest_category)) AS ever_neg,
           bool_or('MUL' IN (initial_category, latest_category)) AS ever_mul,
           max(previous_plans) AS max_previous_plans,
           max(extract_date) AS last_seen, bool_or(extract_date = x.latest) AS in_latest_extract,
           max(CASE WHEN extract_date = x.latest AND v.source = 'cin_census'
                    THEN CAST(extract_date + INTERVAL 1 YEAR AS DATE) END) AS census_open_until,
           list(DISTINCT v.source ORDER BY v.source) AS sources
    FROM versions v JOIN latest_extract x USING (source, la_code)
    WHERE start_date IS NOT NULL
    GROUP BY person_key, v.la_code, start_date
),
known_open AS (  -- the last day each plan is known to have been open: its end, else its last extract
    SELECT *, effective_end(f.end_date, last_seen) AS known_to FROM entities
),
islands AS (
    SELECT *, sum(CASE WHEN start_date <= prev_known_to THEN 0 ELSE 1 END)
                  OVER (PARTITION BY person_key, la_code ORDER BY start_date) AS plan_number
    FROM (SELECT *, max(known_to) OVER (PARTITION BY person_key, la_code ORDER BY start_date
                                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_known_to
          FROM known_open)
)
SELECT * FROM islands;

CREATE OR REPLACE TABLE staging.cp_plan_starts AS
SELECT person_key, la_code, start_date, min(start_date) OVER (PARTITION BY person_key, la_code, plan_number)
       AS plan_start
FROM staging.cp_plan_records;

CREATE OR REPLACE TABLE staging.cp_plans AS
WITH plans AS (
    SELECT person_key, la_code, plan_number, min(start_date) AS start_date,
           CASE WHEN bool_and(f.end_date IS NOT NULL) THEN max(f.end_date) END AS end_date,
           arg_min(f.initial_category, start_date) AS initial_category,
           arg_max(f.latest_category, start_date) AS latest_category,
           bool_or(ever_neg) AS ever_neg, bool_or(ever_mul) AS ever_mul,
           arg_min(f.previous_plans, start_date) AS previous_plans, max(max_previous_plans) AS max_previous_plans,
           max(last_seen) AS last_seen, bool_or(in_latest_extract) AS in_latest_extract,
           max(coalesce(f.end_date, greatest(census_open_until, last_seen))) AS effective_end,
           list_sort(list_distinct(flatten(list(sources)))) AS sources,
           arg_min(f.record_id, start_date) AS record_id, arg_min(f.person_record_id, start_date) AS person_record_id,
           count(*) AS merged_plans
    FROM staging.cp_plan_records
    GROUP BY person_key, la_code, plan_number
)
SELECT person_key, la_code, start_date, end_date, initial_category, latest_category, ever_neg, ever_mul,
       previous_plans, max_previous_plans, last_seen, in_latest_extract,
       CASE WHEN end_date IS NOT NULL THEN end_date ELSE effective_end END AS effective_end,
       sources, record_id, person_record_id, merged_plans
FROM plans;

-- Early-help episodes, one per (la_code, episode_pseudonym), with presenting needs as a list and
-- the highest GCP2 domain score (NULL when GCP2 was not used).
CREATE OR REPLACE TABLE staging.early_help_episodes AS
WITH versions AS (
    SELECT h.la_code, h.episode_pseudonym, h.period_end AS extract_date,
           {'person_key': l.person_key, 'start_date': h.episode_start_date, 'end_date': h.episode_end_date,
            'end_reason': h.end_reason, 'assessment_date': h.assessment_date,
            'presenting_needs': list_filter(list_transform(string_split(coalesce(h.presenting_needs, ''), ';'),
                                                           lambda x: trim(x)), lambda x: x <> ''),
            'gcp2_max': greatest(h.gcp2_physical_care, h.gcp2_care_of_safety, h.gcp2_love_and_care,
                                 h.gcp2_stimulation_and_education),
            'record_id': h.record_id, 'person_record_id': h.record_id} AS fields,
           {'extract_date': h.period_end, 'has_end': h.episode_end_date IS NOT NULL,
            'record_id': h.record_id} AS version_order
    FROM raw.early_help h
    JOIN linkage.person_links l ON l.source = 'early_help' AND l.source_record_id = h.record_id
    WHERE h.episode_pseudonym IS NOT NULL
),
latest_extract AS (SELECT la_code, max(period_end) AS latest FROM raw.early_help GROUP BY la_code),
entities AS (
    SELECT v.la_code, episode_pseudonym, max_by(fields, version_order) AS f, max(extract_date) AS last_seen,
           bool_or(extract_date = x.latest) AS in_latest_extract
    FROM versions v JOIN latest_extract x USING (la_code)
    GROUP BY v.la_code, episode_pseudonym
)
SELECT f.person_key, la_code, episode_pseudonym, f.start_date, f.end_date, f.end_reason, f.assessment_date,
       f.presenting_needs, f.gcp2_max, last_seen, in_latest_extract,
       effective_end(f.end_date, last_seen) AS effective_end, f.record_id,
       f.person_record_id
FROM entities;

-- Adult-services episodes, one per (la_code, service_file, episode_pseudonym), with the adult's
-- person_key. `safeguarding_concern`: a child safeguarding concern recorded in any version.
CREATE OR REPLACE TABLE staging.adult_episodes AS
WITH versions AS (
    SELECT a.la_code, a.service_file, a.episode_pseudonym, a.period_end AS extract_date,
           a.child_safeguarding_concern = 'Y' AS concern,
           {'adult_key': l.person_key, 'service': a.service, 'start_date': a.episode_start_date,
            'end_date': a.episode_end_date, 'ward_code': a.ward_code, 'lsoa_code': a.lsoa_code,
            'deprivation_decile': a.deprivation_decile, 'record_id': a.record_id} AS fields,
           {'extract_date': a.period_end, 'has_end': a.episode_end_date IS NOT NULL,
            'record_id': a.record_id} AS version_order
    FROM raw.adult_episodes a
    JOIN linkage.person_links l ON l.source = 'adult_services' AND l.source_record_id = a.record_id
    WHERE a.episode_pseudonym IS NOT NULL
),
latest_extract AS (SELECT la_code, service_file, max(period_end) AS latest FROM raw.adult_episodes GROUP BY ALL),
entities AS (
    SELECT v.la_code, v.service_file, episode_pseudonym, max_by(fields, version_order) AS f,
           coalesce(bool_or(concern), false) AS safeguarding_concern, max(extract_date) AS last_seen,
           bool_or(extract_date = x.latest) AS in_latest_extract
    FROM versions v JOIN latest_extract x USING (la_code, service_file)
    GROUP BY v.la_code, v.service_file, episode_pseudonym
)
SELECT f.adult_key, la_code, service_file, f.service, episode_pseudonym, f.start_date, f.end_date,
       safeguarding_concern, f.ward_code, f.lsoa_code, f.deprivation_decile, last_seen, in_latest_extract,
       effective_end(f.end_date, last_seen) AS effective_end, f.record_id
FROM entities;

-- Children recorded in an adult-services episode's household list, one per (child, episode), as the
-- latest extract records them (ties within an extract, e.g. a child listed twice: the latest record id).
CREATE OR REPLACE TABLE staging.adult_household_children AS
SELECT l.person_key AS child_key, c.la_code, c.service_file, c.episode_pseudonym,
       max_by(c.lives_with_client, {'period_end': c.period_end, 'record_id': c.record_id}) AS lives_with_client,
       max(c.record_id) AS person_record_id
FROM raw.adult_household_children c
JOIN linkage.person_links l ON l.source = 'adult_household_children' AND l.source_record_id = c.record_id
WHERE c.episode_pseudonym IS NOT NULL
GROUP BY ALL;

-- List 4: assessments, one per (person_key, la_code, start date), with the factors where the system exports
-- them. `episode_effective_end`: the list 6 episode (else the census episode) of the child open on the
-- assessment's start; with neither, the assessment is current on its authorisation day only.
CREATE OR REPLACE TABLE staging.annex_a_assessments AS
WITH versions AS (
    SELECT l.person_key, a.la_code, a.assessment_start_date AS start_date, a.period_end AS extract_date,
           {'authorisation_date': a.assessment_authorisation_date,
            'factors': list_filter(list_transform(string_split(coalesce(a.assessment_factors, ''), ';'),
                                                  lambda x: trim(x)), lambda x: x <> ''),
            'record_id': a.record_id} AS fields,
           {'extract_date': a.period_end, 'has_end': a.assessment_authorisation_date IS NOT NULL,
            'record_id': a.record_id} AS version_order
    FROM raw.annex_a_assessments a
    JOIN linkage.person_links l ON l.source = 'annex_a_assessments' AND l.source_record_id = a.record_id
    WHERE a.assessment_start_date IS NOT NULL
),
entities AS (
    SELECT person_key, la_code, start_date, max_by(fields, version_order) AS f, max(extract_date) AS last_seen
    FROM versions GROUP BY person_key, la_code, start_date
),
episodes AS (
    SELECT person_key, la_code, start_date, effective_end, 1 AS preference FROM staging.annex_a_cin_episodes
    UNION ALL
    SELECT person_key, la_code, referral_date, effective_end, 2 FROM staging.cin_episodes
)
SELECT a.person_key, a.la_code, a.start_date, a.f.authorisation_date AS authorisation_date, a.f.factors AS factors,
       a.last_seen, coalesce(e.effective_end, a.f.authorisation_date) AS episode_effective_end,
       a.f.record_id AS record_id, a.f.record_id AS person_record_id, c.census_covered_to
FROM entities a
LEFT JOIN episodes e ON e.person_key = a.person_key AND e.la_code = a.la_code AND e.start_date <= a.start_date
                    AND e.effective_end >= a.start_date
LEFT JOIN staging.census_coverage c ON c.la_code = a.la_code
QUALIFY row_number() OVER (PARTITION BY a.person_key, a.la_code, a.start_date
                           ORDER BY e.preference NULLS LAST, e.start_date DESC) = 1;

-- List 2: early help assessments, one per (person_key, la_code, start date). No episode dates: the evidence
-- window is the assessment's own, start to completion (or the last list it was in while not completed).
CREATE OR REPLACE TABLE staging.annex_a_early_help AS
WITH versions AS (
    SELECT l.person_key, h.la_code, h.assessment_start_date AS start_date, h.period_end AS extract_date,
           {'completion_date': h.assessment_completion_date,
            'presenting_needs': list_filter(list_transform(string_split(coalesce(h.presenting_needs, ''), ';'),
                                                           lambda x: trim(x)), lambda x: x <> ''),
            'gcp2_max': greatest(h.gcp2_physical_care, h.gcp2_care_of_safety, h.gcp2_love_and_care,
                                 h.gcp2_stimulation_and_education),
            'record_id': h.record_id} AS fields,
           {'extract_date': h.period_end, 'has_end': h.assessment_completion_date IS NOT NULL,
            'record_id': h.record_id} AS version_order
    FROM raw.annex_a_early_help h
    JOIN linkage.person_links l ON l.source = 'annex_a_early_help' AND l.source_record_id = h.record_id
    WHERE h.assessment_start_date IS NOT NULL
),
entities AS (
    SELECT person_key, la_code, start_date, max_by(fields, version_order) AS f, max(extract_date) AS last_seen
    FROM versions GROUP BY person_key, la_code, start_date
)
SELECT person_key, la_code, start_date, f.completion_date, f.presenting_needs, f.gcp2_max, last_seen,
       effective_end(f.completion_date, last_seen) AS effective_end, f.record_id, f.record_id AS person_record_id,
       x.early_help_covered_to
FROM entities
LEFT JOIN (SELECT la_code, max(period_end) AS early_help_covered_to FROM raw.early_help GROUP BY la_code) x
    USING (la_code);

-- Every child record with what it says about the child: birth month, sex, ethnicity, disability,
-- and where the child lived (ward, LSOA, deprivation decile; address dates from the person list).
CREATE OR REPLACE TABLE staging.child_records AS
SELECT l.person_key, l.source, r.la_code, r.period_end AS extract_date, r.birth_month, r.sex,
       r.ethnicity, r.disabled, r.ward_code, r.lsoa_code, r.deprivation_decile, r.address_from, r.address_to
FROM (
    SELECT record_id, la_code, period_end, birth_month, gender AS sex, NULL::VARCHAR AS ethnicity,
           NULL::BOOLEAN AS disabled, ward_code, lsoa_code, deprivation_decile,
           address_start_date AS address_from, address_end_date AS address_to
    FROM raw.person_list
    UNION ALL
    SELECT c.record_id, c.la_code, c.period_end, c.birth_month, c.sex, c.ethnicity,
           d.disabled, NULL, NULL, NULL, NULL, NULL
    FROM raw.cin_child c
    LEFT JOIN (SELECT source_file, child_ordinal, bool_or(disability <> 'NONE') AS disabled
               FROM raw.cin_disability WHERE disability IS NOT NULL GROUP BY ALL) d USING (source_file, child_ordinal)
    UNION ALL
    SELECT record_id, la_code, period_end, birth_month, gender, ethnicity,
           CASE disability WHEN 'Y' THEN true WHEN 'N' THEN false END, NULL, NULL, NULL, NULL, NULL
    FROM raw.cp_list
    UNION ALL
    SELECT record_id, la_code, period_end, birth_month, gender, ethnicity, NULL, NULL, NULL, NULL, NULL, NULL
    FROM (SELECT record_id, la_code, period_end, birth_month, gender, ethnicity FROM raw.annex_a_early_help
          UNION ALL SELECT record_id, la_code, period_end, birth_month, gender, ethnicity FROM raw.annex_a_referrals
          UNION ALL SELECT record_id, la_code, period_end, birth_month, gender, ethnicity FROM raw.annex_a_section47)
    UNION ALL
    SELECT record_id, la_code, period_end, birth_month, gender, ethnicity,
           CASE disability WHEN 'Y' THEN true WHEN 'N' THEN false END, NULL, NULL, NULL, NULL, NULL
    FROM (SELECT record_id, la_code, period_end, birth_month, gender, ethnicity, disability
          FROM raw.annex_a_assessments
          UNION ALL SELECT record_id, la_code, period_end, birth_month, gender, ethnicity, disability
          FROM raw.annex_a_children_in_need)
    UNION ALL
    SELECT record_id, la_code, period_end, birth_month, gender, NULL, NULL, ward_code, lsoa_code,
           deprivation_decile, NULL, NULL
    FROM raw.early_help
    UNION ALL
    -- a child listed by adult services lives at the adult's address
    SELECT c.record_id, c.la_code, c.period_end, c.birth_month, NULL, NULL, NULL, a.ward_code, a.lsoa_code,
           a.deprivation_decile, NULL, NULL
    FROM raw.adult_household_children c
    LEFT JOIN raw.adult_episodes a ON a.la_code = c.la_code AND a.service_file = c.service_file
                                  AND a.episode_pseudonym = c.episode_pseudonym AND a.period_end = c.period_end
) r
JOIN linkage.person_links l ON l.source_record_id = r.record_id AND l.person_type = 'child';

-- One row per child: the birth month, sex and ethnicity most of its records give (ties: the latest
-- record), and disability (any record saying disabled; else any saying not; else unknown).
CREATE OR REPLACE TABLE staging.child_attributes AS
WITH votes AS (
    SELECT person_key, 'birth_month' AS item, strftime(birth_month, '%Y-%m-%d') AS value, count(*) AS n,
           max(extract_date) AS latest
    FROM staging.child_records WHERE birth_month IS NOT NULL GROUP BY ALL
    UNION ALL
    SELECT person_key, 'sex', sex, count(*), max(extract_date)
    FROM staging.child_records WHERE sex IN ('M', 'F') GROUP BY ALL
    UNION ALL
    SELECT person_key, 'ethnicity', ethnicity, count(*), max(extract_date)
    FROM staging.child_records WHERE ethnicity IS NOT NULL GROUP BY ALL
),
winners AS (
    SELECT person_key, item, max_by(value, {'n': n, 'latest': latest, 'value': value}) AS value
    FROM votes GROUP BY ALL
),
disability AS (
    SELECT person_key, CASE WHEN bool_or(disabled) THEN 'Disabled' WHEN bool_or(NOT disabled) THEN 'Not disabled'
                            ELSE 'Not known' END AS disability
    FROM staging.child_records GROUP BY person_key
)
SELECT d.person_key,
       CAST(max(value) FILTER (WHERE item = 'birth_month') AS DATE) AS birth_month,
       max(value) FILTER (WHERE item = 'sex') AS sex,
       max(value) FILTER (WHERE item = 'ethnicity') AS ethnicity,
       ethnicity_group(max(value) FILTER (WHERE item = 'ethnicity')) AS ethnicity_group,
       d.disability
FROM disability d LEFT JOIN winners w USING (person_key)
GROUP BY d.person_key, d.disability;

-- ONS population (children 0-17) by DfE LA number, ward, sex and single year of age, per mid-year.
CREATE OR REPLACE TABLE staging.population AS
SELECT p.mid_year, c.la_code, p.ward_code, p.ward_name, CASE p.sex WHEN 1 THEN 'M' WHEN 2 THEN 'F' END AS sex,
       p.age, p.population
FROM raw.ons_population p JOIN raw.la_codes c ON c.lad_code = p.la_code;

-- ONS population (children 0-17) by LSOA (optional source ons_population_lsoa), with the authority each LSOA is in
-- (its LAD in the LSOA file or the IoD file, mapped to the DfE LA number) and its IMD decile (raw.deprivation):
-- the denominators of the rates by deprivation decile and, with the Census ethnic mix, by ethnicity group.
CREATE OR REPLACE TABLE staging.population_lsoa AS
WITH lsoa_la AS (
    SELECT x.lsoa_code, min(c.la_code) AS la_code
    FROM (SELECT DISTINCT lsoa_code, lad_code FROM raw.ons_population_lsoa
          UNION SELECT DISTINCT lsoa_code, lad_code FROM raw.deprivation WHERE lad_code IS NOT NULL) x
    JOIN raw.la_codes c ON c.lad_code = x.lad_code
    GROUP BY x.lsoa_code
),
decile AS (SELECT lsoa_code, min(TRY_CAST(imd_decile AS INTEGER)) AS imd_decile FROM raw.deprivation GROUP BY lsoa_code)
SELECT TRY_CAST(p.mid_year AS INTEGER) AS mid_year, l.la_code, p.lsoa_code, d.imd_decile,
       CASE TRY_CAST(p.sex AS INTEGER) WHEN 1 THEN 'M' WHEN 2 THEN 'F' END AS sex, TRY_CAST(p.age AS INTEGER) AS age,
       TRY_CAST(p.population AS BIGINT) AS population
FROM raw.ons_population_lsoa p JOIN lsoa_la l USING (lsoa_code) LEFT JOIN decile d USING (lsoa_code);

-- Census 2021 ethnic mix of each area (optional source census_ethnicity): the share of each broad ethnicity group
-- among usual residents (all ages, or aged 15 and under from RM032: age_basis), by LSOA or ward.
CREATE OR REPLACE TABLE staging.ethnic_shares AS
WITH counts AS (
    SELECT area_code, max(area_type) AS area_type, ethnicity_group, max(age_basis) AS age_basis,
           sum(TRY_CAST(population AS BIGINT)) AS residents
    FROM raw.census_ethnicity WHERE ethnicity_group IS NOT NULL GROUP BY area_code, ethnicity_group
),
totals AS (SELECT area_code, sum(residents) AS total FROM counts GROUP BY area_code)
SELECT c.area_code, c.area_type, c.ethnicity_group, c.age_basis, c.residents / t.total AS share
FROM counts c JOIN totals t USING (area_code) WHERE t.total > 0;
