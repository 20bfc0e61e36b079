"""CSV/xlsx extracts: CP list (Annex A list 7), early help, adult services, person list.

Each ``*_rows`` function returns one DataFrame for a source with internal columns
(dates as day numbers), ``_file`` and ``_person_id``; ``generate`` spoils and
writes them with ``writers.common``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..population import age_on
from ..simulate import NEVER, _dates, _days
from .common import RowDefectSpec

CATEGORY_STYLES = {
    "words": {"NEG": "Neglect", "PHY": "Physical abuse", "SAB": "Sexual abuse", "EMO": "Emotional abuse",
              "MUL": "Neglect; Emotional abuse"},
    "annex_a": {"NEG": "a) Neglect", "PHY": "b) Physical abuse", "SAB": "c) Sexual abuse", "EMO": "d) Emotional abuse",
                "MUL": "e) Multiple/not recommended"},
    "codes": {"NEG": "NEG", "PHY": "PHY", "SAB": "SAB", "EMO": "EMO", "MUL": "MUL"},
    "flags": {"NEG": "YNNN", "PHY": "NYNN", "SAB": "NNYN", "EMO": "NNNY", "MUL": "YNNY"},
}
LIST7_COLUMNS = {
    "child_id": "Child Unique ID", "gender": "Gender", "ethnicity": "Ethnicity", "dob": "Date of Birth",
    "age": "Age of Child (Years)", "disabled": "Does the Child have a Disability",
    "start_day": "Child Protection Plan Start Date", "initial": "Initial Category of Abuse",
    "latest": "Latest Category of Abuse", "visit_day": "Date of the Last Statutory Visit",
    "seen_alone": "Was the Child Seen Alone?", "review_day": "Date of latest review conference",
    "end_day": "Child Protection Plan End Date",
    "epo": "Subject to Emergency Protection Order or Protected Under Police Powers in Last Six Months (Y/N)",
    "previous": "Number of Previous Child Protection Plans", "team": "Allocated Team", "worker": "Allocated Worker",
}
LIST7_DATES = ["dob", "start_day", "visit_day", "review_day", "end_day"]
LIST7_DEFECTS = RowDefectSpec(
    invalid_code=[("initial", ["NEGL", "Z", "Financial abuse", "Other"]), ("gender", ["X", "3"])],
    date_pair=("start_day", "end_day"), future_date=["start_day"], blank_mandatory=["child_id", "start_day"])


def category_style(lea: str, quarter_number: int) -> str:
    """Case-management systems change how they export categories (upgrades, new report writers)."""
    if lea == "991":
        return "words" if quarter_number < 6 else "annex_a"
    return "flags" if 4 <= quarter_number < 8 else "codes"


def cp_list_rows(sim, cfg, csc_ids, identities, workers, extract_quarters, folder) -> pd.DataFrame:
    frames = []
    rng = np.random.default_rng(cfg.seed + 7)
    plans = sim.cp_plans
    reviews = sim.reviews.sort_values(["plan_id", "review_day"])
    for la in cfg.authorities:
        ident = identities[la.lea]
        for qn, q in enumerate(extract_quarters):
            D = _days(sim.quarter_ends[q])
            p = plans[(plans["lea"] == la.lea) & (plans["start_day"] <= D) & (plans["end_day"] >= D - 182)]
            if p.empty:
                continue
            rec = ident.loc[p["person_id"].to_numpy()]
            style = CATEGORY_STYLES[category_style(la.lea, qn)]
            ended = p["end_day"].to_numpy() <= D
            rv = reviews[reviews["plan_id"].isin(p["plan_id"]) & (reviews["review_day"] <= D)]
            last_review = rv.groupby("plan_id")["review_day"].max().reindex(p["plan_id"]).fillna(NEVER).astype(np.int64)
            dob = rec["dob"].to_numpy().astype("datetime64[D]")
            age = age_on(dob, sim.quarter_ends[q])
            m = len(p)
            male = rec["sex"].to_numpy() == "M"
            frames.append(pd.DataFrame({
                "child_id": csc_ids[la.lea].loc[p["person_id"]].to_numpy(),
                "gender": np.where(male, "a) Male", "b) Female") if la.lea == "991" else np.where(male, "M", "F"),
                "ethnicity": rec["ethnicity"].to_numpy(),
                "dob": _days(dob), "age": age.astype(str),
                "disabled": np.where(rec["disability"].to_numpy() != "NONE", "a) Yes", "b) No") if la.lea == "991"
                else np.where(rec["disability"].to_numpy() != "NONE", "Y", "N"),
                "start_day": p["start_day"].to_numpy(),
                "initial": [style[c] for c in p["initial_category"]],
                "latest": [style[c] for c in p["latest_category"]],
                "visit_day": np.where(ended, p["end_day"].to_numpy() - rng.integers(0, 11, m), D - rng.integers(0, 15, m)),
                "seen_alone": np.where(age < 3, "No", rng.choice(["Yes", "No", "Unknown"], m, p=[0.72, 0.2, 0.08])),
                "review_day": last_review.to_numpy(),
                "end_day": np.where(ended, p["end_day"].to_numpy(), NEVER),
                "epo": rng.choice(["N", "Y"], m, p=[0.97, 0.03]),
                "previous": p["previous_plans"].astype(str).to_numpy(),
                "team": rng.choice([f"{la.name} Safeguarding Team {i}" for i in range(1, 5)], m),
                "worker": rng.choice(workers, m),
                "_file": f"{folder[la.lea]}/{sim.quarter_ends[q]}/annex_a_list_7_child_protection.{la.cp_list_format}",
                "_person_id": p["person_id"].to_numpy(), "_extract_day": D,
            }))
    return pd.concat(frames, ignore_index=True)


EH_COLUMNS = {
    "eh_person_id": "EH ID", "eh_episode_id": "Episode ID", "la_child_id": "LA Child ID", "nhs_number": "NHS Number",
    "forename": "Forename", "surname": "Surname", "dob": "Date of Birth", "gender": "Gender", "postcode": "Postcode",
    "start_day": "Episode Start Date", "end_day": "Episode End Date", "end_reason": "End Reason",
    "assessment_day": "EH Assessment Date", "factors": "Presenting Needs",
    "gcp2_physical_care": "GCP2 Physical Care", "gcp2_safety": "GCP2 Care of Safety",
    "gcp2_love_and_care": "GCP2 Love and Care", "gcp2_stimulation": "GCP2 Stimulation and Education",
    "team": "Lead Practitioner Team",
}
EH_DATES = ["dob", "start_day", "end_day", "assessment_day"]
EH_DEFECTS = RowDefectSpec(
    invalid_code=[("factors", ["16", "Neglect concerns", "NEG"]), ("gender", ["X", "9"])],
    date_pair=("start_day", "end_day"), future_date=["start_day"], blank_mandatory=["eh_person_id", "start_day"])


def early_help_rows(sim, cfg, people, csc_ids, csc_first_contact, identities, eh_ids, extract_quarters, folder,
                    defects: list[dict]) -> pd.DataFrame:
    rng = np.random.default_rng(cfg.seed + 11)
    eh = sim.early_help.copy()
    # the postcode recorded at the start; a share of episodes keep a stale (previous) address
    hh = people.persons.set_index("person_id").loc[eh["person_id"], "household_id"].to_numpy()
    rows = people.address_index(hh, _dates(eh["start_day"].to_numpy()))
    previous_same_hh = (rows > 0) & (people.addresses["household_id"].to_numpy()[np.maximum(rows - 1, 0)] == hh)
    stale_pool = np.flatnonzero(previous_same_hh)
    k = min(stale_pool.size, int(round(cfg.defects.stale_postcode * len(eh))))
    stale = np.zeros(len(eh), bool)
    stale[rng.choice(stale_pool, k, replace=False)] = True
    eh["postcode"] = people.addresses["postcode"].to_numpy()[np.where(stale, rows - 1, rows)]
    defects.extend({"system": f"early_help:{lea}", "person_id": int(pid), "field": "postcode", "defect": "stale_postcode",
                    "episode": int(e)} for lea, pid, e in zip(eh["lea"][stale], eh["person_id"][stale], eh["eh_episode_id"][stale]))
    frames = []
    for la in cfg.authorities:
        ident = identities[la.lea]
        part_all = eh[eh["lea"] == la.lea]
        known = csc_first_contact[la.lea]
        first = known.reindex(part_all["person_id"]).to_numpy()
        shares_id = (~np.isnan(first)) & (first < part_all["start_day"].to_numpy()) & (rng.random(len(part_all)) < 0.7)
        part_all = part_all.assign(la_child_id=np.where(shares_id, csc_ids[la.lea].reindex(part_all["person_id"]).fillna("").to_numpy(), ""),
                                   team=rng.choice([f"{la.name} Family Help {n}" for n in ("North", "South", "East", "West", "Central")], len(part_all)))
        style = "%d/%m/%Y" if la.lea == "991" else "%Y-%m-%d"
        for q in extract_quarters:
            D, S = _days(sim.quarter_ends[q]), _days(sim.quarter_starts[q])
            p = part_all[(part_all["start_day"] <= D) & (part_all["end_day"] >= S)]
            rec = ident.loc[p["person_id"].to_numpy()]
            assessed = p["assessment_day"].to_numpy() <= D
            gcp = {c: np.where(assessed & (p[c].to_numpy() > 0), p[c].astype(str).to_numpy(), "")
                   for c in ["gcp2_physical_care", "gcp2_safety", "gcp2_love_and_care", "gcp2_stimulation"]}
            ended = p["end_day"].to_numpy() <= D
            frames.append(pd.DataFrame({
                "eh_person_id": eh_ids[la.lea].loc[p["person_id"]].to_numpy(),
                "eh_episode_id": np.char.add(f"EHE{la.lea}-", p["eh_episode_id"].astype(str).to_numpy()),
                "la_child_id": p["la_child_id"].to_numpy(),
                "nhs_number": rec["nhs_number"].to_numpy(), "forename": rec["forename"].to_numpy(),
                "surname": rec["surname"].to_numpy(), "dob": _days(rec["dob"].to_numpy()),
                "gender": np.where(rec["sex"].to_numpy() == "M", "Male", "Female"),
                "postcode": p["postcode"].to_numpy(),
                "start_day": p["start_day"].to_numpy(), "end_day": np.where(ended, p["end_day"].to_numpy(), NEVER),
                "end_reason": np.where(ended, p["end_reason"].to_numpy(), ""),
                "assessment_day": np.where(assessed, p["assessment_day"].to_numpy(), NEVER),
                "factors": np.where(assessed, np.char.replace(p["factors"].to_numpy().astype(str), ",", "; "), ""),
                **gcp, "team": p["team"].to_numpy(),
                "_file": f"{folder[la.lea]}/{sim.quarter_ends[q]}/early_help_episodes.csv",
                "_person_id": p["person_id"].to_numpy(), "_extract_day": D, "_date_style": style,
            }))
    return pd.concat(frames, ignore_index=True)


ADULT_SERVICE_LABEL = {"mental_health": "Adult Mental Health", "substance_misuse": "Drug and Alcohol Service",
                       "domestic_abuse": "Domestic Abuse (MARAC)", "learning_disability": "Adult Learning Disability"}
ADULT_COLUMNS = {
    "client_id": "Client ID", "episode_id": "Episode ID", "nhs_number": "NHS Number", "forename": "Forename",
    "surname": "Surname", "dob": "Date of Birth", "gender": "Gender", "postcode": "Postcode", "service": "Service",
    "start_day": "Episode Start Date", "end_day": "Episode End Date", "parental": "Parental Responsibility",
    "n_children": "Number of Children in Household", "concern": "Child Safeguarding Concern Raised",
}
ADULT_DATES = ["dob", "start_day", "end_day"]
ADULT_DEFECTS = RowDefectSpec(
    invalid_code=[("concern", ["Maybe", "?"]), ("gender", ["X", "9"])],
    date_pair=("start_day", "end_day"), future_date=["start_day"], blank_mandatory=["client_id", "start_day"])
CHILDREN_COLUMNS = {"client_id": "Client ID", "episode_id": "Episode ID", "forename": "Child Forename",
                    "surname": "Child Surname", "dob": "Child Date of Birth", "lives_with": "Child Lives With Client"}
CHILDREN_DEFECTS = RowDefectSpec(blank_mandatory=["client_id"], future_date=["dob"])


def adult_rows(sim, cfg, people, identities, child_identities, client_ids, quarters_by_lea, folder):
    """Rows of the adult-services extracts; ``quarters_by_lea`` lists the quarters each authority supplied."""
    rng = np.random.default_rng(cfg.seed + 13)
    ep = sim.adult_episodes
    postcode = people.addresses["postcode"].to_numpy()[ep["postcode_row"].to_numpy()]
    ep = ep.assign(postcode=postcode)
    kids = sim.adult_household_children.merge(ep[["adult_episode_id", "service", "lea", "start_day", "end_day", "adult_person_id"]],
                                              on="adult_episode_id")
    episodes, children = [], []
    for service in ADULT_SERVICE_LABEL:
        for la in cfg.authorities:
            system = (service, la.lea)
            part_all = ep[(ep["service"] == service) & (ep["lea"] == la.lea)]
            kid_all = kids[(kids["service"] == service) & (kids["lea"] == la.lea)]
            know_count = part_all["children_recorded"].to_numpy() | (rng.random(len(part_all)) < 0.5)
            part_all = part_all.assign(n_known=np.where(know_count, part_all["children_in_household"].astype(str), ""))
            ident, kid_ident = identities[system], child_identities[system]
            for q in quarters_by_lea[la.lea]:
                D, S = _days(sim.quarter_ends[q]), _days(sim.quarter_starts[q])
                p = part_all[(part_all["start_day"] <= D) & (part_all["end_day"] >= S)]
                rec = ident.loc[p["adult_person_id"].to_numpy()]
                ended = p["end_day"].to_numpy() <= D
                stem = f"{folder[la.lea]}/{sim.quarter_ends[q]}/adult_{service}"
                ep_ids = np.char.add(f"{service[:2].upper()}E", p["adult_episode_id"].astype(str).to_numpy())
                episodes.append(pd.DataFrame({
                    "client_id": client_ids[system].loc[p["adult_person_id"]].to_numpy(), "episode_id": ep_ids,
                    "nhs_number": rec["nhs_number"].to_numpy(), "forename": rec["forename"].to_numpy(),
                    "surname": rec["surname"].to_numpy(), "dob": _days(rec["dob"].to_numpy()),
                    "gender": np.where(rec["sex"].to_numpy() == "M", "M", "F"), "postcode": p["postcode"].to_numpy(),
                    "service": ADULT_SERVICE_LABEL[service], "start_day": p["start_day"].to_numpy(),
                    "end_day": np.where(ended, p["end_day"].to_numpy(), NEVER),
                    "parental": np.where(p["children_in_household"].to_numpy() > 0, "Y", np.where(rng.random(len(p)) < 0.5, "N", "Unknown")),
                    "n_children": p["n_known"].to_numpy(),
                    "concern": np.where(p["safeguarding_concern"].to_numpy(), "Y", "N"),
                    "_file": f"{stem}_episodes.csv", "_person_id": p["adult_person_id"].to_numpy(), "_extract_day": D,
                }))
                k = kid_all[kid_all["adult_episode_id"].isin(p["adult_episode_id"])]
                krec = kid_ident.loc[k["child_person_id"].to_numpy()]
                children.append(pd.DataFrame({
                    "client_id": client_ids[system].loc[k["adult_person_id"]].to_numpy(),
                    "episode_id": np.char.add(f"{service[:2].upper()}E", k["adult_episode_id"].astype(str).to_numpy()),
                    "forename": krec["forename"].to_numpy(), "surname": krec["surname"].to_numpy(),
                    "dob": _days(krec["dob"].to_numpy()), "lives_with": np.where(rng.random(len(k)) < 0.9, "Y", "N"),
                    "_file": f"{stem}_household_children.csv", "_person_id": k["child_person_id"].to_numpy(), "_extract_day": D,
                }))
    return pd.concat(episodes, ignore_index=True), pd.concat(children, ignore_index=True)


PERSON_COLUMNS = {"child_id": "LA Child ID", "nhs_number": "NHS Number", "upn": "UPN", "forename": "Forename",
                  "surname": "Surname", "dob": "Date of Birth", "gender": "Gender", "postcode": "Postcode",
                  "from_day": "Address Start Date", "to_day": "Address End Date"}
PERSON_DATES = ["dob", "from_day", "to_day"]
PERSON_DEFECTS = RowDefectSpec(invalid_code=[("gender", ["X", "3"])], date_pair=("from_day", "to_day"),
                               blank_mandatory=["child_id"])


def person_list_rows(sim, cfg, people, csc_ids, csc_first_contact, identities, extract_quarters, folder):
    frames = []
    persons = people.persons.set_index("person_id")
    addr = people.addresses
    for la in cfg.authorities:
        first = csc_first_contact[la.lea]
        pid = first.index.to_numpy()
        hh = persons.loc[pid, "household_id"].to_numpy()
        # every address of the household while it lived in this authority
        a = addr[addr["lea"] == la.lea]
        joined = pd.DataFrame({"person_id": pid, "household_id": hh, "first_day": first.to_numpy()}).merge(a, on="household_id")
        joined["from_day"] = _days(joined["from_date"].to_numpy())
        to = joined["to_date"].to_numpy()
        joined["to_day"] = np.where(pd.isna(to), NEVER, _days(np.where(pd.isna(to), np.datetime64("2000-01-01"), to)))
        joined = joined[joined["to_day"] > joined["first_day"]].sort_values(["person_id", "from_day"])
        ident = identities[la.lea]
        for q in extract_quarters:
            D = _days(sim.quarter_ends[q])
            p = joined[(joined["first_day"] <= D) & (joined["from_day"] <= D)]
            rec = ident.loc[p["person_id"].to_numpy()]
            upn_shown = (rec["upn"].to_numpy() != "") & (age_on(rec["dob"].to_numpy().astype("datetime64[D]"), sim.quarter_ends[q]) >= 4)
            frames.append(pd.DataFrame({
                "child_id": csc_ids[la.lea].loc[p["person_id"]].to_numpy(), "nhs_number": rec["nhs_number"].to_numpy(),
                "upn": np.where(upn_shown, rec["upn"].to_numpy(), ""), "forename": rec["forename"].to_numpy(),
                "surname": rec["surname"].to_numpy(), "dob": _days(rec["dob"].to_numpy()),
                "gender": rec["sex"].to_numpy(), "postcode": p["postcode"].to_numpy(),
                "from_day": p["from_day"].to_numpy(), "to_day": np.where(p["to_day"].to_numpy() <= D, p["to_day"].to_numpy(), NEVER),
                "_file": f"{folder[la.lea]}/{sim.quarter_ends[q]}/csc_person_list.csv",
                "_person_id": p["person_id"].to_numpy(), "_extract_day": D,
            }))
    return pd.concat(frames, ignore_index=True)
