"""The bad-file corpus (tests/fixtures/bad_files/, listed in its README): each file fed to its reader.

A file that cannot be read at all must raise ``SourceFileError`` whose text names the file, the
position and what was expected, in the reader's own words (never only a parser's message or a
traceback). A file that can be read must account for every data line: each is either kept or
rejected, so ``rows_read == len(rows) + number of distinct rejected lines``.

Several defects are already tested on other files by test_tabular_readers.py and
test_cin_census_reader.py; those tests here are short and name the existing test. The corpus
keeps the files anyway so that pipeline-level tests can drop them into an incoming folder.
"""
from __future__ import annotations

import traceback
from pathlib import Path

import pandas as pd
import pytest
from lxml import etree

from sources import cin_census
from sources.adult_services import read_adult_episodes
from sources.cin_census import read_cin_census
from sources.cp_list import read_cp_list
from sources.early_help import read_early_help
from sources.errors import SourceFileError
from sources.person_list import read_person_list

CORPUS = Path(__file__).resolve().parent / "fixtures" / "bad_files"
INCOMING = CORPUS / "incoming"
ENTITY_MARKER = "ENTITY-TARGET-7f3a9c"  # first words of entity_target.txt


def refused(reader, rel: str) -> SourceFileError:
    """The SourceFileError ``reader`` raises for the corpus file ``rel``, after the checks every refusal needs."""
    path = INCOMING / rel
    with pytest.raises(SourceFileError) as info:
        reader(path)
    err = info.value
    assert err.path == path
    assert str(err) == f"{rel}, {err.location}: {err.problem}"  # named relative to the incoming folder
    # The parser's own exception is not chained on (a log would show its traceback as the cause).
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)
    assert "Traceback" not in str(err) and "XMLSyntaxError" not in str(err) and "ParserError" not in str(err)
    return err


def loaded(reader, rel: str):
    """The TableRead for the corpus file ``rel``, after checking every data line is accounted for."""
    return accounted(reader(INCOMING / rel))


def accounted(result):
    """Every data line is either kept or rejected, never both, and none is lost."""
    kept = set(result.rows["source_line"])
    rejected = set(result.rejects["source_line"])
    assert result.rows_read == len(result.rows) + len(rejected) == len(result.rows) + result.rejected_lines
    assert not kept & rejected
    assert kept | rejected == set(range(2, result.rows_read + 2))  # header is line 1, no blank lines
    return result


def reject_triples(result) -> list[tuple[int, str, str]]:
    return sorted(zip(result.rejects["source_line"], result.rejects["field"], result.rejects["rule"]))


def file_line(rel: str, number: int) -> str:
    return (INCOMING / rel).read_text(encoding="utf-8").splitlines()[number - 1]


# ============================================================================ CIN census XML
# All five kinds are also tested on tests/fixtures/cin/ by test_cin_census_reader.py
# (test_bad_files_raise_a_clear_error_naming_file_and_position); these files differ in the detail
# (a bare '&' rather than a tag mismatch, a cut inside an element name, an entity aimed at a file
# whose text is known, a whole SSDA903-style file).

NOT_WELL_FORMED = "991_northbrook/2026-03-31/cin_census_2026.xml"
TRUNCATED = "992_eastmere/2026-03-31/cin_census_2026.xml"
EXTERNAL_ENTITY = "991_northbrook/2025-03-31/cin_census_2025.xml"
WRONG_ROOT = "992_eastmere/2025-03-31/cin_census_2025.xml"
EMPTY_XML = "991_northbrook/2024-03-31/cin_census_2024.xml"


@pytest.mark.parametrize("rel, location, problem", [
    (NOT_WELL_FORMED, "line 14, column 28", "not well-formed XML: "),
    (TRUNCATED, "line 53, column 31",
     "the file is truncated: it ends inside Children after 1 complete Child element"),
    (EXTERNAL_ENTITY, "line 2",
     "DOCTYPE declarations are not allowed (external entities could read local files); remove the DOCTYPE"),
    (WRONG_ROOT, "line 4, column 1", "the root element is <Return>, expected <Message>"),
    (EMPTY_XML, "line 1", "the file is empty"),
])
def test_unreadable_cin_files_are_refused_naming_file_position_and_expectation(rel, location, problem):
    err = refused(read_cin_census, rel)
    assert err.location == location
    assert err.problem.startswith(problem), err.problem  # the reader's words come first


