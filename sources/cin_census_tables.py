"""Validation and output tables of the CIN census reader (used by :mod:`sources.cin_census`).

The parser hands over raw text per table (:class:`_Parsed`: strings, stripped, blank as
missing, with keys and source lines); :func:`_build` parses each column by its type,
checks it against the collection year's code lists, rejects or nulls what breaks the
schema's policy (``sources/schemas/cin_census.yaml``), records every problem in the
rejects frame (:class:`_Issues`) and builds the output DataFrames, once per table,
vectorised (pandas and pyarrow string kernels; no per-row Python).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

try:  # pandas' own string backend; used here for speed when present, not required
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError:  # pragma: no cover - exercised only without pyarrow
    pa = pc = None

from .cin_census_header import CinCensusHeader, empty_findings
from .cin_census_schema import CinSchema, _Column, _Table

SOURCE = "cin_census"
COMMON_COLUMNS = ("source_file", "la_code", "collection_year", "child_ordinal", "la_child_id", "is_duplicate",
                  "source_location", "source_line")
REJECT_COLUMNS = ("source", "source_file", "table", "location", "source_line", "child_ordinal", "field", "rule",
                  "action", "message")
REJECT_DTYPES = {"source": "string", "source_file": "string", "table": "string", "location": "string",
                 "source_line": "Int64", "child_ordinal": "Int64", "field": "string", "rule": "string",
                 "action": "string", "message": "string"}
DATE_DTYPE = "datetime64[s]"

_DATE_SHAPE = r"\d{4}-\d{2}-\d{2}"
_TIMEZONE = r"(?:Z|[+-]\d{2}:\d{2})$"
_INTEGER = r"[+-]?\d+"


# ----------------------------------------------------------------------------- results

@dataclass
class CinCensusResult:
    source_file: str
    header: CinCensusHeader
    tables: dict[str, pd.DataFrame]
    rejects: pd.DataFrame
    children_read: int
    header_findings: pd.DataFrame = field(default_factory=empty_findings)  # HEADER_FINDING_COLUMNS

    @property
    def children_rejected(self) -> int:
        """Child elements left out of cin_child (rule ``child_unusable``)."""
        return int((self.rejects["rule"] == "child_unusable").sum())


@dataclass
class _Parsed:
    frames: dict[str, pd.DataFrame]  # raw text per table (strings, stripped, blank as missing)
    notes: list[tuple]  # (table, child_ordinal, location, line, field, rule, action, message)
    header: dict
    children_read: int



# ----------------------------------------------------------------------------- validation and tables

class _Issues:
    """Reject rows, collected as column arrays per problem and concatenated once.

    ``message`` is a string, or a function of the failing rows' mask returning one
    message per failing row, so messages are only built for rows that fail.
    """

    def __init__(self, file: str):
        self.file = file
        self.parts: list[pd.DataFrame] = []

    def add(self, table: str, frame: pd.DataFrame, mask, field: str, element: str, rule: str, action: str, message):
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        location = frame["_location"][mask].to_numpy(dtype=object)  # the failing rows only: a string column
        if element not in (".", ""):
            location = location + ("/" + element)
        if callable(message):
            message = np.asarray(pd.Series(message(mask)).astype(object), dtype=object)
        self.parts.append(pd.DataFrame({
            "source": SOURCE, "source_file": self.file, "table": table, "location": location,
            "source_line": frame["source_line"].to_numpy()[mask], "child_ordinal": frame["child_ordinal"].to_numpy()[mask],
            "field": field, "rule": rule, "action": action, "message": message}))

    def add_notes(self, notes: list[tuple]) -> None:
        if notes:
            cols = list(zip(*notes))
            self.parts.append(pd.DataFrame({
                "source": SOURCE, "source_file": self.file, "table": cols[0], "location": cols[2],
                "source_line": cols[3], "child_ordinal": cols[1], "field": cols[4], "rule": cols[5],
                "action": cols[6], "message": cols[7]}))

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame({c: pd.Series(dtype=d) for c, d in REJECT_DTYPES.items()})
        out = pd.concat(self.parts, ignore_index=True).astype(REJECT_DTYPES)
        return out.sort_values(["child_ordinal", "source_line"], kind="stable", na_position="first").reset_index(drop=True)


def _strings(values) -> pd.Series:
    """Raw element texts (str or None) to a string Series: stripped, blank as missing."""
    if pa is None:
        s = pd.Series(pd.array(list(values), dtype="string")).str.strip()
        return s.mask(s == "")
    arr = pc.utf8_trim_whitespace(pa.array(values, type=pa.string()))
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    return pd.Series(pd.array(arr, dtype="string"))


def _raw_frame(table: _Table, rows: list) -> pd.DataFrame:
    names = [*table.keys, "source_line", *(r for r, _ in table.raw)]
    columns = list(zip(*rows)) if rows else [()] * len(names)
    data = {}
    for i, name in enumerate(names):
        if i <= len(table.keys):
            data[name] = np.asarray(columns[i], dtype=np.int64)
        else:
            data[name] = _strings(columns[i])
    return pd.DataFrame(data)


def _locations(schema: CinSchema, table: _Table, frame: pd.DataFrame):
    """Element paths such as Child[12]/CINdetails[2]/Assessments[1], one per row.

    A pandas string array (pyarrow), so the output's ``source_location`` needs no conversion
    (going through Python str objects cost about a tenth of the reader's time); an object
    array without pyarrow.
    """
    chain = []
    t = table
    while t is not None:
        chain.append(t)
        t = schema.tables[t.parent] if t.parent else None
    chain.reverse()
    if frame.empty:
        return np.zeros(0, dtype=object)
    parts: list = [f"{chain[0].element}["]
    for i, t in enumerate(chain):
        if i:
            groups = "/".join(t.path[:-1])
            parts.append("]/" + (groups + "/" if groups else "") + t.path[-1] + "[")
        parts.append(frame[t.ordinal].to_numpy())
    parts.append("]")
    if pa is None:
        out = pd.Series("", index=frame.index, dtype=object)
        for part in parts:
            out = out + (part if isinstance(part, str) else pd.Series(part, index=frame.index).astype(str).astype(object))
        return out.to_numpy(dtype=object)
    parts = [p if isinstance(p, str) else pc.cast(pa.array(p), pa.string()) for p in parts]
    return pd.array(pc.binary_join_element_wise(*parts, ""), dtype="string")


def _element_name(element: str, table: _Table) -> str:
    return table.element if element == "." else element.rpartition("/")[2]


def _shown(values: pd.Series, identifier: bool) -> pd.Series:
    """How a bad value appears in a message: quoted (cut to 20 characters) or, for identifiers, only its length."""
    if identifier:
        return "value of length " + values.str.len().astype("Int64").astype(str)
    return "'" + values.str.slice(0, 20) + "'"


def _values_message(s: pd.Series, identifier: bool, before: str, after: str):
    """A lazy message: before + shown value + after, for the failing rows only."""
    def build(mask):
        shown = _shown(s[mask], identifier)
        after_part = after[mask] if isinstance(after, pd.Series) else after
        return (before + shown + after_part).to_numpy(dtype=object)
    return build


def _validate_column(issues: _Issues, schema: CinSchema, year: int, table: _Table, frame: pd.DataFrame,
                     column: _Column, rejected: np.ndarray) -> pd.Series:
    """Parse one column; record its problems; return the output values (null where nulled)."""
    if column.legacy:
        return _validate_legacy_pair(issues, schema, year, table, frame, column)
    s = frame[column.name]
    present = s.notna().to_numpy()
    element = _element_name(column.element, table)
    action = "row_rejected" if column.on_error in ("reject_row", "reject_child") else "value_nulled"

    def bad(mask, rule, message):
        mask = np.asarray(mask, dtype=bool)
        issues.add(table.name, frame, mask, column.name, column.element, rule, action, message)
        if column.on_error == "reject_row":
            rejected[mask] = True
        return mask

    if column.required:
        missing = ~present
        issues.add(table.name, frame, missing, column.name, column.element, "required_missing",
                   "row_rejected" if column.on_error == "reject_row" else "flagged",
                   f"{element} is missing or blank (required)")
        if column.on_error == "reject_row":
            rejected[missing] = True

    if column.type == "string":
        if not column.pattern:
            return s
        ok = s.str.fullmatch(column.pattern).fillna(False).to_numpy(dtype=bool)
        failed = bad(present & ~ok, "pattern",
                     _values_message(s, column.identifier, element + ": ", f" not matching pattern {column.pattern}"))
        return s.mask(failed)

    if column.type == "date":
        text = s.str.replace(_TIMEZONE, "", regex=True) if (s.str.len() > 10).any() else s
        shape = text.str.fullmatch(_DATE_SHAPE).fillna(False).to_numpy(dtype=bool)
        dates = pd.to_datetime(text.where(shape).astype(object), format="%Y-%m-%d", errors="coerce")
        failed = bad(present & (~shape | dates.isna().to_numpy()), "invalid_date",
                     _values_message(s, column.identifier, element + ": ", " is not a date (YYYY-MM-DD)"))
        return dates.mask(failed).astype(DATE_DTYPE)

    if column.type == "integer":
        ok = s.str.fullmatch(_INTEGER).fillna(False).to_numpy(dtype=bool)
        failed = bad(present & ~ok, "not_integer",
                     _values_message(s, column.identifier, element + ": ", " is not a whole number"))
        values = pd.to_numeric(s.where(ok).astype(object), errors="coerce").astype("Int64")
        if column.min is not None:
            low = (values < column.min).fillna(False).to_numpy(dtype=bool)
            failed |= bad(low, "negative" if column.min == 0 else "below_minimum",
                          _values_message(s, column.identifier, element + ": ",
                                          " is negative" if column.min == 0 else f" is below {column.min}"))
        return values.mask(failed)

    return _check_codes(issues, schema, year, table, frame, column, s, present, column.codes, column.element, bad)


def _check_codes(issues, schema, year, table, frame, column, s, present, codes_name, element_path, bad):
    """Codes: known in the list, in use in the file's year, superseded (flag); canonical values out."""
    element = element_path.rpartition("/")[2] if element_path != "." else table.element
    code_list = schema.code_lists[codes_name]
    valid, superseded, added_in = schema.codes_for_year(codes_name, year)
    known = s.isin(code_list.codes).fillna(False).to_numpy(dtype=bool)
    in_year = s.isin(valid).fillna(False).to_numpy(dtype=bool)
    unknown = bad(present & ~known, "unknown_code",
                  _values_message(s, column.identifier, element + ": ", f" is not in the {codes_name} code list"))
    later = present & known & ~in_year
    if later.any():
        since = s.map(lambda c: str(added_in[c]) if c in added_in else "?").astype("string")
        bad(later, "code_not_in_year",
            _values_message(s, column.identifier, element + ": ",
                            f" is not in use in collection year {year} (added in " + since + ")"))
    old = present & s.isin(superseded).fillna(False).to_numpy(dtype=bool)
    issues.add(table.name, frame, old, column.name, element_path, "code_superseded", "flagged",
               _values_message(s, column.identifier, element + ": ",
                               f" is superseded by collection year {year} (DfE queries it); kept"))
    values = s.mask(unknown | later)
    if code_list.canonical:
        mapped = values.astype(object).map(code_list.canonical)
        values = mapped.astype("boolean") if column.type == "boolean" else mapped.astype("string")
    elif column.type == "boolean":
        raise ValueError(f"code list {codes_name} has no canonical true/false mapping")
    return values


def _validate_legacy_pair(issues, schema, year, table, frame, column):
    """A column read from its current element or an older one (Sex, or GenderCurrent up to 2023-24)."""
    current, legacy = frame[column.name], frame[column.name + "__legacy"]
    has_current, has_legacy = current.notna().to_numpy(), legacy.notna().to_numpy()
    legacy_used = has_legacy & ~has_current
    element, legacy_element = _element_name(column.element, table), column.legacy["element"].rpartition("/")[2]
    replaced = schema.element_year(column.element)
    change_year = replaced[1] if replaced else schema.first_year
    expected = column.element if year >= change_year else column.legacy["element"]

    def bad_for(path):
        def bad(mask, rule, message):
            mask = np.asarray(mask, dtype=bool)
            issues.add(table.name, frame, mask, column.name, path, rule, "value_nulled", message)
            return mask
        return bad

    if column.required:
        issues.add(table.name, frame, ~has_current & ~has_legacy, column.name, expected, "required_missing", "flagged",
                   f"{expected.rpartition('/')[2]} is missing or blank (required)")
    cur_values = _check_codes(issues, schema, year, table, frame, column, current, has_current, column.codes,
                              column.element, bad_for(column.element))
    leg_values = _check_codes(issues, schema, year, table, frame, column, legacy.where(pd.Series(legacy_used)),
                              legacy_used, column.legacy["codes"], column.legacy["element"],
                              bad_for(column.legacy["element"]))
    values = cur_values.where(pd.Series(has_current), leg_values).astype("string")
    if year >= change_year:
        issues.add(table.name, frame, legacy_used, column.name, column.legacy["element"], "element_not_in_year", "flagged",
                   f"{legacy_element} was replaced by {element} from collection year {change_year}; "
                   f"read with the {legacy_element} coding")
    else:
        issues.add(table.name, frame, has_current, column.name, column.element, "element_not_in_year", "flagged",
                   f"{element} is used from collection year {change_year}; this {year} return was expected to "
                   f"have {legacy_element}")
    both = has_current & has_legacy
    if both.any():
        code_list = schema.code_lists[column.legacy["codes"]]
        legacy_as = legacy.astype(object).map(code_list.canonical or {})
        differ = both & (legacy_as.astype(object) != current.astype(object)).to_numpy(dtype=bool)
        issues.add(table.name, frame, differ, column.name, column.legacy["element"], "conflicting_elements", "flagged",
                   f"{element} and {legacy_element} disagree; {element} is used")
    return values


def _build(path: Path, schema: CinSchema, parsed: _Parsed, header: CinCensusHeader) -> CinCensusResult:
    """The nine tables of a parsed return, in four steps: children without a usable LAchildID rejected with
    all their records; missing required sub-elements flagged; every column parsed and validated against the
    year's code lists; duplicate Child elements kept, marked and flagged."""
    issues = _Issues(path.name)
    issues.add_notes(parsed.notes)
    frames = parsed.frames
    for name, frame in frames.items():
        frame["_location"] = _locations(schema, schema.tables[name], frame)
    _reject_unusable_children(schema, frames, issues)
    _flag_missing_required(schema, frames, issues)
    out = {name: _validated_table(path, schema, table, frames[name], header, issues)
           for name, table in schema.tables.items()}
    tables = _mark_duplicates(schema, out, parsed.children_read, issues)
    return CinCensusResult(source_file=path.name, header=header, tables=tables, rejects=issues.frame(),
                           children_read=parsed.children_read)


def _reject_unusable_children(schema: CinSchema, frames: dict[str, pd.DataFrame], issues: _Issues) -> None:
    """Children without a usable LAchildID: nothing of theirs can be linked, so every record of theirs is
    dropped from ``frames`` (one reject row per child, counting its CINdetails)."""
    child_t = schema.tables["cin_child"]
    children = frames["cin_child"]
    id_column = next(c for c in child_t.columns if c.on_error == "reject_child")
    unusable = children[id_column.name].isna().to_numpy()
    if not unusable.any():
        return
    episodes = frames["cin_episode"]["child_ordinal"].value_counts()
    counts = children["child_ordinal"].map(episodes).fillna(0).astype(int).astype(str)
    issues.add("cin_child", children, unusable, id_column.name, id_column.element, "child_unusable", "row_rejected",
               lambda m: (f"{_element_name(id_column.element, child_t)} is missing or blank: the Child cannot be "
                          "linked, so none of its records are read (" + counts[m] + " CINdetails)"))
    bad_children = children.loc[unusable, "child_ordinal"].to_numpy()
    for name in frames:
        frames[name] = frames[name].loc[~frames[name]["child_ordinal"].isin(bad_children).to_numpy()].reset_index(
            drop=True)


def _flag_missing_required(schema: CinSchema, frames: dict[str, pd.DataFrame], issues: _Issues) -> None:
    """A Child without a sub-element the XSD requires (CINdetails) is flagged, not rejected."""
    children = frames["cin_child"]
    for required in schema.tables["cin_child"].required_children:
        table = next(t for t in schema.tables.values() if t.parent == "cin_child" and t.path == (required,))
        has = children["child_ordinal"].isin(frames[table.name]["child_ordinal"]).to_numpy()
        issues.add("cin_child", children, ~has, required, "", "required_missing", "flagged",
                   f"the Child has no {required} element (the XSD requires at least one)")


def _validated_table(path: Path, schema: CinSchema, table, frame: pd.DataFrame, header: CinCensusHeader,
                     issues: _Issues) -> pd.DataFrame:
    """One table's columns parsed and validated against the year's code lists (a value rejected or set to
    null as its column says), dates out of order or after the reference date flagged; the rows kept."""
    rejected = np.zeros(len(frame), dtype=bool)
    year = header.collection_year
    data = pd.DataFrame({c.name: _validate_column(issues, schema, year, table, frame, c, rejected)
                         for c in table.columns})
    for first, second in table.date_order:
        wrong = (data[second] < data[first]).fillna(False).to_numpy(dtype=bool) & ~rejected
        second_col = next(c for c in table.columns if c.name == second)
        first_col = next(c for c in table.columns if c.name == first)
        issues.add(table.name, frame, wrong, second, second_col.element, "date_order", "flagged",
                   f"{_element_name(second_col.element, table)} is before {_element_name(first_col.element, table)}")
    for col in table.not_after_reference_date:
        late = (data[col] > header.reference_date).fillna(False).to_numpy(dtype=bool) & ~rejected
        spec = next(c for c in table.columns if c.name == col)
        issues.add(table.name, frame, late, col, spec.element, "after_reference_date", "flagged",
                   f"{_element_name(spec.element, table)} is after the census reference date "
                   f"{header.reference_date.date()}")
    result = pd.DataFrame({"source_file": path.name, "la_code": header.lea, "collection_year": year},
                          index=frame.index)
    for key in table.keys:
        result[key] = frame[key]
    result["source_location"] = frame["_location"]
    result["source_line"] = frame["source_line"]
    for c in table.columns:
        result[c.name] = data[c.name]
    return result.loc[~rejected].reset_index(drop=True)


def _mark_duplicates(schema: CinSchema, out: dict[str, pd.DataFrame], children_read: int,
                     issues: _Issues) -> dict[str, pd.DataFrame]:
    """Duplicate Child elements (the same LAchildID again in this file) are kept, flagged and marked
    ``is_duplicate`` in every table; every table gets the child's ``la_child_id`` and its final column order."""
    children_out = out["cin_child"]
    dup = children_out["la_child_id"].duplicated(keep="first").to_numpy()
    if dup.any():
        first = children_out.groupby("la_child_id", sort=False)["child_ordinal"].transform("first").astype(str)
        dup_frame = children_out.rename(columns={"source_location": "_location"})
        issues.add("cin_child", dup_frame, dup, "la_child_id", "", "duplicate_child", "flagged",
                   lambda m: "the Child repeats the LAchildID of Child[" + first[m] + "]; kept and marked is_duplicate")
    n = children_read + 1
    la_child_id = np.full(n, None, dtype=object)
    is_duplicate = np.zeros(n, dtype=bool)
    ordinals = children_out["child_ordinal"].to_numpy()
    la_child_id[ordinals] = children_out["la_child_id"].to_numpy(dtype=object)
    la_child_id = pd.array(la_child_id, dtype="string")  # by child ordinal; taken per table without Python str
    is_duplicate[ordinals] = dup
    tables = {}
    for name, table in schema.tables.items():
        df = out[name]
        co = df["child_ordinal"].to_numpy()
        if name != "cin_child":
            df["la_child_id"] = la_child_id.take(co)
        df["is_duplicate"] = is_duplicate[co]
        order = [*COMMON_COLUMNS[:6], *table.keys[1:], *COMMON_COLUMNS[6:],
                 *(c.name for c in table.columns if c.name not in COMMON_COLUMNS)]
        tables[name] = df[order].astype({"source_file": "string", "la_code": "string", "collection_year": "int64",
                                         "la_child_id": "string", "source_location": "string",
                                         "source_line": "int64", "is_duplicate": "bool"})
    return tables
