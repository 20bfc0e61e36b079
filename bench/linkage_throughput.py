"""Benchmark: speed, peak memory and accuracy of models.linkage.persons.link_people on many child records.

Run by hand (not in CI), from the repository root, e.g.:

    .venv/bin/python bench/linkage_throughput.py --records 1000000

Generates ``--records`` child records (default 1,000,000) as a pandas DataFrame with the columns
``models.linkage.records.child_records`` returns plus ``table`` (the Splink input table, as
``models.linkage.run`` maps sources to tables) and ``true_person_id`` (which generated child the
record is, for scoring only: link_people never reads it). Then runs
``link_people(records, "table", "C")`` once and prints:

* records by source, true children, and the generation time;
* wall-clock seconds of link_people (``time.perf_counter``) and link_people's own ``seconds`` by
  step (deterministic, splink, clusters), plus finer steps timed by wrapping the functions
  link_people calls (profiles, forename lists, Splink training and prediction, edges, clustering,
  keys, review pairs; the wrappers only time, they change nothing), with the largest resident
  memory seen while each ran (MiB, sampled every 50 ms from /proc/self/statm);
* distinct identities compared (``profiles``) and profile pairs scored at or above the review
  threshold (``pairs_scored``), review pairs and identifier conflicts;
* records linked a minute;
* peak resident memory (MiB): ``ru_maxrss`` of this process (DuckDB runs in-process, so this
  includes it) after generation and after linking, plus the largest child process (``RUSAGE_CHILDREN``,
  normally 0);
* pairwise precision, recall and F1 of ``person_key`` against ``true_person_id``
  (``models.linkage.evaluation.pairwise_scores``: a pair of records is predicted when both have the
  same key and true when both are the same child);
* a last line ``{"benchmark": "linkage_throughput", ...}`` with the same figures as JSON.

The generated population (all vectorised with numpy; ``--seed`` changes the draws):

* about ``records / 3`` children in households of 1-5 children (siblings share surname, postcode
  and the household's adult-services client, if any); 1% of children are twins (same household,
  date of birth and surname, another forename). Each child has 1-6 records (1 + binomial(5, 0.4),
  mean 3); the population is drawn 5% too large and the records cut at ``--records``.
* names: child forenames by sex and surnames from ``sources/synthetic/data/forenames.csv`` and
  ``surnames.csv`` (their Zipf-Mandelbrot weights; name group by household: 70% white British, 10%
  each white other and south Asian, 5% each black and other); if the files are missing, 300 made-up
  names of each kind with Zipf weights. Cleaned as ``child_records`` cleans them (upper case, accents
  removed, letters only; ``surname_parts`` split at hyphens and spaces).
* dates of birth uniform over the 18 years to 2026-03-31; records dated at quarter ends from
  2023-06-30 to 2026-03-31 (none before the child's birth).
* 50,000 postcodes (fictional ``Q`` areas) in 200 districts, one per household, uniform.
* sources: ``person_list`` (table ``childrens_social_care``; LA child ID, NHS number, UPN from age 4
  for 85%), ``early_help`` (early-help ID, NHS number for 60%, the LA child ID for 20%) and
  ``adult_household_children`` (table ``adult_household_lists``; names, DOB and the adult's
  postcode only, with ``household_client`` and ``household_child_id`` as ``child_records`` builds
  it). 35% of households have an adult-services client; their children's records are 45%
  person list, 20% early help, 35% adult lists, other children's 70% / 30% / 0%. Each household
  is in authority 991 (60%) or 992; 5% of children also have records (and IDs) in the other.
* defects, per record: name typos 3% (one letter substituted, dropped, doubled or swapped with the
  next, in the forename or the surname), surname changed to another 2%, day and month of birth
  swapped 1% (of all records, drawn among dates where the swap gives another valid date no later than
  the record's quarter end), NHS
  number missing from 12% of person-list records, 5% of children's-services records at another
  postcode than the household's.
"""
from __future__ import annotations

import argparse
import json
import resource
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from splink.internals.linker_components.inference import LinkerInference

