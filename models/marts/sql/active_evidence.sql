-- The evidence current for each child in each period: the temporary table `active_evidence`,
-- one row per period, measure, child (person_key), authority, kind and evidence record, for the
-- periods in the temporary table `periods` (period_end, measure, window_start).
--
-- measure 'point':    evidence whose window contains the quarter end (window_start = period_end);
-- measure '12_month': evidence whose window overlaps the 12 months to the quarter end.
-- Only children under 18 in the period are kept: for 'point', born by and aged 0-17 on the quarter
-- end; for '12_month', born by the quarter end and not yet 18 at the start of the window (a child
-- whose birth month is unknown is kept). Ages come from the birth month, exact on a month end.
-- `age` is the age in whole years on the quarter end. `recorded_in_window`: the evidence was recorded
-- (one of its recorded_dates, evidence.sql) within the window [window_start, period_end]: what puts
-- a child on a capture-recapture list. Tiers do not use it.

CREATE OR REPLACE TEMP TABLE active_evidence AS
SELECT w.period_end, w.measure, w.window_start, e.person_key, e.la_code, e.kind, e.person_record_id,
       date_sub('year', a.birth_month, w.period_end) AS age,
       len(list_filter(e.recorded_dates, lambda d: d BETWEEN w.window_start AND w.period_end)) > 0 AS recorded_in_window
FROM marts.child_neglect_evidence e
JOIN periods w ON e.evidence_start <= w.period_end
              AND (e.evidence_end IS NULL OR e.evidence_end >= w.window_start)
LEFT JOIN staging.child_attributes a USING (person_key)
WHERE a.birth_month IS NULL
   OR (a.birth_month <= w.period_end
       AND CASE WHEN w.measure = 'point' THEN date_sub('year', a.birth_month, w.period_end) < 18
                ELSE a.birth_month + INTERVAL 18 YEAR >= w.window_start END);
