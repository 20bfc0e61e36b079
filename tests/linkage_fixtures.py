"""Hand-built child records for the linkage tests: no warehouse, no Dagster.

:func:`records_frame` turns a list of dicts (the cleaned column names of
:func:`models.linkage.records.child_records`) into the frame ``link_people`` expects, filling in
the derived columns. :func:`background_rows` makes a population of fictional children for Splink to
train on: every child is in a person list (LA child ID, NHS number, UPN) and many also in early help
(early-help ID, usually the same NHS number, sometimes recorded differently), so the deterministic
groups hold the kinds of differences a child's records really show. All names, numbers and postcodes
are made up.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from models.linkage.run import CHILD_TABLES

STRING_COLUMNS = ["record_id", "source", "la_code", "la_child_id", "eh_id", "nhs_std", "upn", "former_upn",
                  "forename_std", "surname_std", "sex_std", "postcode_std", "household_client"]
DATE_COLUMNS = ["period_end", "dob"]
QUARTER_1 = "2025-03-31"
QUARTER_2 = "2025-06-30"
DEFAULTS = {"source": "person_list", "la_code": "991", "period_end": QUARTER_1}

BOYS = ["THOMAS", "WILLIAM", "JAMES", "MATTHEW", "DANIEL", "JOSEPH", "BENJAMIN", "SAMUEL", "EDWARD", "CHARLES",
        "FREDERICK", "THEODORE", "NATHANIEL", "ZACHARY", "JACOB", "NOAH", "GEORGE", "ARTHUR", "LEO", "OSCAR",
        "MUHAMMAD", "ARCHIE", "FINLEY", "LOGAN", "REGGIE", "RORY", "TOBY", "ELIJAH", "IBRAHIM", "YUSUF",
        "KAI", "ROHAN", "MASON", "TYLER", "DYLAN", "ETHAN", "CALLUM", "KACPER", "MATEO", "ISAAC"]
GIRLS = ["ELIZABETH", "KATHERINE", "REBECCA", "JESSICA", "VICTORIA", "ABIGAIL", "ISABELLA", "SOPHIA", "OLIVIA",
         "CHARLOTTE", "AMELIA", "EMILY", "ELEANOR", "FLORENCE", "HARRIET", "MIA", "ISLA", "AVA", "GRACE", "FREYA",
         "POPPY", "EVIE", "ROSIE", "MAISIE", "ZARA", "AMINA", "FATIMA", "LEXI", "PHOEBE", "SIENNA",
         "NIAMH", "ORLA", "CHLOE", "LUCY", "HOLLY", "ESME", "IMOGEN", "ZOFIA", "PRIYA", "DARCEY"]
# formal name -> a nickname listed for it in models/linkage/nicknames.csv
NICKNAMES = {"THOMAS": "TOM", "WILLIAM": "WILL", "JAMES": "JIM", "MATTHEW": "MATT", "DANIEL": "DAN",
             "JOSEPH": "JOE", "BENJAMIN": "BEN", "SAMUEL": "SAM", "EDWARD": "ED", "CHARLES": "CHARLIE",
             "FREDERICK": "FRED", "THEODORE": "THEO", "NATHANIEL": "NATE", "ZACHARY": "ZACH", "JACOB": "JAKE",
             "ELIZABETH": "LIZ", "KATHERINE": "KATE", "REBECCA": "BECKY", "JESSICA": "JESS", "VICTORIA": "VICKY",
             "ABIGAIL": "ABBY", "ISABELLA": "BELLA", "SOPHIA": "SOPHIE", "OLIVIA": "LIV", "CHARLOTTE": "CHARLIE",
             "AMELIA": "MILLIE", "EMILY": "EM", "ELEANOR": "ELLIE", "FLORENCE": "FLO", "HARRIET": "HATTIE"}
SURNAMES = ["SMITH", "JONES", "TAYLOR", "BROWN", "WILLIAMS", "WILSON", "JOHNSON", "DAVIES", "ROBINSON", "WRIGHT",
            "THOMPSON", "EVANS", "WALKER", "WHITE", "ROBERTS", "GREEN", "HALL", "WOOD", "JACKSON", "CLARKE",
            "PATEL", "KHAN", "AHMED", "HUSSAIN", "ALI", "BEGUM", "SINGH", "KAUR", "NOWAK", "KOWALCZYK",
            "OKAFOR", "ADEYEMI", "MENSAH", "OSEI", "MURPHY", "KELLY", "OBRIEN", "BYRNE", "MCDONALD", "CAMPBELL",
            "STEWART", "ANDERSON", "SCOTT", "MORRIS", "COOPER", "WARD", "KING", "HUGHES", "EDWARDS", "HARRIS",
            "TURNER", "PARKER", "COLLINS", "BELL", "BAILEY", "PHILLIPS", "MITCHELL", "CARTER", "SHAW", "LLOYD",
            "PRICE", "BENNETT", "GRIFFITHS", "MARSHALL", "ELLIS", "RICHARDSON", "FOX", "HOLMES", "MASON", "GRAY",
            "SMITH-JONES", "TAYLOR-BROWN", "PEREIRA", "SANTOS", "RAHMAN", "UDDIN", "CHOWDHURY", "MIAH", "YILMAZ",
            "NGUYEN"]
# 60 fictional postcodes in 12 districts (outward code "NB1".."NB12")
POSTCODES = [f"NB{d}{s}{a}{b}" for d in range(1, 13) for s, a, b in
             [(1, "A", "B"), (2, "D", "E"), (3, "F", "G"), (4, "H", "J"), (5, "L", "N")]]


def records_frame(rows: list[dict]) -> pd.DataFrame:
    """Child records as :func:`models.linkage.records.child_records` gives them, plus ``table``.

    Each dict holds some of the cleaned columns (``record_id``, ``source``, ``la_code``, ``period_end``,
    ``la_child_id``, ``eh_id``, ``nhs_std``, ``upn``, ``former_upn``, ``forename_std``, ``surname_std``,
    ``dob``, ``sex_std``, ``postcode_std``, ``household_client``); the rest are missing, except
    ``source`` (person list), ``la_code`` (991) and ``period_end`` (31 March 2025). Derived as the SQL
    does: ``surname_parts`` (``surname_std`` split on "-", which is then dropped from ``surname_std``),
    ``postcode_district`` (postcode without its last 3 characters), ``household_child_id``
    (client|forename|surname|DOB) and ``table`` (the Splink input table of the source).
    """
    frame = pd.DataFrame([{**DEFAULTS, **row} for row in rows])
    for column in STRING_COLUMNS:
        frame[column] = (frame[column] if column in frame else pd.Series(pd.NA, index=frame.index)).astype("string")
    for column in DATE_COLUMNS:
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[us]")
    surname = frame["surname_std"]
    frame["surname_parts"] = [s.split("-") if isinstance(s, str) else [] for s in surname]
    frame["surname_std"] = surname.str.replace("-", "", regex=False)
    postcode = frame["postcode_std"]
    frame["postcode_district"] = postcode.str[:-3].where(postcode.str.len().between(5, 7))
    household_parts = pd.concat([frame["household_client"], frame["forename_std"], frame["surname_std"],
                                 frame["dob"].dt.strftime("%Y-%m-%d").astype("string")], axis=1)
    frame["household_child_id"] = household_parts.apply(
        lambda parts: "|".join(p for p in parts if isinstance(p, str)), axis=1).astype("string") \
        .where(frame["household_client"].notna())
    frame["table"] = frame["source"].map(CHILD_TABLES).astype("string")
    assert frame["record_id"].is_unique and frame["table"].notna().all()
    return frame


def _typo(names: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Swap two neighbouring letters in the middle of each name (``AMELIA`` -> ``AMLEIA``)."""
    out = []
    for name in names:
        i = int(rng.integers(1, len(name) - 2)) if len(name) > 3 else 0
        out.append(name[:i] + name[i + 1] + name[i] + name[i + 2:] if len(name) > 3 else name)
    return np.array(out, dtype=object)


