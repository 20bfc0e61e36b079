"""Dagster conventions (issue 19): owners, table names, column schemas from models/marts/columns.yaml,
metadata that says which quarters it covers, and run tags naming the quarter the data end at."""
from __future__ import annotations

from datetime import date

import duckdb
from dagster import AssetKey, TableSchema

from models.marts.comments import apply_comments
from pipelines.assets.tables import OWNER, column_schema, quarterly_metadata
from pipelines.definitions import defs
from pipelines.partitions import quarters_label
from pipelines.runs import PlannedRun, data_end

GRAPH = defs.resolve_asset_graph()


def test_every_asset_has_the_owner_and_warehouse_assets_their_table():
    for key in GRAPH.get_all_asset_keys():
        assert OWNER in GRAPH.get(key).owners, key
    table = lambda *path: GRAPH.get(AssetKey(list(path))).metadata.get("dagster/table_name")  # noqa: E731
    assert table("marts", "neglect_prevalence") == "marts.neglect_prevalence"
    assert table("linkage", "person_links") == "linkage.person_links"
    assert table("raw", "cp_list") == "raw.cp_list"
    assert table("raw", "cin_census") is None  # writes nine raw.cin_* tables: its description lists them
    assert table("dashboards", "board_report") is None


def test_column_schema_comes_from_the_yaml_through_the_warehouse():
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts; CREATE SCHEMA raw")
    conn.execute("CREATE TABLE marts.neglect_prevalence (period_end DATE, children BIGINT, rate_per_10k DOUBLE)")
    conn.execute("CREATE TABLE raw.cp_list (x INTEGER)")
    apply_comments(conn, ("marts",))
    schema = column_schema(conn, "marts.neglect_prevalence")
    assert isinstance(schema, TableSchema)
    assert [(c.name, c.type) for c in schema.columns] == [("period_end", "DATE"), ("children", "BIGINT"),
                                                          ("rate_per_10k", "DOUBLE")]
    assert all(c.description for c in schema.columns) and "[unit: children]" in schema.columns[1].description
    assert column_schema(conn, "raw.cp_list") is None  # no entry in columns.yaml: no invented schema


def test_quarterly_metadata_names_the_quarters_it_covers():
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts; CREATE TABLE marts.neglect_prevalence AS SELECT range AS n FROM range(7)")
    many = quarterly_metadata(["2023-04-01", "2023-07-01", "2026-01-01"], conn, "marts.neglect_prevalence", 5)
    assert many["quarters"] == "2023-06-30..2026-03-31" and many["rows_written"] == 5
    assert many["dagster/row_count"] == 7 and "dagster/partition_row_count" not in many
    one = quarterly_metadata(["2026-01-01"], conn, "marts.neglect_prevalence", 3)
    assert one["quarters"] == "2026-03-31" and one["dagster/partition_row_count"] == 3
    assert quarters_label([]) == ""


def test_run_tag_is_the_quarter_the_runs_data_end_at():
    assert data_end(PlannedRun("quarterly_refresh", "2021-01-01", "2026-01-01", "")) == date(2026, 3, 31)
    assert data_end(PlannedRun("board_report", "2025-10-01", "2025-10-01", "")) == date(2025, 12, 31)
    # the census run ends at the reference date of its last collection year, not at the latest quarter
    assert data_end(PlannedRun("cin_census_refresh", "2020-04-01", "2024-04-01", "")) == date(2025, 3, 31)
