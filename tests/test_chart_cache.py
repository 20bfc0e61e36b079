"""The board pack's PNG cache (dashboards/chart_cache.py): an unchanged chart is copied, a changed one drawn.

The drawing itself is replaced by a fake writer (it records which figures it was asked to draw and
writes bytes made from the figure's JSON), so the logic is tested without a Chromium; the real
drawing is covered by tests/test_dashboard.py."""
from __future__ import annotations

import logging
import subprocess
import sys

import duckdb
import plotly.graph_objects as go
import plotly.io as pio
import pytest

import dashboards.exports as exports
from dashboards.chart_cache import CHART_TABLE, chart_cache, chart_key
from ingest.keyed_cache import KEEP_DAYS

pytestmark = pytest.mark.unit


def _bar(values, title="Children"):
    return go.Figure(go.Bar(x=["Northbrook", "Eastmere"], y=values)).update_layout(title=title)


@pytest.fixture
def drawn(monkeypatch):
    """A fake Chromium and Kaleido: the list of figure titles each call drew."""
    calls = []

    def fake_write_images(figs, paths, **options):
        calls.append([f.layout.title.text for f in figs])
        for fig, path in zip(figs, paths):
            path.write_bytes(b"PNG " + fig.to_json().encode() + repr(sorted(options.items())).encode())

    monkeypatch.setattr(exports, "find_chromium", lambda: "/usr/bin/fake-chromium")
    monkeypatch.setenv("BROWSER_PATH", "/usr/bin/fake-chromium")  # write_pngs sets it: restored after the test
    monkeypatch.setattr(pio, "write_images", fake_write_images)
    return calls


def test_an_unchanged_chart_is_copied_and_a_changed_one_drawn(tmp_path, drawn):
    conn = duckdb.connect()
    first = {"trend": _bar([10, 20], "Trend"), "wards": _bar([3, 4], "Wards")}
    paths, message = exports.write_pngs(first, tmp_path / "q1", cache=chart_cache(conn))
    assert drawn == [["Trend", "Wards"]] and "copied" not in message
    before = {p.name: p.read_bytes() for p in paths}

    second = {"trend": _bar([10, 20], "Trend"), "wards": _bar([3, 5], "Wards")}  # one number changed
    paths, message = exports.write_pngs(second, tmp_path / "q2", cache=chart_cache(conn))
    assert drawn[1] == ["Wards"]
    assert "2 PNG charts written" in message and "1 unchanged since last drawn" in message
    after = {p.name: p.read_bytes() for p in paths}
    assert after["trend.png"] == before["trend.png"]  # the file drawn before, byte for byte
    assert after["wards.png"] != before["wards.png"]
    assert conn.execute(f"SELECT count(*) FROM {CHART_TABLE}").fetchall()[0][0] == 3


def test_without_a_cache_every_chart_is_drawn(tmp_path, drawn):
    exports.write_pngs({"trend": _bar([1, 2], "Trend")}, tmp_path)
    exports.write_pngs({"trend": _bar([1, 2], "Trend")}, tmp_path)
    assert drawn == [["Trend"], ["Trend"]]


def test_the_key_follows_the_figure_and_the_drawing():
    figure = _bar([1, 2])
    key = chart_key(figure, 1100, 450, 2, "/usr/bin/chromium")
    assert key == chart_key(_bar([1, 2]), 1100, 450, 2, "/usr/bin/chromium")
    assert len({key, chart_key(_bar([1, 3]), 1100, 450, 2, "/usr/bin/chromium"),
                chart_key(_bar([1, 2], "Other title"), 1100, 450, 2, "/usr/bin/chromium"),
                chart_key(figure, 1100, 500, 2, "/usr/bin/chromium"), chart_key(figure, 900, 450, 2, "/usr/bin/chromium"),
                chart_key(figure, 1100, 450, 1, "/usr/bin/chromium"), chart_key(figure, 1100, 450, 2, "/opt/chrome")}) == 7


def test_a_failed_drawing_leaves_no_png_and_nothing_cached(tmp_path, monkeypatch, drawn):
    conn = duckdb.connect()
    exports.write_pngs({"trend": _bar([1, 2], "Trend")}, tmp_path, cache=chart_cache(conn))

    def broken(figs, paths, **options):
        paths[0].write_bytes(b"half a picture")
        raise RuntimeError("browser crashed")

    monkeypatch.setattr(pio, "write_images", broken)
    paths, message = exports.write_pngs({"trend": _bar([1, 2], "Trend"), "wards": _bar([5, 6], "Wards")}, tmp_path,
                                        cache=chart_cache(conn))
    assert paths == [] and "browser crashed" in message
    assert not any(tmp_path.iterdir())
    assert conn.execute(f"SELECT count(*) FROM {CHART_TABLE}").fetchall()[0][0] == 1


def test_entries_not_used_for_the_keep_period_are_removed():
    conn = duckdb.connect()
    cache = chart_cache(conn)
    cache.put({"old": b"a", "recent": b"b"})
    conn.execute(f"UPDATE {CHART_TABLE} SET last_used = current_date - INTERVAL {KEEP_DAYS + 1} DAY "
                 "WHERE key = 'old'")
    cache.put({"new": b"c"})
    assert cache.get(["old", "recent", "new"]) == {"recent": b"b", "new": b"c"}


