"""The board report's section "What happens to the children we identify" (issue 21), one per area.

Built only from the publication's journey tables (:mod:`dashboards.journey_tables`, after disclosure control):
the flows between tiers since the previous quarter end (a Sankey; suppressed flows are not drawn, and the
section says how many), what happened to the children first identified 4 and 8 quarters earlier (bars with
Wilson intervals), time in neglect and re-entry, the route of neglect-related work from referral to CP plan
in each authority (with the mart's flags where they differ beyond chance), the evidence of the children each
service takes on (the threshold profile, between authorities and against a year earlier) and GCP2 progress
when ``marts.gcp2_progress`` was supplied. Every chart has its table under "View as table", and every count in
a table carries ``data-count`` and ``data-cell``. The words say what changed only where the 95 % intervals
do not overlap ("more than chance"), and "no clear change" otherwise.

It prints on at most two A4 landscape pages per area: it starts a page, charts sit two to a row, and the
tables stay folded in print.
"""
from __future__ import annotations

import html

import pandas as pd

from . import journey_figures as J
from .figures import fmt_count, fmt_rate
from .html_parts import ChartData
from .journey_cells import ALL, IDENTIFIED, shift
from .tables import Publication

STYLE = """<style>
section.journeys { break-before: page; } section.journeys h3 { margin-top: 10px; }
section.journeys .grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 6px; }
section.journeys details { margin: 2px 0 8px; font-size: 13px; } section.journeys summary { cursor: pointer; color: #1f4e79; }
section.journeys ul.findings li { font-size: 14px; margin: 2px 0; } section.journeys p { margin: 4px 0; }
@media print { section.journeys details { display: none; } section.journeys h3 { break-after: avoid; }
  section.journeys .chart { break-inside: avoid; zoom: 0.72; } section.journeys ul.findings li { font-size: 11px; } }
</style>"""
NOT_AVAILABLE = "not available (the journey marts were not built for this quarter)"
NOT_A_THRESHOLD = ("entrants", "neglect_factor", "factors_known")  # not compared a year apart in the findings
GCP2_MISSING = "GCP2 progress: not available (no repeat GCP2 assessments supplied)"


def _esc(value) -> str:
    return html.escape("" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value))


def _n(value) -> float | None:
    return None if isinstance(value, str) or value is None or pd.isna(value) else float(value)


def compare(lower, upper, other_lower, other_upper) -> str | None:
    """'higher' / 'lower' when the two 95 % intervals do not overlap, None when they do or one is blank."""
    values = [_n(v) for v in (lower, upper, other_lower, other_upper)]
    if any(v is None for v in values):
        return None
    if values[0] > values[3]:
        return "higher"
    if values[1] < values[2]:
        return "lower"
    return None


def _pct(value, lower, upper) -> str:
    if _n(value) is None:
        return "c"
    return f"{value:.0f} % ({lower:.0f} to {upper:.0f})"


def _data(table: str, frame: pd.DataFrame, columns: dict, counts=(), text=()) -> ChartData:
    """A chart's published rows (table ``table`` of the publication): its "View as table" and CSV download,
    as every chart of the report has them (:class:`dashboards.html_parts.ChartData`)."""
    return ChartData(table, frame, columns, counts=tuple(counts), text=tuple(text))


def _flows(pub: Publication, la_code: str, chart, findings: list[str]) -> str:
    flows = pub.tables["journey_flows"]
    flows = flows[flows["la_code"] == la_code]
    if flows.empty:
        reason = _not_yet(pub, 3, "a flow needs the quarter end before this one")
        return f"<h3>Moves between tiers</h3><p>Flows between tiers: {reason}.</p>"
    previous = pd.Timestamp(flows["previous_period_end"].iloc[0])
    figure, hidden = J.sankey_figure(flows, f"Moves between tiers: {previous:%d %b %Y} to {pub.quarter_end:%d %b %Y}")
    grid = flows[(flows["from_state"] != ALL) & (flows["to_state"] != ALL)]
    margin = flows[flows["to_state"] == ALL].set_index("from_state")["children"]
    was = [margin.get(t) for t in IDENTIFIED]
    stay = grid[grid["from_state"].isin(IDENTIFIED) & grid["to_state"].isin(IDENTIFIED)]["children"]
    gone = grid[grid["from_state"].isin(IDENTIFIED) & grid["to_state"].isin(["none", "moved away/aged out"])]
    came = grid[~grid["from_state"].isin(IDENTIFIED) & grid["to_state"].isin(IDENTIFIED)]["children"]
    if all(_n(v) is not None for v in [*was, *stay, *gone["children"], *came]):
        total, kept = sum(map(float, was)), sum(map(float, stay))
        none = sum(float(v) for v, t in zip(gone["children"], gone["to_state"]) if t == "none")
        findings.append(f"Of the {total:,.0f} children with identified neglect (tiers 1-4) on {previous:%d %B %Y}, "
                        f"{kept:,.0f} still had it on {pub.quarter_end:%d %B %Y} and {none:,.0f} had no evidence of "
                        f"neglect any more; {sum(map(float, came)):,.0f} children came into tiers 1-4.")
    note = (f"{hidden} flow{' is' if hidden == 1 else 's are'} suppressed (fewer than {pub.threshold} children, or "
            "hidden to protect one) and not drawn; the totals beside each tier include them." if hidden
            else "Every flow is drawn.")
    data = _data("journey_flows", flows, {"from_state": "previous quarter end", "to_state": "this quarter end",
                                          "children": "children"}, counts=("children",), text=("from_state", "to_state"))
    return (chart(f"{la_code}_journey_flows", figure, data) + f"<p class='note'>{_esc(note)} Children with no "
            "evidence on either day are not in the chart.</p>")


