"""Checks on the neglect marts, as plain functions over the warehouse (the Dagster asset checks call them).

Each takes a DuckDB connection and the quarter ends being checked and returns a
:class:`checks.population.RuleOutcome`. None can pass by accident: a check with no rows to look at
fails (an empty mart is not a correct one), and the partnership and hidden-prevalence checks
recount from ``marts.child_neglect_tier`` instead of trusting the mart they check.

- :func:`tier_sets_nested`: for every area, breakdown and quarter, children in tier set 1 <= 1-2
  <= 1-4 <= 1-5 (each set contains the one before it).
- :func:`every_area_has_population`: every authority, the partnership, every ward of the ONS file
  and every age band and sex has a population above zero in every quarter.
- :func:`rates_within_range`: rates and interval bounds within 0-10,000 per 10,000, bounds around
  the rate, children <= population.
- :func:`partnership_total_is_union`: for the identified tier sets, the partnership's children =
  the sum over authorities minus children counted by more than one authority (recounted from the
  tier table), so no child is counted twice and none is lost.
- :func:`hidden_estimate_at_least_observed`: every estimated row has observed <= lower <= estimate
  <= upper, ``observed`` equals the children on at least one list recounted from the tier table,
  and a row that is not estimable carries no number.
"""
from __future__ import annotations

from datetime import date

from .population import RuleOutcome

NESTED_TIER_SETS = ("1", "1-2", "1-4", "1-5")
EXAMPLES = 5


def _periods_sql(period_ends: list[date]) -> str:
    """``(DATE '...', ...)``: the quarter ends for ``period_end IN ...``."""
    return "(" + _period_dates(period_ends) + ")"


def _periods_list_sql(period_ends: list[date]) -> str:
    """``[DATE '...', ...]``: the quarter ends as a list, e.g. for ``unnest``."""
    return "[" + _period_dates(period_ends) + "]"


def _period_dates(period_ends: list[date]) -> str:
    return ", ".join(f"DATE '{d.isoformat()}'" for d in period_ends)


def _rows(conn, sql: str) -> list[tuple]:
    return conn.execute(sql).fetchall()


def tier_sets_nested(conn, period_ends: list[date]) -> RuleOutcome:
    sets = ", ".join(f"'{s}'" for s in NESTED_TIER_SETS)
    cells, broken = _rows(conn, f"""
        WITH wide AS (
            SELECT period_end, measure, la_code, breakdown, breakdown_value,
                   list(children ORDER BY array_position([{sets}], tier_set)) AS nested
            FROM marts.neglect_prevalence
            WHERE period_end IN {_periods_sql(period_ends)} AND tier_set IN ({sets})
            GROUP BY ALL
        )
        -- a tier set not available (NULL: a failed or missing source) is not compared; the others still nest
        SELECT count(*), count(*) FILTER (WHERE len(nested) <> {len(NESTED_TIER_SETS)}
                                           OR list_filter(nested, lambda x: x IS NOT NULL)
                                              <> list_sort(list_filter(nested, lambda x: x IS NOT NULL)))
        FROM wide""")[0]
    if cells == 0:
        return RuleOutcome(False, "marts.neglect_prevalence has no rows for these quarters", {"cells": 0})
    return RuleOutcome(broken == 0, f"{cells:,} area x breakdown cells; {broken} where a wider tier set counts fewer "
                                    "children than a narrower one (or a tier set is missing)",
                       {"cells": cells, "not_nested": broken})


