"""The commissioning inputs of the synthetic partnership: service activity returns and ONS-style population
projections.

**Service activity** (source ``service_activity``, ``sources/registry/service_activity.yaml``): one
``service_activity.csv`` per authority and quarter of the quarterly extracts, in the layout of
``sources/schemas/service_activity.yaml``, with each authority's commissioned services (:data:`SERVICES`):

* an early-help service by ward: its caseload is the children the simulation has in early help with the
  authority on the quarter end, by the ward they live in then (children living outside the authority's wards
  are not in a ward's row); its capacity (places) is fixed for each contract year (April to March), about the
  ward's average caseload over the extract quarters times a factor drawn once per ward (0.75-1.3: some wards
  are over capacity, most have room);
* a family-support service by ward: its caseload is a binomial share (``FAMILY_SUPPORT_SHARE``) of the children
  the simulation has in need (an open episode, no CP plan) with the authority, by ward; capacity as above;
* a parenting programme across the authority (ward blank): caseload a binomial share (``PARENTING_SHARE``) of
  the children in early help or in need, capacity fixed per contract year.

Eastmere (992) sends no return before ``service_activity_first_quarter_end`` (a new contract-monitoring
arrangement): those quarters are *not supplied*. Each authority writes its own headers (Northbrook the
product's example layout, Eastmere its own words) and encoding.

**Population projections** (source ``population_projections``): ``reference/population_projections/<base>
SNPP Population {males,females,persons}.csv`` in ONS's published layout (``AREA_CODE, AREA_NAME, COMPONENT,
SEX, AGE_GROUP, <base>, <base+1>, ...``), ``base`` = the year of ``population_reference_date``. The base year is
the simulated population's own children on 30 June of it, by authority, sex and single year of age (the same
count as that mid-year's population file); each later year ages every cohort by one year and applies the
authority's drift (:attr:`GeneratorConfig.population_drift`: net migration per year of the 0-4s and of the
5-17s, and the yearly change in births), to ``PROJECTION_YEARS`` years. The files hold ages 0-17 only (ONS's
hold 0 to 90 and over, and an 'All ages' row, which the reader drops). ``truth/population_projection.csv``
holds the same figures with the drift used.

Everything is drawn from its own generator (``seed + 31``), and the files are new ones: with
``commissioning_inputs=False`` the partnership is the one generated before they existed, byte for byte.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .population import age_on
from .simulate import _days
from .writers.common import format_days, write_csv

FILE_NAME = "service_activity.csv"
PROJECTION_FOLDER = "population_projections"
PROJECTION_YEARS = 13  # the base year and 12 more (ONS projects 25)
FAMILY_SUPPORT_SHARE = 0.35
PARENTING_SHARE = 0.06
CAPACITY_FACTOR = (0.75, 1.3)
# name, type as the authority writes it, provider, by ward?, what its caseload is drawn from
SERVICES = {
    "991": (("Early Help Locality Team", "Early help", "Northbrook Council", True, "early_help"),
            ("Family Support Service", "Family support", "Brightpath Families", True, "family_support"),
            ("Parenting Together", "Parenting programme", "Hearth Family Charity", False, "parenting")),
    "992": (("Eastmere Family Hub", "Targeted Early Help", "Eastmere Council", True, "early_help"),
            ("Eastmere Family Support", "Intensive family support", "Eastmere Council", True, "family_support"),
            ("Incredible Years", "Parenting", "Coastline Parenting Trust", False, "parenting")),
}
HEADERS = {  # internal -> header, per authority (Eastmere's system words them its own way)
    "991": {"service_name": "Service Name", "service_type": "Service Type", "provider": "Provider",
            "authority": "Authority", "ward_code": "Ward Code", "ward_name": "Ward Name",
            "quarter_end": "Quarter End", "capacity": "Capacity", "caseload": "Caseload"},
    "992": {"service_name": "Programme", "service_type": "Type of Service", "provider": "Delivered By",
            "authority": "Local Authority", "ward_code": "WD24CD", "ward_name": "WD24NM",
            "quarter_end": "Quarter Ending", "capacity": "Places", "caseload": "Children Supported"},
}


def supplied(cfg, lea: str, quarter_end) -> bool:
    """Whether ``lea`` sent a service-activity return for the quarter ending ``quarter_end``."""
    first = cfg.service_activity_first_quarter_end.get(lea)
    return first is None or np.datetime64(quarter_end, "D") >= np.datetime64(first, "D")


def _children_ward(people, person_ids: np.ndarray, day: np.datetime64) -> np.ndarray:
    """The ward each child (person_id) lives in on ``day``."""
    persons = people.persons.set_index("person_id")
    households = persons.loc[person_ids, "household_id"].to_numpy()
    rows = people.address_index(households, np.full(len(person_ids), day))
    return people.addresses["ward_code"].to_numpy()[rows]


def open_children(sim, people, lea: str, quarter_end) -> dict[str, pd.Series]:
    """Children with ``lea`` on the quarter end, by ward they live in: early help, in need (no CP plan), CP plan."""
    d = int(_days(np.datetime64(quarter_end, "D")))
    eh = sim.early_help
    eh = eh[(eh["lea"] == lea) & (eh["start_day"] <= d) & (eh["end_day"] >= d)]["person_id"].unique()
    cp = sim.cp_plans
    cp = cp[(cp["lea"] == lea) & (cp["start_day"] <= d) & (cp["end_day"] >= d)]["person_id"].unique()
    ep = sim.episodes
    cin = ep[(ep["lea"] == lea) & (ep["referral_day"] <= d) & (ep["closure_day"] >= d)]["person_id"].unique()
    cin = np.setdiff1d(cin, cp)
    day = np.datetime64(quarter_end, "D")
    out = {}
    for name, ids in (("early_help", np.sort(eh)), ("cin", np.sort(cin)), ("cp", np.sort(cp))):
        wards = _children_ward(people, ids, day) if len(ids) else np.array([], dtype=object)
        out[name] = pd.Series(ids, index=pd.Index(wards, name="ward_code"), name="person_id")
    return out


def service_activity_rows(sim, cfg, people, geo, extract_quarters, folder, rng) -> pd.DataFrame:
    """Every row of every service-activity return (internal columns, ``_file`` and ``lea``)."""
    rows = []
    for la in cfg.authorities:
        wards = geo.wards[geo.wards["lea"] == la.lea].sort_values("ward_code")
        quarters = [q for q in extract_quarters if supplied(cfg, la.lea, sim.quarter_ends[q])]
        counts = []
        for q in quarters:
            kids = open_children(sim, people, la.lea, sim.quarter_ends[q])
            eh = kids["early_help"].groupby(level=0).size().reindex(wards["ward_code"], fill_value=0)
            cin = kids["cin"].groupby(level=0).size().reindex(wards["ward_code"], fill_value=0)
            counts.append((q, eh, cin))
        if not counts:
            continue
        factors = {kind: rng.uniform(*CAPACITY_FACTOR, size=len(wards)) for kind in ("early_help", "family_support")}
        average = {"early_help": np.mean([c[1].to_numpy() for c in counts], axis=0),
                   "family_support": FAMILY_SUPPORT_SHARE * np.mean([c[2].to_numpy() for c in counts], axis=0)}
        yearly_change = rng.normal(1.0, 0.05, size=8)  # contract years: capacity moves a little each April
        parenting_places = int(round(rng.uniform(0.8, 1.2) * PARENTING_SHARE * np.mean(
            [c[1].sum() + c[2].sum() for c in counts])))
        first_year = _contract_year(sim.quarter_ends[quarters[0]])
        for q, eh, cin in counts:
            end = sim.quarter_ends[q]
            year = _contract_year(end) - first_year
            change = yearly_change[min(year, yearly_change.size - 1)]
            caseload = {"early_help": eh.to_numpy(),
                        "family_support": rng.binomial(cin.to_numpy(), FAMILY_SUPPORT_SHARE)}
            for name, label, provider, by_ward, kind in SERVICES[la.lea]:
                base = {"service_name": name, "service_type": label, "provider": provider, "authority": la.name,
                        "quarter_end": int(_days(end)), "lea": la.lea,
                        "_file": f"{folder[la.lea]}/{end}/{FILE_NAME}"}
                if by_ward:
                    places = np.maximum(1, np.round(average[kind] * factors[kind] * change)).astype(int)
                    for i, ward in enumerate(wards.itertuples()):
                        rows.append(base | {"ward_code": ward.ward_code, "ward_name": ward.ward_name,
                                            "capacity": int(places[i]), "caseload": int(caseload[kind][i])})
                else:
                    reach = int(eh.sum() + cin.sum())
                    rows.append(base | {"ward_code": "", "ward_name": "",
                                        "capacity": max(1, int(round(parenting_places * change))),
                                        "caseload": int(rng.binomial(reach, PARENTING_SHARE))})
    return pd.DataFrame(rows)


def _contract_year(quarter_end) -> int:
    """The contract year (April to March) a quarter end falls in: 31 March 2026 -> 2025."""
    end = str(np.datetime64(quarter_end, "D"))
    return int(end[:4]) - (1 if end[5:7] <= "03" else 0)


def write_service_activity(sim, cfg, people, geo, extract_quarters, folder, incoming: Path,
                           truth_dir: Path) -> pd.Series:
    """Write the returns and ``truth/service_activity.csv`` (every row written, with its authority); returns the
    data rows per file written (the rows describe services, not people: they are not in
    ``truth/source_records.csv``, whose lines are each a person's)."""
    rng = np.random.default_rng(cfg.seed + 31)
    rows = service_activity_rows(sim, cfg, people, geo, extract_quarters, folder, rng)
    if rows.empty:
        return pd.Series(dtype="int64")
    encodings = {la.lea: la.csv_encoding for la in cfg.authorities}
    written = {}
    for file, part in rows.groupby("_file", sort=True):
        lea = part["lea"].iloc[0]
        frame = part.assign(quarter_end=format_days(part["quarter_end"].to_numpy(), "%d/%m/%Y"))
        frame = frame[list(HEADERS[lea])].rename(columns=HEADERS[lea])
        write_csv(frame, incoming / file, encodings[lea])
        written[file] = len(part)
    truth = rows.assign(quarter_end=format_days(rows["quarter_end"].to_numpy(), "%Y-%m-%d"))
    truth_dir.mkdir(parents=True, exist_ok=True)
    truth[["_file", "lea", "service_name", "service_type", "provider", "ward_code", "quarter_end", "capacity",
           "caseload"]].rename(columns={"_file": "file"}).to_csv(truth_dir / "service_activity.csv", index=False,
                                                                 lineterminator="\n")
    return pd.Series(written, dtype="int64")


def expected_files(cfg, lea: str, quarter_end, stem: str) -> list[tuple[str, str, str]]:
    """(source, file, reason not supplied) of the service-activity return for ``extracts_supplied``."""
    if not cfg.commissioning_inputs:
        return []
    reason = "" if supplied(cfg, lea, quarter_end) else \
        f"no service-activity return before {cfg.service_activity_first_quarter_end[lea]}"
    return [("service_activity", f"{stem}{FILE_NAME}", reason)]


# ---------------------------------------------------------------------------------------------
# ONS-style subnational population projections
# ---------------------------------------------------------------------------------------------


def base_population(people, geo, year: int) -> pd.DataFrame:
    """Children aged 0-17 on 30 June ``year`` by authority (LAD code), sex and single year of age: the counts of
    that mid-year's population file summed over wards."""
    kids = people.persons[people.persons["role"] == "child"]
    when = np.datetime64(f"{year}-06-30")
    dob = kids["dob"].to_numpy().astype("datetime64[D]")
    age = age_on(dob, when)
    keep = (dob <= when) & (age < 18)
    rows = people.address_index(kids["household_id"].to_numpy()[keep], np.full(keep.sum(), when))
    frame = pd.DataFrame({"la_code": people.addresses["la_code"].to_numpy()[rows],
                          "sex": kids["sex"].to_numpy()[keep], "age": age[keep]})
    grid = pd.MultiIndex.from_product([sorted(geo.wards["la_code"].unique()), ["M", "F"], range(18)],
                                      names=["la_code", "sex", "age"])
    return frame.value_counts().reindex(grid, fill_value=0).rename("population").reset_index()


def projection(people, geo, cfg) -> pd.DataFrame:
    """la_code, sex, age, year, population (float) for the base year and the ``PROJECTION_YEARS - 1`` after."""
    base_year = int(str(cfg.population_reference_date)[:4])
    base = base_population(people, geo, base_year)
    leas = geo.wards[["la_code", "lea"]].drop_duplicates().set_index("la_code")["lea"]
    out = []
    for (la_code, sex), part in base.groupby(["la_code", "sex"], sort=True):
        births, young, older = cfg.population_drift.get(leas[la_code], (0.0, 0.0, 0.0))
        current = part.sort_values("age")["population"].to_numpy(dtype=float)
        migration = np.where(np.arange(18) < 5, young, older)
        for k in range(PROJECTION_YEARS):
            out.append(pd.DataFrame({"la_code": la_code, "sex": sex, "age": np.arange(18), "year": base_year + k,
                                     "population": np.round(current, 3)}))
            aged = np.empty(18)
            aged[0] = current[0] * (1 + births)
            aged[1:] = current[:-1]
            current = aged * (1 + migration)
    return pd.concat(out, ignore_index=True)


def write_population_projections(people, geo, cfg, incoming: Path, truth_dir: Path) -> None:
    """The three ONS-style files (males, females, persons) and ``truth/population_projection.csv``."""
    frame = projection(people, geo, cfg)
    base_year = int(frame["year"].min())
    names = geo.wards[["la_code", "la_name"]].drop_duplicates().set_index("la_code")["la_name"]
    persons = frame.groupby(["la_code", "age", "year"], as_index=False)["population"].sum().assign(sex="P")
    folder = incoming / "reference" / PROJECTION_FOLDER
    for sex, word in (("M", "males"), ("F", "females"), ("P", "persons")):
        part = (persons if sex == "P" else frame[frame["sex"] == sex])
        wide = part.pivot_table(index=["la_code", "age"], columns="year", values="population", aggfunc="sum")
        wide = wide.reset_index().sort_values(["la_code", "age"])
        lines = ['"AREA_CODE","AREA_NAME","COMPONENT","SEX","AGE_GROUP",'
                 + ",".join(f'"{y}"' for y in wide.columns[2:])]
        for row in wide.itertuples(index=False):
            values = ",".join(f"{v:.3f}" for v in row[2:])
            lines.append(f"{row[0]},{names[row[0]]},Population,{word},{row[1]},{values}")
        path = folder / f"{base_year} SNPP Population {word}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    truth = persons.assign(lea=persons["la_code"].map(geo.wards[["la_code", "lea"]].drop_duplicates()
                                                     .set_index("la_code")["lea"]), base_year=base_year)
    truth_dir.mkdir(parents=True, exist_ok=True)
    truth[["base_year", "lea", "la_code", "age", "year", "population"]].to_csv(
        truth_dir / "population_projection.csv", index=False, lineterminator="\n")

