"""Read commissioned service activity: capacity and caseload per service, ward and quarter end.

One CSV or .xlsx per authority and quarter (or one per service: ``period_files: several``), in the
authority's quarter folder, laid out as ``sources/schemas/service_activity.yaml`` says::

    Service Name,Service Type,Provider,Authority,Ward Code,Ward Name,Quarter End,Capacity,Caseload
    Family Support Service,Family support,Northbrook Council,Northbrook,E05900001,Abbey,31/03/2026,40,37
    Parenting Together,Parenting programme,Acme Charity,Northbrook,,,31/03/2026,60,

The columns are read through :mod:`sources.tabular` (tolerant headers, code map for the service type, dates,
whole numbers, duplicates). Three further rules reject a row, each with its own rule name in
``quality.rejects``:

* ``no_figures``: neither capacity nor caseload is given (a row that says nothing);
* ``not_a_quarter_end``: the quarter end is not 31 March, 30 June, 30 September or 31 December;
* ``other_quarter``: the row is for a quarter other than the folder's (a figure filed under the wrong quarter
  would be counted in it; put it in its own quarter's folder).

A blank ward code is a service working across the whole authority: it counts in the authority's totals and in
no ward. The rows are counts of children, with no identifier.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from .tabular import ColumnFailure, TableRead, collect_failures, read_extract

SCHEMA = "service_activity"
QUARTER_ENDS = {(3, 31), (6, 30), (9, 30), (12, 31)}


def read_service_activity(path: Path | str, extract_date: date | str | None = None,
                          authority: str | None = None) -> TableRead:
    """One service-activity file (see the module docstring). ``extract_date``: the folder's quarter end."""
    result = read_extract(path, SCHEMA, extract_date, authority)
    rows = result.rows
    if rows.empty:
        return result
    ends = pd.to_datetime(rows["quarter_end"])
    no_figures = (rows["capacity"].isna() & rows["caseload"].isna()).to_numpy(dtype=bool)
    month_day = list(zip(ends.dt.month, ends.dt.day))
    not_quarter = np.array([md not in QUARTER_ENDS for md in month_day], dtype=bool) & ends.notna().to_numpy()
    folder = rows["extract_date"].iloc[0] if "extract_date" in rows else pd.NaT
    other = np.zeros(len(rows), dtype=bool)
    if pd.notna(folder):
        other = (~not_quarter) & ends.notna().to_numpy() & (ends != pd.Timestamp(folder)).to_numpy()
    label = str(rows["source_file"].iloc[0])
    shown = ends.dt.strftime("%Y-%m-%d").fillna("")
    where = f" is not the quarter of this folder ({pd.Timestamp(folder):%Y-%m-%d}): put the row in its own " \
        "quarter's folder" if pd.notna(folder) else ""
    fails = [
        ColumnFailure("capacity", "no_figures", no_figures, "neither capacity nor caseload is given"),
        ColumnFailure("quarter_end", "not_a_quarter_end", not_quarter,
                      "quarter_end " + shown + " is not a quarter end (31 March, 30 June, 30 September, 31 December)"),
        ColumnFailure("quarter_end", "other_quarter", other, "quarter_end " + shown + where)]
    extra = collect_failures(fails, SCHEMA, label, rows["source_line"].to_numpy())
    if extra.empty:
        return result
    keep = ~rows["source_line"].isin(extra["source_line"]).to_numpy()
    rejects = pd.concat([result.rejects, extra], ignore_index=True)
    rejects = rejects.sort_values(["source_line", "field", "rule"], kind="stable").reset_index(drop=True)
    flags = result.flags[~result.flags["source_line"].isin(extra["source_line"])].reset_index(drop=True)
    return TableRead(rows=rows.loc[keep].reset_index(drop=True), rejects=rejects, rows_read=result.rows_read,
                     blank_lines=result.blank_lines, encoding=result.encoding, flags=flags, sheet=result.sheet,
                     sheet_count=result.sheet_count, missing_columns=result.missing_columns)
