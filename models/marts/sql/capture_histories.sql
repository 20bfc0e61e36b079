-- Capture histories for hidden prevalence: the temporary table `capture_histories`, one row per
-- quarter end, linkage variant, area, stratum (age band) and history (one 0/1 column per list of
-- tier_definitions.yaml), with `children` = the number of distinct children with that history.
-- Only children on at least one list appear (the all-zero history cannot be observed).
--
-- Input: `active_evidence` (active_evidence.sql, measure '12_month': evidence current at any time
-- in the 12 months to the quarter end, children under 18 in that window) and the temporary table
-- `linkage_variants` (variant, threshold, partnership_only). Variant 'match threshold' counts
-- children by person_key; the others by the clustering the linkage formed at another threshold
-- (linkage.person_links_sensitivity, via each evidence row's person_record_id).
-- Lists: capture_history(kinds), the macro models/marts/definitions.py writes from tier_definitions.yaml
-- (one 0/1 field per list, named as the list). Which evidence puts a child on a list for the window: the
-- variable capture_lists_recorded_in_window (`SET VARIABLE capture_lists_recorded_in_window = true;` in the
-- DuckDB command line). true (the lists hidden prevalence estimates from): evidence *recorded* in the 12
-- months (a new assessment, a plan started or reviewed, an early-help assessment, an adult episode
-- started), not a record opened earlier and merely still open. false: any evidence current in the window
-- (the lists before December 2026, kept for the legacy columns).

CREATE OR REPLACE TEMP TABLE capture_histories AS
WITH keyed AS (
    SELECT a.period_end, v.variant, v.threshold, v.partnership_only, a.la_code, a.kind, a.age,
           CASE WHEN v.threshold IS NULL THEN a.person_key ELSE coalesce(s.person_key, a.person_key) END AS child
    FROM active_evidence a
    CROSS JOIN linkage_variants v
    LEFT JOIN linkage.person_links_sensitivity s
           ON v.threshold IS NOT NULL AND s.threshold = v.threshold AND s.source_record_id = a.person_record_id
    WHERE a.measure = '12_month' AND (a.recorded_in_window OR NOT getvariable('capture_lists_recorded_in_window'))
),
children AS (
    SELECT period_end, variant, threshold, la_code, child, list(DISTINCT kind ORDER BY kind) AS kinds,
           max(age) AS age
    FROM keyed WHERE NOT partnership_only GROUP BY ALL
    UNION ALL
    SELECT period_end, variant, threshold, 'partnership', child, list(DISTINCT kind ORDER BY kind), max(age)
    FROM keyed k
    WHERE NOT EXISTS (SELECT 1 FROM marts.authority_presence p  -- an authority that supplied nothing is left out
                      WHERE p.period_end = k.period_end AND p.la_code = k.la_code AND NOT p.present)
    GROUP BY ALL
),
histories AS (
    SELECT period_end, variant, threshold, la_code, age_band(age) AS stratum, capture_history(kinds) AS history
    FROM children
    WHERE on_a_capture_list(kinds)
)
SELECT period_end, variant, threshold, la_code, stratum, history.*, count(*) AS children
FROM histories
GROUP BY period_end, variant, threshold, la_code, stratum, history;
