"""The Dagster code location: assets, resources, partitions, schedules and jobs.

``pipelines.definitions.defs`` is what ``dagster dev`` and ``dg dev`` load.
``pipelines.settings`` reads ``settings.toml`` (overridable by ``NEGLECT_*`` environment
variables) and ``pipelines.cli`` is the ``neglect`` command.
"""

import warnings

# The ingest assets use a single-run backfill policy (a range of quarters in one run), which
# Dagster 1.13 still labels beta; say so once here rather than on every import.
warnings.filterwarnings("ignore", message=r"Parameter `backfill_policy`", module=r"dagster\..*")
warnings.filterwarnings("ignore", message=r"Parameter `backfill_policy`")
