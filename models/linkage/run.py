"""Run the whole linkage and write its tables.

* ``linkage.person_links``: one row per linked source record: ``source``, ``source_record_id``
  (the warehouse ``record_id``), ``person_key`` (``C…`` child, ``A…`` adult), ``person_type``,
  ``la_code``, ``period_end``, ``match_probability``, ``method`` (see :mod:`.persons`).
* ``linkage.family_links``: see :mod:`.family`.
* ``linkage.person_links_sensitivity``: for child records, ``source_record_id``, ``threshold`` and
  ``person_key``: the person each record would belong to had the match threshold been the review
  threshold (more links) or the upper threshold (fewer links). Keys here are labels of that
  clustering (``C@0.5:123``), not the stable ``person_key`` values; used only to show how much the
  marts' estimates move with the threshold.
* ``quality.linkage_summary``: long table (``person_type``, ``section``, ``source``, ``item``,
  ``value``): records by source and method, persons, match rate, probability distribution,
  conflicts, grey-band pairs. Counts only.

The clerical-review file (grey-band pairs with identifiers and Splink's explanation) is written
next to the identity store, never to ``output/``.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ingest.connections import size_in_bytes
from ingest.write import fetch_frame, replace_table

from .family import family_links
from .persons import LinkageThresholds, PersonLinkage, link_people_in
from .records import adult_records_table, attach_identity_store, child_records_table

# the columns of a linkage's ``links`` frame that person links are made from
LINK_FRAME_COLUMNS = ("source", "record_id", "person_key", "la_code", "period_end", "match_probability", "method")
# which Splink input table each child source belongs to (one table per recording system)
CHILD_TABLES = {"person_list": "childrens_social_care", "cin_census": "childrens_social_care",
                "cp_list": "childrens_social_care", "early_help": "early_help",
                "adult_household_children": "adult_household_lists",
                # Ofsted Annex A lists: the children's social care system's own report (list 2 included: its
                # child ID is the LA child ID)
                "annex_a_early_help": "childrens_social_care", "annex_a_referrals": "childrens_social_care",
                "annex_a_assessments": "childrens_social_care", "annex_a_section47": "childrens_social_care",
                "annex_a_children_in_need": "childrens_social_care"}
# the temporary tables of the records being linked (on the warehouse connection, dropped at the end)
CHILD_RECORDS, ADULT_RECORDS = "linkage_child_records", "linkage_adult_records"
PROBABILITY_BANDS = [0.0, 0.5, 0.8, 0.95, 0.99, 0.999, 1.0000001]
# what pandas holds per linked record by the end of a linkage: its ``links`` row (record id, source, authority,
# quarter, groups, cluster, method, probability, key) and its sensitivity clusters. Measured at 300,000
# children (2.3 M child records): 178 bytes a record in the links frame and 16 in the sensitivity arrays.
FRAME_BYTES_PER_RECORD = 200


@dataclass
class LinkageResult:
    """The linkage's results. The person links and their sensitivity rows are not held as frames of their own
    (at 300,000 children they would be 0.8 GB more): they are the children's and adults' ``links`` (and
    ``children.sensitivity``), written from those by :func:`write_linkage_tables`; :attr:`person_links`
    builds the frame when asked (tests, notebooks)."""
    family_links: pd.DataFrame
    summary: pd.DataFrame
    children: PersonLinkage
    adults: PersonLinkage
    seconds: dict

    @property
    def person_links(self) -> pd.DataFrame:
        """``linkage.person_links`` as a frame (columns: see the module docstring): children's records, then adults';
        the rows of :func:`person_links_view`, the view the table is written from (``period_end`` a timestamp)."""
        conn = duckdb.connect()
        try:
            with person_links_view(conn, self.children, self.adults) as rows:
                return fetch_frame(conn, f"SELECT * FROM {rows}")
        finally:
            conn.close()


def previous_person_links(conn: duckdb.DuckDBPyConnection) -> str | None:
    """The last run's links: the table ``linkage.person_links`` (read in DuckDB by :func:`link_partnership`,
    before it is replaced), or None on a first run."""
    exists = conn.execute("SELECT count(*) FROM information_schema.tables "
                          "WHERE table_schema = 'linkage' AND table_name = 'person_links'").fetchall()[0][0]
    return "linkage.person_links" if exists else None


def highest_issued_keys(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """``linkage.key_sequence``: the highest person_key number ever issued, by prefix (C, A)."""
    conn.execute("CREATE SCHEMA IF NOT EXISTS linkage")
    conn.execute("CREATE TABLE IF NOT EXISTS linkage.key_sequence (prefix VARCHAR PRIMARY KEY, highest_issued BIGINT)")
    return dict(conn.execute("SELECT prefix, highest_issued FROM linkage.key_sequence").fetchall())


def link_partnership(conn: duckdb.DuckDBPyConnection, identity_path: Path,
                     thresholds: LinkageThresholds = LinkageThresholds(), previous: str | pd.DataFrame | None = None,
                     up_to: date | None = None, model_path: Path | None = None,
                     partner_sources: tuple[str, ...] = (), memory_limit: str | None = None) -> LinkageResult:
    """Link every child and adult record in the warehouse (periods up to ``up_to``); ``partner_sources``: the
    partner-agency sources whose records are children too (each its own Splink input table). ``previous``: the
    previous run's links (``source_record_id``, ``person_key``) as a table of ``conn``
    (:func:`previous_person_links`) or a DataFrame; None on a first run.

    The records stay in DuckDB (temporary tables of ``conn``, under its memory limit) through the grouping,
    the profiles and Splink; pandas holds only each record's keys and methods and the scored pairs.
    ``memory_limit``: the DuckDB size ``conn`` was opened with (e.g. ``1205MiB``); while linking, DuckDB's limit
    is lowered by what those frames will hold (:func:`frames_beside_duckdb`). None leaves the limit alone."""
    seconds = {}
    started = time.monotonic()
    attach_identity_store(conn, identity_path)
    child_records_table(conn, CHILD_RECORDS, CHILD_TABLES, up_to, partner_sources)
    adult_records_table(conn, ADULT_RECORDS, up_to)
    seconds["read records"] = time.monotonic() - started
    if isinstance(previous, pd.DataFrame):
        conn.register("linkage_previous_links", previous)
        previous = "linkage_previous_links"
    records = conn.execute(f"SELECT (SELECT count(*) FROM {CHILD_RECORDS}) + "
                           f"(SELECT count(*) FROM {ADULT_RECORDS})").fetchall()[0][0]
    with frames_beside_duckdb(conn, memory_limit, records):
        return _link_records(conn, thresholds, previous, model_path, seconds)


def _link_records(conn, thresholds, previous, model_path, seconds) -> LinkageResult:
    """:func:`link_partnership` once the records' tables are made."""
    try:
        issued = highest_issued_keys(conn)
        started = time.monotonic()
        child_links = link_people_in(conn, CHILD_RECORDS, "table", "C", thresholds, previous, model_path,
                                     issued.get("C", 0))
        seconds["link children"] = time.monotonic() - started
        started = time.monotonic()
        adult_links = link_people_in(conn, ADULT_RECORDS, "table", "A", thresholds, previous,
                                     highest_issued=issued.get("A", 0))
        seconds["link adults"] = time.monotonic() - started

        started = time.monotonic()
        families = family_links(conn, CHILD_RECORDS, child_links.links, ADULT_RECORDS, adult_links.links)
    finally:
        for table in (CHILD_RECORDS, ADULT_RECORDS):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        if previous == "linkage_previous_links":
            conn.unregister(previous)
    with person_links_view(conn, child_links, adult_links) as person_links:
        summary = linkage_summary(conn, person_links, child_links, adult_links, families)
    seconds["family links and summary"] = time.monotonic() - started
    return LinkageResult(families, summary, child_links, adult_links, seconds)


