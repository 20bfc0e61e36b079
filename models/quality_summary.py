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

The SQL is composed from :data:`LINKAGE_KEYS`, the list of which column of which raw
table carries each key.
"""
from __future__ import annotations

# raw table -> (source in quality.load_audit, NHS number, UPN, date of birth, postcode) columns
LINKAGE_KEYS: dict[str, tuple[str, str | None, str | None, str | None, str | None]] = {
    "cp_list": ("cp_list", None, None, "birth_month", None),
    "early_help": ("early_help", "has_nhs_number", None, "birth_month", "has_postcode"),
    "person_list": ("person_list", "has_nhs_number", "has_upn", "birth_month", "has_postcode"),
    "adult_episodes": ("adult_episodes", "has_nhs_number", None, "birth_month", "has_postcode"),
    "adult_household_children": ("adult_household_children", None, None, "birth_month", None),
    "cin_child": ("cin_census", None, "has_upn", "birth_month", None),
    # Ofsted Annex A lists 2-6 (list 7 is cp_list): the LA child ID and date of birth only
    **{t: (t, None, None, "birth_month", None) for t in ("annex_a_early_help", "annex_a_referrals",
                                                          "annex_a_assessments", "annex_a_section47",
                                                          "annex_a_children_in_need")},
}


def _pct(expr: str | None) -> str:
    if expr is None:
        return "CAST(NULL AS DOUBLE)"
    return f"round(100.0 * avg(CASE WHEN {expr} THEN 1 ELSE 0 END), 1)"


def key_completeness_sql(existing_tables: set[str]) -> str:
    """UNION ALL over the raw tables present: completeness of each linkage key by la_code and period."""
    parts = []
    for table, (source, nhs, upn, dob, postcode) in LINKAGE_KEYS.items():
        if table not in existing_tables:
            continue
        parts.append(f"""
            SELECT '{source}' AS source, la_code, period_end,
                   {_pct(nhs)} AS nhs_number_pct, {_pct(upn)} AS upn_pct,
                   {_pct(f'{dob} IS NOT NULL' if dob else None)} AS dob_pct,
                   {_pct(postcode)} AS postcode_pct,
                   {_pct('postcode_matched' if postcode else None)} AS postcode_matched_pct
            FROM raw.{table} GROUP BY la_code, period_end""")
    if not parts:
        return ("SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS la_code, NULL::DATE AS period_end, "
                "NULL::DOUBLE AS nhs_number_pct, NULL::DOUBLE AS upn_pct, NULL::DOUBLE AS dob_pct, "
                "NULL::DOUBLE AS postcode_pct, NULL::DOUBLE AS postcode_matched_pct WHERE false")
    return " UNION ALL ".join(parts)


def summary_sql(existing_tables: set[str]) -> str:
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
    keys AS ({key_completeness_sql(existing_tables)})
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
