"""Plotly figures for the board report, drawn only from the published tables (:mod:`dashboards.tables`).

Every count on a chart, in its labels or hover text, is the published value: a number or ``c``.
Rates of suppressed cells are blank, so a suppressed bar or dot is not drawn; its label says ``c``.
Colours: identification-type measures use neutral blues for higher/lower (more identification is
not worse), grey for similar, as OHID Fingertips does for "no judgement" comparisons.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .tables import SUPPRESSED, Publication

BLUE, LIGHT_BLUE, GREY, DARK, ORANGE = "#1f4e79", "#8fb9e0", "#9e9e9e", "#222222", "#d9822b"
COMPARISON_COLOUR = {"higher": BLUE, "lower": LIGHT_BLUE, "similar": "#d0d0d0"}
LADDER = [("Tier 1", "CP plan: neglect"), ("Tier 2", "+ CP plan, other category, neglect assessed"),
          ("Tier 3", "+ child in need, neglect assessed"), ("Tier 4", "+ early help, neglect identified"),
          ("Tier 5", "+ possible neglect (need code N1)")]
LAYOUT = dict(template="plotly_white", font=dict(family="Arial, sans-serif", size=12), margin=dict(l=10, r=20, t=50, b=40),
              title_font_size=14)


def fmt_count(value) -> str:
    """A published count as text: '1,234' or 'c'."""
    if isinstance(value, str):
        return value
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{int(value):,}"


def fmt_rate(value, digits: int = 1) -> str:
    return "c" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:,.{digits}f}"


def _prevalence(pub: Publication, la_code: str, measure: str = "12_month", breakdown: str = "all") -> pd.DataFrame:
    table = pub.tables["prevalence"]
    return table[(table["la_code"] == la_code) & (table["measure"] == measure) & (table["breakdown"] == breakdown)]


def ladder_figure(pub: Publication, la_code: str) -> go.Figure:
    """The tier ladder (12 months): CP-neglect, then each further tier, then the estimated unidentified."""
    overall = _prevalence(pub, la_code).set_index("tier_group")
    hidden = pub.tables["hidden"]
    hidden = hidden[(hidden["la_code"] == la_code) & (hidden["linkage"] == "match threshold")]
    labels, values, texts, hovers = [], [], [], []
    population = overall["population"].dropna().iloc[0] if overall["population"].notna().any() else np.nan
    for group, label in LADDER:
        row = overall.loc[group]
        labels.append(label)
        values.append(0.0 if row["children"] == SUPPRESSED else float(row["rate_per_10k"]))
        texts.append("not available" if row["children"] == "x" else
                     f"{fmt_rate(row['rate_per_10k'])} ({fmt_count(row['children'])})")
        hovers.append(f"{label}<br>{fmt_count(row['children'])} children, {fmt_rate(row['rate_per_10k'])} per 10,000")
    measures = ["absolute"] + ["relative"] * (len(LADDER) - 1)
    # the last bar takes the ladder (tiers 1-5) up to the publication rule's central estimate of all neglected
    # children, when there is one and it is higher (both published figures: rates from rounded or protected values)
    top = overall.loc["Tiers 1-5", "rate_per_10k"] if "Tiers 1-5" in overall.index else np.nan
    if len(hidden) and hidden["status"].iloc[0] == "estimate" and population > 0 and pd.notna(top):
        unseen_rate = float(hidden["estimate_rate_per_10k"].iloc[0]) - float(top)
        if unseen_rate > 0:
            unseen = unseen_rate * population / 1e4
            labels.append("+ estimated, not yet identified (model)")
            values.append(unseen_rate)
            texts.append(f"{unseen_rate:,.0f} (about {round(unseen, -1):,.0f})")
            hovers.append("The model's estimate of all neglected children, less the children in tiers 1-5<br>"
                          f"about {round(unseen, -1):,.0f} children, {unseen_rate:,.0f} per 10,000 (see Methods)")
            measures.append("relative")
    figure = go.Figure(go.Waterfall(
        orientation="h", y=labels, x=values, measure=measures, text=texts, textposition="outside",
        hovertext=hovers, hoverinfo="text", connector={"line": {"color": GREY}},
        increasing={"marker": {"color": BLUE}}, totals={"marker": {"color": DARK}}))
    figure.update_traces(cliponaxis=False)
    figure.update_layout(**LAYOUT, title="The tier ladder: children per 10,000 (number), 12 months",
                         yaxis=dict(autorange="reversed"), height=270, showlegend=False,
                         xaxis=dict(title="children per 10,000 aged 0-17", range=[0, 1.25 * sum(values)]))
    return figure


def trend_figure(pub: Publication, la_code: str) -> go.Figure:
    trend = pub.tables["trend"]
    trend = trend[(trend["la_code"] == la_code) & (trend["measure"] == "12_month")]
    figure = go.Figure()
    for group, colour in (("Tiers 1-4", BLUE), ("Tier 1", ORANGE)):
        rows = trend[trend["tier_group"] == group]
        x = pd.to_datetime(rows["period_end"])
        figure.add_trace(go.Scatter(x=list(x) + list(x[::-1]), y=list(rows["ci95_upper"]) + list(rows["ci95_lower"][::-1]),
                                    fill="toself", fillcolor=colour, opacity=0.15, line={"width": 0}, hoverinfo="skip",
                                    showlegend=False))
        complete = rows["history_complete"].astype(bool).to_numpy()
        early = np.flatnonzero(~complete)
        if early.size:  # the quarters with too little history, dotted, up to the first complete one
            upto = min(early.max() + 2, len(rows))
            figure.add_trace(go.Scatter(x=x[:upto], y=rows["rate_per_10k"][:upto], mode="lines", hoverinfo="skip",
                                        line={"color": colour, "dash": "dot"}, showlegend=False))
        figure.add_trace(go.Scatter(
            x=x[complete], y=rows["rate_per_10k"][complete], mode="lines", line={"color": colour}, hoverinfo="skip",
            showlegend=False))
        figure.add_trace(go.Scatter(
            x=x, y=rows["rate_per_10k"], mode="markers", name=group, line={"color": colour},
            marker={"symbol": np.where(complete, "circle", "circle-open"), "size": 8},
            customdata=np.stack([rows["children"].map(fmt_count), rows["ci95_lower"].map(fmt_rate),
                                 rows["ci95_upper"].map(fmt_rate),
                                 np.where(complete, "", "<br>fewer than 12 months of extracts before this window")],
                                axis=-1),
            hovertemplate="%{x|%d %b %Y}: %{y:,.1f} per 10,000 (%{customdata[1]} to %{customdata[2]})<br>"
                          "%{customdata[0]} children%{customdata[3]}<extra>" + group + "</extra>"))
    figure.update_layout(**LAYOUT, title="Trend: per 10,000, 12 months to each quarter end (95 %)",
                         yaxis_title="per 10,000", height=270, legend=dict(orientation="h", y=-0.25))
    return figure


def breakdown_figure(pub: Publication, la_code: str, breakdown: str, tier_group: str = "Tiers 1-4") -> go.Figure:
    """Rates (or counts where there is no population) with 95 % intervals and the area's overall rate."""
    from models.intervals import count_interval

    rows = _prevalence(pub, la_code, breakdown=breakdown)
    rows = rows[rows["tier_group"] == tier_group].copy()
    rows = rows.iloc[sorted(range(len(rows)), key=lambda i: _order(rows["breakdown_value"].iloc[i]))]
    overall = _prevalence(pub, la_code)
    overall = overall[overall["tier_group"] == tier_group]
    has_rate = rows["population"].notna().any()
    published = ~rows["children"].map(lambda v: v == SUPPRESSED)
    if has_rate:
        y, lower, upper = rows["rate_per_10k"], rows["ci95_lower"], rows["ci95_upper"]
        axis = "per 10,000"
    else:  # no population for this breakdown: numbers of children, with the count's interval
        counts = pd.to_numeric(rows["children"].where(published), errors="coerce")
        bounds = count_interval(counts.fillna(0).to_numpy())
        y, lower, upper = counts, pd.Series(bounds[0], index=rows.index).where(published), \
            pd.Series(bounds[1], index=rows.index).where(published)
        axis = "children (no population)"
    order = rows["breakdown_label"].astype(str)
    text = [fmt_rate(v) if has_rate and p else fmt_count(c) for v, c, p in zip(y, rows["children"], published)]
    if has_rate:  # a value with no population ('Not known'): never a rate of 0 (its children are in the hover and table)
        text = [t if pd.notna(n) else "no rate" for t, n in zip(text, rows["population"])]
    figure = go.Figure(go.Bar(
        x=order, y=y.fillna(0), marker_color=BLUE, text=text, textposition="outside",
        error_y=dict(type="data", symmetric=False, array=(upper - y).fillna(0), arrayminus=(y - lower).fillna(0),
                     color=DARK, thickness=1),
        customdata=np.stack([rows["children"].map(fmt_count), lower.map(fmt_rate), upper.map(fmt_rate)], axis=-1),
        hovertemplate="%{x}: %{customdata[0]} children; %{y:,.1f} (%{customdata[1]} to %{customdata[2]})<extra></extra>"))
    if has_rate and len(overall) and not pd.isna(overall["rate_per_10k"].iloc[0]):
        figure.add_hline(y=float(overall["rate_per_10k"].iloc[0]), line_dash="dash", line_color=ORANGE,
                         annotation_text=f"{pub.area_name(la_code)} {overall['rate_per_10k'].iloc[0]:,.1f}",
                         annotation_position="bottom right", annotation_bgcolor="white")
    title = BREAKDOWN_TITLES[breakdown]
    figure.update_traces(cliponaxis=False)
    figure.update_layout(**LAYOUT, title=f"{title}, tiers 1-4", yaxis_title=axis, height=230,
                         showlegend=False, xaxis=dict(type="category"))
    return figure


