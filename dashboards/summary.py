"""Page 1 of the board paper: the quarter on one page, for every area at once.

* the headline in words (the partnership's :func:`dashboards.report.headline` sentence);
* the tier ladder of every area: each rung's rate per 10,000 (children), identified neglect (tiers 1-4)
  and the publication rule's estimate of all neglected children;
* the position against England and the other authority (statistical neighbours' figures are not held:
  "not available", as is any comparator without a figure);
* the three largest changes since the previous quarter among the trend table's figures (tiers 1, 1-4 and
  1-5, both measures, every area), each with the trend mart's verdict: "more than chance" only where the
  mart calls it higher or lower (the two 95 % intervals do not overlap), nothing stronger;
* a data-quality traffic light from the report's own quality tables, with its reasons.

One number per concept: every figure here is read from the same published row and formatted by the same
function (:func:`dashboards.figures.fmt_rate`, :func:`dashboards.figures.fmt_count`) as in the area's
sections, and each copy carries the same ``data-figure`` key, so a test can check they read the same.
"""
from __future__ import annotations

import pandas as pd

from . import figures as F
from .html_parts import count_html, esc, figure_html
from .tables import SUPPRESSED, Publication

CHANGE_GROUPS = {"Tier 1": "CP plans under neglect (tier 1)", "Tiers 1-4": "identified neglect (tiers 1-4)",
                 "Tiers 1-5": "identified or possible neglect (tiers 1-5)"}
MEASURE_WORDS = {"12_month": "12 months", "point": "at quarter end"}
VALIDITY_GREEN, VALIDITY_RED = 95.0, 90.0


def ladder_key(la_code: str, group: str) -> str:
    return f"{la_code}:ladder:{group}"


def _rate_and_count(row: pd.Series, key: str) -> str:
    """'<rate> (<children>)' in one table cell, the rate marked with ``key``; 'x' when not available."""
    if row["children"] == "x":
        return f'<td>{count_html("x", None, "span")}</td>'
    rate = "" if pd.isna(row["rate_per_10k"]) else F.fmt_rate(row["rate_per_10k"])  # blank, as the section's table
    return (f'<td>{figure_html(rate, key, "span")} '
            f'({count_html(row["children"], row["_cell_children"], "span")})</td>')


