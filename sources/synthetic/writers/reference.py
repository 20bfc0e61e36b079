"""Reference files: ONS population (by ward and by LSOA), Census 2021 ethnic group by LSOA, postcode lookup,
deprivation (IMD), ward GeoJSON, LA codes."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..population import age_on
from .common import write_csv


def write_population(people, geo, mid_years: list[int], incoming: Path) -> dict[int, int]:
    """ONS-style mid-year estimates by ward, sex (1 male, 2 female) and single year of age 0-17."""
    persons = people.persons[people.persons["role"] == "child"]
    totals = {}
    for year in mid_years:
        when = np.datetime64(f"{year}-06-30")
        dob = persons["dob"].to_numpy().astype("datetime64[D]")
        alive = dob <= when
        age = age_on(dob, when)
        keep = alive & (age < 18)
        rows = people.address_index(persons["household_id"].to_numpy()[keep], np.full(keep.sum(), when))
        counts = pd.DataFrame({
            "ward_code": people.addresses["ward_code"].to_numpy()[rows],
            "sex": np.where(persons["sex"].to_numpy()[keep] == "M", 1, 2),
            "age": age[keep],
        }).value_counts().rename("population")
        grid = pd.MultiIndex.from_product([geo.wards["ward_code"], [1, 2], range(18)], names=["ward_code", "sex", "age"])
        counts = counts.reindex(grid, fill_value=0).reset_index()
        frame = counts.merge(geo.wards[["ward_code", "ward_name", "la_code", "la_name"]], on="ward_code")
        frame = frame[["ward_code", "ward_name", "la_code", "la_name", "sex", "age", "population"]]
        frame.columns = ["WD24CD", "WD24NM", "LAD24CD", "LAD24NM", "sex", "age", f"population_{year}"]
        write_csv(frame, incoming / "reference" / "population" / f"population_mid_{year}.csv", "utf-8")
        totals[year] = int(frame[f"population_{year}"].sum())
    return totals


def write_geography(geo, incoming: Path) -> None:
    ref = incoming / "reference"
    pc = geo.postcodes.merge(geo.wards[["ward_code", "ward_name", "la_name"]], on="ward_code")
    pcd7 = pc["postcode"].str.replace(" ", "", regex=False)
    pcd7 = pcd7.str[:-3].str.ljust(4) + pcd7.str[-3:]
    lookup = pd.DataFrame({"pcd7": pcd7, "pcds": pc["postcode"], "dointr": "198001", "doterm": "",
                           "wd24cd": pc["ward_code"], "wd24nm": pc["ward_name"], "lsoa21cd": pc["lsoa_code"],
                           "lad24cd": pc["la_code"], "lad24nm": pc["la_name"]}).sort_values("pcds")
    write_csv(lookup, ref / "postcode_lookup.csv", "utf-8")
    imd = geo.lsoas.merge(geo.wards[["ward_code", "la_name"]], on="ward_code")
    imd = pd.DataFrame({
        "LSOA code (2021)": imd["lsoa_code"], "LSOA name (2021)": imd["lsoa_name"],
        "Local Authority District code (2024)": imd["la_code"], "Local Authority District name (2024)": imd["la_name"],
        "Index of Multiple Deprivation (IMD) Rank": imd["imd_rank"], "Index of Multiple Deprivation (IMD) Decile": imd["imd_decile"],
    })
    write_csv(imd, ref / "imd_lsoa.csv", "utf-8")
    (ref / "wards.geojson").write_text(json.dumps(geo.geojson, indent=1), encoding="utf-8")


def write_la_codes(geo, incoming: Path) -> None:
    """``reference/la_codes.csv``: each authority's DfE three-digit LA number and ONS code, headed as in
    DfE's Explore Education Statistics files (old_la_code = LEA number, new_la_code = ONS code)."""
    las = geo.wards[["lea", "la_code", "la_name"]].drop_duplicates().sort_values("lea")
    frame = pd.DataFrame({"old_la_code": las["lea"], "new_la_code": las["la_code"], "la_name": las["la_name"]})
    write_csv(frame, incoming / "reference" / "la_codes.csv", "utf-8")


