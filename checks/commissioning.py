"""Checks on the commissioner's marts (``marts.commissioning_view``, ``marts.neglect_projection``), as plain
functions over the warehouse; the Dagster asset checks call them. Each returns a
:class:`checks.population.RuleOutcome`, and fails with no rows to look at.

- :func:`commissioning_view_adds_up`: in every row, identified = receiving a service + without one, and no service
  count above ``service_children``; every authority's ward rows add up to its whole-area row (identified,
  receiving, without, each service count, caseload); the identified counts are ``marts.neglect_prevalence``'s
  (tiers 1-4, 12 months) and the partnership's children in a service are recounted from staging; a return not
  supplied leaves the commissioned figures NULL, never 0.
- :func:`projection_reproduces_rates`: recomputes every available row of ``marts.neglect_projection`` from
  ``marts.neglect_prevalence`` (rates by age band) and ``raw.population_projections`` in SQL, independently of
  the Python that built it, and checks the interval contains the figure and 'All ages' is the sum of the bands.
"""
from __future__ import annotations

from datetime import date

from .marts import EXAMPLES, _periods_sql, _rows
from .population import RuleOutcome


def commissioning_view_adds_up(conn, period_ends: list[date]) -> RuleOutcome:
    periods = _periods_sql(period_ends)
    rows = _rows(conn, f"SELECT count(*) FROM marts.commissioning_view WHERE period_end IN {periods}")[0][0]
    if rows == 0:
        return RuleOutcome(False, "marts.commissioning_view has no rows for these quarters", {"rows": 0})
    broken: dict[str, list] = {}
    broken["row sums"] = _rows(conn, f"""
        SELECT period_end, la_code, ward_code FROM marts.commissioning_view
        WHERE period_end IN {periods} AND identified_children IS NOT NULL
          AND (identified_children <> identified_receiving_service + identified_without_service
               OR identified_receiving_service > service_children
               OR greatest(early_help_children, child_in_need_children, cp_plan_children) > service_children
               OR cp_plan_children > child_in_need_children)
        ORDER BY ALL LIMIT {EXAMPLES}""")
    broken["wards add up"] = _rows(conn, f"""
        WITH wards AS (
            SELECT period_end, la_code, sum(identified_children) AS identified,
                   sum(identified_receiving_service) AS receiving, sum(identified_without_service) AS without,
                   sum(service_children) AS services, sum(early_help_children) AS eh,
                   sum(child_in_need_children) AS cin, sum(cp_plan_children) AS cp,
                   sum(commissioned_caseload) AS caseload
            FROM marts.commissioning_view WHERE period_end IN {periods} AND area_level = 'ward' GROUP BY ALL
        )
        SELECT v.period_end, v.la_code, 'all' FROM marts.commissioning_view v JOIN wards w USING (period_end, la_code)
        WHERE v.ward_code = 'all' AND v.identified_children IS NOT NULL
          AND (v.identified_children <> w.identified OR v.identified_receiving_service <> w.receiving
               OR v.identified_without_service <> w.without OR v.service_children <> w.services
               OR v.early_help_children <> w.eh OR v.child_in_need_children <> w.cin OR v.cp_plan_children <> w.cp
               OR v.commissioned_caseload IS DISTINCT FROM w.caseload)
        ORDER BY ALL LIMIT {EXAMPLES}""")
    broken["identified is the prevalence mart's"] = _rows(conn, f"""
        SELECT v.period_end, v.la_code, v.ward_code FROM marts.commissioning_view v
        JOIN marts.neglect_prevalence p ON p.period_end = v.period_end AND p.la_code = v.la_code
             AND p.measure = '12_month' AND p.tier_set = '1-4'
             AND ((v.ward_code = 'all' AND p.breakdown = 'all') OR (p.breakdown = 'ward' AND p.breakdown_value = v.ward_code))
        WHERE v.period_end IN {periods} AND v.identified_children IS DISTINCT FROM p.children
        ORDER BY ALL LIMIT {EXAMPLES}""")
    broken["partnership's children in a service"] = _rows(conn, f"""
        WITH days AS (SELECT DISTINCT period_end FROM marts.commissioning_view WHERE period_end IN {periods}),
        present AS (SELECT period_end, la_code FROM marts.authority_presence WHERE NOT present),
        recount AS (
            SELECT d.period_end, count(DISTINCT x.person_key) AS n FROM days d
            JOIN (SELECT la_code, person_key, start_date AS s, effective_end AS e FROM staging.early_help_episodes
                  UNION ALL SELECT la_code, person_key, referral_date, effective_end FROM staging.cin_episodes
                  UNION ALL SELECT la_code, person_key, start_date, effective_end FROM staging.annex_a_cin_episodes
                            WHERE start_date > coalesce(census_covered_to, DATE '1900-01-01')
                  UNION ALL SELECT la_code, person_key, start_date, effective_end FROM staging.cp_plans) x
              ON x.s <= d.period_end AND coalesce(x.e, d.period_end) >= d.period_end AND x.person_key IS NOT NULL
            WHERE NOT EXISTS (SELECT 1 FROM present p WHERE p.period_end = d.period_end AND p.la_code = x.la_code)
            GROUP BY d.period_end
        )
        SELECT v.period_end, v.la_code, v.ward_code FROM marts.commissioning_view v JOIN recount r USING (period_end)
        WHERE v.la_code = 'partnership' AND v.ward_code = 'all' AND v.identified_children IS NOT NULL
          AND v.service_children <> r.n
        ORDER BY ALL LIMIT {EXAMPLES}""")
    broken["not supplied is not 0"] = _rows(conn, f"""
        SELECT period_end, la_code, ward_code FROM marts.commissioning_view
        WHERE period_end IN {periods} AND service_activity_status <> 'supplied'
          AND (commissioned_capacity IS NOT NULL OR commissioned_caseload IS NOT NULL)
        ORDER BY ALL LIMIT {EXAMPLES}""")
    failed = {name: [tuple(str(v) for v in r) for r in found] for name, found in broken.items() if found}
    if failed:
        return RuleOutcome(False, "marts.commissioning_view does not add up: " + "; ".join(
            f"{name} (e.g. {found[0]})" for name, found in failed.items()), {"rows": rows, **{
                k: len(v) for k, v in failed.items()}})
    return RuleOutcome(True, f"{rows:,} rows: identified = receiving + without a service in each; wards add up to "
                             "their authority; identified as the prevalence mart counts it; the partnership's children "
                             "in a service recounted; no commissioned figure for a return not supplied", {"rows": rows})


