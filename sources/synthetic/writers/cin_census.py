"""CIN census XML, one file per authority and collection year (year to 31 March).

The latest year follows ``CIN_schema_2026.xsd`` (``Sex`` M/F/U, yes/no as 0/1).
Older years are written as returns of their time were: 2023-24 with the legacy
``GenderCurrent`` (1 male, 2 female) and ``true``/``false``; 2024-25 with ``Sex`` and
``true``/``false``. Defects stay schema-valid (the DfE validation rules, not the
schema, catch them): a closure before its referral, an authorisation after the
reference date, a Child element repeated.
"""
from __future__ import annotations

from collections import defaultdict
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

from ..population import age_on
from ..simulate import EPOCH, NEVER, _days
from .common import _choose


def _iso(day: int) -> str:
    return str(EPOCH + np.timedelta64(int(day), "D"))


def _group(frame: pd.DataFrame, key: str) -> dict:
    out = defaultdict(list)
    for row in frame.itertuples(index=False):
        out[getattr(row, key)].append(row)
    return out


def census_years(sim, extract_quarters) -> list[tuple[int, int, int]]:
    """(collection year, first day, reference day) for each year ending 31 March in the window."""
    years = []
    for q in extract_quarters:
        end = sim.quarter_ends[q]
        if str(end).endswith("-03-31"):
            year = int(str(end)[:4])
            years.append((year, _days(np.datetime64(f"{year - 1}-04-01")), _days(end)))
    return years


def write_cin_census(sim, cfg, csc_ids, identities, extract_quarters, folder, incoming, rng) -> list[dict]:
    """Write every census file; return one source-record row per Child element written."""
    records = []
    ep = sim.episodes
    by_episode = {name: _group(getattr(sim, name), "episode_id") for name in ["assessments", "cin_plans", "section47", "cp_plans"]}
    reviews = _group(sim.reviews, "plan_id")
    rates = cfg.defects
    latest = max(y for y, _, _ in census_years(sim, extract_quarters))
    for year, y0, ref in census_years(sim, extract_quarters):
        legacy_gender = year < latest - 1
        yes, no = ("1", "0") if year == latest else ("true", "false")
        for la in cfg.authorities:
            e = ep[(ep["lea"] == la.lea) & (ep["referral_day"] <= ref) & (ep["closure_day"] >= y0)]
            ids = csc_ids[la.lea]
            children = sorted(e["person_id"].unique(), key=lambda p: ids.loc[p])
            n = len(children)
            episodes_of = _group(e.sort_values(["referral_day", "episode_id"]), "person_id")
            closed = np.array([any(x.closure_day <= ref for x in episodes_of[p]) for p in children], dtype=bool)
            assessed = np.array([any(a.start_day <= ref and a.authorised_day >= y0
                                     for x in episodes_of[p] for a in by_episode["assessments"].get(x.episode_id, []))
                                 for p in children], dtype=bool)
            used = np.zeros(n, bool)
            spoil_order = set(_choose(rng, closed, int(round(rates.date_out_of_order * n)), used))
            spoil_future = set(_choose(rng, assessed, int(round(rates.future_date * n)), used))
            dup = set(_choose(rng, np.ones(n, bool), int(round(rates.duplicate_row * n)), used))
            ident = identities[la.lea]
            file = f"{folder[la.lea]}/{_iso(ref)}/cin_census_{year}.xml"
            parts = [
                '<?xml version="1.0" encoding="UTF-8"?>\n<Message>\n<Header>\n<CollectionDetails>\n'
                f"<Collection>CIN</Collection>\n<Year>{year}</Year>\n<ReferenceDate>{_iso(ref)}</ReferenceDate>\n"
                "</CollectionDetails>\n<Source>\n<SourceLevel>L</SourceLevel>\n"
                f"<LEA>{la.lea}</LEA>\n<SoftwareCode>Local Authority</SoftwareCode>\n<Release>ver 3.1.21</Release>\n"
                f"<SerialNo>001</SerialNo>\n<DateTime>{_iso(ref + 35)}T10:00:00</DateTime>\n</Source>\n</Header>\n<Children>\n"
            ]
            ordinal = 0
            for i, pid in enumerate(children):
                rec = ident.loc[pid]
                kind = "date_out_of_order" if i in spoil_order else "future_date" if i in spoil_future else ""
                xml = _child_xml(rec, ids.loc[pid], episodes_of[pid], by_episode, reviews, y0, ref,
                                 legacy_gender, yes, no, kind, rng)
                copies = 2 if i in dup else 1
                for c in range(copies):
                    ordinal += 1
                    parts.append(xml)
                    defect = "duplicate_row" if c == 1 else kind
                    records.append({"source": "cin_census", "file": file, "line": ordinal, "person_id": int(pid),
                                    "defect": defect, "defect_field": {"date_out_of_order": "CINclosureDate",
                                                                       "future_date": "AssessmentAuthorisationDate"}.get(defect, "")})
            parts.append("</Children>\n</Message>\n")
            path = incoming / file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(parts), encoding="utf-8")
    return records


