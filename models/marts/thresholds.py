"""Thresholds between services (issue 21): ``marts.threshold_profile`` and ``marts.conversion_rates``, from the
temporary tables of ``models/marts/sql/thresholds.sql`` (read that file for the sources). Areas: each authority
(DfE LA number) and ``partnership``; children are pseudonymised ``person_key`` s, never written here.

``marts.threshold_profile`` -- how severe a child's situation was when a service began to act. One row per
quarter end (``period_end``), area, ``service_level`` (``early help``: an early-help episode started;
``CIN assessment``: a children's social care assessment started; ``section 47``: an enquiry started;
``CP plan``: a child protection plan started), ``scope`` (``all`` children entering, or ``neglect-related``:
those whose evidence on entry shows neglect -- factor 16A, a GCP2 domain scored 4+, primary need N1, or a CP
plan under neglect / multiple) and ``indicator``. A child entering a level in the quarter (entry date after the
previous quarter end, up to this one) counts once (their first entry). The evidence on entry: for early help
the episode's presenting needs; for an assessment its factors; for an enquiry or a plan the factors of the
child's latest assessment in the same authority started in the 12 months up to the entry. Factors are recorded
at the end of an assessment, so the factor indicators (16A, toxic trio, learning disability, the mean number
of factors) are of the entrants whose factors are known (``factors_known``: early help, or an assessment
authorised by the latest extract); without this, the latest quarter's entrants, whose assessments are still
open, would look as if fewer had neglect found than a year earlier. GCP2 the highest domain score of the latest early-help GCP2 assessment in the 12 months up to the entry,
in any authority (for early help: this episode's or an earlier one's). Indicators (``unit``):

* ``entrants`` (children) -- ``numerator`` = ``denominator`` = ``value`` = children entering.
* percentages (``percent``, Wilson 95 % / 99.8 % intervals) of the entrants, or of those whose factors are
  known for the factor indicators: ``neglect_factor`` (16A), ``toxic_trio`` (a parental factor 1B alcohol, 2B drugs, 3B domestic abuse or 4B mental health),
  ``learning_disability`` (5B), ``prior_early_help`` (an early-help episode started in the 12 months before
  entry, any authority), ``under_5`` (aged 0-4 on entry), ``gcp2_recorded`` (a GCP2 score as above), and
  ``gcp2_concern`` (highest domain 4 or 5, a percentage of those with a score).
* means (normal-approximation 95 % interval ``mean +- 1.96 sd / sqrt(n)``, no 99.8 %; ``numerator`` NULL,
  ``denominator`` = children averaged): ``mean_gcp2_max`` (``score 1-5``, children with a score),
  ``mean_factors`` (``factors``: assessment factors other than 21 "no factors"), ``mean_age`` (``years``).

``marts.conversion_rates`` -- the route of neglect-related work through children's social care. The episodes:
CIN episodes (``staging.cin_episodes``) referred in the 12 months ending one quarter before the quarter end
(``referral_window_start`` to ``referral_window_end``, so each has at least 3 months to go through the stages),
whose primary need is N1 or whose assessment found neglect (16A). Stages reached by each episode: ``referral``
(every one), ``assessment`` (an assessment started), ``section 47`` (an enquiry in the episode),
``initial conference`` (an ICPC date on the enquiry or the episode), ``CP plan`` (a plan in the same authority
starting on or after the conference and before the episode ended), each only after every stage before it (a
funnel: an enquiry in an episode with no assessment in the extracts is not counted). One row per quarter end, area and ``step``
(``from_stage`` -> ``to_stage``: referral -> assessment, assessment -> section 47, section 47 -> initial
conference, initial conference -> CP plan, and referral -> CP plan overall): ``numerator`` episodes reaching
``to_stage`` of ``denominator`` reaching ``from_stage``, ``rate_pct`` with Wilson intervals (percent).
Referral -> assessment is high by construction (neglect is mostly known from the assessment).
``significantly_higher_than`` / ``significantly_lower_than``: the other authorities whose 95 % interval for the
same quarter and step does not overlap this one's (neutral words: a higher rate is a lower threshold, not
better or worse practice); ``authorities_differ``: any such pair for the quarter and step (the same on every
row of it). Trend over time (:mod:`.conversion_trend`): ``trend_windows``, ``trend_odds_ratio_per_year``,
``trend_p_value`` and ``trend`` (rising / falling / no significant change), a logistic regression over the
non-overlapping yearly referral windows up to the quarter end with a likelihood-ratio test.
"""
from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd

