"""Partner agencies: health visiting, schools, police, emergency departments (``cfg.partner_agencies``).

Each agency notices the latent neglect in its own way and keeps its own list of concerns, one
file per authority and quarter in the partner-list layout (``docs/partner-lists.md``):

* **who it sees**: children of its ages on the concern date (health visiting 0-4, schools 5-16,
  police and emergency departments 0-17);
* **how well**: a quarterly hazard for a neglected child by severity (``detection``; universal
  services see mild and severe alike, police and emergency departments the severe end), times an
  age factor, a factor for a household with the domestic-abuse risk (Operation Encompass
  notifications) and a factor while the child has an open social-care episode (social care ->
  partner: more contacts, more watchful professionals);
* **false positives**: children not neglected that quarter get concerns too (missed appointments,
  poor attendance, domestic-abuse incidents, accidental injuries) at a hazard set each quarter so
  that about ``false_positive_share`` of the children the agency lists are not neglected then;
  a child neglected in the past year is ``1 + partner_recent_neglect_factor`` times as likely as
  others to be one of them (professionals keep watching a family after things improve);
* **police -> social care**: a police concern adds ``police_referral_hazard`` to the child's
  referral hazard in the next quarter (such referrals carry referral source 6, police).

The draws use their own random generator (seed + 17; the writer seed + 19), so a partnership
generated with ``partner_agencies=()`` is byte for byte the one generated before partner
agencies existed, and the agencies' draws do not move the other services' ones.

Truth: ``truth/partner_concerns.csv`` (one row per concern written, with file and line, and
whether the child was neglected in the concern's quarter: a true or false positive), rows in
``source_records.csv`` (sources ``partner_<agency>``) and ``extracts_supplied.csv``, evidence
kind ``partner:<agency>`` in ``recorded_evidence.csv``, and headline figures in the manifest.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .config import GeneratorConfig, PartnerAgency
from .identity import recorded_identities
from .population import DAY, _birthday, age_on
from .simulate import EPOCH, _dates, _days
from .writers.common import RowDefectSpec, inject_row_defects, write_rows

SEVERITY_CODES = np.array(["low", "moderate", "high"])
LATENT_SEVERITY = np.array(["low", "moderate", "severe"])
# How Eastmere's (992) systems word the codes (Northbrook exports the codes themselves); every
# wording is in sources/schemas/code_maps/partner_concern_type.csv and partner_severity.csv.
CONCERN_WORDS = {
    "neglect_concern": "Neglect concern", "home_conditions": "Poor home conditions", "missed_health": "Was not brought",
    "attendance_welfare": "Poor attendance with welfare concern", "hygiene_hunger": "Child arrives hungry or unkempt",
    "domestic_abuse_child_present": "Operation Encompass",
    "found_in_neglectful_conditions": "Child found in neglectful conditions",
    "injury_or_ingestion": "Safeguarding flag: injury or ingestion", "repeat_attendance": "Repeat attendances",
    "other": "Other",
}
AGE_BAND = np.digitize(np.arange(18), [5, 10, 16])  # age 0-17 -> band 0-4 / 5-9 / 10-15 / 16-17
SEVERITY_WORDS = {"low": "Low", "moderate": "Medium", "high": "High"}
WORDED_AUTHORITIES = {"992"}

PARTNER_COLUMNS = {
    "agency": "Agency", "record_id": "Record ID", "nhs_number": "NHS Number", "forename": "Forename",
    "surname": "Surname", "dob": "Date of Birth", "gender": "Sex", "postcode": "Postcode",
    "concern_day": "Concern Date", "concern_type": "Concern Type", "severity": "Severity",
}
PARTNER_DATES = ["dob", "concern_day"]
PARTNER_DEFECTS = RowDefectSpec(
    invalid_code=[("concern_type", ["Welfare concern", "NEG", "DA", "Unknown concern"]), ("gender", ["X", "9"])],
    future_date=["concern_day"], blank_mandatory=["record_id", "concern_day"])


def source_name(agency: PartnerAgency | str) -> str:
    return f"partner_{agency if isinstance(agency, str) else agency.name}"


def file_name(agency: PartnerAgency | str) -> str:
    return f"{source_name(agency)}_concerns.csv"


# ------------------------------------------------------------------------------------- simulation


class PartnerSimulation:
    """The agencies' concerns, drawn quarter by quarter inside the services loop of ``simulate``.

    ``quarter`` draws one quarter's concerns for every agency and returns which children had a
    police concern (their referral hazard rises next quarter); ``table`` gives every concern.
    """

    def __init__(self, cfg: GeneratorConfig, person_id: np.ndarray, dob: np.ndarray, e18: np.ndarray,
                 domestic_abuse: np.ndarray, severity: np.ndarray, neglect: np.ndarray):
        self.cfg = cfg
        self.agencies = tuple(cfg.partner_agencies)
        self.active = bool(self.agencies)
        self.rng = np.random.default_rng(cfg.seed + 17)
        self.person_id, self.dob, self.e18 = person_id, dob, e18
        # day of each birthday 0..18, to tell a child's exact age on any day without calendar arithmetic
        dob_dates = _dates(dob)
        self.birthdays = np.column_stack([_days(_birthday(dob_dates, k)) for k in range(19)])
        self.da = np.asarray(domestic_abuse, dtype=bool)
        self.severity, self.neglect = severity, neglect
        self.n = dob.size
        self.parts: list[dict] = []
        self.police = next((i for i, a in enumerate(self.agencies) if a.name == "police"), None)
        names = [a.name for a in self.agencies]
        if len(set(names)) != len(names):
            raise ValueError(f"partner_agencies: each agency name once, got {names}")

    def quarter(self, q: int, qs: int, qe: int, csc_open: np.ndarray) -> np.ndarray:
        """Concerns of quarter ``q`` (days ``qs``..``qe``); ``csc_open``: open social-care episode at ``qs``."""
        police = np.zeros(self.n, dtype=bool)
        if not self.active:
            return police
        rng, cfg, n = self.rng, self.cfg, self.n
        neg = self.neglect[:, q]
        recent = self.neglect[:, max(q - 4, 0):q].any(axis=1) & ~neg if q else np.zeros(n, bool)
        age_start = (self.birthdays <= qs).sum(axis=1) - 1  # -1: not born by the quarter's start
        next_birthday = self.birthdays[np.arange(n), np.clip(age_start + 1, 0, 18)]
        age_end = age_start + (qe >= next_birthday)
        alive = (self.dob <= qe) & (self.e18 > qs)
        for a_i, agency in enumerate(self.agencies):
            # children of the agency's ages at some time in the quarter; each gets one candidate day
            sub = np.flatnonzero(alive & (age_start <= agency.max_age) & (age_end >= agency.min_age))
            day = self._days_in_quarter(rng, sub, qs, qe)
            age = age_start[sub] + (day >= next_birthday[sub])
            eligible = (day < self.e18[sub]) & (age >= agency.min_age) & (age <= agency.max_age)
            weight = (np.asarray(agency.age_factor)[AGE_BAND[np.clip(age, 0, 17)]]
                      * np.where(self.da[sub], agency.domestic_abuse_factor, 1.0)
                      * np.where(csc_open[sub], agency.known_to_csc_factor, 1.0))
            neg_sub = neg[sub]
            h_true = np.asarray(agency.detection)[self.severity[sub]] * cfg.partner_detection_scale * weight
            fp_weight = weight * (1.0 + cfg.partner_recent_neglect_factor * recent[sub])
            share = min(agency.false_positive_share * cfg.partner_false_positive_scale, 0.9)
            expected_true = h_true[eligible & neg_sub].sum()
            pool = fp_weight[eligible & ~neg_sub].sum()
            # expected false positives = share / (1 - share) x expected true positives
            c = share / (1 - share) * expected_true / pool if pool > 0 else 0.0
            hazard = np.minimum(np.where(neg_sub, h_true, c * fp_weight), 0.95)
            first = eligible & (rng.random(sub.size) < hazard)
            hit = sub[first]
            # further concerns in the quarter about the same child, each on its own day
            extra = rng.poisson(agency.repeat_concerns, hit.size)
            again = np.repeat(hit, extra)
            again_day = self._days_in_quarter(rng, again, qs, qe)
            again_age = age_start[again] + (again_day >= next_birthday[again])
            ok = (again_day < self.e18[again]) & (again_age >= agency.min_age) & (again_age <= agency.max_age)
            child = np.r_[hit, again[ok]]
            days = np.r_[day[first], again_day[ok]]
            ages = np.r_[age[first], again_age[ok]]
            m = child.size
            types = self._types(rng, agency, child, ages, neg[child])
            sev = self._recorded_severity(rng, agency, self.severity[child], neg[child])
            self.parts.append({"agency": np.full(m, a_i), "child": child, "day": days, "quarter": np.full(m, q),
                               "neglected": neg[child], "concern_type": types, "severity": sev})
            if a_i == self.police:
                police[child] = True
        return police

    def _days_in_quarter(self, rng, children, qs, qe) -> np.ndarray:
        """A day of the quarter for each child, uniform over the days it was alive (born in the quarter: from birth)."""
        start = np.maximum(qs, self.dob[children])
        return start + (rng.random(children.size) * (qe - start + 1)).astype(np.int64)

    def _types(self, rng, agency: PartnerAgency, child, ages, neglected) -> np.ndarray:
        out = np.empty(child.size, dtype=object)
        table = np.where(neglected, 0, 1)  # 0 true positive, 1 false positive
        if agency.under_5_types:
            table = np.where(ages < 5, 2, table)
        if agency.domestic_abuse_types:
            table = np.where(self.da[child], 3, table)
        weights = (agency.concern_types, agency.false_positive_types, agency.under_5_types, agency.domestic_abuse_types)
        for t, pairs in enumerate(weights):
            rows = np.flatnonzero(table == t)
            if rows.size:
                codes = np.array([c for c, _ in pairs], dtype=object)
                w = np.array([x for _, x in pairs], dtype=float)
                out[rows] = codes[rng.choice(codes.size, rows.size, p=w / w.sum())]
        return out

    @staticmethod
    def _recorded_severity(rng, agency: PartnerAgency, latent, neglected) -> np.ndarray:
        """The agency's own grading: near the latent severity for a neglected child, mostly low otherwise."""
        m = latent.size
        shifted = np.clip(latent + rng.choice([-1, 0, 1], m, p=[0.2, 0.6, 0.2]), 0, 2)
        otherwise = rng.choice(3, m, p=[0.7, 0.25, 0.05])
        graded = np.where(neglected, shifted, otherwise)
        recorded = rng.random(m) < agency.severity_recorded
        return np.where(recorded, SEVERITY_CODES[graded], "").astype(object)

    def referred_by_police(self, idx: np.ndarray, police_before: np.ndarray, hazard: np.ndarray) -> np.ndarray:
        """Of the children referred (``idx``), those whose referral the police notification brought about."""
        if not self.active or self.police is None or not police_before[idx].any():
            return np.zeros(idx.size, dtype=bool)
        share = np.where(police_before[idx], self.cfg.police_referral_hazard / np.maximum(hazard, 1e-12), 0.0)
        return self.rng.random(idx.size) < share

    def table(self, lea_of) -> pd.DataFrame:
        """Every concern: agency (name), child (index), person_id, lea (where the child lived that day:
        ``lea_of(child, day)``), day, quarter, neglected, concern_type, severity (recorded, '' if not) and
        record_id (the agency's reference, numbered in date order)."""
        columns = ["agency", "child", "person_id", "lea", "day", "quarter", "neglected", "concern_type", "severity",
                   "record_id"]
        if not self.parts:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
        t = pd.DataFrame({k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]})
        t = t.sort_values(["agency", "day", "child"], kind="stable", ignore_index=True)
        number = t.groupby("agency").cumcount().to_numpy() + 1
        prefix = np.array([a.record_prefix for a in self.agencies], dtype=object)[t["agency"].to_numpy()]
        t["record_id"] = np.char.add(prefix.astype(str), np.char.zfill(number.astype(str), 7)).astype(object)
        t["agency"] = np.array([a.name for a in self.agencies], dtype=object)[t["agency"].to_numpy()]
        t["person_id"] = self.person_id[t["child"].to_numpy()]
        t["lea"] = lea_of(t["child"].to_numpy(), t["day"].to_numpy())
        return t[columns]


