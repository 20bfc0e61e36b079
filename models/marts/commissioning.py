"""``marts.commissioning_view``: need against service by place, for the commissioner (issue 20).

One row per quarter end (``period_end``), area (``la_code``: an authority or
``partnership``) and ``ward_code`` (``all`` for the whole area; for an authority, each of its wards, ``Not
known``, ``Outside the authority`` / ``Outside the partnership`` for children living elsewhere, and ``Across the
authority`` for commissioned services that do not work by ward). The partnership has its whole-area row only
(as in the board report, wards are shown by their own authority). Columns, by what they answer:

* **need** -- ``identified_children``: children with identified neglect (tiers 1-4) in the 12 months to the
  quarter end, exactly as ``marts.neglect_prevalence`` counts them (tier set 1-4, measure 12_month, breakdown
  all / ward), with its ``identified_availability``; ``estimated_need_*``: the hidden-prevalence estimate of all
  neglected children in the 12 months, identified or not (``marts.hidden_prevalence``, the pipeline's own
  linkage, its publication rule: ``estimated_need_status`` estimate / lower bound and range / observed only).
  That estimate is made per authority and for the partnership, never per ward: a ward's ``estimated_need_*`` is
  the authority's **apportioned** by the ward's share of the authority's identified children
  (``estimated_need_basis`` says which). Apportioning assumes unidentified neglect is spread like identified
  neglect, which it need not be (a ward where services identify less hides more): read it as a way to share out
  the authority's figure, not as an estimate for the ward.
* **services received** -- on the quarter end, children with the area's authority (the partnership: any of its
  authorities) in early help (``early_help_children``), in need (``child_in_need_children``: an open CIN episode,
  CP plans included as DfE counts them), on a CP plan (``cp_plan_children``), and in any of them
  (``service_children``); a child may be in several, each of those columns counts it once
  (models/marts/sql/commissioning.sql). ``identified_receiving_service``: children with identified neglect
  receiving one of those services on the quarter end from the same authority (the partnership: from any).
* **commissioned** -- from the optional service-activity returns (source ``service_activity``):
  ``commissioned_capacity`` (places, in children) and ``commissioned_caseload`` (children receiving the
  services), summed over the services reported for the ward (the whole area: every row, ward or not),
  ``services_reported``; ``service_activity_status``: ``supplied``, ``not supplied`` or ``failed``
  (``marts.source_availability``); the partnership's figures only when every authority present supplied a
  return (else NULL, and the status names who did not). Never 0 for a return not supplied.
* **the gap** -- ``identified_without_service`` = identified - identified receiving a service (children whose
  neglect was identified in the 12 months and who have no service on the quarter end);
  ``estimated_without_service_*`` = estimated need - identified receiving a service (the central figure and the
  ends of its interval or range; NULL without an estimate); ``spare_capacity`` = capacity - caseload over the
  services that reported both (negative: more children than places).

``marts.neglect_projection`` (next years' demand) is built by :mod:`models.marts.projection`.
"""
from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd

from .definitions import NeglectDefinitions
from .evidence import ensure_presence_table, read_sql, register_periods, replace_period_frame, run_in_quarter_batches
from .prevalence import register_tier_sets

ALL = "all"
ACROSS = "Across the authority"
SERVICE_COUNTS = ("service_children", "early_help_children", "child_in_need_children", "cp_plan_children")
APPORTIONED = ("apportioned from the authority's estimate by the ward's share of its identified children (an "
               "assumption, not an estimate for the ward)")
VIEW_COLUMNS = """
    period_end DATE NOT NULL, la_code VARCHAR NOT NULL, la_name VARCHAR, area_level VARCHAR NOT NULL,
    ward_code VARCHAR NOT NULL, ward_name VARCHAR, population BIGINT, identified_children BIGINT,
    identified_availability VARCHAR, identified_receiving_service BIGINT, identified_without_service BIGINT,
    service_children BIGINT, early_help_children BIGINT, child_in_need_children BIGINT, cp_plan_children BIGINT,
    estimated_need_status VARCHAR, estimated_need_basis VARCHAR, estimated_need_central DOUBLE,
    estimated_need_lower DOUBLE, estimated_need_upper DOUBLE, estimated_need_at_least DOUBLE,
    estimated_without_service_central DOUBLE, estimated_without_service_lower DOUBLE,
    estimated_without_service_upper DOUBLE, service_activity_status VARCHAR, services_reported INTEGER,
    commissioned_capacity BIGINT, commissioned_caseload BIGINT, spare_capacity BIGINT, history_complete BOOLEAN"""
