"""Source availability (``models.marts.availability.build_availability``) on a hand-made warehouse: an authority of
the partnership (in the population the marts count, ``staging.population``) that sent no file at all is *not
supplied* and not present, like one that sent files for other quarters only -- not an authority with no children.
Before, it had no availability rows at all, so a partnership run with only Northbrook's CIN returns showed
Eastmere's tiers as "0.0 (0)" and its CP-plan rate as "lower" than England's."""
from __future__ import annotations

from datetime import date

import duckdb

from models.marts.availability import build_availability
from models.marts.definitions import load_definitions
from sources.registry import load_registry

Q = date(2025, 3, 31)


def _warehouse(with_population: bool = True) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA quality; CREATE SCHEMA raw; CREATE SCHEMA staging; CREATE SCHEMA marts")
    conn.execute("""CREATE TABLE quality.load_audit (source VARCHAR, la_code VARCHAR, period_end DATE, status VARCHAR,
                                                     file VARCHAR)""")
    conn.execute("INSERT INTO quality.load_audit VALUES ('cin_census', '991', ?, 'loaded', '991/cin.xml')", [Q])
    conn.execute("CREATE TABLE raw.la_codes (la_code VARCHAR, lad_code VARCHAR, la_name VARCHAR)")
    conn.execute("INSERT INTO raw.la_codes VALUES ('991', 'E06000901', 'Northbrook'), "
                 "('992', 'E06000902', 'Eastmere'), ('993', 'E06000903', 'Elsewhere')")  # 993: not in the population
    if with_population:  # as staging.sql builds it: the ONS population by DfE LA number (993 not in it)
        conn.execute("CREATE TABLE staging.population (mid_year INTEGER, la_code VARCHAR, population BIGINT)")
        conn.execute("INSERT INTO staging.population VALUES (2024, '991', 100), (2024, '992', 80)")
    return conn


def _build(conn):
    build_availability(conn, load_registry(), load_definitions(), [Q])
    return (dict(conn.execute("SELECT la_code, present FROM marts.authority_presence").fetchall()),
            dict(conn.execute("""SELECT la_code, list(DISTINCT status ORDER BY status)
                                 FROM marts.source_availability GROUP BY ALL""").fetchall()))


def test_an_authority_that_sent_nothing_is_not_supplied_and_not_present():
    presence, statuses = _build(_warehouse())
    assert presence == {"991": True, "992": False}
    assert statuses["992"] == ["not supplied"] and "supplied" in statuses["991"]
    assert "993" not in statuses  # in the code lookup but not counted (no population): not one of the areas


def test_without_the_population_only_authorities_with_files_are_listed():
    presence, _ = _build(_warehouse(with_population=False))
    assert presence == {"991": True}
