"""Checks on the journey and threshold marts (issue 21), as plain functions over the warehouse; the Dagster asset
checks call them. Each recounts from ``marts.child_neglect_tier`` or ``staging.*`` instead of trusting the mart
it checks, and fails when there is nothing to check (an empty mart is not a correct one) -- except where the
partnership's history is too short for the mart to have rows yet (its first quarter, its first year), which the
check says in words.

- :func:`transitions_recount`: for every quarter and area, the children flowing into each tier equal the
  children in that tier on the quarter end, and those flowing out of each tier equal the children in it on the
  previous quarter end (the tier table, measure ``point``); passes, saying so, on a partnership's first quarter
  (no quarter end before the run's in the tier table: no flow yet).
- :func:`episodes_recount`: for every quarter and area, the open spells (``status = 'open'``) equal the children
  in tiers 1-4 on the quarter end, no child has two open spells, and the quarters identified summed over spells
  equal the child-quarters in tiers 1-4 up to the quarter end.
- :func:`cohort_outcomes_recount`: every cohort's outcomes add up to the cohort, the cohort equals the
  children whose first quarter end in tiers 1-4 (in the tier table) is the cohort quarter, and no cohort due is
  missing (passes, saying so, when the history is too short for any cohort to be followed yet).
- :func:`conversion_nested`: every step's numerator is at most its denominator, the stages nest (a step's
  denominator is the previous step's numerator) and the referral counts equal the neglect-related episodes
  recounted from ``staging.cin_episodes`` / ``staging.cin_assessments``.
- :func:`gcp2_progress_recount`: GCP2 progress adds up and its four domains recount from ``raw.gcp2_assessments``
  (passes, saying *not supplied*, where no authority sent GCP2 assessments for the quarters).
- :func:`profile_entrants_recount`: CP plan entrants per quarter and authority equal the children with a plan
  starting in the quarter in ``staging.cp_plans``.
"""
from __future__ import annotations

from datetime import date

from .marts import EXAMPLES, _periods_list_sql, _periods_sql, _rows
from .population import RuleOutcome


def _outcome(checked: int, wrong: int, examples, what: str, failure: str) -> RuleOutcome:
    if checked == 0:
        return RuleOutcome(False, f"no {what} to check for these quarters", {"checked": 0})
    return RuleOutcome(wrong == 0, f"{checked:,} {what}; {wrong} {failure}",
                       {"checked": checked, "wrong": wrong, "examples": list(examples or [])[:EXAMPLES]})


def transitions_recount(conn, period_ends: list[date]) -> RuleOutcome:
    checked, wrong, examples = _rows(conn, f"""
        WITH flows AS (
            SELECT period_end AS day, la_code, to_tier AS tier, sum(children) AS children FROM marts.tier_transitions
            WHERE to_tier IS NOT NULL AND period_end IN {_periods_sql(period_ends)} GROUP BY ALL
            UNION ALL
            SELECT previous_period_end, la_code, from_tier, -sum(children) FROM marts.tier_transitions
            WHERE from_tier IS NOT NULL AND period_end IN {_periods_sql(period_ends)} GROUP BY ALL
        ),
        expected AS (
            SELECT t.period_end AS day, t.la_code, t.tier, count(*) AS children FROM marts.child_neglect_tier t
            WHERE t.measure = 'point' AND t.tier IS NOT NULL
              AND t.period_end IN (SELECT period_end FROM marts.tier_transitions
                                   WHERE period_end IN {_periods_sql(period_ends)}
                                   UNION SELECT previous_period_end FROM marts.tier_transitions
                                   WHERE period_end IN {_periods_sql(period_ends)})
            GROUP BY ALL
        ),
        compared AS (  -- into a day (positive) and out of it (negative), each against the tier table
            SELECT f.day, f.la_code, f.tier, f.children AS flow, e.children AS expected
            FROM flows f LEFT JOIN expected e USING (day, la_code, tier)
        )
        SELECT count(*), count(*) FILTER (WHERE abs(flow) IS DISTINCT FROM expected),
               list(strftime(day, '%Y-%m-%d') || ' ' || la_code || ' tier ' || tier)
                   FILTER (WHERE abs(flow) IS DISTINCT FROM expected)
        FROM compared""")[0]
    if checked == 0:  # a first quarter: passes when the tier table has the quarters but none before them
        here, before, first = _rows(conn, f"""
            SELECT count(*) FILTER (WHERE period_end IN {_periods_sql(period_ends)}),
                   count(*) FILTER (WHERE period_end IN (SELECT CAST(last_day(d - INTERVAL 3 MONTH) AS DATE)
                                                         FROM (SELECT unnest({_periods_list_sql(period_ends)}) AS d))),
                   min(period_end)
            FROM marts.child_neglect_tier WHERE measure = 'point' AND tier IS NOT NULL""")[0]
        if here and not before:
            return RuleOutcome(True, "no flow to recount yet: no quarter end before these quarters in the tier table "
                                     f"(it starts at {first:%d %B %Y}); marts.tier_transitions rightly has no rows "
                                     "for them", {"checked": 0})
    return _outcome(checked, wrong, examples, "flow margins (area, quarter end, tier)",
                    "differ from the children in that tier in marts.child_neglect_tier")


