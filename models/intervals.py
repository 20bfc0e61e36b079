"""Confidence intervals for published proportions, counts and rates (OHID Fingertips methods).

The partnership publishes neglect figures the way the Office for Health Improvement and
Disparities (OHID, formerly PHE) publishes indicators on Fingertips, so a local figure can be
read next to a national one:

* **Proportions** (e.g. the share of children on a plan whose category is neglect) use the
  **Wilson score interval** (Wilson 1927; recommended by Newcombe 1998):
  ``(2O + z² ∓ z·sqrt(z² + 4·O·q)) / (2(n + z²))`` with ``q = 1 - O/n``.
  Bounds are proportions between 0 and 1 (multiply by 100 for a percentage).
* **Counts** (the number of neglected children) use **Byar's approximation** to the Poisson
  interval when the count is 10 or more (Breslow & Day 1987)::

      lower = O · (1 - 1/(9O) - z/(3·sqrt(O)))³
      upper = (O+1) · (1 - 1/(9(O+1)) + z/(3·sqrt(O+1)))³

  and the **exact (Garwood, chi-square) interval** below 10::

      lower = chi2.ppf(α/2, 2O) / 2        (0 when O = 0)
      upper = chi2.ppf(1 - α/2, 2O + 2) / 2

  :func:`count_interval` applies that switch and says which method it used.
* **Rates** (neglected children per 10,000 children) are crude rates, ``count / population × per``,
  whose bounds are the count's bounds scaled by ``per / population`` (:func:`rate_interval`).
* **Weighted sums of counts** ``T = Σ wᵢ·Oᵢ`` (a projection: each age band's count times its projected
  population over its current one; a directly standardised rate has the same form) use **Dobson's
  method** (Dobson et al. 1991, the Fingertips method for DSRs): with ``O = Σ Oᵢ``, its interval
  ``(O_L, O_U)`` as :func:`count_interval` gives it, and ``V = Σ wᵢ²·Oᵢ``::

      lower = T + sqrt(V / O) · (O_L - O)        upper = T + sqrt(V / O) · (O_U - O)

  (:func:`weighted_count_interval`; with O = 0: 0 to ``max(wᵢ)·O_U``).

``z`` is the two-sided standard normal quantile ``scipy.stats.norm.ppf(1 - (1 - c)/2)``, never a
rounded constant: 1.959963985 for the 95 % level, 3.090232306 for 99.8 %, the two levels Fingertips
publishes and compares areas at.

Inputs and outputs. Every argument except ``confidence`` and ``per`` may be a number or an
array-like (list, numpy array, pandas Series, including nullable ``Int64`` with ``pd.NA``); array
arguments are broadcast together. If every data argument is a scalar the results are Python
``float`` (and ``str`` for the method); otherwise they are numpy ``float64`` arrays of the
broadcast shape (``object`` arrays for the method). Missing values (NaN, None, ``pd.NA``) give NaN
bounds (method ``None``), and so does a zero denominator or population. Negative counts, a
numerator above its denominator, fractional counts where a whole number of events is needed,
infinite values, and a confidence level outside (0, 1) raise ``ValueError`` naming the argument.
Byar's lower bound can dip below zero for tiny counts at 99.8 % (O = 1); it is reported as 0
(:func:`count_interval` uses the exact method there anyway).

Sources: PHE "Technical Guide: Confidence intervals" (Public Health Data Science, 2018) and the
Fingertips public health technical guidance (Basic statistics: Proportions; Rates); APHO
"Technical Briefing 3: Commonly used public health statistics and their confidence intervals"
(2008); Breslow NE, Day NE, *Statistical methods in cancer research, vol. II* (IARC, 1987);
Wilson EB, J Am Stat Assoc 22:209-212 (1927); the PHEindicatormethods R package
(``byars_lower``/``byars_upper``, ``wilson_lower``/``wilson_upper``, ``phe_rate``, ``phe_dsr``); Dobson AJ,
Kuulasmaa K, Eberle E, Scherer J, Stat Med 10:457-462 (1991).
"""
from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from scipy.stats import chi2, norm

__all__ = ["wilson_interval", "byar_interval", "exact_poisson_interval", "count_interval", "rate_interval",
           "weighted_count_interval"]

# Counts of this size or more use Byar's method; smaller counts use the exact method.
BYAR_MINIMUM_COUNT = 10


