"""The counts of the commissioning page (issue 20) as disclosure-control cells, and the relations between them
that hold by construction (cells and relations in general: :mod:`dashboards.publication`).

The page shows its own quarter only, but a refresh can write the pack of any quarter up to its latest, so
:func:`commissioning_cells` gives the cells of every quarter up to ``latest`` (``marts.commissioning_view``), as
every other table's. A cell is
``("commissioning", quarter, la_code, ward, item)``, ``ward`` being ``all`` (the whole area), a ward code, or a
value that is not a ward (``Not known``, ``Outside the authority``, ``Outside the partnership``, ``Across the
authority``), and ``item``:

* ``receiving`` / ``without_service``: children with identified neglect (tiers 1-4, 12 months) receiving a
  service on the quarter end, or not;
* ``service_children``, ``early_help``, ``child_in_need``, ``cp_plan``: children in any service, in early help, in
  need (CP plans included), on a CP plan on the quarter end;
* ``caseload``: children the commissioned services report on the quarter end (service-activity returns).

Identified neglect of a row *is* the prevalence table's cell (tiers 1-4, 12 months, the whole area or the ward
value: :func:`identified_cell`), one count in both tables. The rows of children with no known address or living
outside the authority (``Not known``, ``Outside the authority``, ``Outside the partnership``) are not published:
their cells are *auxiliary* (in the arithmetic, unknown to the intruder). They are few children, so publishing
them hid, through the authorities' whole-area figures and the partnership's union of them, every ward's children
in need and on CP plans of one authority (the default partnership, March 2026); left unpublished, the published
wards do not add up to the whole area (the table says so) and nothing else needs hiding for them.

Places (capacity) are not children and are published as reported; spare places are blank where the caseload is
suppressed (they would give it back). Estimates (hidden prevalence, its apportionment to wards, projections)
are models, rounded to 10, and no cells.

Relations (each holds whatever the data): in every row identified = receiving + without_service; each of
early_help, child_in_need, cp_plan and receiving is at most service_children, cp_plan at most child_in_need; an
authority's wards (with its values that are not wards, auxiliary) add up to its whole-area row for every item;
the partnership's children in each service are the union of its authorities' (a child in both counts once), its
caseload the sum. Known gap (one-sided, not modelled): the partnership's ``receiving`` is at least each
authority's.
"""
from __future__ import annotations

from datetime import date

import duckdb

from .disclosure import Sum, Union

KIND = "commissioning"
ALL = "all"
NOT_WARDS = ("Not known", "Outside the authority", "Outside the partnership", "Across the authority")
UNPUBLISHED = ("Not known", "Outside the authority", "Outside the partnership")  # rows of children: auxiliary
ITEMS = {"identified_receiving_service": "receiving", "identified_without_service": "without_service",
         "service_children": "service_children", "early_help_children": "early_help",
         "child_in_need_children": "child_in_need", "cp_plan_children": "cp_plan",
         "commissioned_caseload": "caseload"}
UNION_ITEMS = ("service_children", "early_help", "child_in_need", "cp_plan")
WITHIN_SERVICES = ("early_help", "child_in_need", "cp_plan", "receiving")
PARTNERSHIP = "partnership"


def _iso(value) -> str:
    return value[:10] if isinstance(value, str) else value.isoformat()[:10]


def commissioning_cell(quarter, la_code, ward, item) -> tuple:
    return (KIND, _iso(quarter), str(la_code), str(ward), str(item))


def identified_cell(quarter, la_code, ward) -> tuple:
    """The cell of a row's identified children: the prevalence cell (tiers 1-4, 12 months) of the whole area or
    the ward value."""
    from .cells import children_cell

    if ward == ALL:
        return children_cell(quarter, "12_month", la_code, "all", "All children", "Tiers 1-4")
    return children_cell(quarter, "12_month", la_code, "ward", ward, "Tiers 1-4")


def _table_exists(conn, schema: str, table: str) -> bool:
    return bool(conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
                             "AND table_name = ?", [schema, table]).fetchall()[0][0])


def commissioning_cells(conn: duckdb.DuckDBPyConnection, latest: date) -> list[tuple[tuple, int, bool]]:
    """(cell, count, shown) for every count of the commissioning page of the quarters up to ``latest``."""
    if not _table_exists(conn, "marts", "commissioning_view"):
        return []
    columns = ", ".join(ITEMS)
    rows = []
    for quarter, la, ward, *values in conn.execute(f"""
            SELECT period_end, la_code, ward_code, {columns} FROM marts.commissioning_view
            WHERE period_end <= ? ORDER BY ALL""", [latest]).fetchall():
        for item, value in zip(ITEMS.values(), values):
            if value is not None:  # NULL: not available (x), no cell
                rows.append((commissioning_cell(quarter, la, ward, item), int(value), ward not in UNPUBLISHED))
    return rows


def commissioning_relations(by_kind: dict[str, list[tuple]], add, at_most) -> None:
    """Add the relations of the module docstring through ``add(type, total, parts)`` (made only when every cell is
    present) and ``at_most(part, whole)``."""
    cells = sorted(by_kind.get(KIND, []))
    rows: dict[tuple, set[str]] = {}
    for c in cells:
        rows.setdefault(c[1:4], set()).add(c[4])
    wards: dict[tuple, list[str]] = {}
    for (quarter, la, ward), items in sorted(rows.items()):
        cell = lambda item: commissioning_cell(quarter, la, ward, item)  # noqa: E731
        add(Sum, identified_cell(quarter, la, ward), [cell("receiving"), cell("without_service")])
        for item in WITHIN_SERVICES:
            at_most(cell(item), cell("service_children"))
        at_most(cell("cp_plan"), cell("child_in_need"))
        if ward != ALL:
            wards.setdefault((quarter, la), []).append(ward)
    for (quarter, la), members in sorted(wards.items()):
        for item in ITEMS.values():
            parts = [commissioning_cell(quarter, la, w, item) for w in sorted(members)
                     if item in rows.get((quarter, la, w), set())]
            add(Sum, commissioning_cell(quarter, la, ALL, item), parts)
    areas: dict[str, set[str]] = {}
    for quarter, la, ward in rows:
        if ward == ALL:
            areas.setdefault(quarter, set()).add(la)
    for quarter, las in sorted(areas.items()):
        authorities = sorted(las - {PARTNERSHIP})
        if PARTNERSHIP not in las or not authorities:
            continue
        for item in UNION_ITEMS:
            add(Union, commissioning_cell(quarter, PARTNERSHIP, ALL, item),
                [commissioning_cell(quarter, a, ALL, item) for a in authorities])
        add(Sum, commissioning_cell(quarter, PARTNERSHIP, ALL, "caseload"),
            [commissioning_cell(quarter, a, ALL, "caseload") for a in authorities])