VIEW_ORDER = [c.split()[0] for c in VIEW_COLUMNS.replace("\n", " ").split(",")]


def _exists(conn, schema: str, table: str) -> bool:
    return bool(conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND "
                             "table_name = ?", [schema, table]).fetchall()[0][0])


# ---------------------------------------------------------------------------------------------
# marts.commissioning_view
# ---------------------------------------------------------------------------------------------


def _need_rows(conn) -> pd.DataFrame:
    """marts.neglect_prevalence, tiers 1-4 over 12 months: each area's whole row and each authority's wards."""
    frame = conn.sql("""
        SELECT period_end, la_code, la_name, breakdown, breakdown_value, breakdown_label, population, children,
               availability, history_complete
        FROM marts.neglect_prevalence
        WHERE measure = '12_month' AND tier_set = '1-4' AND period_end IN (SELECT period_end FROM periods)
          AND (breakdown = 'all' OR (breakdown = 'ward' AND la_code <> 'partnership'))""").df()
    whole = frame["breakdown"] == "all"
    frame["ward_code"] = np.where(whole, ALL, frame["breakdown_value"])
    frame["ward_name"] = np.where(whole, "Whole area", frame["breakdown_label"])
    frame["area_level"] = np.where(whole, np.where(frame["la_code"] == "partnership", "partnership", "authority"),
                                   "ward")
    return frame.rename(columns={"children": "identified_children", "availability": "identified_availability"}).drop(
        columns=["breakdown", "breakdown_value", "breakdown_label"])


def _service_counts(conn) -> pd.DataFrame:
    """Children receiving a service on each quarter end: per authority and ward, per authority, and for the
    partnership (authorities that supplied nothing for the quarter left out)."""
    present = """NOT EXISTS (SELECT 1 FROM marts.authority_presence a WHERE a.period_end = s.period_end
                                AND a.la_code = s.la_code AND NOT a.present)"""
    sums = ("count(DISTINCT person_key) AS service_children, "
            "count(DISTINCT person_key) FILTER (WHERE early_help) AS early_help_children, "
            "count(DISTINCT person_key) FILTER (WHERE child_in_need) AS child_in_need_children, "
            "count(DISTINCT person_key) FILTER (WHERE cp_plan) AS cp_plan_children")
    return conn.sql(f"""
        SELECT period_end, la_code, ward AS ward_code, {sums} FROM service_children s GROUP BY ALL
        UNION ALL
        SELECT period_end, la_code, '{ALL}', {sums} FROM service_children s GROUP BY ALL
        UNION ALL
        SELECT period_end, 'partnership', '{ALL}', {sums} FROM service_children s WHERE {present} GROUP BY ALL""").df()


def _served_counts(conn) -> pd.DataFrame:
    return conn.sql(f"""
        SELECT period_end, la_code, ward AS ward_code, count(*) FILTER (WHERE served) AS identified_receiving_service
        FROM identified_served WHERE la_code <> 'partnership' GROUP BY ALL
        UNION ALL
        SELECT period_end, la_code, '{ALL}', count(*) FILTER (WHERE served) FROM identified_served GROUP BY ALL""").df()


def _estimates(conn) -> pd.DataFrame:
    """The published hidden-prevalence figures per quarter and area (pipeline's own linkage, 12 months)."""
    if not _exists(conn, "marts", "hidden_prevalence"):
        return pd.DataFrame(columns=["period_end", "la_code", "estimated_need_status", "estimated_need_central",
                                     "estimated_need_lower", "estimated_need_upper", "estimated_need_at_least"])
    frame = conn.sql("""
        SELECT period_end, la_code, published_status AS estimated_need_status,
               CASE WHEN published_status = 'estimate' THEN published_central END AS estimated_need_central,
               CASE WHEN published_status = 'estimate' THEN published_lower
                    WHEN published_status = 'lower bound and range' THEN lower_bound END AS estimated_need_lower,
               CASE WHEN published_status IN ('estimate', 'lower bound and range') THEN published_upper END
                   AS estimated_need_upper,
               CASE WHEN published_status IN ('estimate', 'lower bound and range') THEN lower_bound END
                   AS estimated_need_at_least
        FROM marts.hidden_prevalence
        WHERE linkage = 'match threshold' AND measure = '12_month' AND period_end IN (SELECT period_end FROM periods)
        """).df()
    return frame


