"""What each authority supplied for each quarter, and so what can be counted (``availability.sql``).

A partnership may hold any subset of the sources: only CIN census returns and CP lists, say,
before its early-help and adult-services data sharing agreements are signed. What was not
supplied is reported as *not supplied* and what it would have fed as *not available* -- never as 0.

:func:`build_availability` writes, for some quarter ends:

* ``marts.source_availability`` -- per quarter, authority and registered source: ``supplied``,
  ``failed`` (a file could not be read), ``not supplied`` or, for the census, ``carried forward``
  (no return for the quarter's collection year yet; the previous year's is used);
* ``marts.authority_presence`` -- whether the authority supplied anything for the quarter (an
  authority that did not is left out of that quarter's partnership figures, numerator and population);
* ``marts.tier_availability`` -- whether each tier's evidence can be counted, per authority and for
  the partnership, with the missing sources named.

Which source feeds which evidence kind is the source registry's (``evidence_kinds`` in
``sources/registry/*.yaml``); which kinds make each tier is ``tier_definitions.yaml``'s.
"""
from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from ingest.write import registered, table_names
from sources.registry import Registry

from .definitions import NeglectDefinitions
from .evidence import ensure_presence_table, read_sql, register_periods

AVAILABLE = ("supplied", "carried forward")


def register_sources(conn: duckdb.DuckDBPyConnection, registry: Registry, definitions: NeglectDefinitions) -> None:
    """The temporary tables ``registered_sources``, ``kind_sources`` and ``tier_kinds`` availability.sql reads."""
    sources = pd.DataFrame([(s.name, s.partitioning, s.label) for s in registry.partitioned()],
                           columns=["source", "partitioning", "label"])
    kinds = pd.DataFrame([(k, s.name, s.evidence_column.get(k)) for s in registry.partitioned()
                          for k in s.evidence_kinds], columns=["kind", "source", "needs"]).astype({"needs": "string"})
    tiers = pd.DataFrame([(r.tier, rule, k) for r in definitions.tiers
                          for rule, members in (("all_of", r.all_of), ("any_of", r.any_of)) for k in members],
                         columns=["tier", "rule", "kind"])
    for name, frame in (("registered_sources", sources), ("kind_sources", kinds), ("tier_kinds", tiers)):
        with registered(conn, frame) as view:
            conn.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {view}")


def build_availability(conn: duckdb.DuckDBPyConnection, registry: Registry, definitions: NeglectDefinitions,
                       period_ends: list[date]) -> None:
    """Replace the rows of the three availability tables for ``period_ends``."""
    register_periods(conn, period_ends)
    register_sources(conn, registry, definitions)
    conn.execute("ALTER TABLE quality.load_audit ADD COLUMN IF NOT EXISTS columns_missing VARCHAR")
    ensure_presence_table(conn)
    # the partnership's authorities as the marts count them (staging.population, the denominators' table): one
    # that sent no file at all must still be 'not supplied' and left out, not counted as one with no children
    counted = ("SELECT DISTINCT la_code FROM staging.population" if "population" in table_names(conn, "staging")
               else "SELECT NULL::VARCHAR AS la_code WHERE false")
    conn.execute(f"CREATE OR REPLACE TEMP TABLE partnership_authorities AS {counted}")
    conn.execute(read_sql("availability.sql"))


