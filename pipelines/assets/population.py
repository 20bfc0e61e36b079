"""ONS population denominators (asset ``raw/ons_population``): children aged 0-17 by ward, sex and age.

Reads every ``<incoming_dir>/reference/population/*.csv`` (the registry's declaration
``sources/registry/ons_population.yaml``; a required source) with
:mod:`sources.ons_population` and replaces ``raw.ons_population`` in the warehouse.
Rows that break a rule are written to ``quality.rejects``; a file that cannot be read
at all fails the run with the reader's message. Metadata holds aggregates only. When its files (and the code)
are as at its last build the files are not read again (``@reusable``): the asset reports its last build.
"""

from dagster import AssetExecutionContext, AssetKey, Failure, MaterializeResult, MetadataValue, asset
from dagster_duckdb import DuckDBResource

from ingest.files import reject_rows
from ingest.write import ensure_quality_tables, registered, replace_frame
from sources import ons_population
from sources.errors import SourceFileError
from sources.incoming import find_reference

from ..resources import IncomingExtracts
from .freshness import reference_version
from .reuse import reusable

WAREHOUSE_POOL = "duckdb_warehouse"
TABLE = "raw.ons_population"
POPULATION_KEY = AssetKey(["raw", "ons_population"])

CREATE_POPULATION = f"""
CREATE OR REPLACE TABLE {TABLE} (
    mid_year INTEGER NOT NULL,
    ward_code VARCHAR,
    ward_name VARCHAR,
    la_code VARCHAR,
    la_name VARCHAR,
    sex TINYINT,
    age TINYINT,
    population BIGINT,
    source_file VARCHAR,
    source_line BIGINT
)"""

@asset(
    key=POPULATION_KEY,
    group_name="reference",
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
    description="ONS mid-year population estimates for children aged 0-17, by ward, sex and single "
                "year of age (raw.ons_population): the denominators of every rate per 10,000 children.",
)
@reusable(outputs=(TABLE,), version=lambda context, conn, resources: reference_version(
    resources["extracts"], resources["extracts"].registry()[ons_population.SOURCE]))
def population_denominators(context: AssetExecutionContext, warehouse: DuckDBResource,
                            extracts: IncomingExtracts) -> MaterializeResult:
    source = extracts.registry()[ons_population.SOURCE]
    try:
        files = find_reference(extracts.root, source)
    except SourceFileError as exc:  # a link out of incoming, a pipe or a folder where a population file should be
        raise Failure(description=str(exc)) from None
    if not files:
        raise Failure(description=f"no ONS population files found in {extracts.root / 'reference'} (expected one "
                                  f"CSV per mid-year named like {' or '.join(source.files)}, e.g. "
                                  "population/population_mid_2024.csv): the population is required for every rate")
    try:
        read = ons_population.read_population_files(files)
    except SourceFileError as exc:
        raise Failure(description=str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - said in words, never with a value of the file
        from ingest.files import unexpected

        raise Failure(description=f"reference/population/: {unexpected(exc)}") from None
    context.log.info(f"read {len(read.rows):,} rows from {len(files)} files; {len(read.rejects):,} rejected "
                     f"values; {read.over_17:,} rows aged 18+ dropped")

    rejects = reject_rows("ons_population", read.rejects["line"], read.rejects["field"], read.rejects["rule"],
                          "row_rejected", read.rejects["message"]).assign(source=ons_population.SOURCE,
                                                                          file=read.rejects["file"])
    rows = read.rows
    with warehouse.get_connection() as conn:
        ensure_quality_tables(conn)
        conn.execute("BEGIN TRANSACTION")
        conn.execute(CREATE_POPULATION)
        with registered(conn, rows, "population_rows"):
            conn.execute(f"INSERT INTO {TABLE} SELECT mid_year, ward_code, ward_name, la_code, la_name, sex, age, "
                         "population, source_file, source_line FROM population_rows")
        replace_frame(conn, "quality.rejects", rejects, None, ons_population.SOURCE)
        conn.execute("COMMIT")
        totals = conn.execute(f"""
            SELECT mid_year, la_code, any_value(la_name) AS la_name, count(DISTINCT ward_code) AS wards,
                   sum(population) AS children_0_17
            FROM {TABLE} GROUP BY mid_year, la_code ORDER BY mid_year, la_code
        """).fetchall()
        row_count = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]

    table = ["| mid-year | authority | code | wards | children 0-17 |", "|---|---|---|---:|---:|"]
    table += [f"| {y} | {name} | {code} | {w} | {n:,} |" for y, code, name, w, n in totals]
    return MaterializeResult(metadata={
        "dagster/row_count": int(row_count),
        "files": MetadataValue.json(read.files),
        "mid_years": MetadataValue.json(sorted({int(y) for y, *_ in totals})),
        "children_0_17_by_mid_year_and_authority": MetadataValue.md("\n".join(table)),
        "rejected_values": len(read.rejects),
        "rows_aged_18_plus_dropped": read.over_17,
        "encodings": MetadataValue.json(read.encodings),
        "warehouse_table": TABLE,
    })
