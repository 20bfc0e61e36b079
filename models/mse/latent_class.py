"""Bayesian latent-class multiple systems estimation (LCMCR; Manrique-Vallier 2016).

What N is
---------
As in :mod:`models.capture_recapture`: the number of children in the population the lists draw
on (observed on at least one list, plus those on none), in one area and window.

The model
---------
Every child belongs to one of ``K`` latent classes (K = 5, LCMCR's default, is an upper limit, not
a choice: a Dirichlet-process prior lets the data use as few as they need). Within a class the lists are
independent: a child of class k is on list j with probability ``lambda[k, j]``. Between classes
the capture probabilities differ, so the model absorbs heterogeneity (a severely neglected child
is likelier to be on every list) and, as a mixture, some dependence between lists. Priors are
those of the R package LCMCR: ``lambda ~ Beta(1, 1)``; class weights by truncated stick-breaking,
``V_k ~ Beta(1, alpha)``; ``alpha ~ Gamma(0.25, 0.25)``; ``p(N) ∝ 1/N``.

With ``p(N) ∝ 1/N`` the posterior of the model parameters is the one given by the observed
histories alone (multinomial over the 2^J - 1 observable cells, conditional on being observed), and
the number never listed is, given the parameters, negative binomial:
``n0 | ... ~ NegBin(n, 1 - p0)`` with ``p0`` the probability of being on no list (Manrique-Vallier
2016, section 3). Both samplers below use that.

Two samplers, one model
-----------------------
:func:`sample_lcmcr` is the one the pipeline uses: the blocked Gibbs sampler of LCMCR on the
*aggregated* table (class memberships are drawn as counts per cell and class, never per child),
with the chains of a table advanced together in numpy; :mod:`.sampling` runs many tables on every
core and keeps their draws. (The same sampler written in JAX,
jit-compiled and vmapped, was 13 times slower on 2 CPU cores: its multinomial and beta draws are
rejection loops that vmap runs to the slowest lane.) Class labels may switch between iterations;
that does not matter because only N is reported, which does not depend on labels. :func:`nuts_lcmcr` is the same model in NumPyro with the classes summed out of the
likelihood (a marginalised mixture) and the class weights sorted in decreasing order, as in HRDAG's
Stan port, sampled by NUTS. It is slower, and serves as an independent check that the Gibbs
sampler targets the right posterior (``tests/test_latent_class.py``) and as the reference timing
(``bench/mse_validation.py --timing``).

Identification: with three lists a two-class model has 7 parameters for 6 observable proportions
and is not identified (Aleshin-Guendel, Sadinle & Wakefield 2021); the posterior then reflects the
prior as much as the data. The method needs four or more lists, and the publication rule
(:mod:`models.mse.publication`) uses it only then.

Convergence: 8 chains per table by default (500 burn-in sweeps, 500 draws kept every 4th sweep);
:func:`summarise` reports split R-hat and the effective sample size of N (:mod:`.diagnostics`); the
publication rule says so when R-hat exceeds 1.1. The posterior can be multimodal (a small class of
children hard to find on every list, or not): in validation R-hat exceeded 1.1 for a third to two
thirds of tables of 10,000 children, and intervals there covered less than 95 %.

References: Manrique-Vallier (2016) Biometrics 72(4):1246-1254; the R package LCMCR 0.4.14;
Ishwaran & James (2001) JASA 96:161-173 (truncated stick-breaking, blocked Gibbs); HRDAG (2023)
StanLCMCR; Aleshin-Guendel, Sadinle & Wakefield (2021) arXiv:2101.09304.
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from .diagnostics import effective_sample_size, split_rhat

__all__ = ["LatentClassFit", "sample_lcmcr", "summarise", "nuts_lcmcr", "cell_patterns", "as_tables"]

K_CLASSES = 5  # LCMCR's default truncation; with 3-5 lists the data cannot use more classes
A_ALPHA = B_ALPHA = 0.25
DEFAULTS = {"chains": 8, "burn": 500, "draws": 500, "thin": 4}


def cell_patterns(J: int) -> np.ndarray:
    """All 2^J capture histories, row c = binary digits of c (first list = most significant bit).
    Row 0 is the all-zero history (never observed)."""
    return np.array([[(c >> (J - 1 - j)) & 1 for j in range(J)] for c in range(2**J)], dtype=np.float64)


def _is_power_of_two(x: int) -> bool:
    return x > 0 and x & (x - 1) == 0


def as_tables(tables) -> np.ndarray:
    """[T, 2^J] float counts (column 0, the all-zero history, set to 0) from [T, 2^J] or [T, 2^J - 1]."""
    tables = np.array(tables, dtype=np.float64, ndmin=2)
    if _is_power_of_two(tables.shape[1] + 1):
        tables = np.concatenate([np.zeros((len(tables), 1)), tables], axis=1)
    if not _is_power_of_two(tables.shape[1]) or tables.shape[1] < 4:
        raise ValueError(f"each table needs 2^J or 2^J - 1 cells (J >= 2), got {tables.shape[1]}")
    if (tables < 0).any() or (tables[:, 1:].sum(axis=1) == 0).any():
        raise ValueError("every table needs non-negative counts and at least one child")
    tables[:, 0] = 0
    return tables


def _gibbs_sweep(rng, y, X, state, a_alpha=A_ALPHA, b_alpha=B_ALPHA):
    """One sweep of the LCMCR blocked Gibbs sampler for B tables (or chains) at once.

    ``y`` [B, 2^J]: counts per history (column 0 ignored); ``X``: :func:`cell_patterns`.
    ``state``: (lambda [B, K, J], log class weights [B, K], alpha [B]).
    Returns the new state and the draw of N [B].
    """
    lam, logpi, alpha = state
    B, K, _ = lam.shape
    n = y[:, 1:].sum(axis=1)
    logq = logpi[:, :, None] + np.log(lam) @ X.T + np.log1p(-lam) @ (1.0 - X).T   # [B, K, cells]
    top = logq.max(axis=1, keepdims=True)
    q = np.exp(logq - top)
    total = q.sum(axis=1, keepdims=True)
    p0 = np.clip(np.exp(top[:, 0, 0]) * total[:, 0, 0], 1e-12, 1 - 1e-9)
    n0 = rng.negative_binomial(n, 1.0 - p0)                     # children on no list
    counts = y.astype(np.int64)
    counts[:, 0] = n0
    m = rng.multinomial(counts, np.swapaxes(q / total, 1, 2))    # [B, cells, K]: children per cell and class
    on = np.swapaxes(m, 1, 2) @ X                                # [B, K, J]
    size = m.sum(axis=1)                                         # [B, K]
    lam = np.clip(rng.beta(1.0 + on, 1.0 + size[:, :, None] - on), 1e-9, 1 - 1e-9)
    later = np.cumsum(size[:, ::-1], axis=1)[:, ::-1] - size     # children in later classes
    V = np.clip(rng.beta(1.0 + size[:, :-1], alpha[:, None] + later[:, :-1]), 1e-12, 1 - 1e-12)
    log_rest = np.concatenate([np.zeros((B, 1)), np.cumsum(np.log1p(-V), axis=1)], axis=1)
    logpi = np.concatenate([np.log(V), np.zeros((B, 1))], axis=1) + log_rest
    alpha = rng.gamma(a_alpha + K - 1, 1.0 / (b_alpha - np.log1p(-V).sum(axis=1)))
    return (lam, logpi, alpha), n + n0


def table_seed(seed: int, table) -> int:
    """A seed for one table from ``seed`` and the table's counts: a table gets the same draws whatever other
    tables are estimated in the same refresh (so re-running some quarters repeats their figures exactly)."""
    counts = np.ascontiguousarray(np.asarray(table, dtype=np.float64)).tobytes()
    return (int(seed) * 1_000_003 + zlib.crc32(counts)) % 2**32


def _lcmcr_start(rng, y, X, K, impute, warm_up: int = 500):
    """LCMCR's starting state (see :func:`sample_lcmcr`, ``init="lcmcr"``) for the B rows of ``y``."""
    B = len(y)
    n = y[:, 1:].sum(axis=1)
    shares = np.clip((y @ X) / n[:, None], 1e-6, 1 - 1e-6)                          # [B, J]
    lam = np.repeat(shares[:, None, :], K, axis=1)
    weights = np.array([0.225] * min(K, 4) + [0.1 / (K - 4)] * max(K - 4, 0))
    state = (lam, np.log(np.broadcast_to(weights / weights.sum(), (B, K)).copy()), np.full(B, 0.3 / K))
    for _ in range(warm_up):
        (lam, logpi, _), _ = _gibbs_sweep(rng, impute(rng, y) if impute is not None else y, X, state)
        state = (lam, logpi, np.full(B, 0.3 / K))                                  # alpha is not updated
    return state