def test_a_chart_the_export_draws_nothing_for_is_named_and_not_cached(tmp_path, monkeypatch, drawn):
    """Kaleido writes no file for a figure it cannot draw (seen with a Sankey of no links, on a partnership whose
    flows were all suppressed): the other charts are written, that one is named, nothing of it is cached."""
    conn = duckdb.connect()

    def skips_empty_sankeys(figs, paths, **options):
        for fig, path in zip(figs, paths):
            if fig.layout.title.text != "Flows":
                path.write_bytes(b"PNG " + fig.to_json().encode())

    monkeypatch.setattr(pio, "write_images", skips_empty_sankeys)
    figures = {"trend": _bar([1, 2], "Trend"), "journey_flows": _bar([0, 0], "Flows")}
    paths, message = exports.write_pngs(figures, tmp_path, cache=chart_cache(conn))
    assert paths == [tmp_path / "trend.png"]
    assert "1 PNG charts written" in message and "drew nothing for 1" in message and "journey_flows" in message
    assert conn.execute(f"SELECT count(*) FROM {CHART_TABLE}").fetchall()[0][0] == 1
    paths, message = exports.write_pngs(figures, tmp_path / "again", cache=chart_cache(conn))
    assert paths == [tmp_path / "again" / "trend.png"] and "1 unchanged since last drawn" in message


def test_the_browser_librarys_ignored_errors_print_no_traceback(tmp_path):
    """Choreographer logs (with a traceback) a message from Chromium it ignores; with no logging configured, as in
    a command-line run, Python would print it. Drawn in a fresh process: its stderr holds no traceback, the chart
    is written, and the logger's own level is back afterwards."""
    script = f"""
import logging, pathlib
import plotly.graph_objects as go, plotly.io as pio
import dashboards.exports as exports
exports.find_chromium = lambda: "/usr/bin/fake-chromium"
def fake_write_images(figs, paths, **options):
    try:
        raise ValueError("Expecting property name enclosed in double quotes")
    except ValueError:
        logging.getLogger("choreographer.channels.pipe").exception("JSONError decoding message. Ignoring")
    for path in paths:
        path.write_bytes(b"PNG")
pio.write_images = fake_write_images
paths, message = exports.write_pngs({{"trend": go.Figure(go.Bar(y=[1]))}}, pathlib.Path({str(tmp_path)!r}))
print(message, logging.getLogger("choreographer").level)
logging.getLogger("choreographer.channels.pipe").error("after the drawing")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 PNG charts written" in done.stdout and done.stdout.split()[-1] == str(logging.NOTSET)
    assert "Traceback" not in done.stderr and "Ignoring" not in done.stderr
    assert "after the drawing" in done.stderr  # the library's logging is as it was outside the drawing


def test_the_caller_goes_on_while_the_charts_are_drawn(tmp_path, monkeypatch):
    """start_pngs returns before the browser has finished: the board pack writes its workbook, CSV and mart files
    meanwhile. The charts are there once result() returns, and the new ones are then in the cache."""
    import threading

    release, calls = threading.Event(), []

    def slow_write_images(figs, paths, **options):
        assert release.wait(10), "the caller did not go on while the charts were drawn"
        calls.append(len(figs))
        for path in paths:
            path.write_bytes(b"PNG")

    monkeypatch.setattr(exports, "find_chromium", lambda: "/usr/bin/fake-chromium")
    monkeypatch.setenv("BROWSER_PATH", "/usr/bin/fake-chromium")
    monkeypatch.setattr(pio, "write_images", slow_write_images)
    conn = duckdb.connect()
    drawing = exports.start_pngs({"trend": _bar([1, 2], "Trend")}, tmp_path, cache=chart_cache(conn))
    assert calls == [] and not (tmp_path / "trend.png").exists()  # still drawing: the caller is here
    release.set()
    paths, message = drawing.result()
    assert calls == [1] and paths == [tmp_path / "trend.png"] and "1 PNG charts written" in message
    assert conn.execute(f"SELECT count(*) FROM {CHART_TABLE}").fetchall()[0][0] == 1


def test_a_failed_drawing_in_the_background_is_reported_and_leaves_no_png(tmp_path, monkeypatch):
    def broken_write_images(figs, paths, **options):
        paths[0].write_bytes(b"half")
        raise RuntimeError("the browser closed")

    monkeypatch.setattr(exports, "find_chromium", lambda: "/usr/bin/fake-chromium")
    monkeypatch.setenv("BROWSER_PATH", "/usr/bin/fake-chromium")
    monkeypatch.setattr(pio, "write_images", broken_write_images)
    paths, message = exports.start_pngs({"trend": _bar([1, 2], "Trend")}, tmp_path).result()
    assert paths == [] and "the static export failed (RuntimeError: the browser closed)" in message
    assert not any(tmp_path.glob("*.png"))