def test_cin_error_positions_point_at_the_defect():
    """The reported lines are where the defect is in each file, not somewhere near it."""
    assert "Smith & Jones" in file_line(NOT_WELL_FORMED, 14)
    lines = (INCOMING / TRUNCATED).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 53 and lines[-1].endswith("<InitialCategoryOfAb") and len(lines[-1]) + 1 == 31
    assert file_line(EXTERNAL_ENTITY, 2).startswith("<!DOCTYPE Message [")
    assert file_line(WRONG_ROOT, 4) == "<Return>"
    assert (INCOMING / EMPTY_XML).stat().st_size == 0


def test_truncated_cin_file_gives_the_reader_words_not_only_the_parser_message():
    problem = refused(read_cin_census, TRUNCATED).problem
    reader_part, _, parser_part = problem.partition(" (")
    assert reader_part == "the file is truncated: it ends inside Children after 1 complete Child element"
    assert parser_part.startswith("Couldn't find end of Start Tag InitialCategoryOfAb")


def test_not_well_formed_cin_message_says_what_was_expected():
    problem = refused(read_cin_census, NOT_WELL_FORMED).problem
    assert "xmlParse" not in problem
    assert "&amp;" in problem


def test_external_entity_is_refused_without_being_resolved(monkeypatch):
    """Also tested on tests/fixtures/cin/external_entity.xml (test_external_entity_is_refused_before_parsing).

    Here the entity points at a file in the corpus whose text is known, so the check that it was not
    read is exact; the control shows a parser that resolves entities really would read it.
    """
    secret = (CORPUS / "entity_target.txt").read_text(encoding="utf-8")
    assert secret.startswith(ENTITY_MARKER)
    unsafe = etree.parse(str(INCOMING / EXTERNAL_ENTITY),
                         etree.XMLParser(resolve_entities=True, load_dtd=True, no_network=True))
    assert unsafe.findtext(".//LAchildID").startswith(ENTITY_MARKER)

    def no_parsing(*args, **kwargs):
        raise AssertionError("the file reached the XML parser")

    monkeypatch.setattr(cin_census.etree, "iterparse", no_parsing)
    err = refused(read_cin_census, EXTERNAL_ENTITY)
    everything = "".join(traceback.format_exception(err)) + repr(vars(err))
    assert ENTITY_MARKER not in everything and "must never be read" not in everything


# ============================================================================ tabular extracts

MISSING_COLUMN = "992_eastmere/2025-06-30/adult_mental_health_episodes.csv"
EMPTY_CSV = "991_northbrook/2025-09-30/early_help_episodes.csv"
HEADER_ONLY = "991_northbrook/2025-12-31/csc_person_list.csv"
CP1252 = "992_eastmere/2025-12-31/early_help_episodes.csv"
DUPLICATES = "992_eastmere/2025-09-30/csc_person_list.csv"
UNKNOWN_CODES = "992_eastmere/2025-12-31/annex_a_list_7_child_protection.csv"
FUTURE_DATE = "991_northbrook/2026-03-31/adult_substance_misuse_episodes.csv"
IMPOSSIBLE_DATES = "991_northbrook/2025-09-30/csc_person_list.csv"
MONTH_FIRST = "991_northbrook/2025-06-30/early_help_episodes.csv"
XLSX_MISSING_COLUMN = "991_northbrook/2025-12-31/annex_a_list_7_child_protection.xlsx"
TRAILING_COMMAS = "992_eastmere/2026-03-31/csc_person_list.csv"


def test_missing_required_column_is_refused():
    """Same rule as test_tabular_readers.py::test_missing_required_column (CP list), here for adult episodes."""
    err = refused(read_adult_episodes, MISSING_COLUMN)
    assert err.location == "line 1 (header)"
    assert err.problem.startswith("required column 'Episode Start Date' not found; expected a header like "
                                  "'Episode Start Date'")


