"""A warehouse table of values kept by key: what a pure computation gave, so that it is not computed again.

For computations whose result depends only on what their key hashes (a chart's PNG on its figure, a
log-linear estimate on its capture-history table): the caller makes the key (a SHA-256 of every input,
the code version included) and stores the result's bytes under it in ``cache.<name>`` (``key``, ``value``
BLOB, ``last_used`` DATE). Getting a key marks it used today; putting removes entries not used for
``KEEP_DAYS`` days. Users: :mod:`dashboards.chart_cache` (PNG charts), :mod:`models.mse.estimate_cache`
(log-linear estimates), :mod:`models.mse.sampling` (the latent-class sampler's draws). Only aggregate results
belong here: no identifier, no record.
"""
from __future__ import annotations

from importlib import metadata as package_metadata

__all__ = ["KeyedCache", "KEEP_DAYS", "library_versions"]

KEEP_DAYS = 90


class KeyedCache:
    """Bytes kept by key in the table ``table`` (``cache.<name>``) of a DuckDB connection."""

    def __init__(self, conn, table: str):
        self.conn, self.table = conn, table
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (key VARCHAR PRIMARY KEY, value BLOB, last_used DATE)")

    def get(self, keys: list[str]) -> dict[str, bytes]:
        """The values kept for ``keys`` (key -> bytes; a key not kept is left out); marks them used today."""
        if not keys:
            return {}
        rows = self.conn.execute(f"SELECT key, value FROM {self.table} WHERE key IN (SELECT unnest($1))",
                                 [keys]).fetchall()
        self.conn.execute(f"UPDATE {self.table} SET last_used = current_date WHERE key IN (SELECT unnest($1))", [keys])
        return {key: bytes(value) for key, value in rows}

    def put(self, values: dict[str, bytes]) -> None:
        """Keep ``values`` (key -> bytes), and remove entries not used for ``KEEP_DAYS`` days."""
        if values:
            self.conn.executemany(f"INSERT OR REPLACE INTO {self.table} VALUES (?, ?, current_date)",
                                  list(values.items()))
        self.conn.execute(f"DELETE FROM {self.table} WHERE last_used < current_date - INTERVAL {KEEP_DAYS} DAY")


def library_versions(names: tuple[str, ...]) -> str:
    """``name==version`` of each installed package of ``names``, one a line (``name absent`` when it is not
    installed): the part of a key that says which libraries computed a result."""
    lines = []
    for name in names:
        try:
            lines.append(f"{name}=={package_metadata.version(name)}")
        except package_metadata.PackageNotFoundError:
            lines.append(f"{name} absent")
    return "".join(line + "\n" for line in lines)
