"""The board report: one self-contained HTML file per quarter (plotly.js embedded once, no web access).

Sections, for the partnership and then each authority: 1 headline, 2 tier ladder, 3 trend,
4 breakdowns, 5 localities (ward map and ranked chart), 6 benchmarks, 7 practice indicators; then
the commissioning page (need against service and the projection, :mod:`dashboards.commissioning_section`), and
for the partnership as a whole: 8 data quality, 9 methods and caveats. Prints on A4 landscape
(each area starts a page). Built only from a :class:`dashboards.tables.Publication`; every count in
a table cell carries ``data-count`` so tests can check that none is an unsuppressed small number.
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import plotly.offline

from . import chart_data as D
from . import figures as F
from .html_parts import Charts, count_html, esc as _esc, figure_html, html_table
from .print_css import DEFAULT_MARKING, report_css
from .commissioning_section import commissioning_section
from .summary import summary_section
from .benchmarks import benchmarks_html, funnel_html
from .journeys_section import journey_section
from .tables import CONSISTENCY_METHOD, VALIDATION_NOTE, Publication
from .trend_figures import practice_trend_figure, ratio_trend_figure

LIBRARY_ID = "plotly-library"  # the embedded plotly.js (third-party code; privacy scans skip it)
# printing from the browser: Plotly draws in pixels, so each chart is fitted to its box before the page prints
RESIZE_FOR_PRINT = """<script>
window.addEventListener('beforeprint', function () {
  document.querySelectorAll('.js-plotly-plot').forEach(function (gd) { Plotly.Plots.resize(gd); });
});
</script>"""


def headline(pub: Publication, la_code: str) -> dict:
    """The numbers of the headline sentence (see :func:`headline_html`); rates per 10,000, 12 months."""
    prevalence = F._prevalence(pub, la_code).set_index("tier_group")
    identified, cp = prevalence.loc["Tiers 1-4"], prevalence.loc["Tier 1"]
    hidden = pub.tables["hidden"]
    hidden = hidden[(hidden["la_code"] == la_code) & (hidden["linkage"] == "match threshold")]
    trend = pub.tables["trend"]
    latest = trend[(trend["la_code"] == la_code) & (trend["measure"] == "12_month") & (trend["tier_group"] == "Tiers 1-4")
                   & (pd.to_datetime(trend["period_end"]) == pd.Timestamp(pub.quarter_end))]
    ratio = pub.tables["identification"]
    ratio = ratio[(ratio["la_code"] == la_code) & (ratio["measure"] == "12_month")]
    return {
        "identified_rate": identified["rate_per_10k"], "identified_lower": identified["ci95_lower"],
        "identified_upper": identified["ci95_upper"], "identified_children": identified["children"],
        "identified_cell": identified["_cell_children"], "cp_cell": cp["_cell_children"],
        "cp_rate": cp["rate_per_10k"], "cp_children": cp["children"],
        "hidden_rate": hidden["estimate_rate_per_10k"].iloc[0] if len(hidden) else float("nan"),
        "hidden_at_least": hidden["at_least_rate_per_10k"].iloc[0] if len(hidden) else float("nan"),
        "hidden_lower": hidden["ci95_lower_rate_per_10k"].iloc[0] if len(hidden) else float("nan"),
        "hidden_upper": hidden["ci95_upper_rate_per_10k"].iloc[0] if len(hidden) else float("nan"),
        "hidden_status": hidden["status"].iloc[0] if len(hidden) else "observed only",
        "hidden_method": hidden["method"].iloc[0] if len(hidden) else "",
        "hidden_message": hidden["message"].iloc[0] if len(hidden) else "",
        "change_quarter": latest["change_since_previous_quarter"].iloc[0] if len(latest) else None,
        "change_year": latest["change_since_year_ago"].iloc[0] if len(latest) else None,
        "ratio": ratio["identified_per_cp_neglect_child"].iloc[0] if len(ratio) else float("nan"),
        "identified_availability": identified.get("availability", "complete") or "complete",
    }


def headline_html(pub: Publication, la_code: str) -> str:
    h = headline(pub, la_code)
    if h["identified_availability"] == "not supplied":
        return ("<p class='headline'>No extract was supplied for this quarter, so there are no figures for it; it is "
                "left out of the partnership's figures.</p>")
    if h["identified_availability"] == "not available":
        return ("<p class='headline'>Identified neglect cannot be counted this quarter: none of its sources was "
                "supplied (see Sources below).</p>")
    partial = (" (<b>at least</b>: some tiers could not be counted because their source was not supplied; see "
               "Sources below)" if h["identified_availability"] == "incomplete" else "")
    if h["hidden_status"] == "estimate":
        hidden = (f"an estimated <b data-figure='{la_code}:hidden_rate' data-headline='hidden_rate'>{F.fmt_rate(h['hidden_rate'], 0)}</b> per 10,000 "
                  f"({F.fmt_rate(h['hidden_lower'], 0)} to {F.fmt_rate(h['hidden_upper'], 0)}; at least "
                  f"{F.fmt_rate(h['hidden_at_least'], 0)}) including children no service has yet identified (a model "
                  "estimate, likelier too low than too high: read its caveats in Methods)")
    elif h["hidden_status"] == "lower bound and range":
        hidden = (f"at least <b data-figure='{la_code}:hidden_at_least' data-headline='hidden_at_least'>{F.fmt_rate(h['hidden_at_least'], 0)}</b> per 10,000 "
                  f"(possibly up to {F.fmt_rate(h['hidden_upper'], 0)}) including children no service has yet "
                  "identified (" + ("no central estimate: on our own data the method missed every list it could "
                                    "check in the same direction; see Methods)" if h["hidden_method"] == CONSISTENCY_METHOD
                                    else "too few lists for a central estimate: see Methods)"))
    else:
        hidden = f"no estimate of unidentified children can be made this quarter: {_esc(h['hidden_message'])}"
    uncompared = not all(isinstance(c, str) for c in (h["change_quarter"], h["change_year"]))
    return (f'<p class="headline"><b data-figure="{la_code}:identified_rate" data-headline="identified_rate">{F.fmt_rate(h["identified_rate"])}</b> children '
            f"per 10,000 ({F.fmt_rate(h['identified_lower'])} to {F.fmt_rate(h['identified_upper'])}; "
            f"{count_html(h['identified_children'], h['identified_cell'], 'span')} children) had identified neglect "
            f"in the last 12 months{partial}; CP plans under neglect alone show "
            f"<b data-figure='{la_code}:cp_rate' data-headline='cp_rate'>{F.fmt_rate(h['cp_rate'])}</b> "
            f"({count_html(h['cp_children'], h['cp_cell'], 'span')} children): "
            f"<b data-figure='{la_code}:ratio' data-headline='ratio'>{F.fmt_rate(h['ratio'])}</b> "
            f"children with identified neglect for each child on a CP plan under neglect; {hidden}.</p>"
            f"<p>Identified neglect {change_words(h['change_quarter'], 'last quarter')} and "
            f"{change_words(h['change_year'], 'a year ago')} (a change is called only where the 95 % intervals do not "
            "overlap" + ("; no comparison where there is no figure for the earlier quarter, or a source was missing "
                         "in either" if uncompared else "") + ").</p>")


def change_words(change, when: str) -> str:
    """The trend mart's judgement of a change (``higher``, ``lower``, ``no significant change``, or none: no figure
    to compare with) in words, e.g. 'is higher than last quarter'."""
    if change in ("higher", "lower"):
        return f"is {change} than {when}"
    if isinstance(change, str):
        return f"shows no clear change from {when}"
    return f"cannot be compared with {when}"


def sources_html(pub: Publication, la_code: str) -> str:
    """What fed this area's figures: each source's status for the quarter (per authority for the partnership),
    and a sentence for every tier group that could not be counted in full."""
    sources = pub.tables["sources"]
    if la_code != "partnership":
        sources = sources[sources["la_code"] == la_code]
    names = dict(pub.areas)
    sources = sources.assign(authority=sources["la_code"].map(lambda c: names.get(c, c)))
    overall = F._prevalence(pub, la_code)
    single = overall[overall["tier_group"].str.fullmatch(r"Tier \d") & (overall["availability"] == "not available")]
    lines = [f"<li>{_esc(r.availability_note)}</li>" for r in single.drop_duplicates("tier_group").itertuples()]
    if len(lines):
        lines.append("<li>Tier groups that include a tier not available are counted from their other tiers and read "
                     "as <b>at least</b>.</li>")
    population = overall["population_note"].dropna() if "population_note" in overall else pd.Series(dtype=str)
    if len(population):
        lines.append(f"<li>{_esc(population.iloc[0])}</li>")
    absent = sources.loc[~sources["authority_present"].astype(bool), "authority"].unique()
    if la_code == "partnership" and len(absent):
        lines.append(f"<li>{_esc(', '.join(absent))} supplied nothing for this quarter and "
                     f"{'is' if len(absent) == 1 else 'are'} left out of the partnership's figures "
                     "(children and population).</li>")
    listed = f"<ul>{''.join(lines)}</ul>" if lines else ""
    # only what was not simply supplied: the rest is one sentence (a board paper lists exceptions)
    other = sources[sources["status"] != "supplied"]
    table = html_table(other, {"authority": "authority", "source_label": "source", "status": "this quarter",
                               "note": "note"}, text=("authority", "source_label", "status", "note")) if len(other) else ""
    supplied = int((sources["status"] == "supplied").sum())
    return ("<h3>Sources this quarter</h3><p class='note'>A figure whose source was not supplied shows x (not "
            f"available), never 0. {supplied} of {len(sources)} source returns were supplied for the quarter"
            f"{'; the others:' if len(other) else ': every figure below had all its sources.'}</p>" + listed + table)


def breakdown_note(pub: Publication, la_code: str) -> str:
    """How the breakdowns' rates were made: which have a population, and which is modelled."""
    table = pub.tables["prevalence"]
    rows = table[(table["la_code"] == la_code) & (table["measure"] == "12_month")]
    has = lambda b: bool(rows.loc[rows["breakdown"] == b, "population"].notna().any())  # noqa: E731
    parts = []
    if has("deprivation_decile"):
        parts.append("Deprivation: rates per 10,000 children living in the LSOAs of each IMD decile (ONS LSOA "
                     "estimates).")
    if has("ethnicity_group"):
        parts.append("Ethnicity: rates on a modelled population (the Census 2021 ethnic mix of each area applied to "
                     "the ONS estimate of its children: no Census table gives ethnic group for ages 0-17 by small "
                     "area), so read them as approximate; 'Not known' has no population.")
    without = [name for b, name in (("ethnicity_group", "ethnicity"), ("deprivation_decile", "deprivation"))
               if not has(b)] + ["disability"]
    parts.append(f"{', '.join(without).capitalize()} {'has' if len(without) == 1 else 'have'} no population, so "
                 f"{'it shows' if len(without) == 1 else 'they show'} numbers of children (with the interval of the "
                 "count), not rates.")
    return " ".join(parts)


