"""The CIN census reader's split read (sources/cin_census_split.py) gives exactly the single read's result.

A return split at a ``</Child>`` boundary is read in two parts and joined: the tables, the rejects (with
their locations, child ordinals and line numbers), the header findings and the Child count must equal
those of reading it whole, wherever the cut falls. Checked at every ``</Child>`` of the hand-written
returns in ``tests/fixtures/cin/`` (BOM, CRLF, tabs, comments, no XML declaration, mixed content ...),
including ``cin_return_2026_split.xml``, written for this: windows-1252 with a non-ASCII character in a
Child, the root's start tag over two lines (the line offset must allow for it), ``<Children`` with its
``>`` on the next line, a comment and unexpected elements between Child elements, a repeated element,
a Child without LAchildID, a duplicate LAchildID across the cut, a bad date, dates out of order, an
element after Children. Most cases read the second part in this process (one after the other, same
code); one reads it in the spawned process, as a large file is read.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sources import cin_census_split
from sources.cin_census import _parse_split, read_cin_census
from sources.cin_census_schema import load_cin_schema
from sources.errors import SourceFileError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cin"
HAND_WRITTEN = {  # file -> (la_code, expected_year): the folder a real return would be in
    "cin_return_2018.xml": ("991", 2018), "cin_return_2021.xml": ("991", 2021),
    "cin_return_2022.xml": ("992", 2022), "cin_return_2024_year_2023.xml": ("991", 2024),
    "cin_return_2025_reference_28_march.xml": ("991", 2025), "cin_return_2026_split.xml": ("991", 2026),
    "cin_census_2019_rejects.xml": (None, None), "cin_census_2026_small.xml": (None, None),
}


def assert_same(split, single) -> None:
    assert split.children_read == single.children_read
    assert list(split.tables) == list(single.tables)
    for name in single.tables:
        pd.testing.assert_frame_equal(split.tables[name], single.tables[name], check_exact=True)
    pd.testing.assert_frame_equal(split.rejects, single.rejects, check_exact=True)
    pd.testing.assert_frame_equal(split.header_findings, single.header_findings, check_exact=True)
    assert split.header == single.header


def cuts(path: Path) -> list[float]:
    """One share per distinct cut: every </Child> of the file but the last."""
    shares, seen = [], set()
    for k in range(1, 200):
        plan = cin_census_split.plan_split(path, k / 200)
        if plan is not None and plan.cut not in seen:
            seen.add(plan.cut)
            shares.append(k / 200)
    return shares


@pytest.fixture
def second_part_here(monkeypatch):
    monkeypatch.setattr(cin_census_split, "SECOND_PART_SPAWNED", False)


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_split_read_equals_the_single_read_wherever_the_cut_falls(name, second_part_here, monkeypatch):
    path = FIXTURES / name
    la_code, year = HAND_WRITTEN[name]
    single = read_cin_census(path, la_code=la_code, expected_year=year, split=False)
    shares = cuts(path)
    assert len(shares) == single.children_read - 1  # a cut after every Child but the last
    for share in shares:
        monkeypatch.setattr(cin_census_split, "FIRST_SHARE", share)
        assert _parse_split(path, load_cin_schema()) is not None  # read in two parts, not by the fallback
        assert_same(read_cin_census(path, la_code=la_code, expected_year=year, split=True), single)


def test_the_written_return_has_its_quirks_where_the_cuts_cross_them():
    """What the equality above covers on cin_return_2026_split.xml (so a change to the file cannot empty it)."""
    r = read_cin_census(FIXTURES / "cin_return_2026_split.xml", la_code="991", expected_year=2026, split=False)
    ordinals = [None if pd.isna(o) else int(o) for o in r.rejects["child_ordinal"]]
    got = list(zip(r.rejects["rule"], r.rejects["location"], r.rejects["source_line"], ordinals))
    assert got == [
        ("unexpected_element", "Message/Footer", 136, None),
        ("repeated_element", "Child[1]/ChildIdentifiers/Sex", 27, 1),
        ("unknown_code", "Child[2]/ChildCharacteristics/Ethnicity", 51, 2),
        ("unexpected_element", "Children/CaseNote", 52, 3),
        ("child_unusable", "Child[3]/ChildIdentifiers/LAchildID", 53, 3),
        ("after_reference_date", "Child[4]/CINdetails[1]/ChildProtectionPlans[1]/Reviews/CPPreviewDate[1]", 91, 4),
        ("duplicate_child", "Child[5]", 96, 5),
        ("unexpected_element", "Child[5]/ChildIdentifiers/FavouriteColour", 101, 5),
        ("date_order", "Child[5]/CINdetails[1]/CINPlanDates[1]/CINPlanEndDate", 108, 5),
        ("invalid_date", "Child[5]/CINdetails[2]/CINreferralDate", 111, 5),
        ("unexpected_element", "Children/CaseNote", 134, 6),
    ]
    assert r.children_read == 6 and len(r.tables["cin_child"]) == 5


def test_elements_between_children_are_reported_once_each_in_file_order(tmp_path):
    """Two unknown elements between two Child elements: each one reject with its own line (the loop that
    clears the Child elements already read used to report the last of them once per sibling)."""
    small = (FIXTURES / "cin_census_2026_small.xml").read_text(encoding="utf-8")
    first_end = small.index("</Child>") + len("</Child>")
    path = tmp_path / "cin_extras.xml"
    path.write_text(small[:first_end] + "\n<Remark>a</Remark>\n<Memo>b</Memo>" + small[first_end:], encoding="utf-8")
    line = small[:first_end].count("\n") + 2
    r = read_cin_census(path, split=False)
    extras = r.rejects[r.rejects["rule"] == "unexpected_element"]
    assert list(zip(extras["location"], extras["source_line"], extras["child_ordinal"])) == [
        ("Children/Remark", line, 2), ("Children/Memo", line + 1, 2)]


def test_a_large_file_reads_its_second_part_in_another_process():
    path = FIXTURES / "cin_return_2026_split.xml"
    single = read_cin_census(path, la_code="991", expected_year=2026, split=False)
    assert _parse_split(path, load_cin_schema()) is not None  # the spawned process read its part
    assert_same(read_cin_census(path, la_code="991", expected_year=2026, split=True), single)


def test_files_that_cannot_be_split_safely_are_read_whole(tmp_path, second_part_here, monkeypatch):
    small = (FIXTURES / "cin_census_2026_small.xml").read_bytes()
    monkeypatch.setattr(cin_census_split, "FIRST_SHARE", 0.2)
    # a lone carriage return: lines would be counted otherwise than libxml2 does
    lone_cr = tmp_path / "lone_cr.xml"
    lone_cr.write_bytes(small.replace(b"\n", b"\r", 3))
    assert cin_census_split.plan_split(lone_cr) is None
    # UTF-16: "</Child>" is not those bytes
    utf16 = tmp_path / "utf16.xml"
    utf16.write_bytes(small.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"))
    assert cin_census_split.plan_split(utf16) is None
    assert_same(read_cin_census(utf16, split=True), read_cin_census(utf16, split=False))
    # a comment holding "</Child>" where the cut falls: the first part is not well-formed, so it is read whole
    first_end = small.index(b"</Child>")
    tricky = tmp_path / "comment.xml"
    tricky.write_bytes(small[:first_end] + b"<!-- closes at </Child> below -->" + small[first_end:])
    monkeypatch.setattr(cin_census_split, "FIRST_SHARE", 0.0)
    assert cin_census_split.plan_split(tricky) is not None
    assert _parse_split(tricky, load_cin_schema()) is None
    assert_same(read_cin_census(tricky, split=True), read_cin_census(tricky, split=False))


def test_a_broken_second_part_gives_the_single_reads_error(tmp_path, second_part_here, monkeypatch):
    small = (FIXTURES / "cin_census_2026_small.xml").read_bytes()
    broken = tmp_path / "broken.xml"
    last = small.rindex(b"</Child>")
    broken.write_bytes(small[:last] + b"<Oops>" + small[last:])
    monkeypatch.setattr(cin_census_split, "FIRST_SHARE", 0.0)
    with pytest.raises(SourceFileError) as whole:
        read_cin_census(broken, split=False)
    with pytest.raises(SourceFileError) as split:
        read_cin_census(broken, split=True)
    assert str(split.value) == str(whole.value)


def test_lines_past_65535_are_those_of_the_single_read(tmp_path, second_part_here, monkeypatch):
    """Past line 65,535 libxml2 approximates an element's line (from its first child's text); the second part
    starts on the cut's own line, so it gets the same approximations: checked with cuts before and after."""
    small = (FIXTURES / "cin_return_2026_split.xml").read_bytes()
    start, end = small.index(b"    <Child>"), small.index(b"    <CaseNote>closing")
    children = small[start:end]
    copies = 2 * 65_536 // children.count(b"\n") + 2
    path = tmp_path / "cin_long.xml"
    path.write_bytes(small[:start] + children * copies + small[end:])
    assert path.read_bytes().count(b"\n") > 131_072
    single = read_cin_census(path, la_code="991", expected_year=2026, split=False)
    lines = single.tables["cin_child"]["source_line"]
    assert (lines > 65_535).any() and (lines < 65_535).any()
    for share in (0.3, 0.55, 0.9):  # cuts before line 65,535, between, and past twice that
        monkeypatch.setattr(cin_census_split, "FIRST_SHARE", share)
        assert _parse_split(path, load_cin_schema()) is not None
        assert_same(read_cin_census(path, la_code="991", expected_year=2026, split=True), single)