def sample_lcmcr(tables, *, chains: int = DEFAULTS["chains"], burn: int = DEFAULTS["burn"],
                 draws: int = DEFAULTS["draws"], thin: int = DEFAULTS["thin"], K: int = K_CLASSES,
                 seed: int = 0, impute=None, init: str = "uniform") -> np.ndarray:
    """Posterior draws of N for each table, all tables and chains advanced together.

    ``tables``: [T, 2^J] counts per capture history in :func:`cell_patterns` order (column 0, the
    all-zero history, is ignored), or [T, 2^J - 1] without it. ``impute``: optional function
    ``(rng, y [B, 2^J]) -> y`` applied before every sweep, e.g. to take out the children a
    false-positive allowance draws (:mod:`models.mse.false_positives`); the chains then average
    over those draws too. ``init``: where the chains start. ``"uniform"`` (the pipeline's): capture
    probabilities uniform on (0.05, 0.95), equal class weights, alpha = 1. ``"lcmcr"``: as the R package
    LCMCR 0.4.x starts (``CNPLCM_CR_Basic_Freq::Initializes``): every class's capture probabilities at the
    lists' observed shares, class weights 0.225 for the first four and 0.1 / (K - 4) for the rest, then
    500 warm-up sweeps with alpha held at 0.3 / K (not counted in ``burn``). With no burn-in, and on tables
    whose chains mix slowly, the start shows in the draws (tests/test_latent_class_published.py).
    Returns [T, chains, draws].
    """
    tables = as_tables(tables)
    J = tables.shape[1].bit_length() - 1
    X = cell_patterns(J)
    T = len(tables)
    y = np.repeat(tables, chains, axis=0)
    rng = np.random.default_rng(seed)
    B = len(y)
    if init == "uniform":
        state = (rng.uniform(0.05, 0.95, (B, K, J)), np.full((B, K), -math.log(K)), np.ones(B))
    elif init == "lcmcr":
        state = _lcmcr_start(rng, y, X, K, impute)
    else:
        raise ValueError(f"init must be 'uniform' or 'lcmcr', got {init!r}")
    out = np.empty((B, draws))
    for sweep in range(burn + draws * thin):
        state, N = _gibbs_sweep(rng, impute(rng, y) if impute is not None else y, X, state)
        kept = sweep - burn
        if kept >= 0 and (kept + 1) % thin == 0:
            out[:, kept // thin] = N
    return out.reshape(T, chains, draws)


@dataclass(frozen=True)
class LatentClassFit:
    """Posterior summary of N for one table (or a sum of tables): median, equal-tailed interval,
    split R-hat and bulk effective sample size of N over the chains."""

    observed: int
    median: float
    lower: float
    upper: float
    confidence: float
    rhat: float
    ess: float
    draws: np.ndarray


def summarise(N: np.ndarray, observed: int, confidence: float = 0.95) -> LatentClassFit:
    """Summary of draws ``N`` [chains, draws] (e.g. one table's, or several strata's summed)."""
    a = (1 - confidence) / 2
    flat = N.reshape(-1)
    lo, med, hi = np.quantile(flat, [a, 0.5, 1 - a])
    if N.shape[0] >= 2 and np.ptp(flat) > 0:
        rhat, ess = split_rhat(N), effective_sample_size(N)
    else:
        rhat, ess = float("nan"), float("nan")
    return LatentClassFit(int(observed), float(med), float(lo), float(hi), confidence, rhat, ess, flat)


def nuts_lcmcr(table: np.ndarray, *, K: int = K_CLASSES, warmup: int = 500, samples: int = 500,
               chains: int = 1, seed: int = 0) -> np.ndarray:
    """The same model with the classes marginalised, sampled by NUTS in NumPyro (reference only).

    Returns posterior draws of N [chains * samples]. Class weights are sorted in decreasing order
    before use (HRDAG's Stan port), which removes label switching from the traces of the class
    parameters; N is unaffected by it.
    """
    import jax
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS

    table = as_tables(table)[0]
    J = len(table).bit_length() - 1
    X = jnp.asarray(cell_patterns(J), dtype=jnp.float32)
    y = jnp.asarray(table, dtype=jnp.float32)
    n = float(table[1:].sum())

    def model():
        alpha = numpyro.sample("alpha", dist.Gamma(A_ALPHA, B_ALPHA))
        V = numpyro.sample("V", dist.Beta(jnp.ones(K - 1), alpha * jnp.ones(K - 1)))
        log_rest = jnp.concatenate([jnp.zeros(1), jnp.cumsum(jnp.log1p(-V))])
        logpi = jnp.sort(jnp.concatenate([jnp.log(V), jnp.zeros(1)]) + log_rest)[::-1]
        lam = numpyro.sample("lam", dist.Beta(jnp.ones((K, J)), jnp.ones((K, J))))
        L = X @ jnp.log(lam).T + (1.0 - X) @ jnp.log1p(-lam).T
        log_cell = jax.nn.logsumexp(logpi[None, :] + L, axis=1)      # classes summed out
        log_p0 = log_cell[0]
        numpyro.deterministic("p0", jnp.exp(log_p0))
        numpyro.factor("observed_histories", jnp.sum(y[1:] * (log_cell[1:] - jnp.log1p(-jnp.exp(log_p0)))))

    mcmc = MCMC(NUTS(model), num_warmup=warmup, num_samples=samples, num_chains=chains,
                chain_method="sequential", progress_bar=False)
    mcmc.run(jax.random.key(seed))
    p0 = np.clip(np.asarray(mcmc.get_samples()["p0"], dtype=np.float64), 1e-12, 1 - 1e-9)
    rng = np.random.default_rng(seed)
    return n + rng.negative_binomial(n, 1 - p0)
