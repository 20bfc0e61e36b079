"""Dagster asset checks: wire the rules in :mod:`checks` to the assets they test.

No ``from __future__ import annotations`` in Dagster-decorated modules: Dagster reads
the parameter annotations (resources, context) at definition time.
"""

from dagster import AssetCheckResult, AssetCheckSeverity, asset_check
from dagster_duckdb import DuckDBResource

from checks import population as population_rules

from .assets.population import WAREHOUSE_POOL, population_denominators


@asset_check(
    asset=population_denominators,
    blocking=True,
    pool=WAREHOUSE_POOL,
    description="Blocking: every (mid-year, ward) has exactly 36 rows (ages 0-17 x sexes 1, 2), no count is "
                "negative or null, and every authority's total is above zero.",
)
def population_denominators_complete(warehouse: DuckDBResource) -> AssetCheckResult:
    with warehouse.get_connection() as conn:
        outcome = population_rules.denominators_complete(conn)
    return AssetCheckResult(passed=outcome.passed, severity=AssetCheckSeverity.ERROR,
                            description=outcome.description, metadata=outcome.metadata)


@asset_check(
    asset=population_denominators,
    blocking=True,
    pool=WAREHOUSE_POOL,
    description=f"Blocking: no population cell above {population_rules.MAX_CELL:,} children or "
                f"{population_rules.MAX_CELL_TO_MEDIAN} times its authority's median cell, and no authority total "
                f"above {population_rules.MAX_AUTHORITY_TOTAL:,}: an implausible denominator stops the rates.",
)
def population_denominators_plausible(warehouse: DuckDBResource) -> AssetCheckResult:
    with warehouse.get_connection() as conn:
        outcome = population_rules.denominators_plausible(conn)
    return AssetCheckResult(passed=outcome.passed, severity=AssetCheckSeverity.ERROR,
                            description=outcome.description, metadata=outcome.metadata)


@asset_check(
    asset=population_denominators,
    pool=WAREHOUSE_POOL,
    description="Warning: each authority's 0-17 total changes by less than 10 % between consecutive mid-years.",
)
def population_denominators_stable(warehouse: DuckDBResource) -> AssetCheckResult:
    with warehouse.get_connection() as conn:
        outcome = population_rules.denominators_stable(conn)
    return AssetCheckResult(passed=outcome.passed, severity=AssetCheckSeverity.WARN,
                            description=outcome.description, metadata=outcome.metadata)


population_checks = [population_denominators_complete, population_denominators_plausible,
                     population_denominators_stable]
