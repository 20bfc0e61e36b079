"""Disclosure control applied to tables: rates from hidden counts blanked, cell ids and counts from a
table's columns, and the refusal of identifiers in anything published."""
from __future__ import annotations

import re
from typing import Iterable, Sequence

import pandas as pd

from .relations import SUPPRESSED


def suppress_rates(frame: pd.DataFrame, count_column: str, rate_columns: Iterable[str],
                   suppressed_column: str | None = "suppressed") -> pd.DataFrame:
    """A copy of ``frame`` with every column in ``rate_columns`` blanked (NaN) where the count is
    suppressed: rates, confidence bounds, and anything else computed from the count (comparison
    flags, method). Suppressed rows are taken from ``suppressed_column``, or, when that is None
    or absent, from ``count_column == "c"``."""
    out = frame.copy()
    if suppressed_column is not None and suppressed_column in out:
        mask = out[suppressed_column].astype(bool).to_numpy()
    else:
        mask = (out[count_column].astype(object) == SUPPRESSED).to_numpy()
    for col in rate_columns:
        if col not in out:
            raise KeyError(f"rate column {col!r} is not in the table")
        if mask.any():
            out[col] = out[col].where(~mask)
    return out


def _cell_ids(table: pd.DataFrame, cell_columns: Sequence[str]) -> list:
    cell_columns = [cell_columns] if isinstance(cell_columns, str) else list(cell_columns)
    if len(cell_columns) == 1:
        return list(table[cell_columns[0]])
    return list(zip(*(table[c].tolist() for c in cell_columns)))


def counts_from_table(table: pd.DataFrame, cell_columns: Sequence[str], count_column: str) -> pd.Series:
    """The counts of a long table as a Series indexed by cell id (the tuple of ``cell_columns``)."""
    ids = _cell_ids(table, cell_columns)
    return pd.Series(table[count_column].to_numpy(), index=pd.Index(ids, tupleize_cols=False, dtype=object))


def apply_to_table(table: pd.DataFrame, cell_columns: Sequence[str], count_column: str,
                   protected: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` with ``count_column`` replaced by the published value (object: int or
    ``"c"``) and a boolean ``suppressed`` column. Every row's cell (the tuple of
    ``cell_columns``) must have been through :func:`protect`; the table is then checked for
    identifiers (:func:`check_no_identifiers`)."""
    ids = _cell_ids(table, cell_columns)
    reasons = protected["reason"] if "reason" in protected else pd.Series(None, index=protected.index)
    lookup = dict(zip(protected["cell"], zip(protected["published"], protected["suppressed"], reasons)))
    missing = [c for c in ids if c not in lookup]
    if missing:
        raise KeyError(f"{len(missing)} row(s) were not protected, e.g. {missing[0]!r}")
    hidden = [c for c in ids if lookup[c][2] == "unpublished"]
    if hidden:
        raise ValueError(f"{len(hidden)} row(s) were protected as unpublished cells, e.g. {hidden[0]!r}")
    out = table.copy()
    out[count_column] = pd.Series([lookup[c][0] for c in ids], index=out.index, dtype=object)
    out["suppressed"] = pd.Series([bool(lookup[c][1]) for c in ids], index=out.index, dtype=bool)
    check_no_identifiers(out)
    return out


IDENTIFIER_COLUMNS = frozenset({
    "person_key", "person_id", "child_id", "local_id", "family_key", "household_id",
    "nhs_number", "upn", "former_upn", "source_record_id", "record_id",
    "name", "forename", "surname", "first_name", "last_name", "full_name",
    "date_of_birth", "dob", "birth_date", "postcode", "address",
})
_POSTCODE = re.compile(r"^\s*[A-Z]{1,2}[0-9][A-Z0-9]?\s*[0-9][A-Z]{2}\s*$", re.IGNORECASE)
_NHS_NUMBER = re.compile(r"^\s*\d{3}\s?\d{3}\s?\d{4}\s*$")
_UPN = re.compile(r"^\s*[A-Z]\d{11}[A-Z0-9]\s*$", re.IGNORECASE)


def check_no_identifiers(frame: pd.DataFrame) -> None:
    """Refuse a table that carries identifiers, exact dates of birth or full postcodes: a column
    named like one (e.g. ``nhs_number``, ``date_of_birth``, ``postcode``; a ``..._pct`` column is a
    percentage of records holding one, which is allowed), or text values shaped
    like a full postcode, an NHS number or a UPN. Postcode districts (``"AB1"``) are allowed."""
    named = [c for c in frame.columns if str(c).strip().lower() in IDENTIFIER_COLUMNS
             or (("date_of_birth" in str(c).lower() or "nhs_number" in str(c).lower())
                 and not str(c).lower().endswith("_pct"))]  # nhs_number_pct: a completeness percentage
    if named:
        raise ValueError(f"published table has identifier column(s): {named}")
    for col in frame.columns:
        column = frame[col]
        if not (column.dtype == object or pd.api.types.is_string_dtype(column)):
            continue
        text = [v for v in column.dropna().unique() if isinstance(v, str)]
        for pattern, what in ((_POSTCODE, "full postcode"), (_NHS_NUMBER, "NHS number"), (_UPN, "UPN")):
            hits = [v for v in text if pattern.match(v)]
            if hits:
                raise ValueError(f"column {col!r} holds what looks like a {what}")