def _z_for(confidence) -> float:
    """Two-sided standard normal quantile for a confidence level strictly between 0 and 1."""
    is_number = isinstance(confidence, numbers.Real) and not isinstance(confidence, bool)
    if not is_number or not 0 < float(confidence) < 1:
        raise ValueError(
            f"confidence must be a single number strictly between 0 and 1, such as 0.95 or 0.998; got {confidence!r}"
        )
    return float(norm.ppf(1 - (1 - float(confidence)) / 2))


def _as_float_array(values, name: str) -> np.ndarray:
    """``values`` as a float array with NaN for missing entries (None, NaN, pd.NA)."""
    try:
        if isinstance(values, (pd.Series, pd.Index, pd.api.extensions.ExtensionArray)):
            return pd.to_numeric(pd.Series(values), errors="raise").to_numpy(dtype=float, na_value=np.nan)
        if values is None or values is pd.NA:
            return np.asarray(np.nan)
        try:
            return np.asarray(values, dtype=float)
        except TypeError:  # e.g. a list holding pd.NA
            flat = pd.to_numeric(pd.Series(np.ravel(np.asarray(values, dtype=object))), errors="raise")
            return flat.to_numpy(dtype=float, na_value=np.nan).reshape(np.shape(values))
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numbers (or missing values); could not read {values!r}") from error


def _check(values: np.ndarray, name: str, *, whole: bool = False) -> None:
    """Raise ValueError for negative, infinite or (if ``whole``) fractional values; NaN is allowed."""
    present = values[~np.isnan(values)]
    if np.isinf(present).any():
        raise ValueError(f"{name} must be finite; got {present[np.isinf(present)][0]}")
    if (present < 0).any():
        raise ValueError(f"{name} must be zero or more; got {present[present < 0][0]:g}")
    if whole and (present != np.floor(present)).any():
        fractional = present[present != np.floor(present)][0]
        raise ValueError(f"{name} must be a whole number of events; got {fractional:g}")


def _broadcast(arrays: list[np.ndarray], names: list[str]) -> list[np.ndarray]:
    try:
        return [np.array(a, dtype=float) for a in np.broadcast_arrays(*arrays)]
    except ValueError as error:
        shapes = ", ".join(f"{n} {a.shape}" for n, a in zip(names, arrays))
        joined = " and ".join(names)
        raise ValueError(f"{joined} must have the same length (or be single numbers); got {shapes}") from error


def _output(array: np.ndarray, scalar: bool):
    return float(array) if scalar else array


def _method_output(methods: np.ndarray, scalar: bool):
    return methods.item() if scalar else methods


def wilson_interval(numerator, denominator, confidence: float = 0.95):
    """Wilson score interval for the proportion ``numerator / denominator``.

    Returns ``(lower, upper)`` as proportions between 0 and 1. A numerator of 0 gives a lower
    bound of exactly 0 and a numerator equal to the denominator an upper bound of exactly 1; a
    denominator of 0 (or a missing value) gives NaN. The numerator need not be whole (PHE's tests
    use 0.445 of 1) but may not be negative or above the denominator.
    """
    z = _z_for(confidence)
    scalar = np.ndim(numerator) == 0 and np.ndim(denominator) == 0
    observed, total = _broadcast(
        [_as_float_array(numerator, "numerator"), _as_float_array(denominator, "denominator")],
        ["numerator", "denominator"],
    )
    _check(observed, "numerator")
    _check(total, "denominator")
    both = ~np.isnan(observed) & ~np.isnan(total)
    if (observed[both] > total[both]).any():
        bad = np.flatnonzero(both & (observed > total))[0]
        raise ValueError(
            "numerator must not be more than denominator for a proportion; "
            f"got {observed.flat[bad]:g} out of {total.flat[bad]:g}"
        )

    usable = both & (total > 0)
    safe_total = np.where(usable, total, 1.0)
    safe_observed = np.where(usable, observed, 0.0)
    not_having = 1 - safe_observed / safe_total
    spread = z * np.sqrt(z**2 + 4 * safe_observed * not_having)
    lower = (2 * safe_observed + z**2 - spread) / (2 * (safe_total + z**2))
    upper = (2 * safe_observed + z**2 + spread) / (2 * (safe_total + z**2))
    lower = np.where(safe_observed == 0, 0.0, np.clip(lower, 0.0, 1.0))
    upper = np.where(safe_observed == safe_total, 1.0, np.clip(upper, 0.0, 1.0))
    lower = np.where(usable, lower, np.nan)
    upper = np.where(usable, upper, np.nan)
    return _output(lower, scalar), _output(upper, scalar)