@contextmanager
def frames_beside_duckdb(conn: duckdb.DuckDBPyConnection, memory_limit: str | None, records: int) -> Iterator[None]:
    """Within the block, DuckDB's memory limit on ``conn`` is ``memory_limit`` less what the linkage's frames will
    hold in pandas (:data:`FRAME_BYTES_PER_RECORD` for each of ``records``) when that leaves DuckDB at least half
    of it; afterwards it is ``memory_limit`` again. So DuckDB and the frames together keep to the limit one
    DuckDB instance is given (:mod:`ingest.connections`): the linkage is the one step holding whole-partnership
    frames beside a DuckDB at its limit (at 300,000 children 0.45 GB of frames; the refresh's peak was there,
    2.50-2.57 GiB, bench/README.md).

    When the frames would take more than half the limit, the limit is left alone and the frames come on top.
    DuckDB spills most of its work to disk past its limit, but not all: some of the linkage's queries need
    memory that grows with the records (the deterministic grouping's label rounds). At 1,000,000 children (7.9 M
    records, frames 1.6 GB) a limit lowered to a quarter (301 MiB) or to half (602 MiB) of the automatic
    1,205 MiB ran out of memory in that grouping; 819 MiB links them since the grouping no longer ranks every
    record at once (bench/README.md).
    ``memory_limit`` None: the limit is left alone."""
    if memory_limit is None:
        yield
        return
    limit = size_in_bytes(memory_limit)
    frames = FRAME_BYTES_PER_RECORD * records
    lowered = limit - frames if frames <= limit // 2 else limit
    conn.execute(f"SET memory_limit = '{lowered // 2**20}MiB'")
    try:
        yield
    finally:
        conn.execute(f"SET memory_limit = '{limit // 2**20}MiB'")