def ladder_table(pub: Publication, headline) -> str:
    """Every area's ladder: a row per rung, a column per area."""
    areas = [code for code, _ in pub.areas]
    head = "".join(f'<th scope="col">{esc(pub.area_name(c))}</th>' for c in areas)
    rows = []
    overall = {la: F._prevalence(pub, la).set_index("tier_group") for la in areas}
    for group, label in [*F.LADDER, ("Tiers 1-4", "= identified neglect (tiers 1-4)")]:
        cells = "".join(_rate_and_count(overall[la].loc[group], ladder_key(la, group)) for la in areas)
        strong = " style='font-weight:bold'" if group == "Tiers 1-4" else ""
        rows.append(f'<tr{strong}><th scope="row" class="text">{esc(label)}</th>{cells}</tr>')
    hidden = []
    for la in areas:
        h = headline(pub, la)
        if h["hidden_status"] == "estimate":
            hidden.append(f"<td>{figure_html(F.fmt_rate(h['hidden_rate'], 0), f'{la}:hidden_rate', 'span')}</td>")
        elif h["hidden_status"] == "lower bound and range":
            hidden.append(f"<td>at least {figure_html(F.fmt_rate(h['hidden_at_least'], 0), f'{la}:hidden_at_least', 'span')}</td>")
        else:
            hidden.append("<td>no estimate</td>")
    rows.append(f'<tr><th scope="row" class="text">Estimated, all neglected children (model)</th>{"".join(hidden)}</tr>')
    return (f'<table class="summary-ladder"><thead><tr><th scope="col" class="text">per 10,000 (children), '
            f"12 months</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _versus(rate, word) -> str:
    if rate is None or pd.isna(rate):
        return "not available"
    return f"{F.fmt_rate(rate)} ({esc(word) if isinstance(word, str) else 'no comparison'})"


POSITION_ROWS = {"CP plan: neglect (tier 1), at quarter end": "CP plan: neglect, at quarter end",
                 "Identified neglect (1-4), 12 months": "Identified neglect (1-4), 12 months"}


def position_table(pub: Publication) -> str:
    """CP-neglect at the quarter end (England publishes it) and identified neglect (12 months) of each area
    against England and the other authority (region and neighbours: each authority's section 6)."""
    rows = []
    for la, name in pub.areas:
        spine = F.spine_rows(pub, la).set_index("indicator")
        for indicator, short in POSITION_ROWS.items():
            if indicator not in spine.index:
                continue
            row = spine.loc[indicator]
            rows.append(f'<tr><th scope="row" class="text">{esc(name)}</th><td class="text">{esc(short)}</td>'
                        f"<td>{'x' if row['children'] == 'x' else F.fmt_rate(row['rate_per_10k'])}</td>"
                        f"<td>{_versus(row['england_rate_per_10k'], row['vs_england'])}</td>"
                        f"<td>{_versus(row['other_la_rate_per_10k'], row['vs_other_la'])}</td></tr>")
    return ('<table><thead><tr><th scope="col" class="text">area</th><th scope="col" class="text">per 10,000</th>'
            '<th scope="col">rate</th><th scope="col">England</th><th scope="col">other authority</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table><p class='note'>England's CP-neglect figure is derived (DfE 2020). "
            "Region and statistical neighbours on DfE's published measures: each authority's section 6. Higher or "
            "lower: the 95 % interval excludes the comparator.</p>")


def largest_changes(pub: Publication, top: int = 3) -> pd.DataFrame:
    """The ``top`` largest relative changes since the previous quarter among the published trend rows
    whose change the trend mart judged (both quarters' counts published). A rate that was 0 has no relative
    change (from 0 to 0 is none at all; from 0 to any rate is not a percentage): such rows are left out."""
    trend = pub.tables["trend"].copy()
    trend["when"] = pd.to_datetime(trend["period_end"])
    now = trend[trend["when"] == pd.Timestamp(pub.quarter_end)]
    before = trend[trend["when"] == pd.Timestamp(pub.quarter_end) + pd.offsets.MonthEnd(-3)]
    keys = ["measure", "la_code", "tier_group"]
    pairs = now.merge(before[keys + ["rate_per_10k", "children"]], on=keys, suffixes=("", "_before"))
    pairs = pairs[pairs["change_since_previous_quarter"].notna() & pairs["rate_per_10k"].notna()
                  & pairs["rate_per_10k_before"].notna() & (pairs["children_before"] != SUPPRESSED)]
    pairs = pairs[pd.to_numeric(pairs["rate_per_10k_before"], errors="coerce") > 0]
    pairs = pairs[pairs["tier_group"].isin(CHANGE_GROUPS)]
    pairs = pairs.assign(relative=(pairs["rate_per_10k"] / pairs["rate_per_10k_before"] - 1) * 100)
    pairs = pairs.assign(size=pairs["relative"].abs()).sort_values(["size", "la_code"], ascending=[False, True])
    return pairs.head(top)


def changes_html(pub: Publication) -> str:
    pairs = largest_changes(pub)
    if pairs.empty:
        return ("<p>No change since the previous quarter can be judged: there is no earlier quarter, or its figures or "
                "this quarter's are suppressed, not available (a source missing) or 0.</p>")
    items = []
    for row in pairs.itertuples():
        verdict = ("<b>more than chance</b> (the two quarters' 95 % intervals do not overlap)"
                   if row.change_since_previous_quarter in ("higher", "lower") else
                   "<b>within chance</b> (the 95 % intervals overlap)")
        items.append(f"<li>{esc(pub.area_name(row.la_code))}, {CHANGE_GROUPS[row.tier_group]}, "
                     f"{MEASURE_WORDS.get(row.measure, row.measure)}: {F.fmt_rate(row.rate_per_10k_before)} to "
                     f"{F.fmt_rate(row.rate_per_10k)} per 10,000 ({row.relative:+.1f} %): {verdict}.</li>")
    return f"<ol>{''.join(items)}</ol>"


def quality_light(pub: Publication) -> tuple[str, list[str]]:
    """('green' | 'amber' | 'red', reasons) from the report's quality and sources tables: red when a source
    could not be read this quarter or a source has under 90 % of its rows valid; amber when a source was not
    supplied or carried forward, under 95 % valid, or a file of the 12 months was not read; green otherwise."""
    reasons_red, reasons_amber = [], []
    sources = pub.tables["sources"]
    names = dict(pub.areas)
    for status, bucket in (("failed", reasons_red), ("not supplied", reasons_amber), ("carried forward", reasons_amber)):
        hit = sources[sources["status"] == status]
        for row in hit.drop_duplicates(["la_code", "source_label"]).itertuples():
            bucket.append(f"{names.get(row.la_code, row.la_code)}: {row.source_label} {status} this quarter")
    validity = pub.tables["data_quality"][["source", "la_code", "validity_pct"]].dropna()
    for row in validity.itertuples():
        words = (f"{row.source} ({names.get(row.la_code, row.la_code)}): {row.validity_pct:.1f} % of rows pass every "
                 "DfE validation rule")
        if row.validity_pct < VALIDITY_RED:
            reasons_red.append(words)
        elif row.validity_pct < VALIDITY_GREEN:
            reasons_amber.append(words)
    files = pub.tables.get("files_not_loaded", pd.DataFrame())
    if len(files) and files["reason"].astype(str).str.startswith("not read").any():
        reasons_amber.append(f"{int(files['reason'].astype(str).str.startswith('not read').sum())} file(s) of the "
                             "12 months could not be read (see Data quality)")
    if reasons_red:
        return "red", reasons_red + reasons_amber
    return ("amber", reasons_amber) if reasons_amber else ("green", [])


def quality_html(pub: Publication) -> str:
    light, reasons = quality_light(pub)
    words = {"green": "Green: every source supplied and at least 95 % of each source's rows valid",
             "amber": "Amber: read the figures with the caveats below",
             "red": "Red: a source could not be read, or under 90 % of a source's rows pass the DfE validation "
                    "rules: read Data quality before relying on the figures"}[light]
    shown = reasons[:4] + ([f"and {len(reasons) - 4} more (see Data quality)"] if len(reasons) > 4 else [])
    listed = "".join(f"<li>{esc(r)}</li>" for r in shown)
    return (f'<p><span class="light light-{light}" data-light="{light}">{esc(light.upper())}</span> {esc(words)}.</p>'
            + (f"<ul>{listed}</ul>" if listed else ""))


def summary_section(pub: Publication, headline, headline_html) -> str:
    """Page 1. ``headline`` and ``headline_html``: the report's headline functions (so the sentence and its
    numbers are the section's own)."""
    meta = pub.meta
    return "\n".join([
        '<section class="summary-page" id="summary">',
        f"<h1>Neglect: how many children, and where? {esc(meta['partnership_name'])}</h1>",
        f"<p class='note'>Board summary, quarter ending {meta['quarter_end']:%d %B %Y}. Extracts from "
        f"{meta['first_extract']:%d %B %Y} to {meta['last_extract']:%d %B %Y}. Counts from 1 to {pub.threshold - 1} "
        "are shown as c; x: not available. Figures are the same rows as the sections that follow.</p>",
        "<div class='summary-block'>", headline_html(pub, "partnership"), "</div>",
        "<div class='summary-grid'><div>",
        "<h2 class='minor'>The tier ladder</h2>", ladder_table(pub, headline),
        "<h2 class='minor'>Data quality</h2>", quality_html(pub),
        "</div><div>",
        "<h2 class='minor'>Against England and neighbours</h2>", position_table(pub),
        "<h2 class='minor'>Three largest changes since last quarter</h2>", changes_html(pub),
        "</div></div></section>"])
