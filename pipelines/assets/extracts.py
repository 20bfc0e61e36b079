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
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

from dagster import (AssetCheckSpec, AssetExecutionContext, AssetKey, BackfillPolicy, MaterializeResult, asset)

from sources import adult_services, cp_list, early_help, person_list
from sources.tabular import TableRead

from ..ingest.files import load_tabular
from ..partitions import quarter_end, quarterly_partitions
from ..resources import IdentityStoreResource, IncomingExtracts, OutputFolder, PseudonymKeyResource, \
    WarehouseResource
from .ingest_run import ingest
from .population import WAREHOUSE_POOL
from .reference import DEPRIVATION_KEY, POSTCODE_LOOKUP_KEY


@dataclass(frozen=True)
class QuarterlyExtract:
    """A quarterly extract: its source and table name, file names (globs) and reader."""

    name: str  # source name, warehouse table raw.<name> and asset key raw/<name>
    file_names: tuple[str, ...]
    reader: Callable[[Path], TableRead]
    description: str
    dfe_rules: bool = False

    @property
    def key(self) -> AssetKey:
        return AssetKey(["raw", self.name])


EXTRACTS = (
    QuarterlyExtract("cp_list", ("annex_a_list_7_child_protection.xlsx", "annex_a_list_7_child_protection.csv"),
                     cp_list.read_cp_list, "Children subject to a child protection plan (Ofsted Annex A list 7), "
                     "one row per child and plan, as at each quarter end.", dfe_rules=True),
    QuarterlyExtract("early_help", ("early_help_episodes.csv", "early_help_episodes.xlsx"),
                     early_help.read_early_help, "Early help episodes with assessment factors and GCP2 scores."),
    QuarterlyExtract("person_list", ("csc_person_list.csv", "csc_person_list.xlsx"), person_list.read_person_list,
                     "Children's social care person list: one row per child and address (for linkage and wards)."),
    QuarterlyExtract("adult_episodes", ("adult_*_episodes.csv",), adult_services.read_adult_episodes,
                     "Adult services episodes (mental health, substance misuse, domestic abuse, learning "
                     "disability) with the child safeguarding concern flag."),
    QuarterlyExtract("adult_household_children", ("adult_*_household_children.csv",),
                     adult_services.read_adult_household_children,
                     "Children recorded in the households of adult services clients."),
)


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
        load = partial(_load_one, extract, incoming)
        metadata, checks = ingest(
            context, source=extract.name, tables=[extract.name], periods=periods, load_file=load,
            warehouse=warehouse, identity_store=identity_store, key=pseudonym_key.key(), with_geography=True,
            authorities=extracts.authority_codes(), run_rules=extract.dfe_rules,
            output_dir=output.root)
        return MaterializeResult(metadata=metadata, check_results=checks)

    return _extract


def _load_one(extract: QuarterlyExtract, incoming: Path, path: Path, period_end):
    return load_tabular(extract.name, extract.name, path.resolve(), incoming, period_end, extract.reader)


extract_assets = [build_extract_asset(e) for e in EXTRACTS]