def projection_reproduces_rates(conn, period_ends: list[date]) -> RuleOutcome:
    periods = _periods_sql(period_ends)
    rows, available = _rows(conn, f"""SELECT count(*), count(*) FILTER (WHERE availability = 'available')
                                      FROM marts.neglect_projection WHERE period_end IN {periods}""")[0]
    if rows == 0:
        return RuleOutcome(False, "marts.neglect_projection has no rows for these quarters", {"rows": 0})
    has_snpp = bool(_rows(conn, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw' "
                                "AND table_name = 'population_projections'")[0][0]) and \
        bool(_rows(conn, "SELECT count(*) FROM raw.population_projections")[0][0])
    broken: dict[str, list] = {}
    broken["interval around the figure"] = _rows(conn, f"""
        SELECT period_end, la_code, age_band, horizon_years FROM marts.neglect_projection
        WHERE period_end IN {periods} AND availability = 'available'
          AND NOT (ci95_lower <= projected_children AND projected_children <= ci95_upper)
        ORDER BY ALL LIMIT {EXAMPLES}""")
    broken["no figure where not available"] = _rows(conn, f"""
        SELECT period_end, la_code, age_band, horizon_years FROM marts.neglect_projection
        WHERE period_end IN {periods} AND availability <> 'available' AND projected_children IS NOT NULL
        ORDER BY ALL LIMIT {EXAMPLES}""")
    broken["all ages = sum of bands"] = _rows(conn, f"""
        SELECT a.period_end, a.la_code, a.horizon_years FROM marts.neglect_projection a
        JOIN (SELECT period_end, la_code, horizon_years, sum(projected_children) AS s FROM marts.neglect_projection
              WHERE period_end IN {periods} AND age_band <> 'All ages' GROUP BY ALL) b
          USING (period_end, la_code, horizon_years)
        WHERE a.age_band = 'All ages' AND a.availability = 'available' AND abs(a.projected_children - b.s) > 1e-6
        ORDER BY ALL LIMIT {EXAMPLES}""")
    if has_snpp:
        broken["rate x projected population"] = _rows(conn, f"""
            WITH typed AS (  -- typed: the table of a projection file never supplied is created with text columns
                SELECT CAST(base_year AS INTEGER) AS base_year, area_code, sex, CAST(age AS INTEGER) AS age,
                       CAST(year AS INTEGER) AS year, CAST(population AS DOUBLE) AS population
                FROM raw.population_projections
            ),
            latest AS (SELECT max(base_year) AS b FROM typed),
            snpp AS (
                SELECT c.la_code, age_band(p.age) AS age_band, p.year,
                       coalesce(sum(p.population) FILTER (WHERE p.sex = 'P'),
                                sum(p.population) FILTER (WHERE p.sex IN ('M', 'F'))) AS population
                FROM typed p JOIN latest ON p.base_year = latest.b
                JOIN raw.la_codes c ON c.lad_code = p.area_code GROUP BY ALL
            ),
            rates AS (
                SELECT period_end, la_code, breakdown_value AS age_band, children, population, population_mid_year
                FROM marts.neglect_prevalence WHERE measure = '12_month' AND tier_set = '1-4' AND breakdown = 'age_band'
                  AND la_code <> 'partnership' AND period_end IN {periods}
            )
            SELECT j.period_end, j.la_code, j.age_band, j.horizon_years FROM marts.neglect_projection j
            JOIN rates r USING (period_end, la_code, age_band)
            JOIN snpp s ON s.la_code = j.la_code AND s.age_band = j.age_band AND s.year = j.projection_year
            WHERE j.availability = 'available' AND j.horizon_years > 0
              AND abs(j.projected_children - r.children * s.population / r.population) > 1e-6
            ORDER BY ALL LIMIT {EXAMPLES}""")
    failed = {name: [tuple(str(v) for v in r) for r in found] for name, found in broken.items() if found}
    if failed:
        return RuleOutcome(False, "marts.neglect_projection: " + "; ".join(f"{name} fails (e.g. {found[0]})"
                                                                        for name, found in failed.items()),
                           {"rows": rows, **{k: len(v) for k, v in failed.items()}})
    return RuleOutcome(True, f"{rows:,} rows, {available:,} with a projection: each recomputed as rate x projected "
                             "population, 'All ages' the sum of the bands, inside its interval"
                       + ("" if has_snpp else " (no projection file: every future row not available)"),
                       {"rows": rows, "available": available})