# ------------------------------------------------------------------------------------- files


def write_partner_concerns(sim, cfg: GeneratorConfig, people, extract_quarters, folder: dict, incoming: Path,
                           identity_defects: list[dict]) -> tuple[list[pd.DataFrame], pd.DataFrame]:
    """Write every agency's files; returns (source-record locations per file group, the truth rows)."""
    concerns = sim.partner_concerns
    if not cfg.partner_agencies or concerns is None or concerns.empty:
        return [], truth_frame(pd.DataFrame())
    rng = np.random.default_rng(cfg.seed + 19)
    q_end = _days(sim.quarter_ends)
    c = concerns[concerns["quarter"].isin(extract_quarters)].reset_index(drop=True)
    if c.empty:
        return [], truth_frame(pd.DataFrame())
    persons = people.persons.set_index("person_id", drop=False)
    hh = persons.loc[c["person_id"].to_numpy(), "household_id"].to_numpy()
    rows = people.address_index(hh, _dates(c["day"].to_numpy()))
    addresses = people.addresses
    lea = c["lea"].to_numpy()
    # a share of concerns keep the previous address (the family moved; the agency did not hear)
    previous_same_hh = (rows > 0) & (addresses["household_id"].to_numpy()[np.maximum(rows - 1, 0)] == hh)
    pool = np.flatnonzero(previous_same_hh)
    k = min(pool.size, int(round(cfg.defects.stale_postcode * len(c))))
    stale = np.zeros(len(c), bool)
    stale[rng.choice(pool, k, replace=False)] = True
    postcode = addresses["postcode"].to_numpy()[np.where(stale, rows - 1, rows)]
    by_name = {a.name: a for a in cfg.partner_agencies}
    system = np.array([f"{source_name(a)}" if by_name[a].partnership_wide else f"{source_name(a)}:{la}"
                       for a, la in zip(c["agency"], lea)], dtype=object)
    identity_defects.extend({"system": s, "person_id": int(p), "field": "postcode", "defect": "stale_postcode",
                             "episode": r} for s, p, r in zip(system[stale], c["person_id"][stale], c["record_id"][stale]))
    # one recorded identity per agency system and child (its errors repeat in every quarter's file)
    ident_frames = []
    for name in sorted(set(system)):
        ids = np.sort(c.loc[system == name, "person_id"].unique())
        agency = by_name[name.split(":")[0][len("partner_"):]]
        rec = recorded_identities(rng, name, persons.loc[ids], cfg.defects, identity_defects,
                                  nhs_missing_rate=agency.nhs_missing, swap_before=cfg.simulation_start)
        ident_frames.append(rec.reset_index().assign(_system=name))
    ident = pd.concat(ident_frames, ignore_index=True).set_index(["_system", "person_id"])
    rec = ident.loc[list(zip(system, c["person_id"]))]
    worded = np.isin(lea, list(WORDED_AUTHORITIES))
    male = rec["sex"].to_numpy() == "M"
    types = c["concern_type"].to_numpy()
    severity = c["severity"].to_numpy()
    frame = pd.DataFrame({
        "agency": c["agency"].to_numpy(), "record_id": c["record_id"].to_numpy(),
        "nhs_number": rec["nhs_number"].to_numpy(), "forename": rec["forename"].to_numpy(),
        "surname": rec["surname"].to_numpy(), "dob": _days(rec["dob"].to_numpy()),
        "gender": np.where(worded, np.where(male, "Male", "Female"), np.where(male, "M", "F")),
        "postcode": postcode, "concern_day": c["day"].to_numpy().astype(np.int64),
        "concern_type": np.where(worded, [CONCERN_WORDS[t] for t in types], types),
        "severity": np.where(worded, [SEVERITY_WORDS.get(s, "") for s in severity], severity),
        "_file": [f"{folder[la]}/{sim.quarter_ends[q]}/{file_name(a)}" for la, q, a in zip(lea, c["quarter"], c["agency"])],
        "_person_id": c["person_id"].to_numpy(), "_extract_day": q_end[c["quarter"].to_numpy()],
        "_lea": lea, "_true_day": c["day"].to_numpy(), "_true_type": types, "_true_severity": severity,
        "_neglected": c["neglected"].to_numpy(), "_latent": LATENT_SEVERITY[sim.severity[c["child"].to_numpy()]],
        "_quarter_end": [str(sim.quarter_ends[q]) for q in c["quarter"]],
    })
    # each file in date order, as an agency's report would list them
    frame = frame.sort_values(["_file", "concern_day", "record_id"], kind="stable", ignore_index=True)
    locations, truth = [], []
    authorities = {la.lea: la for la in cfg.authorities}
    for agency in cfg.partner_agencies:
        part = frame[frame["agency"] == agency.name]
        if part.empty:
            continue
        part = inject_row_defects(part, source_name(agency), PARTNER_DEFECTS, cfg.defects, rng,
                                  part["_extract_day"].to_numpy())
        for la in cfg.authorities:
            mine = part[part["_lea"] == la.lea]
            if mine.empty:
                continue
            where = write_rows(mine, PARTNER_COLUMNS, incoming, PARTNER_DATES, "%d/%m/%Y", authorities[la.lea].csv_encoding)
            locations.append(where)
            truth.append(pd.DataFrame({
                "agency": agency.name, "source": source_name(agency), "lea": la.lea, "file": where["file"].to_numpy(),
                "line": where["line"].to_numpy(), "record_id": mine["record_id"].to_numpy(),
                "person_id": mine["_person_id"].to_numpy(), "concern_date": _iso(mine["_true_day"]),
                "quarter_end": mine["_quarter_end"].to_numpy(), "concern_type": mine["_true_type"].to_numpy(),
                "severity_recorded": mine["_true_severity"].to_numpy(),
                "neglected_in_quarter": mine["_neglected"].to_numpy().astype(bool),
                "latent_severity": mine["_latent"].to_numpy(), "defect": mine["_defect"].to_numpy(),
            }))
    return locations, truth_frame(pd.concat(truth, ignore_index=True) if truth else pd.DataFrame())


