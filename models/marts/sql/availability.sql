-- Which sources each authority supplied for each quarter, and so which tiers can be counted.
-- For the quarters in the temporary table `periods`. Inputs: quality.load_audit (one row per file,
-- and per authority, period and source with no file: status 'not supplied'), and two temporary
-- tables registered by models/marts/availability.py from the source registry and the definitions:
--   registered_sources(source, partitioning, label)  every partitioned source declared
--   kind_sources(kind, source, needs)             which sources can feed each evidence kind (needs: the
--                                                 column a file must have to feed it, else NULL)
--   tier_kinds(tier, rule, kind)                  each tier's kinds: rule 'all_of' / 'any_of'
--   partnership_authorities(la_code)              the authorities the marts count (staging.population), so
--                                                 that one which sent no file at all is 'not supplied' too
-- Outputs (tables):
--   marts.source_availability  period_end, la_code, source, status, note
--       status 'supplied' (a file of the period loaded), 'failed' (a file could not be read),
--       'not supplied' (no file), or for a census source 'carried forward' (no return for the
--       quarter's collection year, but the previous year's return was loaded: its open records
--       still count, as at its 31 March). A return that could not be read is 'failed', not carried
--       forward: the analyst should mend it rather than have last year's stand in unnoticed.
--   marts.authority_presence   period_end, la_code, present: the authority supplied a file of any
--       source for the quarter (a census return covering its collection year counts). An authority
--       not present is left out of that quarter's partnership figures, numerator and population.
--   marts.tier_availability    period_end, la_code (authorities and 'partnership'), tier, available,
--       missing: a tier is available when its all_of kinds each, and one of its any_of kinds, have a
--       source that is supplied (or carried forward); for the partnership, when it is available in
--       every present authority (else `missing` names the authorities and sources).

CREATE SCHEMA IF NOT EXISTS marts;

-- which source can feed which evidence kind (kept for the marts that judge how much history each figure has)
CREATE OR REPLACE TABLE marts.source_kinds AS
SELECT k.kind, r.source, r.partitioning, r.label FROM kind_sources k JOIN registered_sources r USING (source);

CREATE OR REPLACE TEMP TABLE _supply AS
SELECT source, la_code, period_end,
       CASE WHEN bool_or(status = 'loaded') AND NOT bool_or(status = 'failed') THEN 'supplied'
            WHEN bool_or(status = 'failed') THEN 'failed' ELSE 'not supplied' END AS status
FROM quality.load_audit
WHERE period_end IS NOT NULL AND la_code IS NOT NULL AND la_code <> '000'
GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE _quarters AS SELECT DISTINCT period_end FROM periods;
CREATE OR REPLACE TEMP TABLE _authorities AS
SELECT DISTINCT la_code FROM _supply WHERE source IN (SELECT source FROM registered_sources)
UNION  -- an authority the marts count (partnership_authorities: in staging.population) that sent no file at all
SELECT la_code FROM partnership_authorities;

CREATE OR REPLACE TEMP TABLE _availability AS
WITH grid AS (
    SELECT q.period_end, a.la_code, r.source, r.partitioning,
           -- the census return covering the quarter: 31 March of its collection year
           make_date(year(q.period_end) + CASE WHEN month(q.period_end) > 3 THEN 1 ELSE 0 END, 3, 31) AS census_date
    FROM _quarters q CROSS JOIN _authorities a CROSS JOIN registered_sources r
)
SELECT g.period_end, g.la_code, g.source,
       CASE WHEN g.partitioning = 'quarter' THEN coalesce(s.status, 'not supplied')
            WHEN c.status IN ('supplied', 'failed') THEN c.status  -- a return that could not be read: fix it
            WHEN p.status = 'supplied' THEN 'carried forward'
            ELSE 'not supplied' END AS status,
       CASE WHEN g.partitioning = 'census_year' AND coalesce(c.status, 'not supplied') = 'not supplied'
                 AND p.status = 'supplied'
            THEN 'no return for the collection year ending ' || strftime(g.census_date, '%d %B %Y')
                 || ': the return to ' || strftime(g.census_date - INTERVAL 1 YEAR, '%d %B %Y') || ' is used'
       END AS note
FROM grid g
LEFT JOIN _supply s ON g.partitioning = 'quarter' AND s.source = g.source AND s.la_code = g.la_code
                   AND s.period_end = g.period_end
LEFT JOIN _supply c ON g.partitioning = 'census_year' AND c.source = g.source AND c.la_code = g.la_code
                   AND c.period_end = g.census_date