def episodes_recount(conn, period_ends: list[date]) -> RuleOutcome:
    checked, wrong, examples = _rows(conn, f"""
        WITH spells AS (
            SELECT period_end, la_code, count(*) FILTER (WHERE status = 'open') AS open_spells,
                   count(DISTINCT person_key) FILTER (WHERE status = 'open') AS open_children,
                   sum(quarters_identified) AS quarters
            FROM marts.neglect_episodes WHERE period_end IN {_periods_sql(period_ends)} GROUP BY ALL
        ),
        runs AS (SELECT DISTINCT period_end AS as_at FROM spells),
        expected AS (
            SELECT r.as_at AS period_end, t.la_code, count(*) FILTER (WHERE t.period_end = r.as_at) AS identified_now,
                   count(*) AS child_quarters
            FROM runs r JOIN marts.child_neglect_tier t ON t.period_end <= r.as_at
            WHERE t.measure = 'point' AND t.tier BETWEEN 1 AND 4 GROUP BY ALL
        )
        SELECT count(*), count(*) FILTER (WHERE s.open_spells IS DISTINCT FROM e.identified_now
                                          OR s.open_children <> s.open_spells OR s.quarters IS DISTINCT FROM e.child_quarters),
               list(strftime(s.period_end, '%Y-%m-%d') || ' ' || s.la_code)
                   FILTER (WHERE s.open_spells IS DISTINCT FROM e.identified_now
                           OR s.open_children <> s.open_spells OR s.quarters IS DISTINCT FROM e.child_quarters)
        FROM spells s LEFT JOIN expected e USING (period_end, la_code)""")[0]
    return _outcome(checked, wrong, examples, "quarter x area spell tables",
                    "where the open spells or the quarters identified differ from the tier table")


def cohort_outcomes_recount(conn, period_ends: list[date]) -> RuleOutcome:
    """Every cohort's outcomes add up to the cohort, the cohort equals the children first in tiers 1-4 (in the
    tier table) on its quarter end, and every cohort due -- children first identified 4 or 8 quarters before a
    run quarter -- has its cells. Passes, saying so, when the tier table has these quarters but no child was
    first identified 4 or 8 quarters before any of them (a partnership whose history is shorter than a year:
    there is no cohort to follow yet, and the mart rightly has no rows)."""
    periods = _periods_sql(period_ends)
    checked, wrong, examples = _rows(conn, f"""
        WITH cells AS (
            SELECT period_end, cohort_period_end, horizon_quarters, la_code, sum(children) AS children,
                   any_value(cohort_children) AS cohort_children
            FROM marts.cohort_outcomes WHERE period_end IN {periods} GROUP BY ALL
        ),
        firsts AS (
            SELECT la_code, person_key, min(period_end) AS first_identified FROM marts.child_neglect_tier
            WHERE measure = 'point' AND tier BETWEEN 1 AND 4 GROUP BY ALL
        ),
        expected AS (
            SELECT first_identified AS cohort_period_end, la_code, count(*) AS cohort FROM firsts GROUP BY ALL
        ),
        due AS (  -- the cohorts the run's quarters follow, recounted: first identified 4 or 8 quarters before
            SELECT r.period_end, h.horizon_quarters, e.la_code, e.cohort_period_end
            FROM (SELECT unnest({_periods_list_sql(period_ends)}) AS period_end) r
            CROSS JOIN (VALUES (4), (8)) h(horizon_quarters)
            JOIN expected e ON 4 * year(e.cohort_period_end) + quarter(e.cohort_period_end)
                               = 4 * year(r.period_end) + quarter(r.period_end) - h.horizon_quarters
        ),
        judged AS (
            SELECT c.period_end, c.cohort_period_end, c.horizon_quarters, c.la_code,
                   c.children <> c.cohort_children OR c.cohort_children IS DISTINCT FROM e.cohort AS bad
            FROM cells c LEFT JOIN expected e USING (cohort_period_end, la_code)
            UNION ALL  -- a cohort due with no cells in the mart
            SELECT d.period_end, d.cohort_period_end, d.horizon_quarters, d.la_code, true
            FROM due d ANTI JOIN cells c USING (period_end, cohort_period_end, horizon_quarters, la_code)
        )
        SELECT count(*), count(*) FILTER (WHERE bad),
               list(strftime(cohort_period_end, '%Y-%m-%d') || ' +' || horizon_quarters || ' ' || la_code)
                   FILTER (WHERE bad)
        FROM judged""")[0]
    if checked == 0:
        identified, first = _rows(conn, f"""
            SELECT count(*) FILTER (WHERE period_end IN {periods}), min(period_end) FROM marts.child_neglect_tier
            WHERE measure = 'point' AND tier BETWEEN 1 AND 4""")[0]
        if identified:
            return RuleOutcome(True, "no cohort to follow yet: no child was first identified 4 or 8 quarters before "
                                     f"these quarters (the tier table starts at {first:%d %B %Y}); "
                                     "marts.cohort_outcomes rightly has no rows for them", {"checked": 0})
    return _outcome(checked, wrong, examples, "cohorts followed",
                    "whose outcomes do not add up to the cohort recounted from the tier table, or that are due and "
                    "missing")