TRUTH_COLUMNS = ["agency", "source", "lea", "file", "line", "record_id", "person_id", "concern_date", "quarter_end",
                 "concern_type", "severity_recorded", "neglected_in_quarter", "latent_severity", "defect"]


def truth_frame(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in TRUTH_COLUMNS})
    return frame[TRUTH_COLUMNS]


def _iso(days) -> np.ndarray:
    days = np.asarray(days, dtype=np.int64)
    return np.datetime_as_string(EPOCH + days * DAY, unit="D")


def write_partner_truth(truth_dir: Path, cfg: GeneratorConfig, truth: pd.DataFrame) -> None:
    """``truth/partner_concerns.csv``: one row per concern row written (duplicates included, ``defect`` says).
    Not written for a partnership without partner agencies."""
    if not cfg.partner_agencies:
        return
    truth_dir.mkdir(parents=True, exist_ok=True)
    truth.to_csv(truth_dir / "partner_concerns.csv", index=False, lineterminator="\n")


def expected_files(cfg: GeneratorConfig, stem: str) -> list[tuple[str, str]]:
    """(source, file) of each agency's file for one authority and quarter (``stem`` = '<folder>/<quarter end>/')."""
    return [(source_name(a), f"{stem}{file_name(a)}") for a in cfg.partner_agencies]


