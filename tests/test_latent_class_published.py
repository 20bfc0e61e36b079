"""The latent-class estimator (models/mse/latent_class.py) on a data set with a published LCMCR result.

Published result
----------------
The README of the R package MSETools (https://github.com/OlivierBinette/MSETools, README.md, section
"Examples", generated from README.Rmd; read at commit 0af58a115d8156bec642140d21fbfabc05862421) is the code
and analyses of Binette & Steorts, "On the reliability of multiple systems estimation for the quantification
of modern slavery" (arXiv:2112.01594). It prints, for its ``UK`` data set::

    estimates(list(lcmcr(UK), sparsemse(UK), dga(UK), independence(UK)))
    lcmcr         N.hat 20232.00   N.lwr 10934.95   N.upr 32842.27
    independence  N.hat 13444.13   N.lwr 12004.03   N.upr 15160.33

Settings of ``lcmcr(UK)`` (MSETools R/lcmcr.R and R/estimates.R at that commit): ``LCMCR::lcmCR`` with
K = 10 and the lcmCR defaults a_alpha = b_alpha = 0.25; 200 chains (seeds 1:200), no burn-in, 100 draws per
chain kept every 1,000th iteration (100,000 iterations per chain), all draws pooled; N.hat is the median and
(N.lwr, N.upr) the 2.5 % and 97.5 % quantiles.

Data
----
MSETools' ``UK`` is stored as .RData; its counts are the five-list version of the UK 2013 National Crime Agency
strategic assessment (Silverman 2014), n = 2,744: lists LA (local authorities), NG (non-government
organisations), PFNCA (police forces and the National Crime Agency, merged), GO (government organisations),
GP (general public). The counts below are ``UKdat_5`` of Silverman (2020, JRSS A 183:691-736), supplementary
``datasets.R`` (a copy: repository dglindner2/Modern-Slavery-MSE, input/silverman_code/datasets.R). That they
are MSETools' ``UK`` is checked, not assumed: the main-effects (independence) Poisson log-linear fit on them
gives 13,444.13, MSETools' ``independence(UK)`` to the printed two decimals.

Our model is LCMCR's: Beta(1, 1) capture probabilities, truncated stick-breaking with alpha ~ Gamma(0.25,
0.25), p(N) proportional to 1/N, blocked Gibbs sampler on the aggregated table. The slow tests run it at the
published settings (K = 10, 200 chains, no burn-in, 100 draws every 1,000th sweep) and with LCMCR's starting
values (``init="lcmcr"``). What still differs: the random numbers and the order of updates within a sweep.
On these data the start is not a detail: the chains have not converged when the published run stops.

Result (details in the slow tests' docstrings): median and 97.5 % quantile agree within 2.5 % (tolerance 5 %);
the 2.5 % quantile does not (ours 27-43 % lower; a strict xfail). Seeds 1-4 were run by hand. The Kosovo
data of LCMCR's own example (Ball et al. 2002, lists EXH ABA OSCE HRW) would be the natural case, but no
LCMCR result for them was found in text (LCMCR's manual prints none; the tables of Manrique-Vallier 2016,
Silverman 2020 and HRDAG's StanLCMCR note were not readable from here).
"""
from __future__ import annotations

import numpy as np
import pytest

from models.mse.latent_class import cell_patterns, sample_lcmcr, summarise
from models.mse.loglinear import _fit_poisson

