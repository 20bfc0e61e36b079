"""One asset per partitioned source of the registry: the CIN census and the quarterly extracts.

For every source declared in ``sources/registry/`` with ``partitioning: quarter`` or
``census_year`` there is an asset ``raw/<name>``, partitioned by quarter (key = the quarter's
first day) or by collection year (key = 1 April; the census of collection year Y sits in
``<authority>/<Y>-03-31/``). It reads the files the incoming-folder scan gives the source for
each period of the run, with the source's reader, and replaces those periods' rows of its
``raw.*`` tables (see :mod:`pipelines.assets.ingest_run`). A period for which an authority sent
no file of the source is recorded in ``quality.load_audit`` as *not supplied*.

Checks, from the declaration: ``structure`` (blocking), ``reject_rate``, ``expectations`` and,
for sources with ``dfe_rules: true``, ``dfe_rules``. The README's source table lists the
sources (``python -m sources.registry`` prints it).
"""
import hashlib
from functools import partial
from pathlib import Path

from dagster import AssetCheckSpec, AssetExecutionContext, AssetKey, BackfillPolicy, MaterializeResult, asset

from checks.file_worker import read_file
from checks.ingest import MAX_FILE_REJECT_SHARE
from ingest.files import refused_load
from ingest.unchanged import loading_fingerprint, unchanged_periods
from sources.registry import Registry, Source

from ..partitions import census_reference_date, census_year_partitions, quarter_end, quarterly_partitions
from ..resources import IdentityStoreResource, IncomingExtracts, OutputFolder, PseudonymKeyResource, \
    WarehouseResource
from .ingest_run import ingest
from .freshness import code_version
from .population import WAREHOUSE_POOL
from .reuse import output_files, reusable

POSTCODE_LOOKUP_KEY = AssetKey(["raw", "postcode_lookup"])
DEPRIVATION_KEY = AssetKey(["raw", "deprivation"])
PARTITIONS = {"quarter": (quarterly_partitions, quarter_end), "census_year": (census_year_partitions,
                                                                              census_reference_date)}


def source_key(name: str) -> AssetKey:
    """The asset of source ``name``: ``raw/<name>``."""
    return AssetKey(["raw", name])


def check_specs(source: Source) -> list[AssetCheckSpec]:
    key = source_key(source.name)
    unit = "Child elements" if source.reader == "cin_census" else "rows"
    specs = [
        AssetCheckSpec("structure", asset=key, blocking=True,
                       description=f"Blocking: {unit} read = loaded + rejected for every file, no file with more "
                                   f"than half its {unit} rejected (setting max_file_reject_share), record ids "
                                   "unique, no identifier column in the warehouse" + (", every authority sent a file for every "
                                   "period (a required source)" if source.required else
                                   "; periods an authority did not supply are listed by name") + "."),
        AssetCheckSpec("files_readable", asset=key,
                       description="Error (not blocking): every file could be read; an unreadable file is not loaded "
                                   "(nothing of it is kept) and named here with the position and what was expected."),
        AssetCheckSpec("reject_rate", asset=key,
                       description=f"Warning: no file has more than 5 % of its {unit} rejected (rejects by rule in "
                                   "the metadata)."),
        AssetCheckSpec("expectations", asset=key,
                       description="Warning: the Great Expectations suites of its tables (checks/expectations/)."),
    ]
    if source.dfe_rules:
        specs.append(AssetCheckSpec("dfe_rules", asset=key,
                                    description="Warning: DfE-style validation rules (checks/dfe_rules/)."))
    return specs


def build_source_asset(source: Source, max_reject_share: float = MAX_FILE_REJECT_SHARE):
    partitions_def, period_end_of = PARTITIONS[source.partitioning]
    files = ", ".join(source.files) or "recognised by content"

    @asset(
        key=source_key(source.name),
        group_name="extracts",
        partitions_def=partitions_def,
        backfill_policy=BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        kinds={"duckdb"},
        deps=[POSTCODE_LOOKUP_KEY, DEPRIVATION_KEY] if source.geography else [],
        check_specs=check_specs(source),
        description=f"{source.label}. {source.description} Files: {files}. "
                    f"Tables: {', '.join('raw.' + t for t in source.tables)}. Declared in sources/registry/.",
    )
    @reusable(files=lambda context, resources: _docs_files(resources["output"].root, source.name),
              version=partial(_unchanged_version, source, period_end_of, max_reject_share))
    def _source_asset(context: AssetExecutionContext, warehouse: WarehouseResource,
                      identity_store: IdentityStoreResource, extracts: IncomingExtracts,
                      pseudonym_key: PseudonymKeyResource, output: OutputFolder) -> MaterializeResult:
        scan, incoming, periods, problems = _periods(context, extracts, source, period_end_of)
        metadata, checks = ingest(
            context, source=source, periods=periods, load_file=partial(read_file, source, incoming, problems=problems),
            warehouse=warehouse, identity_store=identity_store, key=pseudonym_key.key(),
            authorities=sorted(scan.authorities), output_dir=output.root, incoming=incoming, problems=problems,
            max_reject_share=max_reject_share,
            on_crash=partial(refused_load, source, incoming))
        return MaterializeResult(metadata=metadata, check_results=checks)

    return _source_asset


def _periods(context, extracts: IncomingExtracts, source: Source, period_end_of):
    """(scan, incoming folder, [(period end, files)] of the run's partitions, {file: what the scan said})."""
    scan = extracts.scan()
    incoming = extracts.root.resolve()
    periods = [(period_end_of(k), [f.path.resolve() for f in scan.files_for(source.name, period_end_of(k))])
               for k in context.partition_keys]
    problems = {f.path.resolve(): f.problem for f in scan.files if f.source == source.name and f.problem}
    return scan, incoming, periods, problems


def _unchanged_version(source: Source, period_end_of, max_reject_share: float, context, conn, resources) -> str | None:
    """The input version of a source asset whose every period of the run is unchanged since it was loaded
    (:mod:`ingest.unchanged`: same files, same loading fingerprint): the loading fingerprint, the periods and the
    project's code. None when some period is to be read: then the asset runs (and reads only those periods).
    A source asset reused this way reports its last build's checks again, and its Great Expectations
    validation and Data Docs are not redone (the rows they validated are the same)."""
    scan, incoming, periods, problems = _periods(context, resources["extracts"], source, period_end_of)
    fingerprint = loading_fingerprint(source, resources["pseudonym_key"].key(), sorted(scan.authorities), problems,
                                      max_reject_share)
    if not periods or len(unchanged_periods(conn, source.name, periods, incoming, fingerprint)) < len(periods):
        return None
    return hashlib.sha256("\n".join([code_version(), fingerprint, repr(periods)]).encode()).hexdigest()


def _docs_files(output_root: Path, source: str) -> tuple[Path, list[Path]]:
    """The output folder and the Data Docs files of ``source`` (``data_docs/<source>/``)."""
    return output_root, output_files(output_root, (f"data_docs/{source}",))


def build_source_assets(registry: Registry, max_reject_share: float = MAX_FILE_REJECT_SHARE) -> list:
    """One asset per partitioned source; ``max_reject_share``: the setting ``max_file_reject_share``."""
    return [build_source_asset(s, max_reject_share) for s in registry.partitioned()]