def area_section(pub: Publication, la_code: str, chart, geojson: dict) -> str:
    name = pub.area_name(la_code)
    key = lambda part: f"{la_code}_{part}"  # noqa: E731
    practice = pub.tables["practice"]
    practice = practice[practice["la_code"] == la_code]
    spine = F.spine_rows(pub, la_code)
    parts = [
        f'<section class="area" id="area-{la_code}"><h2>{_esc(name)}</h2>',
        "<h3>1. Headline</h3>", headline_html(pub, la_code), sources_html(pub, la_code),
        "<h3>2. The tier ladder</h3><p class='note keep-with-next'>Each bar adds children whose strongest evidence is "
        "the next tier; the last bar takes the ladder up to the model's estimate of all neglected children (the "
        "publication rule: see Methods).</p>",
        chart(key("tier_ladder"), F.ladder_figure(pub, la_code), D.ladder_data(pub, la_code)),
        "<h3>3. Trend</h3><div class='grid2'>",
        chart(key("trend"), F.trend_figure(pub, la_code), D.trend_data(pub, la_code)),
        chart(key("identification_trend"), ratio_trend_figure(pub, la_code), D.ratio_data(pub, la_code)), "</div>",
        "<p class='note'>Hollow, dotted points: fewer than 12 months of extracts before the window, so evidence "
        "that began earlier is missing and the figure is too low; they are left out of trend tests.</p>",
        "<h3>4. Breakdowns (tiers 1-4, 12 months)</h3><div class='grid3'>",
        *[chart(key(b), F.breakdown_figure(pub, la_code, b), D.breakdown_data(pub, la_code, b))
          for b in ("age_band", "sex", "ethnicity_group", "disability", "deprivation_decile")],
        f"<p class='note'>{_esc(breakdown_note(pub, la_code))}</p></div>",
        "<h3>5. Localities</h3><div class='grid2'>",
        chart(key("ward_map"), F.ward_map(pub, la_code, geojson), D.ward_data(pub, la_code)),
        chart(key("wards_ranked"), F.ward_ranked(pub, la_code), D.ward_data(pub, la_code)), "</div>",
        # the spine chart is for the screen and the PNG: the printed paper has its table (every figure and verdict)
        "<h3>6. Benchmarks</h3>",
        funnel_html(pub, chart) if la_code == "partnership" else benchmarks_html(pub, la_code, chart),
        # this product's tiers against the research figure and the other authority: on screen (the printed paper has
        # tier 1 against England in the table above, and CP-neglect and identified neglect against the other
        # authority on the summary page)
        "<div class='screen-only'><p class='note keep-with-next'>This product's tiers against the England figure "
        "derived from DfE's (tier 1 only), the research '1 in 10' and the partnership's other authority:</p>",
        html_table(spine, {"indicator": "indicator", "children": "children", "rate_per_10k": "per 10,000",
                           "ci95_lower": "95 % from", "ci95_upper": "95 % to", "england_rate_per_10k": "England (derived)",
                           "vs_england": "vs England", "other_la_rate_per_10k": "other authority",
                           "vs_other_la": "vs other authority", "research_rate_per_10k": "research",
                           "vs_research": "vs research"}, counts=("children",), text=("indicator",)), "</div>",
        "<h3>7. Practice indicators</h3>",
        html_table(practice, {"indicator_label": "indicator", "numerator": "children / plans", "denominator": "out of",
                              "rate_pct": "%", "ci95_lower_pct": "95 % from", "ci95_upper_pct": "95 % to",
                              "direction_of_travel": "vs a year ago"},
                   counts=("numerator", "denominator"), text=("indicator_label", "direction_of_travel")),
        chart(key("practice_trend"), practice_trend_figure(pub, la_code), D.practice_data(pub, la_code)),
        journey_section(pub, la_code, chart),  # issue 21: what happens to the children we identify
        "</section>",
    ]
    return "\n".join(parts)


