"""Read the Index of Multiple Deprivation (IMD) by LSOA (English Indices of Deprivation).

``read_deprivation(path)`` returns a :class:`sources.tabular.TableRead` with one row per LSOA:
``lsoa_code``, ``lsoa_name``, ``lad_code``, ``lad_name``, ``imd_rank`` (int, 1 = the most deprived
LSOA in England), ``imd_decile`` (int 1-10, 1 = the most deprived 10 % of LSOAs in England),
``source_file``, ``source_line``.

Headers are matched by ``sources/schemas/deprivation.yaml`` through :func:`sources.tabular.read_table`,
so MHCLG File 1 of IoD2025 ("LSOA code (2021)", "Local Authority District code (2024)"), of IoD2019
("(2011)", "(2019)") and File 7 (the all-domains CSV, "... Rank (where 1 is most deprived)") all read.
Deciles are national: a partnership's LSOAs need not cover all ten.

A rank or decile that is blank or not a whole number, a decile outside 1-10, and an LSOA code
already on an earlier line (``duplicate_key``: the later line is rejected) go to ``rejects``.
MHCLG publishes File 1 as .xlsx with a "Notes" sheet first: save the data sheet as CSV (the
tabular reader reads an .xlsx's first sheet only).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import SourceFileError
from .tabular import ColumnFailure, TableRead, collect_failures, read_table

SOURCE = "deprivation"


def deprivation_file(incoming: Path | str) -> Path | None:
    """``incoming/reference/imd_lsoa*.csv``, else an MHCLG ``File_1*.csv`` / ``File_7*.csv`` / ``*IMD*.csv``."""
    from .incoming import reference_file

    return reference_file(incoming, "deprivation")


def read_deprivation(path: Path | str) -> TableRead:
    path = Path(path)
    result = read_table(path, SOURCE)
    if result.rows_read == 0:
        raise SourceFileError(path, "line 2", "no data rows after the header; expected one row per LSOA")
    rows = result.rows.drop(columns="extract_date")
    lines = rows["source_line"].to_numpy()
    repeat = rows["lsoa_code"].duplicated(keep="first").to_numpy()
    extra = collect_failures([ColumnFailure("lsoa_code", "duplicate_key", repeat,
                               "lsoa_code '" + rows["lsoa_code"] + "' already on an earlier line")],
                     SOURCE, path.name, lines)
    rejects = pd.concat([result.rejects, extra], ignore_index=True) if len(extra) else result.rejects
    rejects = rejects.sort_values(["source_line", "field", "rule"], kind="stable").reset_index(drop=True)
    rows = rows.loc[~repeat].astype({"imd_rank": "int64", "imd_decile": "int64"}).reset_index(drop=True)
    return TableRead(rows=rows, rejects=rejects, rows_read=result.rows_read, blank_lines=result.blank_lines,
                     encoding=result.encoding)