from .conversion_trend import with_trends
from .definitions import NeglectDefinitions
from .evidence import first_days_by_source, read_sql, register_periods, replace_period_frame
from .practice_indicators import with_proportion_intervals

PROFILE_COLUMNS = """
    period_end DATE NOT NULL, la_code VARCHAR NOT NULL, service_level VARCHAR NOT NULL, scope VARCHAR NOT NULL,
    indicator VARCHAR NOT NULL, unit VARCHAR NOT NULL, numerator BIGINT, denominator BIGINT NOT NULL, value DOUBLE,
    ci95_lower DOUBLE, ci95_upper DOUBLE, ci998_lower DOUBLE, ci998_upper DOUBLE"""
CONVERSION_COLUMNS = """
    period_end DATE NOT NULL, la_code VARCHAR NOT NULL, step VARCHAR NOT NULL, from_stage VARCHAR NOT NULL,
    to_stage VARCHAR NOT NULL, referral_window_start DATE NOT NULL, referral_window_end DATE NOT NULL,
    numerator BIGINT NOT NULL, denominator BIGINT NOT NULL, rate_pct DOUBLE, ci95_lower_pct DOUBLE,
    ci95_upper_pct DOUBLE, ci998_lower_pct DOUBLE, ci998_upper_pct DOUBLE, significantly_higher_than VARCHAR[],
    significantly_lower_than VARCHAR[], authorities_differ BOOLEAN NOT NULL, trend_windows INTEGER NOT NULL,
    trend_odds_ratio_per_year DOUBLE, trend_p_value DOUBLE, trend VARCHAR NOT NULL"""
SERVICE_LEVELS = ("early help", "CIN assessment", "section 47", "CP plan")
SHARES = {  # indicator -> (entry column that is true, denominator column or None for every entrant)
    "neglect_factor": ("neglect_factor", "factors_known"), "toxic_trio": ("toxic_trio", "factors_known"),
    "learning_disability": ("learning_disability", "factors_known"), "prior_early_help": ("prior_early_help", None),
    "under_5": ("under_5", None), "gcp2_recorded": ("gcp2_recorded", None),
    "factors_known": ("factors_known", None),
    "gcp2_concern": ("gcp2_concern", "gcp2_recorded"),
}
MEANS = {"mean_gcp2_max": ("gcp2_max", "score 1-5"), "mean_factors": ("factors", "factors"),
         "mean_age": ("age", "years")}
STAGES = ("referral", "assessment", "section 47", "initial conference", "CP plan")
STEPS = tuple(zip(STAGES[:-1], STAGES[1:])) + (("referral", "CP plan"),)
STAGE_COLUMN = {"referral": None, "assessment": "assessed", "section 47": "section47",
                "initial conference": "icpc", "CP plan": "plan"}
Z95 = 1.959963984540054


def _prepare(conn: duckdb.DuckDBPyConnection, definitions: NeglectDefinitions, period_ends: list[date],
             *files: str) -> None:
    register_periods(conn, period_ends)
    for name in files:
        conn.execute(read_sql(name, definitions))


def build_threshold_profile(conn: duckdb.DuckDBPyConnection, definitions: NeglectDefinitions,
                            period_ends: list[date]) -> pd.DataFrame:
    """Replace the rows of ``marts.threshold_profile`` for ``period_ends``; returns them."""
    _prepare(conn, definitions, period_ends, "thresholds.sql")
    profile = threshold_profile(conn.sql("SELECT * FROM threshold_entries ORDER BY ALL").df(), period_ends)
    replace_period_frame(conn, "marts.threshold_profile", PROFILE_COLUMNS, profile)
    return profile


