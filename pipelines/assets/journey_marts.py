"""The journey and threshold marts (issue 21): each a quarterly asset that builds its table and recounts it.

Every one of them is the same thing: build ``marts.<name>`` for the run's quarters with a function of
:mod:`models.marts.journeys`, :mod:`models.marts.thresholds` or :mod:`models.marts.gcp2`, then run one blocking check of
:mod:`checks.journeys` that recounts it from the tier table or ``staging``. :class:`RecountedMart`
declares one; :func:`recounted_mart_asset` makes the asset. Metadata: the quarters covered, rows written,
the table's rows and column schema (:func:`pipelines.assets.tables.quarterly_metadata`), plus what
``extra_metadata`` adds (counts only).
"""

from dataclasses import dataclass
from typing import Callable

from dagster import AssetCheckSpec, AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from checks import journeys as journey_checks
from models.marts.comments import apply_comments
from models.marts.gcp2 import build_gcp2_progress
from models.marts.journeys import build_cohort_outcomes, build_neglect_episodes, build_tier_transitions
from models.marts.thresholds import build_conversion_rates, build_threshold_profile

from ..resources import WarehouseResource
from .reuse import reusable
from .tables import quarterly_metadata

TRANSITIONS_KEY = AssetKey(["marts", "tier_transitions"])
EPISODES_KEY = AssetKey(["marts", "neglect_episodes"])
COHORT_KEY = AssetKey(["marts", "cohort_outcomes"])
PROFILE_KEY = AssetKey(["marts", "threshold_profile"])
CONVERSION_KEY = AssetKey(["marts", "conversion_rates"])
GCP2_KEY = AssetKey(["marts", "gcp2_progress"])


STAGED_CASES = ("staging.child_attributes", "staging.cin_assessments", "staging.cin_child_keys", "staging.cin_episodes",
                "staging.cp_plans", "staging.early_help_episodes", "raw.cin_episode", "raw.cin_section47")


@dataclass(frozen=True)
class RecountedMart:
    """One mart: ``build(conn, definitions, quarters)`` writes it (returns rows written or the frame);
    ``recount(conn, definitions, quarters)`` is its blocking check (a checks.RuleOutcome)."""

    key: AssetKey
    upstream: str  # "tier" or "evidence": what it is built from
    check: str
    check_description: str
    description: str
    build: Callable
    recount: Callable
    reads: tuple[str, ...]  # the warehouse tables build and recount read (its input version: pipelines/assets/reuse.py)
    extra_metadata: Callable | None = None  # (conn, quarters, built) -> dict of counts


def _latest_spells(conn, quarters, built) -> dict:
    status = conn.execute("SELECT status, count(*) FROM marts.neglect_episodes WHERE period_end = ? "
                          "AND la_code = 'partnership' GROUP BY ALL ORDER BY status", [max(quarters)]).fetchall()
    return {"latest_partnership_spells": MetadataValue.json(dict(status))}


def _differing_steps(conn, quarters, frame) -> dict:
    partnership = frame[frame["la_code"] == "partnership"]
    return {"steps_where_authorities_differ": int(partnership["authorities_differ"].sum()), "steps": len(partnership)}


def _gcp2_children(conn, quarters, frame) -> dict:
    latest = frame[(frame["la_code"] == "partnership") & (frame["service"] == "all") & (frame["domain"] == "any domain")]
    latest = latest[latest["quarter_end"] == latest["quarter_end"].max()] if len(latest) else latest
    return {"partnership_children_rescored": int(latest["children"].sum()) if len(latest) else 0,
            "partnership_improved_any_domain": int(latest["improved"].sum()) if len(latest) else 0}


