"""sources/synthetic/edits.py: the benchmark's and the incremental test's edits change one field of one row of the
right file, and never the file an incoming folder of hard links points to."""
from __future__ import annotations

import os

import pytest

from sources.synthetic.edits import change_team, drop_neglect_need

HEADER = "EH ID,Episode ID,LA Child ID,Presenting Needs,Lead Practitioner Team\r\n"
ROWS = ["EH1,E1,C1,21,Team North\r\n", "EH2,E2,C2,16A,Team South\r\n", "EH3,E3,C3,20; 16A,Team South\r\n",
        "EH4,E4,C4,16A; 21,Team East\r\n"]


def _incoming(tmp_path):
    """An original file, an incoming folder whose latest early-help file is a hard link to it, and an older
    period's file and the second authority's (neither to be touched)."""
    original = tmp_path / "original.csv"
    original.write_bytes((HEADER + "".join(ROWS)).encode())
    incoming = tmp_path / "incoming"
    for folder in ("991_a/2025-12-31", "991_a/2026-03-31", "992_b/2026-03-31"):
        (incoming / folder).mkdir(parents=True)
    os.link(original, incoming / "991_a/2026-03-31/early_help_episodes.csv")
    (incoming / "991_a/2025-12-31/early_help_episodes.csv").write_bytes(original.read_bytes())
    (incoming / "992_b/2026-03-31/early_help_episodes.csv").write_bytes(original.read_bytes())
    return original, incoming


def _others_unchanged(original, incoming, before: bytes) -> None:
    assert original.read_bytes() == before
    assert (incoming / "991_a/2025-12-31/early_help_episodes.csv").read_bytes() == before
    assert (incoming / "992_b/2026-03-31/early_help_episodes.csv").read_bytes() == before


def test_change_team_changes_the_first_rows_last_character_only(tmp_path):
    original, incoming = _incoming(tmp_path)
    before = original.read_bytes()
    path = change_team(incoming)
    assert path == incoming / "991_a/2026-03-31/early_help_episodes.csv"
    assert path.read_bytes() == (HEADER + "EH1,E1,C1,21,Team Nort1\r\n" + "".join(ROWS[1:])).encode()
    _others_unchanged(original, incoming, before)


def test_drop_neglect_need_takes_16a_from_the_first_row_listing_it_with_another_need(tmp_path):
    original, incoming = _incoming(tmp_path)
    before = original.read_bytes()
    path = drop_neglect_need(incoming)
    # row 2 lists 16A alone (dropping it would leave no need): row 3 is the first with another need
    expected = HEADER + ROWS[0] + ROWS[1] + "EH3,E3,C3,20,Team South\r\n" + ROWS[3]
    assert path.read_bytes() == expected.encode()
    _others_unchanged(original, incoming, before)


def test_a_folder_without_a_row_to_change_says_so(tmp_path):
    incoming = tmp_path / "incoming" / "991_a" / "2026-03-31"
    incoming.mkdir(parents=True)
    (incoming / "early_help_episodes.csv").write_text(HEADER + ROWS[0], encoding="utf-8")
    with pytest.raises(ValueError, match="no row lists the neglect need"):
        drop_neglect_need(tmp_path / "incoming")
    with pytest.raises(FileNotFoundError, match="no early-help CSV"):
        change_team(tmp_path / "empty")
