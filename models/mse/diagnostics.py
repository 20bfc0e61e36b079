"""MCMC convergence diagnostics of draws [chains, draws]: split R-hat and the effective sample size.

The formulas of NumPyro's ``numpyro.diagnostics`` (``split_gelman_rubin``, ``effective_sample_size`` with
the biased autocovariance; Stan Reference Manual 2.18, Geyer 1992), written out in NumPy and SciPy so
that summarising draws does not import NumPyro and JAX (about 1.4 s and 150 MB in every process that
summarises). ``tests/test_mse_diagnostics.py`` holds them equal to NumPyro's.
"""
from __future__ import annotations

import numpy as np
import scipy.fft

__all__ = ["split_rhat", "effective_sample_size"]


def _chain_variances(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(within-chain variance W, the pooled estimator of the posterior variance) of draws [chains, draws]."""
    _, n = x.shape[:2]
    within = x.var(axis=1, ddof=1).mean(axis=0)
    pooled = within * (n - 1) / n
    if x.shape[0] > 1:
        pooled = pooled + x.mean(axis=1).var(axis=0, ddof=1)
    else:
        within = pooled
    return within, pooled


def split_rhat(x: np.ndarray) -> float:
    """Split R-hat: each chain cut in two halves, then sqrt(pooled variance / within-chain variance)."""
    half = x.shape[1] // 2
    within, pooled = _chain_variances(np.concatenate([x[:, :half], x[:, -half:]], axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.sqrt(pooled / within))


def _next_fast_length(target: int) -> int:
    """The smallest number >= ``target`` with no prime factor above 5."""
    if target <= 2:
        return target
    while True:
        m = target
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return target
        target += 1


def _autocovariance(x: np.ndarray) -> np.ndarray:
    """Biased autocovariance of each chain of ``x`` [chains, draws] at every lag (FFT, zero-padded)."""
    n = x.shape[1]
    padded = 2 * _next_fast_length(n)
    centred = (x - x.mean(axis=1, keepdims=True)).astype(np.float64, copy=False)
    spectrum = scipy.fft.rfft(centred, n=padded, axis=1, workers=-1)
    return scipy.fft.irfft(spectrum * np.conjugate(spectrum), n=padded, axis=1, workers=-1)[:, :n] / n


def effective_sample_size(x: np.ndarray) -> float:
    """Effective sample size of draws [chains, draws]: chains x draws / (-1 + 2 x the sum of the initial
    monotone sequence of paired autocorrelations)."""
    within, pooled = _chain_variances(x)
    rho = 1.0 - (within - _autocovariance(x).mean(axis=0)) / pooled
    rho[0] = 1.0
    paired = rho[:-1:2] + rho[1::2]
    paired = np.concatenate([paired[:1], np.minimum.accumulate(np.clip(paired[1:], 0, None))])
    return float(x.shape[0] * x.shape[1] / (-1.0 + 2.0 * paired.sum()))
