"""Errors raised by the extract readers."""
from __future__ import annotations

import re
from pathlib import Path

_PERIOD_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_AUTHORITY_FOLDER = re.compile(r"^\d{3}(_|$)")
REFERENCE_FOLDER = "reference"


def display_path(path: Path | str) -> str:
    """How a file is named to an analyst: its path relative to the incoming folder when that can be told.

    ``.../incoming/991_northbrook/2026-03-31/cin_census_2026.xml`` -> ``991_northbrook/2026-03-31/cin_census_2026.xml``;
    ``.../incoming/reference/population/population_mid_2024.csv`` -> ``reference/population/population_mid_2024.csv``;
    a file elsewhere (a test fixture, say) -> its base name. Worked out from the folder names alone
    (``<LA number>_<name>/<period end>/`` or ``reference/``), so readers need not know the incoming folder.
    """
    path = Path(path)
    parents = path.parents
    if len(parents) >= 2 and _PERIOD_FOLDER.match(path.parent.name) and _AUTHORITY_FOLDER.match(parents[1].name):
        return f"{parents[1].name}/{path.parent.name}/{path.name}"
    for parent in list(parents)[:3]:
        if parent.name == REFERENCE_FOLDER:
            return path.relative_to(parent.parent).as_posix()
    return path.name


class SourceFileError(Exception):
    """A whole file cannot be read: empty, not CSV, or missing a required column.

    ``path`` is the file, ``location`` where the problem is (e.g. "line 1 (header)")
    and ``problem`` what is wrong. The message names the file by its path relative to the
    incoming folder (:func:`display_path`) so it can be shown to an analyst as it is, e.g.
    ``reference/population/population_mid_2024.csv, line 1 (header): required column 'sex' not found; …``.

    Picklable (``__reduce__``): an error raised in a reader's worker process travels back to the
    pipeline intact instead of breaking the process pool.
    """

    def __init__(self, path: Path | str, location: str, problem: str):
        self.path = Path(path)
        self.location = location
        self.problem = problem
        super().__init__(f"{self.display}, {location}: {problem}")

    @property
    def display(self) -> str:
        """The file as named in the message (see :func:`display_path`)."""
        return display_path(self.path)

    def __reduce__(self):
        return (type(self), (self.path, self.location, self.problem))