LEFT JOIN _supply p ON g.partitioning = 'census_year' AND p.source = g.source AND p.la_code = g.la_code
                   AND p.period_end = CAST(g.census_date - INTERVAL 1 YEAR AS DATE);

CREATE TABLE IF NOT EXISTS marts.source_availability (
    period_end DATE NOT NULL, la_code VARCHAR NOT NULL, source VARCHAR NOT NULL, status VARCHAR NOT NULL,
    note VARCHAR);
DELETE FROM marts.source_availability WHERE period_end IN (SELECT period_end FROM _quarters);
INSERT INTO marts.source_availability BY NAME SELECT * FROM _availability ORDER BY period_end, la_code, source;

-- marts.authority_presence is created by models/marts/evidence.py (ensure_presence_table)
DELETE FROM marts.authority_presence WHERE period_end IN (SELECT period_end FROM _quarters);
INSERT INTO marts.authority_presence BY NAME
SELECT period_end, la_code, bool_or(status = 'supplied') AS present FROM _availability GROUP BY ALL
ORDER BY period_end, la_code;

-- a source supplied without the column a kind needs (kind_sources.needs, the declaration's evidence_columns:
-- an Annex A list 4 without assessment factors) cannot feed that kind: every file it sent lacks the column
CREATE OR REPLACE TEMP TABLE _lacking AS
SELECT a.source, a.la_code, a.period_end, k.kind, k.needs
FROM quality.load_audit a JOIN kind_sources k ON k.source = a.source AND k.needs IS NOT NULL
WHERE a.status = 'loaded' AND a.period_end IS NOT NULL
GROUP BY ALL
HAVING bool_and(list_contains(string_split(coalesce(a.columns_missing, ''), ','), k.needs));

CREATE OR REPLACE TEMP TABLE _kind_availability AS
WITH usable AS (
    SELECT a.period_end, a.la_code, k.kind, a.source, r.label,
           CASE WHEN a.status IN ('supplied', 'carried forward') AND l.needs IS NOT NULL
                THEN 'supplied without ' || l.needs ELSE a.status END AS status
    FROM _availability a JOIN kind_sources k USING (source) JOIN registered_sources r USING (source)
    LEFT JOIN _lacking l ON l.source = a.source AND l.la_code = a.la_code AND l.period_end = a.period_end
                        AND l.kind = k.kind
)
SELECT period_end, la_code, kind,
       bool_or(status IN ('supplied', 'carried forward')) AS available,
       string_agg(DISTINCT label || ' ' || status, ', ' ORDER BY label || ' ' || status)
           FILTER (WHERE status NOT IN ('supplied', 'carried forward')) AS missing_sources
FROM usable
GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE _authority_tiers AS
WITH per_kind AS (
    SELECT q.period_end, a.la_code, t.tier, t.rule, t.kind,
           coalesce(k.available, false) AS available,
           coalesce(k.missing_sources, 'no source declared for ' || t.kind) AS missing_sources
    FROM _quarters q CROSS JOIN _authorities a CROSS JOIN tier_kinds t
    LEFT JOIN _kind_availability k ON k.period_end = q.period_end AND k.la_code = a.la_code AND k.kind = t.kind
)
SELECT period_end, la_code, tier,
       coalesce(bool_and(available) FILTER (WHERE rule = 'all_of'), true)
           AND coalesce(bool_or(available) FILTER (WHERE rule = 'any_of'), true) AS available,
       string_agg(DISTINCT missing_sources, '; ' ORDER BY missing_sources) FILTER (WHERE NOT available) AS missing
FROM per_kind GROUP BY ALL;

CREATE TABLE IF NOT EXISTS marts.tier_availability (
    period_end DATE NOT NULL, la_code VARCHAR NOT NULL, tier INTEGER NOT NULL, available BOOLEAN NOT NULL,
    missing VARCHAR);
DELETE FROM marts.tier_availability WHERE period_end IN (SELECT period_end FROM _quarters);
INSERT INTO marts.tier_availability BY NAME
SELECT period_end, la_code, tier, available, CASE WHEN NOT available THEN missing END AS missing
FROM _authority_tiers
UNION ALL
SELECT t.period_end, 'partnership', t.tier,
       bool_and(t.available) AS available,
       string_agg(coalesce(n.la_name, t.la_code) || ': ' || t.missing, '; ' ORDER BY t.la_code)
           FILTER (WHERE NOT t.available) AS missing
FROM _authority_tiers t
JOIN marts.authority_presence p USING (period_end, la_code)
LEFT JOIN raw.la_codes n ON n.la_code = t.la_code
WHERE p.present
GROUP BY ALL
ORDER BY period_end, la_code, tier;
