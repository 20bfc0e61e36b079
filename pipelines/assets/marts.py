"""The neglect marts: evidence, tiers, prevalence, hidden prevalence, practice indicators, trend.

=====================================  ============  ==========================================================
asset (= warehouse table)              partitions    what it holds (see the module in models/marts/)
=====================================  ============  ==========================================================
marts/child_neglect_evidence           -             staging.* and each child's neglect evidence with its dates
                                                     (every period: evidence windows are dates, not quarters)
marts/child_neglect_tier               quarter       each child's strongest tier per quarter, measure and area
marts/neglect_prevalence               quarter       children per 10,000 by tier set, area and breakdown, with
                                                     95 % / 99.8 % intervals and benchmark comparisons
marts/identification_ratio             quarter       identified neglect (tiers 1-4) against CP-neglect alone
marts/hidden_prevalence                quarter       capture-recapture estimate incl. unidentified children
marts/practice_indicators              quarter       plans 2+ years, repeat plans, re-referrals, step-up/down,
                                                     45-day assessments, with Wilson intervals
marts/prevalence_trend                 -             change since last quarter and a year ago; trend tests
marts/tier_transitions                 quarter       children by tier at the previous quarter end x this one
marts/neglect_episodes                 quarter       spells of identified neglect per child, as known at the quarter
marts/cohort_outcomes                  quarter       children first identified 4 and 8 quarters earlier: outcomes
marts/threshold_profile                quarter       the evidence of children entering each service level
marts/conversion_rates                 quarter       referral -> assessment -> s47 -> conference -> plan, compared,
                                                     with a trend test over the yearly referral windows
marts/gcp2_progress                    quarter       GCP2 rescoring: first vs latest per domain and service
marts/commissioning_view               quarter       need (identified, estimated) against services received and
                                                     commissioned, per authority and ward, and the gap
marts/neglect_projection               quarter       identified neglect 1-3 years ahead: current age-specific
                                                     rates x ONS subnational population projections
=====================================  ============  ==========================================================

Quarterly assets read the trailing four quarters of evidence for their 12-month measures through
the evidence windows (``marts.child_neglect_evidence`` covers every period). The definitions
(``models/marts/tier_definitions.yaml``) are read when the evidence asset runs, so editing them and
re-running the refresh rebuilds everything from them. Metadata and logs hold counts only; a quarterly
asset's metadata names the quarters it covers (a run over a range is recorded on every partition of the
range: :mod:`pipelines.assets.tables`), and every mart carries its column schema from the YAML below.

After each build the marts' column meanings (``models/marts/columns.yaml``) are written into the
warehouse as ``COMMENT ON`` (:func:`models.marts.comments.apply_comments`): a rebuilt table loses them.
"""
import hashlib

from dagster import (AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext, AssetKey,
                     BackfillPolicy, Failure, MaterializeResult, MetadataValue, asset)

from checks import commissioning as commissioning_checks
from checks import marts as mart_checks
from ingest.write import replace_table
from models.marts.availability import build_availability
from models.marts.benchmark_comparison import POPULATION_TABLE, PUBLISHED_TABLES, build_benchmark_comparison
from models.marts.comments import apply_comments
from models.marts.commissioning import build_commissioning_view
from models.marts.projection import build_neglect_projection
from models.marts.definitions import DefinitionsError, is_partner_kind, load_definitions
from models.marts.evidence import build_evidence, build_staging, build_tiers
from models.marts.hidden_prevalence import build_hidden_prevalence
from models.marts.practice_indicators import build_practice_indicators
from models.marts.prevalence import build_identification_ratio, build_prevalence
from models.marts.trend import prevalence_change, prevalence_trend

from ..partitions import quarter_end, quarterly_partitions
from ..resources import EstimationSettings, IncomingExtracts, LinkageSettings, RefreshState, WarehouseResource
from .freshness import code_version, recompute_all
from .journey_marts import EPISODES_KEY, JOURNEY_MARTS, recounted_mart_asset
from .linkage import FAMILY_LINKS_KEY, PERSON_LINKS_KEY, partner_sources
from .population import WAREHOUSE_POOL
from .reuse import reusable
from .tables import column_schema_metadata, quarterly_metadata

