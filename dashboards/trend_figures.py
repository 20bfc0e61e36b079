"""Trend charts of the board ratio (identified per CP-neglect child) and of every practice indicator, drawn
from the published series of :mod:`dashboards.series` only (a suppressed quarter is not drawn)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .figures import BLUE, DARK, LAYOUT, fmt_count, fmt_rate
from .tables import Publication


def _band(figure: go.Figure, x, lower, upper, colour: str, **where) -> None:
    figure.add_trace(go.Scatter(x=list(x) + list(x[::-1]), y=list(upper) + list(lower[::-1]), fill="toself",
                                fillcolor=colour, opacity=0.15, line={"width": 0}, hoverinfo="skip",
                                showlegend=False), **where)


def ratio_trend_figure(pub: Publication, la_code: str) -> go.Figure:
    """Identified neglect (tiers 1-4) per child on a CP plan under neglect, 12 months, every quarter."""
    table = pub.tables["identification_trend"]
    rows = table[table["la_code"] == la_code].sort_values("period_end")
    x = pd.to_datetime(rows["period_end"])
    ratio = rows["identified_per_cp_neglect_child"].astype("float64")
    figure = go.Figure()
    _band(figure, x, rows["identified_per_cp_neglect_child_ci95_lower"].astype("float64"),
          rows["identified_per_cp_neglect_child_ci95_upper"].astype("float64"), BLUE)
    complete = rows["history_complete"].fillna(False).astype(bool).to_numpy() if "history_complete" in rows \
        else np.ones(len(rows), dtype=bool)
    figure.add_trace(go.Scatter(
        x=x, y=ratio, mode="lines+markers", line={"color": BLUE},
        marker={"symbol": np.where(complete, "circle", "circle-open"), "size": 7},
        customdata=np.stack([rows["identified_children"].map(fmt_count), rows["cp_neglect_children"].map(fmt_count)],
                            axis=-1),
        hovertemplate="%{x|%d %b %Y}: %{y:,.1f} identified per CP-neglect child (%{customdata[0]} and "
                      "%{customdata[1]} children)<extra></extra>", showlegend=False))
    figure.update_layout(**LAYOUT, title="Identified per CP-neglect child, 12 months (95 %)",
                         yaxis_title="children per CP-neglect child", height=270)
    return figure


def practice_trend_figure(pub: Publication, la_code: str) -> go.Figure:
    """Each practice indicator's % over the quarters, with 95 % Wilson intervals, as small multiples."""
    table = pub.tables["practice_trend"]
    rows = table[table["la_code"] == la_code]
    labels = list(dict.fromkeys(rows.sort_values("indicator")["indicator_label"]))
    columns = 4
    lines = -(-len(labels) // columns) or 1
    figure = make_subplots(rows=lines, cols=columns, subplot_titles=[_wrap(label) for label in labels],
                           horizontal_spacing=0.06, vertical_spacing=0.3)
    for i, label in enumerate(labels):
        where = {"row": i // columns + 1, "col": i % columns + 1}
        one = rows[rows["indicator_label"] == label].sort_values("period_end")
        x = pd.to_datetime(one["period_end"])
        _band(figure, x, one["ci95_lower_pct"].astype("float64"), one["ci95_upper_pct"].astype("float64"), BLUE,
              **where)
        figure.add_trace(go.Scatter(
            x=x, y=one["rate_pct"].astype("float64"), mode="lines+markers", marker={"size": 5}, line={"color": BLUE},
            customdata=np.stack([one["numerator"].map(fmt_count), one["denominator"].map(fmt_count),
                                 one["ci95_lower_pct"].map(fmt_rate), one["ci95_upper_pct"].map(fmt_rate)], axis=-1),
            hovertemplate="%{x|%b %Y}: %{y:.1f} % (%{customdata[2]} to %{customdata[3]}); %{customdata[0]} of "
                          "%{customdata[1]}<extra>" + label + "</extra>", showlegend=False), **where)
    figure.update_yaxes(ticksuffix=" %", tickfont={"size": 10}, rangemode="tozero")
    figure.update_xaxes(tickfont={"size": 10}, nticks=4)
    figure.update_annotations(font_size=11)
    figure.update_layout(**{**LAYOUT, "margin": dict(l=10, r=10, t=80, b=30)}, height=115 * lines + 70,
                         title="Practice indicators over time: % with 95 % intervals")
    return figure


def _wrap(text: str, width: int = 38) -> str:
    """A subplot title broken into lines of about ``width`` characters."""
    words, lines, line = str(text).split(), [], ""
    for word in words:
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "<br>".join(lines + [line])
