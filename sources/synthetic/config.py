"""Parameters of the synthetic partnership.

Every number the generator uses lives here, so a reader can see (and a test can
change) what the simulated truth is made of. Rates are probabilities; hazards are
per quarter (3 months) unless a name says otherwise. Dates are ISO strings.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Authority:
    """One local authority of the partnership.

    ``lea`` is the three-digit DfE LA number used in the CIN census header;
    ``lad_code`` the ONS local authority district code. Both are fictional.
    ``share`` is this authority's share of the partnership's children.
    """

    lea: str
    lad_code: str
    name: str
    share: float
    wards: int
    postcode_area: str
    deprivation_shift: float  # added to ward deprivation; >0 = more deprived
    cp_list_format: str  # "xlsx" or "csv"
    csv_encoding: str  # encoding of this authority's CSV exports


DEFAULT_AUTHORITIES = (
    Authority("991", "E06000901", "Northbrook", 60 / 105, 18, "QN", 0.8, "xlsx", "utf-8-sig"),
    Authority("992", "E06000902", "Eastmere", 45 / 105, 14, "QE", -0.6, "csv", "cp1252"),
)


@dataclass(frozen=True)
class DefectRates:
    """Rates of the defects real extracts carry.

    Identity defects apply once per (recording system, person), so a typo in the
    early-help system repeats in every quarterly export, as it would in reality.
    Row defects apply to a fixed share of data rows of a source (exactly
    ``round(rate * rows)`` rows are touched, so a test can check the rate).
    """

    name_typo: float = 0.03  # a letter substituted, dropped, doubled or swapped
    nickname: float = 0.04  # formal forename recorded as a known diminutive
    surname_change: float = 0.02  # child recorded under another (parent's) surname
    hyphenated_surname: float = 0.02  # child recorded with a double-barrelled surname
    dob_transposed: float = 0.01  # day and month swapped (only where day <= 12)
    missing_nhs_number: float = 0.12  # early help / adult services / person list
    missing_upn: float = 0.10  # school-age child with no UPN in the CSC system
    stale_postcode: float = 0.05  # previous address recorded after a move
    duplicate_row: float = 0.005  # an exact repeat of a data row
    invalid_code: float = 0.004  # a category/sex/factor code outside the code list
    date_out_of_order: float = 0.004  # an end date before its start date
    future_date: float = 0.002  # a date after the extract date
    blank_mandatory: float = 0.004  # a mandatory field left blank


@dataclass(frozen=True)
class PartnerAgency:
    """A partner agency that notices neglect and keeps its own list (``partners.py``).

    Each quarter a child of the agency's ages gets a concern with a hazard that depends on whether
    the child is neglected that quarter: ``detection[severity]`` (times the age, domestic-abuse and
    known-to-social-care factors) if so; if not, a false-positive hazard set so that about
    ``false_positive_share`` of the children the agency lists in a quarter are not neglected then
    (the share a case-file audit measures: 1 - positive predictive value). Concern types are drawn
    from the weights (code -> weight) in order of precedence: ``domestic_abuse_types`` for a child
    whose household has the domestic-abuse risk, ``under_5_types`` for a child aged 0-4, otherwise
    ``concern_types`` (neglected) or ``false_positive_types`` (not neglected). Codes are those of
    ``sources/schemas/code_maps/partner_concern_type.csv``.
    """

    name: str  # the Agency code in the files: partner_<name>_concerns.csv, source partner_<name>
    min_age: int  # youngest age (completed years on the concern date) the agency sees
    max_age: int  # oldest
    detection: tuple[float, float, float]  # quarterly hazard of a concern for a neglected child: low/moderate/severe
    age_factor: tuple[float, float, float, float]  # hazard multiplier for ages 0-4 / 5-9 / 10-15 / 16-17
    false_positive_share: float  # share of listed children (per quarter) not neglected that quarter
    known_to_csc_factor: float  # hazard multiplier while the child has an open social-care episode
    domestic_abuse_factor: float  # hazard multiplier for a child whose household has the domestic-abuse risk
    repeat_concerns: float  # mean number of further concerns in a quarter about a child with one (Poisson)
    concern_types: tuple[tuple[str, float], ...]  # neglected child
    false_positive_types: tuple[tuple[str, float], ...]  # child not neglected that quarter
    severity_recorded: float  # share of concerns with the optional Severity filled in
    nhs_missing: float  # share of children the agency's system holds without an NHS number
    partnership_wide: bool  # one system for every authority (one police force, one acute trust)
    record_prefix: str  # the agency's reference for a concern: <prefix><number>
    domestic_abuse_types: tuple[tuple[str, float], ...] = ()
    under_5_types: tuple[tuple[str, float], ...] = ()


# The default partner agencies. Targets (README, "Partner agencies"): over a year, health visiting
# records a concern for a minority (about a quarter) of the 0-4s neglected in it, schools for about a
# fifth of neglected 5-16s, police and the emergency department for fewer (under a tenth); 20-30 % of
# each agency's listed children in a quarter are not neglected then. Universal services (health
# visiting, schools) see mild and severe neglect alike: their gradients by severity are flat (x1.3
# severe/low), where social care's is steep (csc_referral_neglect: x4.4); police and ED see the severe
# end (x4). Known-to-social-care factors: children on a plan get more health-visiting contacts and a
# school's designated safeguarding lead watches them; police do not look them up first.
DEFAULT_PARTNER_AGENCIES = (
    PartnerAgency(
        "health_visiting", 0, 4,
        detection=(0.090, 0.100, 0.115),  # universal: mandated contacts at birth, 6-8 weeks, 1 and 2-2.5 years
        age_factor=(1.0, 0.0, 0.0, 0.0),
        false_positive_share=0.20,  # "was not brought" to checks and immunisations happens in many families
        known_to_csc_factor=1.5, domestic_abuse_factor=1.3, repeat_concerns=0.3,
        concern_types=(("home_conditions", 0.35), ("missed_health", 0.35), ("neglect_concern", 0.30)),
        false_positive_types=(("missed_health", 0.70), ("home_conditions", 0.20), ("neglect_concern", 0.10)),
        severity_recorded=0.7, nhs_missing=0.02,  # health records nearly always carry the NHS number
        partnership_wide=False, record_prefix="HV"),
    PartnerAgency(
        "school", 5, 16,
        detection=(0.065, 0.072, 0.085),  # designated safeguarding leads' logs, school nursing
        age_factor=(0.0, 1.0, 0.9, 0.7),  # less contact with a pastoral lead in secondary school and year 11
        false_positive_share=0.25,  # poor attendance and hunger also come from illness and poverty
        known_to_csc_factor=1.5, domestic_abuse_factor=1.3, repeat_concerns=0.6,  # DSLs log several entries
        concern_types=(("attendance_welfare", 0.35), ("hygiene_hunger", 0.35), ("neglect_concern", 0.30)),
        false_positive_types=(("attendance_welfare", 0.55), ("hygiene_hunger", 0.30), ("neglect_concern", 0.15)),
        severity_recorded=0.4, nhs_missing=0.75,  # school systems hold the UPN, seldom the NHS number
        partnership_wide=False, record_prefix="DSL"),
    PartnerAgency(
        "police", 0, 17,
        detection=(0.008, 0.015, 0.032),  # the severe end: children found in neglectful conditions
        age_factor=(1.0, 1.0, 1.0, 1.0),
        false_positive_share=0.30,  # a domestic-abuse incident with a child present, neglected or not
        known_to_csc_factor=1.0, domestic_abuse_factor=5.0,  # Operation Encompass notifications
        repeat_concerns=0.35,  # repeat incidents
        concern_types=(("found_in_neglectful_conditions", 0.75), ("domestic_abuse_child_present", 0.25)),
        false_positive_types=(("domestic_abuse_child_present", 0.60), ("found_in_neglectful_conditions", 0.40)),
        domestic_abuse_types=(("domestic_abuse_child_present", 0.85), ("found_in_neglectful_conditions", 0.15)),
        severity_recorded=0.8, nhs_missing=0.90,  # police systems record names, date of birth, address
        partnership_wide=True, record_prefix="OE"),
    PartnerAgency(
        "emergency_department", 0, 17,
        detection=(0.0065, 0.012, 0.026),  # safeguarding flags: the severe end
        age_factor=(2.0, 0.8, 0.9, 1.1),  # infants and toddlers attend most; adolescents for ingestions
        false_positive_share=0.25,  # accidental injuries flagged
        known_to_csc_factor=1.2, domestic_abuse_factor=1.5, repeat_concerns=0.15,
        concern_types=(("injury_or_ingestion", 0.65), ("repeat_attendance", 0.35)),
        false_positive_types=(("injury_or_ingestion", 0.75), ("repeat_attendance", 0.25)),
        under_5_types=(("injury_or_ingestion", 0.45), ("repeat_attendance", 0.55)),  # repeat attendance: 0-4s
        severity_recorded=0.3, nhs_missing=0.08,
        partnership_wide=True, record_prefix="ED"),
)


@dataclass(frozen=True)
class GeneratorConfig:
    """Everything that shapes one synthetic partnership. Same config, same bytes."""

    seed: int = 20261123
    children: int = 105_000  # children aged 0-17 at 30 June 2024, all authorities
    authorities: tuple[Authority, ...] = DEFAULT_AUTHORITIES
    simulation_start: str = "2018-04-01"  # burn-in: two years of history before the first census year starts
    first_census_year: int = 2021  # first CIN census return (collection year to 31 March 2021)
    first_quarter_end: str = "2023-06-30"  # first quarter with the quarterly extracts
    quarters: int = 12  # quarters with quarterly extracts (12 = 2023-06-30 ... 2026-03-31)
    population_reference_date: str = "2024-06-30"
    # Authorities whose adult-services extracts start later than the others (no data-sharing
    # agreement yet): LEA -> first quarter end with adult_*_episodes / _household_children files.
    # The services still ran before then (truth/ has them); only the extracts are missing.
    # The LA code characters 2-4 of the UPNs the authorities' schools issue (LEA -> code). The authorities' own
    # numbers (991, 992) are fictional, and a real CIN census would fail every UPN under them (rule CIN-1530):
    # the synthetic schools use two real codes from DfE's list instead. An LEA not listed issues under its own.
    upn_la_codes: dict = field(default_factory=lambda: {"991": "891", "992": "892"})
    adult_services_first_quarter_end: dict = field(default_factory=lambda: {"992": "2024-06-30"})
    # An Ofsted Annex A workbook (lists 1-11) per authority per half-year (quarters ending 30 September and
    # 31 March), built from the same simulated services (sources/synthetic/writers/annex_a.py).
    annex_a_workbooks: bool = True
    # GCP2 rescoring (sources/synthetic/gcp2.py): a gcp2_assessments.csv per authority and quarter, one row per
    # Graded Care Profile 2 assessment completed in it (early help and social care, repeat assessments whose
    # scores follow the latent state). Own random stream: False gives the partnership generated before it existed.
    gcp2_rescoring: bool = True
    # Commissioning inputs (sources/synthetic/commissioning.py): a service_activity.csv per authority and quarter
    # (capacity and caseload of each commissioned service by ward) and ONS-style subnational population
    # projections in reference/population_projections/. Own random stream: False gives the partnership
    # generated before they existed, byte for byte.
    commissioning_inputs: bool = True
    # Authorities whose service-activity returns start later (LEA -> first quarter end with a return).
    service_activity_first_quarter_end: dict = field(default_factory=lambda: {"992": "2025-06-30"})
    # The projections' drift per authority (LEA -> yearly change in births, net migration per year of the
    # 0-4s, of the 5-17s): Northbrook grows a little (young families moving in), Eastmere shrinks (fewer births,
    # families moving out). The base year is population_reference_date's.
    population_drift: dict = field(default_factory=lambda: {"991": (-0.008, 0.006, 0.003),
                                                            "992": (-0.015, -0.004, -0.005)})

    # Latent neglect (child-level Markov chain, quarterly)
    true_prevalence: float = 0.10  # mean share of children neglected at a quarter end
    neglect_recovery_hazard: float = 0.12  # chance a neglected child stops being so
    household_random_effect_sd: float = 1.0  # sibling correlation of neglect risk

    # Parental risk factors: base probability for a household at median deprivation
    parental_mental_health: float = 0.12
    parental_substance_misuse: float = 0.05
    parental_domestic_abuse: float = 0.06
    parental_learning_disability: float = 0.02

    # How often each risk makes a household's adult known to adult services
    adult_service_detection: dict = field(
        default_factory=lambda: {
            "mental_health": 0.45,
            "substance_misuse": 0.55,
            "domestic_abuse": 0.60,
            "learning_disability": 0.70,
        }
    )
    # Share of adult episodes where the children in the household are recorded
    adult_children_recorded: dict = field(
        default_factory=lambda: {
            "mental_health": 0.35,
            "substance_misuse": 0.65,
            "domestic_abuse": 0.70,
            "learning_disability": 0.40,
        }
    )

    # Detection by children's services (quarterly hazards)
    csc_referral_neglect: tuple[float, float, float] = (0.025, 0.05, 0.11)  # by severity
    csc_referral_other: float = 0.0100  # any child, for needs other than neglect
    early_help_neglect: tuple[float, float, float] = (0.075, 0.065, 0.035)
    early_help_other: float = 0.010
    step_up_hazard: float = 0.06  # extra CSC hazard for a neglected child in early help
    detection_age_factor: tuple[float, float, float, float] = (1.25, 1.0, 0.85, 0.5)
    # Thresholds differ between the authorities (issue 21): LEA -> the extra chance, for a neglected child of
    # low / moderate / severe severity whose assessment did not lead to a section 47 enquiry, that the
    # authority opens one all the same. Such an enquiry ends without an initial conference (ICPC not required:
    # the case does not meet the threshold for a plan), so the authority steps up to child protection
    # enquiries at lower severity, converts more assessments into enquiries and fewer enquiries into
    # conferences. The draws come from their own generator (seed + 23), and the enquiries change nothing
    # else the simulation draws (episode dates, plans, closures), so the rest of the partnership is the one
    # generated before this setting existed. {} = the same threshold everywhere.
    section47_lower_threshold: dict = field(default_factory=lambda: {"991": (0.30, 0.20, 0.0)})

    # Partner agencies (partners.py): their own lists of concerns, one file per agency, authority and
    # quarter. () = none (the partnership of the three children's/adult lists only; with the same seed
    # it is the partnership generated before partner agencies existed, byte for byte).
    partner_agencies: tuple[PartnerAgency, ...] = DEFAULT_PARTNER_AGENCIES
    partner_detection_scale: float = 1.0  # multiplies every agency's detection hazards (validation benches)
    partner_false_positive_scale: float = 1.0  # multiplies every agency's false_positive_share (capped at 0.9)
    # A child neglected in the past year but not now is this many times more likely than other children
    # who are not neglected to be the subject of a false-positive concern (1 + factor): health visitors
    # and schools keep watching a family after things improve. 0 = no memory.
    partner_recent_neglect_factor: float = 2.0
    # Dependence police -> social care: extra referral hazard in the quarter after a police concern
    # (any child). Police are the largest referral source in England (about 30 % of referrals,
    # DfE Children in need); such referrals carry source 6 (police).
    police_referral_hazard: float = 0.10

    defects: DefectRates = DefectRates()