def test_empty_csv_is_refused():
    """Same rule as test_tabular_readers.py::test_empty_file (CP list), here for early help."""
    assert (INCOMING / EMPTY_CSV).stat().st_size == 0
    err = refused(read_early_help, EMPTY_CSV)
    assert (err.location, err.problem) == ("line 1", "the file is empty")


def test_header_only_csv_loads_no_rows_with_every_column():
    """As test_tabular_readers.py::test_header_only_file_has_no_rows (CP list); here the columns are checked too."""
    r = loaded(read_person_list, HEADER_ONLY)
    assert (r.rows_read, len(r.rows), len(r.rejects), r.encoding) == (0, 0, 0, "utf-8-sig")
    assert list(r.rows.columns) == [
        "authority", "la_child_id", "nhs_number", "upn", "forename", "surname", "date_of_birth", "gender",
        "postcode", "address_start_date", "address_end_date", "source_file", "source_line", "extract_date"]


def test_cp1252_free_text_loads_and_decodes():
    raw = (INCOMING / CP1252).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert b"\xa3" in raw and b"\xe9" in raw and b"\x96" in raw  # £, é and an en dash in cp1252
    r = loaded(read_early_help, CP1252)
    assert r.encoding == "cp1252" and r.rows_read == 3 and r.rejects.empty
    assert list(r.rows["end_reason"].fillna("-")) == [
        "Outcomes achieved – £150 hardship grant paid", "-", "Stepped down to universal services (£0 cost)"]
    assert list(r.rows["lead_practitioner_team"]) == [
        "Eastmere Family Help – Café Hub", "Eastmere Family Help – Café Hub", "Eastmere Family Help South"]
    assert list(r.rows["forename"]) == ["Renée", "Joël", "Zoé"]


def test_later_copies_of_a_row_are_rejected_as_duplicates():
    """test_tabular_readers.py::test_future_date_duplicate_and_order has one pair; here a third copy,
    a copy padded with spaces and a near-copy that must be kept."""
    r = loaded(read_person_list, DUPLICATES)
    assert reject_triples(r) == [(3, "", "duplicate_row"), (5, "", "duplicate_row"), (6, "", "duplicate_row")]
    assert set(r.rejects["message"]) == {"exact copy of an earlier row"}
    assert list(r.rows["source_line"]) == [2, 4, 7]
    assert list(r.rows["la_child_id"]) == ["EX900020", "EX900021", "EX900020"]
    assert pd.isna(r.rows["address_end_date"].iloc[0])
    assert r.rows["address_end_date"].iloc[2] == pd.Timestamp("2025-06-30")


def test_unknown_codes_reject_the_row_without_quoting_identifiers():
    """test_tabular_readers.py::test_category_variants rejects one unknown initial category; here latest
    category and gender too, and the messages are checked for identifiers."""
    r = loaded(read_cp_list, UNKNOWN_CODES)
    assert reject_triples(r) == [(3, "initial_category", "invalid_code"), (4, "latest_category", "invalid_code"),
                                 (5, "gender", "invalid_code")]
    assert list(r.rejects["message"]) == [
        "initial_category 'Domestic abuse' is not in the code map category_of_abuse.csv",
        # a word alone that is not a word of the list is not quoted: it could be a name (sources/quoting.py)
        "latest_category is not in the code map category_of_abuse.csv (value not shown: not shaped like a code of "
        "that list)",
        "gender '2' is not in the code map gender.csv"]
    assert list(r.rows["source_line"]) == [2] and list(r.rows["initial_category"]) == ["NEG"]
    text = " ".join(r.rejects["message"]) + " ".join(r.rejects["field"])
    for identifier in ("EX90003", "23/10/2012", "04/03/2018", "19/01/2011", "Prothero", "Wrenfield"):
        assert identifier not in text


