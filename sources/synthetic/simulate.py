"""Latent neglect and how services come to know of it, quarter by quarter.

Each child has a latent neglect state per quarter (a Markov chain whose long-run
probability rises with deprivation, parental mental ill-health, substance misuse,
domestic abuse, learning disability and their combination). Children's social
care (CSC), early help (EH) and adult services notice children with hazards that
depend on age, severity and on one another: early help steps children up to CSC,
CSC steps children down to early help (closure reason RC9), a move to the other
authority closes an episode (RC5). Whole episodes, with their assessments,
section 47 enquiries, CIN and CP plans and reviews, are drawn when a referral
happens; their dates may run past the last extract (the writers cut at each
extract date, so open episodes look open). Partner agencies (health visiting,
schools, police, emergency departments: ``partners.py``) record concerns each
quarter, more often about children known to social care; a police concern raises
the child's referral hazard in the next quarter. Thresholds differ between the authorities
(``GeneratorConfig.section47_lower_threshold``): one opens section 47 enquiries for neglected
children of lower severity, enquiries that end without a conference (their own random stream).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .config import GeneratorConfig
from .population import DAY, RISKS, People, age_on, eighteenth_birthday

NEVER = np.iinfo(np.int64).max // 4
EPOCH = np.datetime64("1970-01-01", "D")

OTHER_FACTORS = ["3A", "4A", "5A", "6A", "10A", "11A", "14A", "15A", "17A", "18B", "18C", "19B", "19C", "20", "24A", "7A"]
OTHER_FACTOR_WEIGHTS = np.array([8, 12, 5, 4, 5, 3, 8, 6, 15, 3, 9, 2, 4, 10, 3, 3], float)
ABUSE_FACTORS = {"17A", "18B", "18C", "19B", "19C"}
PARENT_FACTOR = {"mental_health": "4B", "domestic_abuse": "3B", "learning_disability": "5B"}
PRIMARY_NEED_OTHER = ["N2", "N3", "N4", "N5", "N6", "N7", "N8", "N9"]
PRIMARY_NEED_OTHER_W = np.array([20, 8, 25, 30, 8, 2, 5, 2], float)
CATEGORIES = ["NEG", "MUL", "EMO", "PHY", "SAB"]
CATEGORY_IF_NEGLECTED = np.array([0.64, 0.10, 0.15, 0.08, 0.03])
CATEGORY_OTHERWISE = np.array([0.10, 0.05, 0.42, 0.30, 0.13])
REFERRAL_SOURCES = ["1A", "1B", "1C", "1D", "2A", "2B", "3A", "3B", "3C", "3D", "3E", "3F", "4", "5A", "5B", "5C", "6", "7", "8", "9", "10"]
# shares close to England's referrals by source (DfE Children in need): police about 30 %, schools about 20 %
REFERRAL_SOURCE_W = np.array([4, 1, 1, 1, 18, 3, 4, 5, 2, 4, 4, 2, 3, 2, 3, 2, 30, 2, 3, 2, 1], float)
EH_END_REASONS = ["Outcomes achieved", "Family disengaged", "Stepped down to universal services"]


@dataclass
class Simulation:
    neglect: np.ndarray  # bool [child, quarter]: neglected at the quarter's end
    severity: np.ndarray  # 0 low, 1 moderate, 2 severe
    child_person_id: np.ndarray
    quarter_starts: np.ndarray  # datetime64[D]
    quarter_ends: np.ndarray
    episodes: pd.DataFrame
    assessments: pd.DataFrame
    cin_plans: pd.DataFrame
    section47: pd.DataFrame
    cp_plans: pd.DataFrame
    reviews: pd.DataFrame
    early_help: pd.DataFrame
    adult_episodes: pd.DataFrame
    adult_household_children: pd.DataFrame
    partner_concerns: pd.DataFrame = field(default_factory=pd.DataFrame)  # partners.PartnerSimulation.table()


def _days(d) -> np.ndarray:
    return (np.asarray(d, dtype="datetime64[D]") - EPOCH) // DAY


def _dates(days) -> np.ndarray:
    days = np.asarray(days, dtype=np.int64)
    out = EPOCH + np.minimum(days, 200_000) * DAY
    return np.where(days >= NEVER, np.datetime64("NaT"), out)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def quarter_bounds(cfg: GeneratorConfig) -> tuple[np.ndarray, np.ndarray]:
    first_end_month = np.datetime64(cfg.first_quarter_end, "M")
    start_month = np.datetime64(cfg.simulation_start, "M")
    burn_in = ((first_end_month - 2) - start_month).astype(int) // 3  # quarters before the first extract
    total = burn_in + cfg.quarters
    starts = start_month + np.arange(total) * 3
    ends = (starts + 3).astype("datetime64[D]") - DAY
    return starts.astype("datetime64[D]"), ends


def _next_la_change(people: People) -> np.ndarray:
    """For each address row: the date the household next moves to another authority (NEVER if not)."""
    a = people.addresses  # sorted by household, then from_date
    hh = a["household_id"].to_numpy()
    lea = a["lea"].to_numpy()
    frm = _days(a["from_date"].to_numpy())
    n = len(a)
    changes = np.r_[False, (hh[1:] == hh[:-1]) & (lea[1:] != lea[:-1])]  # row starts a stay in another authority
    position = np.where(changes, np.arange(n), n)
    first_change_from = np.minimum.accumulate(position[::-1])[::-1]  # first change at or after each row
    after = np.r_[first_change_from[1:], n]  # strictly after each row
    same_household = (after < n) & (hh[np.minimum(after, n - 1)] == hh)
    return np.where(same_household, frm[np.minimum(after, n - 1)], NEVER)


def simulate(rng: np.random.Generator, cfg: GeneratorConfig, people: People, progress=lambda m: None) -> Simulation:
    persons, households = people.persons, people.households
    kids = persons[persons["role"] == "child"].reset_index(drop=True)
    n = len(kids)
    hh = kids["household_id"].to_numpy()
    dob = _days(kids["dob"].to_numpy())
    e18 = _days(eighteenth_birthday(kids["dob"].to_numpy().astype("datetime64[D]")))
    H = households.set_index("household_id").loc[hh]
    risk = {r: H[r].to_numpy() for r in RISKS}
    n_risks = sum(risk[r].astype(int) for r in RISKS)
    z = H["deprivation_z"].to_numpy()
    q_start, q_end = quarter_bounds(cfg)
    Q = q_start.size

    # --- latent neglect -------------------------------------------------------------
    lin = (0.45 * z + 0.9 * risk["mental_health"] + 1.2 * risk["substance_misuse"] + 1.0 * risk["domestic_abuse"]
           + 0.9 * risk["learning_disability"] + 0.5 * (n_risks >= 2) + H["neglect_random_effect"].to_numpy())
    ref = _days(np.datetime64(cfg.population_reference_date))
    at_ref = (dob <= ref) & (e18 > ref)
    lo, hi = -10.0, 5.0
    for _ in range(60):  # intercept so that mean long-run prevalence hits the target
        mid = (lo + hi) / 2
        if _sigmoid(mid + lin[at_ref]).mean() > cfg.true_prevalence:
            hi = mid
        else:
            lo = mid
    p = _sigmoid(lo + lin)
    r = cfg.neglect_recovery_hazard
    onset = np.minimum(p * r / (1 - p), 0.95)
    state = rng.random(n) < p
    neglect = np.zeros((n, Q), dtype=bool)
    for q in range(Q):
        u = rng.random(n)
        state = np.where(state, u >= r, u < onset)
        neglect[:, q] = state
    sev_hh = np.digitize(H["severity_score"].to_numpy(), np.quantile(households["severity_score"], [0.45, 0.85]))
    severity = np.where(rng.random(n) < 0.8, sev_hh, rng.integers(0, 3, n))

    # --- services ---------------------------------------------------------------------
    addr_next_change = _next_la_change(people)
    csc_busy = np.full(n, -NEVER, dtype=np.int64)  # last day of the current CSC episode
    eh_start = np.full(n, NEVER, dtype=np.int64)
    eh_end = np.full(n, -NEVER, dtype=np.int64)
    eh_row = np.full(n, -1, dtype=np.int64)
    # plans before the simulation began: more likely for older children at high risk
    years_before = np.clip((_days(q_start[0]) - dob) / 365.25, 0, 18)
    n_prev_cp = rng.poisson(np.clip(1.2 * p * years_before / 10, 0, 0.8))
    parts: dict[str, list[pd.DataFrame]] = {k: [] for k in ["episodes", "assessments", "cin_plans", "section47", "cp_plans", "reviews"]}
    eh_parts: list[dict] = []
    eh_count = 0
    next_episode = 1
    next_plan = 1
    age_factor = np.array(cfg.detection_age_factor)
    neg_csc = np.array(cfg.csc_referral_neglect)
    neg_eh = np.array(cfg.early_help_neglect)
    from .partners import PartnerSimulation  # here: partners imports this module
    partners = PartnerSimulation(cfg, kids["person_id"].to_numpy(), dob, e18, risk["domestic_abuse"], severity, neglect)
    police_before = np.zeros(n, dtype=bool)  # a police concern last quarter (raises the referral hazard)
    threshold_rng = np.random.default_rng(cfg.seed + 23)  # section 47 at a lower threshold (own stream)

    def lea_and_move(idx, days):
        rows = people.address_index(hh[idx], _dates(days))
        return people.addresses["lea"].to_numpy()[rows], addr_next_change[rows]

    def open_early_help(idx, start, why_neglect):
        nonlocal eh_count
        if idx.size == 0:
            return
        lea, move = lea_and_move(idx, start)
        dur = (30 + rng.gamma(2.0, 90.0, idx.size)).astype(np.int64)
        end = np.minimum.reduce([start + dur, e18[idx] - 1, np.where(move > start, move - 1, NEVER)])
        reason = np.where(end == move - 1, "Moved out of area",
                          np.where(end == e18[idx] - 1, "Reached 18",
                                   rng.choice(EH_END_REASONS, idx.size, p=[0.62, 0.16, 0.22])))
        eh_parts.append({"child": idx, "lea": lea, "start": start, "end": end, "end_reason": reason,
                         "neglected": why_neglect, "row": eh_count + np.arange(idx.size)})
        eh_start[idx], eh_end[idx], eh_row[idx] = start, end, eh_count + np.arange(idx.size)
        eh_count += idx.size

    step_ups: list[tuple[np.ndarray, np.ndarray]] = []
    for q in range(Q):
        qs, qe = _days(q_start[q]), _days(q_end[q])
        qlen = qe - qs + 1
        alive = (dob <= qe) & (e18 > qs)
        age = age_on(_dates(dob), q_start[q])
        band = np.digitize(age, [5, 10, 16])
        neg = neglect[:, q]
        eh_open = (eh_start <= qs) & (eh_end >= qs)
        csc_open = csc_busy >= qs  # an episode open at the quarter's start
        h_csc = cfg.csc_referral_other + neg * neg_csc[severity] * age_factor[band] \
            + eh_open * np.where(neg, cfg.step_up_hazard, 0.01)
        if partners.active:
            h_csc = h_csc + police_before * cfg.police_referral_hazard
        ref_day = qs + rng.integers(0, qlen, n)
        ref_day = np.maximum(ref_day, dob)
        new = alive & (csc_busy < qs) & (rng.random(n) < h_csc) & (ref_day < e18 - 1)
        idx = np.flatnonzero(new)
        if idx.size:
            stepped = idx[eh_open[idx] | ((eh_start[idx] <= ref_day[idx]) & (eh_end[idx] >= ref_day[idx]))]
            if stepped.size:
                step_ups.append((eh_row[stepped].copy(), ref_day[stepped].copy()))
                eh_end[stepped] = ref_day[stepped]
            out = _csc_episodes(rng, cfg, idx, ref_day[idx], neg[idx], severity[idx], risk, e18, n_prev_cp,
                                kids["person_id"].to_numpy(), lea_and_move, next_episode, next_plan,
                                from_early_help=np.isin(idx, stepped),
                                from_police=partners.referred_by_police(idx, police_before, h_csc[idx]),
                                threshold_rng=threshold_rng)
            next_episode += idx.size
            next_plan += len(out["cp_plans"])
            for k in parts:
                parts[k].append(out[k])
            closure = out["episodes"]["closure_day"].to_numpy()
            csc_busy[idx] = closure
            rc9 = out["episodes"]["reason_for_closure"].to_numpy() == "RC9"
            down = idx[rc9]
            start = closure[rc9] + rng.integers(3, 22, down.size)
            ok = start < e18[down] - 30
            open_early_help(down[ok], start[ok], neg[down[ok]])
        # new early help from universal services
        eh_day = qs + rng.integers(0, qlen, n)
        h_eh = neg * neg_eh[severity] * age_factor[band] + cfg.early_help_other
        new_eh = alive & ~new & (csc_busy < qs) & (eh_end < qs) & (rng.random(n) < h_eh) & (eh_day > dob) & (eh_day < e18 - 30)
        idx = np.flatnonzero(new_eh)
        open_early_help(idx, eh_day[idx], neg[idx])
        police_before = partners.quarter(q, qs, qe, csc_open)
        progress(f"simulated quarter {q + 1}/{Q} (to {q_end[q]})")

    tables = {k: pd.concat(v, ignore_index=True) for k, v in parts.items()}
    early_help = _early_help_table(rng, eh_parts, step_ups, kids, severity, risk)
    adult_episodes, household_children = _adult_services(rng, cfg, people, kids, neglect, q_start, q_end)
    return Simulation(neglect, severity, kids["person_id"].to_numpy(), q_start, q_end,
                      tables["episodes"], tables["assessments"], tables["cin_plans"], tables["section47"],
                      tables["cp_plans"], tables["reviews"], early_help, adult_episodes, household_children,
                      partners.table(lambda idx, days: lea_and_move(idx, days)[0]))


def _factor_lists(rng, risk, idx, p_16a, p_parent, n_other_mean):
    """Assessment factors as lists of codes (CIN assessment-factor list)."""
    m = idx.size
    columns = [np.where(rng.random(m) < p_16a, "16A", "")]
    for name in RISKS:
        seen = risk[name][idx] & (rng.random(m) < p_parent)
        code = PARENT_FACTOR.get(name)
        if code is None:  # substance misuse: alcohol or drugs
            code = np.where(rng.random(m) < 0.5, "1B", "2B")
        columns.append(np.where(seen, code, ""))
    # up to three other factors, weighted, without replacement (Efraimidis-Spirakis keys)
    n_other = np.minimum(rng.poisson(n_other_mean, m), 3)
    keys = np.log(rng.random((m, len(OTHER_FACTORS)))) / OTHER_FACTOR_WEIGHTS
    top = np.argsort(-keys, axis=1, kind="stable")[:, :3]
    other = np.array(OTHER_FACTORS, dtype=object)[top]
    for k in range(3):
        columns.append(np.where(n_other > k, other[:, k], ""))
    codes = np.column_stack(columns)
    return [sorted({c for c in row if c}, key=_factor_key) or ["21"] for row in codes.tolist()]


def _factor_key(code: str) -> tuple[int, str]:
    return int("".join(ch for ch in code if ch.isdigit())), code


def _csc_episodes(rng, cfg, idx, ref, neg, sev, risk, e18, n_prev_cp, person_ids, lea_and_move,
                  first_episode, first_plan, from_early_help, from_police=None, threshold_rng=None):
    m = idx.size
    lea, move = lea_and_move(idx, ref)
    episode_id = first_episode + np.arange(m)
    nfa = rng.random(m) < 0.07
    a_start = ref + rng.integers(0, 11, m)
    working = np.where(rng.random(m) < 0.86, rng.integers(8, 46, m), rng.integers(46, 95, m))
    a_auth = a_start + (working * 7 + 4) // 5
    p16 = np.where(neg, np.array([0.45, 0.6, 0.75])[sev], 0.02)
    factors = _factor_lists(rng, risk, idx, p16, 0.6, np.where(neg, 0.5, 1.1))
    abuse = np.array([bool(ABUSE_FACTORS.intersection(f)) for f in factors])
    n1 = rng.random(m) < np.where(neg, 0.78, np.where(abuse, 0.7, 0.12))
    need = np.where(n1, "N1", rng.choice(PRIMARY_NEED_OTHER, m, p=PRIMARY_NEED_OTHER_W / PRIMARY_NEED_OTHER_W.sum()))
    source = rng.choice(REFERRAL_SOURCES, m, p=REFERRAL_SOURCE_W / REFERRAL_SOURCE_W.sum())
    if from_police is not None:
        source = np.where(from_police, "6", source)  # brought about by a police notification
    source = np.where(from_early_help, "5D", source)

    p_s47 = np.where(neg, np.array([0.12, 0.3, 0.6])[sev], np.where(abuse, 0.35, 0.04))
    s47 = ~nfa & (rng.random(m) < p_s47)
    s_start = a_start + rng.integers(0, 16, m)
    icpc_needed = s47 & (rng.random(m) < 0.7)
    # a lower threshold for enquiries (cfg.section47_lower_threshold): extra enquiries, no conference, drawn
    # from their own stream so that nothing else drawn here changes
    lowered = np.zeros(m, dtype=bool)
    if threshold_rng is not None and cfg.section47_lower_threshold:
        extra = np.zeros(m)
        for lea_code, by_severity in cfg.section47_lower_threshold.items():
            extra = np.where(lea == lea_code, np.asarray(by_severity, dtype=float)[sev], extra)
        lowered = ~nfa & ~s47 & neg & (threshold_rng.random(m) < extra)
    icpc = s_start + rng.integers(8, 36, m)
    cp = icpc_needed & (rng.random(m) < np.where(neg, 0.6, 0.42))
    cp_start = icpc
    cp_end = cp_start + (30 + rng.gamma(2.5, 120.0, m)).astype(np.int64)
    cin_plan = ~nfa & ~cp & (rng.random(m) < np.where(neg, 0.5, np.where(abuse, 0.4, 0.28)))
    plan_start = np.where(cp, cp_end + 1, np.maximum(a_auth, a_start + 5) + rng.integers(0, 15, m))
    after_cp_plan = cp & (rng.random(m) < 0.5)
    plan_end = plan_start + (20 + rng.gamma(2.0, 110.0, m)).astype(np.int64)
    has_cin_plan = cin_plan | after_cp_plan

    closure = np.where(nfa, ref + rng.integers(0, 8, m),
                       np.where(has_cin_plan, plan_end + rng.integers(0, 30, m),
                                np.where(cp, cp_end + rng.integers(0, 20, m),
                                         np.maximum(a_auth, np.where(s47, icpc, 0)) + rng.integers(0, 15, m))))
    reason = np.where(nfa, "RC8",
                      np.where(has_cin_plan | cp,
                               rng.choice(["RC7", "RC9", "RC3", "RC4", "RC1"], m, p=[0.83, 0.11, 0.03, 0.025, 0.005]),
                               rng.choice(["RC8", "RC9"], m, p=[0.66, 0.34])))
    # age-out and moves end episodes early
    aged = closure >= e18[idx] - 1
    closure = np.where(aged, e18[idx] - 1, closure)
    reason = np.where(aged, np.where(rng.random(m) < 0.3, "RC6", "RC7"), reason)
    moved = move <= closure
    closure = np.where(moved, move - 1, closure)
    reason = np.where(moved, "RC5", reason)

    episodes = pd.DataFrame({
        "episode_id": episode_id, "person_id": person_ids[idx], "child_index": idx, "lea": lea,
        "referral_day": ref, "referral_source": source, "primary_need": need,
        "closure_day": closure, "reason_for_closure": reason, "referral_nfa": nfa,
        "initial_cpc_day": np.where(icpc_needed & (icpc <= closure), icpc, NEVER),
        "neglected_at_referral": neg, "severity": sev,
    })
    keep_a = ~nfa & (a_start <= closure)
    assessments = pd.DataFrame({"episode_id": episode_id[keep_a], "start_day": a_start[keep_a],
                                "authorised_day": np.where(a_auth[keep_a] <= closure[keep_a], a_auth[keep_a], NEVER),
                                "factors": [",".join(f) for f, k in zip(factors, keep_a) if k]})
    keep_p = has_cin_plan & (plan_start <= closure)
    cin_plans = pd.DataFrame({"episode_id": episode_id[keep_p], "start_day": plan_start[keep_p],
                              "end_day": np.minimum(plan_end[keep_p], closure[keep_p])})
    keep_s = (s47 | lowered) & (s_start <= closure)
    section47 = pd.DataFrame({"episode_id": episode_id[keep_s], "start_day": s_start[keep_s],
                              "icpc_target_day": s_start[keep_s] + 21,
                              "icpc_day": np.where(icpc_needed[keep_s] & (icpc[keep_s] <= closure[keep_s]), icpc[keep_s], NEVER),
                              "icpc_not_required": ~icpc_needed[keep_s],
                              "lowered_threshold": lowered[keep_s]})
    keep_c = cp & (cp_start <= closure)
    c_idx = idx[keep_c]
    k = int(keep_c.sum())
    initial = np.where(neg[keep_c][:, None], CATEGORY_IF_NEGLECTED, CATEGORY_OTHERWISE)
    u = rng.random(k)[:, None]
    initial_cat = np.array(CATEGORIES)[(u > np.cumsum(initial, axis=1)).sum(axis=1)]
    changed = rng.random(k) < 0.1
    latest_cat = np.where(changed, rng.choice(CATEGORIES, k), initial_cat)
    plan_ids = first_plan + np.arange(k)
    c_end = np.minimum(cp_end[keep_c], closure[keep_c])
    cp_plans = pd.DataFrame({"plan_id": plan_ids, "episode_id": episode_id[keep_c], "person_id": person_ids[c_idx],
                             "child_index": c_idx, "lea": lea[keep_c], "start_day": cp_start[keep_c], "end_day": c_end,
                             "initial_category": initial_cat, "latest_category": latest_cat,
                             "previous_plans": n_prev_cp[c_idx]})
    n_prev_cp[c_idx] += 1
    first_review = cp_start[keep_c] + rng.integers(80, 92, k)
    offsets = np.cumsum(np.c_[np.zeros(k, np.int64), rng.integers(165, 185, (k, 5))], axis=1)
    review_days = first_review[:, None] + offsets
    ok = review_days < c_end[:, None]
    reviews = pd.DataFrame({"plan_id": np.repeat(plan_ids, ok.sum(axis=1)), "review_day": review_days[ok]})
    return {"episodes": episodes, "assessments": assessments, "cin_plans": cin_plans, "section47": section47,
            "cp_plans": cp_plans, "reviews": reviews}


def _early_help_table(rng, eh_parts, step_ups, kids, severity, risk) -> pd.DataFrame:
    if not eh_parts:
        return pd.DataFrame()
    eh = pd.DataFrame({k: np.concatenate([p[k] for p in eh_parts]) for k in eh_parts[0]})
    eh = eh.sort_values("row", ignore_index=True)
    for rows, days in step_ups:  # early help ended by a referral to social care
        eh.loc[rows, "end"] = days
        eh.loc[rows, "end_reason"] = "Stepped up to social care"
    idx = eh["child"].to_numpy()
    m = len(eh)
    neg = eh["neglected"].to_numpy()
    sev = severity[idx]
    eh["person_id"] = kids["person_id"].to_numpy()[idx]
    eh["assessment_day"] = np.minimum(eh["start"].to_numpy() + rng.integers(0, 31, m), eh["end"].to_numpy())
    factors = _factor_lists(rng, risk, idx, np.where(neg, np.array([0.45, 0.55, 0.6])[sev], 0.02), 0.5,
                            np.where(neg, 0.4, 0.9))
    eh["factors"] = [",".join(f) for f in factors]
    gcp2 = rng.random(m) < np.where(neg, 0.45, 0.04)
    centre = np.where(neg, 3.1 + 0.45 * sev, 1.9)
    for domain in ["gcp2_physical_care", "gcp2_safety", "gcp2_love_and_care", "gcp2_stimulation"]:
        score = np.clip(np.rint(rng.normal(centre, 0.8)), 1, 5).astype(int)
        eh[domain] = np.where(gcp2, score, 0)  # 0 = not assessed
    eh["eh_episode_id"] = np.arange(1, m + 1)
    return eh.drop(columns=["row", "neglected"]).rename(columns={"start": "start_day", "end": "end_day"})


def _adult_services(rng, cfg, people, kids, neglect, q_start, q_end):
    """Adult service episodes for parents with a risk that a service came to know of."""
    households, persons = people.households, people.persons
    adults = persons[persons["role"] == "adult"]
    mothers = adults[adults["relationship"] == "mother"].set_index("household_id")["person_id"]
    fathers = adults[adults["relationship"] == "father"].set_index("household_id")["person_id"]
    # episodes over the three years before the first quarterly extract and the extract window
    # (adult services appear only in the quarterly extracts; an earlier episode would have ended)
    sim_start, sim_end = _days(q_start[len(q_start) - cfg.quarters]) - 2 * 365, _days(q_end[-1])
    who_mother = {"mental_health": 0.62, "substance_misuse": 0.4, "domestic_abuse": 0.9, "learning_disability": 0.55}
    frames = []
    for service in RISKS:
        known = households[service].to_numpy() & (rng.random(len(households)) < cfg.adult_service_detection[service])
        hh_ids = households["household_id"].to_numpy()[known]
        n_ep = 1 + (rng.random(hh_ids.size) < 0.3)
        hh_rep = np.repeat(hh_ids, n_ep)
        has_father = np.isin(hh_rep, fathers.index.to_numpy())
        use_mother = ~has_father | (rng.random(hh_rep.size) < who_mother[service])
        adult = np.where(use_mother, mothers.reindex(hh_rep).to_numpy(),
                         fathers.reindex(hh_rep).fillna(-1).to_numpy().astype(np.int64))
        start = sim_start - 365 + rng.integers(0, sim_end - sim_start + 365, hh_rep.size)
        end = start + (14 + rng.gamma(2.0, 120.0, hh_rep.size)).astype(np.int64)
        frames.append(pd.DataFrame({"service": service, "household_id": hh_rep, "adult_person_id": adult,
                                    "start_day": start, "end_day": end}))
    ep = pd.concat(frames, ignore_index=True)
    ep = ep.sort_values(["start_day", "adult_person_id", "service"], kind="stable", ignore_index=True)
    ep["adult_episode_id"] = np.arange(1, len(ep) + 1)
    rows = people.address_index(ep["household_id"].to_numpy(), _dates(ep["start_day"].to_numpy()))
    ep["lea"] = people.addresses["lea"].to_numpy()[rows]
    ep["postcode_row"] = rows
    # children living in the household at the episode start
    kid_hh = kids["household_id"].to_numpy()
    kid_dob = _days(kids["dob"].to_numpy())
    kid_e18 = _days(eighteenth_birthday(kids["dob"].to_numpy().astype("datetime64[D]")))
    order = np.argsort(kid_hh, kind="stable")
    pos = np.searchsorted(kid_hh[order], ep["household_id"].to_numpy(), side="left")
    end = np.searchsorted(kid_hh[order], ep["household_id"].to_numpy(), side="right")
    ep_rep = np.repeat(np.arange(len(ep)), end - pos)
    kid_idx = order[np.concatenate([np.arange(a, b) for a, b in zip(pos, end)])] if len(ep) else np.zeros(0, int)
    st = ep["start_day"].to_numpy()[ep_rep]
    present = (kid_dob[kid_idx] <= st) & (kid_e18[kid_idx] > st)
    ep_rep, kid_idx = ep_rep[present], kid_idx[present]
    q_of = np.clip(np.searchsorted(_days(q_end), ep["start_day"].to_numpy()), 0, len(q_end) - 1)
    neg_at_start = neglect[kid_idx, q_of[ep_rep]]
    any_neg = np.bincount(ep_rep, weights=neg_at_start, minlength=len(ep)) > 0
    has_kids = np.bincount(ep_rep, minlength=len(ep)) > 0
    ep["children_in_household"] = np.bincount(ep_rep, minlength=len(ep))
    ep["safeguarding_concern"] = has_kids & (rng.random(len(ep)) < np.where(any_neg, 0.55, 0.04))
    recorded_rate = ep["service"].map(cfg.adult_children_recorded).to_numpy()
    ep["children_recorded"] = has_kids & (rng.random(len(ep)) < recorded_rate)
    listed = ep["children_recorded"].to_numpy()[ep_rep] & (rng.random(ep_rep.size) < 0.94)
    household_children = pd.DataFrame({
        "adult_episode_id": ep["adult_episode_id"].to_numpy()[ep_rep[listed]],
        "child_person_id": kids["person_id"].to_numpy()[kid_idx[listed]],
    })
    ep = ep[ep["adult_person_id"] > 0].reset_index(drop=True)
    return ep, household_children[household_children["adult_episode_id"].isin(ep["adult_episode_id"])].reset_index(drop=True)
