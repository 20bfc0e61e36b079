"""Quarterly extracts: one asset per source, partitioned by quarter, each writing ``raw.<source>``.

A quarter's files are ``<incoming>/<authority>/<quarter end>/<file name>``. The asset for
a quarter reads every authority's file with the source's reader (``sources/``), writes
the pseudonymised rows to ``raw.<table>`` and the identifiers to the identity store,
replacing whatever that quarter held before, and reports four asset checks:
``structure`` (ERROR, blocking), ``reject_rate``, ``expectations`` and, for the CP list,
``dfe_rules`` (WARN). See :mod:`pipelines.assets.ingest_run` for the shared body.

================================  ==============================  =================================
asset (= warehouse table)         files in each quarter folder    reader
================================  ==============================  =================================
raw/cp_list                       annex_a_list_7_child_protection sources.cp_list (Annex A list 7)
                                  .xlsx or .csv
raw/early_help                    early_help_episodes.csv/.xlsx   sources.early_help
raw/person_list                   csc_person_list.csv/.xlsx       sources.person_list
raw/adult_episodes                adult_<service>_episodes.csv    sources.adult_services
raw/adult_household_children      adult_<service>_household_      sources.adult_services
                                  children.csv
================================  ==============================  =================================
"""
from functools import partial

from dagster import AssetCheckSpec, AssetExecutionContext, BackfillPolicy, MaterializeResult, asset

from ..ingest.extract_files import EXTRACTS, QuarterlyExtract, load_extract_file
from ..partitions import quarter_end, quarterly_partitions
from ..resources import IdentityStoreResource, IncomingExtracts, OutputFolder, PseudonymKeyResource, \
    WarehouseResource
from .ingest_run import ingest
from .population import WAREHOUSE_POOL
from .reference import DEPRIVATION_KEY, POSTCODE_LOOKUP_KEY


def _check_specs(extract: QuarterlyExtract) -> list[AssetCheckSpec]:
    specs = [
        AssetCheckSpec("structure", asset=extract.key, blocking=True,
                       description="Blocking: rows read = loaded + rejected for every file, every authority sent a "
                                   "file, record ids unique, no identifier column in the warehouse."),
        AssetCheckSpec("reject_rate", asset=extract.key,
                       description="Warning: no file has more than 5 % of its rows rejected (rejects by rule in "
                                   "the metadata)."),
        AssetCheckSpec("expectations", asset=extract.key,
                       description="Warning: the table's Great Expectations suite (checks/expectations/)."),
    ]
    if extract.dfe_rules:
        specs.append(AssetCheckSpec("dfe_rules", asset=extract.key,
                                    description="Warning: DfE-style validation rules (checks/dfe_rules/)."))
    return specs


def build_extract_asset(extract: QuarterlyExtract):
    @asset(
        key=extract.key,
        group_name="extracts",
        partitions_def=quarterly_partitions,
        backfill_policy=BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        kinds={"duckdb"},
        deps=[POSTCODE_LOOKUP_KEY, DEPRIVATION_KEY],
        check_specs=_check_specs(extract),
        description=extract.description + f" Files: {', '.join(extract.file_names)}.",
    )
    def _extract(context: AssetExecutionContext, warehouse: WarehouseResource,
                 identity_store: IdentityStoreResource, extracts: IncomingExtracts,
                 pseudonym_key: PseudonymKeyResource, output: OutputFolder) -> MaterializeResult:
        incoming = extracts.root.resolve()
        periods = [(quarter_end(k), extracts.period_files(quarter_end(k), extract.file_names))
                   for k in context.partition_keys]
        load = partial(load_extract_file, extract, incoming)
        metadata, checks = ingest(
            context, source=extract.name, tables=[extract.name], periods=periods, load_file=load,
            warehouse=warehouse, identity_store=identity_store, key=pseudonym_key.key(), with_geography=True,
            authorities=extracts.authority_codes(), output_dir=output.root)
        return MaterializeResult(metadata=metadata, check_results=checks)

    return _extract


extract_assets = [build_extract_asset(e) for e in EXTRACTS]
