"""Generate the synthetic partnership: extracts in ``incoming/`` and the truth in ``truth/``.

``generate_partnership(GeneratorConfig(), out_dir)`` writes::

    out_dir/incoming/<lea>_<authority>/<period end>/    the files of that period: the CIN census
                                                         return in each 31 March folder from
                                                         ``first_census_year``; the quarterly extracts
                                                         in the ``quarters`` folders from ``first_quarter_end``;
                                                         an Ofsted Annex A workbook in each half-year's
                                                         folder (30 September, 31 March)
    out_dir/incoming/reference/                          population (every mid-year needed), postcodes, IMD, wards
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
from . import commissioning as C
from . import gcp2 as G
from . import partners as P
from .population import build_people
from .simulate import EPOCH, _days, simulate
from .truth import write_truth
from .writers import annex_a as A
from .writers import extracts as X
from .writers.cin_census import census_years, write_cin_census
from .writers.common import inject_row_defects, write_rows
from .writers.published import write_published
from .writers.reference import (write_census_ethnicity, write_geography, write_la_codes, write_population,
                                write_population_lsoa)


def generate_partnership(cfg: GeneratorConfig, out_dir: Path, progress: Callable[[str], None] = lambda m: None) -> dict:
    check_config(cfg)
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
    years = census_years(sim, cfg)
    first_day = min([y0 for _, y0, _ in years] + [_days(sim.quarter_starts[burn_in])])
    observed_quarters = [q for q in range(sim.quarter_ends.size) if _days(sim.quarter_starts[q]) >= first_day]
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
    locations.append(pd.DataFrame(write_cin_census(sim, cfg, csc_ids, csc_ident, folder, incoming, rng)))

    progress("writing child protection lists (Annex A list 7)")
    rows = X.cp_list_rows(sim, cfg, csc_ids, csc_ident, _workers(rng), extract_quarters, folder)
    rows = inject_row_defects(rows, "cp_list", X.LIST7_DEFECTS, cfg.defects, rng, rows["_extract_day"].to_numpy())
    for la in cfg.authorities:
        part = rows[rows["_file"].str.startswith(folder[la.lea] + "/")]
        locations.append(write_rows(part, X.LIST7_COLUMNS, incoming, X.LIST7_DATES, "%d/%m/%Y", la.csv_encoding,
                                    xlsx_sheet="List 7"))

    if cfg.annex_a_workbooks:
        progress("writing Ofsted Annex A workbooks (one per authority per half-year)")
        half_years = A.half_year_ends(sim, extract_quarters)
        annex = A.annex_a_rows(sim, cfg, csc_ids, csc_ident, eh_ids, eh_ident, csc_first,
                               _workers(np.random.default_rng(cfg.seed + 19)), half_years,
                               folder)
        locations.append(A.write_annex_a(annex, sim, folder, incoming))

    progress("writing early help exports")
    rows = X.early_help_rows(sim, cfg, people, csc_ids, csc_first, eh_ident, eh_ids, extract_quarters, folder, identity_defects)
    rows = inject_row_defects(rows, "early_help", X.EH_DEFECTS, cfg.defects, rng, rows["_extract_day"].to_numpy())
    for la in cfg.authorities:
        part = rows[rows["_file"].str.startswith(folder[la.lea] + "/")]
        locations.append(write_rows(part, X.EH_COLUMNS, incoming, X.EH_DATES, part["_date_style"].iloc[0], la.csv_encoding))

    progress("writing adult services exports")
    adult_quarters = {la.lea: [q for q in extract_quarters if adult_services_supplied(cfg, la.lea, sim.quarter_ends[q])]
                      for la in cfg.authorities}
    episodes, children = X.adult_rows(sim, cfg, people, adult_ident, adult_child_ident, client_ids, adult_quarters, folder)
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

    progress("writing partner-agency concern lists")
    partner_locations, partner_truth = P.write_partner_concerns(sim, cfg, people, extract_quarters, folder, incoming,
                                                                identity_defects)
    locations.extend(partner_locations)

    gcp2_truth = None
    if cfg.gcp2_rescoring:
        progress("writing GCP2 assessments (rescoring)")
        gcp2_locations, gcp2_truth = G.write_gcp2(sim, cfg, csc_ids, csc_ident, eh_ids, eh_ident, extract_quarters,
                                                  folder, incoming)
        locations.append(gcp2_locations)

    other_files = pd.Series(dtype="int64")  # files whose rows describe no person (not in source_records.csv)
    if cfg.commissioning_inputs:
        progress("writing commissioning inputs (service activity, population projections)")
        other_files = C.write_service_activity(sim, cfg, people, geo, extract_quarters, folder, incoming, truth_dir)
        C.write_population_projections(people, geo, cfg, incoming, truth_dir)

    progress("writing reference data (population, postcodes, deprivation, wards)")
    period_ends = [_date(ref) for _, _, ref in years] + [sim.quarter_ends[q] for q in extract_quarters]
    population_totals = write_population(people, geo, population_mid_years(period_ends), incoming)
    write_population_lsoa(people, geo, population_mid_years(period_ends), incoming)
    write_census_ethnicity(people, geo, incoming)
    write_geography(geo, incoming)
    write_la_codes(geo, incoming)
    write_published(cfg, sim, years, incoming, people)  # DfE-style comparators and statistical neighbours

    progress("writing truth")
    source_records = pd.concat(locations, ignore_index=True)
    supplied = extracts_supplied(cfg, sim, years, extract_quarters, folder, source_records, other_files)
    write_truth(truth_dir, cfg, people, sim, observed_quarters, source_records, identity_defects, csc_ids, eh_ids,
                client_ids, supplied)
    P.write_partner_truth(truth_dir, cfg, partner_truth)
    if gcp2_truth is not None:
        G.write_gcp2_truth(truth_dir, gcp2_truth)
    summary = headline_figures(cfg, people, sim, extract_quarters, years, source_records, supplied)
    summary["partner_agencies"] = P.partner_headlines(cfg, people, sim, extract_quarters)
    summary["population_0_17_by_mid_year"] = population_totals
    _write_manifest(out_dir, cfg, summary)
    progress("done")
    return summary


def _date(day) -> np.datetime64:
    """A day number (days since 1970-01-01) as a date."""
    return EPOCH + np.timedelta64(int(day), "D")


def _workers(rng) -> np.ndarray:
    sex = rng.choice(["M", "F"], 60, p=[0.2, 0.8])
    group = np.full(60, "white_british", dtype=object)
    return np.char.add(np.char.add(draw_forenames(rng, sex, "adult", group).astype(str), " "),
                       draw_surnames(rng, group).astype(str))


def check_config(cfg: GeneratorConfig) -> None:
    """Refuse a configuration whose calendar does not hold together, before any work is done."""
    start = np.datetime64(cfg.simulation_start, "D")
    if start != np.datetime64(cfg.simulation_start, "M").astype("datetime64[D]"):
        raise ValueError(f"simulation_start {cfg.simulation_start} must be the first day of a month")
    first_end = np.datetime64(cfg.first_quarter_end, "D")
    next_day = first_end + 1
    if next_day != next_day.astype("datetime64[M]") or next_day.astype("datetime64[M]").astype(int) % 3 != 0:
        raise ValueError(f"first_quarter_end {cfg.first_quarter_end} must be a quarter end "
                         "(31 March, 30 June, 30 September, 31 December)")
    if (np.datetime64(cfg.first_quarter_end, "M") - np.datetime64(cfg.simulation_start, "M")).astype(int) % 3 != 2:
        raise ValueError(f"simulation_start {cfg.simulation_start} must start a quarter ending on a quarter end like "
                         f"first_quarter_end {cfg.first_quarter_end}")
    if start > np.datetime64(f"{cfg.first_census_year - 1}-04-01") or start >= first_end:
        raise ValueError(f"simulation_start {cfg.simulation_start} is after the start of the first census year "
                         f"({cfg.first_census_year - 1}-04-01) or the first quarter; move it earlier (two years of "
                         "burn-in are advised)")
    leas = {la.lea for la in cfg.authorities}
    unknown = (set(cfg.adult_services_first_quarter_end) | set(cfg.service_activity_first_quarter_end)
               | set(cfg.population_drift)) - leas
    if unknown:
        raise ValueError("adult_services_first_quarter_end, service_activity_first_quarter_end or population_drift "
                         f"names authorities that are not in the partnership: {sorted(unknown)}")


def adult_services_supplied(cfg, lea: str, quarter_end) -> bool:
    """Whether ``lea`` sent its adult-services extracts for the quarter ending ``quarter_end``."""
    first = cfg.adult_services_first_quarter_end.get(lea)
    return first is None or np.datetime64(quarter_end, "D") >= np.datetime64(first, "D")


def population_mid_years(period_ends) -> list[int]:
    """Mid-years the pipeline needs: for each period end, the latest 30 June on or before it."""
    years = set()
    for end in period_ends:
        end = str(np.datetime64(end, "D"))
        years.add(int(end[:4]) if end[5:] >= "06-30" else int(end[:4]) - 1)
    return sorted(years)


def extracts_supplied(cfg, sim, years, extract_quarters, folder, source_records,
                      other_files: pd.Series | None = None) -> pd.DataFrame:
    """One row per file an authority sends for a period, written or not (``truth/extracts_supplied.csv``).

    ``supplied`` is false for an extract the authority did not send (``reason`` says why): the
    services it covers still ran and are in the other truth files. ``rows`` counts data rows
    (Child elements for the census), duplicates included. ``other_files``: data rows of the files whose rows
    describe no person (service activity), which ``source_records`` does not list.
    """
    rows_in = source_records.groupby("file").size()
    if other_files is not None and len(other_files):
        rows_in = pd.concat([rows_in, other_files])
    expected = []
    for la in cfg.authorities:
        base = folder[la.lea]
        for year, _, ref in years:
            expected.append((la, str(_date(ref)), "cin_census", f"{base}/{_date(ref)}/cin_census_{year}.xml", ""))
        for q in extract_quarters:
            end = str(sim.quarter_ends[q])
            stem = f"{base}/{end}/"
            expected.append((la, end, "cp_list", f"{stem}annex_a_list_7_child_protection.{la.cp_list_format}", ""))
            expected.append((la, end, "early_help", f"{stem}early_help_episodes.csv", ""))
            no_dsa = "" if adult_services_supplied(cfg, la.lea, end) else \
                f"no data-sharing agreement with adult services before {cfg.adult_services_first_quarter_end[la.lea]}"
            for service in X.ADULT_SERVICE_LABEL:
                expected.append((la, end, "adult_services", f"{stem}adult_{service}_episodes.csv", no_dsa))
                expected.append((la, end, "adult_household_children", f"{stem}adult_{service}_household_children.csv", no_dsa))
            expected.append((la, end, "person_list", f"{stem}csc_person_list.csv", ""))
            expected += [(la, end, source, file, "") for source, file in P.expected_files(cfg, stem)]
            if cfg.gcp2_rescoring:
                expected.append((la, end, "gcp2_assessments", f"{stem}{G.FILE_NAME}", ""))
            expected += [(la, end, source, file, reason) for source, file, reason in C.expected_files(cfg, la.lea, end, stem)]
            if cfg.annex_a_workbooks and q in A.half_year_ends(sim, extract_quarters):
                expected.append((la, end, "annex_a", f"{stem}{A.FILE_NAME}", ""))
    frame = pd.DataFrame([{"lea": la.lea, "authority": la.name, "period_end": end, "source": source, "file": file,
                           "supplied": file in rows_in.index, "rows": int(rows_in.get(file, 0)),
                           "reason": reason or ("" if file in rows_in.index else "no rows for the period (no file written)")}
                          for la, end, source, file, reason in expected])
    unexpected = set(rows_in.index) - set(frame["file"])
    if unexpected:
        raise AssertionError(f"files written but not in the supply list: {sorted(unexpected)[:3]}")
    return frame


def headline_figures(cfg, people, sim, extract_quarters, years, source_records, supplied) -> dict:
    """Rates at the last quarter end, per 10,000 children aged 0-17 (what the tests check), and the
    children in need and on a plan at 31 March of each census year."""
    q = extract_quarters[-1]
    D = _days(sim.quarter_ends[q])
    children = _children_on(people, sim.quarter_ends[q])
    ep, cp, eh = sim.episodes, sim.cp_plans, sim.early_help
    open_cin = _open_cin(ep, D)
    open_cp = cp[(cp["start_day"] <= D) & (cp["end_day"] >= D)]
    started = cp[(cp["start_day"] > D - 365) & (cp["start_day"] <= D)]
    open_eh = int(eh.loc[(eh["start_day"] <= D) & (eh["end_day"] >= D), "person_id"].nunique())
    alive = _alive(people, sim.quarter_ends[q])
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
        "census_years": f"{years[0][0]}-{years[-1][0]}" if years else "",
        "cin_rate_per_10k_at_31_march": {y: round(_open_cin(ep, ref) / _children_on(people, _date(ref)) * 1e4, 1)
                                         for y, _, ref in years},
        "cp_rate_per_10k_at_31_march": {y: round(_open_cp(cp, ref) / _children_on(people, _date(ref)) * 1e4, 1)
                                        for y, _, ref in years},
        "extract_rows": int(len(source_records)),
        "extract_files": int(source_records["file"].nunique()),
        "extract_files_not_supplied": int((~supplied["supplied"]).sum()),
    }


def _alive(people, when) -> np.ndarray:
    from .population import age_on
    kids = people.persons[people.persons["role"] == "child"]
    dob = kids["dob"].to_numpy().astype("datetime64[D]")
    when = np.datetime64(when, "D")
    return (dob <= when) & (age_on(dob, when) < 18)


def _children_on(people, when) -> int:
    return int(_alive(people, when).sum())


def _open_cin(ep: pd.DataFrame, day: int) -> int:
    return int(ep.loc[(ep["referral_day"] <= day) & (ep["closure_day"] >= day), "person_id"].nunique())


def _open_cp(cp: pd.DataFrame, day: int) -> int:
    return int(cp.loc[(cp["start_day"] <= day) & (cp["end_day"] >= day), "person_id"].nunique())


def _write_manifest(out_dir: Path, cfg: GeneratorConfig, summary: dict) -> None:
    files = {}
    for path in sorted(p for p in out_dir.rglob("*") if p.is_file() and p.name != "manifest.json"):
        files[path.relative_to(out_dir).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest = {"generator": "sources.synthetic", "config": dataclasses.asdict(cfg), "summary": summary, "files": files}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str), encoding="utf-8")
