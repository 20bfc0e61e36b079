"""The records to link: one row per source record, identifiers cleaned for comparison.

Reads the identity store (attached as ``idstore``) for identifiers and the warehouse
``raw`` tables for sex, so the connection must see both (see :func:`attach_identity_store`).

Child records come from these sources:

==========================  ======================================================================
source                      identifiers it carries
==========================  ======================================================================
``person_list``             LA child ID, NHS number, UPN, names, DOB, sex, postcode (a row per address)
``cin_census``              LA child ID, UPN, former UPN, DOB, sex (one ``<Child>`` element)
``cp_list``                 LA child ID, DOB, sex (Annex A list 7)
``early_help``              early-help ID, LA child ID when recorded, NHS number, names, DOB, sex, postcode
``adult_household_children``  names and DOB of a child listed in an adult-services episode; the
                            postcode is the adult's
``partner_<agency>``        a partner agency's concern (docs/partner-lists.md): any of NHS number,
                            names, DOB, sex, postcode
``annex_a_*``               LA child ID ("Child Unique ID"), DOB, sex (Ofsted Annex A lists 2-6; list 7
                            is ``cp_list``); list 2's ID is the early-help ID where it is one of the
                            authority's, else the LA child ID; only where the tables exist
``gcp2_assessments``        a GCP2 assessment: early-help ID and/or LA child ID, NHS number when
                            recorded, DOB, sex; only where the tables exist
==========================  ======================================================================

A child listed by the same adult client with the same name and DOB in several quarterly
extracts has one ``household_child_id`` (client ID, names, DOB), a deterministic key.

Adult records are the adult-services episodes (client ID, NHS number, names, DOB, sex, postcode).

Cleaning: names upper-case, accents removed, letters only (``O'Brien`` -> ``OBRIEN``);
``surname_parts`` splits double-barrelled surnames (``SMITH-JONES`` -> ``[SMITH, JONES]``);
postcodes upper-case without spaces, with the outward code as ``postcode_district``;
NHS numbers kept only when they are ten digits; UPNs upper-case.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

IDENTITY_ALIAS = "idstore"

CHILD_COLUMNS = ["source", "record_id", "la_code", "period_end", "la_child_id", "eh_id", "nhs_number", "upn",
                 "former_upn", "forename", "surname", "dob", "sex", "postcode", "adult_record_id", "household_client",
                 "lives_with_client"]

# the adult-services episode of each household-children record (same authority, quarter, client and
# episode): its record id and the adult's postcode
_HOUSEHOLD_EPISODE_SQL = """
SELECT h.record_id, min(e.record_id) AS adult_record_id, min(e.postcode) AS postcode
FROM idstore.identifiers.adult_household_children h
JOIN idstore.identifiers.adult_episodes e
  ON e.la_code = h.la_code AND e.period_end = h.period_end AND e.client_id = h.client_id
 AND e.episode_id = h.episode_id
GROUP BY h.record_id
"""

_CHILD_SOURCES_SQL = f"""
SELECT 'person_list' AS source, i.record_id, i.la_code, i.period_end, i.la_child_id, NULL AS eh_id,
       i.nhs_number, i.upn, NULL AS former_upn, i.forename, i.surname, i.date_of_birth AS dob,
       r.gender AS sex, i.postcode, NULL AS adult_record_id, NULL AS household_client,
       NULL AS lives_with_client
FROM idstore.identifiers.person_list i JOIN raw.person_list r USING (record_id)
UNION ALL
SELECT 'cin_census', i.record_id, i.la_code, i.period_end, i.la_child_id, NULL, NULL, i.upn, i.former_upn,
       NULL, NULL, i.person_birth_date, r.sex, NULL, NULL, NULL, NULL
FROM idstore.identifiers.cin_child i JOIN raw.cin_child r USING (record_id)
UNION ALL
SELECT 'cp_list', i.record_id, i.la_code, i.period_end, i.child_id, NULL, NULL, NULL, NULL,
       NULL, NULL, i.date_of_birth, r.gender, NULL, NULL, NULL, NULL
FROM idstore.identifiers.cp_list i JOIN raw.cp_list r USING (record_id)
UNION ALL
SELECT 'early_help', i.record_id, i.la_code, i.period_end, i.la_child_id, i.eh_id, i.nhs_number, NULL, NULL,
       i.forename, i.surname, i.date_of_birth, r.gender, i.postcode, NULL, NULL, NULL