def build_conversion_rates(conn: duckdb.DuckDBPyConnection, definitions: NeglectDefinitions,
                           period_ends: list[date]) -> pd.DataFrame:
    """Replace the rows of ``marts.conversion_rates`` for ``period_ends``; returns them."""
    _prepare(conn, definitions, period_ends, "thresholds.sql", "conversion_episodes.sql")
    conversion = conversion_rates(conn.sql("SELECT * FROM conversion_episodes ORDER BY ALL").df(), period_ends)
    conversion = with_trends(conversion, _conversion_history(conn, conversion, period_ends),
                             first_days_by_source(conn).get("cin_census"))
    replace_period_frame(conn, "marts.conversion_rates", CONVERSION_COLUMNS, conversion)
    return conversion


def _conversion_history(conn: duckdb.DuckDBPyConnection, conversion: pd.DataFrame,
                        period_ends: list[date]) -> pd.DataFrame:
    """The rows being written and the table's rows of the other quarter ends (what the trend tests read)."""
    columns = ["period_end", "la_code", "step", "referral_window_start", "numerator", "denominator"]
    exists = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'marts' "
                          "AND table_name = 'conversion_rates'").fetchall()[0][0]
    if not exists:
        return conversion[columns]
    earlier = conn.execute(f"SELECT {', '.join(columns)} FROM marts.conversion_rates "
                           "WHERE period_end NOT IN (SELECT unnest(?::DATE[])) ORDER BY ALL", [period_ends]).df()
    earlier["period_end"] = pd.to_datetime(earlier["period_end"]).dt.as_unit("us")
    return pd.concat([earlier, conversion[columns]], ignore_index=True)


def _with_partnership(frame: pd.DataFrame, keys: list[str], order: str) -> pd.DataFrame:
    """Add ``la_code = 'partnership'`` rows: each child (or episode) once, its first row by ``order``."""
    whole = frame.sort_values([*keys, order, "la_code"]).drop_duplicates(keys).assign(la_code="partnership")
    return pd.concat([frame, whole], ignore_index=True)


def threshold_profile(entries: pd.DataFrame, period_ends: list[date]) -> pd.DataFrame:
    """The profile rows (see the module docstring) from ``threshold_entries``; every quarter, area, level and
    scope has an ``entrants`` row, with 0 when nobody entered."""
    entries = entries.assign(under_5=entries["age"] < 5, gcp2_recorded=entries["gcp2_max"].notna(),
                             gcp2_concern=entries["gcp2_max"] >= 4)
    entries = _with_partnership(entries, ["period_end", "service_level", "person_key"], "entry_date")
    scoped = pd.concat([entries.assign(scope="all"), entries[entries["neglect_related"]].assign(scope="neglect-related")],
                       ignore_index=True)
    areas = sorted(set(entries["la_code"]) | {"partnership"})
    cells = pd.MultiIndex.from_product([pd.to_datetime(pd.Series(period_ends)).dt.as_unit("us"), areas, SERVICE_LEVELS,
                                        ["all", "neglect-related"]],
                                       names=["period_end", "la_code", "service_level", "scope"])
    scoped["period_end"] = pd.to_datetime(scoped["period_end"]).dt.as_unit("us")
    groups = scoped.groupby(["period_end", "la_code", "service_level", "scope"])
    rows = []
    n = groups.size().reindex(cells, fill_value=0)
    rows.append(pd.DataFrame({"indicator": "entrants", "unit": "children", "numerator": n, "denominator": n,
                              "value": n.astype(float)}, index=cells))
    for name, (column, base) in SHARES.items():
        hits = groups[column].apply(lambda s: int(s.fillna(False).astype(bool).sum())).reindex(cells, fill_value=0)
        den = n if base is None else groups[base].apply(lambda s: int(s.astype(bool).sum())).reindex(cells, fill_value=0)
        rows.append(pd.DataFrame({"indicator": name, "unit": "percent", "numerator": hits, "denominator": den},
                                 index=cells))
    for name, (column, unit) in MEANS.items():
        stats = groups[column].agg(["count", "mean", "std"]).reindex(cells)
        count = stats["count"].fillna(0).astype("int64")
        half = Z95 * stats["std"] / np.sqrt(count.where(count > 1))
        rows.append(pd.DataFrame({"indicator": name, "unit": unit, "numerator": pd.NA, "denominator": count,
                                  "value": stats["mean"].where(count > 0), "ci95_lower": stats["mean"] - half,
                                  "ci95_upper": stats["mean"] + half}, index=cells))
    out = pd.concat(rows).reset_index()
    shares = out["unit"] == "percent"
    with_ci = with_proportion_intervals(out[shares].astype({"numerator": "int64"}))
    out.loc[shares, "value"] = with_ci["rate_pct"]
    for level in ("ci95", "ci998"):
        out.loc[shares, f"{level}_lower"] = with_ci[f"{level}_lower_pct"]
        out.loc[shares, f"{level}_upper"] = with_ci[f"{level}_upper_pct"]
    out["numerator"] = out["numerator"].astype("Int64")
    columns = ["period_end", "la_code", "service_level", "scope", "indicator", "unit", "numerator", "denominator",
               "value", "ci95_lower", "ci95_upper", "ci998_lower", "ci998_upper"]
    for column in columns:
        if column not in out:
            out[column] = np.nan
    return out[columns].sort_values(["period_end", "la_code", "service_level", "scope"], kind="stable") \
        .reset_index(drop=True)