def test_only_a_process_that_is_no_pool_worker_splits(monkeypatch):
    monkeypatch.delenv("NEGLECT_READ_WORKERS", raising=False)
    monkeypatch.setattr(cin_census_split.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert cin_census_split.may_split()  # pytest's own process, two CPUs
    monkeypatch.setenv("NEGLECT_READ_WORKERS", "1")
    assert not cin_census_split.may_split()
    monkeypatch.delenv("NEGLECT_READ_WORKERS")
    monkeypatch.setattr(cin_census_split.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert not cin_census_split.may_split()
    monkeypatch.setattr(cin_census_split.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(cin_census_split.multiprocessing, "parent_process", lambda: object())
    assert not cin_census_split.may_split()  # a worker of ingest.parallel's pool


def test_by_default_a_file_of_split_bytes_or_more_is_split(monkeypatch, second_part_here):
    from sources import cin_census

    path = FIXTURES / "cin_return_2026_split.xml"
    single = read_cin_census(path, la_code="991", expected_year=2026, split=False)
    calls = []
    monkeypatch.setattr(cin_census, "_parse_split", lambda *a: calls.append(a) or _parse_split(*a))
    monkeypatch.setattr(cin_census_split, "may_split", lambda: True)
    monkeypatch.setattr(cin_census, "may_split", lambda: True)
    monkeypatch.setattr(cin_census_split, "SPLIT_BYTES", path.stat().st_size + 1)
    assert_same(read_cin_census(path, la_code="991", expected_year=2026), single)
    assert not calls  # smaller than SPLIT_BYTES: read whole
    monkeypatch.setattr(cin_census_split, "SPLIT_BYTES", path.stat().st_size)
    assert_same(read_cin_census(path, la_code="991", expected_year=2026), single)
    assert len(calls) == 1


def test_this_process_reads_more_while_the_second_part_starts():
    """Half the bytes and half the head start more here; never more than three quarters."""
    assert cin_census_split.first_share(100_000_000) == pytest.approx(0.5 + 7_500_000 / 100_000_000)
    assert cin_census_split.first_share(32_000_000) < 0.75
    assert cin_census_split.first_share(1_000_000) == 0.75
    assert cin_census_split.first_share(10**12) == pytest.approx(0.5, abs=1e-4)


def test_a_header_the_folder_contradicts_is_the_whole_reads_error(second_part_here, monkeypatch):
    """A split read whose Header names another authority than the folder fails with the whole read's error."""
    path = FIXTURES / "cin_return_2026_split.xml"
    monkeypatch.setattr(cin_census_split, "FIRST_SHARE", 0.5)
    with pytest.raises(SourceFileError) as whole:
        read_cin_census(path, la_code="992", expected_year=2026, split=False)
    with pytest.raises(SourceFileError) as split:
        read_cin_census(path, la_code="992", expected_year=2026, split=True)
    assert str(split.value) == str(whole.value)
