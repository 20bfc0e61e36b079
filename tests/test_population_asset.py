"""Materialise population_denominators into a temporary warehouse and run its checks."""
from __future__ import annotations

import duckdb
from dagster import materialize

from pipelines.assets.population import population_denominators
from pipelines.checks import population_checks
from pipelines.resources import IncomingExtracts, RefreshState, WarehouseResource
from population_fixtures import WARDS, population_lines, write_population


def _run(tmp_path, incoming):
    warehouse = tmp_path / "warehouse" / "neglect.duckdb"
    result = materialize(
        [population_denominators, *population_checks],
        resources={"warehouse": WarehouseResource(database=str(warehouse)),
                   "extracts": IncomingExtracts(incoming_dir=str(incoming)), "refresh": RefreshState()},
        raise_on_error=False,
    )
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    return result, checks, warehouse


def test_complete_files_load_and_pass_the_blocking_check(tmp_path):
    folder = tmp_path / "incoming" / "reference" / "population"
    write_population(folder, 2023)
    write_population(folder, 2024, population_lines(2024, count=lambda w, s, a: 11 + a))
    result, checks, warehouse = _run(tmp_path, tmp_path / "incoming")

    assert result.success
    assert checks["population_denominators_complete"].passed
    assert checks["population_denominators_stable"].passed  # totals change by about 5 %
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM raw.ons_population").fetchone()[0] == 2 * len(WARDS) * 36
        assert conn.execute("SELECT count(*) FROM quality.rejects").fetchone()[0] == 0
    meta = result.asset_materializations_for_node("raw__ons_population")[0].metadata
    assert meta["dagster/row_count"].value == 2 * len(WARDS) * 36
    assert meta["mid_years"].value == [2023, 2024]


def test_unchanged_files_are_not_read_again_and_a_changed_one_is(tmp_path):
    """@reusable with the files' version: a second run reports the first's build; a changed file is read."""
    folder = tmp_path / "incoming" / "reference" / "population"
    write_population(folder, 2024)
    first, _, warehouse = _run(tmp_path, tmp_path / "incoming")
    again, checks, _ = _run(tmp_path, tmp_path / "incoming")
    meta = again.asset_materializations_for_node("raw__ons_population")[0].metadata
    assert first.success and again.success and meta["recomputed"].value is False
    assert meta["dagster/row_count"].value == len(WARDS) * 36 and checks["population_denominators_complete"].passed

    write_population(folder, 2024, population_lines(2024, count=lambda w, s, a: 11 + a))
    changed, _, _ = _run(tmp_path, tmp_path / "incoming")
    assert changed.asset_materializations_for_node("raw__ons_population")[0].metadata["recomputed"].value is True
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert conn.execute("SELECT min(population) FROM raw.ons_population").fetchall()[0][0] == 11
    (tmp_path / "warehouse" / "neglect.duckdb").unlink()  # a new warehouse: read again, whatever the files
    fresh, _, _ = _run(tmp_path, tmp_path / "incoming")
    assert fresh.asset_materializations_for_node("raw__ons_population")[0].metadata["recomputed"].value is True


def test_missing_age_row_fails_the_blocking_check(tmp_path):
    folder = tmp_path / "incoming" / "reference" / "population"
    lines = population_lines(2024)
    del lines[10]  # one (ward, sex, age) cell missing
    write_population(folder, 2024, lines)
    result, checks, _ = _run(tmp_path, tmp_path / "incoming")

    complete = checks["population_denominators_complete"]
    assert not complete.passed
    assert complete.severity.value == "ERROR"
    assert complete.metadata["incomplete_ward_years"].value == 1
    assert complete.metadata["missing_cells"].value == 1
    assert complete.metadata["failing_rows"].value == 35  # the incomplete ward-year's remaining rows
    assert not result.success  # blocking: the run fails


def test_rejected_row_fails_the_blocking_check_and_is_recorded(tmp_path):
    folder = tmp_path / "incoming" / "reference" / "population"
    lines = population_lines(2024)
    lines[2] = lines[2].replace(",1,1,", ",9,1,")  # sex 9 on line 3
    write_population(folder, 2024, lines)
    result, checks, warehouse = _run(tmp_path, tmp_path / "incoming")

    complete = checks["population_denominators_complete"]
    assert not complete.passed
    assert complete.metadata["rejected_rows"].value == 1
    assert "the first: reference/population/population_mid_2024.csv, line 3: sex '9' is not one of 1, 2" in complete.description
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        rejects = conn.execute("SELECT source, file, location, field, rule FROM quality.rejects").fetchall()
    assert rejects == [("ons_population", "reference/population/population_mid_2024.csv", "line 3", "sex", "allowed")]


def test_large_change_between_mid_years_is_a_warning_only(tmp_path):
    folder = tmp_path / "incoming" / "reference" / "population"
    write_population(folder, 2023)
    write_population(folder, 2024, population_lines(2024, count=lambda w, s, a: 2 * (10 + a)))
    result, checks, _ = _run(tmp_path, tmp_path / "incoming")

    stable = checks["population_denominators_stable"]
    assert not stable.passed and stable.severity.value == "WARN"
    assert stable.metadata["changes_of_10_percent_or_more"].value == 2  # both authorities doubled
    assert checks["population_denominators_complete"].passed
    assert result.success  # a warning does not fail the run


def test_unreadable_file_fails_the_run_with_the_readers_message(tmp_path):
    folder = tmp_path / "incoming" / "reference" / "population"
    lines = population_lines(2024)
    lines[0] = lines[0].replace(",age,", ",age_years_x,")
    write_population(folder, 2024, lines)
    result, _, _ = _run(tmp_path, tmp_path / "incoming")

    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert failure.step_failure_data.user_failure_data.description == (
        "reference/population/population_mid_2024.csv, line 1 (header): required column 'age' not found; "
        "expected a header matching ^age$")
