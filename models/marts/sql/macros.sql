-- Definitions every mart SQL file shares. models/marts/evidence.py (read_sql) runs this file before each
-- SQL file it runs, with the macros tier_definitions.yaml decides (models/marts/definitions.py): they are
-- stored in the warehouse, so after a build every file in this folder runs on it as it stands in the DuckDB
-- command line (a file reading a temporary table, e.g. tiers.sql reading active_evidence, after the file
-- that makes it).

-- Age band of a child aged `age` (whole years) on the date concerned: 0-4, 5-9, 10-15, 16-17 ('Not known'
-- without a birth month). A child aged 18 in a 12-month window was 17 in it: counted as 16-17.
CREATE OR REPLACE MACRO age_band(age) AS
    CASE WHEN age IS NULL THEN 'Not known'
         WHEN least(age, 17) < 5 THEN '0-4' WHEN least(age, 17) < 10 THEN '5-9'
         WHEN least(age, 17) < 16 THEN '10-15' ELSE '16-17' END;

-- DfE ethnicity code (CIN census and Annex A: WBRI, MWBC, AIND, BAFR, CHNE, OOTH, REFU, NOBT ...) to its
-- broad group; refused, not obtained, missing or unknown: 'Not known'.
CREATE OR REPLACE MACRO ethnicity_group(code) AS
    CASE WHEN code IN ('REFU', 'NOBT') THEN 'Not known'
         ELSE CASE left(code, 1)
              WHEN 'W' THEN 'White' WHEN 'M' THEN 'Mixed' WHEN 'A' THEN 'Asian or Asian British'
              WHEN 'B' THEN 'Black or Black British' WHEN 'C' THEN 'Other ethnic group'
              WHEN 'O' THEN 'Other ethnic group' ELSE 'Not known' END END;

-- The broad groups ethnicity_group gives, in the order tables show them.
CREATE OR REPLACE MACRO ethnicity_groups() AS
    ['White', 'Mixed', 'Asian or Asian British', 'Black or Black British', 'Other ethnic group', 'Not known'];

-- The end the marts use for a plan, episode or assessment: its recorded end or, while it is recorded as
-- open, the last extract it appeared in (a record that stops appearing has ended; what happened after
-- the latest extract is not known). The CIN census's carried-forward year is applied in staging.sql.
CREATE OR REPLACE MACRO effective_end(recorded_end, last_seen) AS coalesce(recorded_end, last_seen);

-- Where a child lived on `day`, the key max_by picks their address record by (tiers.sql, commissioning.sql): an
-- address covering the day first, then the latest record extracted on or before it, else the earliest after it;
-- records that tie (the same extract date) by source (person list, early help, then adult services' household
-- lists), then ward, LSOA and decile, so the choice never depends on the order DuckDB's threads read the rows in.
CREATE OR REPLACE MACRO address_preference(address_from, address_to, extract_date, source, ward_code, lsoa_code,
                                           deprivation_decile, day) AS
    {'when': CASE WHEN address_from <= day AND (address_to IS NULL OR address_to > day)
                      THEN 3000000 + date_diff('day', DATE '1970-01-01', extract_date)
                  WHEN extract_date <= day
                      THEN 2000000 + date_diff('day', DATE '1970-01-01', extract_date)
                  ELSE 1000000 - date_diff('day', DATE '1970-01-01', extract_date) END,
     'source': CASE source WHEN 'person_list' THEN 3 WHEN 'early_help' THEN 2 ELSE 1 END,
     'ward_code': ward_code, 'lsoa_code': lsoa_code, 'deprivation_decile': deprivation_decile};
