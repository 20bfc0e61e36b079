"""PNG charts drawn once: a chart whose figure is what it was when last drawn is copied, not drawn again.

Drawing a PNG (Plotly's static export through Kaleido and a Chromium) takes about 0.3 s of wall time
a chart, most of a board pack's time when only a few figures changed. The picture depends only on the
figure (its JSON: data, layout, every label), the size it is drawn at and the library and browser
drawing it, so :func:`chart_key` hashes exactly those, and :class:`ChartCache` keeps each PNG under its
key in the warehouse table ``cache.chart_pngs`` (``key``, ``png``, ``last_used``). A figure that changed
in any way (one number, one label) has another key and is drawn afresh; an unchanged one is copied, byte
for byte the file drawn before. Entries not used for ``KEEP_DAYS`` days are removed.

The charts are the board pack's published charts (after disclosure control): no identifier, no record.
"""
from __future__ import annotations

import hashlib
import json
from importlib import metadata as package_metadata

__all__ = ["ChartCache", "chart_key", "KEEP_DAYS"]

KEEP_DAYS = 90


def _version(package: str) -> str:
    try:
        return package_metadata.version(package)
    except package_metadata.PackageNotFoundError:
        return "absent"


def chart_key(figure, width: int, height: int, scale: float, browser: str) -> str:
    """SHA-256 of everything a chart's PNG depends on: the figure's JSON, the size (layout px) and scale it is
    drawn at, the Plotly and Kaleido versions and the browser drawing it."""
    drawing = json.dumps({"width": width, "height": height, "scale": scale, "browser": browser,
                          "plotly": _version("plotly"), "kaleido": _version("kaleido")}, sort_keys=True)
    return hashlib.sha256(f"{drawing}\n{figure.to_json()}".encode()).hexdigest()


class ChartCache:
    """PNGs kept in ``cache.chart_pngs`` of a DuckDB connection (the warehouse), by :func:`chart_key`."""

    TABLE = "cache.chart_pngs"

    def __init__(self, conn):
        self.conn = conn
        conn.execute("CREATE SCHEMA IF NOT EXISTS cache")
        conn.execute(f"CREATE TABLE IF NOT EXISTS {self.TABLE} (key VARCHAR PRIMARY KEY, png BLOB, last_used DATE)")

    def get(self, keys: list[str]) -> dict[str, bytes]:
        """The PNGs the cache holds for ``keys`` (key -> bytes; a key it does not hold is left out)."""
        if not keys:
            return {}
        rows = self.conn.execute(f"SELECT key, png FROM {self.TABLE} WHERE key IN (SELECT unnest($1))",
                                 [keys]).fetchall()
        self.conn.execute(f"UPDATE {self.TABLE} SET last_used = current_date WHERE key IN (SELECT unnest($1))", [keys])
        return {key: bytes(png) for key, png in rows}

    def put(self, pngs: dict[str, bytes]) -> None:
        """Keep ``pngs`` (key -> bytes), and remove entries not used for ``KEEP_DAYS`` days."""
        if pngs:
            self.conn.executemany(f"INSERT OR REPLACE INTO {self.TABLE} VALUES (?, ?, current_date)",
                                  list(pngs.items()))
        self.conn.execute(f"DELETE FROM {self.TABLE} WHERE last_used < current_date - INTERVAL {KEEP_DAYS} DAY")