EVIDENCE_KEY = AssetKey(["marts", "child_neglect_evidence"])
TIER_KEY = AssetKey(["marts", "child_neglect_tier"])
PREVALENCE_KEY = AssetKey(["marts", "neglect_prevalence"])
IDENTIFICATION_KEY = AssetKey(["marts", "identification_ratio"])
HIDDEN_KEY = AssetKey(["marts", "hidden_prevalence"])
PRACTICE_KEY = AssetKey(["marts", "practice_indicators"])
TREND_KEY = AssetKey(["marts", "prevalence_trend"])
BENCHMARK_KEY = AssetKey(["marts", "benchmark_comparison"])
COMMISSIONING_KEY = AssetKey(["marts", "commissioning_view"])
PROJECTION_KEY = AssetKey(["marts", "neglect_projection"])
QUARTERLY = {"partitions_def": quarterly_partitions, "backfill_policy": BackfillPolicy.single_run(),
             "pool": WAREHOUSE_POOL, "group_name": "marts", "kinds": {"duckdb"}}

PREVALENCE_CHECKS = {
    "tier_sets_nested": (mart_checks.tier_sets_nested,
                         "Blocking: in every area and breakdown, tier set 1 <= 1-2 <= 1-4 <= 1-5."),
    "every_area_has_population": (mart_checks.every_area_has_population,
                                  "Blocking: every authority, the partnership, ward, age band and sex has a "
                                  "population above zero in every quarter."),
    "rates_within_range": (mart_checks.rates_within_range,
                           "Blocking: rates and bounds within 0-10,000 per 10,000, bounds around the rate, "
                           "children <= population."),
    "partnership_total_is_union": (mart_checks.partnership_total_is_union,
                                   "Blocking: partnership children = sum over authorities minus children counted "
                                   "by more than one (recounted from the tier table), for tier sets 1 to 1-5."),
}


def _definitions():
    try:
        return load_definitions()
    except DefinitionsError as exc:
        raise Failure(description=str(exc)) from None


def _quarters(context: AssetExecutionContext):
    return [quarter_end(key) for key in context.partition_keys]


def _check(asset_key, name, outcome, severity=AssetCheckSeverity.ERROR) -> AssetCheckResult:
    return AssetCheckResult(asset_key=asset_key, check_name=name, passed=outcome.passed, severity=severity,
                            description=outcome.description, metadata=outcome.metadata)


@asset(key=EVIDENCE_KEY, group_name="marts", pool=WAREHOUSE_POOL, kinds={"duckdb"},
       deps=[PERSON_LINKS_KEY, FAMILY_LINKS_KEY, AssetKey(["raw", "ons_population"]),
             AssetKey(["raw", "la_codes"]), AssetKey(["raw", "deprivation"]), AssetKey(["raw", "ons_population_lsoa"]),
             AssetKey(["raw", "census_ethnicity"])],
       description="staging.* (each plan, episode and assessment once, keyed by person) and "
                   "marts.child_neglect_evidence: each child's neglect evidence by authority, source and kind, "
                   "with the dates it was current (models/marts/tier_definitions.yaml).")
@reusable(outputs=("marts.child_neglect_evidence",), reads=("raw.*", "linkage.person_links", "linkage.family_links"))
def child_neglect_evidence(context: AssetExecutionContext, warehouse: WarehouseResource,
                           extracts: IncomingExtracts) -> MaterializeResult:
    definitions, registry = _definitions(), extracts.registry()
    with warehouse.get_connection() as conn:
        build_staging(conn)
        build_evidence(conn, definitions, partner_sources(registry))
        apply_comments(conn, ("marts",))
        schema = column_schema_metadata(conn, "marts.child_neglect_evidence")
        by_kind = conn.execute("""
            SELECT kind, count(*), count(DISTINCT person_key) FROM marts.child_neglect_evidence
            GROUP BY kind ORDER BY kind""").fetchall()
    table = ["| kind | evidence rows | children |", "|---|---:|---:|"] + \
        [f"| {k} | {n:,} | {c:,} |" for k, n, c in by_kind]
    return MaterializeResult(metadata={"dagster/row_count": sum(n for _, n, _ in by_kind),
                                       "by_kind": MetadataValue.md("\n".join(table)), **schema})