@contextmanager
def person_links_view(conn: duckdb.DuckDBPyConnection, children: PersonLinkage,
                      adults: PersonLinkage) -> Iterator[str]:
    """The rows of ``linkage.person_links`` (columns: see the module docstring), children's then adults', as the name
    of a temporary view of ``conn`` over the two linkages' ``links`` frames, read in place (no copy of
    every record); gone after the block."""
    def rows(name: str, person_type: str) -> str:
        return (f"SELECT source, record_id AS source_record_id, person_key, '{person_type}' AS person_type, "
                f"la_code, CAST(period_end AS DATE) AS period_end, CAST(match_probability AS DOUBLE) "
                f"AS match_probability, method FROM {name}")

    conn.register("linked_children", children.links[list(LINK_FRAME_COLUMNS)])
    conn.register("linked_adults", adults.links[list(LINK_FRAME_COLUMNS)])
    try:
        conn.execute("CREATE OR REPLACE TEMP VIEW person_links_rows AS "
                     f"{rows('linked_children', 'child')} UNION ALL {rows('linked_adults', 'adult')}")
        yield "person_links_rows"
    finally:
        conn.execute("DROP VIEW IF EXISTS person_links_rows")
        conn.unregister("linked_children")
        conn.unregister("linked_adults")


@contextmanager
def sensitivity_links_view(conn: duckdb.DuckDBPyConnection, linkage: PersonLinkage) -> Iterator[str]:
    """``linkage.person_links_sensitivity`` rows (see module docstring) of one person linkage as the name of a
    temporary view of ``conn`` (record ids and cluster numbers in, the strings made by DuckDB: no Python string
    or frame per row), in the order of the thresholds, then of the records; gone after the block."""
    clusters = {f"cluster_{n}": cluster for n, cluster in enumerate(linkage.sensitivity.values())}
    conn.register("sensitivity_clusters", pd.DataFrame({"row": np.arange(len(linkage.links), dtype=np.int64),
                                                        "record_id": linkage.links["record_id"], **clusters}))
    try:
        parts = [f"SELECT {n} AS part, row, record_id AS source_record_id, CAST({threshold!r} AS DOUBLE) AS threshold, "
                 f"'C@{threshold:g}:' || CAST(cluster_{n} AS VARCHAR) AS person_key FROM sensitivity_clusters"
                 for n, threshold in enumerate(linkage.sensitivity)] or [
            "SELECT 0 AS part, 0 AS row, CAST(NULL AS VARCHAR) AS source_record_id, CAST(NULL AS DOUBLE) AS threshold, "
            "CAST(NULL AS VARCHAR) AS person_key WHERE false"]
        conn.execute("CREATE OR REPLACE TEMP VIEW sensitivity_rows AS SELECT source_record_id, threshold, person_key "
                     f"FROM ({' UNION ALL '.join(parts)}) ORDER BY part, row")
        yield "sensitivity_rows"
    finally:
        conn.execute("DROP VIEW IF EXISTS sensitivity_rows")
        conn.unregister("sensitivity_clusters")


def linkage_summary(conn: duckdb.DuckDBPyConnection, person_links: str, children: PersonLinkage,
                    adults: PersonLinkage, families: pd.DataFrame) -> pd.DataFrame:
    """``quality.linkage_summary`` (see module docstring); the counts over the person links (a table or view of
    ``conn``, :func:`person_links_view`) in DuckDB."""
    rows: list[tuple] = []
    for person_type, linkage in (("child", children), ("adult", adults)):
        rows += _link_counts(conn, person_links, person_type)
        rows += _linkage_counts(person_type, linkage)
    for (method, source), n in families.groupby(["method", "source"]).size().items():
        rows.append(("family", "adult-child links", source, method, n))
    frame = pd.DataFrame(rows, columns=["person_type", "section", "source", "item", "value"])
    frame["value"] = frame["value"].astype("float64")
    return frame


