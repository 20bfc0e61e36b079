"""Warehouse models: DuckDB SQL (in ``models/sql/``) and the Python that runs it.

Empty for now: linkage, the neglect-evidence tiers and the marts arrive in later issues.
"""
