"""Linkage assets: who is who across the sources (see :mod:`models.linkage`).

* ``linkage/person_links``, ``linkage/family_links``, ``quality/linkage_summary``: one computation
  (a multi-asset), unpartitioned: every refresh relinks every loaded record of every period, so a
  record arriving this quarter can join a child first seen two years ago. Person keys are carried
  over from the previous ``linkage.person_links``. It is not run again when what it reads has not changed
  (the records' identifiers and the few fields it uses, and the code: :func:`_linkage_version`), even
  when a file changed in fields it does not read.
* ``quality/linkage_evaluation``: links scored against the true identities when the extracts are a
  synthetic partnership's (a ``truth/`` folder beside ``incoming/``). Declared in every project, so the
  asset graph does not depend on the files present; on real data the step is skipped (not materialised)
  with the reason in its log.

The identity store is attached read-only; the clerical-review file (grey-band pairs, with
identifiers) goes to ``settings.clerical_review_dir``, next to the identity store. Metadata and
logs carry counts only.
"""

import hashlib
from datetime import date
from pathlib import Path

from dagster import (AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext, AssetKey,
                     AssetSpec, MaterializeResult, MetadataValue, asset, multi_asset)

from models.linkage.evaluation import TRUTH_FILES, evaluate_linkage
from models.linkage.persons import LinkageThresholds
from models.linkage.records import (ANNEX_A_CHILD_SOURCES, attach_identity_store, household_adult_records,
                                   records_digest)
from ingest.connections import memory_limit
from ingest.write import replace_table
from models.linkage.run import link_partnership, previous_person_links, write_linkage_tables, write_review_file

from sources.registry import Registry

from ..resources import IdentityStoreResource, IncomingExtracts, LinkageSettings, RefreshState, WarehouseResource
from ..settings import Settings
from .ingest_run import ensure_source_tables
from .population import WAREHOUSE_POOL
from .freshness import code_version, data_version, files_version, tables_digest
from .reuse import reusable

PERSON_LINKS_KEY = AssetKey(["linkage", "person_links"])
FAMILY_LINKS_KEY = AssetKey(["linkage", "family_links"])
LINKAGE_SUMMARY_KEY = AssetKey(["quality", "linkage_summary"])
LINKAGE_EVALUATION_KEY = AssetKey(["quality", "linkage_evaluation"])
LINKED_SOURCES = {"person_list": "raw.person_list", "cin_census": "raw.cin_child", "cp_list": "raw.cp_list",
                  "early_help": "raw.early_help", "adult_household_children": "raw.adult_household_children",
                  "adult_services": "raw.adult_episodes", "gcp2_assessments": "raw.gcp2_assessments",
                  **{source: f"raw.{source}" for source in ANNEX_A_CHILD_SOURCES}}  # Annex A lists 2-6

_CHECKS = [
    AssetCheckSpec("every_record_linked", asset=PERSON_LINKS_KEY, blocking=True,
                   description="Every loaded record of every linked source has exactly one person_key "
                               "(no record lost, none in two persons)."),
    AssetCheckSpec("one_nhs_number_per_person", asset=PERSON_LINKS_KEY,
                   description="No person holds two different NHS numbers or two LA child IDs of one authority."),
    AssetCheckSpec("cp_children_in_person_list", asset=PERSON_LINKS_KEY,
                   description="Every child on a CP-plan list is found in the same authority's person list."),
    AssetCheckSpec("adults_never_children", asset=FAMILY_LINKS_KEY,
                   description="Family links join an adult key to a child key; no key is both."),
]


def partner_sources(registry: Registry) -> tuple[str, ...]:
    """The partner-agency sources of the registry (the partner-list layout, docs/partner-lists.md)."""
    return tuple(s.name for s in registry.partitioned() if s.schema == "partner_concerns")


