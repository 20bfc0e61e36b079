"""PNG charts drawn once: a chart whose figure is what it was when last drawn is copied, not drawn again.

Drawing a PNG (Plotly's static export through Kaleido and a Chromium) takes about 0.3 s of wall time
a chart, most of a board pack's time when only a few figures changed. The picture depends only on the
figure (its JSON: data, layout, every label), the size it is drawn at and the library and browser
drawing it, so :func:`chart_key` hashes exactly those, and :func:`chart_cache` keeps each PNG under its
key in the warehouse table ``cache.chart_pngs`` (:class:`ingest.keyed_cache.KeyedCache`). A figure that changed
in any way (one number, one label) has another key and is drawn afresh; an unchanged one is copied, byte
for byte the file drawn before. Entries not used for 90 days are removed.

The charts are the board pack's published charts (after disclosure control): no identifier, no record.
"""
from __future__ import annotations

import hashlib
import json

from ingest.keyed_cache import KeyedCache, library_versions

__all__ = ["chart_cache", "chart_key", "CHART_TABLE"]

CHART_TABLE = "cache.chart_pngs"


def chart_key(figure, width: int, height: int, scale: float, browser: str) -> str:
    """SHA-256 of everything a chart's PNG depends on: the figure's JSON, the size (layout px) and scale it is
    drawn at, the Plotly and Kaleido versions and the browser drawing it."""
    drawing = json.dumps({"width": width, "height": height, "scale": scale, "browser": browser,
                          "libraries": library_versions(("plotly", "kaleido"))}, sort_keys=True)
    return hashlib.sha256(f"{drawing}\n{figure.to_json()}".encode()).hexdigest()


def chart_cache(conn) -> KeyedCache:
    """The PNGs kept in the warehouse table ``cache.chart_pngs`` (key -> PNG bytes), by :func:`chart_key`."""
    return KeyedCache(conn, CHART_TABLE)