def conversion_rates(episodes: pd.DataFrame, period_ends: list[date]) -> pd.DataFrame:
    """The conversion rows (see the module docstring) from ``conversion_episodes``."""
    episodes = episodes.assign(period_end=pd.to_datetime(episodes["period_end"]).dt.as_unit("us"))
    reached = episodes["assessed"].astype(bool)
    for stage in STAGES[2:]:  # a funnel: a stage counts only after every stage before it
        reached = reached & episodes[STAGE_COLUMN[stage]].astype(bool)
        episodes[STAGE_COLUMN[stage]] = reached
    episodes = _with_partnership(episodes, ["period_end", "person_key", "referral_date"], "la_code")
    areas = sorted(set(episodes["la_code"]) | {"partnership"})
    rows = []
    for end in period_ends:
        stamp = pd.Timestamp(end).as_unit("us")
        window_end = (stamp - pd.DateOffset(months=3)) + pd.offsets.MonthEnd(0)
        window_start = (stamp - pd.DateOffset(months=15)) + pd.offsets.MonthEnd(0) + pd.Timedelta(days=1)
        for area in areas:
            mine = episodes[(episodes["period_end"] == stamp) & (episodes["la_code"] == area)]
            for start, stop in STEPS:
                den = mine if STAGE_COLUMN[start] is None else mine[mine[STAGE_COLUMN[start]]]
                rows.append({"period_end": stamp, "la_code": area, "step": f"{start} to {stop}",
                             "from_stage": start, "to_stage": stop, "referral_window_start": window_start,
                             "referral_window_end": window_end, "numerator": int(den[STAGE_COLUMN[stop]].sum()),
                             "denominator": len(den)})
    out = with_proportion_intervals(pd.DataFrame(rows))
    higher, lower = [], []
    for row in out.itertuples():
        others = out[(out["period_end"] == row.period_end) & (out["step"] == row.step)
                     & ~out["la_code"].isin([row.la_code, "partnership"])]
        if row.la_code == "partnership" or np.isnan(row.ci95_lower_pct):
            higher.append([]), lower.append([])
            continue
        higher.append(sorted(others.loc[others["ci95_upper_pct"] < row.ci95_lower_pct, "la_code"]))
        lower.append(sorted(others.loc[others["ci95_lower_pct"] > row.ci95_upper_pct, "la_code"]))
    out["significantly_higher_than"], out["significantly_lower_than"] = higher, lower
    differs = out.assign(any_=[bool(h or lw) for h, lw in zip(higher, lower)]) \
        .groupby(["period_end", "step"])["any_"].transform("any")
    out["authorities_differ"] = differs.astype(bool)
    return out.drop(columns=["availability"], errors="ignore")