FROM idstore.identifiers.early_help i JOIN raw.early_help r USING (record_id)
UNION ALL
SELECT 'adult_household_children', h.record_id, h.la_code, h.period_end, NULL, NULL, NULL, NULL, NULL,
       h.child_forename, h.child_surname, h.child_date_of_birth, NULL, e.postcode, e.adult_record_id,
       h.client_id, r.lives_with_client
FROM idstore.identifiers.adult_household_children h
JOIN raw.adult_household_children r ON r.record_id = h.record_id
LEFT JOIN ({_HOUSEHOLD_EPISODE_SQL}) e ON e.record_id = h.record_id
"""

_ADULT_SQL = """
SELECT 'adult_services' AS source, i.record_id, i.la_code, i.period_end,
       r.service_file || ':' || i.client_id AS client_id, i.nhs_number, i.forename, i.surname,
       i.date_of_birth AS dob, r.gender AS sex, i.postcode, r.service, r.service_file, r.episode_start_date,
       r.episode_end_date, r.children_in_household, r.child_safeguarding_concern,
       EXISTS (SELECT 1 FROM idstore.identifiers.adult_household_children h
               WHERE h.la_code = i.la_code AND h.period_end = i.period_end
                 AND h.client_id = i.client_id AND h.episode_id = i.episode_id) AS children_recorded
FROM idstore.identifiers.adult_episodes i JOIN raw.adult_episodes r USING (record_id)
"""


# Ofsted Annex A lists 2-6 (source = table name): the LA's child ID, date of birth and sex
ANNEX_A_CHILD_SOURCES = ("annex_a_early_help", "annex_a_referrals", "annex_a_assessments", "annex_a_section47",
                         "annex_a_children_in_need")


def _annex_a_sql(conn: duckdb.DuckDBPyConnection) -> str:
    """UNION ALL of the Annex A lists whose raw and identity tables exist (a source never read has none)."""
    raw = {r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables "
                                      "WHERE table_schema = 'raw'").fetchall()}
    ids = {r[0] for r in conn.execute(f"SELECT table_name FROM information_schema.tables WHERE table_catalog = "
                                      f"'{IDENTITY_ALIAS}' AND table_schema = 'identifiers'").fetchall()}
    # list 2's child ID is the LA child ID where the early-help and social-care systems share one, else the
    # early-help system's own ID: an ID that is one of the authority's early-help IDs is used as that (and
    # not as an LA child ID, which would give the child two), any other as the LA child ID
    eh_ids = (f"SELECT DISTINCT la_code, eh_id FROM {IDENTITY_ALIAS}.identifiers.early_help WHERE eh_id IS NOT NULL"
              if "early_help" in ids else "SELECT NULL::VARCHAR AS la_code, NULL::VARCHAR AS eh_id WHERE false")
    parts = []
    for t in ANNEX_A_CHILD_SOURCES:
        if t not in raw or t not in ids:
            continue
        if t == "annex_a_early_help":
            parts.append(f"""
UNION ALL
SELECT '{t}', i.record_id, i.la_code, i.period_end, CASE WHEN e.eh_id IS NULL THEN i.child_id END, e.eh_id,
       NULL, NULL, NULL, NULL, NULL, i.date_of_birth, r.gender, NULL, NULL, NULL, NULL
FROM {IDENTITY_ALIAS}.identifiers.{t} i JOIN raw.{t} r USING (record_id)
LEFT JOIN ({eh_ids}) e ON e.la_code = i.la_code AND e.eh_id = i.child_id""")
        else:
            parts.append(f"""
UNION ALL
SELECT '{t}', i.record_id, i.la_code, i.period_end, i.child_id, NULL,
       NULL, NULL, NULL, NULL, NULL, i.date_of_birth, r.gender, NULL, NULL, NULL, NULL
FROM {IDENTITY_ALIAS}.identifiers.{t} i JOIN raw.{t} r USING (record_id)""")
    return "".join(parts)


def _gcp2_sql(conn: duckdb.DuckDBPyConnection) -> str:
    """The GCP2 assessments' child records, where the raw and identity tables exist (an optional source)."""
    if not _tables_exist(conn, "gcp2_assessments"):
        return ""
    return f"""
UNION ALL
SELECT 'gcp2_assessments', i.record_id, i.la_code, i.period_end, i.la_child_id, i.eh_id, i.nhs_number, NULL, NULL,
       NULL, NULL, i.date_of_birth, r.gender, NULL, NULL, NULL, NULL
FROM {IDENTITY_ALIAS}.identifiers.gcp2_assessments i JOIN raw.gcp2_assessments r USING (record_id)"""


