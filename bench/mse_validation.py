"""Validation harness for the hidden-prevalence estimators and the publication rule.

Run by hand (not in CI), e.g.

    .venv/bin/python bench/mse_validation.py --replicates 50 --jobs 2 --out /tmp/mse_validation

Simulates capture-history data with a known N over a grid of scenarios
(:mod:`models.mse.simulate`: 3, 4 and 5 lists; heterogeneity none / same direction / opposite
direction; false positives 0, 10 and 20 % per list; N 200, 1,000 and 10,000) and scores, per
scenario and estimator, the relative bias (mean of N-hat / N - 1), the RMSE of log N-hat and the
coverage of the 95 % interval:

* ``log-linear``: the current estimator (:func:`models.capture_recapture.estimate_population`,
  BIC-averaged log-linear models with a bootstrap that repeats model choice; 200 replicates), on
  the lists as they are (no false-positive allowance);
* ``Chao LB``: Chao's lower bound on the lists as they are (point), and after the allowance
  (its lower 95 % limit, the figure the rule publishes): share below N, median relative error;
* ``latent class``: LCMCR after the false-positive allowance (the audit of 50 entries per list
  the simulator makes), posterior median and 95 % interval;
* ``published``: what :func:`models.mse.publication.publish_tables` returns: with an estimate,
  its bias, RMSE and coverage; with a range, whether it covers N, whether the lower bound is
  below N and how far below.

Writes ``results.csv`` (one row per data set), ``scenarios.csv`` and ``scenarios.md`` (one row per
scenario; copied to ``docs/hidden-prevalence-validation.md``), ``summary.md`` (pooled over N >= 1,000)
and ``readme.md`` (the README's table) to ``--out``. ``--timing`` instead times the
latent-class sampler on 36 tables (12 quarters x 3 areas) and the NumPyro NUTS reference on one;
``--stratification`` compares pooled and age-band-stratified latent-class estimates.
"""
from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from models.capture_recapture import estimate_population
from models.mse.false_positives import ListPPV
from models.mse.latent_class import cell_patterns
from models.mse.lower_bound import chao_lower_bound
from models.mse.publication import publish_tables
from models.mse.simulate import LISTS, scenario_grid, simulate


def loglinear(table: np.ndarray, seed: int):
    J = table.size.bit_length() - 1
    frame = pd.DataFrame(cell_patterns(J)[1:].astype(int), columns=list(LISTS[:J])).assign(count=table[1:])
    r = estimate_population(frame, n_boot=200, seed=seed)
    return (r.estimate, r.lower, r.upper) if r.status == "estimated" else (np.nan, np.nan, np.nan)


def run_scenario(args) -> list[dict]:
    scenario, replicates, seed = args
    rng = np.random.default_rng(seed)
    samples = [simulate(scenario, rng) for _ in range(replicates)]
    names = list(LISTS[: scenario.lists])
    ppvs = [[ListPPV(checked=c, confirmed=k) for c, k in s.audit] for s in samples]
    started = time.perf_counter()
    published = publish_tables(np.array([s.table for s in samples]), names, ppvs, seed=seed)
    seconds = time.perf_counter() - started
    rows = []
    for i, (s, p) in enumerate(zip(samples, published)):
        ll = loglinear(s.table, seed + i)
        lb_raw = chao_lower_bound(s.table).estimate
        rows.append({"scenario": scenario.name, "lists": scenario.lists, "heterogeneity": scenario.heterogeneity,
                     "fp": scenario.fp, "N": scenario.N, "replicate": i, "observed": int(s.table.sum()),
                     "true_observed": int(s.true_table.sum()),
                     "ll": ll[0], "ll_lower": ll[1], "ll_upper": ll[2], "lb_raw": lb_raw,
                     "lb": p.lower_bound, "lb_point": p.lower_bound_point, "chao_lower": p.chao_lower_limit,
                     "lc_q10": p.latent_class_q10,
                     "lc": p.latent_class_median, "lc_lower": p.latent_class_lower, "lc_upper": p.latent_class_upper,
                     "rhat": p.rhat, "status": p.status, "central": p.central, "pub_lower": p.lower,
                     "pub_upper": p.upper, "batch_seconds": seconds})
    return rows


