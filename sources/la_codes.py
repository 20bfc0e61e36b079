"""Read the local authority code lookup: DfE three-digit LA number to ONS nine-character code.

Children's services data use two codes for one authority: DfE's three-digit LA number (the old
LEA code: the CIN census header, Annex A returns, folder names like ``991_northbrook``) and the
ONS GSS code (``E06000901``: population estimates, the postcode lookup, IMD). DfE prints both in
every Explore Education Statistics file, headed ``old_la_code`` and ``new_la_code``, and the
synthetic partnership writes ``reference/la_codes.csv`` in that form::

    old_la_code,new_la_code,la_name
    991,E06000901,Northbrook

``read_la_codes(path)`` returns a :class:`sources.tabular.TableRead` with ``la_code`` ('991'),
``lad_code`` ('E06000901'), ``la_name``, ``source_file`` and ``source_line``, one row per authority;
``lad_codes_by_la_code(read)`` gives the mapping as a dict. Headers are matched by
``sources/schemas/la_codes.yaml`` (GIAS "LA (code)", "LEA", "ONS code" ... are accepted too).

A line repeating a pair already on an earlier line is rejected (``duplicate_key``; cut a full EES
data file, which repeats each pair for every year and breakdown, down to one line per authority).
A three-digit code paired with two ONS codes, or an ONS code with two three-digit codes, cannot be
resolved without knowing which year is wanted (reorganisations such as Somerset 2023 change the
ONS code): every line of such a conflict is rejected (``conflicting_code``).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import SourceFileError
from .tabular import ColumnFailure, TableRead, collect_failures, read_table

SOURCE = "la_codes"


def la_codes_file(incoming: Path | str) -> Path | None:
    """``incoming/reference/la_codes*.csv`` (or another ``*lad_code*.csv`` there)."""
    from .incoming import reference_file

    return reference_file(incoming, "la_codes")


def read_la_codes(path: Path | str) -> TableRead:
    path = Path(path)
    result = read_table(path, SOURCE)
    if result.rows_read == 0:
        raise SourceFileError(path, "line 2", "no data rows after the header; expected one row per local authority")
    rows = result.rows.drop(columns="extract_date")
    lea, code = rows["la_code"], rows["lad_code"]
    conflict = ((rows.groupby("la_code")["lad_code"].transform("nunique") > 1)
                | (rows.groupby("lad_code")["la_code"].transform("nunique") > 1)).to_numpy()
    message = ("la_code '" + lea + "' and lad_code '" + code
               + "': another line pairs one of these codes with a different code")
    repeat = rows.duplicated(["la_code", "lad_code"], keep="first").to_numpy() & ~conflict
    extra = collect_failures([ColumnFailure("lad_code", "conflicting_code", conflict, message),
                      ColumnFailure("la_code", "duplicate_key", repeat, "la_code '" + lea + "' already on an earlier line")],
                     SOURCE, path.name, rows["source_line"].to_numpy())
    rejects = pd.concat([result.rejects, extra], ignore_index=True) if len(extra) else result.rejects
    rejects = rejects.sort_values(["source_line", "field", "rule"], kind="stable").reset_index(drop=True)
    rows = rows.loc[~conflict & ~repeat].reset_index(drop=True)
    return TableRead(rows=rows, rejects=rejects, rows_read=result.rows_read, blank_lines=result.blank_lines,
                     encoding=result.encoding)


def lad_codes_by_la_code(read: TableRead) -> dict[str, str]:
    """{'991': 'E06000901', ...} from a read of the lookup."""
    return dict(zip(read.rows["la_code"].astype(str), read.rows["lad_code"].astype(str)))