def tier_set_availability(conn: duckdb.DuckDBPyConnection, definitions: NeglectDefinitions) -> pd.DataFrame:
    """Per quarter (in ``periods``), area and tier set: ``availability`` and ``availability_note``.

    ``availability``: ``complete`` (every tier of the set can be counted), ``incomplete`` (some can:
    the count covers those), ``not available`` (none can: no count), ``not supplied`` (the authority
    sent nothing for the quarter: no count, and it is left out of the partnership).
    """
    columns = ["period_end", "la_code", "tier_set", "availability", "availability_note"]
    if not conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'marts' "
                        "AND table_name = 'tier_availability'").fetchall()[0][0]:
        return pd.DataFrame(columns=columns)  # availability not built (a mart computed on its own): all complete
    tiers = conn.sql("""
        SELECT t.period_end, t.la_code, t.tier, t.available, t.missing
        FROM marts.tier_availability t WHERE t.period_end IN (SELECT period_end FROM periods)""").df()
    presence = conn.sql("""SELECT period_end, la_code, present FROM marts.authority_presence
                           WHERE period_end IN (SELECT period_end FROM periods)""").df()
    labels = {r.tier: r.label for r in definitions.tiers}
    areas = [(p, la, bool(here)) for p, la, here in presence[["period_end", "la_code", "present"]].itertuples(index=False)]
    areas += [(p, "partnership", bool(part["present"].any())) for p, part in presence.groupby("period_end")]
    rows = []
    for period_end, la_code, present in sorted(areas, key=lambda a: (a[0], a[1])):
        by_tier = tiers[(tiers["period_end"] == period_end) & (tiers["la_code"] == la_code)].set_index("tier")
        for name, members in definitions.tier_sets.items():
            ok = [t for t in members if t in by_tier.index and bool(by_tier.loc[t, "available"])]
            if not present:
                status = "not supplied"
                note = ("no authority supplied a file for this quarter" if la_code == "partnership" else
                        "the authority supplied no file for this quarter")
            elif len(ok) == len(members):
                status, note = "complete", None
            else:
                missing = [t for t in members if t not in ok]
                status = "incomplete" if ok else "not available"
                note = "; ".join(f"tier {t} ({labels[t]}) not available: "
                                 f"{by_tier.loc[t, 'missing'] if t in by_tier.index else 'no data'}" for t in missing)
            rows.append((period_end, la_code, name, status, note))
    return pd.DataFrame(rows, columns=columns)


def list_availability(conn: duckdb.DuckDBPyConnection, registry: Registry, definitions: NeglectDefinitions,
                      period_ends: list[date]) -> pd.DataFrame:
    """Per quarter, area and capture-recapture list: ``available`` and ``missing`` (the sources not supplied).

    A list is available in an authority when a source feeding one of its evidence kinds is supplied (or,
    for the census, carried forward); in the partnership, when it is available in every authority present
    in the quarter (a list missing for one authority would cover only part of the partnership).
    """
    supply = conn.execute("""
        SELECT s.period_end, s.la_code, s.source, s.status, coalesce(p.present, true) AS present
        FROM marts.source_availability s
        LEFT JOIN marts.authority_presence p USING (period_end, la_code)
        WHERE s.period_end IN (SELECT unnest(?::DATE[]))""", [period_ends]).df()
    names = dict(conn.execute("SELECT la_code, la_name FROM raw.la_codes").fetchall())
    rows = []
    for (period_end, la_code), part in supply.groupby(["period_end", "la_code"], sort=True):
        ok = set(part.loc[part["status"].isin(AVAILABLE), "source"])
        for c in definitions.capture_lists:
            feeding = {s for k in c.any_of for s in registry.sources_of_kind(k)}
            rows.append((period_end, la_code, bool(part["present"].iloc[0]), c.name, bool(feeding & ok),
                         ", ".join(sorted(registry[s].label for s in feeding - ok))))
    per_la = pd.DataFrame(rows, columns=["period_end", "la_code", "present", "list_name", "available", "missing"])
    if per_la.empty:
        return per_la.drop(columns="present")
    present = per_la[per_la["present"]]
    partnership = present.groupby(["period_end", "list_name"], sort=True).apply(
        lambda g: pd.Series({"available": bool(g["available"].all()),
                             "missing": "; ".join(f"{names.get(la, la)}: {m}" for la, m, ok in
                                                  zip(g["la_code"], g["missing"], g["available"]) if not ok)}),
        include_groups=False).reset_index().assign(la_code="partnership")
    return pd.concat([per_la.drop(columns="present"), partnership], ignore_index=True)