@asset(key=TIER_KEY, deps=[EVIDENCE_KEY], **QUARTERLY,
       description="marts.child_neglect_tier: each child with evidence current in the quarter (point) or the "
                   "12 months to it, per authority and partnership, with their strongest tier and breakdowns; "
                   "marts.source_availability, marts.authority_presence, marts.tier_availability: which sources "
                   "each authority supplied for the quarter and so which tiers can be counted.")
@reusable(outputs=("marts.child_neglect_tier",),
          reads=("marts.child_neglect_evidence", "staging.child_attributes", "staging.child_records", "staging.population",
                 "quality.load_audit", "raw.la_codes"))
def child_neglect_tier(context: AssetExecutionContext, warehouse: WarehouseResource,
                       extracts: IncomingExtracts) -> MaterializeResult:
    definitions, registry = _definitions(), extracts.registry()
    with warehouse.get_connection() as conn:
        build_availability(conn, registry, definitions, _quarters(context))
        rows = build_tiers(conn, definitions, _quarters(context))
        apply_comments(conn, ("marts",))
        metadata = quarterly_metadata(context.partition_keys, conn, "marts.child_neglect_tier", rows)
    return MaterializeResult(metadata=metadata)


@asset(key=PREVALENCE_KEY, deps=[TIER_KEY], **QUARTERLY,
       check_specs=[AssetCheckSpec(name, asset=PREVALENCE_KEY, blocking=True, description=text)
                    for name, (_, text) in PREVALENCE_CHECKS.items()],
       description="marts.neglect_prevalence: children per 10,000 aged 0-17 by tier set (1, 1-2, 1-4, 1-5, 6), "
                   "point and 12-month, per authority and partnership and breakdown, with Byar/exact 95 % and "
                   "99.8 % intervals and England / research / other-authority comparisons.")
@reusable(outputs=("marts.neglect_prevalence",),
          reads=("marts.child_neglect_tier", "marts.authority_presence", "marts.source_kinds", "marts.tier_availability",
                 "staging.ethnic_shares", "staging.population", "staging.population_lsoa", "quality.load_audit",
                 "raw.la_codes"))
