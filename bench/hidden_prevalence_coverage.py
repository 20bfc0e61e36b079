"""Benchmark: does the hidden-prevalence interval cover the true number of neglected children?

Run by hand (not in CI), e.g.:

    .venv/bin/python bench/hidden_prevalence_coverage.py --partnerships 20 --children 60000 --out /tmp/coverage

For each simulated partnership (seed 1, 2, ...; detection rates varied, see ``DETECTION``) it
generates the partnership, runs the whole refresh (ingest, linkage, marts) into a temporary
project exactly as ``neglect run`` does, and compares ``marts.hidden_prevalence`` (partnership,
match threshold, 12 months to the last quarter end) with the truth: the children aged 0-17 who
were neglected at one or more of the four quarter ends in those 12 months
(``truth/neglect_by_quarter.csv``). It also reports coverage of a second target, the population
the lists really draw on: those neglected children plus the children the lists hold who were not
neglected (services record neglect evidence for some children the simulation did not neglect).
``--sizes`` cycles the number of children over the partnerships (e.g. ``--sizes 40000 80000 150000``); the
detection settings follow the seed, so a run from ``--first-seed 12`` continues one from seed 1. Each
partnership's capture histories are kept as ``histories_SEED.csv`` (to re-score the publication rule without
running it again); a partnership whose refresh fails is reported and kept, and the others still run.
Prints a line per partnership and the summary (coverage of the
95 % interval, median absolute and relative error, and the same for the observed count), and
writes them as CSV to ``--out/coverage.csv``. Record the results in the README.

The legacy columns (``estimate``, ``ci95_*``: log-linear on lists of evidence *current* in the
window) and the published ones (``published_*``, ``lower_bound``: the publication rule on lists of
evidence *recorded* in the window, after the false-positive allowance) are both scored, with each
list's true positive predictive value (share of its children neglected in the window) and the
share of the neglected children on any list. ``--default`` runs the default partnership only
(seed 20261123, 105,000 children).
"""
from __future__ import annotations

import argparse
import dataclasses
import shutil
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from sources.synthetic.config import GeneratorConfig
from sources.synthetic.generate import generate_partnership

# (children's services multiplier, adult-services multiplier) cycled over the partnerships: how much
# more or less often than the default each service notices a neglected child (or a parent's risk)
DETECTION = [(1.0, 1.0), (0.6, 1.0), (1.5, 1.0), (1.0, 0.6), (1.0, 1.4), (0.8, 0.8), (1.25, 1.25),
             (0.6, 1.4), (1.5, 0.6), (1.0, 1.0)]
# (partner agencies' detection multiplier, their false-positive multiplier), cycled on a different period (7)
# so that the combinations with DETECTION vary over the partnerships
PARTNERS = [(1.0, 1.0), (0.6, 1.0), (1.4, 1.0), (1.0, 0.5), (1.0, 1.6), (0.7, 1.4), (1.3, 0.7)]


def config(seed: int, children: int, csc: float, adult: float, partners: tuple[float, float] = (1.0, 1.0)
           ) -> GeneratorConfig:
    base = GeneratorConfig()
    return dataclasses.replace(
        base, seed=seed, children=children, partner_detection_scale=partners[0],
        partner_false_positive_scale=partners[1],
        csc_referral_neglect=tuple(h * csc for h in base.csc_referral_neglect),
        early_help_neglect=tuple(h * csc for h in base.early_help_neglect),
        adult_service_detection={k: min(0.95, v * adult) for k, v in base.adult_service_detection.items()})