def _residents(people, when: np.datetime64, children_only: bool) -> pd.DataFrame:
    """Persons living in the partnership on ``when`` (born by then, household formed): LSOA, sex, age, ethnicity."""
    persons = people.persons
    if children_only:
        persons = persons[persons["role"] == "child"]
    dob = persons["dob"].to_numpy().astype("datetime64[D]")
    households = persons["household_id"].to_numpy()
    rows = people.address_index(households, np.full(len(persons), when))
    rows = np.clip(rows, 0, len(people.addresses) - 1)
    housed = (people.addresses["household_id"].to_numpy()[rows] == households) & \
        (people.addresses["from_date"].to_numpy()[rows] <= when)
    age = age_on(dob, when)
    # under 18 means a child of the simulation, as in the ward file (a parent aged 16 or 17 is left out of both)
    keep = (dob <= when) & housed & ((age >= 18) | (persons["role"].to_numpy() == "child"))
    if children_only:
        keep &= age < 18
    return pd.DataFrame({"lsoa_code": people.addresses["lsoa_code"].to_numpy()[rows][keep],
                         "sex": persons["sex"].to_numpy()[keep], "age": np.minimum(age[keep], 90),
                         "ethnicity": persons["ethnicity"].to_numpy()[keep]})


def write_population_lsoa(people, geo, mid_years: list[int], incoming: Path) -> None:
    """ONS's LSOA mid-year estimates as ONS publishes them (one sheet per mid-year, saved as CSV, the year in the
    file name): ``reference/population_lsoa/lsoa_population_mid_<year>.csv`` with LAD 2021 Code, LAD 2021 Name,
    LSOA 2021 Code, LSOA 2021 Name, Total, F0 ... F90, M0 ... M90: every simulated person (children and their
    parents) living in each of the partnership's LSOAs on 30 June."""
    lsoas = geo.lsoas.merge(geo.wards[["ward_code", "la_name"]], on="ward_code")
    columns = [f"{s}{a}" for s in "FM" for a in range(91)]
    for year in mid_years:
        people_now = _residents(people, np.datetime64(f"{year}-06-30"), children_only=False)
        key = people_now["sex"].map({"F": "F", "M": "M"}) + people_now["age"].astype(str)
        counts = pd.crosstab(people_now["lsoa_code"], key).reindex(index=lsoas["lsoa_code"], columns=columns,
                                                                   fill_value=0).fillna(0).astype(int)
        frame = pd.DataFrame({"LAD 2021 Code": lsoas["la_code"].to_numpy(), "LAD 2021 Name": lsoas["la_name"].to_numpy(),
                              "LSOA 2021 Code": lsoas["lsoa_code"].to_numpy(),
                              "LSOA 2021 Name": lsoas["lsoa_name"].to_numpy(),
                              "Total": counts.sum(axis=1).to_numpy()})
        frame = pd.concat([frame, counts.reset_index(drop=True)], axis=1)
        write_csv(frame, incoming / "reference" / "population_lsoa" / f"lsoa_population_mid_{year}.csv", "utf-8")