BREAKDOWN_TITLES = {"age_band": "Age band", "sex": "Sex", "ethnicity_group": "Ethnicity group",
                    "disability": "Disability", "deprivation_decile": "Deprivation (1 = most deprived)"}
VALUE_ORDER = {"0-4": 0, "5-9": 1, "10-15": 2, "16-17": 3, "Female": 0, "Male": 1, "Disabled": 0,
               "Not disabled": 1, "Not known": 99, "Outside the authority": 98, "Outside the partnership": 98}


def _order(value: str) -> tuple:
    """Breakdown values in reading order: ages and deciles by number, 'Not known' last."""
    if value in VALUE_ORDER:
        return (VALUE_ORDER[value], "")
    return (int(value), "") if str(value).isdigit() else (50, str(value))


def ward_rows(pub: Publication, la_code: str) -> pd.DataFrame:
    """The area's wards (tiers 1-4, 12 months). For the partnership: every authority's own wards, each as
    its authority counts it (the partnership's own ward counts are not published)."""
    table = pub.tables["prevalence"]
    areas = [la for la, _ in pub.areas if la != "partnership"] if la_code == "partnership" else [la_code]
    rows = table[table["la_code"].isin(areas) & (table["measure"] == "12_month") & (table["breakdown"] == "ward")]
    rows = rows[(rows["tier_group"] == "Tiers 1-4") & rows["population"].notna()]
    return rows.sort_values(["rate_per_10k", "breakdown_value"], ascending=True, na_position="first", kind="stable")


