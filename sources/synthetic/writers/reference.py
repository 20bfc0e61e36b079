"""Reference files: ONS population, postcode lookup, deprivation (IMD), ward GeoJSON, LA codes."""
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