def every_area_has_population(conn, period_ends: list[date]) -> RuleOutcome:
    expected, missing, examples = _rows(conn, f"""
        WITH expected AS (  -- owner: the authority a partnership ward belongs to (NULL: every authority)
            SELECT DISTINCT la_code, 'all' AS breakdown, 'All children' AS breakdown_value, NULL AS owner
            FROM staging.population
            UNION SELECT 'partnership', 'all', 'All children', NULL
            UNION SELECT DISTINCT la_code, 'ward', ward_code, NULL FROM staging.population
            UNION SELECT DISTINCT 'partnership', 'ward', ward_code, la_code FROM staging.population
            UNION SELECT a.la_code, 'age_band', b, NULL FROM (SELECT DISTINCT la_code FROM staging.population
                                                               UNION SELECT 'partnership') a,
                                                              unnest(['0-4', '5-9', '10-15', '16-17']) t(b)
            UNION SELECT a.la_code, 'sex', s, NULL FROM (SELECT DISTINCT la_code FROM staging.population
                                                          UNION SELECT 'partnership') a,
                                                         unnest(['Male', 'Female']) t(s)
        ),
        quarters AS (SELECT unnest({_periods_list_sql(period_ends)}) AS period_end),
        present AS (  -- an authority that supplied nothing for a quarter is out of its figures (no population)
            SELECT period_end, la_code FROM marts.authority_presence
            WHERE present AND period_end IN {_periods_sql(period_ends)}
            UNION SELECT DISTINCT period_end, 'partnership' FROM marts.authority_presence
            WHERE present AND period_end IN {_periods_sql(period_ends)}),
        have AS (SELECT period_end, la_code, breakdown, breakdown_value, min(population) AS population
                 FROM marts.neglect_prevalence WHERE period_end IN {_periods_sql(period_ends)} GROUP BY ALL)
        SELECT count(*), count(*) FILTER (WHERE coalesce(h.population, 0) <= 0),
               list(e.la_code || ' ' || e.breakdown_value) FILTER (WHERE coalesce(h.population, 0) <= 0)[1:{EXAMPLES}]
        FROM expected e CROSS JOIN quarters q
        JOIN present a ON a.period_end = q.period_end AND a.la_code = e.la_code
        LEFT JOIN present o ON o.period_end = q.period_end AND o.la_code = e.owner
        LEFT JOIN have h ON h.period_end = q.period_end AND h.la_code = e.la_code AND h.breakdown = e.breakdown
                        AND h.breakdown_value = e.breakdown_value
        WHERE e.owner IS NULL OR o.la_code IS NOT NULL""")[0]
    if expected == 0:
        return RuleOutcome(False, "staging.population is empty: no area has a population", {"areas": 0})
    return RuleOutcome(missing == 0, f"{expected:,} area x quarter populations expected; {missing} missing or zero",
                       {"expected": expected, "missing": missing, "examples": examples or []})


def rates_within_range(conn, period_ends: list[date]) -> RuleOutcome:
    rows, rated, bad = _rows(conn, f"""
        SELECT count(*), count(rate_per_10k),
               count(*) FILTER (WHERE rate_per_10k IS NOT NULL AND NOT (
                   rate_per_10k BETWEEN 0 AND 10000 AND ci998_lower >= 0 AND ci998_upper <= 10000
                   AND ci998_lower <= ci95_lower AND ci95_lower <= rate_per_10k AND rate_per_10k <= ci95_upper
                   AND ci95_upper <= ci998_upper AND children <= population))
        FROM marts.neglect_prevalence WHERE period_end IN {_periods_sql(period_ends)}""")[0]
    if rated == 0:
        return RuleOutcome(False, "no row of marts.neglect_prevalence has a rate for these quarters", {"rows": rows})
    return RuleOutcome(bad == 0, f"{rated:,} rates checked; {bad} outside 0-10,000, with bounds not around the rate, "
                                 "or with more children than population",
                       {"rows": rows, "rates": rated, "out_of_range": bad})