def _rings(geometry: dict) -> list[list]:
    """The outer rings of a GeoJSON Polygon or MultiPolygon, as lists of [lon, lat]."""
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry["type"] == "MultiPolygon":
        return [polygon[0] for polygon in geometry["coordinates"]]
    return []


def ward_numbers(pub: Publication, la_code: str) -> dict[str, int]:
    """Each ward's number on the map, in its key and in the ranked chart: 1 = the highest rate (wards with
    a suppressed count last)."""
    rows = ward_rows(pub, la_code).iloc[::-1]
    return {code: number for number, code in enumerate(rows["breakdown_value"], start=1)}


def _centre(ring: list) -> tuple[float, float]:
    """The centroid of a polygon ring (the mean of its points if it has no area)."""
    x, y = np.array([p[0] for p in ring], dtype=float), np.array([p[1] for p in ring], dtype=float)
    cross = x * np.roll(y, -1) - np.roll(x, -1) * y
    area = cross.sum() / 2
    if abs(area) < 1e-12:
        return float(x.mean()), float(y.mean())
    return (float(((x + np.roll(x, -1)) * cross).sum() / (6 * area)),
            float(((y + np.roll(y, -1)) * cross).sum() / (6 * area)))


def _key_text(names: list[str], per_column: int) -> list[str]:
    """The map's key ('1 Ward name' lines) in columns of at most ``per_column`` lines."""
    return ["<br>".join(names[i:i + per_column]) for i in range(0, len(names), per_column)]


