"""Validation of the publication rule's internal-consistency step (:func:`models.mse.publication.apply_consistency`).

Run by hand (not in CI), e.g.

    nice -n 19 .venv/bin/python bench/consistency_rule.py --replicates 20 --out /tmp/consistency_rule

For each scenario of :mod:`models.mse.simulate` (4 and 5 lists; heterogeneity none / same /
opposite; false positives 0, 10 and 20 %; N 1,000 and 10,000) it simulates data sets, applies the
publication rule without the step (:func:`models.mse.publication.publish_tables`), runs internal
consistency on each data set as the mart does (:func:`models.mse.internal_consistency.internal_consistency`
with the mart's shorter sampler, ``CONSISTENCY_SAMPLER``), and scores three variants:

* ``without``: the rule as before (latent-class median and 95 % interval with four or more lists);
* ``raw``: the step on the log ratios as the mart reports them, log(N-hat_L / n_L);
* ``ppv``: the step on log ratios against each list's expected true members,
  log(N-hat_L / (n_L x PPV_L)) (PPV from the simulated audit), so that false positives, which the
  allowance already takes out, do not by themselves make every ratio negative.

Per scenario: how often the step fires (every ratio one sign), the coverage of the published
interval or range, the bias of the central figure where one is published, and the floor's share
below N and median error. Writes ``results.csv`` (one row per data set, with the log ratios) and
``summary.md`` to ``--out``.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from models.marts.hidden_prevalence import CONSISTENCY_SAMPLER
from models.mse.false_positives import ListPPV
from models.mse.internal_consistency import internal_consistency
from models.mse.latent_class import cell_patterns
from models.mse.publication import apply_consistency, publish_tables
from models.mse.simulate import LISTS, Scenario, simulate


def histories(tables: list[np.ndarray], names: list[str]) -> pd.DataFrame:
    X = cell_patterns(len(names))[1:].astype(int)
    return pd.concat([pd.DataFrame(X, columns=names).assign(count=t[1:], replicate=i) for i, t in enumerate(tables)],
                     ignore_index=True)


def run(scenario: Scenario, replicates: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    samples = [simulate(scenario, rng) for _ in range(replicates)]
    names = list(LISTS[: scenario.lists])
    ppvs = [[ListPPV(checked=c, confirmed=k) for c, k in s.audit] for s in samples]
    published = publish_tables(np.array([s.table for s in samples]), names, ppvs, seed=seed)
    check = internal_consistency(histories([s.table for s in samples], names), names, by=["replicate"],
                                 sampler=CONSISTENCY_SAMPLER, seed=seed)
    rows = []
    for i, (s, p) in enumerate(zip(samples, published)):
        part = check[check["replicate"] == i].set_index("target").reindex(names)
        raw = part["log_ratio"].to_numpy(float)
        adjusted = raw - np.log([q.mean for q in ppvs[i]])
        row = {"scenario": scenario.name, "lists": scenario.lists, "heterogeneity": scenario.heterogeneity,
               "fp": scenario.fp, "N": scenario.N, "replicate": i, "observed": int(s.table.sum()),
               "lc": p.latent_class_median, "lc_lower": p.latent_class_lower, "lc_upper": p.latent_class_upper,
               "floor": p.lower_bound, **{f"ratio_{n}": r for n, r in zip(names, raw)}}
        for label, ratios in (("without", None), ("raw", raw), ("ppv", adjusted)):
            q = p if ratios is None else apply_consistency(p, list(ratios))
            row.update({f"{label}_status": q.status, f"{label}_central": q.central, f"{label}_lower": q.lower,
                        f"{label}_upper": q.upper, f"{label}_floor": q.lower_bound})
        rows.append(row)
    return rows


def score(g: pd.DataFrame) -> pd.Series:
    N = g["truth"]
    out = {}
    for label in ("without", "raw", "ppv"):
        estimate = g[f"{label}_status"] == "estimate"
        out[f"{label}: fired"] = 1 - estimate.mean() if label != "without" else np.nan
        out[f"{label}: cover"] = ((g[f"{label}_lower"] <= N) & (N <= g[f"{label}_upper"])).mean()
        e = g[estimate]
        out[f"{label}: central bias"] = (e[f"{label}_central"] / e["truth"] - 1).mean() if len(e) else np.nan
        out[f"{label}: floor below N"] = (g[f"{label}_floor"] < N).mean()
        out[f"{label}: floor median error"] = (g[f"{label}_floor"] / N - 1).median()
        out[f"{label}: upper / N median"] = (g[f"{label}_upper"] / N).median()
    return pd.Series(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--lists", type=int, nargs="*", default=[4, 5])
    parser.add_argument("--fp", type=float, nargs="*", default=[0.0, 0.1, 0.2])
    parser.add_argument("--N", type=int, nargs="*", default=[1000, 10_000])
    parser.add_argument("--out", type=Path, default=Path("/tmp/consistency_rule"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows, started = [], time.perf_counter()
    grid = [Scenario(k, h, f, n) for k in args.lists for h in ("none", "same", "opposite") for f in args.fp
            for n in args.N]
    for i, scenario in enumerate(grid):
        rows += run(scenario, args.replicates, args.seed + 1000 * i)
        pd.DataFrame(rows).to_csv(args.out / "results.csv", index=False)
        print(f"{scenario.name}: done [{time.perf_counter() - started:.0f} s]", flush=True)
    results = pd.DataFrame(rows)
    results["truth"] = results["N"]
    summary = results.groupby(["lists", "heterogeneity", "fp", "N"], sort=False).apply(
        score, include_groups=False).reset_index()
    summary.to_csv(args.out / "summary.csv", index=False)
    print(summary.to_string(float_format=lambda v: f"{v:.2f}"))


if __name__ == "__main__":
    main()
