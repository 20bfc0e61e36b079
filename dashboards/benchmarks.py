"""The report's comparisons with England, the region and the statistical neighbours (issue 20).

Published tables (built in :func:`dashboards.tables.build_publication`):

* ``benchmarks``: for each authority, every measure with a published comparator (``marts.benchmark_comparison``:
  DfE's *Children in need* figures for the authority, England, its region and its 10 statistical neighbours), and
  the product's own tier 1 rate against the England figure derived from DfE's 2020 figures (the only tier with an
  England equivalent: CP plans by initial category per authority are not in the open copy of DfE's tables). Every
  row names its source table and year (``source_table``). The values are published figures (DfE's, with DfE's own
  suppression: ``c``), except the product's own: its tier 1 rate comes from the published (protected) prevalence
  table, blank where the count is suppressed, and ``local_percent`` (the product's own figure for the same measure at
  31 March of DfE's year) is shown only where both its counts are published in the packs (no new count is shown).
* ``benchmark_funnel``: every authority in England (the partnership's own flagged) on each measure, with England's
  value and the funnel's 95 % and 99.8 % control limits at its denominator (``marts.benchmark_funnel``): all
  published figures.

Charts: the spine chart of an authority (:func:`spine_chart`: each measure on its own scale centred on England,
the neighbours' range and middle half as bars, their median and the region as marks, the authority's value
coloured by the significance of its difference from England at 95 % and 99.8 %, neutral words) and the funnel
plot (:func:`funnel_figure`).
"""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from models.marts.prevalence import compare, read_benchmarks

from . import figures as F
from .html_parts import ChartData, esc, html_table
from .publication import practice_cell

FUNNEL_MEASURE = "neglect_at_assessment_per_10k"  # the tier-3-like measure
SHORT = {"neglect_at_assessment_per_10k": "Neglect at assessment, per 10,000",
         "neglect_at_assessment": "Neglect at assessment, % of episodes",
         "cp_plans_second_or_subsequent": "Second or subsequent CP plans, %",
         "cp_plans_2_years_or_more": "CP plans lasting 2 years or more, %",
         "rereferrals_within_12_months": "Re-referrals within 12 months, %",
         "tier_1_point": "CP plan: neglect (tier 1), per 10,000"}
LOCAL_INDICATORS = {"cp_plans_2_years_or_more": "cp_plans_2_years_plus",
                    "cp_plans_second_or_subsequent": "cp_second_or_subsequent",
                    "rereferrals_within_12_months": "re_referrals_12_months"}
PUBLISHED_COLUMNS = ["la_code", "la_name", "measure", "indicator", "measure_label", "unit", "time_period", "table_id",
                     "source", "population_source", "source_table", "dfe_numerator", "dfe_denominator", "value",
                     "value_note", "ci95_lower", "ci95_upper", "ci998_lower", "ci998_upper", "england_value",
                     "england_note", "region_name", "region_value", "neighbours_compared", "neighbour_median",
                     "neighbour_lowest", "neighbour_highest", "neighbour_q1", "neighbour_q3", "neighbour_range",
                     "rank_among_neighbours", "ranked_of", "vs_england_95", "vs_england_998", "local_period_end",
                     "local_percent"]


def _exists(conn, table: str) -> bool:
    schema, name = table.split(".")
    return bool(conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                             [schema, name]).fetchall()[0][0])


def _fmt(value, unit: str) -> str:
    if value is None or pd.isna(value):
        return ""
    return f"{value:,.1f}" + (" %" if unit == "%" else "")