LISTS = ("LA", "NG", "PFNCA", "GO", "GP")
# UKdat_5 (Silverman 2020), one capture history per row: LA NG PFNCA GO GP, count
UK5 = (
    (1, 0, 0, 0, 0, 54), (0, 1, 0, 0, 0, 463), (0, 0, 1, 0, 0, 995), (0, 0, 0, 1, 0, 695), (0, 0, 0, 0, 1, 316),
    (1, 1, 0, 0, 0, 15), (1, 0, 1, 0, 0, 19), (1, 0, 0, 1, 0, 3), (0, 1, 1, 0, 0, 62), (0, 1, 0, 1, 0, 19),
    (0, 1, 0, 0, 1, 1), (0, 0, 1, 1, 0, 76), (0, 0, 1, 0, 1, 11), (0, 0, 0, 1, 1, 8), (1, 1, 1, 0, 0, 1),
    (1, 1, 0, 1, 0, 1), (0, 1, 1, 1, 0, 4), (1, 1, 1, 1, 0, 1),
)
PUBLISHED_LCMCR = {"median": 20232.00, "lower": 10934.95, "upper": 32842.27}
PUBLISHED_INDEPENDENCE = {"estimate": 13444.13, "lower": 12004.03, "upper": 15160.33}


def uk5_table() -> np.ndarray:
    """The counts in :func:`cell_patterns` order (first list = most significant bit)."""
    table = np.zeros(2 ** len(LISTS))
    for *history, count in UK5:
        table[int("".join(map(str, history)), 2)] += count
    return table


def test_the_table_is_the_one_msetools_published_estimates_for():
    table = uk5_table()
    assert table.sum() == 2744 and (table[1:] > 0).sum() == 18
    X = np.column_stack([np.ones(31), cell_patterns(5)[1:]])
    beta, _, _, converged, _ = _fit_poisson(X, table[None, 1:])
    assert converged[0]
    assert np.exp(beta[0, 0]) + table.sum() == pytest.approx(PUBLISHED_INDEPENDENCE["estimate"], abs=0.005)


def one_class_posterior(table: np.ndarray, upto: int = 60_000) -> tuple[np.ndarray, np.ndarray]:
    """Exact posterior of N for one latent class (independent lists), Beta(1, 1) capture probabilities and
    p(N) proportional to 1/N: p(N | data) ~ (1/N) N!/(N - n)! prod_j B(n_j + 1, N - n_j + 1)."""
    from scipy.special import betaln, gammaln

    J = len(table).bit_length() - 1
    n = table.sum()
    on_list = table @ cell_patterns(J)
    N = np.arange(int(n), upto)
    log_p = -np.log(N) + gammaln(N + 1) - gammaln(N - n + 1) + sum(betaln(m + 1, N - m + 1) for m in on_list)
    p = np.exp(log_p - log_p.max())
    return N, np.cumsum(p) / p.sum()


def test_one_class_on_the_published_table_matches_its_exact_posterior():
    """With K = 1 the model is independence between lists. The published figure for independence (13,444,
    a Poisson maximum-likelihood fit) is not a posterior median: under the model's Beta(1, 1) priors the exact
    posterior median is 13,229 (11,814 to 14,908), 1.6 % lower. Our sampler must give that posterior: a long
    run (8 chains of 20,000 draws) gave 13,221 (11,798 to 14,900); this short one (4 chains of 1,000 draws,
    under a second) gave medians 0.4-0.8 % low with seeds 1-3 (13,129 to 13,182), quantiles within 1 %."""
    table = uk5_table()
    N, cdf = one_class_posterior(table)
    exact = N[np.searchsorted(cdf, [0.025, 0.5, 0.975])]
    assert exact.tolist() == [11814, 13229, 14908]
    fit = summarise(sample_lcmcr(table, K=1, chains=4, burn=300, draws=1000, thin=1, seed=3)[0], int(table.sum()))
    assert abs(fit.median / exact[1] - 1) < 0.015
    assert abs(fit.lower / exact[0] - 1) < 0.02 and abs(fit.upper / exact[2] - 1) < 0.02
    assert fit.lower < PUBLISHED_INDEPENDENCE["estimate"] < fit.upper


