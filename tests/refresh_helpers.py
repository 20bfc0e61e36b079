"""Helpers for tests that refresh a partnership again: copy a refreshed project's state, re-run the jobs
(or only what follows the extracts) in it, and compare two states table by table and file by file."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
from dagster import AssetKey, AssetSelection, DagsterInstance, Definitions, define_asset_job

from pipelines.event_log import instance_overrides
from pipelines.definitions import build_definitions
from pipelines.resources import IdentityStoreResource, WarehouseResource
from pipelines.partitions import census_partition_key, partition_key_for_quarter_end
from pipelines.runs import PlannedRun, execute_range, run_plan
from pipelines.settings import Settings

# everything that follows the extracts: quality summary, linkage, marts, board packs (not the scoring of the
# linkage against the synthetic truth, which no figure uses); or only the marts and board packs
DOWNSTREAM = "after_the_extracts"
DOWNSTREAM_GROUPS = ("quality", "linkage", "marts", "dashboards")
MARTS_GROUPS = ("marts", "dashboards")
LINKAGE_EVALUATION_KEY = AssetKey(["quality", "linkage_evaluation"])


def project_settings(folder: Path, project: Path, incoming: Path | None = None, **overrides) -> Settings:
    """Settings of a test project in ``project`` (warehouse, identity store, key, outputs and Dagster state all
    under it) reading the partnership generated in ``folder`` (its ``incoming/`` unless ``incoming``)."""
    return Settings(project_root=project, synthetic_dir=folder, incoming_dir=incoming or folder / "incoming",
                    warehouse_path=project / "warehouse" / "neglect.duckdb",
                    identity_path=project / "warehouse" / "identity.duckdb",
                    pseudonym_key_path=project / "secrets" / "pseudonym.key", output_dir=project / "output",
                    dagster_home=project, **overrides)


def run_everything(settings: Settings, today: date, skip: tuple[str, ...] = ()) -> dict:
    """`neglect run`'s plan for ``settings`` (every job over its range, as of ``today``) in a new Dagster instance
    under the project, leaving out the jobs in ``skip``; job name -> its ExecuteInProcessResult."""
    dagster_dir = settings.dagster_home / ".dagster"
    dagster_dir.mkdir(parents=True, exist_ok=True)
    defs = build_definitions(settings)
    results = {}
    with DagsterInstance.local_temp(str(dagster_dir), overrides=instance_overrides(str(dagster_dir))) as instance:
        for planned in run_plan(settings.incoming_dir, today):
            if planned.job_name not in skip:
                results[planned.job_name] = execute_range(defs, instance, planned)
    return results


def copy_state(settings: Settings, project: Path, incoming: Path | None = None, packs: bool = True) -> Settings:
    """A new project in ``project`` starting from ``settings``' state: warehouse, identity store,
    pseudonym key and output folder copied (without the board packs unless ``packs``; the Data Docs
    the reports link to are kept). Dagster's run history is not copied: no asset reads it.
    ``incoming``: another incoming folder (default: the same one)."""
    project.mkdir(parents=True, exist_ok=True)
    new = replace(settings, project_root=project, incoming_dir=incoming or settings.incoming_dir,
                  warehouse_path=project / "warehouse" / "neglect.duckdb",
                  identity_path=project / "warehouse" / "identity.duckdb",
                  pseudonym_key_path=project / "secrets" / "pseudonym.key", output_dir=project / "output",
                  dagster_home=project, clerical_review_dir=project / "warehouse" / "clerical_review")
    for source, target in ((settings.warehouse_path, new.warehouse_path), (settings.identity_path, new.identity_path),
                           (settings.pseudonym_key_path, new.pseudonym_key_path)):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    if settings.output_dir.exists():
        shutil.copytree(settings.output_dir, new.output_dir,
                        ignore=None if packs else shutil.ignore_patterns("dashboards"))
    return new


def linked_incoming(source: Path, target: Path, replaced: dict[str, Path] | None = None,
                    left_out: tuple[str, ...] = ()) -> Path:
    """An incoming folder of hard links to ``source``'s files (copies across file systems), except
    ``replaced`` (relative path -> file to copy in its place) and the period folders named in
    ``left_out`` (e.g. ``2026-03-31``). Not symbolic links: the readers resolve a file's path and then
    name it relative to the incoming folder."""
    replaced = replaced or {}
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if path.is_dir() or any(part in left_out for part in rel.parts):
            continue
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if rel.as_posix() in replaced:
            shutil.copyfile(replaced[rel.as_posix()], out)
        else:
            try:
                os.link(path, out)
            except OSError:
                shutil.copyfile(path, out)
    return target


def refresh(settings: Settings, quarters: tuple[date, date], census_years: tuple[int, int] | None = None,
            downstream: tuple[str, ...] | None = None) -> dict:
    """Run the refresh jobs in ``settings``' project: the CIN census for ``census_years`` (first, last), then
    ``quarterly_refresh`` and ``board_report`` over ``quarters`` (first, last quarter end), or, given ``downstream`` (asset
    groups, e.g. :data:`DOWNSTREAM_GROUPS`), only those groups as the job ``DOWNSTREAM``. Returns job name
    -> result."""
    defs = build_definitions(settings)
    if downstream:
        selection = AssetSelection.groups(*downstream) - AssetSelection.assets(LINKAGE_EVALUATION_KEY)
        if "quality" not in downstream:  # the quality summary still follows the extracts
            selection = selection | AssetSelection.assets(AssetKey(["quality", "summary"]))
        defs = Definitions.merge(defs, Definitions(jobs=[define_asset_job(DOWNSTREAM, selection=selection)]))
    plan = []
    if census_years:
        plan.append(PlannedRun("cin_census_refresh", census_partition_key(census_years[0]),
                               census_partition_key(census_years[1]), "census"))
    plan.append(PlannedRun(DOWNSTREAM if downstream else "quarterly_refresh",
                           partition_key_for_quarter_end(quarters[0]), partition_key_for_quarter_end(quarters[1]),
                           "quarters"))
    if not downstream:  # the board packs are their own job (neglect run builds the latest quarter's): every quarter
        plan.append(PlannedRun("board_report", partition_key_for_quarter_end(quarters[0]),
                               partition_key_for_quarter_end(quarters[1]), "quarters"))
    storage = settings.dagster_home / ".dagster"
    storage.mkdir(parents=True, exist_ok=True)
    results = {}
    with DagsterInstance.local_temp(str(storage), overrides=instance_overrides(str(storage))) as instance:
        for planned in plan:
            results[planned.job_name] = execute_range(defs, instance, planned)
    return results


def step_failures(result) -> dict[str, str]:
    out = {}
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            data = event.step_failure_data
            out[event.step_key] = data.user_failure_data.description if data.user_failure_data else data.error.message
    return out


def materialisation_metadata(result, asset: str) -> dict:
    """The metadata of the last materialisation of ``asset`` (e.g. ``dashboards/board_report``) in a run."""
    found = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        if materialization.asset_key.to_user_string() == asset:
            found = {k: v.value for k, v in materialization.metadata.items()}
    return found


def table_differences(a: Path, b: Path, skip: tuple[str, ...] = (), ordered: tuple[str, ...] = ("marts",),
                      only: tuple[str, ...] | None = None) -> dict:
    """Tables of warehouse ``a`` whose rows differ in warehouse ``b``, with what differs: compared as
    multisets of rows (a sum of row hashes), and for the schemas in ``ordered`` also in the order a plain
    ``SELECT *`` returns them, i.e. by row id (a sum of hashes of position and row: the marts are written
    in a fixed order; staging tables are not). ``skip``: "schema.table"; ``only``: schemas or "schema.table" names
    to compare (default: every table)."""
    conn = duckdb.connect()
    conn.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
    conn.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
    differences = {}
    tables = conn.execute("SELECT database_name, schema_name, table_name FROM duckdb_tables() "
                          "WHERE database_name IN ('a', 'b') ORDER BY ALL").fetchall()
    for schema, table in sorted({(s, t) for _, s, t in tables}):
        name = f"{schema}.{table}"
        if name in skip or (only is not None and schema not in only and name not in only):
            continue
        present = {d for d, s, t in tables if (s, t) == (schema, table)}
        if present != {"a", "b"}:
            differences[name] = f"only in {sorted(present)}"
            continue
        prints = [conn.execute(f"SELECT count(*), sum(hash(t))::HUGEINT, sum(hash(position, t))::HUGEINT FROM "
                               f"(SELECT t, row_number() OVER (ORDER BY rowid) AS position FROM {db}.{name} t)"
                               ).fetchall()[0] for db in ("a", "b")]
        if prints[0][:2] != prints[1][:2]:
            only_a = conn.execute(f"SELECT count(*) FROM (SELECT * FROM a.{name} EXCEPT ALL "
                                  f"SELECT * FROM b.{name})").fetchall()[0][0]
            differences[name] = f"{prints[0][0]} and {prints[1][0]} rows, {only_a} only in the first"
        elif schema in ordered and prints[0][2] != prints[1][2]:
            differences[name] = "same rows in another order"
    conn.close()
    return differences


NOT_EXPORTS = ("screenshot.png",)  # written next to a report by the browser test, not by the pipeline


def file_digests(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` the pipeline wrote (relative path -> digest)."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name not in NOT_EXPORTS}


def file_differences(a: Path, b: Path) -> list[str]:
    """Files under ``a`` and ``b`` that are missing from one or differ byte for byte."""
    da, db = file_digests(a), file_digests(b)
    return sorted(k for k in set(da) | set(db) if da.get(k) != db.get(k))


# the input-version query of pipelines.assets.freshness.tables_digest, which is not the asset's own reading
VERSION_QUERY = "sum(hash(t))"
# schema-qualified warehouse tables named in a query (cache.* is each asset's own memory, not an input)
TABLE = r"\b(?:raw|quality|staging|marts|linkage|published)\.[a-z_][a-z0-9_]*\b"
# a statement that writes the table it names first (CREATE TABLE IF NOT EXISTS, ALTER ... ADD COLUMN IF NOT EXISTS and
# COMMENT ON, which make sure a table is there as the asset expects it, change no row)
WRITE = re.compile(r"^\s*(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:TABLE|VIEW)\s+(?!IF\s+NOT\s+EXISTS)|INSERT\s+INTO\s+|"
                   r"DELETE\s+FROM\s+|DROP\s+(?:TABLE|VIEW)\s+(?:IF\s+EXISTS\s+)?|UPDATE\s+)(" + TABLE + ")",
                   re.IGNORECASE)
COMMENT_ON = re.compile(r"^\s*COMMENT\s+ON\b", re.IGNORECASE)
SQL_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/|'[^']*'", re.DOTALL)  # and string literals (file names)


def tables_in_query(query: str) -> tuple[set[str], set[str]]:
    """(tables ``query`` names, tables it writes; a script statement by statement): comments and string literals
    left out; a ``COMMENT ON`` names nothing."""
    named, written = set(), set()
    for text in SQL_COMMENT.sub("''", query).split(";"):
        if VERSION_QUERY in text or COMMENT_ON.match(text):
            continue
        named |= {t.lower() for t in re.findall(TABLE, text, re.IGNORECASE)}
        target = WRITE.match(text)
        written |= {target.group(1).lower()} if target else set()
    return named, written


@contextmanager
def tables_named_by_asset(found: dict[str, dict[str, set[str]]]):
    """While inside, every query an asset runs on the warehouse is logged by DuckDB (its ``QueryLog``), and the
    schema-qualified tables it names, and those it writes, are added to ``found[asset]["named"]`` and
    ``["written"]`` (asset keys as ``schema/name``, several joined with ``+`` as :mod:`pipelines.assets.reuse`
    names them). The identity store is not logged."""
    from dagster import AssetExecutionContext

    original = WarehouseResource.get_connection

    @contextmanager
    def logged(self):
        with original(self) as conn:
            if isinstance(self, IdentityStoreResource):
                yield conn
                return
            conn.execute("CALL truncate_duckdb_logs()")
            conn.execute("CALL enable_logging('QueryLog')")
            try:
                yield conn
            finally:
                try:
                    context = AssetExecutionContext.get()
                    name = "+".join(sorted(k.to_user_string() for k in context.assets_def.keys))
                except Exception:  # noqa: BLE001 - a connection opened outside an asset's step
                    name = "(outside an asset)"
                queries = conn.execute("SELECT message FROM duckdb_logs WHERE type = 'QueryLog'").fetchall()
                conn.execute("CALL disable_logging()")
                conn.execute("CALL truncate_duckdb_logs()")
                entry = found.setdefault(name, {"named": set(), "written": set()})
                for (query,) in queries:
                    named, written = tables_in_query(query)
                    entry["named"] |= named
                    entry["written"] |= written

    WarehouseResource.get_connection = logged
    try:
        yield found
    finally:
        WarehouseResource.get_connection = original
