"""The board report's commissioning page (issue 20): need against service, by place, and the next three years, on
one A4 landscape page for the partnership with its authorities side by side.

Built only from the publication's ``commissioning`` and ``projection`` tables
(:mod:`dashboards.commissioning_tables`, after disclosure control):

* a paragraph in words (the partnership's figures);
* a table per area: identified neglect, of them receiving a service on the quarter end and not, the estimated
  total need and the estimated children without a service (models, rounded to 10), children in early help, in
  need and on CP plans, and the places and caseload commissioned services report, with spare places;
* the projection of identified neglect 1-3 years ahead (a chart with its 95 % intervals, and a table);
* the wards of each authority with the most children identified but without a service (the full ward table is
  the workbook's ``commissioning`` sheet);
* what the figures can and cannot say (the apportioned ward estimate, the interval of the projection, returns
  not supplied).

Every count carries ``data-count`` and ``data-cell``; the chart has its table and CSV under it.
"""
from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

from .figures import BLUE, LAYOUT, LIGHT_BLUE, ORANGE, fmt_count
from .html_parts import ChartData, count_html, html_table
from .tables import Publication

STYLE = """<style>
section.commissioning { break-before: page; } section.commissioning h3 { margin: 6px 0 2px; font-size: 14px; }
section.commissioning p, section.commissioning li { font-size: 12.5px; line-height: 1.3; margin: 2px 0; }
section.commissioning table { font-size: 11.5px; margin: 2px 0 4px; } section.commissioning td, section.commissioning th { padding: 2px 4px; }
section.commissioning .grid2 { display: grid; grid-template-columns: 1.05fr 1fr; gap: 4px 12px; }
@media print { section.commissioning .chart { zoom: 0.8; } section.commissioning p, section.commissioning li { font-size: 10.5px; }
  section.commissioning table { font-size: 10px; } section.commissioning h2 { margin-top: 0; } }
</style>"""
TOP_WARDS = 5
COLOURS = [BLUE, ORANGE, LIGHT_BLUE, "#6b8e23", "#8b4513"]


def _esc(value) -> str:
    return html.escape("" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value))


def _n(value) -> float | None:
    return None if isinstance(value, str) or value is None or pd.isna(value) else float(value)


def _est(value) -> str:
    v = _n(value)
    return "" if v is None else f"{v:,.0f}"


def _range(lower, upper) -> str:
    lo, hi = _n(lower), _n(upper)
    return "" if lo is None or hi is None else f"{lo:,.0f} to {hi:,.0f}"


def _count(value, cell) -> str:
    return count_html(value, cell if isinstance(cell, str) else None)


def projection_figure(pub: Publication) -> go.Figure:
    """Identified neglect now and projected 1-3 years ahead, per area, with 95 % intervals."""
    table = pub.tables.get("projection", pd.DataFrame())
    figure = go.Figure()
    if not table.empty:
        rows = table[table["age_band"] == "All ages"]
        for i, (la, _) in enumerate(pub.areas):
            part = rows[(rows["la_code"] == la) & rows["projected_children"].notna()]
            if part.empty:
                continue
            y = part["projected_children"].astype(float)
            # plain lists: plotly.js does not decode typed arrays inside error_y ("Invalid array length")
            figure.add_trace(go.Scatter(
                x=[int(v) for v in part["projection_year"]], y=y.tolist(), mode="lines+markers", name=pub.area_name(la),
                line={"color": COLOURS[i % len(COLOURS)], "dash": "solid"},
                error_y=dict(type="data", symmetric=False, array=(part["ci95_upper"].astype(float) - y).tolist(),
                             arrayminus=(y - part["ci95_lower"].astype(float)).tolist(), thickness=1.2, width=4),
                hovertemplate="mid-%{x}: about %{y:,.0f} children<extra>" + pub.area_name(la) + "</extra>"))
    figure.update_layout(**LAYOUT, title="Identified neglect (tiers 1-4, 12 months): now and projected (95 %)",
                         yaxis_title="children", xaxis=dict(dtick=1, title="mid-year"), height=250,
                         legend=dict(orientation="h", y=-0.3))
    return figure


