"""The tables an asset declares it reads (``@reusable(reads=...)``) are its input version: an asset left out of
date by a table it reads but did not declare would publish stale figures. So, on the session refresh of the
default partnership, every query each asset ran was logged by DuckDB (tests/refresh_helpers.py) and:

* every table an asset names and does not write itself is among its declared reads;
* it never declares a table it writes (its version would change with every build of its own);
* every table it reads is written by an asset upstream of it in the Dagster graph, so a run builds it first
  (``quality.load_audit`` excepted: every source asset writes its own rows, reference sources too; the marts use
  the extract sources' rows, written upstream, and a reference file's row can only make them rebuild once more);
* no mart, check or dashboard reads the load audit's file-identity columns, which the declared-reads version
  leaves out (pipelines.assets.freshness.FILE_IDENTITY).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines.assets.freshness import FILE_IDENTITY, tables_read
from pipelines.definitions import build_definitions

ROOT = Path(__file__).resolve().parents[1]


def _declaring_assets(settings) -> dict:
    """Asset name (as pipelines.assets.reuse names it) -> (AssetsDefinition, declared reads), for every asset whose
    input version is the tables it reads."""
    graph_assets = build_definitions(settings).resolve_asset_graph().assets_defs
    found = {}
    for assets_def in graph_assets:
        fn = getattr(getattr(assets_def.op, "compute_fn", None), "decorated_fn", None)
        reads = getattr(fn, "declared_reads", ())
        if reads:
            found["+".join(sorted(k.to_user_string() for k in assets_def.keys))] = (assets_def, reads)
    return found


@pytest.fixture(scope="module")
def declaring(ingested):
    return _declaring_assets(ingested.settings)


def test_the_marts_and_the_board_pack_declare_what_they_read(declaring):
    names = set(declaring)
    assert {"marts/child_neglect_evidence", "marts/child_neglect_tier", "marts/neglect_prevalence",
            "marts/hidden_prevalence", "marts/commissioning_view", "marts/gcp2_progress"} <= names
    assert any(name.startswith("dashboards/board_report") for name in names)


def test_every_table_an_asset_reads_is_declared_and_none_it_writes(ingested, warehouse, declaring):
    missing, own = {}, {}
    for name, (_, reads) in declaring.items():
        logged = ingested.tables_named[name]
        declared = set(tables_read(warehouse, reads)[0])
        undeclared = logged["named"] - logged["written"] - declared
        if undeclared:
            missing[name] = sorted(undeclared)
        if declared & logged["written"]:
            own[name] = sorted(declared & logged["written"])
    assert not missing, f"read but not declared in @reusable(reads=...): {missing}"
    assert not own, f"declared as read but written by the asset itself: {own}"


def test_every_table_read_is_written_upstream(ingested, declaring):
    graph = build_definitions(ingested.settings).resolve_asset_graph()
    writers: dict[str, set[str]] = {}
    for name, logged in ingested.tables_named.items():
        for table in logged["written"]:
            writers.setdefault(table, set()).add(name)
    late = {}
    for name, (assets_def, _) in declaring.items():
        upstream = {k.to_user_string() for key in assets_def.keys for k in graph.get_ancestor_asset_keys(key)}
        logged = ingested.tables_named[name]
        for table in logged["named"] - logged["written"] - {"quality.load_audit"}:
            for writer in writers.get(table, set()):  # a multi-asset (keys joined by +) runs as one step
                if writer != "(outside an asset)" and not set(writer.split("+")) & upstream:
                    late.setdefault(name, []).append(f"{table} (written by {writer})")
    assert not late, f"reads a table no dependency builds before it: {late}"


def test_no_figure_reads_the_load_audit_file_identity_columns():
    column = re.compile(r"\b(" + "|".join(FILE_IDENTITY) + r")\b")
    readers = [p for folder in ("models", "dashboards", "checks") for p in sorted((ROOT / folder).rglob("*"))
               if p.suffix in (".py", ".sql") and column.search(p.read_text(encoding="utf-8"))]
    assert readers == []