def _tables_exist(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether ``raw.<table>`` and its identity table both exist."""
    return bool(conn.execute(f"""
        SELECT count(*) = 2 FROM information_schema.tables
        WHERE table_name = '{table}' AND ((table_schema = 'raw' AND table_catalog <> '{IDENTITY_ALIAS}')
              OR (table_catalog = '{IDENTITY_ALIAS}' AND table_schema = 'identifiers'))""").fetchall()[0][0])


def _cleaned(select_sql: str, period_filter: str) -> str:
    """Wrap a record query with the cleaned comparison columns."""
    return f"""
    WITH records AS ({select_sql}),
    cleaned AS (
        SELECT *,
               nullif(regexp_replace(upper(strip_accents(coalesce(forename, ''))), '[^A-Z]', '', 'g'), '')
                   AS forename_std,
               nullif(regexp_replace(upper(strip_accents(coalesce(surname, ''))), '[^A-Z]', '', 'g'), '')
                   AS surname_std,
               list_filter(list_transform(string_split_regex(upper(strip_accents(coalesce(surname, ''))), '[-\\s]+'),
                                          lambda p: regexp_replace(p, '[^A-Z]', '', 'g')), lambda p: p <> '')
                   AS surname_parts,
               nullif(regexp_replace(upper(coalesce(postcode, '')), '[^A-Z0-9]', '', 'g'), '') AS postcode_std,
               CASE WHEN regexp_full_match(coalesce(nhs_number, ''), '\\s*[0-9]{{3}}\\s*[0-9]{{3}}\\s*[0-9]{{4}}\\s*')
                    THEN regexp_replace(nhs_number, '\\s', '', 'g') END AS nhs_std,
               CASE WHEN sex IN ('M', 'F') THEN sex END AS sex_std
        FROM records
        WHERE {period_filter}
    )
    SELECT *, CASE WHEN length(postcode_std) BETWEEN 5 AND 7 THEN left(postcode_std, length(postcode_std) - 3)
                   END AS postcode_district
    FROM cleaned
    """


def _period_filter(up_to: date | None) -> str:
    return "TRUE" if up_to is None else f"period_end <= DATE '{up_to.isoformat()}'"


def partner_records_sql(source: str) -> str:
    """The child records of one partner-agency source (``partner_<agency>``, docs/partner-lists.md)."""
    return f"""
UNION ALL
SELECT '{source}', i.record_id, i.la_code, i.period_end, NULL, NULL, i.nhs_number, NULL, NULL,
       i.forename, i.surname, i.date_of_birth, r.gender, i.postcode, NULL, NULL, NULL
FROM idstore.identifiers.{source} i JOIN raw.{source} r USING (record_id)
"""


def _child_records_sql(conn: duckdb.DuckDBPyConnection, up_to: date | None, partner_sources: tuple[str, ...]) -> str:
    sql = _cleaned(_CHILD_SOURCES_SQL + _annex_a_sql(conn) + _gcp2_sql(conn) +
                   "".join(partner_records_sql(s) for s in partner_sources), _period_filter(up_to))
    return f"""
        SELECT * REPLACE (upper(trim(upn)) AS upn, upper(trim(former_upn)) AS former_upn),
               CASE WHEN household_client IS NOT NULL
                    THEN concat_ws('|', household_client, forename_std, surname_std, dob) END AS household_child_id
        FROM ({sql})"""


def child_records(conn: duckdb.DuckDBPyConnection, up_to: date | None = None,
                  partner_sources: tuple[str, ...] = ()) -> pd.DataFrame:
    """Every loaded child record (periods up to ``up_to``, default all), identifiers cleaned;
    ``partner_sources``: the partner-agency sources to include (their raw and identity tables must exist).

    Columns: :data:`CHILD_COLUMNS` plus ``forename_std``, ``surname_std``, ``surname_parts``,
    ``postcode_std``, ``postcode_district``, ``nhs_std``, ``sex_std``, ``upn`` upper-cased.
    """
    return conn.sql(f"{_child_records_sql(conn, up_to, partner_sources)} ORDER BY record_id").df()


def child_records_table(conn: duckdb.DuckDBPyConnection, name: str, tables: dict[str, str], up_to: date | None = None,
                        partner_sources: tuple[str, ...] = ()) -> int:
    """:func:`child_records` as a temporary table ``name`` of ``conn`` (kept in DuckDB, under its memory limit,
    not copied into pandas), with ``row`` (0-based, in ``record_id`` order) and ``table``: the Splink input
    table of each record (``tables`` maps a source to it, a source not in it is its own; a GCP2 assessment
    belongs to the system whose ID it carries). Returns the number of records."""
    mapped = " ".join(f"WHEN '{source}' THEN '{table}'" for source, table in tables.items())
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE {name} AS
        SELECT row_number() OVER (ORDER BY record_id) - 1 AS row, *,
               CASE WHEN source = 'gcp2_assessments'
                    THEN CASE WHEN eh_id IS NOT NULL THEN 'early_help' ELSE 'childrens_social_care' END
                    ELSE coalesce(CASE source {mapped} END, source) END AS "table"
        FROM ({_child_records_sql(conn, up_to, partner_sources)}) ORDER BY row""")
    return conn.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]