def _child_xml(rec, la_child_id, episodes, by_episode, reviews, y0, ref, legacy_gender, yes, no, defect, rng) -> str:
    dob = np.datetime64(rec["dob"], "D")
    out = ["<Child>\n<ChildIdentifiers>\n", f"<LAchildID>{escape(str(la_child_id))}</LAchildID>\n"]
    age = int(age_on(np.array([dob]), np.datetime64(_iso(ref)))[0])
    if rec["upn"] and age >= 4:
        out.append(f"<UPN>{rec['upn']}</UPN>\n")
    elif age < 5:
        out.append("<UPNunknown>UN1</UPNunknown>\n")
    out.append(f"<PersonBirthDate>{dob}</PersonBirthDate>\n")
    if legacy_gender:
        out.append(f"<GenderCurrent>{1 if rec['sex'] == 'M' else 2}</GenderCurrent>\n")
    else:
        out.append(f"<Sex>{rec['sex']}</Sex>\n")
    out.append("</ChildIdentifiers>\n<ChildCharacteristics>\n")
    out.append(f"<Ethnicity>{rec['ethnicity']}</Ethnicity>\n<Disabilities>\n<Disability>{rec['disability']}</Disability>\n</Disabilities>\n")
    out.append("</ChildCharacteristics>\n")
    spoiled = False
    for e in episodes:
        closed = e.closure_day <= ref
        closure = e.closure_day
        if defect == "date_out_of_order" and closed and not spoiled:
            closure = e.referral_day - int(rng.integers(1, 40))
            spoiled = True
        out.append(f"<CINdetails>\n<CINreferralDate>{_iso(e.referral_day)}</CINreferralDate>\n")
        out.append(f"<ReferralSource>{e.referral_source}</ReferralSource>\n<PrimaryNeedCode>{e.primary_need}</PrimaryNeedCode>\n")
        if closed:
            out.append(f"<CINclosureDate>{_iso(closure)}</CINclosureDate>\n<ReasonForClosure>{e.reason_for_closure}</ReasonForClosure>\n")
        if e.initial_cpc_day <= ref:
            out.append(f"<DateOfInitialCPC>{_iso(e.initial_cpc_day)}</DateOfInitialCPC>\n")
        for a in by_episode["assessments"].get(e.episode_id, []):
            if a.start_day > ref or (a.authorised_day < y0):
                continue
            out.append(f"<Assessments>\n<AssessmentActualStartDate>{_iso(a.start_day)}</AssessmentActualStartDate>\n")
            authorised = a.authorised_day
            if defect == "future_date" and not spoiled:
                authorised = ref + int(rng.integers(10, 120))
                spoiled = True
            if authorised <= ref or authorised != a.authorised_day:
                out.append(f"<AssessmentAuthorisationDate>{_iso(authorised)}</AssessmentAuthorisationDate>\n")
                out.append("<FactorsIdentifiedAtAssessment>\n")
                out.extend(f"<AssessmentFactors>{f}</AssessmentFactors>\n" for f in a.factors.split(","))
                out.append("</FactorsIdentifiedAtAssessment>\n")
            out.append("</Assessments>\n")
        for p in by_episode["cin_plans"].get(e.episode_id, []):
            if p.start_day > ref or p.end_day < y0:
                continue
            out.append(f"<CINPlanDates>\n<CINPlanStartDate>{_iso(p.start_day)}</CINPlanStartDate>\n")
            if p.end_day <= ref:
                out.append(f"<CINPlanEndDate>{_iso(p.end_day)}</CINPlanEndDate>\n")
            out.append("</CINPlanDates>\n")
        for s in by_episode["section47"].get(e.episode_id, []):
            if s.start_day > ref or max(s.start_day, s.icpc_day if s.icpc_day < NEVER else s.start_day) < y0:
                continue
            out.append(f"<Section47>\n<S47ActualStartDate>{_iso(s.start_day)}</S47ActualStartDate>\n"
                       f"<InitialCPCtarget>{_iso(s.icpc_target_day)}</InitialCPCtarget>\n")
            if s.icpc_day <= ref:
                out.append(f"<DateOfInitialCPC>{_iso(s.icpc_day)}</DateOfInitialCPC>\n")
            out.append(f"<ICPCnotRequired>{yes if s.icpc_not_required else no}</ICPCnotRequired>\n</Section47>\n")
        out.append(f"<ReferralNFA>{yes if e.referral_nfa else no}</ReferralNFA>\n")
        for c in by_episode["cp_plans"].get(e.episode_id, []):
            if c.start_day > ref or c.end_day < y0:
                continue
            out.append(f"<ChildProtectionPlans>\n<CPPstartDate>{_iso(c.start_day)}</CPPstartDate>\n")
            if c.end_day <= ref:
                out.append(f"<CPPendDate>{_iso(c.end_day)}</CPPendDate>\n")
            out.append(f"<InitialCategoryOfAbuse>{c.initial_category}</InitialCategoryOfAbuse>\n"
                       f"<LatestCategoryOfAbuse>{c.latest_category}</LatestCategoryOfAbuse>\n"
                       f"<NumberOfPreviousCPP>{c.previous_plans}</NumberOfPreviousCPP>\n")
            dates = [r.review_day for r in reviews.get(c.plan_id, []) if y0 <= r.review_day <= ref]
            if dates:
                out.append("<Reviews>\n" + "".join(f"<CPPreviewDate>{_iso(d)}</CPPreviewDate>\n" for d in dates) + "</Reviews>\n")
            out.append("</ChildProtectionPlans>\n")
        out.append("</CINdetails>\n")
    out.append("</Child>\n")
    if defect and not spoiled:
        raise AssertionError(f"defect {defect} chosen for a child it cannot apply to")
    return "".join(out)
