"""The published tables of the commissioning page (issue 20), after disclosure control.

:func:`published_commissioning` reads ``marts.commissioning_view`` and ``marts.neglect_projection`` for one
quarter and returns two tables (:func:`dashboards.tables.build_publication` adds them to the publication, so they
reach the report, the workbook, the CSV files and ``published.*`` like every other table):

* ``commissioning``: for each area (partnership, each authority) and each authority's wards: identified neglect
  (tiers 1-4, 12 months), receiving a service on the quarter end or not, children in early help, in need and on a
  CP plan, the commissioned places and caseload with the spare places, and the estimated need (hidden prevalence,
  rounded to 10; for a ward, apportioned by its share of the authority's identified children, and said so) with
  the estimated children without a service. Every count is looked up in the refresh's protected cells
  (:mod:`dashboards.commissioning_cells`); a figure made from a count is blank when that count is ``c``
  (spare places from a caseload, a ward's apportioned estimate from its identified children, the estimate
  without a service from the children receiving one);
* ``projection``: children with identified neglect 1-3 years ahead per area (all ages and by age band), rounded
  to 10 with the 95 % interval (models, not counts), from the current rates of the age bands; blank when a band's
  count it uses is ``c`` (it would give that count back) or the projection is not available.
"""
from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd

from .commissioning_cells import ALL, ITEMS, UNPUBLISHED, commissioning_cell, identified_cell

NOT_AVAILABLE = "x"  # as dashboards.tables.NOT_AVAILABLE (not imported: tables imports this module)

ROUND_TO = 10
AGE_BANDS = ("0-4", "5-9", "10-15", "16-17")
COMMISSIONING_NOTES = {
    "commissioning": "Need against service (issue 20): identified neglect (tiers 1-4, 12 months) and the estimated "
                     "total need against children receiving early help, in need or on a CP plan on the quarter end "
                     "and the places commissioned services report, per area and ward, with the gap (children with "
                     "no known address or living outside the authority are in the whole area only, so the wards do "
                     "not add up to it). Estimates "
                     "rounded to 10; a ward's estimate is the authority's apportioned by its identified children.",
    "projection": "Children with identified neglect (tiers 1-4, 12 months) 1-3 years ahead: current age-specific "
                  "rates x ONS subnational population projections, rounded to 10, with 95 % intervals for the "
                  "rates' uncertainty (the population projection taken as fixed).",
}
COMMISSIONING_LABELS = {
    "area_level": "Area level", "ward_code": "Ward code", "ward_name": "Ward",
    "identified_receiving_service": "Identified, receiving a service", "identified_without_service":
    "Identified, no service", "service_children": "Children in a service", "early_help_children": "In early help",
    "child_in_need_children": "Children in need (incl. CP)", "cp_plan_children": "On a CP plan",
    "commissioned_capacity": "Commissioned places", "commissioned_caseload": "Commissioned caseload",
    "spare_capacity": "Spare places", "services_reported": "Services reported",
    "service_activity_status": "Service activity return", "estimated_need_status": "Estimate published as",
    "estimated_need_basis": "Estimate basis", "estimated_need_central": "Estimated need",
    "estimated_need_lower": "Estimated need from", "estimated_need_upper": "Estimated need to",
    "estimated_need_at_least": "Estimated need at least",
    "estimated_without_service_central": "Estimated without a service",
    "estimated_without_service_lower": "Estimated without a service from",
    "estimated_without_service_upper": "Estimated without a service to", "identified_availability":
    "Identified availability", "age_band": "Age band", "horizon_years": "Years ahead", "projection_year": "Mid-year",
    "current_mid_year": "Rates from mid-year", "projected_population": "Projected population 0-17",
    "snpp_base_year": "ONS projection base year", "projected_children": "Projected children",
}
COMMISSIONING_COUNTS = {"identified_receiving_service", "identified_without_service", "service_children",
                        "early_help_children", "child_in_need_children", "cp_plan_children", "commissioned_capacity",
                        "commissioned_caseload", "spare_capacity", "services_reported", "estimated_need_central",
                        "estimated_need_lower", "estimated_need_upper", "estimated_need_at_least",
                        "estimated_without_service_central", "estimated_without_service_lower",
                        "estimated_without_service_upper", "projected_children", "projected_population"}


