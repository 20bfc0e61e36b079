"""Imports point down the layers of docs/architecture.md: pipelines -> dashboards -> models -> checks ->
sources (an import inside a function counts too). The known exceptions are listed by name, so a new one
fails here and a removed one (issue 16) must be taken off the list."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# each package and the packages of ours it may import (besides itself)
MAY_IMPORT = {
    "pipelines": {"dashboards", "models", "checks", "sources"},
    "dashboards": {"models", "checks", "sources"},
    "models": {"checks", "sources"},
    "checks": {"sources"},
    "sources": set(),
}
# (importing module, imported package.module prefix): the loader library still lives in pipelines/ (issue 16)
KNOWN_EXCEPTIONS = {
    ("checks.ingest", "pipelines.ingest"),
    ("dashboards.disclosure", "pipelines.settings"),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _violations() -> set[tuple[str, str]]:
    out = set()
    for package, allowed in MAY_IMPORT.items():
        for path in sorted((REPO / package).rglob("*.py")):
            module = ".".join(path.relative_to(REPO).with_suffix("").parts)
            for imported in _imports(path):
                top = imported.split(".")[0]
                if top in MAY_IMPORT and top != package and top not in allowed:
                    out.add((module, imported))
    return out


def test_imports_point_down_the_layers():
    unexpected = {(m, i) for m, i in _violations()
                  if not any(m == em and i.startswith(ei) for em, ei in KNOWN_EXCEPTIONS)}
    assert not unexpected, sorted(unexpected)


def test_every_listed_exception_still_exists():
    found = _violations()
    for module, prefix in KNOWN_EXCEPTIONS:
        assert any(m == module and i.startswith(prefix) for m, i in found), (module, prefix, "fixed: remove it")
