"""GCP2 progress (issue 21): ``marts.gcp2_progress`` from the temporary table of ``models/marts/sql/gcp2_progress.sql``
(read that file for which assessments count).

For children with two or more Graded Care Profile 2 assessments, the change in each domain between the first and
the latest: one row per quarter end (``quarter_end``), area (``la_code``: DfE LA number or ``partnership``),
``service`` (``early help``, ``children's social care``, ``all``) and ``domain`` (``physical care``, ``safety``,
``love and care``, ``stimulation``, and ``any domain``: the highest of the four). ``children``: children whose
latest assessment is in the 12 months to the quarter end; ``improved`` / ``unchanged`` / ``worse``: latest score
lower / equal / higher than the first (GCP2 scores 1-5, lower is better); ``share_improved`` (0-1) with its
Wilson 95 % interval (NULL when no child). Only quarters and areas where the GCP2 source was supplied have rows
(every service and domain, zeros included); where it was not, ``marts.source_availability`` says ``not supplied``
for ``gcp2_assessments`` and this table has no row -- never a 0 for a source nobody sent.
"""
from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from models.intervals import wilson_interval

from .definitions import NeglectDefinitions
from .evidence import read_sql, register_periods, replace_period_frame

SERVICES = ("early help", "children's social care", "all")
DOMAINS = ("physical care", "safety", "love and care", "stimulation", "any domain")
COLUMNS = ["quarter_end", "la_code", "service", "domain", "children", "improved", "unchanged", "worse",
           "share_improved", "improved_ci95_lower", "improved_ci95_upper"]
TABLE_SQL = """
    quarter_end DATE NOT NULL, la_code VARCHAR NOT NULL, service VARCHAR NOT NULL, domain VARCHAR NOT NULL,
    children INTEGER NOT NULL, improved INTEGER NOT NULL, unchanged INTEGER NOT NULL, worse INTEGER NOT NULL,
    share_improved DOUBLE, improved_ci95_lower DOUBLE, improved_ci95_upper DOUBLE"""


def build_gcp2_progress(conn: duckdb.DuckDBPyConnection, definitions: NeglectDefinitions | None,
                        period_ends: list[date]) -> pd.DataFrame:
    """Replace the rows of ``marts.gcp2_progress`` for ``period_ends``; returns them."""
    register_periods(conn, period_ends)
    conn.execute(read_sql("gcp2_progress.sql"))
    counts = conn.sql("""
        SELECT period_end, la_code, service, domain, count(*) AS children,
               count(*) FILTER (WHERE latest_score < first_score) AS improved,
               count(*) FILTER (WHERE latest_score = first_score) AS unchanged,
               count(*) FILTER (WHERE latest_score > first_score) AS worse
        FROM gcp2_changes GROUP BY ALL""").df()
    supplied = conn.sql("SELECT period_end, la_code FROM gcp2_supplied").df()
    frame = progress_rows(supplied, counts)
    replace_period_frame(conn, "marts.gcp2_progress", TABLE_SQL, frame, period_column="quarter_end")
    return frame


def progress_rows(supplied: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    """Every service and domain for each supplied (quarter end, area), counts zero-filled, with the share
    improved and its Wilson 95 % interval."""
    grid = supplied.rename(columns={"period_end": "quarter_end"}) \
        .merge(pd.DataFrame({"service": SERVICES}), how="cross").merge(pd.DataFrame({"domain": DOMAINS}), how="cross")
    counts = counts.rename(columns={"period_end": "quarter_end"})
    for frame in (grid, counts):
        frame["quarter_end"] = pd.to_datetime(frame["quarter_end"]).dt.as_unit("us")
    out = grid.merge(counts, how="left", on=["quarter_end", "la_code", "service", "domain"])
    for column in ("children", "improved", "unchanged", "worse"):
        out[column] = out[column].fillna(0).astype("int32")
    lower, upper = wilson_interval(out["improved"].to_numpy(float), out["children"].to_numpy(float))
    out["share_improved"] = (out["improved"] / out["children"].where(out["children"] > 0)).astype("float64")
    out["improved_ci95_lower"], out["improved_ci95_upper"] = lower, upper
    return out[COLUMNS].sort_values(COLUMNS[:4], kind="stable").reset_index(drop=True)
