"""The data-quality tables of the board pack: rows read, loaded and rejected per source and authority (read =
loaded + rejected, protected together), rows rejected by rule, linkage rates, every file with rows not loaded,
and which sources fed the quarter's figures. Counts go through the same protection as every published count
(:class:`dashboards.tables._Counts`); a percentage of a suppressed row count is blank."""
from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from .publication import REJECTED_BY_RULE_SQL, file_rows_cell, iso, persons_cell, rows_cell, rule_cell
from .tables import _blank, _Counts


PERCENT_COLUMNS = ["nhs_number_pct", "upn_pct", "dob_pct", "postcode_pct", "postcode_matched_pct", "validity_pct"]


def published_quality(conn: duckdb.DuckDBPyConnection, quarter_end: date, counts: _Counts) -> dict[str, pd.DataFrame]:
    """Data quality of the latest extract period on or before the quarter end: rows read, loaded and
    rejected (read = loaded + rejected, protected together), rows rejected by rule, linkage."""
    period = conn.execute("SELECT max(period_end) FROM quality.summary WHERE period_end <= ?",
                          [quarter_end]).fetchall()[0][0]
    summary = conn.execute("""
        SELECT period_end, source, la_code, files, rows_read, rows_loaded, rows_rejected, nhs_number_pct, upn_pct,
               dob_pct, postcode_pct, postcode_matched_pct, validity_pct
        FROM quality.summary WHERE period_end = ? ORDER BY source, la_code""", [period]).df()
    rejects = conn.execute(REJECTED_BY_RULE_SQL + " AND period_end = ? GROUP BY ALL ORDER BY source, la_code, rule",
                           [period]).df()
    linkage = conn.execute("""
        SELECT person_type, source, max(value) FILTER (WHERE section = 'match rate %') AS linked_pct,
               max(value) FILTER (WHERE section = 'persons' AND item = 'persons') AS persons
        FROM quality.linkage_summary WHERE section IN ('match rate %', 'persons') AND source <> 'all'
        GROUP BY ALL ORDER BY person_type DESC, source""").df()
    for frame in (summary, rejects):
        frame["period_end"] = frame["period_end"].map(iso)
    for column, kind in (("rows_read", "read"), ("rows_loaded", "loaded"), ("rows_rejected", "rejected")):
        summary = counts(summary, column, [rows_cell(p, s, la, kind) for p, s, la in
                                           zip(summary["period_end"], summary["source"], summary["la_code"])])
    # a percentage of a suppressed row count would narrow it (33.3 % means a multiple of 3)
    summary = _blank(summary, PERCENT_COLUMNS, summary["rows_read_suppressed"] | summary["rows_loaded_suppressed"])
    rejects = counts(rejects, "rows_rejected", [rule_cell(p, s, la, r) for p, s, la, r in
                                                zip(rejects["period_end"], rejects["source"], rejects["la_code"],
                                                    rejects["rule"])])
    linkage = counts(linkage, "persons", [persons_cell(t, s) for t, s in zip(linkage["person_type"], linkage["source"])])
    files = files_not_loaded(conn, quarter_end)
    for column, kind in (("rows_read", "read"), ("rows_not_loaded", "not_loaded")):
        files = counts(files, column, [file_rows_cell(p, s, la, f, "not_read" if failed and kind == "not_loaded" else kind)
                                       for p, s, la, f, failed in zip(files["period_end"], files["source_name"],
                                                                      files["la_code"], files["file"], files["failed"])])
    return {"data_quality": summary, "rejects": rejects, "linkage": linkage,
            "files_not_loaded": files.drop(columns=["source_name", "failed"])}


def files_not_loaded(conn: duckdb.DuckDBPyConnection, quarter_end: date) -> pd.DataFrame:
    """Every file of the 12 months to ``quarter_end`` with rows not loaded (rejected) or not read at all: file,
    sheet, source label, rows read, rows not loaded, and why (the commonest rule, or the reader's message)."""
    from sources.registry import load_registry

    labels = {s.name: s.label for s in load_registry()}
    frame = conn.execute("""
        WITH files AS (
            SELECT period_end, source, la_code, file, max(sheet) AS sheet,
                   CASE WHEN bool_or(status = 'failed') THEN 'failed' ELSE max(status) END AS status, max(message) AS message,
                   sum(rows_read) AS rows_read,
                   sum(CASE WHEN status = 'failed' THEN rows_read ELSE rows_rejected END) AS rows_not_loaded
            FROM quality.load_audit
            WHERE file IS NOT NULL AND period_end > ? - INTERVAL 1 YEAR AND period_end <= ?
            GROUP BY ALL
        ),
        rules AS (
            SELECT source, file, rule, count(DISTINCT location) AS n FROM quality.rejects
            WHERE action IN ('row_rejected', 'child_rejected') GROUP BY ALL
        ),
        commonest AS (SELECT source, file, first(rule ORDER BY n DESC, rule) AS rule FROM rules GROUP BY ALL)  -- ties: by name
        SELECT f.period_end, f.file, f.sheet, f.source, f.source AS source_name, f.status = 'failed' AS failed, f.la_code,
               f.rows_read, f.rows_not_loaded,
               CASE WHEN f.status = 'failed' THEN 'not read: ' || f.message
                    ELSE 'rejected, mostly ' || r.rule END AS reason
        FROM files f LEFT JOIN commonest r ON r.source = f.source AND r.file = f.file
        WHERE f.status = 'failed' OR f.rows_not_loaded > 0
        ORDER BY f.file, f.source, f.la_code, f.period_end""", [quarter_end, quarter_end]).df()
    frame["source"] = frame["source"].map(lambda s: labels.get(s, s))
    frame["sheet"] = frame["sheet"].fillna("")
    frame["period_end"] = frame["period_end"].map(iso)
    return frame


def published_sources(conn: duckdb.DuckDBPyConnection, quarter_end: date) -> pd.DataFrame:
    """Which sources fed the quarter's figures, per authority: supplied, not supplied, could not be read, or
    (the census) carried forward from the previous year's return (``marts.source_availability``; no counts)."""
    from sources.registry import load_registry

    labels = {s.name: s.label for s in load_registry()}
    sources = conn.execute("""
        SELECT a.la_code, a.source, a.status, a.note, coalesce(p.present, true) AS authority_present
        FROM marts.source_availability a LEFT JOIN marts.authority_presence p USING (period_end, la_code)
        WHERE a.period_end = ? ORDER BY a.la_code, a.source""", [quarter_end]).df()
    sources["source_label"] = sources["source"].map(lambda name: labels.get(name, name))
    return sources
