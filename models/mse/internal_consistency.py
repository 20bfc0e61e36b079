"""Internal consistency: how well the method estimates a number we know, on our own data.

Binette & Steorts (2022): treat one list as the target. Its size is known (n_L children). Among the
children on list L only, the other lists form a capture-recapture problem of their own: the
children of L found by at least one other list are "observed", those on L alone are the
"unobserved" ones the estimator must infer. Estimating the size of L from the other lists *within
L* and comparing with n_L gives an error on real data, where no other truth exists:

    log ratio = log(N-hat_L / n_L)      (0 = right; -0.2 = about 18 % too low)

repeated for every list and, given grouping columns (authority, year, stratum), in every group.
A negative log ratio says the method undercounts a population it can check; it does not prove the
full estimate is low (list L's children are not the whole population) but it is the best evidence
available without a truth. On real multi-list data Binette & Steorts found mean log errors from
-0.17 (SparseMSE) to -0.52 (LCMCR), nearly every miss an underestimate.

Estimator for each sub-problem: with two other lists Chapman (``models.capture_recapture.chapman``);
with three, the log-linear models (``models.capture_recapture.estimate_population``: the
latent-class model is not identified from three lists); with four or more, the latent-class
estimator (:mod:`.latent_class`), all such sub-problems on every core (:mod:`.sampling`). Sub-problems with fewer than ``min_observed`` children observed are skipped (as in the
paper, 30).

Reference: Binette & Steorts (2022) J. R. Stat. Soc. A 185(2):640-676.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from models.capture_recapture import chapman, estimate_population

from .latent_class import cell_patterns, summarise
from .sampling import DrawCache, SamplerJob, draw_tables

__all__ = ["internal_consistency", "summary_text"]


def _table(rows: pd.DataFrame, lists: list[str]) -> np.ndarray:
    J = len(lists)
    index = (rows[lists].to_numpy().astype(int) * (1 << np.arange(J - 1, -1, -1))).sum(axis=1)
    return np.bincount(index, weights=rows["count"].to_numpy(float), minlength=2**J)


def internal_consistency(histories: pd.DataFrame, lists: list[str], by: list[str] | None = None, *,
                         min_observed: int = 30, seed: int = 0, sampler: dict | None = None,
                         cache: DrawCache | None = None) -> pd.DataFrame:
    """One row per group and target list: ``known`` (n_L), ``observed`` (on L and another list),
    ``estimate``, ``lower``, ``upper`` (95 %), ``log_ratio``, ``covered``, ``method``.

    ``histories``: one 0/1 column per list, ``count``, and the ``by`` columns if given."""
    by = list(by or [])
    groups = histories.groupby(by, sort=True) if by else [((), histories)]
    problems = []
    for key, rows in groups:
        key = key if isinstance(key, tuple) else (key,)
        for target in lists:
            others = [name for name in lists if name != target]
            on = rows[rows[target] == 1]
            table = _table(on, others)
            known, observed = int(on["count"].sum()), int(table[1:].sum())
            problems.append({**dict(zip(by, key)), "target": target, "known": known, "observed": observed,
                             "table": table, "others": len(others)})
    latent = [p for p in problems if p["others"] >= 4 and p["observed"] >= min_observed]
    if latent:
        draws = draw_tables([SamplerJob(p["table"], seed, None, dict(sampler or {})) for p in latent], cache)
        for p, d in zip(latent, draws):
            fit = summarise(d, p["observed"])
            p.update(method="latent class", estimate=fit.median, lower=fit.lower, upper=fit.upper)
    for p in problems:
        if p["observed"] < min_observed:
            p.update(method="too few children", estimate=np.nan, lower=np.nan, upper=np.nan)
        elif p["others"] == 2:
            t = p["table"]
            r = chapman(t[2] + t[3], t[1] + t[3], t[3])
            p.update(method="chapman", estimate=r.estimate, lower=r.lower, upper=r.upper)
        elif p["others"] == 3:
            frame = pd.DataFrame(cell_patterns(3)[1:].astype(int), columns=["a", "b", "c"]).assign(count=p["table"][1:])
            r = estimate_population(frame, n_boot=200, seed=seed)
            p.update(method="log-linear", estimate=r.estimate, lower=r.lower, upper=r.upper)
    out = pd.DataFrame(problems).drop(columns=["table", "others"])
    out["log_ratio"] = np.log(out["estimate"] / out["known"])
    out["covered"] = (out["lower"] <= out["known"]) & (out["known"] <= out["upper"])
    return out


def summary_text(result: pd.DataFrame) -> str:
    """One sentence per target list, for the Methods section."""
    parts = []
    for row in result.itertuples():
        if np.isnan(row.estimate):
            parts.append(f"{row.target}: not checked ({row.observed} children also on another list)")
        else:
            parts.append(f"{row.target}: {row.known:,} children known, {row.estimate:,.0f} estimated from the other "
                         f"lists (log ratio {row.log_ratio:+.2f}, interval {'covers' if row.covered else 'misses'})")
    return "; ".join(parts)

