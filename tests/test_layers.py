"""Imports point down the layers of docs/architecture.md: pipelines -> dashboards -> models -> checks ->
ingest -> sources (an import inside a function counts too). Since issue 16 moved the loader out of
pipelines/ into ingest/ there are no exceptions."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# each package and the packages of ours it may import (besides itself)
MAY_IMPORT = {
    "pipelines": {"dashboards", "models", "checks", "ingest", "sources"},
    "dashboards": {"models", "checks", "ingest", "sources"},
    "models": {"checks", "ingest", "sources"},
    "checks": {"ingest", "sources"},
    "ingest": {"sources"},
    "sources": set(),
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


def _violations(repo: Path = REPO) -> set[tuple[str, str]]:
    out = set()
    for package, allowed in MAY_IMPORT.items():
        for path in sorted((repo / package).rglob("*.py")):
            module = ".".join(path.relative_to(repo).with_suffix("").parts)
            for imported in _imports(path):
                top = imported.split(".")[0]
                if top in MAY_IMPORT and top != package and top not in allowed:
                    out.add((module, imported))
    return out


def test_imports_point_down_the_layers():
    assert not _violations(), sorted(_violations())


def test_an_upward_import_inside_a_function_is_found(tmp_path: Path):
    (tmp_path / "ingest").mkdir()
    (tmp_path / "ingest" / "late.py").write_text("def f():\n    from pipelines.settings import load_settings\n")
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "fine.py").write_text("from ingest.files import FileLoad\nimport sources.registry\n")
    assert _violations(tmp_path) == {("ingest.late", "pipelines.settings")}


# modules a maintainer can hold in their head (issue 16): the generator and the benchmarks are exempt
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def _sized_modules(repo: Path = REPO):
    for package in MAY_IMPORT:
        for path in sorted((repo / package).rglob("*.py")):
            if "synthetic" not in path.relative_to(repo).parts:
                yield path


def test_no_module_over_500_lines_and_no_function_over_80():
    long_modules, long_functions = [], []
    for path in _sized_modules():
        text = path.read_text(encoding="utf-8")
        name = str(path.relative_to(REPO))
        if len(text.splitlines()) > MAX_MODULE_LINES:
            long_modules.append(name)
        for node in ast.walk(ast.parse(text, filename=name)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append(f"{name}:{node.lineno} {node.name} ({length} lines)")
    assert long_modules == [] and long_functions == []
