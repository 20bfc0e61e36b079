"""A job as the Dagster UI runs it: reconstructable (the run in a process of its own, with the code location's
executor), built from the settings in the environment (NEGLECT_*). Used by tests/test_ui_path.py."""
from __future__ import annotations


def quarterly_job():
    from pipelines.definitions import build_definitions

    return build_definitions().resolve_job_def("quarterly_refresh")