def adult_records_table(conn: duckdb.DuckDBPyConnection, name: str, up_to: date | None = None) -> int:
    """Every loaded adult-services episode record (periods up to ``up_to``), identifiers cleaned, as a temporary
    table ``name`` (as :func:`child_records_table`), ``table`` the
    service file, and the child-only identifier columns empty. Returns the number of records."""
    conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE {name} AS
        SELECT row_number() OVER (ORDER BY record_id) - 1 AS row, *, CAST(service_file AS VARCHAR) AS "table",
               NULL::VARCHAR AS upn, NULL::VARCHAR AS la_child_id, NULL::VARCHAR AS household_client
        FROM ({_cleaned(_ADULT_SQL, _period_filter(up_to))}) ORDER BY row""")
    return conn.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]


def attach_identity_store(conn: duckdb.DuckDBPyConnection, identity_path: Path) -> None:
    """Attach the identity store read-only as ``idstore`` (no-op when already attached)."""
    attached = {row[0] for row in conn.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
    if IDENTITY_ALIAS not in attached:
        conn.execute(f"ATTACH '{identity_path}' AS {IDENTITY_ALIAS} (READ_ONLY)")


def records_digest(conn: duckdb.DuckDBPyConnection, identity_path: Path, partner_sources: tuple[str, ...] = ()
                   ) -> str | None:
    """What linkage reads, as a short text: the number of child and of adult records and the sum of DuckDB's
    hashes of their rows (identifiers cleaned, and the few raw fields linkage uses: sex, the adult service and
    episode dates ...; :func:`child_records_table`, :func:`adult_records_table`). It changes when a record is
    added, removed or has an identifier or one of those fields changed, and not when a field linkage does not
    read changes (an early-help team, an assessment date). No identifier is in it, only a hash sum. None when
    a source's raw or identity table does not exist yet (linkage creates empty ones for sources never
    loaded)."""
    attached = IDENTITY_ALIAS in {row[0] for row in conn.execute("SELECT database_name FROM duckdb_databases()"
                                                                 ).fetchall()}
    attach_identity_store(conn, identity_path)
    try:
        parts = []
        for label, sql in (("children", _child_records_sql(conn, None, partner_sources)),
                           ("adults", _cleaned(_ADULT_SQL, _period_filter(None)))):
            count, total = conn.execute(f"SELECT count(*), coalesce(sum(hash(r)), 0)::HUGEINT FROM ({sql}) r"
                                        ).fetchall()[0]
            parts.append(f"{label}:{count}:{total}")
        return "\n".join(parts)
    except duckdb.CatalogException:
        return None
    finally:
        if not attached:
            conn.execute(f"DETACH {IDENTITY_ALIAS}")


def household_adult_records(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """(source_record_id, adult_record_id): the adult-services episode record of each household-children
    record (record ids only, no identifiers)."""
    return conn.sql(f"SELECT record_id AS source_record_id, adult_record_id FROM ({_HOUSEHOLD_EPISODE_SQL})").df()
