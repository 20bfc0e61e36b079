"""``quality.summary``: how good each source's data is, per authority and period.

One row per source, authority (``la_code``) and period (``period_end``) the load audit knows
(every authority and period a run covered, whether or not a file came), with:

* ``supply``: ``supplied`` (every file loaded), ``failed`` (a file could not be read: nothing
  of it is loaded) or ``not supplied`` (no file of the source for that authority and period);
* ``files``, ``rows_read``, ``rows_loaded``, ``rows_rejected`` (from ``quality.load_audit``;
  CIN census rows are Child elements; NULL where not supplied, never 0);
* ``rejects_by_rule``: e.g. ``duplicate_row 4; invalid_code 2`` (rejected rows only);
* completeness of each linkage key, as % of loaded rows (NULL where the source does not
  carry the key): ``nhs_number_pct``, ``upn_pct``, ``dob_pct``, ``postcode_pct``
  (``postcode_matched_pct``: found in the postcode lookup);
* ``validity_pct``: rows loaded with no error-severity DfE-style rule finding, as % of
  rows read (so a rejected row counts as invalid). For the CIN census a row is a child:
  a finding on any of the child's episodes, assessments or plans counts against it.

The completeness SQL is composed for each source from the columns its (first) raw table has:
``has_nhs_number``, ``has_upn``, ``birth_month`` and ``has_postcode`` / ``postcode_matched`` are
what pseudonymisation leaves of an NHS number, a UPN, a date of birth and a postcode, so a source
that carries a key has the column and one that does not carry it shows NULL.
"""
from __future__ import annotations

# linkage key -> (the warehouse column that says the key is there, the SQL condition on it)
KEY_COLUMNS = {"nhs_number_pct": ("has_nhs_number", "has_nhs_number"), "upn_pct": ("has_upn", "has_upn"),
               "dob_pct": ("birth_month", "birth_month IS NOT NULL"), "postcode_pct": ("has_postcode", "has_postcode"),
               "postcode_matched_pct": ("postcode_matched", "postcode_matched")}


def _pct(expr: str | None) -> str:
    if expr is None:
        return "CAST(NULL AS DOUBLE)"
    return f"round(100.0 * avg(CASE WHEN {expr} THEN 1 ELSE 0 END), 1)"


def key_completeness_sql(tables: dict[str, tuple[str, list[str]]]) -> str:
    """UNION ALL over the sources: completeness of each linkage key by la_code and period.

    ``tables``: source -> (its raw table holding one row per person record, that table's columns).
    """
    parts = []
    for source, (table, columns) in tables.items():
        keys = ", ".join(f"{_pct(condition if column in columns else None)} AS {name}"
                         for name, (column, condition) in KEY_COLUMNS.items())
        parts.append(f"SELECT '{source}' AS source, la_code, period_end, {keys} "
                     f"FROM raw.{table} GROUP BY la_code, period_end")
    if not parts:
        return ("SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS la_code, NULL::DATE AS period_end, "
                + ", ".join(f"NULL::DOUBLE AS {name}" for name in KEY_COLUMNS) + " WHERE false")
    return " UNION ALL ".join(parts)


def summary_sql(tables: dict[str, tuple[str, list[str]]]) -> str:
    """``quality.summary`` (see module docstring); ``tables`` as for :func:`key_completeness_sql`."""
    return f"""
    CREATE OR REPLACE TABLE quality.summary AS
    WITH audit AS (
        SELECT source, la_code, period_end, count(file) AS files,
               CAST(sum(rows_read) FILTER (WHERE status <> 'not supplied') AS BIGINT) AS rows_read,
               CAST(sum(rows_loaded) FILTER (WHERE status <> 'not supplied') AS BIGINT) AS rows_loaded,
               CAST(sum(rows_rejected) FILTER (WHERE status <> 'not supplied') AS BIGINT) AS rows_rejected,
               count(*) FILTER (WHERE status = 'failed') AS files_failed,
               CASE WHEN bool_or(status = 'failed') THEN 'failed'
                    WHEN bool_and(status = 'not supplied') THEN 'not supplied' ELSE 'supplied' END AS supply
        FROM quality.load_audit WHERE period_end IS NOT NULL GROUP BY ALL
    ),
    rejected AS (
        SELECT source, la_code, period_end, string_agg(rule || ' ' || n, '; ' ORDER BY n DESC, rule) AS rejects_by_rule
        FROM (SELECT source, la_code, period_end, rule, count(*) AS n FROM quality.rejects
              WHERE action = 'row_rejected' AND period_end IS NOT NULL GROUP BY ALL)
        GROUP BY ALL
    ),
    errors AS (
        -- a CIN finding on an episode or plan counts against its child: cut the id at Child[n]
        SELECT source, la_code, period_end,
               count(DISTINCT regexp_replace(record_id, '(#Child\\[\\d+\\]).*$', '\\1')) AS records_with_errors
        FROM quality.rule_findings WHERE severity = 'error' GROUP BY ALL
    ),
    keys AS ({key_completeness_sql(tables)})
    SELECT a.source, a.la_code, a.period_end, a.supply, a.files, a.files_failed, a.rows_read, a.rows_loaded,
           a.rows_rejected, coalesce(r.rejects_by_rule, '') AS rejects_by_rule,
           k.nhs_number_pct, k.upn_pct, k.dob_pct, k.postcode_pct, k.postcode_matched_pct,
           round(100.0 * (a.rows_loaded - coalesce(e.records_with_errors, 0)) / nullif(a.rows_read, 0), 1)
               AS validity_pct
    FROM audit a
    LEFT JOIN rejected r USING (source, la_code, period_end)
    LEFT JOIN errors e USING (source, la_code, period_end)
    LEFT JOIN keys k USING (source, la_code, period_end)
    ORDER BY a.source, a.la_code, a.period_end
    """