def test_start_date_after_the_extract_date_is_rejected():
    """test_tabular_readers.py::test_future_date_duplicate_and_order covers the CP list; here adult episodes,
    with the extract date taken from the quarter-end folder."""
    r = loaded(read_adult_episodes, FUTURE_DATE)
    assert reject_triples(r) == [(3, "episode_start_date", "future_date")]
    assert list(r.rejects["message"]) == ["episode_start_date is after the extract date 2026-03-31"]
    assert list(r.rows["source_line"]) == [2, 4]
    assert set(r.rows["extract_date"]) == {pd.Timestamp("2026-03-31")}
    # only the start may not be after the extract date (adult_services_episodes.yaml): a planned end is kept
    assert r.rows.set_index("source_line").loc[4, "episode_end_date"] == pd.Timestamp("2026-06-30")


def test_dates_that_do_not_exist_are_rejected():
    """test_tabular_readers.py::test_future_date_duplicate_and_order has 31/02/2025 in the CP list; here
    29 February of a common year and a date of birth, whose value must not be shown."""
    r = loaded(read_person_list, IMPOSSIBLE_DATES)
    assert reject_triples(r) == [(3, "address_start_date", "invalid_date"), (4, "address_end_date", "invalid_date"),
                                 (5, "date_of_birth", "invalid_date")]
    assert list(r.rejects["message"]) == [  # dates are never quoted: only code-shaped values of coded columns are
        "address_start_date is not a valid date (expected dd/mm/yyyy or yyyy-mm-dd)",
        "address_end_date is not a valid date (expected dd/mm/yyyy or yyyy-mm-dd)",
        "date_of_birth is not a valid date (expected dd/mm/yyyy or yyyy-mm-dd) (value not shown: identifier)"]
    assert list(r.rows["source_line"]) == [2]


def test_month_first_dates_refuse_the_file():
    """Same rule as test_tabular_readers.py::test_iso_and_uk_dates_and_month_first_refused (household children).

    tabular.parse_dates refuses the whole file rather than guess: a slashed date column whose middle part is
    above 12 somewhere and whose first part never is. The first such column in schema order is named.
    """
    assert "04/23/2025" in file_line(MONTH_FIRST, 2)
    err = refused(read_early_help, MONTH_FIRST)
    assert err.location == "column 'episode_start_date'"
    assert err.problem == ("dates look month-first (mm/dd/yyyy: a middle part above 12 and no first part above 12); "
                           "expected day-first dd/mm/yyyy or yyyy-mm-dd")


def test_xlsx_without_a_required_column_is_refused():
    from openpyxl import load_workbook

    wb = load_workbook(INCOMING / XLSX_MISSING_COLUMN, read_only=True)
    header = next(wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    assert "Child Unique ID" not in header and "Child Protection Plan Start Date" in header and len(header) == 16
    err = refused(read_cp_list, XLSX_MISSING_COLUMN)
    assert err.location == "sheet 'List 7', row 1 (header)"  # a workbook: the message says which sheet was read
    assert err.problem.startswith("required column 'Child Unique ID' not found; expected a header like "
                                  "'Child Unique ID' or 'LA Child ID' or 'Child ID'")


def test_trailing_comma_on_every_row_keeps_values_under_their_headers():
    """Every data row ends with an extra, blank field. pandas used to take the first column as the row index,
    moving every value one column left (fixed in sources.csv_text): the blank extra field
    is dropped and each value stays under its own header."""
    assert all(line.endswith(",,") for line in (INCOMING / TRAILING_COMMAS).read_text().splitlines()[1:])
    r = loaded(read_person_list, TRAILING_COMMAS)
    assert r.rejects.empty and list(r.rows["source_line"]) == [2, 3]
    assert list(r.rows["la_child_id"]) == ["EX900040", "EX900041"]
    assert list(r.rows["nhs_number"]) == ["9991234578", "9991234586"]
    assert list(r.rows["postcode"]) == ["QE8 9ZZ", "QE9 9ZZ"]
    assert list(r.rows["address_start_date"]) == [pd.Timestamp("2022-09-12"), pd.Timestamp("2019-05-01")]
    assert r.rows["address_end_date"].isna().all()
