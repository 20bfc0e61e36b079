"""Errors raised by the extract readers."""
from __future__ import annotations

from pathlib import Path


class SourceFileError(Exception):
    """A whole file cannot be read: empty, not CSV, or missing a required column.

    ``path`` is the file, ``location`` where the problem is (e.g. "line 1 (header)")
    and ``problem`` what is wrong. The message names the file by its base name so it
    can be shown to an analyst as it is, e.g.
    ``population_mid_2024.csv, line 1 (header): required column 'sex' not found; expected a header matching ^sex$``.
    """

    def __init__(self, path: Path | str, location: str, problem: str):
        self.path = Path(path)
        self.location = location
        self.problem = problem
        super().__init__(f"{self.path.name}, {location}: {problem}")
