"""Finding the processes a test started, by a marker in their environment (Linux /proc)."""
from __future__ import annotations

from pathlib import Path


def processes_with(marker: str) -> list[int]:
    """Process ids whose environment contains ``marker`` (e.g. a unique value the test put in an env var)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found
