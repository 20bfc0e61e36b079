"""The code location loads; job, schedule and quarterly partitions are as documented."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from dagster import DagsterInstance, Definitions, build_schedule_context

from pipelines.definitions import defs
from pipelines.partitions import (collection_year, last_quarter_end_before, partition_key_for_quarter_end,
                                  quarter_end, quarterly_partitions)
from pipelines.schedules import quarterly_refresh_schedule


def test_definitions_load():
    Definitions.validate_loadable(defs)
    job = defs.resolve_job_def("quarterly_refresh")
    assert "population_denominators" in job.graph.node_dict
    check_names = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert check_names == {"population_denominators_complete", "population_denominators_stable"}
    assert defs.resolve_schedule_def("quarterly_refresh_schedule").job_name == "quarterly_refresh"


def test_warehouse_writers_share_the_pool_and_the_completeness_check_blocks():
    asset = defs.resolve_assets_def("population_denominators")
    assert asset.op.pool == "duckdb_warehouse"
    graph = defs.resolve_asset_graph()
    complete = next(k for k in graph.asset_check_keys if k.name == "population_denominators_complete")
    assert graph.get_check_spec(complete).blocking
    for check in defs.asset_checks:
        assert check.op.pool == "duckdb_warehouse"  # checks open the warehouse too


def test_quarterly_partitions():
    keys = quarterly_partitions.get_partition_keys(current_time=datetime(2025, 1, 15, tzinfo=ZoneInfo("UTC")))
    assert keys[0] == "2023-04-01"
    assert keys == ["2023-04-01", "2023-07-01", "2023-10-01", "2024-01-01", "2024-04-01", "2024-07-01",
                    "2024-10-01"]  # only quarters that have ended
    assert quarter_end("2023-04-01") == date(2023, 6, 30)
    ends = [quarter_end(k) for k in keys]
    assert [(d.month, d.day) for d in ends[:4]] == [(6, 30), (9, 30), (12, 31), (3, 31)]
    assert all((d.month, d.day) in {(6, 30), (9, 30), (12, 31), (3, 31)} for d in ends)
    assert all(partition_key_for_quarter_end(quarter_end(k)) == k for k in keys)


def test_collection_year_and_quarter_just_ended():
    assert collection_year(date(2023, 6, 30)) == 2024
    assert collection_year(date(2024, 3, 31)) == 2024
    assert last_quarter_end_before(date(2025, 1, 15)) == date(2024, 12, 31)
    assert last_quarter_end_before(date(2025, 4, 15)) == date(2025, 3, 31)


def test_schedule_requests_the_quarter_that_has_just_ended():
    assert quarterly_refresh_schedule.cron_schedule == "0 6 15 1,4,7,10 *"
    assert quarterly_refresh_schedule.default_status.value == "STOPPED"
    with DagsterInstance.ephemeral() as instance:
        context = build_schedule_context(instance=instance,
                                         scheduled_execution_time=datetime(2025, 7, 15, 6, tzinfo=ZoneInfo("Europe/London")))
        request = quarterly_refresh_schedule.evaluate_tick(context).run_requests[0]
    assert request.tags["neglect/quarter_end"] == "2025-06-30"
