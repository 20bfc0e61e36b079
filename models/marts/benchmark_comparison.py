"""marts.benchmark_comparison and marts.benchmark_funnel: each partnership authority against England, its region
and its 10 statistical neighbours on DfE's published comparators, and every authority against England.

Inputs are the published tables read by ``sources/ees.py`` (``raw.published_cin_factors``,
``raw.published_cp_duration``, ``raw.published_cp_subsequent``, ``raw.published_rereferrals``: one row per
year, area and measure with numerator, denominator and DfE's marker where a value is suppressed), the ONS
population of children aged 0-17 by authority in the same layout (``raw.published_population``) and DfE's
groupings (``raw.statistical_neighbours``).

Measures. The four published percentages (``unit`` ``%``), and neglect identified at the end of assessment
**per 10,000 children aged 0-17** (``neglect_at_assessment_per_10k``, ``unit`` ``per 10,000``: table C3's
episodes with factor 16A over the ONS mid-year estimate DfE divides by, mid-(Y-1) for reporting year Y: DfE's
2025 rates use mid-2024), the published measure nearest the product's tier 3 (a child in need with neglect
assessed). It needs the population table; without it the measure is left out.

``marts.benchmark_comparison``: one row per authority of the partnership (``raw.la_codes``) and measure, for the
latest year published for that measure:

* the authority's published value with 95 % and 99.8 % intervals (Wilson for a percentage, Byar / exact Poisson
  for a rate, as everywhere in the product);
* England's and its region's value (rounded totals, as DfE publishes them);
* its neighbours' values (in DfE's order of closeness), their median, lowest, highest and quartiles, and the
  authority's rank among itself and the neighbours that have a value (1 = highest) and quartile (1 = the highest
  quarter);
* ``vs_england_95`` / ``vs_england_998``: ``higher`` or ``lower`` when the interval excludes England's value,
  else ``similar`` (neutral words: for detection-type measures higher may mean better identification).
* the product's own equivalent where it computes one (``marts.practice_indicators``: CP plans open 2+ years,
  second or subsequent plans, re-referrals within 12 months, same definitions as DfE's) at 31 March of the
  published year, when the marts hold that quarter end: ``local_*``. Neglect at the end of assessment has no
  equivalent there (the tiers count children, not assessment episodes), so its ``local_*`` are empty.

``marts.benchmark_funnel``: one row per measure and local authority in England (every authority published, the
partnership's own and its neighbours flagged) for the latest year: value, denominator (episodes, plans,
referrals, or children aged 0-17), England's value and the funnel's control limits at that denominator (95 % and
99.8 %: exact Poisson for rates, Wilson score for proportions; :mod:`models.intervals`), and where the authority
falls (``above 99.8 %`` ... ``below 99.8 %``, or ``within``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ingest.write import replace_table
from models.intervals import funnel_limits_proportion, funnel_limits_rate, rate_interval, wilson_interval

PUBLISHED_TABLES = ("published_cin_factors", "published_cp_duration", "published_cp_subsequent",
                    "published_rereferrals")
POPULATION_TABLE = "published_population"
PER_10K = "neglect_at_assessment_per_10k"
MEASURE_LABELS = {
    "neglect_at_assessment": "Neglect (factor 16A) identified at the end of assessment, % of episodes with factors",
    PER_10K: "Neglect (factor 16A) identified at the end of assessment, episodes per 10,000 children aged 0-17",
    "cp_plans_2_years_or_more": "Children on a CP plan at 31 March whose plan had lasted 2 years or more, %",
    "cp_plans_second_or_subsequent": "CP plans starting in the year that were a second or subsequent plan, %",
    "rereferrals_within_12_months": "Referrals within 12 months of a previous referral, %",
}
# the order the report reads them in (the tier-3-like measures first)
MEASURE_ORDER = [PER_10K, "neglect_at_assessment", "cp_plans_second_or_subsequent", "cp_plans_2_years_or_more",
                 "rereferrals_within_12_months"]
LOCAL_INDICATORS = {"cp_plans_2_years_or_more": "cp_plans_2_years_plus",
                    "cp_plans_second_or_subsequent": "cp_second_or_subsequent",
                    "rereferrals_within_12_months": "re_referrals_12_months"}
COLUMNS = ["la_code", "la_name", "measure", "measure_label", "unit", "time_period", "table_id", "source",
           "numerator", "denominator", "population_source", "value", "value_note", "ci95_lower", "ci95_upper",
           "ci998_lower", "ci998_upper", "england_value", "region_code", "region_name", "region_value",
           "neighbours_compared", "neighbour_median", "neighbour_lowest", "neighbour_highest", "neighbour_q1",
           "neighbour_q3", "neighbour_values", "rank_among_neighbours", "ranked_of", "quartile_among_neighbours",
           "vs_england_95", "vs_england_998", "local_period_end", "local_numerator", "local_denominator",
           "local_percent"]
FUNNEL_COLUMNS = ["measure", "measure_label", "unit", "time_period", "table_id", "source", "population_source",
                  "la_code", "la_name", "region_name", "numerator", "denominator", "value", "value_note",
                  "england_value", "lower_998", "lower_95", "upper_95", "upper_998", "funnel_position",
                  "in_partnership", "neighbour_of"]


def _value(frame: pd.DataFrame) -> pd.Series:
    """numerator / denominator as a % or per 10,000 (the row's ``unit``)."""
    den = frame["denominator"].astype("float64")
    scale = np.where(frame["unit"] == "per 10,000", 10_000, 100)
    return (scale * frame["numerator"].astype("float64") / den.where(den > 0)).round(2)


def _intervals(numerator, denominator, unit: str, confidence: float) -> tuple[float, float]:
    if unit == "per 10,000":
        _, lower, upper, _ = rate_interval(numerator, denominator, per=10_000, confidence=confidence)
        return lower, upper
    lower, upper = wilson_interval(numerator, denominator, confidence)
    return 100 * lower, 100 * upper


def _compare(lower: float, upper: float, benchmark: float) -> str | None:
    if any(pd.isna(v) for v in (lower, upper, benchmark)):
        return None
    return "higher" if lower > benchmark else "lower" if upper < benchmark else "similar"


def per_10k_rows(c3: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    """Table C3's neglect episodes over the ONS population of children aged 0-17 DfE divides by: mid-(Y-1) for
    reporting year Y, matched by area (England, region code, LA code). Rows without a population are dropped."""
    pop = population[population["age_group"].fillna("").str.contains("0 to 17", case=False)
                     | population["age_group"].isna()].copy()
    pop["time_period"] = pd.to_numeric(pop["time_period"], errors="coerce") + 1  # mid-2024 -> reporting year 2025
    pop["key"] = np.where(pop["geographic_level"] == "National", "E",
                          np.where(pop["geographic_level"] == "Regional", pop["region_code"].astype("string"),
                                   pop["la_code"].astype("string")))
    c3 = c3.drop(columns=["population_source"], errors="ignore").copy()
    c3["key"] = np.where(c3["geographic_level"] == "National", "E",
                         np.where(c3["geographic_level"] == "Regional", c3["region_code"].astype("string"),
                                  c3["la_code"].astype("string")))
    merged = c3.merge(pop[["time_period", "geographic_level", "key", "population", "population_note", "source"]]
                      .rename(columns={"source": "population_source"}),
                      on=["time_period", "geographic_level", "key"], how="inner")
    merged["denominator"] = pd.to_numeric(merged["population"], errors="coerce")
    merged["denominator_note"] = merged["population_note"]
    merged["measure"] = PER_10K
    return merged.drop(columns=["key", "population", "population_note"])


def _one(row, latest: pd.DataFrame, neighbours: pd.DataFrame) -> dict:
    by_la = latest[latest["geographic_level"] == "Local authority"].set_index("la_code")
    england = latest[latest["geographic_level"] == "National"]
    region = latest[(latest["geographic_level"] == "Regional") & (latest["region_code"] == row.region_code)]
    near = neighbours.loc[neighbours["la_code"] == row.la_code].sort_values("neighbour_rank")["neighbour_la_code"]
    values = by_la["value"].reindex(near.tolist())
    compared = values.dropna()
    known = pd.notna(row.value)
    lo95, hi95 = _intervals(row.numerator, row.denominator, row.unit, 0.95) if known else (np.nan, np.nan)
    lo998, hi998 = _intervals(row.numerator, row.denominator, row.unit, 0.998) if known else (np.nan, np.nan)
    eng = england["value"].iloc[0] if len(england) else np.nan
    out = {"la_code": row.la_code, "la_name": row.la_name, "measure": row.measure,
           "measure_label": MEASURE_LABELS.get(row.measure, row.measure), "unit": row.unit,
           "time_period": int(row.time_period), "table_id": row.table_id, "source": row.source,
           "numerator": row.numerator, "denominator": row.denominator,
           "population_source": getattr(row, "population_source", None), "value": row.value,
           "value_note": row.numerator_note if pd.notna(row.numerator_note) else row.denominator_note,
           "ci95_lower": lo95, "ci95_upper": hi95, "ci998_lower": lo998, "ci998_upper": hi998,
           "england_value": eng, "region_code": row.region_code,
           "region_name": region["region_name"].iloc[0] if len(region) else None,
           "region_value": region["value"].iloc[0] if len(region) else np.nan,
           "neighbours_compared": len(compared),
           "neighbour_median": float(compared.median()) if len(compared) else np.nan,
           "neighbour_lowest": float(compared.min()) if len(compared) else np.nan,
           "neighbour_highest": float(compared.max()) if len(compared) else np.nan,
           "neighbour_q1": float(compared.quantile(0.25)) if len(compared) else np.nan,
           "neighbour_q3": float(compared.quantile(0.75)) if len(compared) else np.nan,
           "neighbour_values": "; ".join(f"{c}: {'' if pd.isna(v) else f'{v:g}'}" for c, v in values.items()),
           "vs_england_95": _compare(lo95, hi95, eng), "vs_england_998": _compare(lo998, hi998, eng)}
    if known and len(compared):
        pool = pd.concat([compared, pd.Series([row.value])], ignore_index=True)
        rank = int((pool > row.value).sum()) + 1
        out.update(rank_among_neighbours=rank, ranked_of=len(pool),
                   quartile_among_neighbours=int(np.ceil(4 * rank / len(pool))))
    return out


def _local(out: dict, local: pd.DataFrame | None) -> dict:
    """The product's own figure for the row's authority, measure and 31 March of its year (if any)."""
    indicator = LOCAL_INDICATORS.get(out["measure"])
    if local is None or indicator is None or not len(local):
        return out
    when = pd.Timestamp(f"{out['time_period']}-03-31")
    hit = local[(local["la_code"] == out["la_code"]) & (local["indicator"] == indicator)
                & (pd.to_datetime(local["period_end"]) == when)]
    if len(hit):
        h = hit.iloc[0]
        out.update(local_period_end=when.date(), local_numerator=h["numerator"], local_denominator=h["denominator"],
                   local_percent=h["rate_pct"])
    return out


def _prepared(published: pd.DataFrame, population: pd.DataFrame | None) -> pd.DataFrame:
    """The published rows with the per-10,000 measure added (when there is a population), unit and value."""
    published = published.assign(population_source=pd.Series(pd.NA, index=published.index, dtype="object"))
    if population is not None and len(population):
        c3 = published[published["measure"] == "neglect_at_assessment"]
        published = pd.concat([published, per_10k_rows(c3, population)], ignore_index=True)
    published["unit"] = np.where(published["measure"] == PER_10K, "per 10,000", "%")
    return published.assign(value=_value(published))


def _latest(part: pd.DataFrame) -> pd.DataFrame:
    return part[part["time_period"] == part.loc[part["geographic_level"] == "Local authority", "time_period"].max()]


def _measures(published: pd.DataFrame) -> list[str]:
    present = set(published["measure"])
    return [m for m in MEASURE_ORDER if m in present] + sorted(present - set(MEASURE_ORDER))


def benchmark_comparison(published: pd.DataFrame, neighbours: pd.DataFrame, authorities: list[str],
                         local: pd.DataFrame | None = None, population: pd.DataFrame | None = None) -> pd.DataFrame:
    """The mart from the published rows (all tables, :data:`sources.ees.OUTPUT_COLUMNS`), the neighbour
    rows, the partnership's LA codes, (optionally) ``marts.practice_indicators`` and the population by authority
    (:data:`sources.ees.POPULATION_COLUMNS`); see the module."""
    rows = []
    published = _prepared(published, population)
    for measure in _measures(published):
        latest = _latest(published[published["measure"] == measure])
        own = latest[(latest["geographic_level"] == "Local authority") & latest["la_code"].isin(authorities)]
        for row in own.sort_values("la_code").itertuples():
            rows.append(_local(_one(row, latest, neighbours), local))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for c in ("rank_among_neighbours", "ranked_of", "quartile_among_neighbours", "neighbours_compared",
              "local_numerator", "local_denominator"):
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("Int64")
    frame["local_percent"] = pd.to_numeric(frame["local_percent"], errors="coerce").astype("Float64")
    frame["local_period_end"] = pd.to_datetime(frame["local_period_end"]).astype("datetime64[us]")
    return frame


def _position(value, lower95, upper95, lower998, upper998) -> np.ndarray:
    value = np.asarray(value, dtype="float64")
    out = np.where(value > upper998, "above 99.8 %", np.where(value > upper95, "above 95 %",
                   np.where(value < lower998, "below 99.8 %", np.where(value < lower95, "below 95 %", "within"))))
    out = out.astype(object)
    out[np.isnan(value) | np.isnan(np.asarray(upper95, dtype="float64"))] = None
    return out


def benchmark_funnel(published: pd.DataFrame, neighbours: pd.DataFrame, authorities: list[str],
                     population: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every authority of the latest year of each measure against England's value, with the funnel's control
    limits at its denominator (see the module)."""
    published = _prepared(published, population)
    near = neighbours[neighbours["la_code"].isin(authorities)].groupby("neighbour_la_code")["la_code"] \
        .agg(lambda s: ", ".join(sorted(s)))
    parts = []
    for measure in _measures(published):
        latest = _latest(published[published["measure"] == measure])
        england = latest.loc[latest["geographic_level"] == "National", "value"]
        eng = float(england.iloc[0]) if len(england) else np.nan
        las = latest[latest["geographic_level"] == "Local authority"].sort_values("la_code").copy()
        den = las["denominator"].astype("float64").to_numpy()
        if (las["unit"] == "per 10,000").all():
            lo95, hi95 = funnel_limits_rate(eng, den, confidence=0.95)
            lo998, hi998 = funnel_limits_rate(eng, den, confidence=0.998)
        else:
            lo95, hi95 = (100 * np.asarray(b) for b in funnel_limits_proportion(eng / 100, den, 0.95))
            lo998, hi998 = (100 * np.asarray(b) for b in funnel_limits_proportion(eng / 100, den, 0.998))
        parts.append(pd.DataFrame({
            "measure": measure, "measure_label": MEASURE_LABELS.get(measure, measure), "unit": las["unit"],
            "time_period": las["time_period"].astype("Int64"), "table_id": las["table_id"], "source": las["source"],
            "population_source": las["population_source"], "la_code": las["la_code"], "la_name": las["la_name"],
            "region_name": las["region_name"], "numerator": las["numerator"], "denominator": las["denominator"],
            "value": las["value"],
            "value_note": las["numerator_note"].where(las["numerator_note"].notna(), las["denominator_note"]),
            "england_value": eng, "lower_998": lo998, "lower_95": lo95, "upper_95": hi95, "upper_998": hi998,
            "funnel_position": _position(las["value"], lo95, hi95, lo998, hi998),
            "in_partnership": las["la_code"].isin(authorities).to_numpy(),
            "neighbour_of": las["la_code"].map(near).astype("object")}))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=FUNNEL_COLUMNS)
    return frame[FUNNEL_COLUMNS]


def _present(conn, schema: str) -> set[str]:
    return {r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
                                       [schema]).fetchall()}


def build_benchmark_comparison(conn) -> pd.DataFrame:
    """Read the raw tables, write marts.benchmark_comparison and marts.benchmark_funnel; returns the first."""
    raw = _present(conn, "raw")
    parts = [conn.sql(f"SELECT * FROM raw.{t}").df() for t in PUBLISHED_TABLES if t in raw]
    published = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else None
    neighbours = conn.sql("SELECT * FROM raw.statistical_neighbours").df()
    authorities = [r[0] for r in conn.execute("SELECT DISTINCT la_code FROM raw.la_codes").fetchall()]
    population = conn.sql(f"SELECT * FROM raw.{POPULATION_TABLE}").df() if POPULATION_TABLE in raw else None
    if population is not None:
        population["population"] = pd.to_numeric(population["population"], errors="coerce")
        population = population if len(population) else None
    if published is None:
        frame = pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})
        funnel = pd.DataFrame({c: pd.Series(dtype="object") for c in FUNNEL_COLUMNS})
    else:
        for c in ("numerator", "denominator"):
            published[c] = pd.to_numeric(published[c], errors="coerce")
        published["time_period"] = pd.to_numeric(published["time_period"], errors="coerce")
        local = conn.sql("SELECT * FROM marts.practice_indicators").df() \
            if "practice_indicators" in _present(conn, "marts") else None
        frame = benchmark_comparison(published, neighbours, authorities, local, population)
        funnel = benchmark_funnel(published, neighbours, authorities, population)
    replace_table(conn, "marts.benchmark_comparison", frame)
    replace_table(conn, "marts.benchmark_funnel", funnel)
    return frame