def _not_yet(pub: Publication, months: int, why: str) -> str:
    """Why a journey figure is not shown: in a partnership's first ``months`` of extracts it cannot exist yet
    (the extracts start later than ``months`` before this quarter end: ``why`` says what it needs); otherwise
    the journey marts were not built."""
    first = pub.meta.get("first_extract")
    if first is not None and pd.Timestamp(first) > pd.Timestamp(pub.quarter_end) + pd.offsets.MonthEnd(-months):
        return f"not available yet ({why}, and the extracts start on {pd.Timestamp(first):%d %B %Y})"
    return NOT_AVAILABLE


def _cohorts(pub: Publication, la_code: str, chart, findings: list[str]) -> str:
    cohorts = pub.tables["journey_cohorts"]
    cohorts = cohorts[cohorts["la_code"] == la_code]
    earlier = cohorts[cohorts["period_end"] != pub.quarter_end.isoformat()]
    cohorts = cohorts[cohorts["period_end"] == pub.quarter_end.isoformat()]
    if cohorts.empty:
        reason = _not_yet(pub, 12, "children are followed 4 and 8 quarters after they are first identified")
        return f"<p>What happened to the children identified a year ago: {reason}.</p>"
    first = cohorts.iloc[0]
    for horizon in (4, 8):
        rows = cohorts[cohorts["horizon_quarters"] == horizon].set_index("outcome")
        if "resolved" not in rows.index:
            continue
        r = rows.loc["resolved"]
        text = (f"Of the {fmt_count(r['cohort_children'])} children first identified on "
                f"{pd.Timestamp(r['cohort_period_end']):%d %B %Y}, "
                f"{_pct(r['share_pct'], r['ci95_lower_pct'], r['ci95_upper_pct'])} had no evidence of neglect "
                f"{horizon} quarters on")
        if "escalated to a CP plan" in rows.index:
            e = rows.loc["escalated to a CP plan"]
            text += f" and {_pct(e['share_pct'], e['ci95_lower_pct'], e['ci95_upper_pct'])} had been escalated to a CP plan"
        before = earlier[(earlier["horizon_quarters"] == horizon) & (earlier["outcome"] == "resolved")]
        if len(before) and _n(before["share_pct"].iloc[0]) is not None and _n(r["share_pct"]) is not None:
            b = before.iloc[0]
            way = compare(r["ci95_lower_pct"], r["ci95_upper_pct"], b["ci95_lower_pct"], b["ci95_upper_pct"])
            text += (f"; for the children identified a year before them {b['share_pct']:.0f} %: "
                     + (f"{way} by more than chance" if way else "no clear change"))
        findings.append(text + ".")
    title = "What happened to the children first identified 4 and 8 quarters ago"
    complete = "" if bool(first["history_complete"]) else (" Fewer than 12 months of history before the cohort: "
                                                            "'first identified' may include children known before.")
    data = _data("journey_cohorts", cohorts, {"horizon_quarters": "quarters on", "cohort_period_end": "first identified",
                                              "outcome": "outcome", "children": "children", "cohort_children": "of",
                                              "share_pct": "%", "ci95_lower_pct": "95 % from", "ci95_upper_pct": "95 % to"},
                 counts=("children", "cohort_children"), text=("cohort_period_end", "outcome"))
    return (chart(f"{la_code}_journey_cohorts", J.cohort_figure(cohorts, title), data)
            + f"<p class='note'>Shares of each cohort with 95 % Wilson intervals.{_esc(complete)}</p>")


