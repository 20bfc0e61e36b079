"""Ofsted Annex A workbooks: one per authority per half-year, built from the simulated services.

Each workbook (``<authority>/<half-year end>/ofsted_annex_a.xlsx``, half-years ending 30 September and
31 March) has the template's sheets "List 1" ... "List 11" with the columns of Ofsted's 2024 template
(``formats/Annex_A_schema.yml``), as a case-management system's Annex A report fills it for the six
months to the half-year end:

* List 1 contacts: the contacts that became referrals (contacts that did not are not simulated);
* List 2 early help assessments started in the period, with the factors found and, for Northbrook,
  the GCP2 domain scores (columns the early-help system adds to the template); the child's ID is the
  LA child ID once the child is known to children's social care, else the early-help ID;
* List 3 referrals, List 4 assessments started or authorised in the period (with the factors
  identified at the end, a column the system adds), List 5 section 47 enquiries, List 6 every CIN
  episode open at any time in the period (referrals closed with no further action are not children
  in need), List 7 every CP plan open at any time in the period;
* Lists 8-11 (children in care, care leavers, adoption, adopters: not simulated): the template's
  headers only.

Values as real workbooks hold them: Excel date cells formatted ``mm-dd-yy``, Annex A's lettered
options ("a) Male", "a) WBRI", "b) No", "a) Neglect", "a) Abuse or neglect"), and for Northbrook the
age stored as a decimal number of years shown as a whole number. No row defects (the other extracts
carry them). Every row's place (file, sheet, line) goes to ``truth/source_records.csv``.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from ..population import age_on
from ..simulate import EPOCH, NEVER
from .common import save_workbook
from .extracts import CATEGORY_STYLES

FILE_NAME = "ofsted_annex_a.xlsx"
SOURCE_OF_SHEET = {"List 2": "annex_a_early_help", "List 3": "annex_a_referrals", "List 4": "annex_a_assessments",
                   "List 5": "annex_a_section47", "List 6": "annex_a_children_in_need", "List 7": "cp_list",
                   "List 1": "annex_a_contacts"}  # list 1 is written, and read by no source
ETHNICITY_LETTER = dict(zip(["WBRI", "WIRI", "WIRT", "WOTH", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN",
                             "ABAN", "AOTH", "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT"], "abcdefghijklmnopqrss"))
NEED = {"N1": "a) Abuse or neglect", "N2": "b) Child's disability", "N3": "c) Parents illness or disability",
        "N4": "d) Family in acute stress", "N5": "e) Family dysfunction", "N6": "f) Socially unacceptable behaviour",
        "N7": "g) Low income", "N8": "h) Absent parenting", "N9": "i) Not CIN", "N0": "j) Not stated"}
CLOSURE = {"RC1": "RC1 - Adopted", "RC2": "RC2 - Died", "RC3": "RC3 - Child arrangements order",
           "RC4": "RC4 - Special guardianship order",
           "RC5": "RC5 - Transferred to services of another local authority",
           "RC6": "RC6 - Transferred to adult social care services",
           "RC7": "RC7 - Services ceased for any other reason, including child no longer in need",
           "RC8": "RC8 - Case closed after assessment, no further action",
           "RC9": "RC9 - Case closed after assessment, referred to early help"}
COMMON = ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)"]
HEADERS = {
    "List 1": COMMON + ["Date of Contact", "Contact Source"],
    "List 2": COMMON + ["Assessment start date", "Assessment completion date", "Organisation completing assessment",
                        "Factors identified at assessment", "GCP2 Physical Care", "GCP2 Care of Safety",
                        "GCP2 Love and Care", "GCP2 Stimulation and Education"],
    "List 3": COMMON + ["Date of referral", "Referral Source", "Referral NFA?", "Number of Referrals in Last 12 Months",
                        "Allocated Team", "Allocated Worker"],
    "List 4": COMMON + ["Does the Child have a Disability", "Continuous Assessment Start Date",
                        "Child Seen During Continuous Assessment", "Continuous Assessment Date of Authorisation",
                        "Was the child assessed as requiring LA children's social care support?", "Allocated Team",
                        "Allocated Worker", "Factors identified at the end of assessment"],
    "List 5": COMMON + ["Does the Child have a Disability", "Strategy discussion initiating Section 47 Enquiry Start Date",
                        "Was an Initial Child Protection Conference deemed unnecessary?",
                        "Date of Initial Child Protection Conference",
                        "Did the Initial Child Protection Conference Result in a Child Protection Plan",
                        "Number of Section 47 Enquiries in the last 12 months", "Number of ICPCs in the last 12 months",
                        "Allocated Team", "Allocated Worker"],
    "List 6": COMMON + ["Does the Child have a Disability", "CIN Start Date", "Primary Need Code",
                        "Date Child Was Last Seen", "CIN Closure Date", "Reason for Closure", "Case Status",
                        "Allocated Team", "Allocated Worker"],
    "List 7": COMMON + ["Does the Child have a Disability", "Child Protection Plan Start Date",
                        "Initial Category of Abuse", "Latest Category of Abuse", "Date of the Last Statutory Visit",
                        "Was the Child Seen Alone?", "Date of latest review conference",
                        "Child Protection Plan End Date",
                        "Subject to Emergency Protection Order or Protected Under Police Powers in Last Six Months (Y/N)",
                        "Number of Previous Child Protection Plans", "Allocated Team", "Allocated Worker"],
    "List 8": ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)",
               "Unaccompanied Asylum Seeking Child (UASC) within the Last 12 Months (Y/N)",
               "Does the Child have a Disability", "Date Started to be Looked After", "Child's Category of Need",
               "Is this a second or subsequent period of being a Looked After Child within the last 12 months (Y/N)",
               "Start date of current legal status", "Child's Legal Status", "Date of Latest Statutory Review",
               "Date of Last Social Work Visit", "What is the permanence plan for this child?",
               "Date of Last IRO Visit / Contact to the Child", "Date of Last Health Assessment",
               "Date of Last Dental Check", "Number of Placements in the Last 12 months",
               "Date Ceased to be Looked After", "Reason Ceased to be Looked After",
               "Start Date of Most Recent Placement", "Placement Type", "Placement Provider", "Placement postcode",
               "URN of Placement", "Placement Location", "LA of Placement",
               "Number of Episodes the Child has been 'Missing' from their Placement in the last 12 months",
               "Number of Episodes the Child has been 'Absent' from their Placement in the last 12 months",
               "Was the child offered a Return Interview after their last missing episode (Y/N)?",
               "Did the child accept a Return Interview after their last missing episode (Y/N)?", "Allocated Team",
               "Allocated Worker"],
    "List 9": ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)",
               "Unaccompanied Asylum Seeking Child (UASC), or formerly UASC if 18 or over (Y/N)",
               "Does the Child have a Disability", "Allocated Team", "Allocated Worker",
               "Allocated Personal Advisor", "Eligibility Category", "Latest Pathway Plan Review Date",
               "LA in Touch", "Latest Date of Contact", "Type of Accommodation", "Suitability of Accommodation",
               "Activity Status"],
    "List 10": ["Child Unique ID", "Family identifier", "Gender", "Ethnicity", "Date of Birth",
                "Age of Child (Years)", "Does the Child have a Disability", "Date the Child Entered Care",
                "Date of Decision that Child Should be Placed for Adoption", "Date of Placement Order",
                "Date of Matching Child and Prospective Adopters", "Date Placed for Adoption",
                "Date of Adoption Order", "Date of Decision that Child Should No Longer be Placed for Adoption",
                "Reason Why Child No Longer Placed for Adoption",
                "Date the child was placed for fostering in FFA or concurrent planning placement"],
    "List 11": ["Individual adopter identifier", "Family identifier", "Gender", "Ethnicity", "Disability",
                "Is the (prospective) adopter fostering for adoption?", "Date enquiry received",
                "Date Stage 1 started", "Date Stage 1 ended", "Date Stage 2 started", "Date Stage 2 ended",
                "Date application submitted", "Date application approved", "Date adopter matched with child(ren)",
                "Date child/children placed with adopter(s)", "No. of children placed", "Date of Adoption Order",
                "Date of leaving adoption process", "Reason for leaving adoption process"],
}


def half_year_ends(sim, extract_quarters: list[int]) -> list[int]:
    """The extract quarters ending 30 September or 31 March (each closes a half-year)."""
    return [q for q in extract_quarters if str(sim.quarter_ends[q])[5:7] in ("03", "09")]


def _days(dates) -> np.ndarray:
    return (np.asarray(dates, dtype="datetime64[D]") - EPOCH).astype(np.int64)


def _yes_no(flag) -> np.ndarray:
    return np.where(np.asarray(flag, dtype=bool), "a) Yes", "b) No")


def _people(ident: pd.DataFrame, person_ids: np.ndarray, period_end, decimal_age: bool) -> dict:
    """The five columns every child list starts with (ID added by the caller)."""
    rec = ident.loc[person_ids]
    dob = rec["dob"].to_numpy().astype("datetime64[D]")
    end = np.datetime64(period_end, "D")
    if decimal_age:  # Excel's YEARFRAC-style age, stored with its decimals
        age = ((end - dob).astype(np.int64) / 365.25).round(12)
    else:
        age = age_on(dob, end).astype(np.int64)
    ethnicity = rec["ethnicity"].to_numpy().astype(str)
    return {"gender": np.where(rec["sex"].to_numpy() == "M", "a) Male", "b) Female"),
            "ethnicity": [f"{ETHNICITY_LETTER.get(e, 's')}) {e}" for e in ethnicity],
            "dob": _days(dob), "age": age, "_disabled": rec["disability"].to_numpy() != "NONE"}


def annex_a_rows(sim, cfg, csc_ids, csc_ident, eh_ids, eh_ident, csc_first, workers, half_years, folder) -> dict:
    """{(lea, half-year quarter index): {sheet: DataFrame of its rows (internal columns)}}."""
    rng = np.random.default_rng(cfg.seed + 17)
    # the enquiries opened at a lower threshold (simulate.py, cfg.section47_lower_threshold) draw their team
    # and worker from their own stream, so every other row keeps the values drawn before they existed
    lowered_rng = np.random.default_rng(cfg.seed + 29)
    ep, a, s47, cin, cp = sim.episodes, sim.assessments, sim.section47, sim.cin_plans, sim.cp_plans
    ep_of = ep.set_index("episode_id")
    reviews = sim.reviews
    out = {}
    for la in cfg.authorities:
        decimal_age = la.lea == "991"
        ident, ids = csc_ident[la.lea], csc_ids[la.lea]
        team = lambda m, kind: rng.choice([f"{la.name} {kind} Team {i}" for i in (1, 2, 3)], m)  # noqa: E731
        worker = lambda m: rng.choice(workers, m)  # noqa: E731
        for q in half_years:
            D = int(_days(sim.quarter_ends[q]))
            S = int(_days(sim.quarter_ends[q] - np.timedelta64(182, "D"))) + 1
            end = sim.quarter_ends[q]
            sheets: dict[str, pd.DataFrame] = {}
            mine = ep[(ep["lea"] == la.lea) & (ep["person_id"].isin(ids.index))]

            refs = mine[(mine["referral_day"] >= S) & (mine["referral_day"] <= D)]
            people = _people(ident, refs["person_id"].to_numpy(), end, decimal_age)
            prior = mine[["person_id", "referral_day"]]
            counts = refs[["person_id", "referral_day"]].merge(prior, on="person_id", suffixes=("", "_o"))
            counts = counts[(counts["referral_day_o"] <= counts["referral_day"])
                            & (counts["referral_day_o"] > counts["referral_day"] - 365)]
            n12 = counts.groupby(["person_id", "referral_day"]).size()
            n12 = n12.reindex(pd.MultiIndex.from_frame(refs[["person_id", "referral_day"]])).to_numpy()
            sheets["List 1"] = pd.DataFrame({"id": ids.loc[refs["person_id"]].to_numpy(), **people,
                                             "date": refs["referral_day"].to_numpy(), "source": refs["referral_source"].to_numpy(),
                                             "_person_id": refs["person_id"].to_numpy()})
            sheets["List 3"] = pd.DataFrame({"id": ids.loc[refs["person_id"]].to_numpy(), **people,
                                             "date": refs["referral_day"].to_numpy(),
                                             "source": refs["referral_source"].to_numpy(),
                                             "nfa": _yes_no(refs["referral_nfa"]), "n12": n12,
                                             "team": team(len(refs), "Assessment"), "worker": worker(len(refs)),
                                             "_person_id": refs["person_id"].to_numpy()})

            ass = a.merge(mine[["episode_id", "person_id"]], on="episode_id")
            ass = ass[((ass["start_day"] >= S) & (ass["start_day"] <= D))
                      | ((ass["authorised_day"] >= S) & (ass["authorised_day"] <= D))]
            people = _people(ident, ass["person_id"].to_numpy(), end, decimal_age)
            done = ass["authorised_day"].to_numpy() <= D
            sheets["List 4"] = pd.DataFrame({"id": ids.loc[ass["person_id"]].to_numpy(), **people,
                                             "disabled": _yes_no(people["_disabled"]), "start": ass["start_day"].to_numpy(),
                                             "seen": "a) Yes", "auth": np.where(done, ass["authorised_day"], NEVER),
                                             "support": np.where(done, _yes_no(rng.random(len(ass)) < 0.6), ""),
                                             "team": team(len(ass), "Assessment"), "worker": worker(len(ass)),
                                             "factors": np.where(done, ass["factors"].str.replace(",", "; "), ""),
                                             "_person_id": ass["person_id"].to_numpy()})

            s = s47.merge(mine[["episode_id", "person_id"]], on="episode_id")
            s = s[(s["start_day"] >= S) & (s["start_day"] <= D)]
            people = _people(ident, s["person_id"].to_numpy(), end, decimal_age)
            icpc = np.where(s["icpc_day"].to_numpy() <= D, s["icpc_day"].to_numpy(), NEVER)
            plan_days = set(zip(cp["episode_id"], cp["start_day"]))
            to_plan = np.array([(e, d) in plan_days for e, d in zip(s["episode_id"], s["icpc_day"])], dtype=bool)
            lowered = s["lowered_threshold"].to_numpy(dtype=bool) if "lowered_threshold" in s else np.zeros(len(s), bool)
            s47_team, s47_worker = np.empty(len(s), dtype=object), np.empty(len(s), dtype=object)
            s47_team[~lowered] = team(int((~lowered).sum()), "Child Protection")
            s47_worker[~lowered] = worker(int((~lowered).sum()))
            s47_team[lowered] = lowered_rng.choice([f"{la.name} Child Protection Team {i}" for i in (1, 2, 3)],
                                                   int(lowered.sum()))
            s47_worker[lowered] = lowered_rng.choice(workers, int(lowered.sum()))
            sheets["List 5"] = pd.DataFrame({"id": ids.loc[s["person_id"]].to_numpy(), **people,
                                             "disabled": _yes_no(people["_disabled"]), "start": s["start_day"].to_numpy(),
                                             "not_required": _yes_no(s["icpc_not_required"]), "icpc": icpc,
                                             "plan": np.where(icpc < NEVER, _yes_no(to_plan), ""), "n_s47": 1,
                                             "n_icpc": (icpc < NEVER).astype(int),
                                             "team": s47_team, "worker": s47_worker,
                                             "_person_id": s["person_id"].to_numpy()})

            open_ = mine[(mine["referral_day"] <= D) & (mine["closure_day"] >= S) & ~mine["referral_nfa"]]
            people = _people(ident, open_["person_id"].to_numpy(), end, decimal_age)
            closed = open_["closure_day"].to_numpy() <= D
            on_plan = open_["episode_id"].isin(cp.loc[(cp["start_day"] <= D) & (cp["end_day"] > D), "episode_id"])
            status = np.where(closed, "e) Closed episode", np.where(on_plan, "b) Child Protection plan",
                                                                     "c) Child in need plan"))
            last_seen = np.minimum(np.where(closed, open_["closure_day"], D), D) - rng.integers(0, 20, len(open_))
            sheets["List 6"] = pd.DataFrame({"id": ids.loc[open_["person_id"]].to_numpy(), **people,
                                             "disabled": _yes_no(people["_disabled"]),
                                             "start": open_["referral_day"].to_numpy(),
                                             "need": [NEED[n] for n in open_["primary_need"]],
                                             "seen": np.maximum(last_seen, open_["referral_day"].to_numpy()),
                                             "closure": np.where(closed, open_["closure_day"], NEVER),
                                             "reason": np.where(closed, [CLOSURE[r] for r in open_["reason_for_closure"]], ""),
                                             "status": status, "team": team(len(open_), "CIN"),
                                             "worker": worker(len(open_)), "_person_id": open_["person_id"].to_numpy()})

            plans = cp[(cp["lea"] == la.lea) & (cp["start_day"] <= D) & (cp["end_day"] >= S)
                       & cp["person_id"].isin(ids.index)]
            people = _people(ident, plans["person_id"].to_numpy(), end, decimal_age)
            ended = plans["end_day"].to_numpy() <= D
            style = CATEGORY_STYLES["annex_a"]
            rv = reviews[reviews["plan_id"].isin(plans["plan_id"]) & (reviews["review_day"] <= D)]
            last_review = rv.groupby("plan_id")["review_day"].max().reindex(plans["plan_id"]).fillna(NEVER).astype(np.int64)
            m = len(plans)
            sheets["List 7"] = pd.DataFrame({"id": ids.loc[plans["person_id"]].to_numpy(), **people,
                                             "disabled": _yes_no(people["_disabled"]), "start": plans["start_day"].to_numpy(),
                                             "initial": [style[c] for c in plans["initial_category"]],
                                             "latest": [style[c] for c in plans["latest_category"]],
                                             "visit": np.where(ended, plans["end_day"].to_numpy() - rng.integers(0, 11, m),
                                                               D - rng.integers(0, 15, m)),
                                             "alone": _yes_no(rng.random(m) < 0.7), "review": last_review.to_numpy(),
                                             "end": np.where(ended, plans["end_day"], NEVER), "epo": "b) No",
                                             "previous": plans["previous_plans"].to_numpy(),
                                             "team": team(m, "Child Protection"), "worker": worker(m),
                                             "_person_id": plans["person_id"].to_numpy()})

            eh = sim.early_help[(sim.early_help["lea"] == la.lea) & (sim.early_help["assessment_day"] >= S)
                                & (sim.early_help["assessment_day"] <= D)]
            first = csc_first[la.lea].reindex(eh["person_id"]).to_numpy()
            known = ~np.isnan(first) & (first <= eh["assessment_day"].to_numpy())
            pid = eh["person_id"].to_numpy()
            rec_csc = _people(ident, pid[known], end, decimal_age)
            rec_eh = _people(eh_ident[la.lea], pid[~known], end, decimal_age)
            people = {k: np.concatenate([np.asarray(rec_csc[k]), np.asarray(rec_eh[k])]) for k in rec_csc}
            eh = pd.concat([eh[known], eh[~known]])  # the rows known to children's social care first
            child_id = np.concatenate([ids.reindex(pid[known]).to_numpy(), eh_ids[la.lea].reindex(pid[~known]).to_numpy()])
            pid = np.concatenate([pid[known], pid[~known]])
            completed = eh["assessment_day"].to_numpy() + rng.integers(10, 45, len(eh))
            gcp = {c: (np.where(eh[c].to_numpy() > 0, eh[c].to_numpy(), NEVER) if la.lea == "991"
                       else np.full(len(eh), NEVER)) for c in ["gcp2_physical_care", "gcp2_safety", "gcp2_love_and_care",
                                                               "gcp2_stimulation"]}
            sheets["List 2"] = pd.DataFrame({"id": child_id, **people, "start": eh["assessment_day"].to_numpy(),
                                             "completed": np.where(completed <= D, completed, NEVER),
                                             "organisation": f"{la.name} Family Help",
                                             "factors": eh["factors"].str.replace(",", "; ").to_numpy(), **gcp,
                                             "_person_id": pid})
            for name in ("List 8", "List 9", "List 10", "List 11"):
                sheets[name] = pd.DataFrame()
            out[(la.lea, q)] = {name: sheets[name] for name in HEADERS}
    return out


_DATE_KEYS = {"dob", "date", "start", "auth", "icpc", "seen", "closure", "visit", "review", "end", "completed"}


def write_annex_a(rows: dict, sim, folder: dict, incoming: Path) -> pd.DataFrame:
    """Write every workbook; return where each data row landed (``truth/source_records.csv`` rows)."""
    locations = []
    for (lea, q), sheets in rows.items():
        file = f"{folder[lea]}/{sim.quarter_ends[q]}/{FILE_NAME}"
        wb = Workbook(write_only=True)
        for name, frame in sheets.items():
            ws = wb.create_sheet(name)
            ws.append(HEADERS[name])
            columns = [c for c in frame.columns if not c.startswith("_")]
            for values in frame[columns].itertuples(index=False, name=None):
                ws.append([_cell(ws, column, value) for column, value in zip(columns, values)])
            if len(frame) and name in SOURCE_OF_SHEET:
                locations.append(pd.DataFrame({
                    "source": SOURCE_OF_SHEET[name], "file": file, "line": np.arange(2, len(frame) + 2),
                    "person_id": frame["_person_id"].to_numpy(), "defect": "", "defect_field": "", "sheet": name}))
        _save(wb, incoming / file)
    return pd.concat(locations, ignore_index=True) if locations else pd.DataFrame()


def _cell(ws, column: str, value):
    """A value of an internal column as the workbook cell: day numbers in date columns as date cells."""
    if isinstance(value, (np.integer, int)) and column in _DATE_KEYS:
        if value >= NEVER:
            return None
        cell = WriteOnlyCell(ws, value=datetime(1970, 1, 1) + timedelta(days=int(value)))
        cell.number_format = "mm-dd-yy"
        return cell
    if isinstance(value, (np.integer, int)):
        return None if value >= NEVER else int(value)
    if isinstance(value, (np.floating, float)):
        cell = WriteOnlyCell(ws, value=float(value))
        cell.number_format = "0"  # a decimal age, shown as a whole number
        return cell
    return None if value == "" else str(value)


def _save(wb: Workbook, path: Path) -> None:
    save_workbook(wb, path, "Case management system Annex A report")
