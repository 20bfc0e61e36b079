"""How one file is read, in a module worker processes can import cheaply.

Reading runs in spawned worker processes (:mod:`ingest.parallel`), which import
the function they run. Keeping it out of the Dagster asset modules saves each worker the
two seconds of importing Dagster.

:func:`read_file` never raises: whatever happens while one file is read (a reader's
``SourceFileError``, a bug, ``MemoryError``) becomes that file's refusal, so one file can
fail only its own source and period, never the process pool or the run.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

from ingest.files import FileLoad, load_file, refused_load, unexpected
from sources.registry import Source

from .quality_runs import with_rule_findings


def read_file(source: Source, incoming: Path, path: Path, period_end: date,
              problems: dict | None = None) -> FileLoad:
    """Read one file of ``source`` and, for sources with DfE-style rules, run them on its rows.

    ``problems``: {path: message} for files the incoming-folder scan already refused (a second
    file of a source for one period, a file in one of two folders of one LA number ...): such a
    file is not read; its load carries the message.
    """
    problem = (problems or {}).get(Path(path))
    if problem:
        return refused_load(source, incoming, path, period_end, problem)
    try:
        load = load_file(source, incoming, path, period_end)
        return with_rule_findings(load) if source.dfe_rules else load
    except MemoryError:
        return refused_load(source, incoming, path, period_end, "file: reading it needed more memory than this "
                            "machine has; expected an extract of the usual size (split it, or check it is the "
                            "right file)")
    except Exception as exc:  # noqa: BLE001 - one file's fault must stay that file's
        return refused_load(source, incoming, path, period_end, f"file: {unexpected(exc)}")