def _spells(pub: Publication, la_code: str, chart, findings: list[str]) -> str:
    spells = pub.tables["journey_spells"]
    spells = spells[spells["la_code"] == la_code]
    before = spells[spells["period_end"] != pub.quarter_end.isoformat()].set_index("item")
    spells = spells[spells["period_end"] == pub.quarter_end.isoformat()]
    if spells.empty:
        return f"<p>Time in neglect and re-entry: {NOT_AVAILABLE}.</p>"
    rows = spells.set_index("item")
    r, e = rows.loc["re-entry within 12 months"], rows.loc["escalated to a CP plan"]
    text = (f"Of {fmt_count(r['of_spells'])} spells of identified neglect begun in the 12 months, "
            f"{fmt_count(r['spells'])} ({_pct(r['share_pct'], r['ci95_lower_pct'], r['ci95_upper_pct'])}) were "
            f"re-entries within 12 months of an earlier spell and {fmt_count(e['spells'])} "
            f"({_pct(e['share_pct'], e['ci95_lower_pct'], e['ci95_upper_pct'])}) have escalated to a CP plan")
    if "re-entry within 12 months" in before.index and _n(r["share_pct"]) is not None \
            and _n(before.loc["re-entry within 12 months", "share_pct"]) is not None:
        b = before.loc["re-entry within 12 months"]
        way = compare(r["ci95_lower_pct"], r["ci95_upper_pct"], b["ci95_lower_pct"], b["ci95_upper_pct"])
        text += (f"; re-entries a year earlier: {b['share_pct']:.0f} %, "
                 + (f"{way} by more than chance" if way else "no clear change"))
    findings.append(text + ".")
    longest = rows.loc["open: over 2 years"]
    findings.append(f"{fmt_count(rows.loc['open', 'spells'])} children have an open spell of identified neglect; "
                    f"{fmt_count(longest['spells'])} of them for over 2 years.")
    data = _data("journey_spells", spells, {"item": "spells", "spells": "children", "of_spells": "out of",
                                            "share_pct": "%", "ci95_lower_pct": "95 % from", "ci95_upper_pct": "95 % to"},
                 counts=("spells", "of_spells"), text=("item",))
    return chart(f"{la_code}_journey_time", J.spells_figure(spells, "Open spells of identified neglect: time so far"),
                 data)


def _conversion(pub: Publication, la_code: str, chart, findings: list[str]) -> str:
    conversion = pub.tables["journey_conversion"]
    if conversion.empty:
        return f"<p>From referral to CP plan: {NOT_AVAILABLE}.</p>"
    names = dict(pub.areas)
    for start, end in (("assessment", "section 47"), ("section 47", "initial conference")):
        rows = conversion[(conversion["from_stage"] == start) & (conversion["to_stage"] == end)
                          & (conversion["la_code"] != "partnership")]
        step = f"{start} -> {end}"
        if len(rows) < 2 or rows["rate_pct"].isna().any():
            continue
        said = "; ".join(f"{names.get(r.la_code, r.la_code)} {_pct(r.rate_pct, r.ci95_lower_pct, r.ci95_upper_pct)}"
                         for r in rows.itertuples())
        differ = rows["authorities_differ"].iloc[0]  # the mart's flag (blank where a count is c)
        if differ is None or pd.isna(differ):
            continue
        verdict = ("the authorities differ by more than chance (95 % intervals do not overlap)" if bool(differ)
                   else "no clear difference between the authorities")
        findings.append(f"Neglect-related {step.replace(' -> ', ' to ')}: {said}: {verdict}.")
    own = conversion[conversion["la_code"].isin([la_code] if la_code != "partnership" else list(names))]
    data = _data("journey_conversion", own, {"la_code": "area", "step": "step", "numerator": "reached",
                                             "denominator": "of", "rate_pct": "%", "ci95_lower_pct": "95 % from",
                                             "ci95_upper_pct": "95 % to", "significantly_higher_than": "higher than",
                                             "significantly_lower_than": "lower than"},
                 counts=("numerator", "denominator"),
                 text=("la_code", "step", "significantly_higher_than", "significantly_lower_than"))
    return chart(f"{la_code}_journey_conversion", J.funnel_figure(
        conversion, names, "Neglect-related episodes: referral to CP plan (* authorities differ)"), data)