JOURNEY_MARTS = [
    RecountedMart(
        TRANSITIONS_KEY, "tier", "flows_recount",
        "Blocking: the children flowing into (out of) each tier equal the children in it on the quarter end (the "
        "previous one), recounted from the tier table.",
        "marts.tier_transitions: children by tier at the previous quarter end x tier at this one (tiers 1-6, none, "
        "moved away/aged out), per authority and partnership (models/marts/journeys.py).",
        lambda conn, d, q: build_tier_transitions(conn, q),
        lambda conn, d, q: journey_checks.transitions_recount(conn, q),
        ("marts.child_neglect_tier", "staging.child_attributes")),
    RecountedMart(
        EPISODES_KEY, "tier", "spells_recount",
        "Blocking: open spells = children in tiers 1-4 on the quarter end, one open spell per child, quarters "
        "identified = child-quarters in tiers 1-4 up to it (recounted from the tier table).",
        "marts.neglect_episodes: spells of identified neglect (tiers 1-4) per pseudonymised child and area as known "
        "at each quarter end: start, end or open, strongest tier, services, time in neglect, resolution (no evidence "
        "for 2 quarter ends), escalation, re-entry within 12 months.",
        lambda conn, d, q: build_neglect_episodes(conn, q),
        lambda conn, d, q: journey_checks.episodes_recount(conn, q),
        ("marts.child_neglect_tier", "staging.child_attributes"), _latest_spells),
    RecountedMart(
        COHORT_KEY, "episodes", "cohorts_recount",
        "Blocking: each cohort's outcomes add up to the cohort, the cohort = the children first in tiers 1-4 on "
        "its quarter end (recounted from the tier table), and no cohort due is missing (passes as 'no cohort to "
        "follow yet' in a partnership's first year).",
        "marts.cohort_outcomes: children first identified on a quarter end, followed 4 and 8 quarters (resolved, "
        "lower / same / higher tier, escalated to a CP plan, moved away/aged out) with Wilson intervals.",
        lambda conn, d, q: build_cohort_outcomes(conn, q),
        lambda conn, d, q: journey_checks.cohort_outcomes_recount(conn, q),
        ("marts.child_neglect_tier", "marts.neglect_episodes", "staging.child_attributes")),
    RecountedMart(
        PROFILE_KEY, "evidence", "entrants_recount",
        "Blocking: CP plan entrants per quarter and authority = children with a plan starting in the quarter "
        "(staging.cp_plans).",
        "marts.threshold_profile: the evidence of the children entering early help, CIN assessment, section 47 and "
        "CP plans per authority and quarter (GCP2, parental factors, number of factors, prior early help, age), with "
        "intervals (models/marts/thresholds.py).",
        build_threshold_profile,
        lambda conn, d, q: journey_checks.profile_entrants_recount(conn, q), STAGED_CASES),
    RecountedMart(
        CONVERSION_KEY, "evidence", "stages_nested",
        "Blocking: each step's numerator <= its denominator, the stages nest, and the referrals equal the "
        "neglect-related episodes recounted from staging.",
        "marts.conversion_rates: neglect-related CIN episodes from referral to assessment, section 47, initial "
        "conference and CP plan per authority and quarter, Wilson intervals, and the steps where the authorities' "
        "95 % intervals do not overlap.",
        build_conversion_rates,
        lambda conn, d, q: journey_checks.conversion_nested(conn, q, d.abuse_or_neglect_need_code,
                                                            d.neglect_factor_codes),
        (*STAGED_CASES, "quality.load_audit"), _differing_steps),
    RecountedMart(
        GCP2_KEY, "tier", "gcp2_recount",  # reads marts.source_availability, which the tier asset writes
        "Blocking: improved + unchanged + worse = children, each share inside its interval, and the four domains' "
        "counts recounted from raw.gcp2_assessments (passes as 'not supplied' where no GCP2 file was sent).",
        "marts.gcp2_progress: children with two or more GCP2 assessments (the latest in the 12 months to the quarter "
        "end) by service and domain, improved / unchanged / worse between the first and the latest, share improved "
        "with its Wilson interval (models/marts/gcp2.py); no rows where GCP2 assessments were not supplied.",
        build_gcp2_progress,
        lambda conn, d, q: journey_checks.gcp2_progress_recount(conn, q),
        ("raw.gcp2_assessments", "linkage.person_links", "marts.source_availability", "quality.load_audit"),
        _gcp2_children),
]


def recounted_mart_asset(mart: RecountedMart, deps: list[AssetKey], quarterly: dict, definitions: Callable,
                         quarters: Callable, check_result: Callable):
    """The asset of ``mart``; ``quarterly``, ``definitions``, ``quarters`` and ``check_result`` are the mart
    assets' shared settings and helpers (:mod:`pipelines.assets.marts`)."""

    @asset(key=mart.key, deps=deps, **quarterly, description=mart.description,
           check_specs=[AssetCheckSpec(mart.check, asset=mart.key, blocking=True, description=mart.check_description)])
    @reusable(outputs=(f"marts.{mart.key.path[-1]}",), reads=mart.reads)
    def _mart(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
        loaded, periods = definitions(), quarters(context)
        with warehouse.get_connection() as conn:
            built = mart.build(conn, loaded, periods)
            apply_comments(conn, ("marts",))  # the column meanings (models/marts/columns.yaml): a rebuilt table loses them
            outcome = mart.recount(conn, loaded, periods)
            extra = mart.extra_metadata(conn, periods, built) if mart.extra_metadata else {}
            rows = built if isinstance(built, int) else len(built)
            metadata = quarterly_metadata(context.partition_keys, conn, f"marts.{mart.key.path[-1]}", rows)
        return MaterializeResult(metadata={**metadata, **extra},
                                 check_results=[check_result(mart.key, mart.check, outcome)])

    return _mart