def _round(values) -> pd.Series:
    return (pd.to_numeric(pd.Series(values), errors="coerce").astype("float64") / ROUND_TO).round() * ROUND_TO


def _number(value) -> float:
    return np.nan if value is None or isinstance(value, str) or pd.isna(value) else float(value)


def _exists(conn, schema: str, table: str) -> bool:
    return bool(conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
                             "AND table_name = ?", [schema, table]).fetchall()[0][0])


def published_view(conn: duckdb.DuckDBPyConnection, quarter_end: date, counts) -> pd.DataFrame:
    """The ``commissioning`` table (see the module docstring)."""
    from .tables import iso

    view = conn.execute("SELECT * FROM marts.commissioning_view WHERE period_end = ? ORDER BY ALL",
                        [quarter_end]).df()
    if view.empty:
        return view
    view["period_end"] = iso(quarter_end)
    # children with no known address or living elsewhere: in the whole area's figures only (auxiliary cells)
    view = view[~view["ward_code"].isin(UNPUBLISHED)]
    order = {"partnership": 0, "authority": 1, "ward": 2}
    view = view.sort_values(["la_code", "area_level", "ward_code"], key=lambda s: s.map(order) if s.name ==
                            "area_level" else s, ignore_index=True)
    view = counts(view, "identified_children", [identified_cell(quarter_end, la, w) for la, w in
                                                zip(view["la_code"], view["ward_code"])])
    for column, item in ITEMS.items():
        view = counts(view, column, [commissioning_cell(quarter_end, la, w, item) for la, w in
                                     zip(view["la_code"], view["ward_code"])])
    # 'Across the authority' has no children of its own (a service row): its blanks are 'not applicable', not 'x'
    across = view["ward_code"] == "Across the authority"
    for column in ("identified_children", *[c for c in ITEMS if c != "commissioned_caseload"]):
        view.loc[across, column] = None
    # estimates: rounded to 10; a ward's from the authority's (rounded) and the published identified counts
    whole = view[view["ward_code"] == ALL].set_index("la_code")
    for end in ("central", "lower", "upper", "at_least"):
        column = f"estimated_need_{end}"
        area = _round(whole[column]).reindex(view["la_code"]).to_numpy()
        identified = view["identified_children"].map(_number).to_numpy()
        total = whole["identified_children"].map(_number).reindex(view["la_code"]).to_numpy()
        ward = view["ward_code"] != ALL
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(ward, identified / np.where(total > 0, total, np.nan), 1.0)
        view[column] = _round(area * share).to_numpy()
    receiving = view["identified_receiving_service"].map(_number).to_numpy()
    for end in ("central", "lower", "upper"):
        view[f"estimated_without_service_{end}"] = _round(view[f"estimated_need_{end}"].to_numpy() - receiving).to_numpy()
    # a supplied return with no row for a ward: no ward-based service reported there (blank, not 'x')
    no_row = (view["service_activity_status"] == "supplied") & (view["commissioned_caseload"] == NOT_AVAILABLE)
    view.loc[no_row, "commissioned_caseload"] = None
    view["spare_capacity"] = view["spare_capacity"].astype("float64").where(
        ~view["commissioned_caseload_suppressed"].astype(bool))  # it would give the caseload back
    view["estimated_need_basis"] = view["estimated_need_basis"].where(view["estimated_need_central"].notna()
                                                                      | view["estimated_need_at_least"].notna())
    return view


