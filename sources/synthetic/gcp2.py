"""GCP2 rescoring: repeat Graded Care Profile 2 assessments whose scores follow the latent neglect state.

A real partnership's case-management systems export completed GCP2 assessments, one row per assessment
(source ``gcp2_assessments``, ``sources/registry/gcp2_assessments.yaml``). Here:

* **early help**: the assessment on an early-help episode's assessment date carries the episode's own GCP2
  scores (those in ``early_help_episodes.csv``); while the episode stays open a practitioner rescores every
  90-150 days (70 % of the time each);
* **children's social care**: for a child neglected at referral whose episode had an assessment, 35 % get a
  GCP2 within 20 days of the assessment starting, rescored every 120-200 days (60 % each) while the episode
  is open.

Scores: a first score per domain as the early-help episodes draw it (``round(N(centre, 0.8))`` clipped to
1-5, centre ``3.1 + 0.45 * severity`` when neglected, else 1.9); a rescore is the first score moved by the
change of centre between the two dates' latent states plus ``N(0, 0.45)`` noise, rounded and clipped. So
scores fall when the child's neglect resolves, rise when it begins, and mostly stay put when it does not
change. Each assessment is written in the file of the quarter it was completed in
(``<authority>/<quarter end>/gcp2_assessments.csv``), for the quarterly extracts only.

Defects, per written row (their own exact counts, as :func:`writers.common.inject_row_defects` does): a
domain left blank (2 %: not scored, kept), a score out of range (0.5 %: 0 or 6, the row is rejected), an
exact duplicate row (1 %: the copy is rejected). ``truth/gcp2_assessments.csv`` lists every row written:
the true person, date, service, the true and the written scores, the latent state and the defect.

Everything is drawn from its own generator (``seed + 29``): with ``gcp2_rescoring=False`` the partnership
is the one generated before this existed, byte for byte.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .simulate import _days
from .writers.common import write_rows

DOMAINS = ("gcp2_physical_care", "gcp2_safety", "gcp2_love_and_care", "gcp2_stimulation")
SERVICE_LABEL = {"991": {"early help": "Early Help", "children's social care": "Children's Social Care"},
                 "992": {"early help": "EH", "children's social care": "CSC"}}
COLUMNS = {"assessment_id": "Assessment ID", "eh_id": "EH ID", "la_child_id": "LA Child ID", "dob": "Date of Birth",
           "gender": "Gender", "day": "Assessment Date", "service_label": "Service",
           "w_gcp2_physical_care": "GCP2 Physical Care", "w_gcp2_safety": "GCP2 Care of Safety",
           "w_gcp2_love_and_care": "GCP2 Love and Care", "w_gcp2_stimulation": "GCP2 Stimulation and Education",
           "team": "Team"}
FILE_NAME = "gcp2_assessments.csv"
MISSING_DOMAIN, OUT_OF_RANGE, DUPLICATE = 0.02, 0.005, 0.01
EH_REPEAT = (90, 150, 0.7)  # days between rescores (from, to) and the chance each is done
CSC_REPEAT = (120, 200, 0.6)
CSC_FIRST = 0.35


def _centre(neglected: np.ndarray, severity: np.ndarray) -> np.ndarray:
    return np.where(neglected, 3.1 + 0.45 * severity, 1.9)


def _state(sim, child: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Whether each child is neglected in the quarter containing ``day``."""
    ends = _days(sim.quarter_ends)
    q = np.clip(np.searchsorted(ends, day), 0, ends.size - 1)
    return sim.neglect[child, q]


def _repeats(rng, first: pd.DataFrame, until: np.ndarray, gap: tuple[int, int, float]) -> pd.DataFrame:
    """Rescoring dates after each first assessment (``first``: key, day) up to ``until``."""
    rows, day, key, alive = [], first["day"].to_numpy().copy(), first["key"].to_numpy(), np.ones(len(first), bool)
    number = 1
    while alive.any():
        day = day + rng.integers(gap[0], gap[1] + 1, day.size)
        done = rng.random(day.size) < gap[2]
        alive &= day <= until
        hit = alive & done
        rows.append(pd.DataFrame({"key": key[hit], "day": day[hit], "number": number}))
        number += 1
    return pd.concat(rows, ignore_index=True)