def partnership_total_is_union(conn, period_ends: list[date]) -> RuleOutcome:
    sets = "', '".join(NESTED_TIER_SETS)
    checked, wrong, examples = _rows(conn, f"""
        WITH sets AS (SELECT * FROM (VALUES {', '.join(f"('{s}', {int(s.split('-')[-1])})" for s in NESTED_TIER_SETS)})
                      t(tier_set, highest_tier)),
        per_child AS (  -- how many authorities count each child in each tier set
            SELECT t.period_end, t.measure, s.tier_set, t.person_key, count(*) AS authorities
            FROM marts.child_neglect_tier t JOIN sets s ON t.tier <= s.highest_tier
            JOIN marts.authority_presence a ON a.period_end = t.period_end AND a.la_code = t.la_code AND a.present
            WHERE t.la_code <> 'partnership' AND t.period_end IN {_periods_sql(period_ends)}
            GROUP BY ALL
        ),
        expected AS (
            SELECT period_end, measure, tier_set, sum(authorities) AS sum_over_authorities,
                   sum(authorities - 1) AS counted_twice, count(*) AS distinct_children
            FROM per_child GROUP BY ALL
        ),
        published AS (
            SELECT period_end, measure, tier_set, children FROM marts.neglect_prevalence
            WHERE la_code = 'partnership' AND breakdown = 'all' AND tier_set IN ('{sets}')
              AND period_end IN {_periods_sql(period_ends)}
              AND availability NOT IN ('not available', 'not supplied')  -- no count to check
        )
        SELECT count(*),
               count(*) FILTER (WHERE p.children IS DISTINCT FROM coalesce(e.sum_over_authorities - e.counted_twice, 0)),
               list(strftime(p.period_end, '%Y-%m-%d') || ' ' || p.measure || ' ' || p.tier_set)
                   FILTER (WHERE p.children IS DISTINCT FROM coalesce(e.sum_over_authorities - e.counted_twice, 0))
                   [1:{EXAMPLES}]
        FROM published p LEFT JOIN expected e USING (period_end, measure, tier_set)""")[0]
    if checked == 0:
        return RuleOutcome(False, "no partnership totals to check for these quarters", {"checked": 0})
    return RuleOutcome(wrong == 0, f"{checked} partnership totals; {wrong} differ from the sum over authorities minus "
                                   "children counted by more than one authority",
                       {"checked": checked, "wrong": wrong, "examples": examples or []})


def hidden_estimate_at_least_observed(conn, period_ends: list[date], list_kinds: dict[str, tuple[str, ...]]) -> RuleOutcome:
    """``list_kinds``: capture list name -> the evidence kinds that put a child on it."""
    kinds = "[" + ", ".join(f"'{k}'" for v in list_kinds.values() for k in v) + "]"
    rows, estimated, bad, wrong_observed = _rows(conn, f"""
        WITH recount AS (
            SELECT period_end, count(*) AS on_a_list FROM marts.child_neglect_tier
            WHERE la_code = 'partnership' AND measure = '12_month' AND list_has_any(kinds, {kinds})
              AND period_end IN {_periods_sql(period_ends)}
            GROUP BY period_end
        )
        SELECT count(*), count(*) FILTER (WHERE status = 'estimated'),
               count(*) FILTER (WHERE CASE WHEN status = 'estimated'
                                           THEN NOT (observed <= ci95_lower AND ci95_lower <= estimate
                                                     AND estimate <= ci95_upper)
                                           ELSE estimate IS NOT NULL OR ci95_lower IS NOT NULL END),
               count(*) FILTER (WHERE h.la_code = 'partnership' AND h.linkage = 'match threshold'
                                  AND h.observed IS DISTINCT FROM coalesce(r.on_a_list, 0)
                                  -- a list left out (its source not supplied) is not in the recount's kinds
                                  AND coalesce(h.warnings, '') NOT LIKE '%lists left out%')
        FROM marts.hidden_prevalence h LEFT JOIN recount r USING (period_end)
        WHERE h.period_end IN {_periods_sql(period_ends)}""")[0]
    if rows == 0:
        return RuleOutcome(False, "marts.hidden_prevalence has no rows for these quarters", {"rows": 0})
    return RuleOutcome(bad == 0 and wrong_observed == 0,
                       f"{rows} rows ({estimated} estimated); {bad} with an estimate below the observed count, an "
                       f"interval not around it, or a number on a not-estimable row; {wrong_observed} partnership "
                       "rows whose observed count differs from a recount of children on the lists",
                       {"rows": rows, "estimated": estimated, "inconsistent": bad, "observed_mismatch": wrong_observed})