def ward_map(pub: Publication, la_code: str, geojson: dict) -> go.Figure:
    """Wards shaded by rate, drawn as filled outlines on plain axes (no base map, nothing fetched from
    the web; longitude scaled by cos(latitude) so shapes keep their proportions), each numbered at its
    centre with a key of names beside the map (so print and PNG name the wards, not only the hover)."""
    from plotly.colors import sample_colorscale

    rows = ward_rows(pub, la_code).set_index("breakdown_value")
    numbers = ward_numbers(pub, la_code)
    rates = rows["rate_per_10k"]
    low, high = (float(rates.min()), float(rates.max())) if rates.notna().any() else (0.0, 1.0)
    shapes = {f["properties"]["ward_code"]: f["geometry"] for f in geojson["features"]}
    latitudes = [point[1] for code in rows.index if code in shapes for ring in _rings(shapes[code]) for point in ring]
    squash = float(np.cos(np.radians(np.mean(latitudes)))) if latitudes else 1.0
    figure = go.Figure()
    labels = {"x": [], "y": [], "text": [], "colour": []}
    for code, row in rows.iterrows():
        if code not in shapes:
            continue
        rate = row["rate_per_10k"]
        shade = 0.15 + 0.85 * (rate - low) / ((high - low) or 1) if pd.notna(rate) else None
        colour = GREY if shade is None else sample_colorscale("Blues", [shade])[0]
        hover = f"{numbers[code]} {row['breakdown_label']}: {fmt_rate(rate)} per 10,000 ({fmt_count(row['children'])} children)"
        rings = _rings(shapes[code])
        for ring in rings:
            lon, lat = zip(*ring)
            figure.add_trace(go.Scatter(x=np.array(lon) * squash, y=lat, fill="toself", fillcolor=colour, mode="lines",
                                        line={"color": "white", "width": 1}, hoveron="fills", text=hover,
                                        hoverinfo="text", showlegend=False))
        x, y = _centre(max(rings, key=len))
        labels["x"].append(x * squash)
        labels["y"].append(y)
        labels["text"].append(str(numbers[code]))
        labels["colour"].append("white" if shade is not None and shade > 0.55 else DARK)
    figure.add_trace(go.Scatter(x=labels["x"], y=labels["y"], text=labels["text"], mode="text", hoverinfo="skip",
                                textfont={"size": 10, "color": labels["colour"], "family": "Arial"}, showlegend=False))
    figure.add_trace(go.Scatter(x=[None], y=[None], mode="markers", hoverinfo="skip", showlegend=False,
                                marker=dict(colorscale=[[0, sample_colorscale("Blues", [0.15])[0]], [1, "rgb(8,48,107)"]],
                                            cmin=low, cmax=high, color=[low], showscale=True,
                                            colorbar=dict(title="per 10,000", orientation="h", y=-0.01, yanchor="top", len=0.5,
                                                          x=0.25, thickness=12, nticks=3,
                                                          tickfont={"size": 9}))))
    names = [f"{numbers[c]} {rows.loc[c, 'breakdown_label']}" for c in sorted(numbers, key=numbers.get)]
    columns = _key_text(names, per_column=max(20, -(-len(names) // 2)))
    for i, text in enumerate(columns):
        figure.add_annotation(text=text, x=1.0, xshift=6 + 118 * i, y=1.0, xref="paper", yref="paper", showarrow=False,
                              align="left", xanchor="left", yanchor="top", font={"size": 9.5, "color": DARK})
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False, scaleanchor="x", scaleratio=1)
    title = "Wards: tiers 1-4 per 10,000 (number: rank; grey: c)" + (
        "<br>each ward as its own authority counts it" if la_code == "partnership" else "")
    figure.update_layout(**{**LAYOUT, "margin": dict(l=5, r=5 + 120 * len(columns), t=60, b=50), "title_font_size": 13},
                         title=title, height=340)
    return figure


def ward_ranked(pub: Publication, la_code: str) -> go.Figure:
    rows = ward_rows(pub, la_code)
    numbers = ward_numbers(pub, la_code)
    overall = _prevalence(pub, la_code)
    overall = overall[overall["tier_group"] == "Tiers 1-4"]["rate_per_10k"]
    y = (rows["breakdown_value"].map(numbers).astype(str) + " " + rows["breakdown_label"]
         + np.where(rows["children"].map(lambda v: v == SUPPRESSED), " (c)", ""))
    figure = go.Figure(go.Scatter(
        x=rows["rate_per_10k"], y=y, mode="markers", marker={"color": BLUE, "size": 7},
        error_x=dict(type="data", symmetric=False, array=rows["ci95_upper"] - rows["rate_per_10k"],
                     arrayminus=rows["rate_per_10k"] - rows["ci95_lower"], color=DARK, thickness=1),
        customdata=np.stack([rows["children"].map(fmt_count), rows["ci95_lower"].map(fmt_rate),
                             rows["ci95_upper"].map(fmt_rate)], axis=-1),
        hovertemplate="%{y}: %{x:,.1f} per 10,000 (%{customdata[1]} to %{customdata[2]}); "
                      "%{customdata[0]} children<extra></extra>"))
    if len(overall) and not pd.isna(overall.iloc[0]):
        figure.add_vline(x=float(overall.iloc[0]), line_dash="dash", line_color=ORANGE,
                         annotation_text=f"{pub.area_name(la_code)} {overall.iloc[0]:,.1f}")
    figure.update_layout(**LAYOUT, title="Wards ranked, with 95 % intervals", xaxis_title="per 10,000",
                         height=max(340, 11 * len(rows) + 100), showlegend=False, yaxis=dict(tickfont={"size": 9.5}, dtick=1))
    return figure


SPINE_ROWS = [("12_month", "Tier 1"), ("point", "Tier 1"), ("12_month", "Tiers 1-2"), ("12_month", "Tiers 1-4"),
              ("point", "Tiers 1-4"), ("12_month", "Tiers 1-5"), ("12_month", "Tier 6")]
SPINE_LABEL = {"Tier 1": "CP plan: neglect (tier 1)", "Tiers 1-2": "CP plans with neglect (1-2)",
               "Tiers 1-4": "Identified neglect (1-4)", "Tiers 1-5": "Identified or possible (1-5)",
               "Tier 6": "At risk: parent known to adult services (6)"}


def spine_rows(pub: Publication, la_code: str) -> pd.DataFrame:
    table = pub.tables["prevalence"]
    rows = []
    for measure, group in SPINE_ROWS:
        row = table[(table["la_code"] == la_code) & (table["measure"] == measure) & (table["breakdown"] == "all")
                    & (table["tier_group"] == group)]
        if len(row):
            row = row.iloc[0]
            label = f"{SPINE_LABEL[group]}, {'12 months' if measure == '12_month' else 'at quarter end'}"
            rows.append({"indicator": label, **row[["children", "rate_per_10k", "ci95_lower", "ci95_upper",
                                                    "england_rate_per_10k", "vs_england", "research_rate_per_10k",
                                                    "vs_research", "other_la_rate_per_10k", "vs_other_la",
                                                    "_cell_children"]].to_dict()})
    return pd.DataFrame(rows)


def spine_chart(pub: Publication, la_code: str) -> go.Figure:
    """The area against England, the other authority and the research figure, on one log scale per 10,000."""
    rows = spine_rows(pub, la_code)
    figure = go.Figure()
    comparison = rows["vs_other_la"].astype("object").where(rows["vs_other_la"].notna(),
                                                            rows["vs_england"].astype("object")).fillna("similar")
    figure.add_trace(go.Scatter(
        x=rows["rate_per_10k"], y=rows["indicator"], mode="markers", name=pub.area_name(la_code),
        marker={"size": 14, "color": [COMPARISON_COLOUR.get(c, GREY) for c in comparison],
                "line": {"color": DARK, "width": 1}},
        error_x=dict(type="data", symmetric=False, array=rows["ci95_upper"] - rows["rate_per_10k"],
                     arrayminus=rows["rate_per_10k"] - rows["ci95_lower"], color=DARK, thickness=1),
        customdata=np.stack([rows["children"].map(fmt_count), rows["ci95_lower"].map(fmt_rate),
                             rows["ci95_upper"].map(fmt_rate)], axis=-1),
        hovertemplate="%{y}: %{x:,.1f} (%{customdata[1]} to %{customdata[2]}); %{customdata[0]} children<extra></extra>"))
    for column, name, symbol in (("england_rate_per_10k", "England", "diamond"),
                                 ("other_la_rate_per_10k", "Other authority", "circle-open"),
                                 ("research_rate_per_10k", "Research: 1 in 10", "star")):
        if rows[column].notna().any():
            figure.add_trace(go.Scatter(x=rows[column], y=rows["indicator"], mode="markers", name=name,
                                        marker={"symbol": symbol, "size": 11, "color": DARK},
                                        hovertemplate="%{y}: " + name + " %{x:,.1f}<extra></extra>"))
    figure.update_layout(**LAYOUT, title="Benchmarks (per 10,000, log scale; dark blue = higher, light blue = lower "
                                         "than the comparator, grey = similar)",
                         xaxis=dict(type="log", title="per 10,000"), yaxis=dict(autorange="reversed"), height=280,
                         legend=dict(orientation="h", y=-0.25))
    return figure


def geojson_of(conn) -> dict:
    """Ward boundaries (``raw.ward_boundaries``) as one FeatureCollection keyed by ward_code."""
    rows = conn.execute("SELECT ward_code, ward_name, geometry_json FROM raw.ward_boundaries ORDER BY ward_code").fetchall()
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"ward_code": code, "ward_name": name}, "geometry": json.loads(geometry)}
        for code, name, geometry in rows]}