def conversion_nested(conn, period_ends: list[date], need_code: str = "N1", neglect_codes=("16A",)) -> RuleOutcome:
    codes = "[" + ", ".join(f"'{c}'" for c in neglect_codes) + "]"
    checked, wrong, examples = _rows(conn, f"""
        WITH steps AS (
            SELECT *, lag(numerator) OVER (PARTITION BY period_end, la_code ORDER BY array_position(
                       ['referral to assessment', 'assessment to section 47', 'section 47 to initial conference',
                        'initial conference to CP plan'], step)) AS previous_numerator
            FROM marts.conversion_rates
            WHERE period_end IN {_periods_sql(period_ends)} AND step <> 'referral to CP plan'
        ),
        neglect_episodes AS (
            SELECT e.la_code, e.person_key, e.referral_date FROM staging.cin_episodes e
            LEFT JOIN (SELECT person_key, la_code, referral_date,
                              bool_or(list_has_any(coalesce(factors, []), {codes})) AS f
                       FROM staging.cin_assessments GROUP BY ALL) a USING (person_key, la_code, referral_date)
            WHERE e.primary_need_code = '{need_code}' OR coalesce(a.f, false)
        ),
        referrals AS (
            SELECT s.period_end, s.la_code, count(*) AS episodes
            FROM (SELECT DISTINCT period_end, la_code, referral_window_start, referral_window_end FROM steps
                  WHERE la_code <> 'partnership') s
            JOIN neglect_episodes n ON n.la_code = s.la_code
                                   AND n.referral_date BETWEEN s.referral_window_start AND s.referral_window_end
            GROUP BY ALL
        ),
        judged AS (
            SELECT s.*, s.numerator > s.denominator
                        OR (s.previous_numerator IS NOT NULL AND s.previous_numerator <> s.denominator)
                        OR (s.step = 'referral to assessment' AND s.la_code <> 'partnership'
                            AND s.denominator IS DISTINCT FROM coalesce(r.episodes, 0)) AS bad
            FROM steps s LEFT JOIN referrals r USING (period_end, la_code)
        )
        SELECT count(*), count(*) FILTER (WHERE bad),
               list(strftime(period_end, '%Y-%m-%d') || ' ' || la_code || ' ' || step) FILTER (WHERE bad)
        FROM judged""")[0]
    return _outcome(checked, wrong, examples, "conversion steps",
                    "not nested, above their denominator, or with referrals that differ from staging")


def profile_entrants_recount(conn, period_ends: list[date]) -> RuleOutcome:
    checked, wrong, examples = _rows(conn, f"""
        WITH published AS (
            SELECT period_end, la_code, denominator AS entrants FROM marts.threshold_profile
            WHERE period_end IN {_periods_sql(period_ends)} AND service_level = 'CP plan' AND scope = 'all'
              AND indicator = 'entrants' AND la_code <> 'partnership'
        ),
        expected AS (
            SELECT p.period_end, c.la_code, count(DISTINCT c.person_key) AS entrants
            FROM (SELECT DISTINCT period_end FROM published) p
            JOIN staging.cp_plans c ON c.start_date > CAST(last_day(p.period_end - INTERVAL 3 MONTH) AS DATE)
                                   AND c.start_date <= p.period_end
            GROUP BY ALL
        )
        SELECT count(*), count(*) FILTER (WHERE p.entrants IS DISTINCT FROM coalesce(e.entrants, 0)),
               list(strftime(p.period_end, '%Y-%m-%d') || ' ' || p.la_code)
                   FILTER (WHERE p.entrants IS DISTINCT FROM coalesce(e.entrants, 0))
        FROM published p LEFT JOIN expected e USING (period_end, la_code)""")[0]
    return _outcome(checked, wrong, examples, "quarter x authority CP plan entrant counts",
                    "differ from the plans starting in the quarter in staging.cp_plans")