def _profile(pub: Publication, la_code: str, chart, findings: list[str]) -> str:
    profile = pub.tables["journey_thresholds"]
    if profile.empty:
        return f"<p>Threshold profile: {NOT_AVAILABLE}.</p>"
    names = dict(pub.areas)
    quarter, year_ago = pub.quarter_end.isoformat(), shift(pub.quarter_end, -4)
    now = profile[profile["period_end"] == quarter].set_index(["la_code", "service_level", "indicator"])
    before = profile[profile["period_end"] == year_ago].set_index(["la_code", "service_level", "indicator"])
    changes = []
    for (la, level, indicator), r in now.iterrows():
        # 16A is one of the things that make a child neglect-related, so its share among neglect-related
        # entrants is partly circular, and whether the assessment is complete yet is recording, not threshold:
        # neither is read as a change of threshold
        if la != la_code or indicator in NOT_A_THRESHOLD or (la, level, indicator) not in before.index:
            continue
        b = before.loc[(la, level, indicator)]
        way = compare(r["ci95_lower"], r["ci95_upper"], b["ci95_lower"], b["ci95_upper"])
        if way:
            unit = "" if indicator == "mean_gcp2_max" else " %"
            changes.append(f"{r['indicator_label'].removesuffix(' %')} among children entering {level}: "
                           f"{fmt_rate(r['value'], 1 if unit == '' else 0)}{unit} against "
                           f"{fmt_rate(b['value'], 1 if unit == '' else 0)}{unit} a year earlier ({way})")
    findings.append("Evidence of the children services take on, against a year earlier: "
                    + ("; ".join(changes) + " (95 % intervals do not overlap)." if changes else
                       "no clear change in any measure (every 95 % interval overlaps last year's)."))
    own = profile[profile["la_code"] == la_code]
    data = _data("journey_thresholds", own, {"period_end": "quarter", "service_level": "service",
                                             "indicator_label": "indicator", "children": "children", "out_of": "out of",
                                             "value": "% or mean", "ci95_lower": "95 % from", "ci95_upper": "95 % to"},
                 counts=("children", "out_of"), text=("period_end", "service_level", "indicator_label"))
    return chart(f"{la_code}_journey_thresholds", J.profile_figure(
        profile, la_code, names, quarter, year_ago,
        "Who services take on: neglect-related children entering each service (% with each, 95 % interval)"), data)


def _gcp2(pub: Publication, la_code: str, chart, findings: list[str]) -> str:
    gcp2 = pub.tables.get("journey_gcp2")
    if gcp2 is None:
        return f"<h3>GCP2 progress</h3><p>{_esc(GCP2_MISSING)}</p>"
    gcp2 = gcp2[gcp2["la_code"] == la_code]
    if gcp2.empty:
        return f"<h3>GCP2 progress</h3><p>{_esc(GCP2_MISSING)}</p>"
    overall = gcp2[(gcp2["service"] == "all") & (gcp2["domain"] == "any domain")]
    if len(overall):
        r = overall.iloc[0]
        findings.append(f"Of {fmt_count(r['children'])} children with repeat GCP2 assessments, "
                        f"{_pct(r['share_improved_pct'], r['ci95_lower_pct'], r['ci95_upper_pct'])} improved in at "
                        "least one domain between their first and latest.")
    return ("<h3>GCP2 progress</h3>"
            + chart(f"{la_code}_journey_gcp2", J.gcp2_figure(gcp2, "Children whose GCP2 scores improved, by domain"),
                    _data("journey_gcp2", gcp2, {"service": "service", "domain": "domain", "children": "children",
                                                 "improved": "improved", "unchanged": "unchanged", "worse": "worse",
                                                 "share_improved_pct": "% improved", "ci95_lower_pct": "95 % from",
                                                 "ci95_upper_pct": "95 % to"},
                          counts=("children", "improved", "unchanged", "worse"), text=("service", "domain"))))


def journey_section(pub: Publication, la_code: str, chart) -> str:
    """The section for one area (HTML); ``chart``: the report's chart maker (name, figure) -> HTML."""
    findings: list[str] = []
    if "journey_flows" not in pub.tables:
        return (f"{STYLE}<section class='journeys' id='journeys-{_esc(la_code)}'><h3>What happens to the children we "
                f"identify</h3><p>Journeys and thresholds: {NOT_AVAILABLE}.</p><p>{_esc(GCP2_MISSING)}</p></section>")
    flows = _flows(pub, la_code, chart, findings)
    cohorts = _cohorts(pub, la_code, chart, findings)
    spells = _spells(pub, la_code, chart, findings)
    conversion = _conversion(pub, la_code, chart, findings)
    profile = _profile(pub, la_code, chart, findings)
    gcp2 = _gcp2(pub, la_code, chart, findings)
    listed = "".join(f"<li>{_esc(f)}</li>" for f in findings)
    return "\n".join([
        STYLE, f"<section class='journeys' id='journeys-{_esc(la_code)}'>",
        f"<h3>What happens to the children we identify: {_esc(pub.area_name(la_code))}</h3>",
        f"<ul class='findings'>{listed}</ul>",
        "<p class='note'>A difference is called only where the 95 % intervals do not overlap; otherwise it may be "
        "chance. Counts from 1 to 4 are c and not drawn.</p>",
        f"<div class='grid2'><div>{flows}</div><div>{cohorts}</div></div>",
        f"<div class='grid2'><div>{spells}</div><div>{conversion}</div></div>",
        profile, gcp2, "</section>"])
