"""Dagster assets, one module per area (``population``: ONS denominators)."""
