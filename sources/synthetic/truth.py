"""What really happened, written beside the extracts for scoring. The pipeline never reads it.

Files (CSV, UTF-8, ISO dates):
  persons.csv             every simulated person: true names, DOB, sex, NHS number, UPN
  households.csv          household, starting authority, deprivation, parental risk flags
  household_members.csv   adult -> child links within a household (mother/father)
  addresses.csv           each household's address history (from inclusive, to exclusive)
  neglect_by_quarter.csv  child-quarters in which the child was neglected (absent = not neglected), every
                          quarter from the start of the first census year to the last extract
  source_records.csv      one row per data row/Child element written: file, line, true person, defect; for
                          an Annex A workbook the sheet ("List 3") and the list's source
                          (annex_a_referrals ...; list 7 is cp_list, list 1 annex_a_contacts, read by none)
  extracts_supplied.csv   one row per file each authority sends per period (census year or quarter):
                          supplied or not (and why), data rows; a file not supplied has no source records
  cin_code_history.csv    codes the CIN census did not have in earlier years and what those returns carry
  identity_defects.csv    errors a system made in a person's identity (system, person, field, defect)
  section47.csv           section 47 enquiries as simulated (episode, start, ICPC day or blank, ICPC not required,
                          lowered_threshold: opened only because the authority's threshold is lower, issue 21)
  cin_episodes.csv, cp_plans.csv, early_help_episodes.csv, adult_episodes.csv  services as simulated
                          (cin_episodes: referral_source and reason_for_closure in today's codes, and
                          stepped_up_from_early_help / stepped_down_to_early_help whatever the year's codes)
  recorded_evidence.csv   neglect evidence each child had recorded, by source and kind, with its window
  partner_concerns.csv    one row per partner-agency concern row written (partners.py): file, line, true
                          person and date, and whether the child was neglected in that quarter
  system_ids.csv          the local identifiers each system gave each person
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .population import RISKS, age_on
from .simulate import NEVER
from .writers.cin_census import CODE_HISTORY
from .writers.common import format_days

ISO = "%Y-%m-%d"


def _iso(days) -> np.ndarray:
    return format_days(np.asarray(days, dtype=np.int64), ISO)


def write_truth(truth_dir: Path, cfg, people, sim, observed_quarters, source_records, identity_defects,
                csc_ids, eh_ids, client_ids, extracts_supplied: pd.DataFrame) -> None:
    truth_dir.mkdir(parents=True, exist_ok=True)
    csv = lambda frame, name: frame.to_csv(truth_dir / name, index=False, lineterminator="\n")  # noqa: E731
    persons = people.persons.copy()
    persons["dob"] = persons["dob"].dt.strftime(ISO)
    csv(persons[["person_id", "household_id", "role", "relationship", "sex", "dob", "ethnicity", "disability",
                 "forename", "surname", "nhs_number", "upn"]], "persons.csv")
    csv(people.households[["household_id", "lea", "la_code", "ethnicity", "deprivation_z", *RISKS]].round(4), "households.csv")
    members = people.persons[["person_id", "household_id", "relationship"]]
    links = members[members["relationship"] != "child"].merge(
        members[members["relationship"] == "child"], on="household_id", suffixes=("_adult", "_child"))
    csv(links.rename(columns={"person_id_adult": "adult_person_id", "person_id_child": "child_person_id",
                              "relationship_adult": "relationship"})[["household_id", "adult_person_id", "child_person_id", "relationship"]],
        "household_members.csv")
    csv(people.addresses.assign(from_date=people.addresses["from_date"].dt.strftime(ISO),
                                to_date=people.addresses["to_date"].dt.strftime(ISO)), "addresses.csv")

    kids = people.persons[people.persons["role"] == "child"].reset_index(drop=True)
    dob = kids["dob"].to_numpy().astype("datetime64[D]")
    rows = []
    for q in observed_quarters:
        end = sim.quarter_ends[q]
        alive = (dob <= end) & (age_on(dob, end) < 18)
        hit = np.flatnonzero(alive & sim.neglect[:, q])
        rows.append(pd.DataFrame({"person_id": kids["person_id"].to_numpy()[hit], "quarter_end": str(end),
                                  "severity": np.array(["low", "moderate", "severe"])[sim.severity[hit]]}))
    csv(pd.concat(rows, ignore_index=True), "neglect_by_quarter.csv")
    csv(source_records, "source_records.csv")
    csv(extracts_supplied, "extracts_supplied.csv")
    csv(pd.DataFrame(CODE_HISTORY)[["element", "code", "meaning", "first_year", "before", "note"]], "cin_code_history.csv")
    csv(pd.DataFrame(identity_defects, columns=["system", "person_id", "field", "defect", "episode"]), "identity_defects.csv")

    day_cols = lambda f: f.assign(**{c: _iso(f[c]) for c in f.columns if c.endswith("_day")})  # noqa: E731
    episodes = sim.episodes.drop(columns=["child_index"]).assign(
        stepped_up_from_early_help=sim.episodes["referral_source"] == "5D",
        stepped_down_to_early_help=sim.episodes["reason_for_closure"] == "RC9")
    csv(day_cols(episodes), "cin_episodes.csv")
    csv(day_cols(sim.cp_plans.drop(columns=["child_index"])), "cp_plans.csv")
    csv(day_cols(sim.section47), "section47.csv")
    csv(day_cols(sim.early_help.drop(columns=["child"])), "early_help_episodes.csv")
    csv(day_cols(sim.adult_episodes.drop(columns=["postcode_row"])), "adult_episodes.csv")
    csv(recorded_evidence(sim), "recorded_evidence.csv")
    ids = [pd.DataFrame({"system": f"csc:{lea}", "person_id": s.index, "local_id": s.to_numpy()}) for lea, s in csc_ids.items()]
    ids += [pd.DataFrame({"system": f"early_help:{lea}", "person_id": s.index, "local_id": s.to_numpy()}) for lea, s in eh_ids.items()]
    ids += [pd.DataFrame({"system": f"adult_{svc}:{lea}", "person_id": s.index, "local_id": s.to_numpy()})
            for (svc, lea), s in client_ids.items()]
    csv(pd.concat(ids, ignore_index=True), "system_ids.csv")


def recorded_evidence(sim) -> pd.DataFrame:
    """Neglect evidence as recorded in each service's system (before extract defects).

    kinds: cp_neg (initial or latest category NEG), cp_mul, cp_other (a plan under
    PHY/EMO/SAB only), assessment_16A, cin_episode, primary_need_N1, eh_16A,
    eh_gcp2_4plus (any GCP2 domain scored 4 or 5), adult_known (a parent known to an
    adult service), adult_concern (and that service raised a child safeguarding concern),
    partner:<agency> (a partner agency recorded a concern: source partner_<agency>, window its
    date, every concern of the simulation whether or not its quarter was extracted; lea is
    the authority the child lived in that day).
    Windows are [start, end] in ISO dates; a blank end means still open at the last extract.
    """
    ep, cp, a, eh = sim.episodes, sim.cp_plans, sim.assessments, sim.early_help
    out = []
    cats = cp[["initial_category", "latest_category"]]
    kind = np.where((cats == "NEG").any(axis=1), "cp_neg", np.where((cats == "MUL").any(axis=1), "cp_mul", "cp_other"))
    out.append(pd.DataFrame({"person_id": cp["person_id"], "lea": cp["lea"], "source": "csc", "kind": kind,
                             "start_day": cp["start_day"], "end_day": cp["end_day"]}))
    out.append(pd.DataFrame({"person_id": ep["person_id"], "lea": ep["lea"], "source": "csc", "kind": "cin_episode",
                             "start_day": ep["referral_day"], "end_day": ep["closure_day"]}))
    n1 = ep[ep["primary_need"] == "N1"]
    out.append(pd.DataFrame({"person_id": n1["person_id"], "lea": n1["lea"], "source": "csc", "kind": "primary_need_N1",
                             "start_day": n1["referral_day"], "end_day": n1["closure_day"]}))
    f16 = a[a["factors"].str.split(",").apply(lambda f: "16A" in f) & (a["authorised_day"] < NEVER)].merge(
        ep[["episode_id", "person_id", "lea", "closure_day"]], on="episode_id")
    out.append(pd.DataFrame({"person_id": f16["person_id"], "lea": f16["lea"], "source": "csc", "kind": "assessment_16A",
                             "start_day": f16["authorised_day"], "end_day": f16["closure_day"]}))
    e16 = eh[eh["factors"].str.split(",").apply(lambda f: "16A" in f)]
    out.append(pd.DataFrame({"person_id": e16["person_id"], "lea": e16["lea"], "source": "early_help", "kind": "eh_16A",
                             "start_day": e16["assessment_day"], "end_day": e16["end_day"]}))
    g = eh[eh[["gcp2_physical_care", "gcp2_safety", "gcp2_love_and_care", "gcp2_stimulation"]].max(axis=1) >= 4]
    out.append(pd.DataFrame({"person_id": g["person_id"], "lea": g["lea"], "source": "early_help", "kind": "eh_gcp2_4plus",
                             "start_day": g["assessment_day"], "end_day": g["end_day"]}))
    kids = sim.adult_household_children.merge(sim.adult_episodes, on="adult_episode_id")
    for kind, frame in (("adult_known", kids), ("adult_concern", kids[kids["safeguarding_concern"]])):
        out.append(pd.DataFrame({"person_id": frame["child_person_id"], "lea": frame["lea"], "source": "adult_services",
                                 "kind": kind, "start_day": frame["start_day"], "end_day": frame["end_day"]}))
    pc = getattr(sim, "partner_concerns", None)
    if pc is not None and not pc.empty:
        out.append(pd.DataFrame({"person_id": pc["person_id"].to_numpy(), "lea": pc["lea"].to_numpy(),
                                 "source": "partner_" + pc["agency"].astype(str), "kind": "partner:" + pc["agency"].astype(str),
                                 "start_day": pc["day"].to_numpy(), "end_day": pc["day"].to_numpy()}))
    ev = pd.concat(out, ignore_index=True).sort_values(["person_id", "kind", "start_day"], kind="stable")
    return ev.assign(start_date=_iso(ev["start_day"]), end_date=_iso(ev["end_day"])).drop(columns=["start_day", "end_day"])