def refresh(folder: Path, project: Path) -> Path:
    """Run cin_census_refresh and quarterly_refresh over every period of ``folder``; return the warehouse path."""
    from dagster import DagsterInstance

    from pipelines.event_log import instance_overrides
    from pipelines.definitions import build_definitions
    from pipelines.runs import execute_range, run_plan
    from pipelines.settings import Settings

    settings = Settings(project_root=project, synthetic_dir=folder, incoming_dir=folder / "incoming",
                        warehouse_path=project / "warehouse.duckdb", identity_path=project / "identity.duckdb",
                        pseudonym_key_path=project / "pseudonym.key", output_dir=project / "output",
                        clerical_review_dir=project / "review", dagster_home=project)
    defs = build_definitions(settings)
    (project / ".dagster").mkdir(parents=True, exist_ok=True)
    with DagsterInstance.local_temp(str(project / ".dagster"), overrides=instance_overrides(str(project / ".dagster"))) as instance:
        for planned in run_plan(settings.incoming_dir, date.today()):
            result = execute_range(defs, instance, planned)
            if not result.success:
                raise RuntimeError(f"{planned.job_name} failed for {folder}")
    return settings.warehouse_path


def true_neglected(truth_dir: Path, quarter_end: date) -> set[int]:
    """Children neglected at one or more of the four quarter ends in the 12 months to ``quarter_end``."""
    ends = pd.date_range(end=pd.Timestamp(quarter_end), periods=4, freq="QE").strftime("%Y-%m-%d")
    neglect = pd.read_csv(truth_dir / "neglect_by_quarter.csv", usecols=["person_id", "quarter_end"])
    return set(neglect.loc[neglect["quarter_end"].isin(ends), "person_id"])


def listed_not_neglected(warehouse: Path, truth_dir: Path, quarter_end: date, neglected: set[int]) -> int:
    """Children on a capture list in the 12 months to ``quarter_end`` (partnership) who were not neglected."""
    from models.linkage.evaluation import record_truth
    from models.marts.definitions import load_definitions

    kinds = [k for c in load_definitions().capture_lists for k in c.any_of]
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        conn.register("record_truth", record_truth(truth_dir))
        listed = conn.execute("""
            SELECT DISTINCT t.person_id
            FROM marts.child_neglect_evidence e JOIN record_truth t ON t.source_record_id = e.person_record_id
            WHERE e.kind IN (SELECT unnest(?)) AND e.evidence_start <= ?
              AND (e.evidence_end IS NULL OR e.evidence_end >= ? - INTERVAL 1 YEAR + INTERVAL 1 DAY)""",
                              [kinds, quarter_end, quarter_end]).fetchall()
    return len({p for (p,) in listed} - neglected)


def recorded_list_truth(warehouse: Path, truth_dir: Path, quarter_end: date, neglected: set[int]) -> dict:
    """Per capture list (evidence recorded in the 12 months to ``quarter_end``, partnership): children
    on it and its true PPV; and the neglected children on any such list."""
    from models.linkage.evaluation import record_truth
    from models.marts.definitions import load_definitions

    out, anywhere = {}, set()
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        conn.register("record_truth", record_truth(truth_dir))
        for c in load_definitions().capture_lists:
            people = {p for (p,) in conn.execute("""
                SELECT DISTINCT t.person_id
                FROM marts.child_neglect_evidence e JOIN record_truth t ON t.source_record_id = e.person_record_id
                WHERE e.kind IN (SELECT unnest(?)) AND len(list_filter(e.recorded_dates,
                      lambda d: d BETWEEN ? - INTERVAL 1 YEAR + INTERVAL 1 DAY AND ?)) > 0""",
                                                 [list(c.any_of), quarter_end, quarter_end]).fetchall()}
            anywhere |= people
            out[f"{c.name}_children"] = len(people)
            out[f"{c.name}_true_ppv"] = len(people & neglected) / len(people) if people else np.nan
    out["recorded_lists_hold_share_of_truth"] = len(anywhere & neglected) / len(neglected)
    return out


def save_histories(warehouse: Path, quarter_end: date, path: Path) -> None:
    """The partnership's capture histories (lists of evidence recorded in the 12 months to ``quarter_end``, the
    pipeline's own linkage) as CSV: one row per pattern and age stratum with its number of children, so the
    publication rule can be re-scored on these partnerships without running them again."""
    from models.marts.definitions import load_definitions
    from models.marts.hidden_prevalence import capture_histories, linkage_variants

    variants = linkage_variants(0.0, 0.0, 0.0).iloc[[0]]  # 'match threshold' only: the keys as linked
    with duckdb.connect(str(warehouse)) as conn:
        table = capture_histories(conn, load_definitions(), [quarter_end], variants, recorded_in_window=True)
    table[table["la_code"] == "partnership"].to_csv(path, index=False)


