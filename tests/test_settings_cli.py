"""Settings (settings.toml + NEGLECT_* overrides) and the neglect command's plumbing."""
from __future__ import annotations

import sys

import pytest

from pipelines import cli
from pipelines.settings import SettingsError, load_settings


def test_defaults_resolve_against_the_project_root(tmp_path):
    (tmp_path / "settings.toml").write_text('incoming_dir = "extracts"\nsuppression_threshold = 10\n')
    s = load_settings({"NEGLECT_PROJECT_ROOT": str(tmp_path)})
    assert s.project_root == tmp_path.resolve()
    assert s.incoming_dir == tmp_path.resolve() / "extracts"
    assert s.warehouse_path == tmp_path.resolve() / "warehouse" / "neglect.duckdb"
    assert s.dagster_home == tmp_path.resolve()
    assert s.suppression_threshold == 10 and s.synthetic_seed == 20261123 and s.synthetic_children == 105_000
    assert not s.uses_synthetic_incoming


def test_environment_overrides_the_file(tmp_path):
    (tmp_path / "settings.toml").write_text('output_dir = "out"\n')
    s = load_settings({"NEGLECT_PROJECT_ROOT": str(tmp_path), "NEGLECT_OUTPUT_DIR": "/srv/board",
                       "NEGLECT_SYNTHETIC_CHILDREN": "2000"})
    assert str(s.output_dir) == "/srv/board" and s.synthetic_children == 2000
    with pytest.raises(SettingsError, match="NEGLECT_SUPPRESSION_THRESHOLD"):
        load_settings({"NEGLECT_PROJECT_ROOT": str(tmp_path), "NEGLECT_SUPPRESSION_THRESHOLD": "five"})


def test_committed_settings_file_matches_the_documented_defaults():
    s = load_settings({})
    assert s.synthetic_dir == s.project_root / "data" / "synthetic"
    assert s.incoming_dir == s.project_root / "data" / "synthetic" / "incoming" and s.uses_synthetic_incoming
    assert s.identity_path == s.project_root / "warehouse" / "identity.duckdb"
    assert s.output_dir == s.project_root / "output" and s.dagster_home == s.project_root
    assert (s.dagster_home / "dagster.yaml").exists()


def test_the_published_estimate_samples_at_the_samplers_own_defaults():
    """latent_class_draws, committed and built in, is the sampler's own length: published figures do not move."""
    from models.mse.latent_class import DEFAULTS
    from pipelines.settings import Settings

    assert load_settings({}).latent_class_draws == Settings.latent_class_draws == DEFAULTS["draws"] == DEFAULTS["burn"]


def test_help_and_paths(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 0
    assert "generate" in capsys.readouterr().out
    assert cli.main(["paths"]) == 0
    assert "NEGLECT_WAREHOUSE_PATH" in capsys.readouterr().out


def test_generate_without_the_generator_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "sources.synthetic.generate", None)  # import now raises ImportError
    assert cli.main(["generate", "--out", str(tmp_path / "synthetic"), "--children", "100"]) == 2
    assert "cannot be imported" in capsys.readouterr().err


def test_generate_skips_an_existing_partnership(tmp_path, capsys):
    (tmp_path / "manifest.json").write_text("{}")
    assert cli.main(["generate", "--out", str(tmp_path)]) == 0
    assert "--force" in capsys.readouterr().out


def test_run_exits_1_with_the_message_when_the_blocking_check_fails(tmp_path, monkeypatch, capsys):
    """The hand-written partnership (tests/fixtures/real_partnership) with a population file missing a row: the
    blocking check stops the run, exit code 1, the check's message and no traceback. (The successful run, the
    project instance and the clearing of a killed run are tested on that folder in test_real_partnership.py.)"""
    import shutil
    from pathlib import Path

    from population_fixtures import population_lines, write_population

    repo = Path(__file__).resolve().parents[1]
    shutil.copy(repo / "dagster.yaml", tmp_path / "dagster.yaml")
    (tmp_path / "settings.toml").write_text('incoming_dir = "incoming"\n')
    shutil.copytree(repo / "tests" / "fixtures" / "real_partnership" / "incoming", tmp_path / "incoming")
    lines = population_lines(2024)
    del lines[5]
    shutil.rmtree(tmp_path / "incoming" / "reference" / "population")
    write_population(tmp_path / "incoming" / "reference" / "population", 2024, lines)
    monkeypatch.chdir(tmp_path)  # `neglect run` changes directory; monkeypatch puts it back
    monkeypatch.setenv("NEGLECT_PROJECT_ROOT", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    for name in ("NEGLECT_INCOMING_DIR", "NEGLECT_WAREHOUSE_PATH", "NEGLECT_DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["run", "--no-generate"]) == 1
    captured = capsys.readouterr()
    assert "check population_denominators_complete FAILED" in captured.out
    assert "Traceback" not in captured.err + captured.out
    assert "do not have exactly 36 rows" in captured.err


def test_run_plans_the_latest_quarters_report_unless_every_report_is_asked_for():
    """`neglect run` writes the latest quarter's board report; `--all-reports` every quarter's of the range."""
    from datetime import date
    from types import SimpleNamespace

    from pipelines.runs import plan_runs

    files = [SimpleNamespace(period_end=end) for end in (date(2025, 9, 30), date(2026, 3, 31), date(2025, 12, 31))]
    scan = SimpleNamespace(files=files, census_years=lambda: [])
    latest = {p.job_name: p for p in plan_runs(scan)}["board_report"]
    every = {p.job_name: p for p in plan_runs(scan, all_reports=True)}["board_report"]
    assert (latest.first_key, latest.last_key) == ("2026-01-01", "2026-01-01")
    assert (every.first_key, every.last_key) == ("2025-07-01", "2026-01-01")
    run_help = cli._parser()._subparsers._group_actions[0].choices["run"].format_help()
    assert "--all-reports" in run_help


def test_duckdb_running_out_of_memory_names_the_setting_that_gives_it_more():
    """DuckDB's advice ("SET memory_limit=...") is SQL an analyst does not type: the message names the setting."""
    from dagster._utils.error import SerializableErrorInfo

    from pipelines.cli import _root_message

    duckdb_error = SerializableErrorInfo(
        "Out of Memory Error: failed to allocate data of size 4.0 MiB (300.0 MiB/301.0 MiB used)\n\n"
        "Possible solutions:\n* Increasing the memory limit (SET memory_limit='...GB')\n", [], "OutOfMemoryException")
    wrapped = SerializableErrorInfo("Error occurred while executing op", [], "DagsterExecutionStepExecutionError",
                                    cause=duckdb_error)
    message = _root_message(wrapped)
    assert message.startswith("Out of Memory Error: failed to allocate data of size 4.0 MiB (300.0 MiB/301.0 MiB used)")
    assert "duckdb_memory_limit" in message and "NEGLECT_DUCKDB_MEMORY_LIMIT" in message and "SET " not in message
    other = SerializableErrorInfo("no such table", [], "CatalogException")
    assert _root_message(other) == "CatalogException: no such table"
