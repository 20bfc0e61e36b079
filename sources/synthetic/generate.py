"""Generate the synthetic partnership: extracts in ``incoming/`` and the truth in ``truth/``.

``generate_partnership(GeneratorConfig(), out_dir)`` writes::

    out_dir/incoming/<lea>_<authority>/<quarter end>/   the extracts of that quarter
    out_dir/incoming/reference/                          population, postcodes, IMD, wards
    out_dir/truth/                                       what really happened (never read by the pipeline)
    out_dir/manifest.json                                parameters, files with SHA-256, headline figures

Same config, same bytes: every random draw comes from one seeded generator and
nothing depends on the clock.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .config import GeneratorConfig
from .geography import build_geography
from .identifiers import local_child_ids
from .identity import recorded_identities
from .names import draw_forenames, draw_surnames
from .population import build_people
from .simulate import _days, simulate
from .truth import write_truth
from .writers import extracts as X
from .writers.cin_census import write_cin_census
from .writers.common import inject_row_defects, write_rows
from .writers.reference import write_geography, write_la_codes, write_population


def generate_partnership(cfg: GeneratorConfig, out_dir: Path, progress: Callable[[str], None] = lambda m: None) -> dict:
    out_dir = Path(out_dir)
    for sub in ("incoming", "truth"):
        if (out_dir / sub).exists():
            shutil.rmtree(out_dir / sub)
    incoming, truth_dir = out_dir / "incoming", out_dir / "truth"
    rng = np.random.default_rng(cfg.seed)

    progress("building geography and households")
    geo = build_geography(rng, cfg.authorities, cfg.children)
    people = build_people(rng, cfg, geo)
    progress(f"{(people.persons['role'] == 'child').sum():,} children and {(people.persons['role'] == 'adult').sum():,} adults in {len(people.households):,} households")
    sim = simulate(rng, cfg, people, progress)
    burn_in = sim.quarter_ends.size - cfg.quarters
    extract_quarters = list(range(burn_in, sim.quarter_ends.size))
    folder = {la.lea: f"{la.lea}_{la.name.lower()}" for la in cfg.authorities}

    progress("recording identities in each system")
    persons = people.persons.set_index("person_id", drop=False)
    identity_defects: list[dict] = []
    csc_ids, csc_first, csc_ident, eh_ident, eh_ids = {}, {}, {}, {}, {}
    for la in cfg.authorities:
        eps = sim.episodes[sim.episodes["lea"] == la.lea]
        first = eps.groupby("person_id")["referral_day"].min().sort_values(kind="stable")
        csc_first[la.lea] = first
        csc_ids[la.lea] = pd.Series(local_child_ids(la.lea, len(first), rng), index=first.index)
        csc_ident[la.lea] = recorded_identities(rng, f"csc:{la.lea}", persons.loc[first.index], cfg.defects,
                                                identity_defects, swap_before=cfg.simulation_start, nhs_missing_rate=cfg.defects.missing_nhs_number / 3,
                                                has_upn_field=True)
        eh_people = np.sort(sim.early_help.loc[sim.early_help["lea"] == la.lea, "person_id"].unique())
        eh_ids[la.lea] = pd.Series([f"EH{la.lea}{i:06d}" for i in range(1, eh_people.size + 1)], index=eh_people)
        eh_ident[la.lea] = recorded_identities(rng, f"early_help:{la.lea}", persons.loc[eh_people], cfg.defects,
                                               identity_defects, swap_before=cfg.simulation_start, nhs_missing_rate=cfg.defects.missing_nhs_number)
    adult_ident, adult_child_ident, client_ids = {}, {}, {}
    for service in X.ADULT_SERVICE_LABEL:
        for la in cfg.authorities:
            system = (service, la.lea)
            ep = sim.adult_episodes[(sim.adult_episodes["service"] == service) & (sim.adult_episodes["lea"] == la.lea)]
            adults = np.sort(ep["adult_person_id"].unique())
            prefix = {"mental_health": "MH", "substance_misuse": "DA", "domestic_abuse": "MR", "learning_disability": "LD"}[service]
            client_ids[system] = pd.Series([f"{prefix}{la.lea}{i:06d}" for i in rng.permutation(adults.size) + 1], index=adults)
            adult_ident[system] = recorded_identities(rng, f"adult_{service}:{la.lea}", persons.loc[adults], cfg.defects,
                                                      identity_defects, swap_before=cfg.simulation_start, nhs_missing_rate=cfg.defects.missing_nhs_number)
            kids = sim.adult_household_children
            kid_ids = np.sort(kids.loc[kids["adult_episode_id"].isin(ep["adult_episode_id"]), "child_person_id"].unique())
            adult_child_ident[system] = recorded_identities(rng, f"adult_{service}_children:{la.lea}", persons.loc[kid_ids],
                                                            cfg.defects, identity_defects, swap_before=cfg.simulation_start, nhs_missing_rate=0.0)

    locations = []
    progress("writing CIN census XML")
    locations.append(pd.DataFrame(write_cin_census(sim, cfg, csc_ids, csc_ident, extract_quarters, folder, incoming, rng)))

    progress("writing child protection lists (Annex A list 7)")
    rows = X.cp_list_rows(sim, cfg, csc_ids, csc_ident, _workers(rng), extract_quarters, folder)
    rows = inject_row_defects(rows, "cp_list", X.LIST7_DEFECTS, cfg.defects, rng, rows["_extract_day"].to_numpy())
    for la in cfg.authorities:
        part = rows[rows["_file"].str.startswith(folder[la.lea] + "/")]
        locations.append(write_rows(part, X.LIST7_COLUMNS, incoming, X.LIST7_DATES, "%d/%m/%Y", la.csv_encoding,
                                    xlsx_sheet="List 7"))

    progress("writing early help exports")
    rows = X.early_help_rows(sim, cfg, people, csc_ids, csc_first, eh_ident, eh_ids, extract_quarters, folder, identity_defects)
    rows = inject_row_defects(rows, "early_help", X.EH_DEFECTS, cfg.defects, rng, rows["_extract_day"].to_numpy())
    for la in cfg.authorities:
        part = rows[rows["_file"].str.startswith(folder[la.lea] + "/")]
        locations.append(write_rows(part, X.EH_COLUMNS, incoming, X.EH_DATES, part["_date_style"].iloc[0], la.csv_encoding))

    progress("writing adult services exports")
    episodes, children = X.adult_rows(sim, cfg, people, adult_ident, adult_child_ident, client_ids, extract_quarters, folder)
    episodes = inject_row_defects(episodes, "adult_services", X.ADULT_DEFECTS, cfg.defects, rng, episodes["_extract_day"].to_numpy())
    children = inject_row_defects(children, "adult_household_children", X.CHILDREN_DEFECTS, cfg.defects, rng,
                                  children["_extract_day"].to_numpy())
    for la in cfg.authorities:
        for frame, columns in ((episodes, X.ADULT_COLUMNS), (children, X.CHILDREN_COLUMNS)):
            part = frame[frame["_file"].str.startswith(folder[la.lea] + "/")]
            locations.append(write_rows(part, columns, incoming, X.ADULT_DATES if columns is X.ADULT_COLUMNS else ["dob"],
                                        "%d/%m/%Y", la.csv_encoding))

    progress("writing children's social care person lists")
    rows = X.person_list_rows(sim, cfg, people, csc_ids, csc_first, csc_ident, extract_quarters, folder)
    rows = inject_row_defects(rows, "person_list", X.PERSON_DEFECTS, cfg.defects, rng, rows["_extract_day"].to_numpy())
    for la in cfg.authorities:
        part = rows[rows["_file"].str.startswith(folder[la.lea] + "/")]
        locations.append(write_rows(part, X.PERSON_COLUMNS, incoming, X.PERSON_DATES, "%d/%m/%Y", la.csv_encoding))

    progress("writing reference data (population, postcodes, deprivation, wards)")
    mid_years = sorted({int(str(sim.quarter_ends[q])[:4]) for q in extract_quarters if str(sim.quarter_ends[q]).endswith("06-30")})
    population_totals = write_population(people, geo, mid_years, incoming)
    write_geography(geo, incoming)
    write_la_codes(geo, incoming)

    progress("writing truth")
    source_records = pd.concat(locations, ignore_index=True)
    write_truth(truth_dir, cfg, people, sim, extract_quarters, source_records, identity_defects, csc_ids, eh_ids, client_ids)
    summary = headline_figures(cfg, people, sim, extract_quarters, source_records)
    summary["population_0_17_by_mid_year"] = population_totals
    _write_manifest(out_dir, cfg, summary)
    progress("done")
    return summary


def _workers(rng) -> np.ndarray:
    sex = rng.choice(["M", "F"], 60, p=[0.2, 0.8])
    group = np.full(60, "white_british", dtype=object)
    return np.char.add(np.char.add(draw_forenames(rng, sex, "adult", group).astype(str), " "),
                       draw_surnames(rng, group).astype(str))


def headline_figures(cfg, people, sim, extract_quarters, source_records) -> dict:
    """Rates at the last quarter end, per 10,000 children aged 0-17 (what the tests check)."""
    from .population import age_on
    q = extract_quarters[-1]
    D = _days(sim.quarter_ends[q])
    kids = people.persons[people.persons["role"] == "child"]
    dob = kids["dob"].to_numpy().astype("datetime64[D]")
    alive = (dob <= sim.quarter_ends[q]) & (age_on(dob, sim.quarter_ends[q]) < 18)
    children = int(alive.sum())
    ep, cp, eh = sim.episodes, sim.cp_plans, sim.early_help
    open_cin = int(ep.loc[(ep["referral_day"] <= D) & (ep["closure_day"] >= D), "person_id"].nunique())
    open_cp = cp[(cp["start_day"] <= D) & (cp["end_day"] >= D)]
    started = cp[(cp["start_day"] > D - 365) & (cp["start_day"] <= D)]
    open_eh = int(eh.loc[(eh["start_day"] <= D) & (eh["end_day"] >= D), "person_id"].nunique())
    neglected = sim.neglect[alive, q]  # neglect rows follow the order of children in persons
    neg_other = open_cp[(open_cp["initial_category"] != "NEG") & (open_cp["initial_category"] != "MUL")]
    neg_other = int(np.isin(neg_other["child_index"], np.flatnonzero(sim.neglect[:, q])).sum())
    return {
        "quarter_end": str(sim.quarter_ends[q]),
        "children_0_17": children,
        "true_neglect_prevalence": round(float(neglected.mean()), 4),
        "cin_rate_per_10k": round(open_cin / children * 1e4, 1),
        "cp_rate_per_10k": round(open_cp["person_id"].nunique() / children * 1e4, 1),
        "early_help_rate_per_10k": round(open_eh / children * 1e4, 1),
        "neg_share_of_initial_categories_started_last_12_months": round(float((started["initial_category"] == "NEG").mean()), 3),
        "neglected_children_on_plans_under_other_categories": neg_other,
        "extract_rows": int(len(source_records)),
        "extract_files": int(source_records["file"].nunique()),
    }


def _write_manifest(out_dir: Path, cfg: GeneratorConfig, summary: dict) -> None:
    files = {}
    for path in sorted(p for p in out_dir.rglob("*") if p.is_file() and p.name != "manifest.json"):
        files[path.relative_to(out_dir).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest = {"generator": "sources.synthetic", "config": dataclasses.asdict(cfg), "summary": summary, "files": files}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str), encoding="utf-8")
