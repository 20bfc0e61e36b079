"""Family linkage: adults known to adult services linked to the children they live with.

``linkage.family_links`` has one row per (child_key, adult_key, relationship, source, method):

* ``recorded in household``: the adult-services episode lists the child (names, DOB); the listed
  child is linked to the other child records by the person linkage. ``relationship`` is
  ``household child`` (lives with the client) or ``child not living with client``;
  ``match_probability`` is how surely the listed child is that person (1 when linked by
  identifier or not linked to anything, the Splink probability when linked probabilistically).
* ``same address``: the episode lists no children, and a child's record in children's services
  (person list or early help) in the same quarter has the adult's postcode, a surname in common
  with the adult, and an age gap of 15 to 60 years. Postcodes hold about 15 households, so the
  shared surname is required; ``match_probability`` is NULL (this is a rule, not a score).

``valid_from``/``valid_to``: the adult-services episode's start and end (the quarter end while open).
Adults are never linked to adults here, nor merged with children: the two person linkages are separate.
"""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

FAMILY_COLUMNS = ["child_key", "adult_key", "relationship", "source", "valid_from", "valid_to",
                  "match_probability", "method"]

_FAMILY_SQL = """
WITH episodes AS (
    SELECT a.record_id, a.person_key AS adult_key, a.service AS source, a.period_end,
           a.episode_start_date AS valid_from, coalesce(a.episode_end_date, a.period_end) AS valid_to,
           a.children_recorded, a.postcode_std, a.surname_parts, a.dob AS adult_dob
    FROM {adults} a
),
recorded AS (
    SELECT c.person_key AS child_key, e.adult_key,
           CASE WHEN c.lives_with_client = 'N' THEN 'child not living with client' ELSE 'household child' END
               AS relationship,
           e.source, e.valid_from, e.valid_to, coalesce(c.match_probability, 1.0) AS match_probability,
           'recorded in household' AS method
    FROM {children} c JOIN episodes e ON c.adult_record_id = e.record_id
    WHERE c.source = 'adult_household_children'
),
same_address AS (
    SELECT c.person_key AS child_key, e.adult_key, 'same address' AS relationship, e.source, e.valid_from,
           e.valid_to, CAST(NULL AS DOUBLE) AS match_probability, 'same address' AS method
    FROM episodes e
    JOIN {children} c ON c.postcode_std = e.postcode_std AND c.period_end = e.period_end
    WHERE NOT e.children_recorded
      AND c.source IN ('person_list', 'early_help')
      AND list_has_any(c.surname_parts, e.surname_parts)
      AND date_diff('year', e.adult_dob, c.dob) BETWEEN 15 AND 60
      AND date_diff('year', c.dob, e.period_end) < 18
)
SELECT child_key, adult_key, relationship, source, min(valid_from) AS valid_from, max(valid_to) AS valid_to,
       max(match_probability) AS match_probability, method
FROM (SELECT * FROM recorded UNION ALL SELECT * FROM same_address)
GROUP BY child_key, adult_key, relationship, source, method
ORDER BY child_key, adult_key, source, method, relationship
"""


def family_links(conn: duckdb.DuckDBPyConnection, children: str, child_links: pd.DataFrame, adults: str,
                 adult_links: pd.DataFrame) -> pd.DataFrame:
    """Family links from the child records (table ``children`` of ``conn``, with ``row``, ``source``,
    ``adult_record_id``, ``lives_with_client``, ``postcode_std``, ``surname_parts``, ``dob``, ``period_end``) and
    the adult-services records (table ``adults``: ``row``, ``record_id``, ``service``, ``period_end``, episode
    dates, ``children_recorded``, ``postcode_std``, ``surname_parts``, ``dob``), with each record's
    ``person_key`` (and ``match_probability``) from ``child_links`` / ``adult_links`` (in row order); see module
    docstring."""
    views = []
    try:
        for table, links in ((children, child_links), (adults, adult_links)):
            conn.register(f"{table}__keys", pd.DataFrame({
                "row": np.arange(len(links), dtype=np.int64), "person_key": links["person_key"].to_numpy(),
                "match_probability": links["match_probability"].to_numpy(dtype="float64", na_value=np.nan)}))
            views.append(f"{table}__keys")
        sql = _FAMILY_SQL.format(
            children=f"(SELECT r.*, k.person_key, k.match_probability FROM {children} r JOIN {children}__keys k "
                     "USING (row))",
            adults=f"(SELECT r.*, k.person_key FROM {adults} r JOIN {adults}__keys k USING (row))")
        frame = conn.sql(sql).df()[FAMILY_COLUMNS]
    finally:
        for view in views:
            conn.unregister(view)
    for column in ("valid_from", "valid_to"):  # dates as the previous pandas path gave them (timestamps)
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[us]")
    return frame
