"""The DfE Children in Need census: one asset, partitioned by collection year, writing nine tables.

The census for collection year Y (1 April Y-1 to 31 March Y) is
``<incoming>/<authority>/<Y>-03-31/cin_census_*.xml``, one file per authority. The asset
reads each with :func:`sources.cin_census.read_cin_census` (streamed, no DTDs or
entities) and replaces that year's rows in ``raw.cin_child``, ``raw.cin_disability``,
``raw.cin_episode``, ``raw.cin_assessment``, ``raw.cin_assessment_factor``,
``raw.cin_plan``, ``raw.cin_section47``, ``raw.cin_cp_plan`` and ``raw.cin_cp_review``
(``period_end`` = the census reference date). Rows count as Child elements in
``quality.load_audit``. Checks as for every extract, plus the DfE-style rules.
"""
from functools import partial

from dagster import AssetCheckSpec, AssetExecutionContext, AssetKey, BackfillPolicy, MaterializeResult, asset

from ..ingest.extract_files import CIN_FILE_NAMES, load_cin_census_file
from ..partitions import census_reference_date, census_year_partitions
from ..resources import IdentityStoreResource, IncomingExtracts, OutputFolder, PseudonymKeyResource, \
    WarehouseResource
from .ingest_run import ingest
from .population import WAREHOUSE_POOL

CIN_CENSUS_KEY = AssetKey(["raw", "cin_census"])
CIN_TABLES = ["cin_child", "cin_disability", "cin_episode", "cin_assessment", "cin_assessment_factor", "cin_plan",
              "cin_section47", "cin_cp_plan", "cin_cp_review"]


@asset(
    key=CIN_CENSUS_KEY,
    group_name="extracts",
    partitions_def=census_year_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
    check_specs=[
        AssetCheckSpec("structure", asset=CIN_CENSUS_KEY, blocking=True,
                       description="Blocking: Child elements read = loaded + rejected for every file, every "
                                   "authority sent a file, record ids unique, no identifier column in the warehouse."),
        AssetCheckSpec("reject_rate", asset=CIN_CENSUS_KEY,
                       description="Warning: no file has more than 5 % of its Child elements rejected."),
        AssetCheckSpec("expectations", asset=CIN_CENSUS_KEY,
                       description="Warning: Great Expectations suites of the nine cin_* tables."),
        AssetCheckSpec("dfe_rules", asset=CIN_CENSUS_KEY,
                       description="Warning: DfE-style CIN census validation rules (checks/dfe_rules/)."),
    ],
    description="DfE Children in Need census XML, every module, one file per authority and collection year "
                "(raw.cin_child, raw.cin_episode, raw.cin_assessment, raw.cin_assessment_factor, raw.cin_plan, "
                "raw.cin_section47, raw.cin_cp_plan, raw.cin_cp_review, raw.cin_disability).",
)
def cin_census(context: AssetExecutionContext, warehouse: WarehouseResource, identity_store: IdentityStoreResource,
               extracts: IncomingExtracts, pseudonym_key: PseudonymKeyResource,
               output: OutputFolder) -> MaterializeResult:
    incoming = extracts.root.resolve()
    periods = [(census_reference_date(k), extracts.period_files(census_reference_date(k), CIN_FILE_NAMES))
               for k in context.partition_keys]

    metadata, checks = ingest(
        context, source="cin_census", tables=CIN_TABLES, periods=periods, load_file=partial(load_cin_census_file, incoming), warehouse=warehouse,
        identity_store=identity_store, key=pseudonym_key.key(), with_geography=False,
        authorities=extracts.authority_codes(), output_dir=output.root)
    return MaterializeResult(metadata=metadata, check_results=checks)