def _whole(frame: pd.DataFrame) -> pd.DataFrame:
    """DfE's counts as whole numbers (empty where DfE suppressed them)."""
    for column in ("dfe_numerator", "dfe_denominator"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").round().astype("Int64")
    return frame


def source_table(frame: pd.DataFrame) -> pd.Series:
    """'DfE CIN 2025, table C3' (and '; ONS mid-2024 population' for a rate): source table and year, short."""
    year = frame["time_period"].astype("Int64")
    text = "DfE CIN " + year.astype("string") + ", table " + frame["table_id"].astype("string")
    rate = "; ONS mid-" + (year - 1).astype("string") + " population"
    return text + pd.Series(np.where(frame["unit"] == "per 10,000", rate, ""), index=frame.index)


def published_comparators(conn: duckdb.DuckDBPyConnection, counts) -> pd.DataFrame:
    """The DfE rows of ``benchmarks`` (see the module): ``counts`` says which of the product's own counts the packs
    publish (``local_percent`` is shown only where both are)."""
    if not _exists(conn, "marts.benchmark_comparison"):
        return pd.DataFrame(columns=PUBLISHED_COLUMNS)
    frame = conn.execute("SELECT * FROM marts.benchmark_comparison ORDER BY la_code").df()
    if frame.empty:
        return pd.DataFrame(columns=PUBLISHED_COLUMNS)
    frame = _whole(frame.rename(columns={"numerator": "dfe_numerator", "denominator": "dfe_denominator"}))
    frame["indicator"] = frame["measure"].map(SHORT).fillna(frame["measure_label"])
    frame["source_table"] = source_table(frame)
    frame["england_note"] = "DfE, rounded to 10"
    frame["neighbour_range"] = [f"{_fmt(lo, u)} to {_fmt(hi, u)}" if pd.notna(lo) else ""
                                for lo, hi, u in zip(frame["neighbour_lowest"], frame["neighbour_highest"], frame["unit"])]
    ok = []
    for row in frame.itertuples():
        indicator = LOCAL_INDICATORS.get(row.measure)
        if indicator is None or pd.isna(row.local_period_end):
            ok.append(False)
            continue
        cells = [practice_cell(pd.Timestamp(row.local_period_end).date(), indicator, row.la_code, part)
                 for part in ("numerator", "denominator")]
        ok.append(all(counts.published(c) for c in cells))
    frame["local_percent"] = frame["local_percent"].astype("float64").where(np.asarray(ok, dtype=bool))
    frame["local_period_end"] = pd.to_datetime(frame["local_period_end"]).dt.date.map(
        lambda d: None if pd.isna(d) else d.isoformat())
    return frame[PUBLISHED_COLUMNS]


def tier_one_rows(prevalence: pd.DataFrame, quarter_end) -> pd.DataFrame:
    """The product's tier 1 rate at the quarter end of each authority (from the published prevalence: blank when its
    count is suppressed) against the England figure derived from DfE's figures (``benchmarks.csv``)."""
    bench = read_benchmarks()
    england = bench[(bench["benchmark"] == "england")]
    note = england.iloc[0] if len(england) else None
    rows = prevalence[(prevalence["breakdown"] == "all") & (prevalence["measure"] == "point")
                      & (prevalence["tier_group"] == "Tier 1") & (prevalence["la_code"] != "partnership")]
    out = pd.DataFrame({
        "la_code": rows["la_code"], "la_name": rows["la_name"], "measure": "tier_1_point",
        "indicator": SHORT["tier_1_point"],
        "measure_label": "Children on a CP plan under neglect (or multiple categories) at the quarter end, per 10,000 "
                         "children aged 0-17 (this product's tier 1)",
        "unit": "per 10,000", "time_period": pd.Timestamp(quarter_end).year, "table_id": "tier 1",
        "source": "The partnership's extracts (board pack, quarter ending " + f"{pd.Timestamp(quarter_end):%d %B %Y})",
        "population_source": "ONS mid-year estimates (the partnership's population files)",
        "source_table": (f"This product, at {pd.Timestamp(quarter_end):%d %b %Y}; England: DfE CIN {int(note['year'])}"
                         if note is not None else f"This product, at {pd.Timestamp(quarter_end):%d %b %Y}"),
        "value": rows["rate_per_10k"].astype("float64"), "value_note": np.where(rows["children_suppressed"],
                                                                                 "c: suppressed", None),
        "ci95_lower": rows["ci95_lower"], "ci95_upper": rows["ci95_upper"], "ci998_lower": rows["ci998_lower"],
        "ci998_upper": rows["ci998_upper"], "england_value": rows["england_rate_per_10k"],
        "england_note": "derived" if note is None else f"derived, {int(note['year'])}: {note['note']}",
        "vs_england_95": rows["vs_england"],
        "vs_england_998": compare(rows["ci998_lower"].astype("float64"), rows["ci998_upper"].astype("float64"),
                                  rows["england_rate_per_10k"].astype("float64"))})
    for column in PUBLISHED_COLUMNS:
        if column not in out:
            out[column] = None
    return out[PUBLISHED_COLUMNS]


def published_benchmarks(conn: duckdb.DuckDBPyConnection, quarter_end, counts, prevalence: pd.DataFrame) -> pd.DataFrame:
    out = pd.concat([published_comparators(conn, counts), tier_one_rows(prevalence, quarter_end)], ignore_index=True)
    out = _whole(out)  # numbers stay numbers after the concatenation (the workbook formats them)
    for column in ("rank_among_neighbours", "ranked_of", "neighbours_compared", "time_period"):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype("Int64")
    for column in ("value", "ci95_lower", "ci95_upper", "ci998_lower", "ci998_upper", "england_value", "region_value",
                   "neighbour_median", "neighbour_lowest", "neighbour_highest", "neighbour_q1", "neighbour_q3",
                   "local_percent"):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64")
    return out.sort_values(["la_code"], kind="stable", ignore_index=True)


def published_funnel(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    if not _exists(conn, "marts.benchmark_funnel"):
        return pd.DataFrame()
    frame = conn.execute("SELECT * FROM marts.benchmark_funnel ORDER BY measure, la_code").df()
    frame = _whole(frame.rename(columns={"numerator": "dfe_numerator", "denominator": "dfe_denominator"}))
    frame["source_table"] = source_table(frame)
    frame["neighbour_of"] = frame["neighbour_of"].astype("object").where(frame["neighbour_of"].notna(), "")
    return frame


# ---------------------------------------------------------------------------------------------
# Charts and their data
# ---------------------------------------------------------------------------------------------

SIGNIFICANCE = {("higher", "higher"): ("higher (99.8 %)", F.BLUE), ("higher", "similar"): ("higher (95 %)", "#5b8fc7"),
                ("lower", "lower"): ("lower (99.8 %)", "#bcd4ec"), ("lower", "similar"): ("lower (95 %)", "#d9e6f4"),
                ("similar", "similar"): ("similar", "#ffffff")}


def benchmark_rows(pub, la_code: str) -> pd.DataFrame:
    table = pub.tables.get("benchmarks", pd.DataFrame(columns=PUBLISHED_COLUMNS))
    rows = table[table["la_code"] == la_code].copy()
    order = {m: i for i, m in enumerate(SHORT)}
    rows["_order"] = rows["measure"].map(order).fillna(99)
    rows = rows.sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)
    rows["significance"] = [SIGNIFICANCE.get((a, b), ("not compared", None))[0] if isinstance(a, str) else "not compared"
                            for a, b in zip(rows["vs_england_95"], rows["vs_england_998"])]
    rows["year"] = rows["time_period"].astype("Int64")
    return rows


def spine_chart(pub, la_code: str) -> go.Figure:
    """Fingertips-style spine chart: one line per measure, England at the centre, each measure on its own scale
    (the widest distance from England of the authority, its region and its neighbours); grey bars: the neighbours'
    lowest to highest (light) and middle half (dark); black tick: their median; open diamond: the region; circle:
    the authority, shaded by its difference from England (neutral: higher may mean better identification)."""
    rows = benchmark_rows(pub, la_code)
    figure = go.Figure()
    labels = [f"{r.indicator} ({r.year})" for r in rows.itertuples()]
    eng = rows["england_value"].astype("float64")
    cols = ["value", "region_value", "neighbour_lowest", "neighbour_highest", "ci95_lower", "ci95_upper"]
    spread = pd.concat([(rows[c].astype("float64") - eng).abs() for c in cols], axis=1).max(axis=1)
    spread = spread.where(spread > 0, 1.0).fillna(1.0) * 1.05
    pos = lambda c: [None if pd.isna(v) else float(v)  # noqa: E731
                     for v in ((rows[c].astype("float64") - eng) / spread)]
    for lo, hi, colour, name in (("neighbour_lowest", "neighbour_highest", "#dcdcdc", "Neighbours: lowest to highest"),
                                 ("neighbour_q1", "neighbour_q3", "#a8a8a8", "Neighbours: middle half")):
        left, right = pos(lo), pos(hi)
        width = [None if a is None or b is None else b - a for a, b in zip(left, right)]
        figure.add_trace(go.Bar(y=labels, x=width, base=left, orientation="h", marker_color=colour, name=name,
                                width=0.5, hoverinfo="skip", showlegend=any(w is not None for w in width)))
    units = rows["unit"].tolist()
    texts = lambda c: [_fmt(v, u) for v, u in zip(rows[c], units)]  # noqa: E731
    figure.add_trace(go.Scatter(y=labels, x=pos("neighbour_median"), mode="markers", name="Neighbours' median",
                                marker={"symbol": "line-ns", "size": 18, "line": {"width": 3, "color": F.DARK}},
                                text=texts("neighbour_median"),
                                hovertemplate="%{y}: neighbours' median %{text}<extra></extra>"))
    figure.add_trace(go.Scatter(y=labels, x=pos("region_value"), mode="markers", name="Region",
                                marker={"symbol": "diamond-open", "size": 11, "color": F.DARK, "line": {"width": 2}},
                                text=[f"{n}: {t}" for n, t in zip(rows["region_name"].fillna(""), texts("region_value"))],
                                hovertemplate="%{y}: %{text}<extra></extra>"))
    colours = [SIGNIFICANCE.get((a, b), ("", "#ffffff"))[1] for a, b in zip(rows["vs_england_95"], rows["vs_england_998"])]
    hover = [f"{_fmt(v, u)} (95 %: {_fmt(lo, u)} to {_fmt(hi, u)}); England {_fmt(e, u)}; {s}; {src}"
             for v, u, lo, hi, e, s, src in zip(rows["value"], units, rows["ci95_lower"], rows["ci95_upper"], eng,
                                                rows["significance"], rows["source_table"])]
    figure.add_trace(go.Scatter(
        y=labels, x=pos("value"), mode="markers+text", name=pub.area_name(la_code),
        marker={"size": 15, "color": colours, "line": {"color": F.DARK, "width": 1.5}},
        text=texts("value"), textposition="top center", textfont={"size": 10}, hovertext=hover, hoverinfo="text"))
    missing = [(label, note) for label, value, note in zip(labels, rows["value"], rows["value_note"]) if pd.isna(value)]
    for label, note in missing:  # a value DfE did not publish: said, never drawn as England's
        figure.add_annotation(x=0.03, y=label, text=f"{str(note).split(':')[0] if isinstance(note, str) else 'x'}: not "
                              "published", showarrow=False, xanchor="left", font={"size": 10, "color": F.DARK})
    figure.add_vline(x=0, line_color=F.ORANGE, line_width=2, annotation_text="England", annotation_position="top",
                     annotation_font_size=10)
    for x, text, anchor in ((-1.08, "lower than England", "left"), (1.08, "higher than England", "right")):
        figure.add_annotation(x=x, y=1.0, yref="paper", yanchor="bottom", text=text, showarrow=False, xanchor=anchor,
                              font={"size": 10, "color": "#555"})
    figure.update_layout(**F.LAYOUT, barmode="overlay", height=90 + 48 * max(len(rows), 1),
                         title="Against England (centre line), the region and the 10 statistical neighbours; circle: "
                               "dark blue higher, light lower, white similar",
                         xaxis=dict(range=[-1.1, 1.1], showticklabels=False, zeroline=False, showgrid=False,
                                    title="each measure on its own scale, England in the middle (values in the table)"),
                         yaxis=dict(autorange="reversed", tickfont={"size": 11}),
                         legend=dict(orientation="h", y=-0.22, font={"size": 10}))
    figure.update_layout(title_font_size=13)
    return figure


SPINE_COLUMNS = {"indicator": "indicator", "source_table": "source and year", "value": "value",
                 "ci95_lower": "95 % from", "ci95_upper": "95 % to", "england_value": "England",
                 "region_value": "region", "neighbour_median": "neighbours' median",
                 "neighbour_range": "neighbours' range", "rank_among_neighbours": "rank", "significance": "vs England"}


def benchmark_data(pub, la_code: str) -> ChartData:
    rows = benchmark_rows(pub, la_code)
    return ChartData("benchmarks", rows, SPINE_COLUMNS,
                     text=("indicator", "source_table", "neighbour_range", "significance"),
                     digits={"rank_among_neighbours": 0},
                     extra=["measure", "unit", "time_period", "table_id", "source", "population_source", "dfe_numerator",
                            "dfe_denominator", "value_note", "ci998_lower", "ci998_upper", "england_note", "region_name",
                            "neighbours_compared", "neighbour_lowest", "neighbour_highest", "neighbour_q1",
                            "neighbour_q3", "ranked_of", "vs_england_95", "vs_england_998", "local_period_end",
                            "local_percent"])


def benchmark_table(pub, la_code: str) -> str:
    """The printed table of the spine chart: one line per measure (values with their unit)."""
    rows = benchmark_rows(pub, la_code)
    u = rows["unit"].tolist()
    show = lambda c: [_fmt(v, x) for v, x in zip(rows[c], u)]  # noqa: E731
    rows = rows.assign(
        shown=[f"{v} ({lo} to {hi})" if v and lo else v or (str(n).split(":")[0] if isinstance(n, str) else "x")
               for v, lo, hi, n in zip(show("value"), show("ci95_lower"), show("ci95_upper"), rows["value_note"])],
        england=[f"{e} (derived)" if isinstance(n, str) and n.startswith("derived") else e
                 for e, n in zip(show("england_value"), rows["england_note"])],
        region=show("region_value"),
        neighbours=[f"{m} ({r})" if m else "" for m, r in zip(show("neighbour_median"), rows["neighbour_range"])],
        rank=[f"{int(r)} of {int(o)}" if pd.notna(r) else "" for r, o in zip(rows["rank_among_neighbours"],
                                                                             rows["ranked_of"])])
    return html_table(rows, {"indicator": "indicator", "source_table": "source and year", "shown": "value (95 %)",
                             "england": "England", "region": "region", "neighbours": "neighbours: median (range)",
                             "rank": "rank", "significance": "vs England"},
                      text=("indicator", "source_table", "shown", "england", "region", "neighbours", "rank",
                            "significance"), css="benchmarks")


def benchmarks_html(pub, la_code: str, chart) -> str:
    """Section 6 of an authority: the spine chart (screen and PNG) and its table (printed)."""
    rows = benchmark_rows(pub, la_code)
    if rows.empty:
        return "<p>No published comparator is available (no DfE file was read).</p>"
    key = f"{la_code}_benchmarks"
    local = rows[rows["local_percent"].notna()]
    ours = ("; ".join(f"{r.indicator.rstrip(', %')}: {r.local_percent:.1f} % at 31 March {r.year} by this product's "
                      "count" for r in local.itertuples()) if len(local) else "")
    return "\n".join([
        "<div class='screen-only'>", chart(key, spine_chart(pub, la_code), benchmark_data(pub, la_code)), "</div>",
        benchmark_table(pub, la_code),
        "<p class='note'>Values are DfE's published figures for the authority, as for England, the region and the 10 "
        "statistical neighbours (c: suppressed by DfE). Higher or lower: the 95 % interval excludes England's value "
        "('99.8 %': the 99.8 % one too); neutral words. England's tier 1 figure is derived: see Methods."
        + (f" {esc(ours)}." if ours else "") + "</p>"])


def funnel_rows(pub, measure: str = FUNNEL_MEASURE) -> pd.DataFrame:
    table = pub.tables.get("benchmark_funnel", pd.DataFrame())
    if table.empty:
        return table
    return table[table["measure"] == measure].sort_values("dfe_denominator", kind="stable").reset_index(drop=True)


def funnel_figure(pub, measure: str = FUNNEL_MEASURE) -> go.Figure:
    """Every authority's value against its denominator, England's value and the 95 % and 99.8 % control limits;
    the partnership's authorities highlighted and labelled."""
    from models.intervals import funnel_limits_proportion, funnel_limits_rate

    rows = funnel_rows(pub, measure)
    figure = go.Figure()
    if rows.empty:
        return figure
    unit = rows["unit"].iloc[0]
    eng = float(rows["england_value"].iloc[0])
    den = rows["dfe_denominator"].astype("float64")
    grid = np.geomspace(max(den.min() * 0.8, 1), den.max() * 1.2, 200)
    for confidence, dash, name in ((0.998, "dash", "99.8 % limits"), (0.95, "dot", "95 % limits")):
        if unit == "per 10,000":
            lower, upper = funnel_limits_rate(eng, grid, confidence=confidence)
        else:
            lower, upper = (100 * np.asarray(b) for b in funnel_limits_proportion(eng / 100, grid, confidence))
        for bound, show in ((upper, True), (lower, False)):
            figure.add_trace(go.Scatter(x=grid.tolist(), y=np.asarray(bound).tolist(), mode="lines",
                                        line={"color": F.GREY, "dash": dash, "width": 1.5},
                                        name=name, showlegend=show, hoverinfo="skip", legendgroup=name))
    figure.add_hline(y=eng, line_color=F.ORANGE, line_width=2, annotation_text=f"England {_fmt(eng, unit)}",
                     annotation_position="top left", annotation_font_size=10)
    others = rows[~rows["in_partnership"].astype(bool)]
    def hover(r):  # row by row: an empty frame (no authority of ours in the published file) gives an empty list
        return [f"{name}: {_fmt(value, unit)} ({position if isinstance(position, str) else 'not published'})"
                for name, value, position in zip(r["la_name"], r["value"], r["funnel_position"])]
    figure.add_trace(go.Scatter(x=others["dfe_denominator"].tolist(), y=others["value"].tolist(), mode="markers",
                                name="Other authorities",
                                marker={"size": 6, "color": "#9fb4c8", "line": {"width": 0.5, "color": "#5f7387"}},
                                hovertext=hover(others), hoverinfo="text"))
    ours = rows[rows["in_partnership"].astype(bool)]
    figure.add_trace(go.Scatter(x=ours["dfe_denominator"].tolist(), y=ours["value"].tolist(), mode="markers+text",
                                name="This partnership",
                                marker={"size": 13, "color": F.BLUE, "symbol": "diamond",
                                        "line": {"width": 1.5, "color": F.DARK}},
                                text=ours["la_name"], textposition="middle right", textfont={"size": 11, "color": F.DARK},
                                hovertext=hover(ours), hoverinfo="text"))
    axis = "children aged 0-17 (log scale)" if unit == "per 10,000" else "denominator (log scale)"
    title = SHORT.get(measure, measure)
    figure.update_layout(**F.LAYOUT, height=380, title=f"Funnel plot: {title}, every authority in England, "
                                                       f"{int(rows['time_period'].iloc[0])}",
                         xaxis=dict(type="log", title=axis), yaxis=dict(title=unit),
                         legend=dict(orientation="h", y=-0.2, font={"size": 10}))
    figure.update_layout(title_font_size=13)
    return figure


def funnel_data(pub, measure: str = FUNNEL_MEASURE) -> ChartData:
    rows = funnel_rows(pub, measure)
    rows = rows.assign(partnership=np.where(rows["in_partnership"].astype(bool), "yes", "")) if len(rows) else rows
    return ChartData("benchmark_funnel", rows, {"la_name": "authority", "partnership": "this partnership",
                                                "dfe_numerator": "episodes with neglect",
                                                "dfe_denominator": "children aged 0-17", "value": "per 10,000",
                                                "lower_998": "99.8 % from", "upper_998": "99.8 % to",
                                                "funnel_position": "against England"},
                     text=("la_name", "partnership", "funnel_position"), digits={"dfe_numerator": 0, "dfe_denominator": 0},
                     extra=["la_code", "region_name", "measure", "unit", "time_period", "source_table", "source",
                            "population_source", "value_note", "england_value", "lower_95", "upper_95", "neighbour_of"])


def funnel_html(pub, chart) -> str:
    """The funnel plot for the partnership's section, with what it shows in words."""
    rows = funnel_rows(pub)
    if rows.empty:
        return ""
    ours = rows[rows["in_partnership"].astype(bool)]
    words = "; ".join(f"{r.la_name} {_fmt(r.value, r.unit)} ({r.funnel_position or 'not published'})"
                      for r in ours.itertuples())
    outside = int(rows["funnel_position"].fillna("").str.contains("99.8").sum())
    return "\n".join([
        "<h3>Neglect at assessment: every authority in England</h3>",
        f"<p class='note keep-with-next'>Episodes with neglect (factor 16A) identified at the end of assessment per "
        f"10,000 children aged 0-17 ({esc(rows['source_table'].iloc[0])}), the published figure nearest this product's "
        f"tier 3.{' ' + esc(words) + '.' if words else ''} Authorities outside the dashed lines differ from England by more than chance at 99.8 % "
        f"({outside} of {len(rows)}: wide variation between authorities is usual for recording measures).</p>",
        "<div class='funnel'>", chart("partnership_funnel", funnel_figure(pub), funnel_data(pub)), "</div>"])


# the Methods section's rows for the benchmarks (dashboards/tables.py methods_table)
BENCHMARK_METHODS = (
    ("Benchmarks", "Published comparators", "DfE Children in need tables C1, C3, D3 and D5 (latest year published) "
                                            "for the authority, England, its region and its 10 statistical neighbours "
                                            "(DfE's April 2021 groupings), with the neighbours' median, range and the "
                                            "authority's rank; neglect at assessment per 10,000 divides table C3 by "
                                            "the ONS estimate DfE divides by (mid-2024 for 2025). Higher or lower at "
                                            "95 % and 99.8 % against England."),
    ("Benchmarks", "Tier 1 against England", "DfE publishes CP plans by initial category per authority (table D4) "
                                             "but the open copy the shipped files come from does not hold it, so "
                                             "England's tier 1 figure is derived: the 2020 CP rate (43.7 per 10,000) "
                                             "x the share of plans with initial category neglect (50.5 %). It leaves "
                                             "out multiple-category plans and plans whose latest category is neglect, "
                                             "which tier 1 counts."),
    ("Benchmarks", "Funnel plot", "Every authority's value against its denominator, with England's value and "
                                  "control limits at 95 % and 99.8 % (exact Poisson for rates, Wilson score for "
                                  "proportions; PHE technical guide to funnel plots): a point outside the 99.8 % "
                                  "limits differs from England by more than chance. Recording practice makes many "
                                  "authorities do so."),
)
