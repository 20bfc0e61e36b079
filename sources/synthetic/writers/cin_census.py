"""CIN census XML, one file per authority and collection year (year to 31 March).

Every collection year from ``cfg.first_census_year`` to the last 31 March of the
simulation gets a return, written as returns of that year were:

* up to 2023-24: ``GenderCurrent`` (1 male, 2 female) and ``true``/``false`` yes/no items;
* 2024-25: ``Sex`` (M/F/U) and ``true``/``false``;
* 2025-26 on: ``Sex`` and 0/1, valid against ``CIN_schema_2026.xsd``.

Codes are those in use in the return's year (``CODE_HISTORY``): a simulated event that
today has its own code is recorded, in a year before that code existed, with the code
DfE's lists offered then (a step-down closed after assessment is RC8 before RC9, a
referral from early help an "LA services, other internal" 5B before 5D, child
criminal exploitation "gangs" 13A before 24A). ``truth/cin_code_history.csv`` lists the
mapping; ``truth/cin_episodes.csv`` keeps the simulated event.

Defects stay schema-valid (the DfE validation rules, not the schema, catch them): a
closure before its referral, an authorisation after the reference date, a Child
element repeated.
"""
from __future__ import annotations

from collections import defaultdict
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

from ..population import age_on
from ..simulate import EPOCH, NEVER, _days
from .common import _choose

# Codes that did not exist in earlier collection years, and what a return of such a year
# recorded for the same event. Years are collection years (year to 31 March): 2023 = 2022-23.
# Sources: DfE CIN census XSDs by year (e.g. SocialFinanceDigitalLabs/liia-tools
# cin_census_pipeline/spec/CIN_schema_2021.xsd ... 2023.xsd: 24A first in the 2022 schema,
# 5D and RC9 first in 2023), and the code lists' own definitions (see CODE_HISTORY notes).
CODE_HISTORY = [
    {"element": "ReasonForClosure", "code": "RC9", "first_year": 2023, "before": "RC8",
     "meaning": "case closed after assessment, referred to early help (step-down)",
     "note": "before 2022-23 the only closure-after-assessment code was RC8 'case closed after assessment, "
             "no further action' (no further social-care action; the early-help referral went unrecorded)"},
    {"element": "ReferralSource", "code": "5D", "first_year": 2023, "before": "5B",
     "meaning": "LA services - early help (step-up)",
     "note": "before 2022-23 early help was one of the authority's own non-social-care services: "
             "5B 'LA services - other internal (department other than social care)'"},
    {"element": "AssessmentFactors", "code": "24A", "first_year": 2022, "before": "13A",
     "meaning": "child criminal exploitation",
     "note": "before 2021-22 the nearest factor was 13A 'gangs: at risk of harm because of involvement "
             "in/with gangs' (county lines)"},
]
_BEFORE = {(c["element"], c["code"]): (c["first_year"], c["before"]) for c in CODE_HISTORY}
_FACTOR_CODES_CURRENT_FROM = max(c["first_year"] for c in CODE_HISTORY if c["element"] == "AssessmentFactors")
LEGACY_GENDER_UNTIL = 2024  # GenderCurrent up to 2023-24; Sex from 2024-25
ZERO_ONE_FROM = 2026  # yes/no items 0/1 from 2025-26 (true/false before)


def recorded_code(element: str, code: str, year: int) -> str:
    """The code a return of collection ``year`` carries for a simulated ``code``."""
    first, before = _BEFORE.get((element, code), (0, code))
    return code if year >= first else before


def _iso(day: int) -> str:
    return str(EPOCH + np.timedelta64(int(day), "D"))


def _group(frame: pd.DataFrame, key: str) -> dict:
    out = defaultdict(list)
    for row in frame.itertuples(index=False):
        out[getattr(row, key)].append(row)
    return out


def census_years(sim, cfg) -> list[tuple[int, int, int]]:
    """(collection year, first day, reference day) for every year from ``cfg.first_census_year``
    whose 31 March falls in the simulation, each year starting on a simulated day."""
    last = sim.quarter_ends[-1]
    years = []
    for year in range(cfg.first_census_year, int(str(last)[:4]) + 1):
        start, ref = np.datetime64(f"{year - 1}-04-01"), np.datetime64(f"{year}-03-31")
        if ref > last:
            break
        if start < sim.quarter_starts[0]:
            raise ValueError(f"first_census_year {cfg.first_census_year}: the {year} census year starts on {start}, "
                             f"before simulation_start {cfg.simulation_start}; move simulation_start earlier")
        years.append((year, _days(start), _days(ref)))
    return years