def gcp2_progress_recount(conn, period_ends: list[date]) -> RuleOutcome:
    """``marts.gcp2_progress``: improved + unchanged + worse = children, the share inside its interval, and, for
    the four domains by service and area, the counts recounted from ``raw.gcp2_assessments`` with window
    functions (first and latest assessment by row number), not the mart's grouping. Passes, saying so, when no
    authority supplied GCP2 assessments for the quarters (the mart then has no rows: *not supplied*)."""
    loaded = _rows(conn, f"""SELECT count(*) FROM quality.load_audit WHERE source = 'gcp2_assessments'
                             AND status = 'loaded' AND period_end IN {_periods_sql(period_ends)}""")[0][0]
    if not loaded:
        return RuleOutcome(True, "GCP2 assessments not supplied for these quarters: marts.gcp2_progress has no rows "
                                 "for them (not supplied)", {"checked": 0})
    checked, wrong, examples = _rows(conn, f"""
        WITH mart AS (
            SELECT * FROM marts.gcp2_progress WHERE quarter_end IN {_periods_sql(period_ends)}
        ),
        assessed AS (
            SELECT DISTINCT l.person_key, g.la_code, g.service, CAST(g.assessment_date AS DATE) AS day, d.domain,
                   CASE d.domain WHEN 'physical care' THEN g.gcp2_physical_care WHEN 'safety' THEN g.gcp2_safety
                        WHEN 'love and care' THEN g.gcp2_love_and_care ELSE g.gcp2_stimulation END AS score
            FROM raw.gcp2_assessments g
            JOIN linkage.person_links l ON l.source = 'gcp2_assessments' AND l.source_record_id = g.record_id
            CROSS JOIN (VALUES ('physical care'), ('safety'), ('love and care'), ('stimulation')) d(domain)
        ),
        scoped AS (
            SELECT q.quarter_end, q.la_code, s.service AS scope, a.* EXCLUDE (la_code)
            FROM (SELECT DISTINCT quarter_end, la_code FROM mart) q
            CROSS JOIN (VALUES ('early help'), ('children''s social care'), ('all')) s(service)
            JOIN assessed a ON a.day <= q.quarter_end AND a.score IS NOT NULL
                           AND (q.la_code = 'partnership' OR a.la_code = q.la_code)
                           AND (s.service = 'all' OR a.service = s.service)
        ),
        ordered AS (
            SELECT *, row_number() OVER w AS n_from_first, row_number() OVER (
                          PARTITION BY quarter_end, la_code, scope, domain, person_key ORDER BY day DESC, score DESC)
                          AS n_from_latest,
                      count(DISTINCT day) OVER (PARTITION BY quarter_end, la_code, scope, domain, person_key) AS days
            FROM scoped
            WINDOW w AS (PARTITION BY quarter_end, la_code, scope, domain, person_key ORDER BY day, score)
        ),
        per_child AS (
            SELECT quarter_end, la_code, scope AS service, domain, person_key,
                   sign(max(score) FILTER (WHERE n_from_latest = 1) - max(score) FILTER (WHERE n_from_first = 1))
                       AS direction
            FROM ordered WHERE days >= 2
            GROUP BY ALL
            HAVING max(day) > CAST(quarter_end - INTERVAL 12 MONTH AS DATE)
        ),
        expected AS (
            SELECT quarter_end, la_code, service, domain, count(*) AS children,
                   count(*) FILTER (WHERE direction < 0) AS improved, count(*) FILTER (WHERE direction > 0) AS worse
            FROM per_child GROUP BY ALL
        ),
        judged AS (
            SELECT m.*, m.improved + m.unchanged + m.worse <> m.children
                        OR (m.children > 0 AND NOT (m.improved_ci95_lower <= m.share_improved
                                                    AND m.share_improved <= m.improved_ci95_upper))
                        OR (m.domain <> 'any domain' AND (m.children <> coalesce(e.children, 0)
                            OR m.improved <> coalesce(e.improved, 0) OR m.worse <> coalesce(e.worse, 0))) AS bad
            FROM mart m LEFT JOIN expected e USING (quarter_end, la_code, service, domain)
        )
        SELECT count(*), count(*) FILTER (WHERE bad),
               list(strftime(quarter_end, '%Y-%m-%d') || ' ' || la_code || ' ' || service || ' ' || domain)
                   FILTER (WHERE bad)
        FROM judged""")[0]
    return _outcome(checked, wrong, examples, "GCP2 progress rows (quarter end, area, service, domain)",
                    "do not add up or differ from the assessments recounted from raw.gcp2_assessments")