def quality_section(pub: Publication, data_docs_href: str | None) -> str:
    quality, rejects, linkage = pub.tables["data_quality"], pub.tables["rejects"], pub.tables["linkage"]
    files = pub.tables.get("files_not_loaded", pd.DataFrame())
    validity = quality["validity_pct"].dropna()
    linked = linkage[linkage["person_type"] == "child"]["linked_pct"]
    trust = (f"Of the rows in this quarter's extracts, {validity.min():.1f} % to {validity.max():.1f} % per source "
             f"were valid, and {linked.min():.1f} % to {linked.max():.1f} % of each children's source's records were "
             "linked to another record. "
             + ("The figures can be trusted for planning: data problems change them by less than the width of their "
                "intervals." if len(validity) and validity.min() >= 95 else
                "Read the figures with care: at least one source has more than 5 % of its rows invalid."))
    docs = (f'<p>Great Expectations Data Docs (every check on every extract): <a href="{_esc(data_docs_href)}">'
            "open the data docs</a>.</p>" if data_docs_href else "")
    return "\n".join([
        '<section class="quality" id="data-quality"><h2>8. Data quality</h2>', f"<p>{_esc(trust)}</p>", docs,
        html_table(quality, {"source": "source", "la_code": "authority", "rows_read": "rows read",
                             "rows_rejected": "rejected", "nhs_number_pct": "NHS number %", "upn_pct": "UPN %",
                             "dob_pct": "date of birth %", "postcode_matched_pct": "postcode found %",
                             "validity_pct": "valid %"},
                   counts=("rows_read", "rows_rejected"), text=("source", "la_code"), css="long"),
        "<h3>Rows rejected, by rule</h3>",
        html_table(rejects, {"source": "source", "la_code": "authority", "rule": "rule", "rows_rejected": "rows"},
                   counts=("rows_rejected",), text=("source", "la_code", "rule"), css="long"),
        "<h3>Files with rows not loaded (12 months to the quarter end)</h3>",
        html_table(files, {"file": "file", "sheet": "sheet", "source": "source", "rows_read": "rows read",
                           "rows_not_loaded": "not loaded", "reason": "why"},
                   counts=("rows_read", "rows_not_loaded"), text=("file", "sheet", "source", "reason"), css="long")
        if len(files) else "<p>Every row of every file of the 12 months to the quarter end was loaded.</p>",
        "<h3>Linkage</h3>",
        html_table(linkage, {"person_type": "person", "source": "source", "linked_pct": "records linked %",
                             "persons": "persons"}, counts=("persons",), text=("person_type", "source"), css="long"),
        "</section>"])


