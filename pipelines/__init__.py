"""The Dagster code location: assets, resources, partitions, schedules and jobs.

``pipelines.definitions.defs`` is what ``dagster dev`` and ``dg dev`` load.
``pipelines.settings`` reads ``settings.toml`` (overridable by ``NEGLECT_*`` environment
variables) and ``pipelines.cli`` is the ``neglect`` command.
"""
