-- marts.gcp2_progress (issue 21): the temporary table `gcp2_changes`, one row per quarter end, area, service,
-- domain and child with two or more GCP2 assessments: the domain's score at the first and the latest. Read by
-- models/marts/gcp2.py, which counts them. Inputs: raw.gcp2_assessments (optional source: an empty table when
-- never supplied), linkage.person_links, quality.load_audit, the temporary table `periods`.
--
-- * An assessment is the child's (person_key), its authority, service, date and four domain scores; the same
--   assessment in two rows (re-sent in a later extract, or a near copy) counts once. Rows rejected on load
--   (a score outside 1-5, an exact duplicate, no date) are not here.
-- * Domains: each of the four over the assessments that scored it (a blank domain was not scored); 'any
--   domain' is the highest of the four, over the assessments that scored all four.
-- * A child counts for a quarter end when they have assessments on two or more dates up to it, the latest in
--   the 12 months to it; first and latest by date (two on one date: the lower score counts as the earlier).
-- * Services: 'early help', 'children''s social care' (each over that service's assessments) and 'all'.
-- * Areas: each authority (its own assessments) and 'partnership' (every assessment, each child once).
-- * Only where supplied: an authority's rows for a quarter end only when its GCP2 file of that quarter loaded
--   (quality.load_audit); the partnership's only when every authority of the partnership (any file in the load
--   audit) loaded that quarter's: a partnership figure from some authorities only would not be the partnership's.

CREATE OR REPLACE TEMP TABLE gcp2_supplied AS
WITH quarters AS (SELECT DISTINCT period_end FROM periods),
loaded AS (
    SELECT DISTINCT la_code, period_end FROM quality.load_audit
    WHERE source = 'gcp2_assessments' AND status = 'loaded' AND la_code IS NOT NULL
),
authorities AS (  -- every authority of the partnership (any source, any status)
    SELECT DISTINCT la_code FROM quality.load_audit WHERE la_code IS NOT NULL AND la_code <> '000'
)
SELECT q.period_end, l.la_code FROM quarters q JOIN loaded l USING (period_end)
UNION ALL
SELECT q.period_end, 'partnership' FROM quarters q
WHERE EXISTS (SELECT 1 FROM loaded l WHERE l.period_end = q.period_end)
  AND NOT EXISTS (SELECT 1 FROM authorities a WHERE NOT EXISTS (
      SELECT 1 FROM loaded l WHERE l.la_code = a.la_code AND l.period_end = q.period_end));

CREATE OR REPLACE TEMP TABLE gcp2_changes AS
WITH assessed AS (
    SELECT DISTINCT l.person_key, g.la_code, g.service, CAST(g.assessment_date AS DATE) AS assessment_date,
           g.gcp2_physical_care, g.gcp2_safety, g.gcp2_love_and_care, g.gcp2_stimulation
    FROM raw.gcp2_assessments g
    JOIN linkage.person_links l ON l.source = 'gcp2_assessments' AND l.source_record_id = g.record_id
    WHERE g.assessment_date IS NOT NULL AND g.service IS NOT NULL
),
scores AS (
    SELECT person_key, la_code, service, assessment_date, domain, score FROM assessed
    UNPIVOT (score FOR domain IN (gcp2_physical_care AS 'physical care', gcp2_safety AS 'safety',
                                  gcp2_love_and_care AS 'love and care', gcp2_stimulation AS 'stimulation'))
    UNION ALL
    SELECT person_key, la_code, service, assessment_date, 'any domain',
           greatest(gcp2_physical_care, gcp2_safety, gcp2_love_and_care, gcp2_stimulation)
    FROM assessed
    WHERE gcp2_physical_care IS NOT NULL AND gcp2_safety IS NOT NULL AND gcp2_love_and_care IS NOT NULL
      AND gcp2_stimulation IS NOT NULL
),
areas AS (  -- each authority's own assessments, and the partnership's (all of them)
    SELECT la_code AS area, * FROM scores WHERE score IS NOT NULL
    UNION ALL
    SELECT 'partnership', * FROM scores WHERE score IS NOT NULL
),
services AS (
    SELECT * REPLACE (service AS service) FROM areas
    UNION ALL
    SELECT * REPLACE ('all' AS service) FROM areas
)
SELECT s.period_end, a.area AS la_code, a.service, a.domain, a.person_key,
       min({'d': a.assessment_date, 's': a.score}).s AS first_score,
       max({'d': a.assessment_date, 's': a.score}).s AS latest_score
FROM services a
JOIN gcp2_supplied s ON s.la_code = a.area AND a.assessment_date <= s.period_end
GROUP BY ALL
HAVING count(DISTINCT a.assessment_date) >= 2 AND max(a.assessment_date) > CAST(s.period_end - INTERVAL 12 MONTH AS DATE);
