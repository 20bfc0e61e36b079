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
    adult_services_first_quarter_end: dict = field(default_factory=lambda: {"992": "2024-06-30"})
    # An Ofsted Annex A workbook (lists 1-11) per authority per half-year (quarters ending 30 September and
    # 31 March), built from the same simulated services (sources/synthetic/writers/annex_a.py).
    annex_a_workbooks: bool = True

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

    defects: DefectRates = DefectRates()