def neglect_prevalence(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    definitions = _definitions()
    quarters = _quarters(context)
    with warehouse.get_connection() as conn:
        frame = build_prevalence(conn, definitions, quarters)
        apply_comments(conn, ("marts",))
        checks = [_check(PREVALENCE_KEY, name, rule(conn, quarters))
                  for name, (rule, _) in PREVALENCE_CHECKS.items()]
        metadata = quarterly_metadata(context.partition_keys, conn, "marts.neglect_prevalence", len(frame))
    latest = frame[(frame["period_end"] == frame["period_end"].max()) & (frame["breakdown"] == "all")
                   & (frame["measure"] == "12_month")]
    table = [f"Quarter ending {max(quarters):%d %B %Y} (the latest of the run)", "",
             "| area | tier set | children | per 10,000 |", "|---|---|---:|---:|"] + \
        [f"| {r.la_name} | {r.tier_set} | {r.children:,} | {r.rate_per_10k:.1f} |" for r in latest.itertuples()]
    return MaterializeResult(metadata={**metadata, "latest_12_month": MetadataValue.md("\n".join(table))},
                             check_results=checks)


@asset(key=IDENTIFICATION_KEY, deps=[PREVALENCE_KEY], **QUARTERLY,
       description="marts.identification_ratio: children with identified neglect (tiers 1-4) for each child "
                   "on a CP plan under neglect, and the share on a plan (Wilson intervals), per authority.")
@reusable(outputs=("marts.identification_ratio",), reads=("marts.neglect_prevalence",))
def identification_ratio(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.get_connection() as conn:
        frame = build_identification_ratio(conn, _quarters(context))
        apply_comments(conn, ("marts",))
        metadata = quarterly_metadata(context.partition_keys, conn, "marts.identification_ratio", len(frame))
    return MaterializeResult(metadata=metadata)


@asset(key=HIDDEN_KEY, deps=[TIER_KEY, PREVALENCE_KEY], **QUARTERLY,
       check_specs=[AssetCheckSpec("estimate_at_least_observed", asset=HIDDEN_KEY,
                                   description="Every estimate >= the children observed on the lists, inside its "
                                               "interval; observed recounted from the tier table; no number on a "
                                               "not-estimable row.")],
       description="marts.hidden_prevalence: multiple systems estimation (children's social care neglect, early "
                   "help neglect, adult-services concern) of all children in the population the lists draw on, "
                   "with a bootstrap interval, stratified by age band when possible, and linkage-threshold "
                   "sensitivity.")
@reusable(outputs=("marts.hidden_prevalence",),
          reads=("marts.child_neglect_evidence", "marts.child_neglect_tier", "marts.neglect_prevalence",
                 "marts.authority_presence", "marts.source_availability", "marts.source_kinds", "staging.child_attributes",
                 "linkage.person_links_sensitivity", "quality.load_audit", "raw.la_codes"))
def hidden_prevalence(context: AssetExecutionContext, warehouse: WarehouseResource, extracts: IncomingExtracts,
                      linkage_settings: LinkageSettings, estimation: EstimationSettings,
                      refresh: RefreshState) -> MaterializeResult:
    definitions, registry, thresholds = _definitions(), extracts.registry(), linkage_settings.thresholds()
    quarters, sampler = _quarters(context), estimation.sampler()
    # what besides the tables it reads the figures depend on (the code and every setting, the sampler's and the
    # linkage thresholds among them): a quarter whose inputs are unchanged keeps its rows (None: every quarter
    # estimated, as NEGLECT_RECOMPUTE_ALL=1 asks)
    version = None if recompute_all() else hashlib.sha256(
        f"{code_version()}\n{refresh.settings_version}".encode()).hexdigest()
    with warehouse.get_connection() as conn:
        frame = build_hidden_prevalence(conn, definitions, quarters, thresholds, registry, sampler, version)
        estimated_quarters = len(set(frame["period_end"]))
        context.log.info(f"marts/hidden_prevalence: {estimated_quarters} of {len(set(quarters))} quarters estimated; "
                         "the others' inputs are those their rows were estimated from")
        apply_comments(conn, ("marts",))
        outcome = mart_checks.hidden_estimate_at_least_observed(  # the log-linear (legacy) lists
            conn, quarters, {c.name: c.any_of for c in definitions.capture_lists
                             if not any(is_partner_kind(k) for k in c.any_of)})
        metadata = quarterly_metadata(context.partition_keys, conn, "marts.hidden_prevalence", len(frame))
        rows, estimated = conn.execute("SELECT count(*), count(*) FILTER (WHERE status = 'estimated') "
                                       "FROM marts.hidden_prevalence WHERE period_end IN (SELECT unnest(?::DATE[]))",
                                       [quarters]).fetchall()[0]
    return MaterializeResult(metadata={**metadata, "quarters_estimated": estimated_quarters,
                                       "estimated_rows": estimated, "not_estimable_rows": rows - estimated},
                             check_results=[_check(HIDDEN_KEY, "estimate_at_least_observed", outcome)])


@asset(key=PRACTICE_KEY, deps=[EVIDENCE_KEY, TIER_KEY], **QUARTERLY,
       description="marts.practice_indicators: CP plans open 2+ years, second or subsequent plans, plans within "
                   "2 years of a previous one, re-referrals within 12 months, step-up from early help, step-down "
                   "(RC9), assessments within 45 working days; numerator, denominator, rate, Wilson intervals.")
@reusable(outputs=("marts.practice_indicators",),
          reads=("marts.authority_presence", "marts.source_availability", "staging.cin_assessments", "staging.cin_episodes",
                 "staging.cp_plans", "staging.early_help_episodes"))
def practice_indicators(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.get_connection() as conn:
        frame = build_practice_indicators(conn, _quarters(context))
        apply_comments(conn, ("marts",))
        metadata = quarterly_metadata(context.partition_keys, conn, "marts.practice_indicators", len(frame))
    return MaterializeResult(metadata=metadata)


@asset(key=TREND_KEY, deps=[PREVALENCE_KEY], group_name="marts", pool=WAREHOUSE_POOL, kinds={"duckdb"},
       description="marts.prevalence_change (each figure against the previous quarter and a year ago, flagged "
                   "only where the 95 % intervals do not overlap) and marts.prevalence_trend (quasi-Poisson test "
                   "for a trend across all quarters), from every quarter of marts.neglect_prevalence.")
@reusable(outputs=("marts.prevalence_trend",), reads=("marts.neglect_prevalence",))
def prevalence_trend_asset(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.get_connection() as conn:
        prevalence = conn.sql("SELECT * FROM marts.neglect_prevalence").df()
        change, trend = prevalence_change(prevalence), prevalence_trend(prevalence)
        replace_table(conn, "marts.prevalence_change", change)
        replace_table(conn, "marts.prevalence_trend", trend)
        apply_comments(conn, ("marts",))
        schema = column_schema_metadata(conn, "marts.prevalence_trend")
    counts = trend["trend"].value_counts().to_dict()
    return MaterializeResult(metadata={"dagster/row_count": len(trend),
                                       "trends": MetadataValue.json({k: int(v) for k, v in counts.items()}), **schema})


@asset(key=BENCHMARK_KEY, group_name="marts", pool=WAREHOUSE_POOL, kinds={"duckdb"},
       deps=[PRACTICE_KEY, *(AssetKey(["raw", t]) for t in (*PUBLISHED_TABLES, POPULATION_TABLE,
                                                              "statistical_neighbours", "la_codes"))],
       description="marts.benchmark_comparison: each authority against England, its region and its 10 "
                   "statistical neighbours (median, lowest, highest, rank, quartile) on DfE's published comparators "
                   "(and neglect at assessment per 10,000 children), latest published year, with 95 % and 99.8 % "
                   "intervals and neutral higher/similar/lower, and the product's own practice indicator for the "
                   "same measure and year beside it; marts.benchmark_funnel: every authority in England against "
                   "England with the funnel plot's control limits.")
@reusable(outputs=("marts.benchmark_comparison",),
          reads=("marts.practice_indicators", "raw.published_*", "raw.statistical_neighbours", "raw.la_codes"))
def benchmark_comparison_asset(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.get_connection() as conn:
        frame = build_benchmark_comparison(conn)
        apply_comments(conn, ("marts",))
        schema = column_schema_metadata(conn, "marts.benchmark_comparison")
    return MaterializeResult(metadata={"dagster/row_count": len(frame), **schema})


@asset(key=COMMISSIONING_KEY, deps=[PREVALENCE_KEY, HIDDEN_KEY, AssetKey(["raw", "service_activity"])], **QUARTERLY,
       check_specs=[AssetCheckSpec("commissioning_view_adds_up", asset=COMMISSIONING_KEY,
                                   description="Error (not blocking): identified = receiving a service + without one "
                                               "in every row; wards add up to their authority; identified as "
                                               "marts.neglect_prevalence counts it; the partnership's children in a "
                                               "service recounted from staging; a return not supplied gives no "
                                               "commissioned figure (never 0).")],
       description="marts.commissioning_view: per quarter, authority and ward, identified neglect (tiers 1-4, 12 "
                   "months) and the estimated total need (hidden prevalence; apportioned to wards, and said so) "
                   "against children in early help, in need and on CP plans on the quarter end and the commissioned "
                   "capacity and caseload (optional service-activity returns), with the gap.")
@reusable(outputs=("marts.commissioning_view",),
          reads=("marts.child_neglect_tier", "marts.neglect_prevalence", "marts.hidden_prevalence", "marts.authority_presence",
                 "marts.source_availability", "staging.annex_a_cin_episodes", "staging.child_records", "staging.cin_episodes",
                 "staging.cp_plans", "staging.early_help_episodes", "staging.population", "raw.service_activity"))
def commissioning_view_asset(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    quarters = _quarters(context)
    with warehouse.get_connection() as conn:
        frame = build_commissioning_view(conn, _definitions(), quarters)
        apply_comments(conn, ("marts",))
        outcome = commissioning_checks.commissioning_view_adds_up(conn, quarters)
        metadata = quarterly_metadata(context.partition_keys, conn, "marts.commissioning_view", len(frame))
    latest = frame[(frame["period_end"] == frame["period_end"].max()) & (frame["ward_code"] == "all")]
    table = ["| area | identified | receiving a service | without one | capacity | caseload |", "|---|---:|---:|---:|---:|---:|"] + \
        [f"| {r.la_name} | {r.identified_children} | {r.identified_receiving_service} | {r.identified_without_service} "
         f"| {r.commissioned_capacity} | {r.commissioned_caseload} |" for r in latest.itertuples()]
    return MaterializeResult(metadata={**metadata, "latest": MetadataValue.md("\n".join(table))},
                             check_results=[_check(COMMISSIONING_KEY, "commissioning_view_adds_up", outcome)])


@asset(key=PROJECTION_KEY, deps=[PREVALENCE_KEY, AssetKey(["raw", "population_projections"]), AssetKey(["raw", "la_codes"])],
       **QUARTERLY,
       check_specs=[AssetCheckSpec("projection_reproduces_rates", asset=PROJECTION_KEY,
                                   description="Error (not blocking): every projection recomputed in SQL as the age "
                                               "band's current rate x its projected population; 'All ages' the sum of "
                                               "the bands; each inside its 95 % interval; no figure where not "
                                               "available.")],
       description="marts.neglect_projection: children with identified neglect (tiers 1-4, 12 months) 1, 2 and 3 "
                   "years ahead per authority and the partnership, from current age-specific rates x ONS subnational "
                   "population projections, with 95 % intervals for the rates' uncertainty (the projection taken as "
                   "fixed).")
@reusable(outputs=("marts.neglect_projection",),
          reads=("marts.neglect_prevalence", "marts.authority_presence", "raw.population_projections", "raw.la_codes"))
def neglect_projection_asset(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    quarters = _quarters(context)
    with warehouse.get_connection() as conn:
        frame = build_neglect_projection(conn, quarters)
        apply_comments(conn, ("marts",))
        outcome = commissioning_checks.projection_reproduces_rates(conn, quarters)
        metadata = quarterly_metadata(context.partition_keys, conn, "marts.neglect_projection", len(frame))
    available = int((frame["availability"] == "available").sum())
    return MaterializeResult(metadata={**metadata, "available_rows": available},
                             check_results=[_check(PROJECTION_KEY, "projection_reproduces_rates", outcome)])


_UPSTREAM = {"tier": [TIER_KEY], "evidence": [EVIDENCE_KEY], "episodes": [EPISODES_KEY]}
JOURNEY_ASSETS = [recounted_mart_asset(m, _UPSTREAM[m.upstream], QUARTERLY, _definitions, _quarters, _check)
                  for m in JOURNEY_MARTS]

MART_ASSETS = [child_neglect_evidence, child_neglect_tier, neglect_prevalence, identification_ratio,
               hidden_prevalence, practice_indicators, prevalence_trend_asset, benchmark_comparison_asset,
               commissioning_view_asset, neglect_projection_asset, *JOURNEY_ASSETS]