def consistency_sentence(partnership: pd.DataFrame) -> str:
    """The partnership's internal-consistency result in words (pipeline's own linkage), or '' when not checked."""
    own = partnership[partnership["linkage"] == "match threshold"] if "linkage" in partnership else partnership
    text = own["internal_consistency"].iloc[0] if len(own) and "internal_consistency" in own else None
    if not isinstance(text, str):
        return ""
    return (f"This quarter, the partnership's lists estimated from the others among their own children: {text} "
            "(0 % = right; below 0 = too low).")


def methods_section(pub: Publication) -> str:
    hidden = pub.tables["hidden"]
    partnership = hidden[hidden["la_code"] == "partnership"]
    return "\n".join([
        '<section class="methods" id="methods"><h2>9. Methods and caveats</h2>',
        html_table(pub.tables["methods"], {"topic": "topic", "item": "item", "text": "what it means"},
                   text=("topic", "item", "text"), css="long"),
        "<h3>Hidden prevalence: how sure is it?</h3>",
        "<p>The estimate of children no service has yet identified comes from how often the same children appear "
        "on several lists (social care, early help, adult services and each partner agency's concerns), by a "
        "latent-class model that lets children differ in how likely they are to be on each list, after an "
        "allowance for entries that were not neglect. With four or more lists it is published with a 95 % interval "
        "and an 'at least' figure; with two or three lists only the 'at least' figure and a range, because every "
        "model tried was biased in some situations; where lists overlap too little, nothing. "
        "<b>How this method did on our own data</b> (internal consistency): each list whose size we know is "
        "estimated in turn from the other lists among its own children. When every list checked comes out too "
        "low (or every one too high), the model is missing children in a way the lists share, and its central "
        "figure is biased the same way here: then no central figure is published, only the 'at least' figure "
        "and the model's interval widened by the largest miss. "
        f"{_esc(consistency_sentence(partnership))} "
        f"{_esc(VALIDATION_NOTE)} Estimates are rounded to the nearest 10. The same figures at the lower and upper "
        "linkage thresholds show how much depends on who is taken to be the same child.</p>",
        html_table(partnership, {"linkage": "linkage", "linkage_threshold": "threshold", "status": "published as",
                                 "estimate": "estimated total", "ci95_lower": "95 % from", "ci95_upper": "95 % to",
                                 "at_least": "at least", "lists": "lists"},
                   text=("linkage", "status", "lists"), digits={"linkage_threshold": 2, "estimate": 0, "ci95_lower": 0,
                                                                "ci95_upper": 0, "at_least": 0}),
        "</section>"])