def simulate_assessments(sim, cfg) -> pd.DataFrame:
    """Every GCP2 assessment done (all dates): key (the child's first assessment of the service episode),
    number (0 first), person_id, child, lea, service, day, the four true domain scores, neglected, severity."""
    rng = np.random.default_rng(cfg.seed + 29)
    eh = sim.early_help[sim.early_help["gcp2_physical_care"] > 0]
    eh_first = pd.DataFrame({"child": eh["child"].to_numpy(), "person_id": eh["person_id"].to_numpy(),
                             "lea": eh["lea"].to_numpy(), "service": "early help",
                             "day": eh["assessment_day"].to_numpy(), "until": eh["end_day"].to_numpy(),
                             **{d: eh[d].to_numpy().astype(float) for d in DOMAINS}})
    ep = sim.episodes.merge(sim.assessments.groupby("episode_id", as_index=False)["start_day"].min(), on="episode_id")
    ep = ep[ep["neglected_at_referral"].to_numpy() & (rng.random(len(ep)) < CSC_FIRST)]
    day = ep["start_day"].to_numpy() + rng.integers(0, 21, len(ep))
    ep, day = ep[day <= ep["closure_day"].to_numpy()], day[day <= ep["closure_day"].to_numpy()]
    child = ep["child_index"].to_numpy()
    centre = _centre(_state(sim, child, day), sim.severity[child])
    csc_first = pd.DataFrame({"child": child, "person_id": ep["person_id"].to_numpy(), "lea": ep["lea"].to_numpy(),
                              "service": "children's social care", "day": day,
                              "until": ep["closure_day"].to_numpy(),
                              **{d: np.clip(np.rint(rng.normal(centre, 0.8)), 1, 5) for d in DOMAINS}})
    first = pd.concat([eh_first, csc_first], ignore_index=True)
    first["key"] = np.arange(len(first))
    later = pd.concat([_repeats(rng, first[first["service"] == "early help"],
                                first.loc[first["service"] == "early help", "until"].to_numpy(), EH_REPEAT),
                       _repeats(rng, first[first["service"] != "early help"],
                                first.loc[first["service"] != "early help", "until"].to_numpy(), CSC_REPEAT)],
                      ignore_index=True).sort_values(["key", "number"], ignore_index=True)
    base = first.set_index("key").loc[later["key"]]
    child = base["child"].to_numpy()
    shift = (_centre(_state(sim, child, later["day"].to_numpy()), sim.severity[child])
             - _centre(_state(sim, child, base["day"].to_numpy()), sim.severity[child]))
    rescored = later.assign(**{c: base[c].to_numpy() for c in ("child", "person_id", "lea", "service")},
                            **{d: np.clip(np.rint(base[d].to_numpy() + shift + rng.normal(0, 0.45, len(later))), 1, 5)
                               for d in DOMAINS})
    out = pd.concat([first.drop(columns="until").assign(number=0), rescored], ignore_index=True)
    out = out.sort_values(["day", "key", "number"], kind="stable", ignore_index=True)
    out["neglected"] = _state(sim, out["child"].to_numpy(), out["day"].to_numpy())
    out["severity"] = np.array(["low", "moderate", "severe"])[sim.severity[out["child"].to_numpy()]]
    for d in DOMAINS:
        out[d] = out[d].astype(np.int64)
    return out


def gcp2_rows(sim, cfg, csc_ids, csc_ident, eh_ids, eh_ident, extract_quarters, folder) -> pd.DataFrame:
    """The rows to write (one per assessment completed in an extract quarter), before defects."""
    done = simulate_assessments(sim, cfg)
    starts, ends = _days(sim.quarter_starts), _days(sim.quarter_ends)
    first_day, last_day = starts[extract_quarters[0]], ends[extract_quarters[-1]]
    done = done[(done["day"] >= first_day) & (done["day"] <= last_day)].reset_index(drop=True)
    q = np.searchsorted(ends, done["day"].to_numpy())
    frames = []
    for la in cfg.authorities:
        part = done[done["lea"] == la.lea]
        qa = q[(done["lea"] == la.lea).to_numpy()]
        eh = (part["service"] == "early help").to_numpy()
        pid = part["person_id"].to_numpy()
        dob, sex = np.zeros(len(part), np.int64), np.empty(len(part), dtype=object)
        for mask, ident in ((eh, eh_ident[la.lea]), (~eh, csc_ident[la.lea])):
            rec = ident.loc[pid[mask]]
            dob[mask], sex[mask] = _days(rec["dob"].to_numpy()), rec["sex"].to_numpy()
        frames.append(part.assign(
            eh_id=np.where(eh, eh_ids[la.lea].reindex(pid).fillna("").to_numpy(), ""),
            la_child_id=np.where(eh, "", csc_ids[la.lea].reindex(pid).fillna("").to_numpy()),
            dob=dob, gender=np.where(sex == "M", "Male", "Female"),
            service_label=[SERVICE_LABEL.get(la.lea, SERVICE_LABEL["991"])[s] for s in part["service"]],
            team=np.where(eh, f"{la.name} Family Help", f"{la.name} Assessment Team"),
            assessment_id=[f"GCP{la.lea}-{i:06d}" for i in range(1, len(part) + 1)],
            _file=[f"{folder[la.lea]}/{sim.quarter_ends[k]}/{FILE_NAME}" for k in qa],
            _person_id=pid))
    rows = pd.concat(frames, ignore_index=True)
    return rows.sort_values(["_file", "day", "assessment_id"], kind="stable", ignore_index=True)


