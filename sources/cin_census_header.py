"""The CIN census Header: which collection year a return is read as, and its return-level findings.

DfE validates the children of a return whose header is wrong and reports the header as
one return-level error (rule 100, "Reference Date is incorrect"). This module does the
same: :func:`resolve_header` works out the collection year and reference date every
date rule uses, and lists each header problem as one finding instead of refusing the file.

The census year is, in this order:

1. the ``Year`` element, when it is a year and (if the folder's year ``expected_year`` is
   known) equal to it;
2. else the year of ``ReferenceDate``, if it equals ``expected_year``;
3. else ``Year`` (or ReferenceDate's year when Year is absent or not a year);
4. else ``expected_year``.

The reference date used is always 31 March of that year, never a ReferenceDate of 28
March. Findings (``HEADER_FINDING_COLUMNS``), one per deviation, each saying which year
and date were used:

========  ===============================  ========  ==================================================
code      rule_name                        severity  when
========  ===============================  ========  ==================================================
CIN-100   reference_date_incorrect         error     Year or ReferenceDate missing or not a year/date;
                                                     Year and ReferenceDate disagree; ReferenceDate not
                                                     31 March; no Header or CollectionDetails at all
NEG-01    header_lea_missing_or_invalid    error     LEA missing or not three digits (the folder's LA
                                                     number is used when known)
NEG-02    header_year_differs_from_folder  warning   Year and ReferenceDate agree with each other (or one
                                                     is absent) but not with the folder's year
========  ===============================  ========  ==================================================

CIN-100 is DfE's rule 100 (data-to-insight/csc-validator-be-cin, ``rule_100.py``: module
Header, field ReferenceDate, "Reference Date is incorrect", rule type Error; it fails when
ReferenceDate is absent or differs from 31/03 of Year, so a missing or unreadable Year
fails it too). DfE has no numbered rule for the header's LEA (its XSD requires three
digits, and COLLECT only accepts an authority's own return) nor any notion of the folder
a file sits in, so those two are local ``NEG-0x`` codes, in the numbering of
``checks/dfe_rules`` (NEG-1x children and episodes, NEG-2x CP plans, NEG-3x CP list).

Still refused (:class:`sources.errors.SourceFileError`): no Header and no folder year; no
usable Year or ReferenceDate and no folder year; a year outside the schema's years; a
Collection other than CIN; an LEA of three digits that differs from the folder's LA
number (the file is another authority's return).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .cin_census_schema import CinSchema
from .errors import SourceFileError

HEADER_FINDING_COLUMNS = ("rule_code", "rule_name", "severity", "location", "source_line", "message")
HEADER_FINDING_DTYPES = {"rule_code": "string", "rule_name": "string", "severity": "string", "location": "string",
                         "source_line": "Int64", "message": "string"}
HEADER_RULES = {  # code: (rule_name, severity)
    "CIN-100": ("reference_date_incorrect", "error"),
    "NEG-01": ("header_lea_missing_or_invalid", "error"),
    "NEG-02": ("header_year_differs_from_folder", "warning"),
}
YEAR_PATH = "Header/CollectionDetails/Year"
REFERENCE_DATE_PATH = "Header/CollectionDetails/ReferenceDate"
LEA_PATH = "Header/Source/LEA"

_DATE_SHAPE = r"\d{4}-\d{2}-\d{2}"
_TIMEZONE = r"(?:Z|[+-]\d{2}:\d{2})$"
_GYEAR = re.compile(r"(\d{4})(?:Z|[+-]\d{2}:\d{2})?")


@dataclass
class CinCensusHeader:
    collection_year: int  # the census year used (see the module docstring)
    reference_date: pd.Timestamp  # 31 March of collection_year, used by every date rule
    lea: str | None
    reference_date_derived: bool = False  # the file's ReferenceDate is not the one used (absent, wrong, other year)
    collection: str | None = None
    source_level: str | None = None
    software_code: str | None = None
    release: str | None = None
    serial_no: str | None = None
    date_time: str | None = None
    year_from: str = "Year"  # where collection_year came from: "Year", "ReferenceDate" or "folder"


def empty_findings() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in HEADER_FINDING_DTYPES.items()})


def resolve_header(path: Path, schema: CinSchema, raw: dict, la_code: str | None,
                   expected_year: int | None) -> tuple[CinCensusHeader, pd.DataFrame]:
    """The header used for ``raw`` (the Header's texts and lines, {} if there is none) and its findings."""
    expected_year = int(expected_year) if expected_year is not None else None
    la_code = str(la_code) if la_code is not None else None
    where = f"line {raw['line']} (Header)" if raw else "Header"
    if not raw and expected_year is None:
        raise SourceFileError(path, "Message", "no Header: the collection year (Header/CollectionDetails/Year or "
                              "ReferenceDate) is needed to choose the year's code lists, and no folder year was given")
    if raw.get("collection") is not None and raw["collection"] != "CIN":
        raise SourceFileError(path, where, f"Collection is '{raw['collection'][:20]}', expected 'CIN'")
    year, ref = _header_year(raw.get("year")), _header_reference_date(raw.get("reference_date"))
    chosen, basis = _collection_year(path, where, schema, raw, year, ref, expected_year)
    reference_date = pd.Timestamp(year=chosen, month=3, day=31)
    because = ("the folder's year" if chosen == expected_year else
               {"Year": "the header's Year", "ReferenceDate": "the year of ReferenceDate"}[basis])
    used = f"the return was read as collection year {chosen} ({because}), reference date {reference_date.date()}"

    findings: list[tuple] = []

    def add(code: str, location: str, line, message: str) -> None:
        findings.append((code, *HEADER_RULES[code], location, line, message))

    _year_findings(raw, year, ref, chosen, basis, expected_year, used, add)
    lea = _header_lea(path, where, raw, la_code, add)
    header = CinCensusHeader(
        collection_year=chosen, reference_date=reference_date, lea=lea,
        reference_date_derived=ref is None or ref != reference_date,
        collection=raw.get("collection"), source_level=raw.get("source_level"),
        software_code=raw.get("software_code"), release=raw.get("release"), serial_no=raw.get("serial_no"),
        date_time=raw.get("date_time"), year_from=basis)
    if not findings:
        return header, empty_findings()
    frame = pd.DataFrame(findings, columns=list(HEADER_FINDING_COLUMNS))
    frame["source_line"] = frame["source_line"].astype("float").astype("Int64")
    return header, frame.astype(HEADER_FINDING_DTYPES)


def _header_year(text: str | None) -> int | None:
    """Header/CollectionDetails/Year as a number (an xs:gYear, e.g. 2024), None if absent or not one."""
    found = _GYEAR.fullmatch(text) if text is not None else None
    return int(found.group(1)) if found else None


def _header_reference_date(text: str | None) -> pd.Timestamp | None:
    """Header/CollectionDetails/ReferenceDate (yyyy-mm-dd, a time zone ignored), None if absent or not a date."""
    if text is None:
        return None
    text = re.sub(_TIMEZONE, "", text)
    parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce") if re.fullmatch(_DATE_SHAPE, text) else pd.NaT
    return None if pd.isna(parsed) else pd.Timestamp(parsed)


def _collection_year(path: Path, where: str, schema: CinSchema, raw: dict, year: int | None,
                     ref: pd.Timestamp | None, expected_year: int | None) -> tuple[int, str]:
    """(collection year, where it came from: 'Year', 'ReferenceDate' or 'folder'). The header's Year unless
    it disagrees with the folder and ReferenceDate agrees; refused when no year can be found or the schema
    does not describe it."""
    ref_year = ref.year if ref is not None else None
    if year is not None and expected_year in (None, year):
        chosen, basis = year, "Year"
    elif ref_year is not None and ref_year == expected_year:
        chosen, basis = ref_year, "ReferenceDate"
    elif year is not None:
        chosen, basis = year, "Year"
    elif ref_year is not None:
        chosen, basis = ref_year, "ReferenceDate"
    elif expected_year is not None:
        chosen, basis = expected_year, "folder"
    else:
        year_text, ref_text = raw.get("year"), raw.get("reference_date")
        if year_text is None and ref_text is None:
            problem = "no Year and no ReferenceDate in Header/CollectionDetails"
        else:
            problem = " and ".join((_year_problem(year_text), _reference_date_problem(ref_text)))
        raise SourceFileError(path, where, f"{problem}: the collection year is needed to choose the year's code "
                              "lists, and no folder year was given")
    if not schema.first_year <= chosen <= schema.last_year:
        raise SourceFileError(path, where, f"collection year {chosen} is outside the years the CIN schema describes "
                              f"({schema.first_year}-{schema.last_year}); add it to sources/schemas/cin_census.yaml")
    return chosen, basis


def _year_findings(raw: dict, year: int | None, ref: pd.Timestamp | None, chosen: int, basis: str,
                   expected_year: int | None, used: str, add) -> None:
    """CIN-100 (a missing, malformed or inconsistent Year or ReferenceDate) and NEG-02 (a header year other
    than the folder's) findings, each at the element concerned."""
    header_line, details_line = raw.get("line"), raw.get("collection_details_line")
    if not raw:
        add("CIN-100", "Header", None, f"the return has no Header (no Year, ReferenceDate or LEA); {used}")
        return
    if details_line is None:
        add("CIN-100", "Header/CollectionDetails", header_line,
            f"the Header has no CollectionDetails (no Year or ReferenceDate); {used}")
        return
    year_line = raw.get("year_line") or details_line
    ref_line = raw.get("reference_date_line") or details_line
    year_problem, ref_problem = _year_problem(raw.get("year")), _reference_date_problem(raw.get("reference_date"))
    if year_problem:
        add("CIN-100", YEAR_PATH, year_line, f"{year_problem}; {used}")
    if ref_problem:
        add("CIN-100", REFERENCE_DATE_PATH, ref_line, f"{ref_problem}; {used}")
    if year is not None and ref is not None and ref.year != year:
        # located at the element that was set aside
        location, line = (REFERENCE_DATE_PATH, ref_line) if basis == "Year" else (YEAR_PATH, year_line)
        add("CIN-100", location, line, f"Header Year {year} does not match ReferenceDate {ref.date()}; {used}")
    if ref is not None and (ref.month, ref.day) != (3, 31):
        add("CIN-100", REFERENCE_DATE_PATH, ref_line, f"Header ReferenceDate {ref.date()} is not 31 March; {used}")
    if expected_year is not None and chosen != expected_year:
        location, line = (YEAR_PATH, year_line) if basis == "Year" else (REFERENCE_DATE_PATH, ref_line)
        add("NEG-02", location, line, f"the Header gives collection year {chosen} but the file is in the folder "
            f"of collection year {expected_year}; {used}")


def _header_lea(path: Path, where: str, raw: dict, la_code: str | None, add) -> str | None:
    """The return's LA number: the header's LEA, refused when it is another authority's than the folder's;
    the folder's (with a NEG-01 finding) when the LEA is missing or not a 3-digit number."""
    lea = raw.get("lea")
    lea_valid = lea is not None and re.fullmatch(r"\d{3}", lea) is not None
    if lea_valid and la_code is not None and lea != la_code:
        raise SourceFileError(path, where, f"the Header's LEA is {lea} but the file was expected for LA {la_code}")
    if lea_valid:
        return lea
    taken = f"the folder's LA number {la_code} was used" if la_code is not None else "no LA number is recorded"
    line = raw.get("lea_line") or raw.get("source_element_line") or raw.get("line")
    said = "is missing" if lea is None else f"'{lea[:20]}' is not a 3-digit LA number"
    add("NEG-01", LEA_PATH, line, f"Header LEA {said}; {taken}")
    return la_code


def _year_problem(text: str | None) -> str | None:
    if text is None:
        return "Header Year is missing"
    if not _GYEAR.fullmatch(text):
        return f"Header Year '{text[:20]}' is not a year (YYYY)"
    return None


def _reference_date_problem(text: str | None) -> str | None:
    if text is None:
        return "Header ReferenceDate is missing"
    bare = re.sub(_TIMEZONE, "", text)
    if not re.fullmatch(_DATE_SHAPE, bare) or pd.isna(pd.to_datetime(bare, format="%Y-%m-%d", errors="coerce")):
        return f"Header ReferenceDate '{text[:20]}' is not a date (YYYY-MM-DD)"
    return None
