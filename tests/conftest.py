"""Session fixtures (the default synthetic partnership, generated once per test run, and its refresh) and the
``unit`` marker.

``unit``: a test that needs no pipeline run (no Dagster job, no ``neglect run``), no generated partnership and no
browser - readers on hand-written files, rules, estimators, disclosure control on small tables. Given here to
every test that is not ``slow``, uses none of :data:`HEAVY_FIXTURES` (directly or through another fixture) and
is not listed in :data:`NOT_UNIT`; ``pytest -m unit`` is the quick loop (README, Tests).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from sources.synthetic.config import GeneratorConfig
from sources.synthetic.generate import generate_partnership

# fixtures that generate a partnership or run the pipeline: a test using one (even through another fixture) is not unit
HEAVY_FIXTURES = frozenset({
    "partnership", "ingested",  # below: the default partnership and its refresh
    "generated", "synthetic", "sample",  # small partnerships generated in test_cin_census_reader.py,
                                         # test_reference_readers.py, test_tabular_readers.py
    "real_run", "hostile_run", "first_run",  # `neglect run` on the hand-written partnership
})
# tests that run Dagster, `neglect run`, the generator or a browser without one of those fixtures
# (a file, or file::test)
NOT_UNIT = frozenset({
    "test_population_asset.py",  # Dagster runs of the population asset
    "test_event_log.py",  # Dagster runs against the event log storage
    "test_linkage_evaluation_asset.py",  # a Dagster run of the linkage evaluation asset
    "test_run_waits.py",  # `neglect run`
    "test_sensor.py",  # the sensor against a Dagster instance
    "test_synthetic_determinism.py", "test_synthetic_thresholds.py",  # generate partnerships
    "test_settings_cli.py::test_run_exits_1_with_the_message_when_the_blocking_check_fails",
    "test_warehouse_access.py::test_neglect_run_prints_what_holds_the_warehouse_while_a_step_waits",
    "test_source_registry.py::test_a_new_source_from_a_folder_loads",  # through Dagster
    "test_synthetic_history.py::test_the_history_and_the_missing_extracts_follow_the_configuration",  # generates
    # no pipeline, but seconds each (simulations, a hundred thousand rows, worker processes, Data Docs): the unit loop
    # stays under a minute without them; `pytest` runs them
    "test_publication.py",  # disclosure over simulated warehouses of several quarters
    "test_mse_estimators.py::test_harness_scores_a_small_grid",
    "test_mse_estimators.py::test_one_class_model_reproduces_the_published_independence_estimate",
    "test_hostile_corpus.py::test_errors_come_back_from_worker_processes_and_a_dead_worker_fails_only_its_file",
    "test_hostile_corpus.py::test_reader_processes_end_when_their_parent_is_killed",
    "test_hostile_corpus.py::test_headers_rotated_into_every_position_never_put_an_identifier_in_a_message",
    "test_dfe_rules.py::test_every_rule_of_its_year_runs_on_each_hand_written_return",
    "test_dfe_rules.py::test_100k_valid_children_give_no_finding",
    "test_disclosure.py::test_random_tables_are_protected_and_the_result_is_order_free",
    "test_synthetic_identifiers.py::test_nhs_numbers_spill_into_the_next_test_block_for_very_large_partnerships",
    "test_expectations.py::test_data_docs_show_only_the_validations_given",
    "test_expectations.py::test_data_docs_hold_no_identifier_values",
    "test_expectations.py::test_all_tables_in_one_call_with_previous_counts",
    "test_expectations.py::test_every_yaml_loads_and_maps_to_gx_expectations",
    "test_mse_estimators.py::test_latent_class_covers_n_under_heterogeneity_with_five_lists",
    "test_mse_estimators.py::test_internal_consistency_is_near_zero_for_independent_lists_and_negative_with_heterogeneity",
    "test_mse_estimators.py::test_allowance_brings_the_estimate_back_towards_n",
    "test_mse_sampling.py::test_draws_do_not_depend_on_the_pool_the_batch_or_the_cache",  # a pool of processes
    "test_disclosure.py::test_a_thousand_cells_protect_and_attack_quickly",  # a timing test: a loaded machine fails it
    "test_hostile_corpus.py::test_every_case_has_its_outcome_through_its_reader[H45]",
    "test_warehouse_access.py",  # processes holding the warehouse, and waits
    "test_mse_estimators.py::test_rule_publishes_a_central_figure_only_with_four_or_more_lists",  # the sampler
    "test_capture_recapture.py::test_interval_covers_true_n_with_independent_lists",  # a simulation
    "test_capture_recapture.py::test_three_lists_four_strata_is_fast",  # a timing test
})


# The session refresh and the fixtures built on it: with `make test` (pytest-xdist, `-n 2 --dist loadscope`) every
# test file using one of them goes to the same worker, so the default partnership is refreshed once, not once per
# worker; the files using only the generated partnership go together to a worker too (the one without the refresh
# generates it a second time, 25 s, so the refresh's worker is not also running them); every other file goes whole
# to either worker, so its module runs happen once.
REFRESH_FIXTURES = frozenset({"ingested", "warehouse"})
PARTNERSHIP_FIXTURES = frozenset({"partnership"})


def files_using(fixtures: frozenset, tests_dir: Path = Path(__file__).parent) -> set[str]:
    """Names of the test files with a function (test or fixture) taking one of ``fixtures``."""
    import ast

    found = set()
    for path in tests_dir.glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and fixtures & {a.arg for a in node.args.args}:
                found.add(path.name)
                break
    return found


def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's scheduling by module (``--dist loadscope``), with the files of the session refresh as one
    scope and those of the generated partnership alone as another. (Its ``xdist_group`` marks would say the same,
    but pytest-xdist 3.8 under pytest 9 ignores them.)"""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    refresh = files_using(REFRESH_FIXTURES)
    partnership = files_using(PARTNERSHIP_FIXTURES) - refresh

    class SessionFixturesTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = nodeid.split("::", 1)[0]
            name = Path(file).name
            return "session refresh" if name in refresh else "partnership" if name in partnership else file

    return SessionFixturesTogether(config, log)