def _interval_scores(g: pd.DataFrame, est: str, lo: str, hi: str, prefix: str) -> dict:
    N = g["truth"]
    e = g[est].astype(float)
    ok = e.notna()
    return {f"{prefix} bias": (e[ok] / N[ok] - 1).mean(),
            f"{prefix} RMSE log": np.sqrt(((np.log(e[ok]) - np.log(N[ok])) ** 2).mean()),
            f"{prefix} cover": ((g[lo] <= N) & (N <= g[hi])).mean()}


def score(g: pd.DataFrame) -> pd.Series:
    N = g["truth"]
    out = {}
    out.update(_interval_scores(g, "ll", "ll_lower", "ll_upper", "log-linear"))
    out.update(_interval_scores(g, "lc", "lc_lower", "lc_upper", "latent class"))
    out["Chao LB (raw) below N"] = (g["lb_raw"] < N).mean()
    out["Chao LB (allowance, lower limit) below N"] = (g["chao_lower"] < N).mean()
    out["Chao LB (allowance, lower limit) median error"] = (g["chao_lower"] / N - 1).median()
    estimate = g["status"] == "estimate"
    out["published status"] = g["status"].mode().iat[0]
    if estimate.any():
        e = g[estimate]
        out["published bias"] = (e["central"] / e["truth"] - 1).mean()
        out["published RMSE log"] = np.sqrt(((np.log(e["central"]) - np.log(e["truth"])) ** 2).mean())
    else:
        out["published bias"] = out["published RMSE log"] = np.nan
    out["published cover"] = ((g["pub_lower"] <= N) & (N <= g["pub_upper"])).mean()
    out["floor below N"] = (g["lb"] < N).mean()
    out["floor median error"] = (g["lb"] / N - 1).median()
    out["not estimable"] = (g["status"] == "observed only").mean()
    return pd.Series(out)


def markdown(frame: pd.DataFrame, index_cols: list[str]) -> str:
    def fmt(c, v):
        if isinstance(v, float):
            if np.isnan(v):
                return ""
            return f"{v:.0%}" if ("cover" in c or "below" in c or "RMSE" in c) else f"{v:+.0%}"
        return str(v)
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in frame.iterrows():
        lines.append("| " + " | ".join(fmt(c, row[c]) if c not in index_cols else str(row[c]) for c in cols) + " |")
    return "\n".join(lines)


