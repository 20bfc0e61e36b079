"""The code location loads; job, schedule and quarterly partitions are as documented."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from dagster import AssetKey, DagsterInstance, Definitions, build_schedule_context

from pipelines.definitions import defs
from pipelines.partitions import (FIRST_COLLECTION_YEAR, census_partition_key, census_reference_date,
                                  census_year_partitions, collection_year, last_quarter_end_before,
                                  partition_key_for_quarter_end, quarter_end, quarterly_partitions)
from sources.cin_census import load_cin_schema

quarterly_refresh_schedule = defs.resolve_schedule_def("quarterly_refresh_schedule")


EXTRACTS = ["raw/cp_list", "raw/early_help", "raw/person_list", "raw/adult_episodes", "raw/adult_household_children"]


def test_definitions_load():
    Definitions.validate_loadable(defs)
    job = defs.resolve_job_def("quarterly_refresh")
    assert "raw__ons_population" in job.graph.node_dict
    assert "board_pack" not in job.graph.node_dict and "board_pack" in defs.resolve_job_def("board_report").graph.node_dict
    assert set(defs.resolve_job_def("cin_census_refresh").graph.node_dict) == {"raw__cin_census"}
    assert defs.resolve_schedule_def("quarterly_refresh_schedule").job_name == "quarterly_refresh"
    checks: dict[str, set[str]] = {}
    for key in defs.resolve_asset_graph().asset_check_keys:
        checks.setdefault(key.asset_key.to_user_string(), set()).add(key.name)
    assert checks["raw/ons_population"] == {"population_denominators_complete", "population_denominators_plausible",
                                            "population_denominators_stable"}
    for optional in ("raw/postcode_lookup", "raw/deprivation", "raw/ward_boundaries"):
        assert checks[optional] == {"files_readable"}  # an unreadable optional reference file fails only this
    assert "raw/la_codes" not in checks  # required: an unreadable file stops the run
    for asset in EXTRACTS + ["raw/cin_census"]:
        expected = {"structure", "files_readable", "reject_rate", "expectations"}
        if asset in ("raw/cp_list", "raw/cin_census"):
            expected.add("dfe_rules")
        assert checks[asset] == expected, asset


def test_extracts_are_quarterly_and_the_census_yearly():
    graph = defs.resolve_asset_graph()
    for asset in EXTRACTS:
        node = graph.get(AssetKey.from_user_string(asset))
        assert node.partitions_def == quarterly_partitions, asset
    assert graph.get(AssetKey.from_user_string("raw/cin_census")).partitions_def == census_year_partitions
    assert census_reference_date("2025-04-01") == date(2026, 3, 31)
    assert census_partition_key(2026) == "2025-04-01"
    keys = census_year_partitions.get_partition_keys(current_time=datetime(2026, 11, 23, tzinfo=ZoneInfo("UTC")))
    assert keys[0] == "2016-04-01" and keys[-1] == "2025-04-01"  # collection years 2017 ... 2026
    assert len(keys) == 10
    assert FIRST_COLLECTION_YEAR == load_cin_schema().first_year  # the partitions start with the readers' years


def test_warehouse_writers_share_the_pool_and_the_completeness_check_blocks():
    asset = defs.resolve_assets_def(AssetKey(["raw", "ons_population"]))
    assert asset.op.pool == "duckdb_warehouse"
    graph = defs.resolve_asset_graph()
    complete = next(k for k in graph.asset_check_keys if k.name == "population_denominators_complete")
    assert graph.get_check_spec(complete).blocking
    for check in defs.asset_checks:
        assert check.op.pool == "duckdb_warehouse"  # checks open the warehouse too
    for asset in EXTRACTS + ["raw/cin_census"]:
        assets_def = defs.resolve_assets_def(AssetKey.from_user_string(asset))
        assert assets_def.op.pool == "duckdb_warehouse"
        structure = next(k for k in graph.asset_check_keys
                         if k.name == "structure" and k.asset_key.to_user_string() == asset)
        assert graph.get_check_spec(structure).blocking


def test_quarterly_partitions():
    keys = quarterly_partitions.get_partition_keys(current_time=datetime(2025, 1, 15, tzinfo=ZoneInfo("UTC")))
    assert keys[0] == "2016-04-01"  # the first quarter of collection year 2017
    assert keys[-3:] == ["2024-04-01", "2024-07-01", "2024-10-01"]  # only quarters that have ended
    assert len(keys) == 35
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


def test_the_schedule_runs_at_six_on_the_15th_after_each_quarter_for_the_quarter_just_ended():
    """A year of ticks as Dagster computes them from the schedule (London time, across the clock changes):
    06:00 on 15 January, April, July and October, each requesting the quarter that ended before it."""
    from itertools import islice

    from dagster._utils.schedules import schedule_execution_time_iterator

    london = ZoneInfo("Europe/London")
    assert quarterly_refresh_schedule.default_status.value == "STOPPED"
    ticks = list(islice(schedule_execution_time_iterator(
        datetime(2025, 1, 1, tzinfo=london).timestamp(), quarterly_refresh_schedule.cron_schedule,
        quarterly_refresh_schedule.execution_timezone), 4))
    assert [t.astimezone(london).replace(tzinfo=None) for t in ticks] == [
        datetime(2025, 1, 15, 6), datetime(2025, 4, 15, 6), datetime(2025, 7, 15, 6), datetime(2025, 10, 15, 6)]
    requested = []
    with DagsterInstance.ephemeral(settings={"telemetry": {"enabled": False}}) as instance:
        for tick in ticks:
            context = build_schedule_context(instance=instance, repository_def=defs.get_repository_def(),
                                             scheduled_execution_time=tick)
            request = quarterly_refresh_schedule.evaluate_tick(context).run_requests[0]
            requested.append((request.tags["neglect/quarter_end"], request.partition_key))
    assert requested == [("2024-12-31", "2024-10-01"), ("2025-03-31", "2025-01-01"),
                         ("2025-06-30", "2025-04-01"), ("2025-09-30", "2025-07-01")]


def test_every_launched_run_executes_its_steps_in_its_own_process():
    """UI, schedule and sensor runs (and the UI's "Materialize selected") run their steps one after the other in
    the run's process, as `neglect run` does: a process per step cost 368 s for an unchanged refresh, against 14."""
    jobs = [defs.resolve_job_def(name) for name in ("cin_census_refresh", "quarterly_refresh", "board_report")]
    jobs.append(defs.resolve_implicit_global_asset_job_def())
    for job in jobs:
        assert job.executor_def.name == "in_process", job.name