def published_summary(frame: pd.DataFrame) -> None:
    """The issue's done-when figures for the published columns: coverage of the published interval or range,
    median absolute error of the published central figure (where one is published), and the floor's share
    below the truth and median distance from it."""
    truth = frame["true_neglected"]
    covered = (frame["published_lower"] <= truth) & (truth <= frame["published_upper"])
    central = frame["published_central"].astype(float)
    print(f"published: {covered.sum()} of {len(frame)} intervals or ranges cover the truth "
          f"({100 * covered.mean():.0f} %); statuses {frame['published_status'].value_counts().to_dict()}")
    if central.notna().any():
        error = (central / truth - 1)[central.notna()]
        print(f"published central figure ({central.notna().sum()}): median absolute error "
              f"{100 * error.abs().median():.1f} %, median error {100 * error.median():+.1f} %")
    floor = frame["lower_bound"].astype(float) / truth - 1
    print(f"floor ('at least') below the truth in {(floor < 0).sum()} of {len(frame)}; median distance "
          f"{100 * floor.median():+.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partnerships", type=int, default=20)
    parser.add_argument("--children", type=int, default=60_000)
    parser.add_argument("--sizes", type=int, nargs="*",
                        help="children per partnership, cycled over the partnerships (overrides --children)")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("/tmp/hidden_prevalence_coverage"))
    parser.add_argument("--default", action="store_true", help="the default partnership only")
    args = parser.parse_args()
    if args.default:
        args.partnerships, args.children, args.first_seed = 1, GeneratorConfig().children, GeneratorConfig().seed
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for number in range(args.partnerships):
        seed = args.first_seed + number
        children = args.sizes[number % len(args.sizes)] if args.sizes else args.children
        csc, adult = DETECTION[(seed - 1) % len(DETECTION)]  # by seed: a run from --first-seed 12 continues one from 1
        partners = PARTNERS[(seed - 1) % len(PARTNERS)]
        started = time.perf_counter()
        folder, project = args.out / f"partnership_{seed}", args.out / f"project_{seed}"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(project, ignore_errors=True)
        summary = generate_partnership(GeneratorConfig() if args.default else config(seed, children, csc, adult, partners),
                                       folder)
        try:
            warehouse = refresh(folder, project)
        except RuntimeError as error:  # kept for a look; the other partnerships still run
            print(f"seed {seed:3d}: {error}; kept {folder} and {project}", flush=True)
            rows.append({"seed": seed, "children": children, "published_status": "pipeline failed"})
            pd.DataFrame(rows).to_csv(args.out / "coverage.csv", index=False)
            continue
        quarter_end = date.fromisoformat(summary["quarter_end"])
        save_histories(warehouse, quarter_end, args.out / f"histories_{seed}.csv")
        with duckdb.connect(str(warehouse), read_only=True) as conn:
            row = conn.execute("""
                SELECT observed, estimate, ci95_lower, ci95_upper, status, stratified, chosen_model
                FROM marts.hidden_prevalence
                WHERE period_end = ? AND la_code = 'partnership' AND linkage = 'match threshold'""",
                               [quarter_end]).fetchall()[0]
            published = conn.execute("""
                SELECT listed_in_window, observed_after_allowance, published_status, publication_reason, published_central,
                       published_lower, published_upper, lower_bound, latent_class_median, latent_class_lower,
                       latent_class_upper, internal_consistency, internal_consistency_text
                FROM marts.hidden_prevalence
                WHERE period_end = ? AND la_code = 'partnership' AND linkage = 'match threshold'""",
                                     [quarter_end]).df().iloc[0].to_dict()
        neglected = true_neglected(folder / "truth", quarter_end)
        truth = len(neglected)
        drawn_on = truth + listed_not_neglected(warehouse, folder / "truth", quarter_end, neglected)
        observed, estimate, lower, upper, status, stratified, model = row
        rows.append({"seed": seed, "children": children, "csc_detection": csc, "adult_detection": adult,
                     "partner_detection": partners[0], "partner_false_positives": partners[1],
                     "true_neglected": truth, "observed": observed, "estimate": estimate, "ci95_lower": lower,
                     "ci95_upper": upper, "covered": bool(lower <= truth <= upper) if status == "estimated" else False,
                     "relative_error": (estimate - truth) / truth if estimate is not None else np.nan,
                     "neglected_or_listed": drawn_on,
                     "covered_neglected_or_listed": bool(lower <= drawn_on <= upper) if status == "estimated" else False,
                     "status": status, "stratified": stratified, "chosen_model": model,
                     **published, **recorded_list_truth(warehouse, folder / "truth", quarter_end, neglected),
                     "seconds": round(time.perf_counter() - started, 1)})
        r = {k: (np.nan if v is None else v) for k, v in rows[-1].items()}
        lb, lo, hi = r["lower_bound"], r["published_lower"], r["published_upper"]
        print(f"    recorded in window: {r['listed_in_window']:,} listed, {r['observed_after_allowance']:,.0f} after "
              f"allowance; published {r['published_status']}: central {r['published_central']}, range {lo:,.0f} to "
              f"{hi:,.0f} (covers {lo <= truth <= hi}); lower bound {lb:,.0f} ({100 * (lb / truth - 1):+.1f} %); "
              f"latent class {r['latent_class_median']:,.0f} ({r['latent_class_lower']:,.0f} to "
              f"{r['latent_class_upper']:,.0f}); lists hold {100 * r['recorded_lists_hold_share_of_truth']:.0f} % "
              f"of the truth; true PPV " + ", ".join(f"{k[:-9]} {v:.2f}" for k, v in r.items() if k.endswith("_true_ppv")),
              flush=True)
        print(f"seed {seed:3d} detection csc x{csc} adult x{adult}: truth {truth:,}, observed {observed:,}, "
              f"estimate {estimate:,.0f} ({lower:,.0f} to {upper:,.0f}) covered={r['covered']} "
              f"error {100 * r['relative_error']:+.1f} %; neglected or listed {drawn_on:,} "
              f"covered={r['covered_neglected_or_listed']} [{r['seconds']} s]", flush=True)
        shutil.rmtree(folder)
        shutil.rmtree(project)
        pd.DataFrame(rows).to_csv(args.out / "coverage.csv", index=False)  # after each: a run stopped early keeps them
    frame = pd.DataFrame(rows)
    failed = frame["published_status"].eq("pipeline failed")
    if failed.any():
        print(f"pipeline failed for seeds {frame.loc[failed, 'seed'].tolist()}: not scored")
        frame = frame[~failed]
    published_summary(frame)
    print(f"\npartnerships {len(frame)}; 95 % interval covered the truth in {frame['covered'].sum()} "
          f"({100 * frame['covered'].mean():.0f} %)")
    print(f"median absolute error {frame['estimate'].sub(frame['true_neglected']).abs().median():,.0f} children; "
          f"median relative error {100 * frame['relative_error'].median():+.1f} % "
          f"(absolute {100 * frame['relative_error'].abs().median():.1f} %)")
    print(f"second target (neglected, or on a list though not neglected): covered in "
          f"{frame['covered_neglected_or_listed'].sum()} ({100 * frame['covered_neglected_or_listed'].mean():.0f} %); "
          f"median relative error {100 * ((frame['estimate'] - frame['neglected_or_listed']) / frame['neglected_or_listed']).median():+.1f} %")
    print(f"observed (on any list) as a share of the truth: median {100 * (frame['observed'] / frame['true_neglected']).median():.0f} %")
    print(f"written {args.out / 'coverage.csv'}")


if __name__ == "__main__":
    main()