def background_rows(n_children: int = 500, seed: int = 7, prefix: str = "bg") -> list[dict]:
    """Person-list, early-help and CIN-census records of ``n_children`` fictional children of authority 991.

    Children come in households of 1-3 (siblings share surname and postcode, born 400-1,100 days
    apart), born 2008-2024. Every child has a person-list record; 65% an early-help record (85% of
    those with the NHS number, so deterministically linked; the rest only by name, DOB and postcode),
    and 40% a CIN census record (LA child ID, UPN, DOB, sex). Early-help records differ from the
    person list as real ones do: nickname 10%, typo in forename 5%, new surname 4%, DOB with day and
    month swapped 2% or one day out 3%, other address 15%, sex missing 3%.
    Identifiers start with ``prefix`` so two populations never share one.
    """
    rng = np.random.default_rng(seed)
    n = n_children
    sizes = rng.choice([1, 2, 3], size=n, p=[0.5, 0.35, 0.15])
    household = np.repeat(np.arange(n), sizes)[:n]
    order_in_household = np.arange(n) - np.searchsorted(household, household)
    surname = np.array(SURNAMES, dtype=object)[rng.integers(0, len(SURNAMES), n)][household]
    postcode = np.array(POSTCODES, dtype=object)[rng.integers(0, len(POSTCODES), n)][household]
    base = np.datetime64("2008-01-01") + rng.integers(0, 10 * 365, n)[household]
    dob = base + order_in_household * rng.integers(400, 1100, n)
    sex = rng.choice(["M", "F"], size=n)
    forename = np.where(sex == "M", np.array(BOYS, dtype=object)[rng.integers(0, len(BOYS), n)],
                        np.array(GIRLS, dtype=object)[rng.integers(0, len(GIRLS), n)])
    number = rng.choice(10**8, size=n, replace=False)
    nhs = np.array([f"4{v:09d}" for v in number], dtype=object)
    upn = np.array([f"{prefix.upper()}{v:011d}" for v in number], dtype=object)
    ids = np.array([f"{prefix}{i:04d}" for i in range(n)], dtype=object)
    person_list = pd.DataFrame({
        "record_id": [f"{prefix}-pl-{i:04d}" for i in range(n)], "source": "person_list", "la_child_id": ids,
        "nhs_std": nhs, "upn": upn, "forename_std": forename, "surname_std": surname,
        "dob": dob, "sex_std": sex, "postcode_std": postcode})

    eh = person_list[rng.random(n) < 0.65].copy()
    m = len(eh)
    eh["record_id"] = [f"{prefix}-eh-{i:04d}" for i in eh.index]
    eh["source"] = "early_help"
    eh["eh_id"] = [f"E{prefix}{i:04d}" for i in eh.index]
    eh["la_child_id"] = None
    eh["upn"] = None
    eh["nhs_std"] = eh["nhs_std"].where(rng.random(m) < 0.85, None)
    variation = rng.random(m)
    nickname = (variation < 0.10) & eh["forename_std"].isin(list(NICKNAMES)).to_numpy()
    eh.loc[nickname, "forename_std"] = eh.loc[nickname, "forename_std"].map(NICKNAMES)
    typo = (variation >= 0.10) & (variation < 0.15)
    eh.loc[typo, "forename_std"] = _typo(eh.loc[typo, "forename_std"].to_numpy(), rng)
    new_surname = rng.random(m) < 0.04
    eh.loc[new_surname, "surname_std"] = np.array(SURNAMES, dtype=object)[rng.integers(0, len(SURNAMES),
                                                                                      new_surname.sum())]
    dob_error = rng.random(m)
    day, month = eh["dob"].dt.day, eh["dob"].dt.month
    swap = (dob_error < 0.02) & (day <= 12) & (day != month)
    eh.loc[swap, "dob"] = pd.to_datetime(pd.DataFrame({"year": eh["dob"].dt.year, "month": day, "day": month})[swap])
    one_day = (dob_error >= 0.02) & (dob_error < 0.05)
    eh.loc[one_day, "dob"] = eh.loc[one_day, "dob"] + pd.Timedelta(days=1)
    moved = rng.random(m) < 0.15
    eh.loc[moved, "postcode_std"] = np.array(POSTCODES, dtype=object)[rng.integers(0, len(POSTCODES), moved.sum())]
    eh.loc[rng.random(m) < 0.03, "sex_std"] = None

    cin = person_list[rng.random(n) < 0.40][["record_id", "la_child_id", "upn", "dob", "sex_std"]].copy()
    cin["record_id"] = cin["record_id"].str.replace("-pl-", "-cin-", regex=False)
    cin["source"] = "cin_census"

    rows = pd.concat([person_list, eh, cin], ignore_index=True)
    rows["dob"] = rows["dob"].dt.strftime("%Y-%m-%d")
    return [{k: v for k, v in row.items() if not (v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)))}
            for row in rows.to_dict("records")]


def child_of_record(record_id: str) -> str | None:
    """The background child a background record belongs to (``bg-eh-0012`` -> ``bg0012``), None for other records."""
    parts = record_id.split("-")
    return f"{parts[0]}{parts[2]}" if len(parts) == 3 and parts[1] in {"pl", "eh", "cin"} else None
