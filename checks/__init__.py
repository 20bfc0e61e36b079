"""Data-quality rules, written as plain functions over the warehouse.

The Dagster asset checks in ``pipelines/`` call these, so the rules can be read and
tested without Dagster. ``checks.population`` holds the rules for the ONS denominators.
"""
