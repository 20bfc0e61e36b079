"""Would a floor raised by the internal-consistency checks hold? Scored on results already written.

Run by hand (not in CI), on the outputs of two other benches:

    .venv/bin/python bench/floor_candidates.py \
        --harness /tmp/consistency_rule/results.csv /tmp/consistency_rule3/results.csv \
        --pipeline /tmp/coverage/coverage.csv

``--harness``: ``results.csv`` of ``bench/consistency_rule.py`` (simulated capture histories, one row per
data set, with the latent-class median and limits, the published floor and each list's log ratio);
``--pipeline``: ``coverage.csv`` of ``bench/hidden_prevalence_coverage.py`` (whole-pipeline partnerships,
the checks in the ``internal_consistency`` JSON column). Only data sets where the publication rule's step 5
fires with every log ratio negative are scored (the case a higher floor would be for).

Candidates: the floor as published; the latent-class median; its lower 95 % limit; and each of those
multiplied by exp(smallest |log ratio|) or exp(median |log ratio|), i.e. corrected by the smallest (or the
typical) undercount the checks found on the partnership's own lists. Printed per candidate: the share of
data sets where it is below the truth N and its median error (candidate / N - 1), per scenario of the
harness and over the pipeline's partnerships. A floor must be below N in >= 95 % of both.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd


def candidates(figures: pd.DataFrame, ratios: pd.DataFrame) -> tuple[pd.Series, dict[str, pd.Series]]:
    """(fires, {name: candidate floor}) from columns floor, lc, lc_lower and one log ratio column per list
    (NaN: list not checked). ``fires``: at least 3 lists checked and every checked ratio below 0."""
    checked = ratios.notna()
    fires = ((ratios < 0) | ~checked).all(axis=1) & (checked.sum(axis=1) >= 3)
    smallest, typical = (-ratios).min(axis=1), (-ratios).median(axis=1)
    out = {"floor (published)": figures["floor"], "latent-class median": figures["lc"],
           "latent-class lower limit": figures["lc_lower"]}
    for label, column in (("floor", "floor"), ("median", "lc"), ("lower limit", "lc_lower")):
        out[f"{label} x exp(smallest)"] = figures[column] * np.exp(smallest)
        out[f"{label} x exp(median)"] = figures[column] * np.exp(typical)
    return fires, out


def score(errors: pd.DataFrame) -> pd.Series:
    return pd.Series({name: f"{(e < 0).mean():.0%} below, {e.median():+.0%}" for name, e in errors.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--harness", type=Path, nargs="+", required=True)
    parser.add_argument("--pipeline", type=Path, required=True)
    args = parser.parse_args()

    harness = pd.concat([pd.read_csv(p) for p in args.harness], ignore_index=True)
    fires, cands = candidates(harness, harness[[c for c in harness.columns if c.startswith("ratio_")]])
    errors = pd.DataFrame({k: v / harness["N"] - 1 for k, v in cands.items()})[fires]
    groups = harness.loc[fires, ["lists", "heterogeneity"]]
    print(f"harness: step 5 fires (all negative) in {int(fires.sum())} of {len(harness)} data sets")
    table = errors.groupby([groups["lists"], groups["heterogeneity"]]).apply(score).unstack(level=[0, 1])
    print(table.to_string())
    print("all harness data sets:\n" + score(errors).to_string())

    runs = pd.read_csv(args.pipeline)
    ratios = pd.DataFrame([{c["list"]: c["log_ratio"] for c in json.loads(s)} if isinstance(s, str) else {}
                           for s in runs["internal_consistency"]])
    figures = pd.DataFrame({"floor": runs["lower_bound"], "lc": runs["latent_class_median"],
                            "lc_lower": runs["latent_class_lower"]})
    fires, cands = candidates(figures, ratios)
    errors = pd.DataFrame({k: v / runs["true_neglected"] - 1 for k, v in cands.items()})[fires]
    print(f"\npipeline: step 5 fires (all negative) in {int(fires.sum())} of {len(runs)} partnerships")
    print(score(errors).to_string())


if __name__ == "__main__":
    main()
