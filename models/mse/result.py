"""What a multiple-systems estimate returns (:class:`MSEResult`), its defaults, the assumptions it
rests on in words, and the interval and message helpers the estimators share."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd
from scipy import stats

ESTIMATED, NOT_ESTIMABLE = "estimated", "not estimable"
DEFAULT_SEED = 20240601
DEFAULT_MIN_OVERLAP = 5

ASSUMPTIONS = (
    "This estimate rests on four assumptions. (1) The population is closed over the window: "
    "children moving in or out, or starting or stopping being neglected, are treated as present "
    "throughout. (2) Once the modelled links between lists are allowed for, being on one list does "
    "not change a child's chance of being on another (referrals between services break this). "
    "(3) Every child has some chance of being on each list. In practice those chances vary with "
    "age, severity and deprivation; such differences make the lists overlap more than chance and "
    "push the estimate too low, which is why it is worked out separately by age band where the "
    "data allow. (4) Records are linked without error: missed links (one child counted as two) "
    "inflate the estimate, false links (two children counted as one) deflate it. The interval "
    "covers sampling and model-choice uncertainty only, not failures of these assumptions."
)


@dataclass(frozen=True, eq=False)
class MSEResult:
    """Estimate of a population size N from overlapping lists.

    ``observed``: children on at least one list; ``estimate``: N (observed + unobserved);
    ``unobserved``: estimated children on no list; ``lower``/``upper``: interval for N at
    ``confidence``; ``se``: standard error of N (Seber's for Chapman, bootstrap SD otherwise).
    All estimate fields are NaN when ``status`` is 'not estimable'; ``message`` says why.
    ``model_table``: one row per candidate model (df, deviance, AIC, BIC, BIC weight, N, se,
    dropped reason); ``stratum_table``: one row per stratum when ``stratified``.
    """

    status: str
    method: str
    message: str
    lists: tuple[str, ...]
    stratified: bool
    strata: tuple
    observed: int
    estimate: float
    unobserved: float
    lower: float
    upper: float
    confidence: float
    se: float
    chosen_model: str
    model_table: pd.DataFrame
    stratum_table: pd.DataFrame | None
    diagnostics: dict = field(default_factory=dict)
    assumptions: str = ASSUMPTIONS

    def as_row(self) -> dict:
        """Flat dict (one table row) of the headline fields."""
        return {
            "status": self.status, "method": self.method, "lists": "; ".join(self.lists),
            "stratified": self.stratified, "strata": "; ".join(map(str, self.strata)),
            "observed": self.observed, "estimate": self.estimate, "unobserved": self.unobserved,
            "lower": self.lower, "upper": self.upper, "confidence": self.confidence, "se": self.se,
            "chosen_model": self.chosen_model, "message": self.message,
            "warnings": " | ".join(self.diagnostics.get("warnings", [])),
        }


def z_value(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    return float(stats.norm.ppf(0.5 + confidence / 2))


def lognormal_interval(observed: float, f0: float, var: float, z: float) -> tuple[float, float]:
    """Chao (1987) interval: log-normal on the unobserved part, so never below ``observed``."""
    if f0 <= 0 or var <= 0:
        return observed + max(f0, 0.0), observed + max(f0, 0.0)
    c = math.exp(z * math.sqrt(math.log1p(var / f0**2)))
    return observed + f0 / c, observed + f0 * c


def _fmt(x: float) -> str:
    return "infinity" if math.isinf(x) else f"{x:,.0f}"


def estimate_message(r_est: float, lo: float, hi: float, observed: int, confidence: float) -> str:
    return (f"Estimated {_fmt(r_est)} children ({confidence:.1%} interval {_fmt(lo)} to {_fmt(hi)}), "
            f"of whom {observed:,} are on at least one list and about {_fmt(r_est - observed)} on none.")
