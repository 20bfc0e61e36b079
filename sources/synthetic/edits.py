"""Two small edits of a generated partnership's incoming folder, as a case-management system's corrected
re-export would make them: what the refresh benchmark (`bench/refresh_run.py`) times and the incremental-refresh
test (`tests/test_incremental_refresh.py`) checks against a full refresh.

Both edit the latest quarter's early-help CSV of the first authority (in path order) and write it as a new file,
so an incoming folder of hard links to another folder's files (the benchmark's and the tests') changes only here:

* :func:`change_team` changes one character of the first data row's last field, the lead practitioner team. No
  figure reads it: a change that stops at the early-help file and the evidence mart.
* :func:`drop_neglect_need` drops the neglect need (CIN factor code ``16A``) from the first data row that has
  one: a change that reaches the evidence and so the tiers, the marts and the board pack.
"""
from __future__ import annotations

from pathlib import Path

NEGLECT_NEED = "16A"  # the early-help needs field lists codes separated by "; "


def latest_early_help_file(incoming: Path) -> Path:
    """The first authority's early-help CSV of the latest period in ``incoming``."""
    files = sorted(incoming.glob("*/*/early_help*.csv"))
    if not files:
        raise FileNotFoundError(f"no early-help CSV under {incoming}")
    latest = max(p.parent.name for p in files)
    return [p for p in files if p.parent.name == latest][0]


def _lines(path: Path) -> list[str]:
    """The file's lines with their own line endings (CRLF stays CRLF)."""
    with open(path, encoding="utf-8", newline="") as fh:
        return fh.read().splitlines(keepends=True)


def _rewrite(path: Path, lines: list[str]) -> None:
    path.unlink()  # perhaps a hard link: write a new file rather than change the original's content
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("".join(lines))


def change_team(incoming: Path) -> Path:
    """Change the last character of the first data row (its lead practitioner team) to ``1`` (``2`` if it is
    ``1``); returns the file's path."""
    path = latest_early_help_file(incoming)
    lines = _lines(path)
    row = lines[1].rstrip("\r\n")
    lines[1] = row[:-1] + ("1" if row[-1] != "1" else "2") + lines[1][len(row):]
    _rewrite(path, lines)
    return path


def drop_neglect_need(incoming: Path) -> Path:
    """Drop the neglect need from the first data row that lists it with another need; returns the file's path."""
    path = latest_early_help_file(incoming)
    lines = _lines(path)
    with_others = (f"; {NEGLECT_NEED}", f"{NEGLECT_NEED}; ")
    at = next((i for i, line in enumerate(lines[1:], 1) if any(part in line for part in with_others)), None)
    if at is None:
        raise ValueError(f"{path}: no row lists the neglect need {NEGLECT_NEED} with another need")
    part = next(part for part in with_others if part in lines[at])
    lines[at] = lines[at].replace(part, "", 1)
    _rewrite(path, lines)
    return path
