"""Session fixtures: the default synthetic partnership, generated once per test run."""
from __future__ import annotations

from pathlib import Path

import pytest

from sources.synthetic.config import GeneratorConfig
from sources.synthetic.generate import generate_partnership


@pytest.fixture(scope="session")
def partnership(tmp_path_factory) -> tuple[Path, dict]:
    """(folder, summary) of the default synthetic partnership (about 25 s to generate)."""
    out = tmp_path_factory.mktemp("partnership")
    summary = generate_partnership(GeneratorConfig(), out)
    return out, summary
