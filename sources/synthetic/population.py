"""The simulated people: households of adults and children, and where they live.

Dates are numpy ``datetime64[D]``. A household keeps one address at a time; moves
(within an authority, or to the partnership's other authority) give the address
history that the person list and the linkage issue need.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import GeneratorConfig
from .geography import Geography
from .identifiers import draw_nhs_numbers, draw_upns
from .names import ETHNICITY_NAME_GROUP, draw_forenames, draw_surnames

DAY = np.timedelta64(1, "D")
YEAR_DAYS = 365.25

# Ethnicity mix of children (CIN codes) for a diverse and a less diverse authority
ETHNICITY_MIX = {
    "991": {"WBRI": 0.62, "WIRI": 0.005, "WIRT": 0.003, "WOTH": 0.06, "WROM": 0.005, "MWBC": 0.02,
            "MWBA": 0.01, "MWAS": 0.015, "MOTH": 0.02, "AIND": 0.04, "APKN": 0.07, "ABAN": 0.025,
            "AOTH": 0.015, "BCRB": 0.015, "BAFR": 0.04, "BOTH": 0.007, "CHNE": 0.008, "OOTH": 0.012,
            "REFU": 0.005, "NOBT": 0.005},
    "992": {"WBRI": 0.84, "WIRI": 0.005, "WIRT": 0.002, "WOTH": 0.05, "WROM": 0.003, "MWBC": 0.012,
            "MWBA": 0.005, "MWAS": 0.01, "MOTH": 0.01, "AIND": 0.015, "APKN": 0.01, "ABAN": 0.005,
            "AOTH": 0.005, "BCRB": 0.004, "BAFR": 0.01, "BOTH": 0.002, "CHNE": 0.004, "OOTH": 0.004,
            "REFU": 0.002, "NOBT": 0.002},
}
DISABILITY_CODES = ["LD", "COMM", "AUT", "BEH", "MOB", "HAND", "PC", "INC", "HEAR", "VIS", "CON", "DDA"]
RISKS = ["mental_health", "substance_misuse", "domestic_abuse", "learning_disability"]


@dataclass
class People:
    households: pd.DataFrame
    persons: pd.DataFrame  # children and adults
    addresses: pd.DataFrame  # household_id, from_date, to_date (exclusive), postcode, lsoa, ward, la_code, lea

    def address_index(self, household_ids: np.ndarray, dates: np.ndarray) -> np.ndarray:
        """Row of ``addresses`` each household lived at on each date."""
        a = self.addresses
        base = np.datetime64("1970-01-01")
        keys = a["household_id"].to_numpy(np.int64) * 100_000 + (a["from_date"].to_numpy() - base) // DAY
        query = np.asarray(household_ids, np.int64) * 100_000 + (np.asarray(dates) - base) // DAY
        return np.searchsorted(keys, query, side="right") - 1


def _birthday(dob: np.ndarray, years: int) -> np.ndarray:
    """Date of the ``years``-th birthday (29 February babies: 28 February)."""
    month = dob.astype("datetime64[M]")
    day_in_month = (dob - month.astype("datetime64[D]")) // DAY
    target_month = month + 12 * years
    target = target_month.astype("datetime64[D]") + day_in_month
    rolled = target.astype("datetime64[M]") != target_month  # 29 Feb -> 1 Mar
    return np.where(rolled, target - DAY, target)


def age_on(dob: np.ndarray, when: np.datetime64 | np.ndarray) -> np.ndarray:
    """Completed years of age on a date (vectorised)."""
    dob = np.asarray(dob, dtype="datetime64[D]")
    when = np.asarray(when, dtype="datetime64[D]")
    y_d = dob.astype("datetime64[Y]").astype(int)
    y_w = when.astype("datetime64[Y]").astype(int)
    m_d = dob.astype("datetime64[M]").astype(int) % 12
    m_w = when.astype("datetime64[M]").astype(int) % 12
    d_d = (dob - dob.astype("datetime64[M]").astype("datetime64[D]")) // DAY
    d_w = (when - when.astype("datetime64[M]").astype("datetime64[D]")) // DAY
    before_birthday = (m_w < m_d) | ((m_w == m_d) & (d_w < d_d))
    return y_w - y_d - before_birthday.astype(int)


def eighteenth_birthday(dob: np.ndarray) -> np.ndarray:
    return _birthday(np.asarray(dob, dtype="datetime64[D]"), 18)


def _draw_households(rng, n, cfg: GeneratorConfig):
    """Households with 1-5 children; returns per-household and per-child arrays."""
    sim_start = np.datetime64(cfg.simulation_start)
    sim_end = np.datetime64(cfg.first_quarter_end) + np.timedelta64(int(3 * cfg.quarters * 30.44), "D")
    kids = rng.choice([1, 2, 3, 4, 5], size=n, p=[0.38, 0.37, 0.16, 0.06, 0.03])
    first = sim_end - rng.integers(0, int(30 * YEAR_DAYS), size=n) * DAY
    hh_of_child = np.repeat(np.arange(n), kids)
    order_in_hh = np.arange(hh_of_child.size) - np.repeat(np.cumsum(kids) - kids, kids)
    gaps = np.where(rng.random(hh_of_child.size) < 0.016, 0, 300 + rng.gamma(3.0, 300.0, hh_of_child.size)).astype(int)
    gaps[order_in_hh == 0] = 0
    # cumulative gap within household
    starts = np.cumsum(kids) - kids
    cs = np.cumsum(gaps)
    cum = cs - np.repeat(cs[starts] - gaps[starts], kids)
    dob = first[hh_of_child] + cum * DAY
    keep = (dob <= sim_end) & (eighteenth_birthday(dob) > sim_start)
    return kids, first, hh_of_child, order_in_hh, dob, keep


def build_people(rng: np.random.Generator, cfg: GeneratorConfig, geo: Geography) -> People:
    ref = np.datetime64(cfg.population_reference_date)
    sim_start = np.datetime64(cfg.simulation_start)
    sim_end = np.datetime64(cfg.first_quarter_end) + np.timedelta64(int(3 * cfg.quarters * 30.44), "D")
    hh_frames, child_frames = [], []
    next_hh = 0
    for la in cfg.authorities:
        target = int(round(cfg.children * la.share))
        n_try = int(target * 1.2)
        while True:
            kids, first, hh_of_child, order_in_hh, dob, keep = _draw_households(rng, n_try, cfg)
            at_ref = keep & (dob <= ref) & (age_on(dob, ref) < 18)
            per_hh = np.bincount(hh_of_child, weights=at_ref, minlength=n_try)
            kept_any = np.bincount(hh_of_child, weights=keep, minlength=n_try) > 0
            order = rng.permutation(n_try)
            order = order[kept_any[order]]
            cum = np.cumsum(per_hh[order])
            if cum[-1] >= target:
                break
            n_try = int(n_try * 1.5)
        chosen = np.sort(order[: np.searchsorted(cum, target) + 1])
        new_id = np.full(n_try, -1)
        new_id[chosen] = next_hh + np.arange(chosen.size)
        child_mask = keep & (new_id[hh_of_child] >= 0)
        child_frames.append(pd.DataFrame({
            "household_id": new_id[hh_of_child[child_mask]],
            "dob": dob[child_mask],
            "birth_order": order_in_hh[child_mask],
        }))
        hh_frames.append(pd.DataFrame({
            "household_id": new_id[chosen],
            "lea": la.lea,
            "la_code": la.lad_code,
            "first_child_dob": first[chosen],
        }))
        next_hh += chosen.size
    households = pd.concat(hh_frames, ignore_index=True)
    children = pd.concat(child_frames, ignore_index=True)
    H = len(households)

    # Ethnicity, initial address, deprivation, parental risks
    eth = np.empty(H, dtype=object)
    for lea, mix in ETHNICITY_MIX.items():
        idx = np.flatnonzero(households["lea"].to_numpy() == lea)
        codes, p = list(mix), np.array(list(mix.values()))
        eth[idx] = rng.choice(codes, size=idx.size, p=p / p.sum())
    households["ethnicity"] = eth
    postcodes = geo.postcodes.merge(geo.lsoas[["lsoa_code", "deprivation_z", "weight"]], on="lsoa_code")
    first_pc = np.empty(H, dtype=np.int64)
    for lea in households["lea"].unique():
        idx = np.flatnonzero(households["lea"].to_numpy() == lea)
        pool = np.flatnonzero(postcodes["lea"].to_numpy() == lea)
        w = postcodes["weight"].to_numpy()[pool]
        first_pc[idx] = rng.choice(pool, size=idx.size, p=w / w.sum())
    z = postcodes["deprivation_z"].to_numpy()[first_pc]
    households["deprivation_z"] = z
    shared = rng.normal(0, 1, H)  # risks cluster within households
    base = {"mental_health": cfg.parental_mental_health, "substance_misuse": cfg.parental_substance_misuse,
            "domestic_abuse": cfg.parental_domestic_abuse, "learning_disability": cfg.parental_learning_disability}
    for risk in RISKS:
        logit = np.log(base[risk] / (1 - base[risk])) + 0.35 * z + 0.6 * shared - 0.18
        households[risk] = rng.random(H) < 1 / (1 + np.exp(-logit))
    households["neglect_random_effect"] = rng.normal(0, cfg.household_random_effect_sd, H)
    households["severity_score"] = 0.5 * households[RISKS].sum(axis=1) + 0.3 * z + rng.normal(0, 1, H)

    # Adults: a mother in every household, a father/partner in most
    has_father = rng.random(H) < 0.65
    mother_age_first = np.clip(rng.normal(27.5, 5.5, H), 16, 44)
    mother_dob = households["first_child_dob"].to_numpy() - (mother_age_first * YEAR_DAYS).astype(int) * DAY
    father_dob = mother_dob - (rng.normal(2.5, 4.0, H) * YEAR_DAYS).astype(int) * DAY
    group = np.array([ETHNICITY_NAME_GROUP[e] for e in eth], dtype=object)
    family_surname = draw_surnames(rng, group)
    mother_surname = np.where(has_father & (rng.random(H) < 0.4), draw_surnames(rng, group), family_surname)
    adults = pd.concat([
        pd.DataFrame({"household_id": households["household_id"], "relationship": "mother", "sex": "F",
                      "dob": mother_dob, "surname": mother_surname, "group": group}),
        pd.DataFrame({"household_id": households["household_id"][has_father], "relationship": "father", "sex": "M",
                      "dob": father_dob[has_father], "surname": family_surname[has_father], "group": group[has_father]}),
    ], ignore_index=True)
    adults["forename"] = draw_forenames(rng, adults["sex"].to_numpy(), "adult", adults["group"].to_numpy())
    adults["role"] = "adult"

    hh_idx = children["household_id"].to_numpy()
    children["sex"] = np.where(rng.random(len(children)) < 0.512, "M", "F")
    children["relationship"] = "child"
    children["role"] = "child"
    children["group"] = group[hh_idx]
    children["forename"] = draw_forenames(rng, children["sex"].to_numpy(), "child", children["group"].to_numpy())
    takes_mothers = (rng.random(len(children)) < 0.12)
    children["surname"] = np.where(takes_mothers, mother_surname[hh_idx], family_surname[hh_idx])
    children["ethnicity"] = eth[hh_idx]
    dis = rng.random(len(children)) < 0.075
    children["disability"] = np.where(dis, rng.choice(DISABILITY_CODES, size=len(children)), "NONE")
    adults["ethnicity"] = eth[adults["household_id"].to_numpy()]
    adults["disability"] = ""

    persons = pd.concat([children, adults], ignore_index=True)
    persons.insert(0, "person_id", np.arange(1, len(persons) + 1))
    persons["nhs_number"] = draw_nhs_numbers(rng, len(persons))
    # UPN: every child gets one at school entry (age 4), from the authority they lived in
    is_child = (persons["role"] == "child").to_numpy()
    entry_year = persons["dob"].to_numpy().astype("datetime64[Y]").astype(int) + 1970 + 5
    # the LA code in a UPN is the issuing school's authority's, from DfE's list (rule CIN-1530): the fictional
    # authorities' schools issue UPNs under the real codes of cfg.upn_la_codes
    upn_la = households["lea"].map(lambda lea: cfg.upn_la_codes.get(lea, lea)).astype(int).to_numpy()
    lea_num = upn_la[persons["household_id"].to_numpy()]
    upn = np.full(len(persons), "", dtype=object)
    upn[is_child] = draw_upns(rng, int(is_child.sum()), lea_num[is_child], entry_year[is_child])
    persons["upn"] = upn
    persons["upn_from"] = np.where(is_child, _birthday(persons["dob"].to_numpy().astype("datetime64[D]"), 4),
                                   np.datetime64("NaT"))
    persons["birth_order"] = persons["birth_order"].fillna(-1).astype(int)
    persons = persons.drop(columns=["group"])

    addresses = _address_histories(rng, cfg, households, postcodes, first_pc, sim_start, sim_end)
    households["postcode_at_start"] = postcodes["postcode"].to_numpy()[first_pc]
    return People(households, persons, addresses)


def _address_histories(rng, cfg, households, postcodes, first_pc, sim_start, sim_end) -> pd.DataFrame:
    """Each household's addresses: start address plus moves over the simulated years."""
    H = len(households)
    years = (sim_end - sim_start) / DAY / YEAR_DAYS
    z = households["deprivation_z"].to_numpy()
    n_local = rng.poisson(0.07 * years * np.exp(0.25 * z))
    n_cross = rng.poisson(0.012 * years, H)
    n_moves = n_local + n_cross
    hh = np.repeat(np.arange(H), n_moves)
    cross = np.concatenate([np.r_[np.zeros(a, bool), np.ones(b, bool)] for a, b in zip(n_local, n_cross)]) if hh.size else np.zeros(0, bool)
    when = sim_start + rng.integers(0, int((sim_end - sim_start) / DAY), hh.size) * DAY
    order = np.lexsort((when, hh))
    hh, cross, when = hh[order], cross[order], when[order]
    # destination authority: alternate on each cross-authority move
    leas = np.array(sorted(households["lea"].unique()))
    start_lea = households["lea"].to_numpy()
    flips = np.zeros(hh.size, dtype=int)
    if hh.size:
        cum_cross = np.cumsum(cross)
        first_of_hh = np.r_[True, hh[1:] != hh[:-1]]
        offset = np.maximum.accumulate(np.where(first_of_hh, cum_cross - cross, 0))
        flips = cum_cross - offset
    dest_lea_pos = (np.searchsorted(leas, start_lea[hh]) + flips) % len(leas)
    dest_lea = leas[dest_lea_pos]
    dest_pc = np.empty(hh.size, dtype=np.int64)
    for lea in leas:
        idx = np.flatnonzero(dest_lea == lea)
        pool = np.flatnonzero(postcodes["lea"].to_numpy() == lea)
        w = postcodes["weight"].to_numpy()[pool]
        dest_pc[idx] = rng.choice(pool, size=idx.size, p=w / w.sum())
    formed = np.minimum(households["first_child_dob"].to_numpy(), sim_start) - rng.integers(0, 1500, H) * DAY
    all_hh = np.r_[np.arange(H), hh]
    all_from = np.r_[formed, when]
    all_pc = np.r_[first_pc, dest_pc]
    order = np.lexsort((all_from, all_hh))
    all_hh, all_from, all_pc = all_hh[order], all_from[order], all_pc[order]
    to = np.r_[all_from[1:], np.datetime64("NaT")]
    last = np.r_[all_hh[1:] != all_hh[:-1], True]
    to[last] = np.datetime64("NaT")
    frame = pd.DataFrame({
        "household_id": households["household_id"].to_numpy()[all_hh],
        "from_date": all_from.astype("datetime64[D]"),
        "to_date": to.astype("datetime64[D]"),
        "postcode": postcodes["postcode"].to_numpy()[all_pc],
        "lsoa_code": postcodes["lsoa_code"].to_numpy()[all_pc],
        "ward_code": postcodes["ward_code"].to_numpy()[all_pc],
        "la_code": postcodes["la_code"].to_numpy()[all_pc],
        "lea": postcodes["lea"].to_numpy()[all_pc],
    })
    # a move on the same day as the previous one: keep the later (stable) row
    frame = frame.drop_duplicates(["household_id", "from_date"], keep="last", ignore_index=True)
    frame["to_date"] = frame.groupby("household_id")["from_date"].shift(-1)
    return frame