def _area_table(pub: Publication, view: pd.DataFrame) -> str:
    whole = view[view["ward_code"] == "all"]
    head = ("<tr><th scope='col' class='text'>area</th><th scope='col'>identified (12 months)</th>"
            "<th scope='col'>of them, with a service</th><th scope='col'>without a service</th>"
            "<th scope='col'>estimated need</th><th scope='col'>95 % / range</th>"
            "<th scope='col'>estimated without a service</th><th scope='col'>in early help</th>"
            "<th scope='col'>in need (incl. CP)</th><th scope='col'>on a CP plan</th>"
            "<th scope='col'>commissioned places</th><th scope='col'>caseload</th><th scope='col'>spare</th></tr>")
    rows = []
    for la, name in pub.areas:
        r = whole[whole["la_code"] == la]
        if r.empty:
            continue
        r = r.iloc[0]
        status = r["service_activity_status"]
        places = (f"<td>{_est(r['commissioned_capacity'])}</td>{_count(r['commissioned_caseload'], r['_cell_commissioned_caseload'])}"
                  f"<td>{_est(r['spare_capacity'])}</td>") if status == "supplied" else \
            f"<td colspan='3' class='text'>{_esc(status)}</td>"
        estimate = _est(r["estimated_need_central"]) or (f"at least {_est(r['estimated_need_at_least'])}"
                                                         if _n(r["estimated_need_at_least"]) is not None else "no estimate")
        rows.append(
            f"<tr><th scope='row' class='text'>{_esc(name)}</th>"
            f"{_count(r['identified_children'], r['_cell_identified_children'])}"
            f"{_count(r['identified_receiving_service'], r['_cell_identified_receiving_service'])}"
            f"{_count(r['identified_without_service'], r['_cell_identified_without_service'])}"
            f"<td data-figure='{la}:estimated_need'>{_esc(estimate)}</td>"
            f"<td>{_esc(_range(r['estimated_need_lower'], r['estimated_need_upper']))}</td>"
            f"<td>{_esc(_est(r['estimated_without_service_central']) or _range(r['estimated_without_service_lower'], r['estimated_without_service_upper']))}</td>"
            f"{_count(r['early_help_children'], r['_cell_early_help_children'])}"
            f"{_count(r['child_in_need_children'], r['_cell_child_in_need_children'])}"
            f"{_count(r['cp_plan_children'], r['_cell_cp_plan_children'])}{places}</tr>")
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def _projection_table(pub: Publication) -> str:
    table = pub.tables.get("projection", pd.DataFrame())
    if table.empty:
        return "<p>Projection: not available (the projection mart was not built).</p>"
    rows = table[table["age_band"] == "All ages"]
    years = sorted(int(y) for y in rows["projection_year"].dropna().unique())
    head = "<tr><th scope='col' class='text'>area</th>" + "".join(
        f"<th scope='col'>mid-{y}{' (now)' if i == 0 else ''}</th>" for i, y in enumerate(years)) + "</tr>"
    body = []
    notes = set()
    for la, name in pub.areas:
        part = rows[rows["la_code"] == la].set_index("projection_year")
        cells = []
        for y in years:
            if y not in part.index:
                cells.append("<td></td>")
                continue
            r = part.loc[y]
            if _n(r["projected_children"]) is None:
                notes.add(str(r["availability_note"]))
                cells.append("<td class='text'>not available</td>")
                continue
            cells.append(f"<td>{_est(r['projected_children'])} ({_range(r['ci95_lower'], r['ci95_upper'])})</td>")
        body.append(f"<tr><th scope='row' class='text'>{_esc(name)}</th>{''.join(cells)}</tr>")
    base = rows["snpp_base_year"].dropna()
    source = f"ONS {int(base.iloc[0])}-based subnational population projections" if len(base) else \
        "no ONS subnational population projections supplied"
    note = "".join(f"<li>{_esc(n)}</li>" for n in sorted(notes) if n and n != "nan")
    return (f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"
            f"<p class='note'>Rounded to 10, with the 95 % interval of the current rates; {_esc(source)}.</p>"
            + (f"<ul class='note'>{note}</ul>" if note else ""))


def _wards(pub: Publication, view: pd.DataFrame) -> str:
    parts = []
    for la, name in pub.areas:
        if la == "partnership":
            continue
        wards = view[(view["la_code"] == la) & (view["area_level"] == "ward")
                     & ~view["ward_code"].isin(["Not known", "Outside the authority", "Outside the partnership",
                                                "Across the authority"])].copy()
        if wards.empty:
            continue
        wards["_order"] = wards["identified_without_service"].map(lambda v: -1 if isinstance(v, str) else v)
        top = wards.sort_values(["_order", "ward_name"], ascending=[False, True]).head(TOP_WARDS)
        parts.append(f"<div><h3>{_esc(name)}: wards with the most children identified but without a service</h3>" + html_table(
            top, {"ward_name": "ward", "identified_children": "identified", "identified_without_service": "without a service",
                  "service_children": "children in a service", "commissioned_capacity": "places",
                  "commissioned_caseload": "caseload"},
            counts=("identified_children", "identified_without_service", "service_children", "commissioned_caseload"),
            text=("ward_name",), digits={"commissioned_capacity": 0}) + "</div>")
    return f"<div class='grid2'>{''.join(parts)}</div>"