def _byar_bounds(observed: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Byar's bounds for a float array of whole counts (NaN passes through)."""
    safe = np.where(observed > 0, observed, 1.0)
    lower = safe * (1 - 1 / (9 * safe) - z / (3 * np.sqrt(safe))) ** 3
    lower = np.where(observed > 0, np.maximum(lower, 0.0), np.where(observed == 0, 0.0, np.nan))
    following = observed + 1
    upper = following * (1 - 1 / (9 * following) + z / (3 * np.sqrt(following))) ** 3
    return lower, upper


def _exact_bounds(observed: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact (chi-square) bounds for a float array of whole counts (NaN passes through)."""
    alpha = 1 - confidence
    safe = np.where(observed > 0, observed, 1.0)
    lower = chi2.ppf(alpha / 2, 2 * safe) / 2
    lower = np.where(observed > 0, lower, np.where(observed == 0, 0.0, np.nan))
    upper = chi2.ppf(1 - alpha / 2, 2 * observed + 2) / 2
    return lower, upper


def _read_counts(count) -> np.ndarray:
    observed = _as_float_array(count, "count")
    _check(observed, "count", whole=True)
    return observed


def byar_interval(count, confidence: float = 0.95):
    """Byar's approximation to the Poisson interval for an observed count.

    Returns ``(lower, upper)`` in events. The lower bound is 0 for a count of 0, and is clipped
    at 0 where the formula goes negative (a count of 1 at 99.8 %).
    """
    z = _z_for(confidence)
    observed = _read_counts(count)
    lower, upper = _byar_bounds(observed, z)
    scalar = np.ndim(count) == 0
    return _output(lower, scalar), _output(upper, scalar)


def exact_poisson_interval(count, confidence: float = 0.95):
    """Exact (Garwood, chi-square) Poisson interval for an observed count.

    Returns ``(lower, upper)`` in events; the lower bound is 0 for a count of 0.
    """
    _z_for(confidence)  # validates the level
    observed = _read_counts(count)
    lower, upper = _exact_bounds(observed, float(confidence))
    scalar = np.ndim(count) == 0
    return _output(lower, scalar), _output(upper, scalar)


def _count_bounds(observed: np.ndarray, confidence: float):
    z = _z_for(confidence)
    byar_lower, byar_upper = _byar_bounds(observed, z)
    exact_lower, exact_upper = _exact_bounds(observed, float(confidence))
    uses_byar = observed >= BYAR_MINIMUM_COUNT
    lower = np.where(uses_byar, byar_lower, exact_lower)
    upper = np.where(uses_byar, byar_upper, exact_upper)
    methods = np.where(uses_byar, "byar", "exact").astype(object)
    methods[np.isnan(observed)] = None
    return lower, upper, methods


def count_interval(count, confidence: float = 0.95):
    """The project's interval for a count: Byar's method from 10 events, exact below 10.

    Returns ``(lower, upper, method)``: bounds in events and ``'byar'`` or ``'exact'`` for each
    count (``None`` where the count is missing).
    """
    _z_for(confidence)
    observed = _read_counts(count)
    lower, upper, methods = _count_bounds(observed, confidence)
    scalar = np.ndim(count) == 0
    return _output(lower, scalar), _output(upper, scalar), _method_output(methods, scalar)


def rate_interval(count, population, per: float = 10_000, confidence: float = 0.95):
    """Crude rate per ``per`` of the population, with the count's interval scaled to the rate.

    Returns ``(rate, lower, upper, method)``; the method is chosen as in :func:`count_interval`.
    A population of 0 or a missing count or population gives NaN for the rate and its bounds,
    and ``None`` for the method.
    """
    _z_for(confidence)
    is_number = isinstance(per, numbers.Real) and not isinstance(per, bool)
    if not is_number or not np.isfinite(per) or per <= 0:
        raise ValueError(f"per must be a single positive number, such as 10000; got {per!r}")
    scalar = np.ndim(count) == 0 and np.ndim(population) == 0
    observed, people = _broadcast(
        [_read_counts(count), _as_float_array(population, "population")], ["count", "population"]
    )
    _check(people, "population")
    lower, upper, methods = _count_bounds(observed, confidence)
    usable = ~np.isnan(observed) & ~np.isnan(people) & (people > 0)
    scale = np.where(usable, float(per) / np.where(usable, people, 1.0), np.nan)
    methods[~usable] = None
    return (
        _output(observed * scale, scalar),
        _output(lower * scale, scalar),
        _output(upper * scale, scalar),
        _method_output(methods, scalar),
    )


def funnel_limits_rate(benchmark_rate, population, per: float = 10_000, confidence: float = 0.95):
    """Control limits of a funnel plot of rates: the range of rates per ``per`` an area of ``population`` would
    show by chance (Poisson) if its true rate were ``benchmark_rate``.

    The expected count is ``E = benchmark_rate × population / per``; the limits on the observed count are the
    exact (chi-square) Poisson quantiles ``chi2.ppf(α/2, 2E) / 2`` and ``chi2.ppf(1 - α/2, 2E + 2) / 2`` (continuous
    in E), scaled back to rates (PHE, *Technical Guide: Funnel plots*). Returns ``(lower, upper)``; NaN where the
    population is 0 or missing.
    """
    _z_for(confidence)
    scalar = np.ndim(benchmark_rate) == 0 and np.ndim(population) == 0
    rate, people = _broadcast([_as_float_array(benchmark_rate, "benchmark_rate"), _as_float_array(population, "population")],
                              ["benchmark_rate", "population"])
    usable = ~np.isnan(rate) & ~np.isnan(people) & (people > 0) & (rate >= 0)
    expected = np.where(usable, rate * people / per, 1.0)
    alpha = 1 - float(confidence)
    lower = np.where(expected > 0, chi2.ppf(alpha / 2, 2 * np.where(expected > 0, expected, 1.0)) / 2, 0.0)
    upper = chi2.ppf(1 - alpha / 2, 2 * expected + 2) / 2
    scale = np.where(usable, per / np.where(usable, people, 1.0), np.nan)
    return _output(lower * scale, scalar), _output(upper * scale, scalar)


def funnel_limits_proportion(benchmark, denominator, confidence: float = 0.95):
    """Control limits of a funnel plot of proportions: the range of proportions (0-1) a denominator of
    ``denominator`` would show by chance if the true proportion were ``benchmark`` (0-1), by the Wilson score
    formula around the benchmark (PHE, *Technical Guide: Funnel plots*). Returns ``(lower, upper)``."""
    z = _z_for(confidence)
    scalar = np.ndim(benchmark) == 0 and np.ndim(denominator) == 0
    p, n = _broadcast([_as_float_array(benchmark, "benchmark"), _as_float_array(denominator, "denominator")],
                      ["benchmark", "denominator"])
    usable = ~np.isnan(p) & ~np.isnan(n) & (n > 0)
    n = np.where(usable, n, 1.0)
    spread = z * np.sqrt(z**2 + 4 * n * p * (1 - p))
    lower = np.clip((2 * n * p + z**2 - spread) / (2 * (n + z**2)), 0, 1)
    upper = np.clip((2 * n * p + z**2 + spread) / (2 * (n + z**2)), 0, 1)
    return _output(np.where(usable, lower, np.nan), scalar), _output(np.where(usable, upper, np.nan), scalar)


def weighted_count_interval(counts, weights, confidence: float = 0.95) -> tuple[float, float, float]:
    """``(total, lower, upper)`` for ``total = Σ weights · counts`` of independent Poisson counts, by Dobson's method
    (see the module docstring). ``counts``: whole numbers >= 0; ``weights``: >= 0, one per count. Missing values
    in either give NaN for all three."""
    observed = _as_float_array(counts, "counts")
    w = _as_float_array(weights, "weights")
    observed, w = _broadcast([observed, w], ["counts", "weights"])
    if np.isnan(observed).any() or np.isnan(w).any():
        return float("nan"), float("nan"), float("nan")
    _check(observed, "counts", whole=True)
    _check(w, "weights")
    total = float((w * observed).sum())
    o = float(observed.sum())
    lower, upper, _ = count_interval(o, confidence)
    if o == 0:
        return 0.0, 0.0, float(w.max() * upper) if w.size else 0.0
    spread = float(np.sqrt((w * w * observed).sum() / o))
    return total, max(0.0, total + spread * (lower - o)), total + spread * (upper - o)