def readme_table(results: pd.DataFrame) -> str:
    """The README's table: per lists x heterogeneity x false positives, pooled over N >= 1,000."""
    big = results[results["N"] >= 1000]
    rows = []

    def cover(d, lo, hi):
        return ((d[lo] <= d["N"]) & (d["N"] <= d[hi])).mean()

    def rmse(d, col):
        return np.sqrt(((np.log(d[col]) - np.log(d["N"])) ** 2).mean())

    for (lists, heterogeneity, fp), g in big.groupby(["lists", "heterogeneity", "fp"], sort=False):
        n, e = g["N"], g[g["status"] == "estimate"]
        rows.append([
            lists, heterogeneity, f"{fp:.0%}",
            f"{(g['ll'] / n - 1).mean():+.0%} / {rmse(g, 'll'):.0%} / {cover(g, 'll_lower', 'll_upper'):.0%}",
            f"{(g['lc'] / n - 1).mean():+.0%} / {rmse(g, 'lc'):.0%} / {cover(g, 'lc_lower', 'lc_upper'):.0%}",
            f"{(g['chao_lower'] < n).mean():.0%} / {(g['chao_lower'] / n - 1).median():+.0%}",
            "estimate" if len(e) else "lower bound and range",
            (f"{(e['central'] / e['N'] - 1).mean():+.0%} / {rmse(e, 'central'):.0%} / "
             if len(e) else "no central figure / - / ") + f"{cover(g, 'pub_lower', 'pub_upper'):.0%}",
            f"{(g['lb'] < n).mean():.0%} / {(g['lb'] / n - 1).median():+.0%}"])
    header = ["lists", "heterogeneity", "false pos.", "log-linear (legacy): bias / RMSE log / cover",
              "latent class: bias / RMSE log / cover", "Chao lower limit: below N / median error", "published",
              "published: bias / RMSE log / cover", "floor: below N / median error"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def timing() -> None:
    from models.mse.latent_class import nuts_lcmcr, sample_lcmcr
    from models.mse.simulate import Scenario
    rng = np.random.default_rng(1)
    tables = np.array([simulate(Scenario(3, "same", 0.1, 3000), rng).table for _ in range(36)])
    for label, t in (("3 lists", tables), ("5 lists", np.array([simulate(Scenario(5, "same", 0.1, 3000), rng).table
                                                                for _ in range(36)]))):
        started = time.perf_counter()
        sample_lcmcr(t, seed=1)
        print(f"latent class, 36 tables of {label}, default settings: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    nuts_lcmcr(tables[0], seed=1)
    print(f"NumPyro NUTS, one table of 3 lists, 500 + 500 iterations: {time.perf_counter() - started:.1f} s")


def stratification(replicates: int) -> None:
    """Pooled against age-band-stratified latent-class estimates (strata summed draw by draw),
    4 lists, N = 10,000, 10 % false positives; the age band explains part of the heterogeneity."""
    from models.mse.false_positives import imputer
    from models.mse.latent_class import DEFAULTS, sample_lcmcr, summarise
    from models.mse.simulate import AGE_BANDS, Scenario
    for heterogeneity in ("none", "same", "opposite"):
        scenario = Scenario(4, heterogeneity, 0.1, 10_000)
        rng = np.random.default_rng(7)
        samples = [simulate(scenario, rng) for _ in range(replicates)]
        ppvs = [[ListPPV(checked=c, confirmed=k) for c, k in s.audit] for s in samples]
        pooled = sample_lcmcr(np.array([s.table for s in samples]), seed=1,
                              impute=imputer(ppvs, DEFAULTS["chains"]))
        strata = sample_lcmcr(np.concatenate([s.strata for s in samples]), seed=1,
                              impute=imputer([p for p in ppvs for _ in range(AGE_BANDS)], DEFAULTS["chains"]))
        strata = strata.reshape(replicates, AGE_BANDS, *strata.shape[1:]).sum(axis=1)
        for label, draws in (("pooled", pooled), ("stratified by age band", strata)):
            fits = [summarise(d, int(s.table.sum())) for d, s in zip(draws, samples)]
            error = np.array([f.median / s.N - 1 for f, s in zip(fits, samples)])
            cover = np.mean([f.lower <= s.N <= f.upper for f, s in zip(fits, samples)])
            print(f"{scenario.name}: {label}: bias {error.mean():+.1%}, RMSE log "
                  f"{np.sqrt(np.mean(np.log1p(error) ** 2)):.1%}, coverage {cover:.0%}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, default=Path("/tmp/mse_validation"))
    parser.add_argument("--lists", type=int, nargs="*", default=[3, 4, 5])
    parser.add_argument("--N", type=int, nargs="*", default=[200, 1000, 10_000])
    parser.add_argument("--timing", action="store_true")
    parser.add_argument("--stratification", action="store_true")
    args = parser.parse_args()
    if args.timing:
        timing()
        return
    if args.stratification:
        stratification(args.replicates)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    grid = scenario_grid(lists=tuple(args.lists), N=tuple(args.N))
    work = [(s, args.replicates, args.seed + 1000 * i) for i, s in enumerate(grid)]
    rows = []
    started = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        for part in pool.map(run_scenario, work):
            rows += part
            print(f"{part[0]['scenario']}: done [{time.perf_counter() - started:.0f} s]", flush=True)
    results = pd.DataFrame(rows)
    results["truth"] = results["N"]
    results.to_csv(args.out / "results.csv", index=False)
    keys = ["lists", "heterogeneity", "fp", "N"]
    scenarios = results.groupby(keys, sort=False).apply(score, include_groups=False).reset_index()
    scenarios.to_csv(args.out / "scenarios.csv", index=False)
    (args.out / "scenarios.md").write_text(markdown(scenarios, keys) + "\n")
    # pooled over N >= 1,000 (at N = 200 most tables have too little overlap: reported per scenario)
    large = results[results["N"] >= 1000]
    summary = large.groupby(keys[:3], sort=False).apply(score, include_groups=False).reset_index()
    (args.out / "summary.md").write_text(markdown(summary, keys[:3]) + "\n")
    (args.out / "readme.md").write_text(readme_table(results))
    print(markdown(summary, keys[:3]))
    print(f"{len(results)} data sets in {time.perf_counter() - started:.0f} s; written to {args.out}")


if __name__ == "__main__":
    main()