from models.linkage import persons, probabilistic
from models.linkage.evaluation import pairwise_scores
from models.linkage.persons import link_people
from models.linkage.run import CHILD_TABLES

NAMES_DIR = Path(__file__).resolve().parents[1] / "sources" / "synthetic" / "data"
REFERENCE = np.datetime64("2026-03-31", "D")
DOB_SPAN_DAYS = 18 * 365 + 4  # 18 years
# last days of the twelve quarters 2023-06-30 .. 2026-03-31
QUARTERS = np.arange(np.datetime64("2023-07", "M"), np.datetime64("2026-05", "M"), 3).astype("datetime64[D]") - 1
LA_CODES = np.array(["991", "992"], dtype=object)
LA_ID_PREFIX = ("BM", "LC")
GROUPS = ["white_british", "white_other", "south_asian", "black", "other"]
GROUP_SHARE = [0.70, 0.10, 0.10, 0.05, 0.05]
SOURCES = np.array(["person_list", "early_help", "adult_household_children"], dtype=object)
SOURCE_SHARE_WITH_CLIENT = [0.45, 0.20, 0.35]  # children of a household with an adult-services client
SOURCE_SHARE_NO_CLIENT = [0.70, 0.30, 0.00]
POSTCODES, DISTRICTS = 50_000, 200
MEAN_RECORDS = 3.0  # records per child: 1 + binomial(5, 0.4)
SPARE = 1.05  # population drawn this much too large, records cut at --records
TYPO_VARIANTS = 6  # misspellings prepared per name
RATES = {"twins": 0.01, "adult_client": 0.35, "other_la": 0.05, "name_typo": 0.03, "surname_change": 0.02,
         "dob_swap": 0.01, "nhs_missing": 0.12, "eh_nhs": 0.60, "eh_la_child_id": 0.20, "upn": 0.85,
         "other_postcode": 0.05}


# ----------------------------------------------------------------------------- names

def clean(raw: pd.Series) -> pd.Series:
    """Names as child_records cleans them: accents removed, upper case, letters only (NA when empty)."""
    out = raw.str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii").str.upper() \
        .str.replace(r"[^A-Z]", "", regex=True)
    return out.mask(out == "")


def misspell(name: str, rng: np.random.Generator) -> str:
    """One typing error in a name: a letter substituted, dropped, doubled or swapped with the next."""
    letters = [i for i, c in enumerate(name) if c.isalpha()]
    for _ in range(20):
        i = letters[rng.integers(len(letters))]
        op = rng.integers(4)
        if op == 0:
            new = name[:i] + chr(ord("a") + rng.integers(26)) + name[i + 1:]
        elif op == 1 and len(letters) > 3:
            new = name[:i] + name[i + 1:]
        elif op == 2:
            new = name[:i + 1] + name[i] + name[i + 1:]
        elif i + 1 < len(name) and name[i + 1].isalpha():
            new = name[:i] + name[i + 1] + name[i] + name[i + 2:]
        else:
            continue
        if new.upper() != name.upper():
            return new
    return name + "e"