def _service_activity(conn) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(sums per quarter, authority and ward / whole authority; status per quarter and authority)."""
    columns = ["period_end", "la_code", "ward_code", "ward_name", "services_reported", "commissioned_capacity",
               "commissioned_caseload", "spare_capacity"]
    if _exists(conn, "raw", "service_activity") and conn.execute(
            "SELECT count(*) FROM raw.service_activity").fetchall()[0][0]:
        rows = conn.sql(f"""
            SELECT period_end, la_code, coalesce(ward_code, '{ACROSS}') AS ward_code, ward_name,
                   service_name, capacity, caseload,
                   CASE WHEN capacity IS NOT NULL AND caseload IS NOT NULL THEN capacity - caseload END AS spare
            FROM raw.service_activity WHERE period_end IN (SELECT period_end FROM periods)""").df()
    else:
        rows = pd.DataFrame(columns=["period_end", "la_code", "ward_code", "ward_name", "service_name", "capacity",
                                     "caseload", "spare"])
    def sums(frame, keys):
        if frame.empty:
            return pd.DataFrame(columns=columns)
        out = frame.groupby(keys, dropna=False).agg(
            ward_name=("ward_name", "first"), services_reported=("service_name", "nunique"),
            commissioned_capacity=("capacity", lambda s: s.sum(min_count=1)),
            commissioned_caseload=("caseload", lambda s: s.sum(min_count=1)),
            spare_capacity=("spare", lambda s: s.sum(min_count=1))).reset_index()
        return out
    by_ward = sums(rows, ["period_end", "la_code", "ward_code"])
    whole = sums(rows.assign(ward_code=ALL), ["period_end", "la_code", "ward_code"])
    status = pd.DataFrame(columns=["period_end", "la_code", "service_activity_status"])
    if _exists(conn, "marts", "source_availability"):
        status = conn.sql("""
            SELECT s.period_end, s.la_code, s.status AS service_activity_status, coalesce(p.present, true) AS present
            FROM marts.source_availability s LEFT JOIN marts.authority_presence p USING (period_end, la_code)
            WHERE s.source = 'service_activity' AND s.period_end IN (SELECT period_end FROM periods)""").df()
    return pd.concat([by_ward, whole], ignore_index=True), status


def commissioning_view(conn: duckdb.DuckDBPyConnection, definitions: NeglectDefinitions,
                       period_ends: list[date]) -> pd.DataFrame:
    """The rows of ``marts.commissioning_view`` for ``period_ends`` (needs the tier, prevalence, hidden-prevalence
    and availability marts of those quarters)."""
    register_periods(conn, period_ends)
    register_tier_sets(conn, definitions)
    ensure_presence_table(conn)
    run_in_quarter_batches(conn, read_sql("commissioning.sql"), period_ends, ("service_children", "identified_served"))
    need = _need_rows(conn)
    keys = ["period_end", "la_code", "ward_code"]
    services = _service_counts(conn)
    served = _served_counts(conn)
    activity, status = _service_activity(conn)
    # an input with no rows (no service-activity return supplied) comes back with period_end as object:
    # every frame's period_end takes the prevalence grid's type, so the merges below line up
    day = need["period_end"].dtype
    services, served, activity, status = (f.astype({"period_end": day}) for f in (services, served, activity, status))
    names = need.drop_duplicates("la_code").set_index("la_code")["la_name"]
    # every ward value with a child in a service or a commissioned service, beside the prevalence grid
    extra = pd.concat([services[keys], activity[keys][activity["la_code"] != "partnership"]]).drop_duplicates()
    extra = extra.merge(need[keys], how="left", indicator=True)
    extra = extra[extra["_merge"] == "left_only"].drop(columns="_merge")
    if len(extra):
        extra = extra.assign(la_name=extra["la_code"].map(names), area_level="ward", ward_name=extra["ward_code"],
                             identified_children=0, population=pd.NA)
        first = need.drop_duplicates(["period_end", "la_code"]).set_index(["period_end", "la_code"])
        for column in ("identified_availability", "history_complete"):
            extra[column] = [first[column].get((p, la)) for p, la in zip(extra["period_end"], extra["la_code"])]
        extra.loc[extra["ward_code"] == ACROSS, ["identified_children"]] = pd.NA
    frame = pd.concat([need, extra], ignore_index=True)
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    for part in (services, served, activity):
        part["period_end"] = pd.to_datetime(part["period_end"])
    frame = frame.merge(services, on=keys, how="left").merge(served, on=keys, how="left")
    frame = frame.merge(activity.drop(columns="ward_name"), on=keys, how="left")
    across = frame["ward_code"] == ACROSS
    unknown = frame["identified_children"].isna()  # not available / not supplied, or the 'Across' row
    for column in (*SERVICE_COUNTS, "identified_receiving_service"):
        frame[column] = frame[column].fillna(0).astype("Int64").mask(unknown | across)
    frame = _with_service_availability(conn, frame)
    frame["identified_without_service"] = (frame["identified_children"].astype("Int64")
                                           - frame["identified_receiving_service"])
    frame = _with_activity_status(frame, status)
    frame = _with_estimates(frame, _estimates(conn))
    frame["period_end"] = frame["period_end"].dt.date
    frame = frame.sort_values(["period_end", "la_code", "area_level", "ward_code"], key=_area_order,
                              ignore_index=True)
    return frame[VIEW_ORDER]


# which sources each count of children in a service needs (any one of them supplied, or the census carried forward)
SERVICE_SOURCES = {"early_help_children": ("early_help",),
                   "child_in_need_children": ("cin_census", "annex_a_children_in_need"),
                   "cp_plan_children": ("cin_census", "cp_list")}


def _with_service_availability(conn, frame: pd.DataFrame) -> pd.DataFrame:
    """Service counts NULL (not available, never 0) where no source of them was supplied for the authority and
    quarter (the partnership: for any authority present); children in any service, and the identified children
    with or without one, NULL when any of the three services cannot be counted."""
    if not _exists(conn, "marts", "source_availability"):
        return frame
    supply = conn.sql("""
        SELECT s.period_end, s.la_code, s.source, s.status IN ('supplied', 'carried forward') AS ok
        FROM marts.source_availability s
        LEFT JOIN marts.authority_presence p USING (period_end, la_code)
        WHERE s.period_end IN (SELECT period_end FROM periods) AND coalesce(p.present, true)""").df()
    if supply.empty:
        return frame
    supply["period_end"] = pd.to_datetime(supply["period_end"])
    out = frame.copy()
    missing_any = np.zeros(len(out), dtype=bool)
    for column, sources in SERVICE_SOURCES.items():
        per_la = supply[supply["source"].isin(sources)].groupby(["period_end", "la_code"])["ok"].any()
        partnership = per_la.groupby(level=0).all()
        ok = np.array([bool(partnership.get(p, False)) if la == "partnership" else bool(per_la.get((p, la), False))
                       for p, la in zip(out["period_end"], out["la_code"])])
        out[column] = out[column].mask(~ok)
        missing_any |= ~ok
    for column in ("service_children", "identified_receiving_service"):
        out[column] = out[column].mask(missing_any)
    return out


def _area_order(values: pd.Series) -> pd.Series:
    if values.name == "area_level":
        return values.map({"partnership": 0, "authority": 0, "ward": 1})
    return values


def _with_activity_status(frame: pd.DataFrame, status: pd.DataFrame) -> pd.DataFrame:
    """Status of the service-activity return per row; the commissioned figures NULL where it was not supplied
    (and, in a supplied return, for a ward it has no row for: no ward-based service reported there;
    ``services_reported`` is then 0)."""
    out = frame.copy()
    status = status.assign(period_end=pd.to_datetime(status["period_end"]))
    by_la = {(p, la): s for p, la, s in zip(status["period_end"], status["la_code"], status["service_activity_status"])}
    present = {(p, la): bool(x) for p, la, x in zip(status["period_end"], status["la_code"], status.get("present", []))}
    names = out.drop_duplicates("la_code").set_index("la_code")["la_name"]
    partnership = {}
    for p, group in status.groupby("period_end"):
        here = group[group["present"].astype(bool)] if "present" in group else group
        missing = here[here["service_activity_status"] != "supplied"]
        if here.empty:
            partnership[p] = "not supplied"
        elif missing.empty:
            partnership[p] = "supplied"
        else:
            partnership[p] = "not supplied by " + ", ".join(str(names.get(la, la)) for la in missing["la_code"])
    values = []
    for p, la in zip(out["period_end"], out["la_code"]):
        values.append(partnership.get(p, "not supplied") if la == "partnership"
                      else by_la.get((p, la), "not supplied"))
    out["service_activity_status"] = values
    supplied = out["service_activity_status"] == "supplied"
    counts = ["commissioned_capacity", "commissioned_caseload", "spare_capacity"]
    partnership_rows = (out["la_code"] == "partnership") & supplied
    if partnership_rows.any():  # the sum of the authorities' whole-area rows
        whole = out[(out["la_code"] != "partnership") & (out["ward_code"] == ALL)]
        sums = whole.groupby("period_end")[counts + ["services_reported"]].sum(min_count=1)
        for column in counts + ["services_reported"]:
            out.loc[partnership_rows, column] = out.loc[partnership_rows, "period_end"].map(sums[column]).to_numpy()
    for column in counts:
        out[column] = pd.to_numeric(out[column], errors="coerce").astype("Int64").mask(~supplied)
    out["services_reported"] = pd.to_numeric(out["services_reported"], errors="coerce").fillna(0).astype("Int64") \
        .mask(~supplied)
    return out


def _with_estimates(frame: pd.DataFrame, estimates: pd.DataFrame) -> pd.DataFrame:
    """Estimated need per area, apportioned to wards by their share of identified children (see the module)."""
    out = frame.copy()
    estimates = estimates.assign(period_end=pd.to_datetime(estimates["period_end"]))
    columns = ["estimated_need_central", "estimated_need_lower", "estimated_need_upper", "estimated_need_at_least"]
    area = estimates.set_index(["period_end", "la_code"])
    whole = out[out["ward_code"] == ALL].set_index(["period_end", "la_code"])["identified_children"]
    status, basis, values = [], [], {c: [] for c in columns}
    for p, la, ward, identified in zip(out["period_end"], out["la_code"], out["ward_code"], out["identified_children"]):
        row = area.loc[(p, la)] if (p, la) in area.index else None
        if row is None or ward == ACROSS:
            status.append(None if row is None else row["estimated_need_status"])
            basis.append(None)
            for c in columns:
                values[c].append(np.nan)
            continue
        if ward == ALL:
            share, text = 1.0, "the authority's capture-recapture estimate" if la != "partnership" else \
                "the partnership's capture-recapture estimate"
        else:
            total = whole.get((p, la))
            share = float(identified) / float(total) if pd.notna(identified) and pd.notna(total) and total else np.nan
            text = APPORTIONED
        status.append(row["estimated_need_status"])
        basis.append(text if row["estimated_need_status"] in ("estimate", "lower bound and range") else None)
        for c in columns:
            v = row[c]
            values[c].append(float(v) * share if pd.notna(v) else np.nan)
    out["estimated_need_status"] = status
    out["estimated_need_basis"] = basis
    for c in columns:
        out[c] = values[c]
    served = pd.to_numeric(out["identified_receiving_service"], errors="coerce").astype("float64")
    for end in ("central", "lower", "upper"):
        out[f"estimated_without_service_{end}"] = out[f"estimated_need_{end}"] - served
    return out


def build_commissioning_view(conn: duckdb.DuckDBPyConnection, definitions: NeglectDefinitions,
                             period_ends: list[date]) -> pd.DataFrame:
    """Replace the rows of ``marts.commissioning_view`` for ``period_ends``; returns them."""
    frame = commissioning_view(conn, definitions, period_ends)
    replace_period_frame(conn, "marts.commissioning_view", VIEW_COLUMNS, frame)
    return frame