def _words(pub: Publication, view: pd.DataFrame) -> str:
    whole = view[(view["la_code"] == "partnership") & (view["ward_code"] == "all")]
    if whole.empty:
        return "<p>The commissioning view was not built for this quarter.</p>"
    r = whole.iloc[0]
    quarter = f"{pub.quarter_end:%d %B %Y}"
    if isinstance(r["identified_children"], str) and r["identified_children"] == "x":
        return "<p>Identified neglect cannot be counted this quarter (see Sources), so there is no commissioning view.</p>"
    text = f"In the 12 months to {quarter}, {fmt_count(r['identified_children'])} children had identified neglect; "
    if r["identified_receiving_service"] == "x":
        text += (f"whether they had a service on {quarter} cannot be said: the records of early help, children in need "
                 "or CP plans were not all supplied for the quarter. ")
    else:
        text += (f"on {quarter} {fmt_count(r['identified_receiving_service'])} of them were in early help, in need or "
                 f"on a CP plan and {fmt_count(r['identified_without_service'])} had none of these services. ")
    if _n(r["estimated_without_service_central"]) is not None:
        text += (f"The model estimates about {_est(r['estimated_need_central'])} neglected children in all (95 % "
                 f"{_range(r['estimated_need_lower'], r['estimated_need_upper'])}; a model estimate, likelier too low "
                 f"than too high), so about {_est(r['estimated_without_service_central'])} neglected children, identified "
                 "or not, had no service on that day (more, if the estimate is low). ")
    elif _n(r["estimated_need_at_least"]) is not None:
        text += (f"At least {_est(r['estimated_need_at_least'])} children were neglected in all, and the data cannot "
                 f"rule out up to {_est(r['estimated_need_upper'])} (no central figure is published: see Methods), so "
                 f"{_range(r['estimated_without_service_lower'], r['estimated_without_service_upper'])} neglected "
                 "children, identified or not, had no service on that day. ")
    if r["service_activity_status"] == "supplied":
        text += (f"Commissioned services reported {_est(r['commissioned_capacity'])} places and "
                 f"{fmt_count(r['commissioned_caseload'])} children on {quarter}.")
    else:
        text += f"Commissioned services' activity: {r['service_activity_status']} for this quarter."
    projection = pub.tables.get("projection", pd.DataFrame())
    p = projection[(projection["la_code"] == "partnership") & (projection["age_band"] == "All ages")] \
        if not projection.empty else projection
    if len(p) and p["projected_children"].notna().sum() > 1:
        last = p[p["projected_children"].notna()].sort_values("horizon_years").iloc[-1]
        now = p[p["horizon_years"] == 0]
        if len(now) and _n(now["projected_children"].iloc[0]) is not None:
            text += (f" At today's rates, identified neglect would be about {_est(last['projected_children'])} children "
                     f"({_range(last['ci95_lower'], last['ci95_upper'])}) by mid-{int(last['projection_year'])}, "
                     f"against {_est(now['projected_children'].iloc[0])} now.")
    return f"<p class='headline'>{_esc(text)}</p>"


def commissioning_section(pub: Publication, chart) -> str:
    """The commissioning page (see the module docstring)."""
    view = pub.tables.get("commissioning", pd.DataFrame())
    if view.empty:
        return ("<section class='commissioning' id='commissioning'><h2>Commissioning: need, services and the next "
                "three years</h2><p>Not available: the commissioning marts were not built for this quarter.</p></section>")
    projection = pub.tables.get("projection", pd.DataFrame())
    data = projection[projection["age_band"] == "All ages"] if not projection.empty else projection
    if data.empty or data["projected_children"].notna().sum() == 0:  # nothing to draw: say so, no empty chart
        figure = ("<p>Projection: not available for this quarter (see the table: no projection file, or counts "
                  "suppressed).</p>")
    else:
        figure = chart("commissioning_projection", projection_figure(pub), ChartData(
            "projection", data, {"la_name": "area", "projection_year": "mid-year", "projected_children": "children",
                                 "ci95_lower": "95 % from", "ci95_upper": "95 % to", "availability_note": "based on"},
            text=("la_name", "availability_note"), digits={"projected_children": 0, "ci95_lower": 0, "ci95_upper": 0,
                                                           "projection_year": 0}))
    return "\n".join([
        STYLE, "<section class='commissioning' id='commissioning'>",
        "<h2>Commissioning: need, services and the next three years</h2>", _words(pub, view),
        "<h3>Need against service on the quarter end</h3>", _area_table(pub, view),
        "<div class='grid2'><div>", figure, "</div><div><h3>Projected children with identified neglect</h3>",
        _projection_table(pub), "</div></div>", _wards(pub, view),
        "<p class='note'>Identified: tiers 1-4 in the 12 months to the quarter end. With a service: in early help, in "
        "need or on a CP plan with the same authority on the quarter end. Estimated need: the capture-recapture "
        "estimate of all neglected children (rounded to 10), made per authority: the workbook's ward figures share it "
        "out by each ward's identified children, an assumption, not an estimate for the ward. Places and caseload: "
        "the services' own returns. Projection: current age-specific rates x ONS projections; the interval covers "
        "the rates' uncertainty only (Methods). Ward table for every ward: the workbook's Commissioning sheet.</p>",
        "</section>"])