def _linkage_version(context, conn, resources) -> str | None:
    """person_linkage's input version: the code and what linkage reads (the child and adult records,
    :func:`models.linkage.records.records_digest`), not every extract. A changed file whose records keep their
    identifiers and the fields linkage uses leaves the links as they were, and linkage is not run again; its
    own last links (the keys it carries over) are what that build left. None (build it): a source's tables do
    not exist yet."""
    digest = records_digest(conn, Path(resources["identity_store"].database),
                            partner_sources(resources["extracts"].registry()))
    if digest is None:
        return None
    return hashlib.sha256(f"{code_version()}\n{digest}\nlinkage".encode()).hexdigest()


def build_linkage_assets(settings: Settings, source_keys: list[AssetKey]) -> list:
    """The linkage assets (downstream of ``source_keys``), the evaluation asset included."""

    @multi_asset(
        specs=[
            AssetSpec(PERSON_LINKS_KEY, group_name="linkage", kinds={"duckdb", "splink"},
                      deps=source_keys,
                      description="linkage.person_links: each source record's person_key (children C…, adults A…), "
                                  "match probability and method (LA child ID, NHS number, UPN, probabilistic…); "
                                  "linkage.person_links_sensitivity: the child clusters at the review and upper "
                                  "thresholds."),
            AssetSpec(FAMILY_LINKS_KEY, group_name="linkage", kinds={"duckdb"}, deps=[PERSON_LINKS_KEY],
                      description="linkage.family_links: adults in adult services and the children they live with "
                                  "(recorded in the household, or same address)."),
            AssetSpec(LINKAGE_SUMMARY_KEY, group_name="quality", kinds={"duckdb"}, deps=[PERSON_LINKS_KEY],
                      description="quality.linkage_summary: records, persons, match rate by source and method, "
                                  "match-probability distribution, conflicts, clerical-review pairs."),
        ],
        check_specs=_CHECKS,
        pool=WAREHOUSE_POOL,
        can_subset=False,
    )
    @reusable(outputs=("linkage.person_links", "linkage.family_links", "quality.linkage_summary"),
              version=_linkage_version)
    def person_linkage(context: AssetExecutionContext, warehouse: WarehouseResource,
                       identity_store: IdentityStoreResource, extracts: IncomingExtracts,
                       linkage_settings: LinkageSettings):
        registry = extracts.registry()
        partners = partner_sources(registry)
        match, review, upper = linkage_settings.thresholds()
        thresholds = LinkageThresholds(match=match, review=review, upper=upper)
        with warehouse.get_connection() as conn, identity_store.get_connection() as iconn:
            for source in registry.partitioned():  # a source never loaded: empty tables
                ensure_source_tables(conn, iconn, source, b"\0" * 32, context.run.run_id)  # no rows: no key used
        with warehouse.get_connection() as conn:
            result = link_partnership(conn, Path(identity_store.database), thresholds, partner_sources=partners,
                                      previous=previous_person_links(conn), model_path=linkage_settings.model_path,
                                      memory_limit=memory_limit(warehouse.memory_limit))
            write_linkage_tables(conn, result)
            # written: the checks and metadata count from the tables, not from frames of every record
            result.children.links = result.adults.links = None
            checks = _check_results(conn, result, partners)
            counts = _link_counts(conn)
        review = write_review_file(result, Path(linkage_settings.clerical_review_dir), date.today())
        context.log.info("linkage: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items()))
        context.log.info(f"linkage model: children {result.children.model_source}; adults "
                         f"{result.adults.model_source}")
        table = ["| person | method | records |", "|---|---|---:|"] + \
            [f"| {t} | {m} | {n:,} |" for t, m, n in counts["by_method"]]
        yield MaterializeResult(asset_key=PERSON_LINKS_KEY, metadata={
            "dagster/row_count": counts["records"], "children": counts["children"], "adults": counts["adults"],
            "records_by_method": MetadataValue.md("\n".join(table)),
            "clerical_review_pairs": len(result.children.review_pairs) + len(result.adults.review_pairs),
            "clerical_review_file": MetadataValue.path(str(review)),
            "model_children": result.children.model_source, "model_adults": result.adults.model_source,
            "seconds": round(sum(result.seconds.values()), 1)})
        families = result.family_links
        yield MaterializeResult(asset_key=FAMILY_LINKS_KEY, metadata={
            "dagster/row_count": len(families),
            "by_method": MetadataValue.json({str(k): int(v) for k, v in families.groupby("method").size().items()})})
        yield MaterializeResult(asset_key=LINKAGE_SUMMARY_KEY, metadata={"dagster/row_count": len(result.summary)})
        yield from checks

    return [person_linkage, linkage_evaluation]


def _link_counts(conn) -> dict:
    """The person links' metadata counted in DuckDB from ``linkage.person_links`` as written (no frame of
    every record): records, children, adults, records by person type and method."""
    records, children, adults = conn.execute("""
        SELECT count(*), count(DISTINCT person_key) FILTER (WHERE person_type = 'child'),
               count(DISTINCT person_key) FILTER (WHERE person_type = 'adult')
        FROM linkage.person_links""").fetchall()[0]
    by_method = conn.execute("SELECT person_type, method, count(*) FROM linkage.person_links "
                             "GROUP BY ALL ORDER BY person_type, method").fetchall()
    return {"records": records, "children": children, "adults": adults, "by_method": by_method}


def _check_results(conn, result, partners: tuple[str, ...] = ()) -> list[AssetCheckResult]:
    """The linkage checks, counted in DuckDB over ``linkage.person_links`` and ``linkage.family_links`` as
    written (after :func:`write_linkage_tables`)."""
    tables = {**LINKED_SOURCES, **{p: f"raw.{p}" for p in partners}}
    present = {r[0] for r in conn.execute("SELECT 'raw.' || table_name FROM information_schema.tables "
                                          "WHERE table_schema = 'raw'").fetchall()}
    loaded = {source: conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
              for source, table in tables.items() if table in present}
    linked = dict(conn.execute("SELECT source, count(DISTINCT source_record_id) FROM linkage.person_links "
                               "GROUP BY source").fetchall())
    duplicated = conn.execute("SELECT count(source_record_id) - count(DISTINCT source_record_id) "
                              "FROM linkage.person_links").fetchall()[0][0]
    missing = {s: n - linked.get(s, 0) for s, n in loaded.items() if n != linked.get(s, 0)}
    conflicts = {f"{person}: {k}": v for person, linkage in (("child", result.children), ("adult", result.adults))
                 for k, v in linkage.identifier_conflicts.items()}
    cp, cp_missing = conn.execute("""
        WITH cp AS (SELECT DISTINCT person_key, la_code FROM linkage.person_links WHERE source = 'cp_list'),
             listed AS (SELECT DISTINCT person_key, la_code FROM linkage.person_links WHERE source = 'person_list')
        SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (
                   SELECT 1 FROM listed l WHERE l.person_key IS NOT DISTINCT FROM cp.person_key
                                            AND l.la_code IS NOT DISTINCT FROM cp.la_code))
        FROM cp""").fetchall()[0]
    both = conn.execute("""
        SELECT count(*) FROM (SELECT person_key FROM linkage.person_links WHERE person_type = 'adult'
                              INTERSECT SELECT person_key FROM linkage.person_links WHERE person_type = 'child')
        """).fetchall()[0][0]
    wrong_way = conn.execute("""
        SELECT count(*) FROM linkage.family_links
        WHERE NOT starts_with(child_key, 'C') OR NOT starts_with(adult_key, 'A')""").fetchall()[0][0]
    return [
        AssetCheckResult(asset_key=PERSON_LINKS_KEY, check_name="every_record_linked",
                         passed=not missing and duplicated == 0, severity=AssetCheckSeverity.ERROR,
                         metadata={"records_missing_by_source": MetadataValue.json(missing),
                                   "records_in_two_persons": duplicated}),
        AssetCheckResult(asset_key=PERSON_LINKS_KEY, check_name="one_nhs_number_per_person",
                         passed=sum(conflicts.values()) == 0, severity=AssetCheckSeverity.WARN,
                         metadata={"persons": MetadataValue.json(conflicts)}),
        AssetCheckResult(asset_key=PERSON_LINKS_KEY, check_name="cp_children_in_person_list",
                         passed=cp_missing == 0, severity=AssetCheckSeverity.WARN,
                         metadata={"cp_children": cp, "not_in_person_list": cp_missing}),
        AssetCheckResult(asset_key=FAMILY_LINKS_KEY, check_name="adults_never_children",
                         passed=not both and wrong_way == 0, severity=AssetCheckSeverity.ERROR,
                         metadata={"keys_both_adult_and_child": both, "links_wrong_way_round": wrong_way}),
    ]


def truth_folder(extracts: IncomingExtracts) -> Path | None:
    """The synthetic partnership's ``truth/`` beside its ``incoming/`` folder; None for real extracts."""
    truth = Path(extracts.incoming_dir).parent / "truth"
    return truth if (truth / "source_records.csv").exists() else None


def _evaluation_version(context, conn, resources) -> str | None:
    """linkage_evaluation's input version: the links it scores (``linkage.person_links``, ``linkage.family_links``),
    the extracts (:func:`.freshness.data_version`: the household adults it reads come from them) and the truth
    files it reads (:data:`models.linkage.evaluation.TRUTH_FILES`), with the code. None (run it: it says why
    there is nothing to score) when there is no truth/ folder."""
    truth = truth_folder(resources["extracts"])
    if truth is None:
        return None
    links = tables_digest(conn, ["linkage.person_links", "linkage.family_links"])
    return hashlib.sha256("\n".join([files_version([truth / name for name in TRUTH_FILES]), data_version(conn),
                                      links]).encode()).hexdigest()


@asset(key=LINKAGE_EVALUATION_KEY, group_name="quality", pool=WAREHOUSE_POOL, kinds={"duckdb"},
       deps=[PERSON_LINKS_KEY, FAMILY_LINKS_KEY], output_required=False,
       description="quality.linkage_evaluation (synthetic partnership only: real extracts have no truth): pairwise "
                   "precision, recall and F1 of the child linkage against truth/, cluster purity and completeness, "
                   "twin and sibling false merges, adult-child link precision and recall.")
def linkage_evaluation(context: AssetExecutionContext, warehouse: WarehouseResource,
                       identity_store: IdentityStoreResource, extracts: IncomingExtracts, refresh: RefreshState):
    if truth_folder(extracts) is None:  # real extracts: nothing scored, nothing written
        context.log.info("linkage evaluation skipped: the extracts have no truth/ folder (not a synthetic "
                         "partnership), so there is nothing to score the links against")
        return
    yield from _evaluate(context, warehouse=warehouse, identity_store=identity_store, extracts=extracts,
                         refresh=refresh)


@reusable(outputs=("quality.linkage_evaluation",), version=_evaluation_version)
def _evaluate(context: AssetExecutionContext, warehouse: WarehouseResource, identity_store: IdentityStoreResource,
              extracts: IncomingExtracts):
    """The evaluation against truth/ (see the asset), not run again while its links, extracts and truth are as
    they were (6 s and 1 GB on the default partnership)."""
    truth_dir = truth_folder(extracts)
    with warehouse.get_connection() as conn:
        attach_identity_store(conn, Path(identity_store.database))
        person_links = conn.sql("SELECT * FROM linkage.person_links").df()
        family_links = conn.sql("SELECT * FROM linkage.family_links").df()
        evaluation = evaluate_linkage(person_links, family_links, household_adult_records(conn), truth_dir)
        replace_table(conn, "quality.linkage_evaluation", evaluation)
    headline = evaluation[evaluation["level"].isin(["source identities", "recorded in household",
                                                    "same address"])]
    table = ["| scope | level | measure | value |", "|---|---|---|---:|"] + \
        [f"| {r.scope} | {r.level} | {r.measure} | {r.value:.4f} |" for r in headline.itertuples()]
    yield MaterializeResult(metadata={"dagster/row_count": len(evaluation),
                                      "headline": MetadataValue.md("\n".join(table))})