def write_cin_census(sim, cfg, csc_ids, identities, folder, incoming, rng) -> list[dict]:
    """Write every census file; return one source-record row per Child element written."""
    records = []
    ep = sim.episodes
    by_episode = {name: _group(getattr(sim, name), "episode_id") for name in ["assessments", "cin_plans", "section47", "cp_plans"]}
    reviews = _group(sim.reviews, "plan_id")
    rates = cfg.defects
    idents = {lea: dict(zip(frame.index, frame.itertuples(index=False))) for lea, frame in identities.items()}
    id_of = {lea: ids.to_dict() for lea, ids in csc_ids.items()}
    for year, y0, ref in census_years(sim, cfg):
        legacy_gender = year <= LEGACY_GENDER_UNTIL
        yes, no = ("1", "0") if year >= ZERO_ONE_FROM else ("true", "false")
        for la in cfg.authorities:
            e = ep[(ep["lea"] == la.lea) & (ep["referral_day"] <= ref) & (ep["closure_day"] >= y0)]
            ids = id_of[la.lea]
            children = sorted(e["person_id"].unique(), key=ids.__getitem__)
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
            ident = idents[la.lea]
            dobs = np.array([ident[pid].dob for pid in children], dtype="datetime64[D]")
            ages = age_on(dobs, np.datetime64(_iso(ref))) if n else np.zeros(0, int)
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
                rec = ident[pid]
                kind = "date_out_of_order" if i in spoil_order else "future_date" if i in spoil_future else ""
                xml = _child_xml(rec, int(ages[i]), ids[pid], episodes_of[pid], by_episode, reviews, y0, ref, year,
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


def _factors_in_year(factors: str, year: int) -> list[str]:
    """The assessment's factors as a return of ``year`` lists them (each code once, in code order)."""
    codes = factors.split(",")
    if year >= _FACTOR_CODES_CURRENT_FROM:
        return codes
    return sorted({recorded_code("AssessmentFactors", f, year) for f in codes}, key=_factor_order)


def _factor_order(code: str) -> tuple[int, str]:
    return int("".join(ch for ch in code if ch.isdigit())), code


def _child_xml(rec, age, la_child_id, episodes, by_episode, reviews, y0, ref, year, legacy_gender, yes, no, defect,
               rng) -> str:
    """One Child element; ``rec`` is the identity the CSC system holds, ``age`` the age at the reference date."""
    dob = np.datetime64(rec.dob, "D")
    out = ["<Child>\n<ChildIdentifiers>\n", f"<LAchildID>{escape(str(la_child_id))}</LAchildID>\n"]
    if rec.upn and age >= 4:
        out.append(f"<UPN>{rec.upn}</UPN>\n")
    elif age < 5:
        out.append("<UPNunknown>UN1</UPNunknown>\n")
    out.append(f"<PersonBirthDate>{dob}</PersonBirthDate>\n")
    if legacy_gender:
        out.append(f"<GenderCurrent>{1 if rec.sex == 'M' else 2}</GenderCurrent>\n")
    else:
        out.append(f"<Sex>{rec.sex}</Sex>\n")
    out.append("</ChildIdentifiers>\n<ChildCharacteristics>\n")
    out.append(f"<Ethnicity>{rec.ethnicity}</Ethnicity>\n<Disabilities>\n<Disability>{rec.disability}</Disability>\n</Disabilities>\n")
    out.append("</ChildCharacteristics>\n")
    spoiled = False
    for e in episodes:
        closed = e.closure_day <= ref
        closure = e.closure_day
        if defect == "date_out_of_order" and closed and not spoiled:
            closure = e.referral_day - int(rng.integers(1, 40))
            spoiled = True
        out.append(f"<CINdetails>\n<CINreferralDate>{_iso(e.referral_day)}</CINreferralDate>\n")
        out.append(f"<ReferralSource>{recorded_code('ReferralSource', e.referral_source, year)}</ReferralSource>\n"
                   f"<PrimaryNeedCode>{e.primary_need}</PrimaryNeedCode>\n")
        if closed:
            out.append(f"<CINclosureDate>{_iso(closure)}</CINclosureDate>\n"
                       f"<ReasonForClosure>{recorded_code('ReasonForClosure', e.reason_for_closure, year)}</ReasonForClosure>\n")
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
                out.extend(f"<AssessmentFactors>{f}</AssessmentFactors>\n" for f in _factors_in_year(a.factors, year))
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