def published_projection(conn: duckdb.DuckDBPyConnection, quarter_end: date, counts) -> pd.DataFrame:
    """The ``projection`` table (see the module docstring): every area, horizon and age band."""
    from .cells import children_cell
    from .tables import iso

    if not _exists(conn, "marts", "neglect_projection"):
        return pd.DataFrame()
    frame = conn.execute("""
        SELECT period_end, la_code, la_name, age_band, horizon_years, projection_year, current_mid_year, rate_per_10k,
               projected_population, snpp_base_year, projected_children, ci95_lower, ci95_upper, availability,
               availability_note
        FROM marts.neglect_projection WHERE period_end = ? ORDER BY la_code, horizon_years, age_band""",
                         [quarter_end]).df()
    frame["period_end"] = iso(quarter_end)
    published = []
    for la, band in zip(frame["la_code"], frame["age_band"]):
        bands = AGE_BANDS if band == "All ages" else (band,)
        published.append(all(counts.published(children_cell(quarter_end, "12_month", la, "age_band", b, "Tiers 1-4"))
                              for b in bands))
    hidden = ~np.asarray(published, dtype=bool)
    for column in ("projected_children", "ci95_lower", "ci95_upper"):
        frame[column] = _round(frame[column]).where(~hidden).to_numpy()
    frame["rate_per_10k"] = frame["rate_per_10k"].where(~hidden)
    frame["projected_population"] = frame["projected_population"].round()
    frame.loc[hidden & (frame["availability"] == "available"), "availability_note"] = \
        "blank: a count of children it is made from is suppressed"
    return frame


def published_commissioning(conn: duckdb.DuckDBPyConnection, quarter_end: date, counts) -> dict[str, pd.DataFrame]:
    if not _exists(conn, "marts", "commissioning_view"):
        return {"commissioning": pd.DataFrame(), "projection": published_projection(conn, quarter_end, counts)}
    return {"commissioning": published_view(conn, quarter_end, counts),
            "projection": published_projection(conn, quarter_end, counts)}


def _row_cells(item: str):
    def cell_of(r):
        return commissioning_cell(r["period_end"], r["la_code"], r["ward_code"], item)
    return cell_of


COMMISSIONING_TABLE_CELLS = {
    "commissioning": [("identified_children", lambda r: identified_cell(r["period_end"], r["la_code"], r["ward_code"])),
                      *[(column, _row_cells(item)) for column, item in ITEMS.items()]],
}


# the Methods section's rows for the commissioning page and projection (dashboards/tables.py methods_table)
COMMISSIONING_METHODS = (
    ("Commissioning", "Services received", "Children in early help, in need (an open children-in-need episode, CP "
                                           "plans included) or on a CP plan on the quarter end, by the ward they "
                                           "lived in then; 'identified, receiving a service': children with "
                                           "identified neglect in the 12 months who had one of those services on "
                                           "the quarter end, from the same authority."),
    ("Commissioning", "Estimated need and the gap", "The hidden-prevalence estimate of all neglected children "
                                                    "(rounded to 10) less the identified children receiving a "
                                                    "service. It is made per authority; a ward's figure is the "
                                                    "authority's apportioned by the ward's share of its identified "
                                                    "children, which assumes unidentified neglect is spread like "
                                                    "identified neglect (a ward where services identify less "
                                                    "hides more): a way of sharing out, not an estimate for the "
                                                    "ward."),
    ("Commissioning", "Commissioned places", "From the services' quarterly activity returns (optional): places "
                                             "and caseload in children on the quarter end; 'not supplied' where "
                                             "an authority sent no return, never 0."),
    ("Projection", "Method", "Children with identified neglect (tiers 1-4, 12 months) 1, 2 and 3 years after the "
                             "mid-year of the current population: each age band's current rate (children over "
                             "the ONS mid-year estimate) times the band's ONS subnational population projection "
                             "for that year (the latest base year supplied), summed over the bands (0-4, 5-9, "
                             "10-15, 16-17); children of unknown age are left out."),
    ("Projection", "95 % interval", "The uncertainty of the current rates only: each band's count taken as "
                                    "Poisson, combined over the bands by Dobson's method (as Fingertips does for "
                                    "age-standardised rates). The population projection is treated as fixed "
                                    "and the rates as constant: a change in practice or thresholds, or a "
                                    "projection that proves wrong, moves the real figure more than the interval "
                                    "says. Projections are rounded to 10 and blank where a count they are made "
                                    "from is suppressed."),
)
