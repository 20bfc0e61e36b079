"""Who owns the warehouse assets, which table each one is, and its column schema.

* Owners: every asset of the code location belongs to :data:`OWNER` (the partnership's analysts).
* ``dagster/table_name``: an asset keyed ``<schema>/<name>`` whose warehouse table is ``<schema>.<name>``
  (``marts.neglect_prevalence``, ``linkage.person_links``, ``raw.cp_list`` ...). A source asset that writes
  several tables (the CIN census: ``raw.cin_child``, ``raw.cin_episode`` ...) gets none: its description
  lists them.
* ``dagster/column_schema``: generated from the one source of column meanings,
  ``models/marts/columns.yaml``, which does not list the columns of each table (a shared entry serves every
  table with that column). So the schema is attached at materialisation, not in the definition: after the
  build, the table's columns, DuckDB types and comments (written from the YAML by
  :func:`models.marts.comments.apply_comments`) are read from the warehouse (:func:`column_schema_metadata`).
  A table the YAML has no entry for (raw and linkage tables) is left without a schema rather than given
  an invented one.

Per-partition metadata (:func:`quarterly_metadata`): a quarterly asset is run over a range of quarters as ONE
Dagster run (single-run backfill policy), and Dagster records that run's one ``MaterializeResult`` as a
materialisation of *every* partition in the range, each with the same metadata. So the metadata of a
quarterly asset says which quarters the figures cover (``quarters: 2023-06-30..2026-03-31``) and the rows
written for them (``rows_written``); ``dagster/partition_row_count`` only when the run is for one quarter (then
it is that partition's); ``dagster/row_count`` is the whole table after the run (every quarter), a true
statement whichever partition it is read on.
"""
from __future__ import annotations

from dagster import AssetSpec, TableColumn, TableSchema

from models.marts.comments import column_comments, load_columns

from ..partitions import quarters_label

OWNER = "team:partnership-analysts"
WAREHOUSE_SCHEMAS = ("raw", "linkage", "marts", "quality")


def table_name(spec: AssetSpec, multi_table: set[str]) -> str | None:
    """The warehouse table of ``spec`` (``schema.name``), or None (not a warehouse asset, or one that writes
    several tables: ``multi_table`` names those assets' keys as ``schema/name``)."""
    path = spec.key.path
    if len(path) != 2 or path[0] not in WAREHOUSE_SCHEMAS or "/".join(path) in multi_table:
        return None
    return f"{path[0]}.{path[1]}"


def with_owner_and_table(spec: AssetSpec, multi_table: set[str]) -> AssetSpec:
    """``spec`` with the owner and, for a warehouse table, ``dagster/table_name`` (definition metadata)."""
    owners = sorted({*spec.owners, OWNER})
    table = table_name(spec, multi_table)
    metadata = {**spec.metadata, "dagster/table_name": table} if table else spec.metadata
    return spec.replace_attributes(owners=owners, metadata=metadata)


def column_schema(conn, table: str) -> TableSchema | None:
    """The columns of ``table`` (``schema.name``) as a Dagster ``TableSchema``: name, DuckDB type and the
    column's comment (meaning and unit, from ``models/marts/columns.yaml``); None when the YAML has no entry
    for the table or the table does not exist."""
    if table not in load_columns()["tables"]:
        return None
    schema, name = table.split(".", 1)
    frame = column_comments(conn, (schema,))
    frame = frame[frame["table"] == name]
    if frame.empty:
        return None
    return TableSchema(columns=[TableColumn(name=r.column, type=str(r.type),
                                            description=None if r.comment is None else str(r.comment))
                                for r in frame.itertuples()])


def column_schema_metadata(conn, table: str) -> dict:
    """``{"dagster/column_schema": ...}`` for a materialisation of ``table``, or {} (see :func:`column_schema`)."""
    found = column_schema(conn, table)
    return {"dagster/column_schema": found} if found else {}


def quarterly_metadata(partition_keys, conn, table: str, rows_written: int) -> dict:
    """Metadata of a quarterly asset's materialisation over ``partition_keys`` (see module docstring):
    quarters covered, rows written for them, the table's rows, and its column schema."""
    keys = list(partition_keys)
    metadata = {"quarters": quarters_label(keys), "rows_written": int(rows_written),
                "dagster/row_count": conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]}
    if len(keys) == 1:
        metadata["dagster/partition_row_count"] = int(rows_written)
    return {**metadata, **column_schema_metadata(conn, table)}