# DfE ethnicity code -> Census 2021 category (TS021, 19 categories): the synthetic person's ethnicity as the Census
# would record it. Refused / not obtained have no Census category (the Census imputes everyone's): left out.
CENSUS_CATEGORY = {
    "WBRI": "White: English, Welsh, Scottish, Northern Irish or British", "WIRI": "White: Irish",
    "WIRT": "White: Gypsy or Irish Traveller", "WROM": "White: Roma", "WOTH": "White: Other White",
    "MWBC": "Mixed or Multiple ethnic groups: White and Black Caribbean",
    "MWBA": "Mixed or Multiple ethnic groups: White and Black African",
    "MWAS": "Mixed or Multiple ethnic groups: White and Asian",
    "MOTH": "Mixed or Multiple ethnic groups: Other Mixed or Multiple ethnic groups",
    "AIND": "Asian, Asian British or Asian Welsh: Indian", "APKN": "Asian, Asian British or Asian Welsh: Pakistani",
    "ABAN": "Asian, Asian British or Asian Welsh: Bangladeshi", "CHNE": "Asian, Asian British or Asian Welsh: Chinese",
    "AOTH": "Asian, Asian British or Asian Welsh: Other Asian",
    "BAFR": "Black, Black British, Black Welsh, Caribbean or African: African",
    "BCRB": "Black, Black British, Black Welsh, Caribbean or African: Caribbean",
    "BOTH": "Black, Black British, Black Welsh, Caribbean or African: Other Black",
    "OOTH": "Other ethnic group: Any other ethnic group",
}
CENSUS_COLUMNS = [  # Nomis's TS021 bulk file, in its order
    "Asian, Asian British or Asian Welsh", "Asian, Asian British or Asian Welsh: Bangladeshi",
    "Asian, Asian British or Asian Welsh: Chinese", "Asian, Asian British or Asian Welsh: Indian",
    "Asian, Asian British or Asian Welsh: Pakistani", "Asian, Asian British or Asian Welsh: Other Asian",
    "Black, Black British, Black Welsh, Caribbean or African",
    "Black, Black British, Black Welsh, Caribbean or African: African",
    "Black, Black British, Black Welsh, Caribbean or African: Caribbean",
    "Black, Black British, Black Welsh, Caribbean or African: Other Black",
    "Mixed or Multiple ethnic groups", "Mixed or Multiple ethnic groups: White and Asian",
    "Mixed or Multiple ethnic groups: White and Black African", "Mixed or Multiple ethnic groups: White and Black Caribbean",
    "Mixed or Multiple ethnic groups: Other Mixed or Multiple ethnic groups", "White",
    "White: English, Welsh, Scottish, Northern Irish or British", "White: Irish", "White: Gypsy or Irish Traveller",
    "White: Roma", "White: Other White", "Other ethnic group", "Other ethnic group: Arab",
    "Other ethnic group: Any other ethnic group"]
CENSUS_DAY = np.datetime64("2021-03-21")


def write_census_ethnicity(people, geo, incoming: Path) -> None:
    """Census 2021 TS021 (ethnic group, all usual residents) by LSOA as Nomis's bulk file gives it:
    ``reference/census2021-ts021-lsoa.csv`` (date, geography, geography code, Ethnic group: Total: All usual
    residents, then each high-level group and its detailed categories): every simulated person living in the
    partnership on Census day, 21 March 2021, by the Census category of their ethnicity."""
    residents = _residents(people, CENSUS_DAY, children_only=False)
    residents = residents[residents["ethnicity"].isin(list(CENSUS_CATEGORY))]
    detail = pd.crosstab(residents["lsoa_code"], residents["ethnicity"].map(CENSUS_CATEGORY)) \
        .reindex(index=geo.lsoas["lsoa_code"], fill_value=0).fillna(0).astype(int)
    out = pd.DataFrame({"date": 2021, "geography": geo.lsoas["lsoa_name"].to_numpy(),
                        "geography code": geo.lsoas["lsoa_code"].to_numpy()})
    values = {}
    for column in CENSUS_COLUMNS:
        if ":" in column:
            values[column] = detail[column].to_numpy() if column in detail else np.zeros(len(out), int)
    for column in CENSUS_COLUMNS:
        if ":" not in column:
            values[column] = sum(v for c, v in values.items() if c.startswith(column + ":"))
    out["Ethnic group: Total: All usual residents"] = sum(v for c, v in values.items() if ":" not in c)
    for column in CENSUS_COLUMNS:
        out[f"Ethnic group: {column}"] = values[column]
    write_csv(out, incoming / "reference" / "census2021-ts021-lsoa.csv", "utf-8")