# ------------------------------------------------------------------------------------- figures


def partner_headlines(cfg: GeneratorConfig, people, sim, extract_quarters) -> dict:
    """Per agency, over the 12 months to the last extract quarter (from the simulation, before defects):

    ``children_with_concern_12m``; ``share_neglected_in_window`` (of them, neglected at the end of at
    least one of the four quarters while aged 0-17, as ``neglect_by_quarter.csv`` has it: what a
    capture-recapture list should hold); ``share_of_concerns_true_positive``
    (concerns about a child neglected in the concern's quarter); ``reach_of_neglected_in_age_range``
    (share of the children neglected in the window, and of the agency's ages at its start or end,
    with a concern).
    """
    concerns = sim.partner_concerns
    if not cfg.partner_agencies or concerns is None or concerns.empty:
        return {}
    window = extract_quarters[-4:]
    kids = people.persons[people.persons["role"] == "child"].reset_index(drop=True)
    dob = kids["dob"].to_numpy().astype("datetime64[D]")
    start = sim.quarter_starts[window[0]]
    end = sim.quarter_ends[window[-1]]
    alive = np.column_stack([(dob <= sim.quarter_ends[q]) & (age_on(dob, sim.quarter_ends[q]) < 18) for q in window])
    neglected_any = (sim.neglect[:, window] & alive).any(axis=1)
    out = {}
    for agency in cfg.partner_agencies:
        c = concerns[(concerns["agency"] == agency.name) & concerns["quarter"].isin(window)]
        listed = np.unique(c["child"].to_numpy().astype(np.int64))
        in_range = np.zeros(dob.size, bool)
        for when in (start, end):
            age = age_on(dob, when)
            in_range |= (dob <= when) & (age >= agency.min_age) & (age <= agency.max_age)
        target = neglected_any & in_range
        out[agency.name] = {
            "children_with_concern_12m": int(listed.size),
            "share_neglected_in_window": round(float(neglected_any[listed].mean()), 3) if listed.size else None,
            "share_of_concerns_true_positive": round(float(c["neglected"].astype(bool).mean()), 3) if len(c) else None,
            "reach_of_neglected_in_age_range": round(float(np.isin(np.flatnonzero(target), listed).mean()), 3)
            if target.any() else None,
            "concerns_12m": int(len(c)),
        }
    return out
