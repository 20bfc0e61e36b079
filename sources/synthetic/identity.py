"""How each recording system holds a person: the true identity plus its own errors.

A system (the CSC case-management system of one authority, its early-help system,
an adult service) records a person once, so an error made at registration repeats
in every extract from that system. Exactly ``round(rate * people)`` people of a
system get each defect, so a test can check rates against the configuration.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .config import DefectRates
from .names import has_nickname, nickname_for, typo

IDENTITY_COLUMNS = ["person_id", "forename", "surname", "dob", "sex", "nhs_number", "upn", "ethnicity", "disability"]


def _pick(rng: np.random.Generator, eligible: np.ndarray, rate: float, taken: np.ndarray) -> np.ndarray:
    """Exactly round(rate * people) rows, drawn among the eligible ones not yet defective in this field."""
    pool = np.flatnonzero(eligible & ~taken)
    k = min(pool.size, int(round(rate * eligible.size)))  # eligible is a mask over all people
    chosen = rng.choice(pool, size=k, replace=False) if k else np.zeros(0, dtype=int)
    return np.sort(chosen)


def recorded_identities(rng: np.random.Generator, system: str, persons: pd.DataFrame, rates: DefectRates,
                        defects: list[dict], nhs_missing_rate: float, has_upn_field: bool = False,
                        swap_before: str | None = None) -> pd.DataFrame:
    """The identity a system holds for each of ``persons`` (one row per person_id)."""
    rec = persons[IDENTITY_COLUMNS].copy().reset_index(drop=True)
    # names are edited in plain object arrays (a DataFrame .at per edit is slow) and put back below
    forename = rec["forename"].to_numpy(dtype=object).copy()
    surname = rec["surname"].to_numpy(dtype=object).copy()
    person_id = rec["person_id"].to_numpy()
    n = len(rec)
    log = lambda rows, field, kind: defects.extend(  # noqa: E731
        {"system": system, "person_id": int(person_id[i]), "field": field, "defect": kind} for i in rows)
    fore_taken = np.zeros(n, bool)
    rows = _pick(rng, has_nickname(forename), rates.nickname, fore_taken)
    for i in rows:
        forename[i] = nickname_for(forename[i], rng)
    fore_taken[rows] = True
    log(rows, "forename", "nickname")
    rows = _pick(rng, np.ones(n, bool), rates.name_typo, fore_taken)
    for i in rows:
        forename[i] = typo(forename[i], rng)
    log(rows, "forename", "name_typo")

    sur_taken = np.zeros(n, bool)
    rows = _pick(rng, np.ones(n, bool), rates.name_typo, sur_taken)
    for i in rows:
        surname[i] = typo(surname[i], rng)
    sur_taken[rows] = True
    log(rows, "surname", "name_typo")
    rows = _pick(rng, np.ones(n, bool), rates.hyphenated_surname, sur_taken)
    others = rng.choice(persons["surname"].to_numpy(), size=rows.size)
    for i, other in zip(rows, others):
        surname[i] = f"{surname[i]}-{other}" if rng.random() < 0.5 else f"{other}-{surname[i]}"
    sur_taken[rows] = True
    log(rows, "surname", "hyphenated_surname")
    rows = _pick(rng, np.ones(n, bool), rates.surname_change, sur_taken)
    surname[rows] = rng.choice(persons["surname"].to_numpy(), size=rows.size)
    log(rows, "surname", "surname_change")
    rec["forename"] = forename
    rec["surname"] = surname

    dob = rec["dob"].to_numpy().astype("datetime64[D]")
    day = (dob - dob.astype("datetime64[M]").astype("datetime64[D]")).astype(int) + 1
    month = dob.astype("datetime64[M]").astype(int) % 12 + 1
    # swap day and month; only where the swapped date is before any extract, so a
    # transposition never also reads as a future date (that would be a second defect)
    swappable = (day <= 12) & (day != month)
    years = dob.astype("datetime64[Y]").astype(int) + 1970
    swapped = dob.copy()
    swapped[swappable] = np.array([f"{y:04d}-{d:02d}-{m:02d}" for y, m, d in
                                   zip(years[swappable], month[swappable], day[swappable])], dtype="datetime64[D]")
    eligible = swappable & (swapped < np.datetime64(swap_before)) if swap_before else swappable
    rows = _pick(rng, eligible, rates.dob_transposed, np.zeros(n, bool))
    dob[rows] = swapped[rows]
    rec["dob"] = dob
    log(rows, "dob", "dob_transposed")

    rows = _pick(rng, np.ones(n, bool), nhs_missing_rate, np.zeros(n, bool))
    rec["nhs_number"] = rec["nhs_number"].astype(object)
    rec.loc[rows, "nhs_number"] = ""
    log(rows, "nhs_number", "missing_nhs_number")
    if has_upn_field:
        has_upn = rec["upn"].to_numpy() != ""
        rows = _pick(rng, has_upn, rates.missing_upn, np.zeros(n, bool))
        rec["upn"] = rec["upn"].astype(object)
        rec.loc[rows, "upn"] = ""
        log(rows, "upn", "missing_upn")
    return rec.set_index("person_id")