def test_lcmcr_start_puts_every_class_at_the_lists_observed_shares():
    from models.mse.latent_class import _lcmcr_start, as_tables

    y = np.repeat(as_tables(uk5_table()), 2, axis=0)
    lam, logpi, alpha = _lcmcr_start(np.random.default_rng(0), y, cell_patterns(5), 10, None, warm_up=0)
    shares = np.array([94, 567, 1169, 807, 336]) / 2744  # LA NG PFNCA GO GP
    assert np.allclose(lam, shares) and lam.shape == (2, 10, 5)
    assert np.allclose(np.exp(logpi[0]), [0.225] * 4 + [0.1 / 6] * 6) and np.allclose(alpha, 0.03)
    with pytest.raises(ValueError):
        sample_lcmcr(uk5_table(), init="prior")


@pytest.fixture(scope="module")
def published_settings_run() -> np.ndarray:
    """Our sampler at MSETools' settings (see the module docstring), LCMCR's start: 200 chains x 100 draws.
    5-10 minutes on one core."""
    return sample_lcmcr(uk5_table(), K=10, chains=200, burn=0, draws=100, thin=1_000, seed=1, init="lcmcr")[0]


@pytest.mark.slow
def test_published_settings_reproduce_the_lcmcr_median_and_upper_bound(published_settings_run):
    """Published: median 20,232, 97.5 % quantile 32,842. Ours (200 chains each), seeds 1, 2, 3, 4: medians
    20,058, 19,969, 19,730, 20,042 (0.9-2.5 % low), 97.5 % quantiles 32,578, 32,478, 32,479, 32,593 (0.8-1.1 %
    low); about 6.5 minutes each on a shared core. Between
    seeds the median moved by 1.6 % and the upper quantile by 0.3 %; the published run carries the same kind
    of Monte Carlo error. Tolerance 5 %: twice the largest gap seen (2.5 %), and well inside what separates
    the alternatives below (which it rejects).

    Why the settings must be copied so closely: the chains have not converged after 100,000 sweeps. With
    LCMCR's start the median over 64 chains of their 1st, 10th and 100th draws was 7,878, 16,238 and 21,183;
    split R-hat of N is 1.2-1.3. Chains linger near 12,000 before moving up. So the published figure, like
    ours, summarises where 200 chains got to from where they started:
    - the same settings with our default start (init="uniform") gave medians 16,312, 16,033, 15,134 (seeds
      1-3), 20-25 % low, 2.5 % quantiles about 5,100;
    - a long run (64 chains, LCMCR's start, 300,000 sweeps of burn-in, then 100 draws every 2,000th; split
      R-hat 1.02) gave median 21,820, 95 % interval 14,758 to 33,567: the posterior itself, by our sampler,
      is 8 % above the published median and its lower bound 35 % above the published one."""
    lower, median, upper = np.quantile(published_settings_run, [0.025, 0.5, 0.975])
    assert median == pytest.approx(PUBLISHED_LCMCR["median"], rel=0.05)
    assert upper == pytest.approx(PUBLISHED_LCMCR["upper"], rel=0.05)
    assert lower < median < upper


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="2.5 % quantile: ours 6,235-7,978 (seeds 1-4), published 10,935")
def test_published_settings_reproduce_the_lcmcr_lower_bound(published_settings_run):
    """Published 2.5 % quantile: 10,935. Ours, seeds 1-4: 6,639, 6,235, 7,978, 6,734 - 27-43 % lower, beyond the
    spread between seeds. The lowest draws come from the first few thousand sweeps of the slowest chains
    (the median of the first draws over 64 chains was 7,878, their 10th percentile 5,383), so this quantile
    measures how fast chains leave their start. Our start copies LCMCR's (observed shares, fixed weights,
    500 warm-up sweeps at alpha = 0.3/K) but not its order of updates within a sweep (LCMCR: classes,
    capture probabilities, weights, then N; ours: N first), nor its random numbers; not resolved. Against the
    converged posterior (long run above: 14,758) the published lower bound is itself 26 % low. Strict xfail:
    if the two ever agree this test fails and the docstrings above must change."""
    lower = np.quantile(published_settings_run, 0.025)
    assert lower == pytest.approx(PUBLISHED_LCMCR["lower"], rel=0.10)