def render_report(pub: Publication, geojson: dict, data_docs_href: str | None = None,
                  marking: str = DEFAULT_MARKING) -> tuple[str, dict]:
    """(HTML text, {chart name: figure}) of the board report for ``pub``; ``marking``: the protective
    marking printed at the head and foot of every page (setting ``protective_marking``)."""
    chart = Charts(pub)
    areas = "\n".join(area_section(pub, la_code, chart, geojson) for la_code, _ in pub.areas)
    nav = "".join(f'<a href="#area-{code}">{_esc(name)}</a>' for code, name in pub.areas)
    meta = pub.meta
    quarter = f"{meta['quarter_end']:%d %B %Y}"
    body = "\n".join([
        f"<header class='noprint'><p class='marking'>{_esc(marking or DEFAULT_MARKING)}</p>"
        f"<nav aria-label='Sections'><a href='#summary'>Summary</a>{nav}"
        "<a href='#commissioning'>Commissioning</a><a href='#data-quality'>Data quality</a><a href='#methods'>Methods</a>"
        "<a href='javascript:window.print()'>Print</a></nav></header>",
        "<main>", summary_section(pub, headline, headline_html),
        areas, commissioning_section(pub, chart), quality_section(pub, data_docs_href), methods_section(pub),
        "</main>"])
    page = ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>Neglect board report, quarter ending {quarter}</title>"
            f"<style>{report_css(meta['partnership_name'], quarter, marking)}</style>"
            f"<script type='text/javascript' id='{LIBRARY_ID}'>{plotly.offline.get_plotlyjs()}</script>"
            f"</head><body>{body}{RESIZE_FOR_PRINT}</body></html>")
    return page, chart.figures


def write_report(pub: Publication, geojson: dict, path: Path, data_docs: Path | None = None,
                 marking: str = DEFAULT_MARKING) -> dict:
    """Write the report to ``path``; returns the figures by name (for the PNG exports)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    href = os.path.relpath(data_docs, path.parent) if data_docs is not None and data_docs.exists() else None
    page, figures = render_report(pub, geojson, href, marking)
    path.write_text(page, encoding="utf-8")
    return figures
