"""Plotly figures of the journeys and thresholds section (issue 21), drawn only from the published tables
(:mod:`dashboards.journey_tables`): every count on a chart is the published value, a suppressed flow is not
drawn (its count is ``c``), a share or rate made from a suppressed count is blank and its bar is not drawn.

Colours follow the report (:mod:`dashboards.figures`): blues for the tiers of identified neglect, greys for
possible / at risk / none, orange for children who moved away or aged out; every node, bar and dot also
carries its words and number, so nothing is told by colour alone.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .figures import BLUE, GREY, LAYOUT, LIGHT_BLUE, ORANGE, fmt_count, fmt_rate
from .journey_cells import ALL, FROM_STATES, TO_STATES

STATE_COLOUR = {"tier 1": "#08306b", "tier 2": BLUE, "tier 3": "#4a7fb5", "tier 4": LIGHT_BLUE, "tier 5": GREY,
                "tier 6": "#c4c4c4", "none": "#e4e4e4", "moved away/aged out": ORANGE}
STATE_LABEL = {"tier 1": "Tier 1 CP neglect", "tier 2": "Tier 2 CP other", "tier 3": "Tier 3 CIN",
               "tier 4": "Tier 4 early help", "tier 5": "Tier 5 possible", "tier 6": "Tier 6 at risk",
               "none": "No evidence", "moved away/aged out": "Moved away / aged out"}
AREA_COLOUR = [BLUE, ORANGE, "#6b6b6b"]  # authorities in order, then others
AREA_SYMBOL = ["circle", "diamond", "square"]
COMPACT = dict(LAYOUT, margin=dict(l=10, r=20, t=44, b=30))


def _rgba(colour: str, alpha: float) -> str:
    colour = colour.lstrip("#")
    r, g, b = (int(colour[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _number(value) -> float | None:
    return None if isinstance(value, str) or value is None or pd.isna(value) else float(value)


def sankey_figure(flows: pd.DataFrame, title: str) -> tuple[go.Figure, int]:
    """The flows of one area as a Sankey (previous quarter end -> this one); returns (figure, flows not drawn:
    suppressed, c)."""
    grid = flows[(flows["from_state"] != ALL) & (flows["to_state"] != ALL)]
    margin_from = flows[(flows["to_state"] == ALL) & (flows["from_state"] != ALL)].set_index("from_state")["children"]
    margin_to = flows[(flows["from_state"] == ALL) & (flows["to_state"] != ALL)].set_index("to_state")["children"]
    left = [s for s in FROM_STATES]
    right = [s for s in TO_STATES]
    labels = [f"{STATE_LABEL[s]} ({fmt_count(margin_from.get(s))})" for s in left] + \
             [f"{STATE_LABEL[s]} ({fmt_count(margin_to.get(s))})" for s in right]
    colours = [STATE_COLOUR[s] for s in left] + [STATE_COLOUR[s] for s in right]
    x = [0.01] * len(left) + [0.99] * len(right)
    y = list(np.linspace(0.02, 0.98, len(left))) + list(np.linspace(0.02, 0.98, len(right)))
    source, target, value, hover, link_colour = [], [], [], [], []
    hidden = 0
    for r in grid.itertuples():
        n = _number(r.children)
        if r.children == "c":
            hidden += 1
        if not n:
            continue
        source.append(left.index(r.from_state))
        target.append(len(left) + right.index(r.to_state))
        value.append(n)
        hover.append(f"{STATE_LABEL[r.from_state]} -> {STATE_LABEL[r.to_state]}: {fmt_count(r.children)} children")
        link_colour.append(_rgba(STATE_COLOUR[r.from_state], 0.35))
    figure = go.Figure(go.Sankey(
        arrangement="fixed",
        node=dict(label=labels, color=colours, pad=8, thickness=14, x=x, y=y, line=dict(color="#555", width=0.5),
                  hovertemplate="%{label}<extra></extra>"),
        link=dict(source=source, target=target, value=value, color=link_colour, customdata=hover,
                  hovertemplate="%{customdata}<extra></extra>")))
    figure.update_layout(**COMPACT, title=title, height=380)
    return figure, hidden


def cohort_figure(cohorts: pd.DataFrame, title: str) -> go.Figure:
    """Shares of each cohort by outcome, 4 and 8 quarters on, with Wilson 95 % intervals (bars with error bars;
    a suppressed share is not drawn and its label says c)."""
    figure = go.Figure()
    for horizon, colour, pattern in ((4, BLUE, ""), (8, LIGHT_BLUE, "/")):
        rows = cohorts[cohorts["horizon_quarters"] == horizon]
        if rows.empty:
            continue
        share = rows["share_pct"].astype("float64")
        figure.add_trace(go.Bar(
            y=rows["outcome"], x=share.fillna(0), orientation="h", name=f"{horizon} quarters on",
            marker=dict(color=colour, pattern_shape=pattern, line=dict(color="#333", width=0.5)),
            error_x=dict(type="data", symmetric=False, array=(rows["ci95_upper_pct"] - share).fillna(0),
                         arrayminus=(share - rows["ci95_lower_pct"]).fillna(0), color="#333", thickness=1),
            text=[f"{fmt_rate(s, 0)} % ({fmt_count(c)})" if pd.notna(s) else f"c ({fmt_count(c)})"
                  for s, c in zip(share, rows["children"])],
            textposition="outside", cliponaxis=False,
            hovertemplate="%{y}: %{text}<extra>" + f"{horizon} quarters on</extra>"))
    figure.update_layout(**COMPACT, title=title, barmode="group", height=380, yaxis=dict(autorange="reversed"),
                         xaxis=dict(title="% of the children first identified (95 % interval)", range=[0, 115]),
                         legend=dict(orientation="h", y=-0.18))
    return figure


def spells_figure(spells: pd.DataFrame, title: str) -> go.Figure:
    """Open spells by time in neglect so far (numbers of children)."""
    rows = spells[spells["item"].str.startswith("open: ")]
    values = [_number(v) or 0 for v in rows["spells"]]
    figure = go.Figure(go.Bar(
        y=[i.removeprefix("open: ") for i in rows["item"]], x=values, orientation="h",
        marker=dict(color=[LIGHT_BLUE, "#4a7fb5", BLUE, "#08306b"][:len(rows)]),
        text=[fmt_count(v) for v in rows["spells"]], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{text} children<extra></extra>"))
    figure.update_layout(**COMPACT, title=title, height=230, yaxis=dict(autorange="reversed"),
                         xaxis=dict(title="children with an open spell", range=[0, 1.2 * max(values + [1])]))
    return figure


def funnel_figure(conversion: pd.DataFrame, names: dict[str, str], title: str) -> go.Figure:
    """Each step's conversion rate for every authority (dots with 95 % intervals; steps where the mart finds the
    authorities differ beyond chance are marked in their label)."""
    rows = conversion[conversion["la_code"] != "partnership"]
    steps = list(dict.fromkeys(rows["step"]))
    differ = rows.groupby("step")["authorities_differ"].agg(lambda v: any(pd.notna(x) and bool(x) for x in v))
    ticks = [f"{s} *" if differ.get(s, False) else s for s in steps]
    figure = go.Figure()
    for i, la in enumerate(sorted(set(rows["la_code"]))):
        own = rows[rows["la_code"] == la].set_index("step").reindex(steps)
        rate = own["rate_pct"].astype("float64")
        figure.add_trace(go.Scatter(
            x=rate, y=ticks, mode="markers", name=names.get(la, la),
            marker=dict(color=AREA_COLOUR[min(i, 2)], symbol=AREA_SYMBOL[min(i, 2)], size=10),
            error_x=dict(type="data", symmetric=False, array=own["ci95_upper_pct"] - rate,
                         arrayminus=rate - own["ci95_lower_pct"], color=AREA_COLOUR[min(i, 2)], thickness=1.5),
            customdata=np.stack([own["numerator"].map(fmt_count), own["denominator"].map(fmt_count)], axis=-1),
            hovertemplate="%{y}: %{x:.1f} % (%{customdata[0]} of %{customdata[1]})<extra>" + names.get(la, la)
                          + "</extra>"))
    figure.update_layout(**COMPACT, title=title, height=260, yaxis=dict(autorange="reversed"),
                         xaxis=dict(title="% of episodes reaching the step (95 % interval)", range=[0, 100]),
                         legend=dict(orientation="h", y=-0.3))
    return figure


def profile_figure(profile: pd.DataFrame, la_code: str, names: dict[str, str], quarter: str, year_ago: str,
                   title: str) -> go.Figure:
    """Neglect-related children entering each service level: percentages with each piece of evidence, every
    authority this quarter (filled) and this area a year earlier (hollow), with 95 % intervals."""
    shares = profile[(profile["indicator"] != "entrants") & (profile["indicator"] != "mean_gcp2_max")]
    levels = list(dict.fromkeys(shares["service_level"]))
    figure = make_subplots(rows=1, cols=max(len(levels), 1), shared_yaxes=True, subplot_titles=levels,
                           horizontal_spacing=0.02)
    authorities = sorted(set(profile["la_code"]) - {"partnership"})
    colour = {la: AREA_COLOUR[min(i, 2)] for i, la in enumerate(authorities)} | {"partnership": "#333"}
    series = [(la, quarter, names.get(la, la), colour[la], AREA_SYMBOL[min(i, 2)]) for i, la in enumerate(authorities)]
    if la_code == "partnership":
        series.insert(0, (la_code, quarter, names.get(la_code, la_code), colour[la_code], "square"))
    series.append((la_code, year_ago, f"{names.get(la_code, la_code)}, a year earlier", colour.get(la_code, "#333"),
                   "circle-open"))
    for col, level in enumerate(levels, start=1):
        for la, when, name, colour, symbol in series:
            rows = shares[(shares["service_level"] == level) & (shares["la_code"] == la) & (shares["period_end"] == when)]
            value = rows["value"].astype("float64")
            figure.add_trace(go.Scatter(
                x=value, y=rows["indicator_label"].str.removesuffix(" %"), mode="markers", name=name,
                legendgroup=name, showlegend=col == 1, marker=dict(color=colour, symbol=symbol, size=8,
                                                                    line=dict(color=colour, width=1.5)),
                error_x=dict(type="data", symmetric=False, array=rows["ci95_upper"] - value,
                             arrayminus=value - rows["ci95_lower"], color=colour, thickness=1),
                customdata=np.stack([rows["children"].map(fmt_count), rows["out_of"].map(fmt_count)], axis=-1)
                if len(rows) else None,
                hovertemplate="%{y}: %{x:.0f} % (%{customdata[0]} of %{customdata[1]})<extra>" + name + "</extra>"),
                row=1, col=col)
        figure.update_xaxes(range=[0, 100], row=1, col=col, title_text="%" if col == 1 else None)
    figure.update_layout(**COMPACT, title=title, height=330, legend=dict(orientation="h", y=-0.22))
    figure.update_yaxes(autorange="reversed")
    return figure


def gcp2_figure(gcp2: pd.DataFrame, title: str) -> go.Figure:
    """Share of children improved between their first and latest GCP2, by domain and service (95 % intervals)."""
    figure = go.Figure()
    for i, service in enumerate(dict.fromkeys(gcp2["service"])):
        rows = gcp2[gcp2["service"] == service]
        share = rows["share_improved_pct"].astype("float64")
        figure.add_trace(go.Bar(
            x=rows["domain"], y=share.fillna(0), name=service, marker_color=AREA_COLOUR[min(i, 2)],
            error_y=dict(type="data", symmetric=False, array=(rows["ci95_upper_pct"] - share).fillna(0),
                         arrayminus=(share - rows["ci95_lower_pct"]).fillna(0), color="#333", thickness=1),
            text=[f"{fmt_rate(s, 0)} % of {fmt_count(c)}" if pd.notna(s) else f"c of {fmt_count(c)}"
                  for s, c in zip(share, rows["children"])], textposition="outside", cliponaxis=False))
    figure.update_layout(**COMPACT, title=title, barmode="group", height=280, yaxis=dict(title="% improved",
                                                                                         range=[0, 110]),
                         legend=dict(orientation="h", y=-0.25))
    return figure
