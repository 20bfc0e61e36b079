-- Spells of identified neglect (after journey_states.sql): the temporary tables `journey_spells` and
-- `episode_rows` (marts.neglect_episodes).
CREATE OR REPLACE TEMP TABLE journey_spells AS
WITH seen AS (
    SELECT r.as_at, r.as_at_qn, r.history_qn, s.*
    FROM journey_runs r JOIN journey_states s ON s.qn <= r.as_at_qn AND s.tier BETWEEN 1 AND 4
),
numbered AS (
    SELECT *, sum(CASE WHEN gap IS NULL OR gap > 2 THEN 1 ELSE 0 END)
                  OVER (PARTITION BY as_at, la_code, person_key ORDER BY qn) AS spell_number
    FROM (SELECT *, qn - lag(qn) OVER (PARTITION BY as_at, la_code, person_key ORDER BY qn) AS gap FROM seen)
),
spells AS (
    SELECT as_at, as_at_qn, history_qn, la_code, person_key, spell_number, any_value(birth_month) AS birth_month,
           min(period_end) AS first_quarter_end, max(period_end) AS last_quarter_end, min(qn) AS first_qn,
           max(qn) AS last_qn, count(*) AS quarters_identified, arg_min(tier, qn) AS first_tier,
           arg_max(tier, qn) AS latest_tier, min(tier) AS strongest_tier,
           list_sort(list_distinct(flatten(list(kinds)))) AS kinds
    FROM numbered GROUP BY ALL
),
later_elsewhere AS (  -- a tier in another authority in the two quarters after the spell's last
    SELECT DISTINCT s.as_at, s.la_code, s.person_key, s.spell_number
    FROM spells s JOIN journey_states o ON o.person_key = s.person_key AND o.la_code <> s.la_code
                                         AND o.la_code <> 'partnership' AND o.qn BETWEEN s.last_qn + 1 AND s.last_qn + 2
                                         AND o.qn <= s.as_at_qn
    WHERE s.la_code <> 'partnership'
      AND NOT EXISTS (SELECT 1 FROM journey_states h WHERE h.person_key = s.person_key AND h.la_code = s.la_code
                      AND h.qn BETWEEN s.last_qn + 1 AND least(s.last_qn + 2, s.as_at_qn))
)
SELECT s.*,
       lag(s.last_quarter_end) OVER w AS previous_spell_last_quarter_end,
       s.first_qn - lag(s.last_qn) OVER w AS quarters_since_previous_spell,
       l.person_key IS NOT NULL AS moved_away
FROM spells s
LEFT JOIN later_elsewhere l USING (as_at, la_code, person_key, spell_number)
WINDOW w AS (PARTITION BY s.as_at, s.la_code, s.person_key ORDER BY s.spell_number);

-- marts.neglect_episodes rows --------------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE episode_rows AS
SELECT as_at AS period_end, la_code, person_key, spell_number, first_quarter_end, last_quarter_end,
       CASE WHEN last_qn = as_at_qn THEN 'open'
            WHEN birth_month IS NOT NULL
                 AND birth_month + INTERVAL 18 YEAR <= last_day(last_quarter_end + INTERVAL 3 MONTH) THEN 'aged out'
            WHEN moved_away THEN 'moved away'
            WHEN last_qn = as_at_qn - 1 THEN 'open, no evidence this quarter'
            ELSE 'resolved' END AS status,
       quarters_identified, 3 * (last_qn - first_qn + 1) AS months_in_spell,
       first_tier, latest_tier, strongest_tier,
       list_sort(list_distinct(list_filter(list_transform(kinds, lambda k:
           CASE WHEN k LIKE 'cp\_%' ESCAPE '\' THEN 'child protection'
                WHEN k IN ('assessment_16A', 'assessment_other_abuse', 'primary_need_N1') THEN 'children in need'
                WHEN k LIKE 'eh\_%' ESCAPE '\' THEN 'early help'
                WHEN k LIKE 'adult\_%' ESCAPE '\' THEN 'adult services'
                WHEN k LIKE 'partner:%' THEN 'partner agencies' END), lambda s: s IS NOT NULL))) AS services,
       strongest_tier < first_tier AS escalated,
       first_tier >= 3 AND strongest_tier <= 2 AS escalated_to_cp_plan,
       spell_number > 1 AS re_entry,
       previous_spell_last_quarter_end,
       coalesce(quarters_since_previous_spell <= 4, false) AS re_entry_within_12_months,
       first_qn = history_qn AS started_before_history
FROM journey_spells;

