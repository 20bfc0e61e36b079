"""Open an HTML report in headless Chromium (Playwright driving Debian's ``chromium``) and report what a
reader would see: console errors, page errors, charts rendered and with data, and a screenshot.

Playwright never downloads a browser here: it launches the system Chromium (``find_chromium``), with
the flags a closed network needs (no background networking, no component updates).
"""
from __future__ import annotations

from pathlib import Path

from dashboards.exports import find_chromium

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
CHART_DATA = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd => ({
    id: gd.id,
    traces: (gd.data || []).length,
    points: (gd.data || []).reduce((n, t) => n + Math.max(
        (t.x || []).length || 0, (t.y || []).length || 0, (t.z || []).length || 0, (t.locations || []).length || 0,
        ((t.link || {}).value || []).length || 0), 0),
    drawn: gd.querySelectorAll('.main-svg').length
}))"""


def open_in_chromium(html: Path, screenshot: Path, width: int = 1400) -> dict:
    from playwright.sync_api import sync_playwright

    console_errors, page_errors = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": 1000})
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.goto(Path(html).resolve().as_uri(), wait_until="load")
            page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length > 0", timeout=30_000)
            page.wait_for_timeout(1500)
            charts = page.evaluate(CHART_DATA)
            chart_divs = page.evaluate("() => document.querySelectorAll('[data-chart]').length")
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=False)
        finally:
            browser.close()
    return {"console_errors": console_errors, "page_errors": page_errors, "charts": len(charts),
            "chart_divs": chart_divs,
            "charts_without_data": [c["id"] for c in charts if c["traces"] == 0 or c["points"] == 0 or not c["drawn"]]}