def pytest_collection_modifyitems(config, items):
    """Mark ``unit`` every test that is not slow, uses no heavy fixture and is not listed in NOT_UNIT."""
    for item in items:
        if (item.get_closest_marker("slow") or HEAVY_FIXTURES & set(getattr(item, "fixturenames", ()))
                or item.path.name in NOT_UNIT or f"{item.path.name}::{item.originalname}" in NOT_UNIT
                or f"{item.path.name}::{item.name}" in NOT_UNIT):
            continue
        item.add_marker(pytest.mark.unit)


@pytest.fixture(scope="session")
def partnership(tmp_path_factory) -> tuple[Path, dict]:
    """(folder, summary) of the default synthetic partnership (about 25 s to generate)."""
    out = tmp_path_factory.mktemp("partnership")
    summary = generate_partnership(GeneratorConfig(), out)
    return out, summary


@dataclass
class IngestedPartnership:
    """The default partnership after the ingest jobs ran into a temporary project."""

    folder: Path  # the generated partnership (incoming/, truth/)
    settings: object  # pipelines.settings.Settings of the temporary project
    dagster_dir: Path  # the Dagster instance's storage (run history, event logs)
    results: dict  # job name -> ExecuteInProcessResult
    seconds: float  # wall time of the ingest runs
    tables_named: dict  # asset -> {"named": tables its queries name, "written": tables they write} (refresh_helpers)


# The session refresh's hidden-prevalence sampler keeps 100 draws per chain, not 500: a fifth of the sampling.
# No test of the refresh judges the estimate's statistical quality (its rows, publication rule, suppression and
# repeatability are the same code at any length); test_mse_estimators.py checks the sampler at its real settings
# (coverage under heterogeneity) and test_real_partnership.py runs the pipeline with them.
LATENT_CLASS_DRAWS = 100


@pytest.fixture(scope="session")
def ingested(partnership, tmp_path_factory) -> IngestedPartnership:
    """Run `neglect run`'s plan (`cin_census_refresh`, `quarterly_refresh` over every period of the default partnership,
    `board_report` for the latest quarter), with a shorter hidden-prevalence sampler (LATENT_CLASS_DRAWS)."""
    from refresh_helpers import project_settings, run_everything, tables_named_by_asset

    folder, _ = partnership
    settings = project_settings(folder, tmp_path_factory.mktemp("ingest_project"), latent_class_draws=LATENT_CLASS_DRAWS)
    started = time.monotonic()
    with tables_named_by_asset({}) as named:  # for tests/test_declared_reads.py
        results = run_everything(settings, date(2026, 11, 23))
    dagster_dir = settings.dagster_home / ".dagster"
    return IngestedPartnership(folder, settings, dagster_dir, results, time.monotonic() - started, named)


@pytest.fixture(scope="module")
def warehouse(ingested):
    """A read-only connection to the refreshed partnership's warehouse, for one test module."""
    import duckdb

    conn = duckdb.connect(str(ingested.settings.warehouse_path), read_only=True)
    yield conn
    conn.close()
