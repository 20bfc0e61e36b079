"""Scores of the journey and threshold marts against the truth's implied recorded journeys (issue 21).

Shared by ``tests/test_journey_marts.py`` (quick scores, latest quarter) and its slow scoring test, and runnable
on its own against any refreshed warehouse: ``python tests/journeys_scoring.py <warehouse> <partnership folder>``
(from the repository root) prints every figure.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

import journeys_truth as J  # noqa: E402
from marts_truth import read_truth  # noqa: E402
from sources.synthetic.config import GeneratorConfig  # noqa: E402

LATEST = "2026-03-31"
FIRST_QUARTER = "2021-03-31"  # the first quarter of the tier table on the default partnership
VISIBLE_FROM = f"{GeneratorConfig().first_census_year - 1}-04-01"
# the first day the quarterly extracts (early help, adult services) cover: the quarter of the first one
EXTRACTS_FROM = str((pd.Timestamp(GeneratorConfig().first_quarter_end) - pd.offsets.QuarterEnd(1)
                     + pd.Timedelta(days=1)).date())


def quarter_ends(first: str = FIRST_QUARTER, last: str = LATEST) -> list[str]:
    return [str(d.date()) for d in pd.date_range(first, last, freq="QE")]


def transition_scores(conn, truth: pd.DataFrame, dob: pd.Series, quarter_end: str = LATEST) -> pd.DataFrame:
    """Per area: children in flows (mart, truth) and the share of them in cells that differ (sum |diff| / 2 / total)."""
    mart = conn.execute(f"""SELECT la_code, from_state, to_state, children FROM marts.tier_transitions
                            WHERE period_end = DATE '{quarter_end}'""").df()
    implied = J.transitions(truth, quarter_end, dob)
    both = mart.merge(implied, on=["la_code", "from_state", "to_state"], how="outer", suffixes=("_mart", "_truth"))
    both = both.fillna({"children_mart": 0, "children_truth": 0})
    both["diff"] = (both["children_mart"] - both["children_truth"]).abs()
    out = both.groupby("la_code").agg(mart=("children_mart", "sum"), truth=("children_truth", "sum"),
                                      abs_diff=("diff", "sum"))
    out["misplaced_share"] = out["abs_diff"] / 2 / out[["mart", "truth"]].max(axis=1)
    return out


def spell_scores(conn, truth: pd.DataFrame, as_at: str = LATEST) -> pd.DataFrame:
    """Per area and figure: the mart's count against the truth-implied count, and their relative difference."""
    mart = conn.execute(f"""
        SELECT la_code, count(*) AS spells, count(*) FILTER (WHERE status = 'open') AS open,
               count(*) FILTER (WHERE re_entry_within_12_months) AS re_entries_12m,
               count(*) FILTER (WHERE escalated) AS escalated, median(quarters_identified) AS median_quarters
        FROM marts.neglect_episodes WHERE period_end = DATE '{as_at}' GROUP BY la_code""").df().set_index("la_code")
    s = J.spells(truth, as_at)
    implied = s.groupby("la_code").agg(spells=("open", "size"), open=("open", "sum"),
                                       re_entries_12m=("re_entry_within_12_months", "sum"),
                                       escalated=("escalated", "sum"), median_quarters=("quarters_identified", "median"))
    rows = []
    for area in mart.index:
        for figure in mart.columns:
            m, t = float(mart.loc[area, figure]), float(implied.loc[area, figure])
            rows.append({"la_code": area, "figure": figure, "mart": m, "truth": t, "relative": m / t - 1 if t else np.nan})
    return pd.DataFrame(rows)


def cohort_scores(conn, truth: pd.DataFrame, dob: pd.Series, as_at: str = LATEST) -> pd.DataFrame:
    """Per area, horizon and outcome: the mart's share of the cohort against the truth-implied share (points)."""
    mart = conn.execute(f"""SELECT la_code, horizon_quarters, outcome, children, cohort_children, share_pct
                            FROM marts.cohort_outcomes WHERE period_end = DATE '{as_at}'""").df()
    parts = []
    for horizon in (4, 8):
        implied = J.cohort_outcomes(truth, as_at, horizon, dob).assign(horizon_quarters=horizon)
        implied["truth_share_pct"] = 100 * implied["children"] / implied.groupby("la_code")["children"].transform("sum")
        parts.append(implied.rename(columns={"children": "truth_children"}))
    both = mart.merge(pd.concat(parts), on=["la_code", "horizon_quarters", "outcome"], how="left")
    both = both.fillna({"truth_children": 0, "truth_share_pct": 0.0})
    both["points"] = both["share_pct"] - both["truth_share_pct"]
    return both


