"""Read DfE's published statistics in the explore-education-statistics (EES) CSV layout, and DfE's
children's services statistical neighbours.

EES data files (``c3_factors_identified_at_end_of_assessment_*.csv`` and the like, from *Children in need*)
have one row per year and area::

    time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,
    old_la_code,new_la_code,la_name,category,<measure columns ...>
    2025,Reporting year,National,E92000001,England,,,,,,Factors identified at the end of assessment,513250,...

``geographic_level`` is ``National``, ``Regional`` or ``Local authority``; local-authority rows carry
DfE's three-digit ``old_la_code`` and the ONS ``new_la_code``. Which measure columns a table has, and which
is the numerator and which the denominator, is said by its schema (``sources/schemas/published_*.yaml``:
``measure`` and ``measure_columns``); every other column is ignored, so the whole published file can be
dropped in. ``time_period`` is a reporting year (``2025`` = the year to 31 March 2025; ``202425`` is read as
2025 too).

Values DfE does not give are markers, read as not available with the marker kept, never as 0:
``c`` confidential (suppressed: small numbers and secondary suppression), ``x`` not available, ``z`` not
applicable, ``k`` / ``low`` rounds to 0 but is not 0, ``:`` not available (also in brackets, ``[c]``).
England and regional totals are rounded by DfE (to the nearest 10): ``rounded`` says so.

``read_published(path, schema)`` returns a :class:`sources.tabular.TableRead` whose rows are
:data:`OUTPUT_COLUMNS`. Rows rejected (``quality.rejects``): an unknown ``geographic_level``
(``unknown_level``), a local-authority row without its three-digit code (``missing_la_code``), a measure
value that is neither a number nor a marker (``not_a_number``), as well as the schema's own rules.

``read_statistical_neighbours(path)`` reads DfE's groupings (``New_Statistical_Neighbour_Groupings_April_2021.csv``:
``LA num, LA Name, LA number, GOInd, GOReg, SN1, SNP, SN2, SNP, ... SN10, SNP``; each ``SNP`` the closeness
of the neighbour before it) into one row per authority and neighbour: :data:`NEIGHBOUR_COLUMNS`. The file's
trailing block of superseded authorities (a row reading ``Old SNs:``) is not read.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import SourceFileError
from .tabular import ColumnFailure, TableRead, collect_failures, load_tabular_schema, normalise_header, read_raw, read_table

OUTPUT_COLUMNS = ["time_period", "geographic_level", "region_code", "region_name", "la_code", "lad_code", "la_name",
                  "table_id", "measure", "numerator", "numerator_note", "denominator", "denominator_note",
                  "published_percent", "rounded", "source"]
POPULATION_COLUMNS = ["time_period", "geographic_level", "region_code", "region_name", "la_code", "lad_code",
                      "la_name", "table_id", "age_group", "population", "population_note", "source"]
NEIGHBOUR_COLUMNS = ["la_code", "la_name", "region", "neighbour_rank", "neighbour_la_code", "closeness"]
LEVELS = {"national": "National", "regional": "Regional", "local authority": "Local authority"}
MARKERS = {"c": "c: confidential (suppressed by DfE)", "x": "x: not available", "z": "z: not applicable",
           "k": "k: rounds to 0 but is not 0", "low": "low: rounds to 0 but is not 0", ":": ": not available"}
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def parse_values(s: pd.Series) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """Published cells -> (value as float, note for a marker, mask of cells that are neither)."""
    text = s.astype("string").str.strip().str.replace(",", "", regex=False)
    key = text.str.lower().str.strip("[]")
    number = text.str.fullmatch(_NUMBER.pattern).fillna(False).astype(bool)
    note = key.map(MARKERS).astype("string")
    blank = text.isna() | (text == "")
    value = pd.to_numeric(text.where(number), errors="coerce").astype("Float64")
    bad = (~number & note.isna() & ~blank).to_numpy(dtype=bool)
    return value, note.where(~blank, "not given"), bad


def _year(period: pd.Series) -> pd.Series:
    """'2025' -> 2025; '202425' (a financial or academic year) -> 2025."""
    p = period.astype("string").str.strip()
    long = p.str.len() == 6
    year = pd.to_numeric(p.str[:4], errors="coerce").astype("Int64")
    return year.where(~long, year + 1)


def _read_ees(path: Path, schema_name: str):
    """The rows of an EES file read through its schema, each row's level, the parsed measure columns
    (role -> (value, note, bad)) and the row failures common to every EES table."""
    schema = load_tabular_schema(schema_name)
    options = schema.base.options
    result = read_table(path, schema)
    if result.rows_read == 0:
        raise SourceFileError(path, "line 2", "no data rows after the header; expected one row per year and area")
    rows = result.rows
    level = rows["geographic_level"].astype("string").str.strip().str.lower().map(LEVELS)
    roles = options["measure_columns"]
    parsed = {role: parse_values(rows[col]) for role, col in roles.items() if col in rows}
    fails = [ColumnFailure("geographic_level", "unknown_level", level.isna().to_numpy(dtype=bool),
                      "geographic_level '" + rows["geographic_level"].astype("string").fillna("")
                      + "': expected National, Regional or Local authority"),
             ColumnFailure("la_code", "missing_la_code",
                      ((level == "Local authority") & rows["la_code"].isna()).fillna(False).to_numpy(dtype=bool),
                      "a Local authority row without its three-digit old_la_code")]
    for role, (_, _, bad) in parsed.items():
        col = roles[role]
        fails.append(ColumnFailure(col, "not_a_number", bad, col + " '" + rows[col].astype("string").fillna("")
                              + "' is neither a number nor a DfE marker (c, x, z, k, :, low)"))
    extra = collect_failures(fails, schema.source, path.name, rows["source_line"].to_numpy())
    rejects = pd.concat([result.rejects, extra], ignore_index=True) if len(extra) else result.rejects
    keep = ~rows["source_line"].isin(extra["source_line"]).to_numpy() if len(extra) else np.ones(len(rows), bool)
    rejects = rejects.sort_values(["source_line", "field", "rule"], kind="stable").reset_index(drop=True)
    return options, result, rows, level, parsed, rejects, keep


def _geography(rows: pd.DataFrame, level: pd.Series) -> dict:
    return {"time_period": _year(rows["time_period"]), "geographic_level": level.astype("string"),
            "region_code": rows["region_code"], "region_name": rows["region_name"], "la_code": rows["la_code"],
            "lad_code": rows["lad_code"], "la_name": rows["la_name"]}


def read_published(path: Path | str, schema_name: str) -> TableRead:
    """One EES data file of the table ``schema_name`` (``published_cin_factors`` ...): see the module."""
    path = Path(path)
    options, result, rows, level, parsed, rejects, keep = _read_ees(path, schema_name)
    missing = pd.Series(pd.NA, index=rows.index, dtype="Float64")
    out = pd.DataFrame({
        **_geography(rows, level),
        "table_id": rows["table_id"].fillna(str(options["table_id"])).astype("string"),
        "measure": pd.Series(options["measure"]["name"], index=rows.index, dtype="string"),
        "numerator": parsed["numerator"][0], "numerator_note": parsed["numerator"][1],
        "denominator": parsed["denominator"][0], "denominator_note": parsed["denominator"][1],
        "published_percent": parsed["published_percent"][0] if "published_percent" in parsed else missing,
        "rounded": level.isin(["National", "Regional"]).to_numpy(),
        "source": rows["source"].fillna(options["publication"] + " " + _year(rows["time_period"]).astype("string")
                                        + " (" + path.name + ")").astype("string"),
        "source_file": rows["source_file"], "source_line": rows["source_line"]})
    out = out.loc[keep].reset_index(drop=True)
    return TableRead(rows=out, rejects=rejects, rows_read=result.rows_read, blank_lines=result.blank_lines,
                     encoding=result.encoding)


def read_population_by_la(path: Path | str) -> TableRead:
    """ONS mid-year estimates of children aged 0-17 for England, every region and every local authority, in
    the EES layout DfE publishes them with its *Children in need* statistics (``time_period`` is the
    mid-year: ``2024`` = 30 June 2024, the denominator of DfE's rates for the year to 31 March 2025):
    :data:`POPULATION_COLUMNS`. Rows of other age groups are kept with their ``age_group``."""
    path = Path(path)
    options, result, rows, level, parsed, rejects, keep = _read_ees(path, "published_population")
    out = pd.DataFrame({
        **_geography(rows, level),
        "table_id": rows["table_id"].fillna(str(options["table_id"])).astype("string"),
        "age_group": rows["age_group"].astype("string"),
        "population": parsed["population"][0], "population_note": parsed["population"][1],
        "source": rows["source"].fillna(options["publication"] + ", mid-" + _year(rows["time_period"]).astype("string")
                                        + " (" + path.name + ")").astype("string"),
        "source_file": rows["source_file"], "source_line": rows["source_line"]})
    out = out.loc[keep].reset_index(drop=True)
    return TableRead(rows=out, rejects=rejects, rows_read=result.rows_read, blank_lines=result.blank_lines,
                     encoding=result.encoding)


def read_cin_factors(path: Path | str) -> TableRead:
    return read_published(path, "published_cin_factors")


def read_cp_duration(path: Path | str) -> TableRead:
    return read_published(path, "published_cp_duration")


def read_cp_subsequent(path: Path | str) -> TableRead:
    return read_published(path, "published_cp_subsequent")


def read_rereferrals(path: Path | str) -> TableRead:
    return read_published(path, "published_rereferrals")


def _neighbour_columns(path: Path, headers: list[str]) -> tuple[int, int | None, int | None, list[int]]:
    names = [normalise_header(h) for h in headers]
    code = next((i for i, h in enumerate(names) if h in ("la num", "la number", "old la code", "la code")), None)
    if code is None:
        raise SourceFileError(path, "line 1 (header)", "no 'LA num' column (the three-digit LA code); expected "
                              "LA num, LA Name, LA number, GOInd, GOReg, SN1, SNP, ... SN10, SNP")
    name = next((i for i, h in enumerate(names) if h in ("la name", "la_name")), None)
    region = next((i for i, h in enumerate(names) if h in ("goreg", "region", "region name")), None)
    neighbours = sorted((i for i, h in enumerate(names) if re.fullmatch(r"sn\s?\d{1,2}", h)),
                        key=lambda i: int(re.sub(r"\D", "", names[i])))
    if len(neighbours) != 10:
        raise SourceFileError(path, "line 1 (header)", f"{len(neighbours)} neighbour columns SN1 ... SN10; expected 10")
    return code, name, region, neighbours


def read_statistical_neighbours(path: Path | str) -> TableRead:
    """DfE's statistical neighbour groupings: one row per authority and neighbour (see the module)."""
    path = Path(path)
    raw = read_raw(path)
    table, lines = raw.frame, raw.lines
    code, name, region, neighbours = _neighbour_columns(path, list(table.columns))
    cells = table.to_numpy(dtype=object)
    out, bad, bad_lines = [], [], []
    for row, line in zip(cells, lines):
        first = " ".join(str(c) for c in row[:3]).strip().lower()
        if first.startswith("old sns") or " old sns" in f" {first}":
            break
        la = str(row[code]).strip()
        if not la and not any(str(c).strip() for c in row):
            continue
        if not re.fullmatch(r"\d{3}", la):
            if any(str(c).strip() for c in row):
                bad_lines.append(int(line))
                bad.append(f"LA num '{la}' is not a three-digit LA code")
            continue
        for rank, i in enumerate(neighbours, start=1):
            other = str(row[i]).strip()
            close = str(row[i + 1]).strip() if i + 1 < len(row) else ""
            if other:
                out.append((la, str(row[name]).strip() if name is not None else "",
                            str(row[region]).strip() if region is not None else "", rank, other, close or None,
                            int(line)))
    rows = pd.DataFrame(out, columns=NEIGHBOUR_COLUMNS + ["source_line"])
    for c in NEIGHBOUR_COLUMNS:
        rows[c] = rows[c].astype("Int64" if c == "neighbour_rank" else "string")
    rows.insert(len(NEIGHBOUR_COLUMNS), "source_file", pd.Series(path.name, index=rows.index, dtype="string"))
    mask = np.ones(len(bad_lines), bool)
    rejects = collect_failures([ColumnFailure("la_code", "bad_la_code", mask, pd.Series(bad, dtype="string"))],
                       "statistical_neighbours", path.name, np.array(bad_lines, dtype=np.int64))
    return TableRead(rows=rows, rejects=rejects, rows_read=int(rows["la_code"].nunique()) + len(bad_lines),
                     encoding=raw.encoding)