@dataclass
class Names:
    """Every spelling of one kind of name: the listed names first, then ``TYPO_VARIANTS`` misspellings each.

    ``std``/``parts``: cleaned as child_records cleans; ``typo[i, k]``: spelling number of name i's
    k-th misspelling; ``pools[key]``: (spelling numbers, probabilities) to draw a name of that key from.
    """

    std: np.ndarray
    parts: np.ndarray
    typo: np.ndarray
    pools: dict

    @classmethod
    def build(cls, names: list[str], pools: dict, rng: np.random.Generator) -> "Names":
        # a loop over a vocabulary of a few hundred names, not over records
        variants = [misspell(name, rng) for name in names for _ in range(TYPO_VARIANTS)]
        raw = pd.Series(names + variants, dtype="str")
        split = raw.str.split(r"[-\s]+", regex=True).explode()
        pieces = clean(split).dropna()
        parts = pieces.groupby(level=0).agg(lambda s: np.array(s.tolist(), dtype=object)).reindex(raw.index)
        typo = len(names) + np.arange(len(names) * TYPO_VARIANTS).reshape(len(names), TYPO_VARIANTS)
        return cls(clean(raw).to_numpy(dtype=object), parts.to_numpy(dtype=object), typo, pools)

    def draw(self, keys: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A spelling number for each element of ``keys`` (pool keys), weighted."""
        out = np.zeros(len(keys), dtype=np.int64)
        for key, (spellings, p) in self.pools.items():
            where = np.flatnonzero(keys == key)
            out[where] = rng.choice(spellings, len(where), p=p)
        return out

    def redraw_equal(self, chosen: np.ndarray, other: np.ndarray, keys: np.ndarray,
                     rng: np.random.Generator) -> np.ndarray:
        """Draw again where ``chosen`` is spelled like ``other`` (a different name is wanted)."""
        chosen = chosen.copy()
        same = np.flatnonzero(self.std[chosen] == self.std[other])
        while len(same):
            chosen[same] = self.draw(keys[same], rng)
            same = same[self.std[chosen[same]] == self.std[other[same]]]
        return chosen


def zipf_pool(names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    weights = 1 / (np.arange(len(names)) + 2.7) ** 1.1
    return np.arange(len(names)), weights / weights.sum()


def made_up_names(n: int, rng: np.random.Generator) -> list[str]:
    syllables = ["ka", "lo", "mi", "ran", "te", "sa", "vel", "dor", "an", "bri", "el", "ton", "ma", "ris", "en"]
    names: list[str] = []
    while len(names) < n:
        name = "".join(rng.choice(syllables, rng.integers(2, 4))).capitalize()
        if name not in names:
            names.append(name)
    return names


def load_names(rng: np.random.Generator) -> tuple[Names, Names]:
    """(forenames, surnames). Forename pools are keyed sex * 10 + group (sex 0 = M, 1 = F); surname pools by group."""
    fore, sur = NAMES_DIR / "forenames.csv", NAMES_DIR / "surnames.csv"
    if fore.exists() and sur.exists():
        f = pd.read_csv(fore, dtype={"name": "str"}, keep_default_na=False)
        f = f[f["cohort"] == "child"].reset_index(drop=True)
        s = pd.read_csv(sur, dtype={"surname": "str"}, keep_default_na=False).reset_index(drop=True)
        f_pools = {}
        for (sex, group), part in f.groupby(["sex", "group"]):
            f_pools[(sex == "F") * 10 + GROUPS.index(group)] = (part.index.to_numpy(),
                                                                 (part["weight"] / part["weight"].sum()).to_numpy())
        s_pools = {GROUPS.index(group): (part.index.to_numpy(), (part["weight"] / part["weight"].sum()).to_numpy())
                   for group, part in s.groupby("group")}
        return Names.build(f["name"].tolist(), f_pools, rng), Names.build(s["surname"].tolist(), s_pools, rng)
    made_up = made_up_names(900, rng)
    boys, girls, surnames = made_up[:300], made_up[300:600], made_up[600:]
    f_pools = {sex * 10 + g: (np.arange(300) + 300 * sex, zipf_pool(boys)[1]) for sex in (0, 1)
               for g in range(len(GROUPS))}
    s_pools = {g: zipf_pool(surnames) for g in range(len(GROUPS))}
    return Names.build(boys + girls, f_pools, rng), Names.build(surnames, s_pools, rng)


# ----------------------------------------------------------------------------- records

def postcodes(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(postcode_std, postcode_district) of ``POSTCODES`` distinct postcodes, ``POSTCODES / DISTRICTS`` per district."""
    per_district = POSTCODES // DISTRICTS
    areas = np.array([f"Q{c}" for c in "ABCDEFGHJK"], dtype=object)
    district = np.repeat(areas, DISTRICTS // len(areas)) + np.tile(
        np.arange(1, DISTRICTS // len(areas) + 1).astype(str).astype(object), len(areas))
    # per district, distinct inward codes: sector digit and two letters (10 x 20 x 20 possible)
    inward = np.argsort(rng.random((DISTRICTS, 4000)), axis=1)[:, :per_district].ravel()
    letters = np.array(list("ABDEFGHJLNPQRSTUWXYZ"), dtype=object)
    codes = (np.repeat(district, per_district) + (inward // 400).astype(str).astype(object)
             + letters[inward // 20 % 20] + letters[inward % 20])
    return codes, np.repeat(district, per_district)


def id_strings(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    return (prefix + pd.Series(numbers).astype("str").str.zfill(width)).to_numpy(dtype=object)


def scrambled(n: int, modulus: int, rng: np.random.Generator) -> np.ndarray:
    """n distinct numbers below ``modulus`` (a power of ten), in no visible order: (i * odd multiplier + offset) mod."""
    multiplier = int(rng.integers(modulus // 10, modulus)) | 1
    multiplier += 2 if multiplier % 5 == 0 else 0
    return (np.arange(n, dtype=np.int64) * multiplier + int(rng.integers(modulus))) % modulus


def choose(u: np.ndarray, shares: list[float]) -> np.ndarray:
    """Category number for uniform draws ``u`` and category ``shares``."""
    return np.minimum(np.searchsorted(np.cumsum(shares), u, side="right"), len(shares) - 1)


def swap_day_month(dob: np.ndarray) -> np.ndarray:
    """Dates with day and month swapped (only meaningful where the day is 12 or less)."""
    month_start = dob.astype("datetime64[M]")
    year_start = dob.astype("datetime64[Y]").astype("datetime64[M]")
    month = (month_start - year_start).astype(np.int64) + 1
    day = (dob - month_start.astype("datetime64[D]")).astype(np.int64) + 1
    return (year_start + (day - 1)).astype("datetime64[D]") + (month - 1)


def generate_records(n_records: int, seed: int) -> tuple[pd.DataFrame, dict]:
    """``n_records`` child records (see module docstring) and counts describing them."""
    rng = np.random.default_rng(seed)
    forenames, surnames = load_names(rng)
    postcode, district = postcodes(rng)

    # households and children (twins added after)
    n_children = int(np.ceil(n_records / MEAN_RECORDS * SPARE)) + 10
    twin_pairs = int(round(n_children * RATES["twins"] / 2))
    singles = n_children - twin_pairs
    household = np.repeat(np.arange(singles), 1 + np.minimum(rng.poisson(0.8, singles), 4))[:singles]
    n_households = int(household[-1]) + 1
    h_group = choose(rng.random(n_households), GROUP_SHARE)
    h_surname = surnames.draw(h_group, rng)
    h_postcode = rng.integers(0, POSTCODES, n_households)
    h_client = rng.random(n_households) < RATES["adult_client"]
    h_la = (rng.random(n_households) >= 0.6).astype(np.int64)
    sex = (rng.random(singles) >= 0.51).astype(np.int64)  # 0 M, 1 F
    dob = REFERENCE - rng.integers(0, DOB_SPAN_DAYS, singles).astype("timedelta64[D]")
    forename = forenames.draw(sex * 10 + h_group[household], rng)
    first = rng.choice(singles, twin_pairs, replace=False)
    twin_sex = (rng.random(twin_pairs) >= 0.51).astype(np.int64)
    twin_key = twin_sex * 10 + h_group[household[first]]
    twin_forename = forenames.redraw_equal(forenames.draw(twin_key, rng), forename[first], twin_key, rng)
    household = np.r_[household, household[first]]
    sex, dob, forename = np.r_[sex, twin_sex], np.r_[dob, dob[first]], np.r_[forename, twin_forename]
    surname, group = h_surname[household], h_group[household]
    n_children = len(household)

    # identifiers of each child
    nhs = (9_000_000_000 + scrambled(n_children, 10**9, rng)).astype(str).astype(object)
    upn_letters = np.array(list("ABCDEFGHJKLMNPQRTUVWXYZ"), dtype=object)
    upn = (upn_letters[rng.integers(0, len(upn_letters), n_children)]
           + id_strings("", scrambled(n_children, 10**12, rng), 12))
    la_child_id = [id_strings(LA_ID_PREFIX[j], scrambled(n_children, 10**7, rng), 7) for j in (0, 1)]
    eh_id = [id_strings(f"EH{j + 1}", scrambled(n_children, 10**7, rng), 7) for j in (0, 1)]
    in_other_la = rng.random(n_children) < RATES["other_la"]

    # records: 1-6 per child, children in random order, cut at n_records
    counts = 1 + rng.binomial(5, 0.4, n_children)
    order = rng.permutation(n_children)
    child = np.repeat(order, counts[order])[:n_records]
    if len(child) < n_records:
        raise RuntimeError("population too small for the records asked for")
    n = len(child)
    hh = household[child]
    u = rng.random(n)
    source = np.where(h_client[hh], choose(u, SOURCE_SHARE_WITH_CLIENT), choose(u, SOURCE_SHARE_NO_CLIENT))
    pl, eh, ah = source == 0, source == 1, source == 2
    la = np.where(in_other_la[child] & ~ah & (rng.random(n) < 0.5), 1 - h_la[hh], h_la[hh])
    rec_dob = dob[child]
    first_quarter = np.searchsorted(QUARTERS, rec_dob)
    quarter = first_quarter + (rng.random(n) * (len(QUARTERS) - first_quarter)).astype(np.int64)
    period_end = QUARTERS[quarter]

    local_id = np.where(la == 0, la_child_id[0][child], la_child_id[1][child])
    rec_la_child_id = np.where(pl | (eh & (rng.random(n) < RATES["eh_la_child_id"])), local_id, None)
    rec_eh_id = np.where(eh, np.where(la == 0, eh_id[0][child], eh_id[1][child]), None)
    has_nhs = (pl & (rng.random(n) >= RATES["nhs_missing"])) | (eh & (rng.random(n) < RATES["eh_nhs"]))
    rec_nhs = np.where(has_nhs, nhs[child], None)
    school_age = (period_end - rec_dob).astype(np.int64) >= 4 * 365
    rec_upn = np.where(pl & school_age & (rng.random(n) < RATES["upn"]), upn[child], None)

    # names, with defects
    rec_forename, rec_surname = forename[child], surname[child]
    changed = np.flatnonzero(rng.random(n) < RATES["surname_change"])
    rec_surname[changed] = surnames.redraw_equal(surnames.draw(group[child[changed]], rng), rec_surname[changed],
                                                 group[child[changed]], rng)
    typo = rng.random(n) < RATES["name_typo"]
    in_forename = rng.random(n) < 0.5
    variant = rng.integers(0, TYPO_VARIANTS, n)
    f_typo, s_typo = np.flatnonzero(typo & in_forename), np.flatnonzero(typo & ~in_forename)
    rec_forename[f_typo] = forenames.typo[rec_forename[f_typo], variant[f_typo]]
    rec_surname[s_typo] = surnames.typo[rec_surname[s_typo], variant[s_typo]]
    swapped = swap_day_month(rec_dob)
    day = (rec_dob - rec_dob.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    can_swap = (day <= 12) & (swapped != rec_dob) & (swapped <= period_end)  # no birth after the record
    dob_swap = can_swap & (rng.random(n) < min(1.0, RATES["dob_swap"] / max(can_swap.mean(), 1e-9)))
    rec_dob = np.where(dob_swap, swapped, rec_dob)

    rec_postcode = h_postcode[hh]
    moved = ~ah & (rng.random(n) < RATES["other_postcode"])
    rec_postcode[moved] = rng.integers(0, POSTCODES, int(moved.sum()))
    client = id_strings("AS", hh, 7)
    forename_std, surname_std = forenames.std[rec_forename], surnames.std[rec_surname]
    dob_text = np.datetime_as_string(rec_dob, unit="D").astype(object)
    household_child_id = np.where(ah, client + "|" + forename_std + "|" + surname_std + "|" + dob_text, None)

    frame = pd.DataFrame({
        "source": SOURCES[source],
        "la_code": LA_CODES[la],
        "period_end": period_end.astype("datetime64[us]"),
        "la_child_id": pd.Series(rec_la_child_id, dtype="str"),
        "eh_id": pd.Series(rec_eh_id, dtype="str"),
        "nhs_std": pd.Series(rec_nhs, dtype="str"),
        "upn": pd.Series(rec_upn, dtype="str"),
        "former_upn": pd.Series(None, index=range(n), dtype="str"),
        "forename_std": pd.Series(forename_std, dtype="str"),
        "surname_std": pd.Series(surname_std, dtype="str"),
        "surname_parts": surnames.parts[rec_surname],
        "dob": rec_dob.astype("datetime64[us]"),
        "sex_std": pd.Series(np.where(ah, None, np.array(["M", "F"], dtype=object)[sex[child]]), dtype="str"),
        "postcode_std": pd.Series(postcode[rec_postcode], dtype="str"),
        "postcode_district": pd.Series(district[rec_postcode], dtype="str"),
        "household_client": pd.Series(np.where(ah, client, None), dtype="str"),
        "household_child_id": pd.Series(household_child_id, dtype="str"),
        "true_person_id": child,
    })
    frame = frame.iloc[rng.permutation(n)].reset_index(drop=True)  # records not grouped by child
    frame.insert(0, "record_id", id_strings("bench#", np.arange(n), 8))
    frame["table"] = frame["source"].map(CHILD_TABLES)
    has_records = np.zeros(n_children, dtype=bool)
    has_records[child] = True
    stats = {"true_children": int(has_records.sum()), "households": int(len(np.unique(hh))),
             "twin_pairs_with_records": int((has_records[first] & has_records[singles:]).sum()),
             "name_typos": int(typo.sum()), "surname_changes": int(len(changed)), "dob_swaps": int(dob_swap.sum()),
             "person_list_without_nhs": int((pl & ~has_nhs).sum())}
    return frame, stats


# ----------------------------------------------------------------------------- measuring

def rss_mib() -> float:
    """Current resident memory of this process, MiB (/proc/self/statm; NaN where there is none)."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return float("nan")


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident memory (``ru_maxrss``, kB on Linux), MiB; for RUSAGE_CHILDREN the largest child's."""
    return resource.getrusage(who).ru_maxrss / 1024


class StepClock:
    """Seconds and largest sampled resident memory of each wrapped function while link_people runs.

    ``wrap`` swaps a module attribute for a timing wrapper (restored by ``restore``); a thread
    samples the resident memory every 50 ms and credits it to the innermost step running.
    """

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.peak: dict[str, float] = {}
        self.stack: list[str] = ["other"]
        self.saved: list[tuple[object, str, object]] = []
        self.running = True
        self.sampler = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while self.running:
            step, rss = self.stack[-1], rss_mib()
            self.peak[step] = max(self.peak.get(step, 0.0), rss)
            time.sleep(0.05)

    def wrap(self, owner: object, name: str, label: str) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            self.stack.append(label)
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - started
                self.stack.pop()

        self.saved.append((owner, name, original))
        setattr(owner, name, timed)

    def restore(self) -> None:
        self.running = False
        for owner, name, original in reversed(self.saved):
            setattr(owner, name, original)


# the functions link_people calls, in the order it calls them: (module or class, attribute, label)
STEPS = [
    (persons, "deterministic_groups_in", "deterministic groups"),
    (persons, "profiles_in", "profiles"),
    (persons, "score_pairs_in", "Splink scoring (all)"),
    (probabilistic, "input_tables", "  input tables (forename lists)"),
    (probabilistic, "train", "  training"),
    (LinkerInference, "predict", "  prediction"),
    (probabilistic, "never_auto_linked", "  never-auto-link reasons"),
    (persons, "group_edges", "group edges"),
    (persons, "group_identifiers_in", "group identifiers"),
    (persons, "cluster_groups", "clustering"),
    (persons, "_methods", "methods"),
    (persons, "assign_stable_keys_in", "person keys"),
    (persons, "_review_pairs", "review pairs"),
]


@contextmanager
def step_clock():
    clock = StepClock()
    for owner, name, label in STEPS:
        clock.wrap(owner, name, label)
    clock.sampler.start()
    try:
        yield clock
    finally:
        clock.restore()
        clock.sampler.join()


# ----------------------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="child records to link (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()

    start = time.perf_counter()
    records, stats = generate_records(args.records, args.seed)
    generate_seconds = time.perf_counter() - start
    peak_generated = peak_rss_mib()
    by_source = records["source"].value_counts()
    print(f"generated {len(records):,} records in {generate_seconds:.1f} s: "
          + ", ".join(f"{s} {by_source.get(s, 0):,}" for s in SOURCES)
          + f"; {stats['true_children']:,} true children in {stats['households']:,} households, "
          f"{stats['twin_pairs_with_records']:,} twin pairs", flush=True)
    print(f"defects: {stats['name_typos']:,} name typos, {stats['surname_changes']:,} surname changes, "
          f"{stats['dob_swaps']:,} day/month swaps, {stats['person_list_without_nhs']:,} person-list records "
          f"without an NHS number", flush=True)

    with step_clock() as clock:
        start = time.perf_counter()
        result = link_people(records, "table", "C")
        seconds = time.perf_counter() - start
    peak_self, peak_children = peak_rss_mib(), peak_rss_mib(resource.RUSAGE_CHILDREN)
    scores = pairwise_scores(result.links["person_key"], result.links["true_person_id"])
    persons_found = int(result.links["person_key"].nunique())

    print(f"link_people: {seconds:.1f} s for {len(records):,} records, "
          f"{len(records) / seconds * 60:,.0f} records a minute")
    print("  by step (link_people's own seconds): "
          + ", ".join(f"{step} {s:.1f}" for step, s in result.seconds.items()))
    print("  finer steps (seconds; largest resident memory sampled while running, MiB):")
    for _, _, label in STEPS:
        if label in clock.seconds:
            peak = f"{clock.peak[label]:9,.0f} MiB" if label in clock.peak else "        - (too short to sample)"
            print(f"    {label:<28} {clock.seconds[label]:8.1f} s  {peak}")
    print(f"distinct identities compared (profiles): {result.profiles:,}; pairs scored >= review threshold: "
          f"{result.pairs_scored:,}; review pairs: {len(result.review_pairs):,}; identifier conflicts: "
          f"{len(result.conflicts):,}")
    print(f"persons found: {persons_found:,} (true children: {stats['true_children']:,})")
    print(f"peak RSS: {peak_self:,.0f} MiB this process, DuckDB included ({peak_generated:,.0f} MiB after "
          f"generating the records); largest child process {peak_children:,.0f} MiB")
    print(f"pairwise against the true child: precision {scores['precision']:.4f}, recall {scores['recall']:.4f}, "
          f"F1 {scores['f1']:.4f} ({scores['true_pairs']:,} true pairs, {scores['predicted_pairs']:,} predicted)")
    summary = {"benchmark": "linkage_throughput", "records": len(records), "seed": args.seed,
               "true_children": stats["true_children"], "generate_seconds": round(generate_seconds, 2),
               "seconds": round(seconds, 2), "step_seconds": {k: round(v, 2) for k, v in result.seconds.items()},
               "fine_step_seconds": {k.strip(): round(v, 2) for k, v in clock.seconds.items()},
               "records_per_minute": round(len(records) / seconds * 60),
               "profiles": result.profiles, "pairs_scored": result.pairs_scored,
               "review_pairs": len(result.review_pairs), "conflicts": len(result.conflicts),
               "persons": persons_found, "peak_rss_mib": round(peak_self), "peak_rss_after_generation_mib":
               round(peak_generated), "peak_rss_children_mib": round(peak_children),
               "precision": round(scores["precision"], 5), "recall": round(scores["recall"], 5),
               "f1": round(scores["f1"], 5), "true_pairs": scores["true_pairs"],
               "predicted_pairs": scores["predicted_pairs"]}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