def truth_conversion(truth_dir: Path, window_start: str, window_end: str) -> pd.DataFrame:
    """The conversion funnel the truth implies for neglect-related episodes referred in the window, per authority:
    episodes with primary need N1 or a 16A assessment recorded in the episode; assessed = not NFA (an assessment
    was made); then section 47 (truth/section47.csv), a conference, a plan from the episode; each stage only after
    the ones before it."""
    ep = pd.read_csv(truth_dir / "cin_episodes.csv", dtype={"lea": str}, parse_dates=["referral_day", "closure_day"])
    ep = ep[(ep["referral_day"] >= window_start) & (ep["referral_day"] <= window_end)]
    evidence = pd.read_csv(truth_dir / "recorded_evidence.csv", dtype={"lea": str}, parse_dates=["start_date"])
    f16 = evidence[evidence["kind"] == "assessment_16A"].merge(ep[["episode_id", "person_id", "lea", "referral_day",
                                                                   "closure_day"]], on=["person_id", "lea"])
    f16 = f16[(f16["start_date"] >= f16["referral_day"])
              & (f16["closure_day"].isna() | (f16["start_date"] <= f16["closure_day"]))]
    related = ep[(ep["primary_need"] == "N1") | ep["episode_id"].isin(f16["episode_id"])]
    s47 = pd.read_csv(truth_dir / "section47.csv")
    plans = pd.read_csv(truth_dir / "cp_plans.csv")
    stages = pd.DataFrame({"lea": related["lea"], "referral": True, "assessment": ~related["referral_nfa"]})
    stages["section 47"] = stages["assessment"] & related["episode_id"].isin(s47["episode_id"]).to_numpy()
    icpc = s47.loc[s47["icpc_day"].notna(), "episode_id"]
    stages["initial conference"] = stages["section 47"] & related["episode_id"].isin(icpc).to_numpy()
    stages["CP plan"] = stages["initial conference"] & related["episode_id"].isin(plans["episode_id"]).to_numpy()
    return stages.groupby("lea").sum()


def conversion_scores(conn, truth_dir: Path, quarter_end: str = LATEST) -> pd.DataFrame:
    """Per authority and step: the mart's rate and 95 % interval against the truth-implied rate (percent)."""
    mart = conn.execute(f"""SELECT la_code, step, from_stage, to_stage, numerator, denominator, rate_pct,
                                   ci95_lower_pct, ci95_upper_pct, referral_window_start, referral_window_end
                            FROM marts.conversion_rates WHERE period_end = DATE '{quarter_end}'
                              AND la_code <> 'partnership'""").df()
    start, end = mart["referral_window_start"].iloc[0], mart["referral_window_end"].iloc[0]
    funnel = truth_conversion(truth_dir, str(pd.Timestamp(start).date()), str(pd.Timestamp(end).date()))
    mart["truth_numerator"] = [int(funnel.loc[la, to]) for la, to in zip(mart["la_code"], mart["to_stage"])]
    mart["truth_denominator"] = [int(funnel.loc[la, fr]) for la, fr in zip(mart["la_code"], mart["from_stage"])]
    mart["truth_rate_pct"] = 100 * mart["truth_numerator"] / mart["truth_denominator"]
    mart["truth_inside_ci95"] = mart["truth_rate_pct"].between(mart["ci95_lower_pct"], mart["ci95_upper_pct"])
    return mart.drop(columns=["referral_window_start", "referral_window_end"])


def main(warehouse: str, folder: str) -> None:
    import duckdb

    truth_dir = Path(folder) / "truth"
    evidence, dob = read_truth(truth_dir)
    truth = J.point_tiers(truth_dir, quarter_ends(), VISIBLE_FROM, evidence, dob, EXTRACTS_FROM)
    conn = duckdb.connect(warehouse, read_only=True)
    pd.set_option("display.width", 200)
    print(transition_scores(conn, truth, dob))
    print(spell_scores(conn, truth).to_string())
    print(cohort_scores(conn, truth, dob).to_string())
    print(conversion_scores(conn, truth_dir).to_string())
    latent = J.latent_spells(truth_dir, LATEST)
    print("latent (true) spells:", len(latent), "open:", int(latent["open"].sum()))


if __name__ == "__main__":
    main(*sys.argv[1:])