def spoil(rng, rows: pd.DataFrame) -> pd.DataFrame:
    """Written scores (``w_<domain>``, text) with the defects; ``_defect``, ``_defect_field``; duplicates."""
    rows = rows.copy()
    n = len(rows)
    for d in DOMAINS:
        rows[f"w_{d}"] = rows[d].astype(str)
    rows["_defect"], rows["_defect_field"] = "", ""
    order = rng.permutation(n)
    k_missing, k_range = int(round(MISSING_DOMAIN * n)), int(round(OUT_OF_RANGE * n))
    missing, bad = order[:k_missing], order[k_missing:k_missing + k_range]
    for rows_hit, defect, values in ((missing, "missing_domain", [""]), (bad, "score_out_of_range", ["0", "6"])):
        domain = rng.integers(0, len(DOMAINS), rows_hit.size)
        value = rng.choice(values, rows_hit.size)
        for i, dm, v in zip(rows_hit, domain, value):
            rows.loc[i, [f"w_{DOMAINS[dm]}", "_defect", "_defect_field"]] = [v, defect, DOMAINS[dm]]
    dup = np.sort(order[k_missing + k_range:k_missing + k_range + int(round(DUPLICATE * n))])
    copies = rows.loc[dup].copy()
    copies["_defect"], copies["_defect_field"] = "duplicate_row", ""
    copies.index = copies.index + 0.5
    rows = pd.concat([rows, copies]).sort_index(kind="stable").reset_index(drop=True)
    rows["_source"] = "gcp2_assessments"
    return rows


def write_gcp2(sim, cfg, csc_ids, csc_ident, eh_ids, eh_ident, extract_quarters, folder, incoming: Path):
    """Write the GCP2 exports; returns (row locations for source_records.csv, the truth frame)."""
    rows = spoil(np.random.default_rng(cfg.seed + 31),
                 gcp2_rows(sim, cfg, csc_ids, csc_ident, eh_ids, eh_ident, extract_quarters, folder))
    locations, truths = [], []
    for la in cfg.authorities:
        part = rows[rows["_file"].str.startswith(folder[la.lea] + "/")]
        if part.empty:
            continue
        style = "%d/%m/%Y" if la.lea == "991" else "%Y-%m-%d"
        located = write_rows(part, COLUMNS, incoming, ["dob", "day"], style, la.csv_encoding)
        locations.append(located)
        truths.append(pd.DataFrame({
            "lea": part["lea"].to_numpy(), "file": located["file"].to_numpy(), "line": located["line"].to_numpy(),
            "person_id": part["person_id"].to_numpy(), "assessment_key": part["key"].to_numpy(),
            "assessment_number": part["number"].to_numpy(), "assessment_id": part["assessment_id"].to_numpy(),
            "service": part["service"].to_numpy(),
            "assessment_date": pd.to_datetime(part["day"].to_numpy(), unit="D").strftime("%Y-%m-%d"),
            **{d: part[d].to_numpy() for d in DOMAINS}, **{f"written_{d}": part[f"w_{d}"].to_numpy() for d in DOMAINS},
            "neglected": part["neglected"].to_numpy(), "severity": part["severity"].to_numpy(),
            "defect": part["_defect"].to_numpy()}))
    if not locations:
        return pd.DataFrame(), pd.DataFrame()
    return pd.concat(locations, ignore_index=True), pd.concat(truths, ignore_index=True)


def write_gcp2_truth(truth_dir: Path, truth: pd.DataFrame) -> None:
    """``truth/gcp2_assessments.csv``: every GCP2 row written (duplicates included; ``defect`` says)."""
    truth_dir.mkdir(parents=True, exist_ok=True)
    truth.to_csv(truth_dir / "gcp2_assessments.csv", index=False, lineterminator="\n")
