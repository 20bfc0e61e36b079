"""How one file is read, in a module worker processes can import cheaply.

Reading runs in spawned worker processes (:mod:`pipelines.ingest.parallel`), which import
the function they run. Keeping it out of the Dagster asset modules saves each worker the
two seconds of importing Dagster.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

from sources.registry import Source

from ..quality_runs import with_rule_findings
from .files import FileLoad, load_file


def read_file(source: Source, incoming: Path, path: Path, period_end: date) -> FileLoad:
    """Read one file of ``source`` and, for sources with DfE-style rules, run them on its rows."""
    load = load_file(source, incoming, path, period_end)
    return with_rule_findings(load) if source.dfe_rules else load
