"""Log-linear multiple systems estimation for 3 to 5 lists (see :mod:`models.capture_recapture` for the
method in words): the candidate models, Poisson fits by IRLS, BIC model averaging and the bootstrap."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import special, stats

from .result import ESTIMATED, NOT_ESTIMABLE, DEFAULT_SEED, MSEResult, estimate_message, z_value


def _cells(k: int) -> np.ndarray:
    """The 2^k - 1 observable histories, one row each (first list = most significant bit)."""
    return np.array([[(i >> (k - 1 - j)) & 1 for j in range(k)] for i in range(1, 2**k)], dtype=float)


def tabulate(df: pd.DataFrame, lists: list[str]) -> np.ndarray:
    """Counts of the 2^k - 1 observable histories (missing histories are 0)."""
    k = len(lists)
    h = df[lists].to_numpy()
    if not np.isin(h, (0, 1)).all():
        raise ValueError(f"list columns {lists} must hold only 0 and 1")
    counts = df["count"].to_numpy()
    if (counts < 0).any() or not np.equal(np.mod(counts, 1), 0).all():
        raise ValueError("count must hold non-negative whole numbers")
    index = (h.astype(int) * (1 << np.arange(k - 1, -1, -1))).sum(axis=1)
    if counts[index == 0].sum() > 0:
        raise ValueError("the all-zero history cannot be observed but has a non-zero count")
    return np.bincount(index, weights=counts, minlength=2**k)[1:].astype(float)


def _candidate_models(k: int, max_interactions: int | None) -> list[tuple[tuple[int, int], ...]]:
    pairs = list(itertools.combinations(range(k), 2))
    if max_interactions is None:
        max_interactions = len(pairs) if k <= 4 else 3
    return [c for r in range(min(max_interactions, len(pairs)) + 1) for c in itertools.combinations(pairs, r)]


def _model_name(terms, lists) -> str:
    return " + ".join(["main effects"] + [f"{lists[i]}:{lists[j]}" for i, j in terms])


def _fit_poisson(X: np.ndarray, Y: np.ndarray, max_iter: int = 100, tol: float = 1e-9):
    """Poisson log-linear MLE by IRLS, vectorised over replicates: Y is [B, cells], X [cells, p].

    Returns beta [B, p], mu [B, cells], deviance [B], converged [B] and var(intercept) [B]
    (the [0, 0] element of the inverse Fisher information).
    """
    B = Y.shape[0]
    p = X.shape[1]
    eta = np.log(Y + 0.5)
    mu = np.exp(eta)
    dev_old = np.full(B, np.inf)
    converged = np.zeros(B, dtype=bool)
    beta = np.zeros((B, p))
    ridge = 1e-10 * np.eye(p)
    XX = (X[:, :, None] * X[:, None, :]).reshape(len(X), p * p)  # X'WX = mu @ XX, one BLAS call
    with np.errstate(all="ignore"):
        for _ in range(max_iter):
            A = (mu @ XX).reshape(B, p, p) + ridge
            rhs = (mu * eta + (Y - mu)) @ X
            beta = np.linalg.solve(A, rhs[..., None])[..., 0]
            eta = np.clip(beta @ X.T, -30.0, 30.0)
            mu = np.exp(eta)
            dev = _deviance(Y, mu)
            converged = np.abs(dev - dev_old) <= tol * (np.abs(dev) + 0.1)
            if converged.all():
                break
            dev_old = dev
        A = (mu @ XX).reshape(B, p, p) + ridge
        var_b0 = np.linalg.inv(A)[:, 0, 0]
    return beta, mu, dev, converged & np.isfinite(beta).all(axis=1), var_b0


def _deviance(Y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    ylogy = np.where(Y > 0, Y * np.log(np.where(Y > 0, Y, 1.0) / mu), 0.0)
    return np.maximum(2.0 * (ylogy - (Y - mu)).sum(axis=-1), 0.0)


def _fit_all(Y, cells, models, max_ratio, keep_mu=False):
    """Fit every candidate to each row of Y. Returns dict of [B, M] arrays (and reasons for B=1)."""
    B, M = Y.shape[0], len(models)
    n = Y.sum(axis=1)
    logfact = special.gammaln(Y + 1).sum(axis=1)
    out = {k: np.full((B, M), np.nan) for k in ("m0", "dev", "aic", "bic", "se")}
    out["valid"] = np.zeros((B, M), dtype=bool)
    out["reason"] = [""] * M
    out["df"] = np.zeros(M, dtype=int)
    out["mu"] = [None] * M
    for a, terms in enumerate(models):
        X = np.column_stack([np.ones(len(cells)), cells] + [cells[:, i] * cells[:, j] for i, j in terms])
        p = X.shape[1]
        beta, mu, dev, conv, var_b0 = _fit_poisson(X, Y)
        m0 = np.exp(beta[:, 0])
        loglik = (np.where(Y > 0, Y * np.log(mu), 0.0) - mu).sum(axis=1) - logfact
        stat = Y @ X[:, 1:]
        boundary = ((stat <= 0) | (stat >= n[:, None])).any(axis=1)
        huge = np.abs(beta[:, 1:]).max(axis=1) > 20
        too_big = ~(m0 <= max_ratio * n)
        out["valid"][:, a] = conv & ~boundary & ~huge & ~too_big
        out["m0"][:, a], out["dev"][:, a] = m0, dev
        out["aic"][:, a] = -2 * loglik + 2 * p
        out["bic"][:, a] = -2 * loglik + p * np.log(np.maximum(n, 1))
        out["se"][:, a] = np.sqrt(m0 + m0**2 * var_b0)  # Rcapture / Cormack (1989) standard error of N
        out["df"][a] = len(cells) - p
        if keep_mu:
            out["mu"][a] = mu
        if B == 1:
            out["reason"][a] = ("a term has zero (or total) overlap, so its estimate is infinite" if boundary[0]
                                else "fit did not converge" if not conv[0]
                                else "a coefficient diverged (|value| > 20)" if huge[0]
                                else f"unobserved estimate over {max_ratio:g} times the observed" if too_big[0]
                                else "")
    return out


def _average(fits, n):
    """BIC weights [B, M] and model-averaged N [B] (inf where no model could be fitted)."""
    bic = np.where(fits["valid"], fits["bic"], np.inf)
    best = bic.min(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        w = np.where(fits["valid"], np.exp(-(bic - np.where(np.isfinite(best), best, 0)) / 2), 0.0)
    total = w.sum(axis=1, keepdims=True)
    w = np.divide(w, total, out=np.zeros_like(w), where=total > 0)
    m0 = np.where(fits["valid"], fits["m0"], 0.0)
    N = np.where(total[:, 0] > 0, n + (w * m0).sum(axis=1), np.inf)
    return w, N


def loglinear_core(y, lists, n_boot, rng, max_interactions, max_ratio):
    """Fit, average and bootstrap one table of counts y (length 2^k - 1)."""
    k = len(lists)
    cells = _cells(k)
    models = _candidate_models(k, max_interactions)
    n = int(round(y.sum()))
    fits = _fit_all(y[None, :], cells, models, max_ratio, keep_mu=True)
    w, N = _average(fits, np.array([y.sum()]))
    names = [_model_name(t, lists) for t in models]
    table = pd.DataFrame({
        "model": names, "df": fits["df"], "deviance": fits["dev"][0], "AIC": fits["aic"][0],
        "BIC": fits["bic"][0], "BIC weight": w[0], "N": n + fits["m0"][0], "se": fits["se"][0],
        "dropped": fits["reason"]})
    dropped = [(names[a], fits["reason"][a]) for a in range(len(models)) if not fits["valid"][0, a]]
    if not np.isfinite(N[0]):
        return {"ok": False, "table": table, "dropped": dropped, "observed": n}
    best = int(np.argmax(np.where(fits["valid"][0], -fits["bic"][0], -np.inf)))
    gof_p = float(stats.chi2.sf(fits["dev"][0, best], fits["df"][best])) if fits["df"][best] > 0 else np.nan
    gof = {"model": names[best], "deviance": float(fits["dev"][0, best]), "df": int(fits["df"][best]),
           "p_value": gof_p}
    # parametric bootstrap from the model-averaged fitted cell probabilities (unobserved cell first)
    mu_obs = sum(w[0, a] * fits["mu"][a][0] for a in range(len(models)) if w[0, a] > 0)
    mu0 = float((w[0] * np.where(fits["valid"][0], fits["m0"][0], 0)).sum())
    probs = np.concatenate([[mu0], mu_obs])
    draws = rng.multinomial(int(round(N[0])), probs / probs.sum(), size=n_boot)[:, 1:].astype(float)
    bfits = _fit_all(draws, cells, models, max_ratio)
    _, boot = _average(bfits, draws.sum(axis=1))
    return {"ok": True, "observed": n, "estimate": float(N[0]), "table": table, "dropped": dropped,
            "chosen": names[best], "chosen_N": float(n + fits["m0"][0, best]), "gof": gof, "boot": boot}


def percentile_interval(boot: np.ndarray, confidence: float) -> tuple[float, float]:
    a = (1 - confidence) / 2
    lo, hi = np.quantile(boot, [a, 1 - a], method="inverted_cdf")
    return float(lo), float(hi)


def overlaps(y: np.ndarray, lists: list[str]) -> tuple[dict, dict]:
    cells = _cells(len(lists))
    sizes = {name: int(y @ cells[:, i]) for i, name in enumerate(lists)}
    pairs = {f"{lists[i]} & {lists[j]}": int(y @ (cells[:, i] * cells[:, j]))
             for i, j in itertools.combinations(range(len(lists)), 2)}
    return sizes, pairs


def overlap_problem(y: np.ndarray, lists: list[str], min_overlap: int) -> str:
    """'' when the table has enough overlap (every list and every pair >= min_overlap), else why not."""
    sizes, pairs = overlaps(y, lists)
    short = [f"list {k} has {v}" for k, v in sizes.items() if v < min_overlap]
    short += [f"{k} share {v}" for k, v in pairs.items() if v < min_overlap]
    return "; ".join(short)


def list_columns(df: pd.DataFrame, lists) -> list[str]:
    lists = list(lists) if lists is not None else [c for c in df.columns if c not in ("count", "stratum")]
    if "count" not in df.columns:
        raise ValueError("the capture-history table needs a 'count' column")
    if not 2 <= len(lists) <= 5:
        raise ValueError(f"need 2 to 5 list columns, got {len(lists)}: {lists}")
    return lists


def not_estimable(message, lists, observed, confidence, diagnostics, stratified=False) -> MSEResult:
    diagnostics.setdefault("warnings", []).append(message)
    nan = float("nan")
    return MSEResult(NOT_ESTIMABLE, "none", message, tuple(lists), stratified, (), int(observed), nan, nan,
                     nan, nan, confidence, nan, "none", pd.DataFrame(), None, diagnostics)


def loglinear_result(core, lists, confidence, diagnostics) -> MSEResult:
    lower, upper = percentile_interval(core["boot"], confidence)
    est, obs = core["estimate"], core["observed"]
    lower, upper = min(max(lower, obs), est), max(upper, est)
    boot_warnings(core["boot"], confidence, diagnostics)
    gof_warning(core["gof"], diagnostics)
    diagnostics.update(goodness_of_fit=core["gof"], dropped_models=core["dropped"],
                       chosen_model_estimate=core["chosen_N"])
    finite = core["boot"][np.isfinite(core["boot"])]
    return MSEResult(ESTIMATED, "log-linear, BIC model averaging", estimate_message(est, lower, upper, obs, confidence),
                     tuple(lists), False, (), obs, est, est - obs, lower, upper, confidence,
                     float(finite.std(ddof=1)) if finite.size > 1 else np.nan, core["chosen"],
                     core["table"], None, diagnostics)


def boot_warnings(boot, confidence, diagnostics):
    bad = int((~np.isfinite(boot)).sum())
    diagnostics["bootstrap"] = {"replicates": int(boot.size), "not_estimable_replicates": bad,
                                "interval": "parametric bootstrap percentile, model selection repeated"}
    if bad > (1 - confidence) / 2 * boot.size:
        diagnostics["warnings"].append(f"{bad} of {boot.size} bootstrap replicates could not be estimated: "
                                       "the upper limit is unbounded.")


def gof_warning(gof, diagnostics, label=""):
    if gof["df"] == 0:
        diagnostics["warnings"].append(f"{label}The chosen model is saturated (0 df): its fit cannot be checked.")
    elif gof["p_value"] < 0.05:
        diagnostics["warnings"].append(
            f"{label}The chosen model fits poorly (deviance {gof['deviance']:.1f} on {gof['df']} df, "
            f"p = {gof['p_value']:.3f}): the lists are related in ways the model does not capture, "
            "often because some children are much more likely than others to be on every list.")


def loglinear_estimate(histories: pd.DataFrame, confidence: float = 0.95, *, lists=None,
                       n_boot: int = 1000, seed: int = DEFAULT_SEED, max_interactions: int | None = None,
                       max_unobserved_ratio: float = 100.0) -> MSEResult:
    """Log-linear MSE for 3 to 5 lists on one (pooled) table, BIC model averaging and bootstrap interval.

    A ``stratum`` column, if any, is ignored (counts are pooled); use :func:`estimate_population`
    to stratify. ``n_boot`` bootstrap replicates are drawn with ``numpy.random.default_rng(seed)``.
    """
    lists = list_columns(histories, lists)
    if len(lists) < 3:
        raise ValueError("log-linear models need at least 3 lists; use chapman() for two")
    z_value(confidence)  # validates confidence
    y = tabulate(histories, lists)
    sizes, pairs = overlaps(y, lists)
    diagnostics = {"list_sizes": sizes, "pairwise_overlaps": pairs, "warnings": []}
    if "stratum" in histories.columns:
        diagnostics["warnings"].append("Counts pooled over strata (use estimate_population to stratify).")
    core = loglinear_core(y, lists, n_boot, np.random.default_rng(seed), max_interactions, max_unobserved_ratio)
    if not core["ok"]:
        diagnostics["dropped_models"] = core["dropped"]
        return not_estimable("Not estimable: no candidate model could be fitted (see dropped_models).",
                              lists, core["observed"], confidence, diagnostics)
    return loglinear_result(core, lists, confidence, diagnostics)