def _link_counts(conn: duckdb.DuckDBPyConnection, links: str, person_type: str) -> list[tuple]:
    """The summary rows counted over one kind of person's links (view ``links`` of ``conn``): records by
    source and method; records, persons and match rate by source; persons in all and in two or more sources;
    records by match probability band."""
    rows: list[tuple] = []
    where = f"person_type = '{person_type}'"
    for source, method, n in conn.execute(f"SELECT source, method, count(*) FROM {links} WHERE {where} "
                                          "GROUP BY ALL ORDER BY source, method").fetchall():
        rows.append((person_type, "records by method", source, method, n))
    for source, n, persons, linked in conn.execute(f"""
            SELECT source, count(*), count(DISTINCT person_key), count_if(method <> 'single record')
            FROM {links} WHERE {where} GROUP BY source ORDER BY source""").fetchall():
        rows.append((person_type, "records", source, "records", n))
        rows.append((person_type, "persons", source, "persons", persons))
        rows.append((person_type, "match rate %", source, "records linked to another record",
                     round(100 * float(linked / n), 2)))
    persons, in_two = conn.execute(f"""
        SELECT count(*), count_if(sources > 1) FROM (
            SELECT person_key, count(DISTINCT source) AS sources FROM {links} WHERE {where} GROUP BY person_key)
        """).fetchall()[0]
    rows.append((person_type, "persons", "all", "persons", persons))
    rows.append((person_type, "persons", "all", "persons in two or more sources", in_two))
    bands = list(zip(PROBABILITY_BANDS[:-1], PROBABILITY_BANDS[1:]))
    counts = conn.execute("SELECT " + ", ".join(
        f"count_if(match_probability >= {low!r} AND match_probability < {high!r})" for low, high in bands) +
        f" FROM {links} WHERE {where} AND match_probability IS NOT NULL AND NOT isnan(match_probability)"
        ).fetchall()[0]
    for (low, high), n in zip(bands, counts):
        rows.append((person_type, "match probability", "all", f"[{low:g}, {min(high, 1):g})", n))
    return rows


def _linkage_counts(person_type: str, linkage: PersonLinkage) -> list[tuple]:
    """The summary rows of one person linkage's conflicts, clerical review and model."""
    rows = [(person_type, "conflicts", "all", "identifier conflicts not used for linking", len(linkage.conflicts))]
    rows += [(person_type, "conflicts", "all", item, n) for item, n in linkage.identifier_conflicts.items()]
    rows.append((person_type, "clerical review", "all", "pairs in the grey band or never linked automatically",
                 len(linkage.review_pairs)))
    rows.append((person_type, "model", "all", "distinct identities compared", linkage.profiles))
    rows.append((person_type, "model", "all", "pairs scored at or above the review threshold", linkage.pairs_scored))
    return rows


def write_review_file(result: LinkageResult, folder: Path, run_date: date) -> Path | None:
    """Write the clerical-review pairs (identifiers included) to ``folder`` (created 0700). Returns the path.

    The file is created 0600 (never readable by others, not even for a moment) and text that a spreadsheet
    would run as a formula (starting ``=``, ``+``, ``-``, ``@``, tab or carriage return: a name typed as
    ``=HYPERLINK(...)``) is prefixed with ``'``, as in the board exports
    (:func:`sources.spreadsheet_text.neutralise`):
    the reviewer opens it in Excel.
    """
    from sources.spreadsheet_text import neutralise

    pairs = [r.review_pairs.assign(person_type=t) for t, r in (("child", result.children), ("adult", result.adults))
             if len(r.review_pairs)]
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    path = folder / f"linkage_review_{run_date.isoformat()}.csv"
    frame = neutralise(pd.concat(pairs, ignore_index=True)) if pairs else pd.DataFrame()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        frame.to_csv(fh, index=False)
    for name, linkage in (("children", result.children), ("adults", result.adults)):
        if linkage.model_json:
            (folder / f"linkage_model_{name}.json").write_text(json.dumps(linkage.model_json, indent=1, default=str))
    return path


def write_linkage_tables(conn: duckdb.DuckDBPyConnection, result: LinkageResult) -> None:
    """Replace ``linkage.person_links``, ``linkage.family_links``, ``linkage.person_links_sensitivity``
    and ``quality.linkage_summary``;
    record the highest key issued in ``linkage.key_sequence``."""
    conn.execute("CREATE SCHEMA IF NOT EXISTS linkage")
    conn.execute("CREATE SCHEMA IF NOT EXISTS quality")
    with person_links_view(conn, result.children, result.adults) as person_links:
        conn.execute(f"CREATE OR REPLACE TABLE linkage.person_links AS SELECT * FROM {person_links}")
    with sensitivity_links_view(conn, result.children) as sensitivity:
        conn.execute(f"CREATE OR REPLACE TABLE linkage.person_links_sensitivity AS SELECT * FROM {sensitivity}")
    for table, frame in (("linkage.family_links", result.family_links),
                         ("quality.linkage_summary", result.summary)):
        replace_table(conn, table, frame)
    conn.execute("""
        INSERT OR REPLACE INTO linkage.key_sequence
        SELECT left(person_key, 1), greatest(max(CAST(substr(person_key, 2) AS BIGINT)),
               coalesce(max(s.highest_issued), 0))
        FROM linkage.person_links LEFT JOIN linkage.key_sequence s ON s.prefix = left(person_key, 1)
        GROUP BY left(person_key, 1)""")
