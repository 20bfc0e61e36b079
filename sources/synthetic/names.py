"""Frequency-weighted names and the ways services mis-record them.

The name lists (``data/*.csv``) approximate ONS baby-name and UK surname
frequencies; see ``data/README.md``. Children's ethnicity picks the name group.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).parent / "data"

# CIN ethnicity code -> name group (forename group, surname group)
ETHNICITY_NAME_GROUP = {
    "WBRI": "white_british", "WIRI": "white_other", "WIRT": "white_other", "WOTH": "white_other",
    "WROM": "white_other", "MWBC": "mixed_black", "MWBA": "mixed_black", "MWAS": "other",
    "MOTH": "other", "AIND": "south_asian", "APKN": "south_asian", "ABAN": "south_asian",
    "AOTH": "south_asian", "BCRB": "black", "BAFR": "black", "BOTH": "black", "CHNE": "other",
    "OOTH": "other", "REFU": "white_british", "NOBT": "white_british",
}


@lru_cache(maxsize=1)
def name_tables() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[str]]]:
    forenames = pd.read_csv(DATA / "forenames.csv", dtype={"weight": "int64"}, keep_default_na=False)
    surnames = pd.read_csv(DATA / "surnames.csv", dtype={"weight": "int64"}, keep_default_na=False)
    nick = pd.read_csv(DATA / "nicknames.csv", keep_default_na=False)
    nicknames: dict[str, list[str]] = {}
    for name, nickname in zip(nick["name"], nick["nickname"]):
        nicknames.setdefault(name, []).append(nickname)
    return forenames, surnames, nicknames


def _weighted_pick(rng: np.random.Generator, names: pd.Series, weights: pd.Series, size: int) -> np.ndarray:
    p = weights.to_numpy(dtype=float)
    return rng.choice(names.to_numpy(dtype=object), size=size, p=p / p.sum())


def draw_forenames(rng: np.random.Generator, sex: np.ndarray, cohort: str, group: np.ndarray) -> np.ndarray:
    """One forename per person, by sex (M/F), cohort (child/adult) and name group."""
    forenames, _, _ = name_tables()
    out = np.empty(len(sex), dtype=object)
    mixed = group == "mixed_black"
    group = np.where(mixed, np.where(rng.random(len(group)) < 0.5, "black", "white_british"), group)
    for g in np.unique(group):
        for s in ("M", "F"):
            idx = np.flatnonzero((group == g) & (sex == s))
            if idx.size:
                pool = forenames[(forenames["group"] == g) & (forenames["sex"] == s) & (forenames["cohort"] == cohort)]
                out[idx] = _weighted_pick(rng, pool["name"], pool["weight"], idx.size)
    return out


def draw_surnames(rng: np.random.Generator, group: np.ndarray) -> np.ndarray:
    _, surnames, _ = name_tables()
    out = np.empty(len(group), dtype=object)
    mixed = group == "mixed_black"
    group = np.where(mixed, np.where(rng.random(len(group)) < 0.6, "white_british", "black"), group)
    for g in np.unique(group):
        idx = np.flatnonzero(group == g)
        pool = surnames[surnames["group"] == g]
        out[idx] = _weighted_pick(rng, pool["surname"], pool["weight"], idx.size)
    return out


_KEYBOARD_NEIGHBOURS = {
    "a": "sqz", "b": "vnh", "c": "xvd", "d": "sfe", "e": "wrd", "f": "dgr", "g": "fht", "h": "gjy",
    "i": "uok", "j": "hku", "k": "jli", "l": "kop", "m": "nj", "n": "bmh", "o": "ipl", "p": "ol",
    "q": "wa", "r": "etf", "s": "adw", "t": "ryg", "u": "yij", "v": "cbf", "w": "qes", "x": "zcs",
    "y": "tuh", "z": "xa",
}


def typo(name: str, rng: np.random.Generator) -> str:
    """One keying error: a neighbouring key, a dropped, doubled or swapped letter."""
    if len(name) < 3:
        return name + name[-1]
    i = int(rng.integers(1, len(name) - 1))
    kind = int(rng.integers(0, 4))
    ch = name[i]
    if kind == 0 and ch.lower() in _KEYBOARD_NEIGHBOURS:
        options = _KEYBOARD_NEIGHBOURS[ch.lower()]
        new = options[int(rng.integers(0, len(options)))]
        return name[:i] + (new.upper() if ch.isupper() else new) + name[i + 1:]
    if kind == 1:
        return name[:i] + name[i + 1:]
    if kind == 2:
        return name[:i] + ch + name[i:]
    if name[i] == name[i + 1]:
        return name[:i] + name[i + 1:]
    return name[:i] + name[i + 1] + name[i] + name[i + 2:]


def nickname_for(name: str, rng: np.random.Generator) -> str | None:
    _, _, nicknames = name_tables()
    options = nicknames.get(name)
    if not options:
        return None
    return options[int(rng.integers(0, len(options)))]


def has_nickname(names: np.ndarray) -> np.ndarray:
    _, _, nicknames = name_tables()
    return np.array([n in nicknames for n in names], dtype=bool)
