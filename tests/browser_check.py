"""Open an HTML report in headless Chromium (Playwright driving Debian's ``chromium``) and report what a
reader would see: console errors, page errors, charts rendered and with data, and a screenshot.

Playwright never downloads a browser here: it launches the system Chromium (``find_chromium``), with
the flags a closed network needs (no background networking, no component updates).
"""
from __future__ import annotations

import re
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


PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
SECTIONS = "() => Array.from(document.querySelectorAll('main > section, body > section')).map(s => s.id)"
ONLY = """id => { document.querySelectorAll('main > section, body > section').forEach(s => {
    s.style.display = s.id === id ? '' : 'none'; }); }"""


def pdf_pages(pdf: bytes) -> int:
    """Pages of a PDF Chromium printed (its page objects are not compressed)."""
    return len(PAGE.findall(pdf))


def _open(p, html: Path, width: int):
    browser = p.chromium.launch(executable_path=find_chromium(), args=FLAGS, headless=True)
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(Path(html).resolve().as_uri(), wait_until="load")
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length > 0", timeout=30_000)
    page.wait_for_timeout(1000)
    return browser, page


def print_sections(html: Path, folder: Path | None = None, width: int = 1100) -> dict:
    """Print the report to PDF (A4 landscape, as a reader's browser prints it: the page's own ``@page``
    rules) whole and one section at a time: {"whole": pages, section id: pages}. The PDFs are written to
    ``folder`` when given."""
    from playwright.sync_api import sync_playwright

    pages = {}
    with sync_playwright() as p:
        browser, page = _open(p, html, width)
        try:
            page.emulate_media(media="print")
            whole = page.pdf(prefer_css_page_size=True, print_background=True)
            pages["whole"] = pdf_pages(whole)
            if folder is not None:
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "report.pdf").write_bytes(whole)
            for section in page.evaluate(SECTIONS):
                page.evaluate(ONLY, section)
                pdf = page.pdf(prefer_css_page_size=True, print_background=True)
                pages[section] = pdf_pages(pdf)
                if folder is not None:
                    (folder / f"{section}.pdf").write_bytes(pdf)
            page.evaluate(ONLY, "")
        finally:
            browser.close()
    return pages


def axe_violations(html: Path, width: int = 1400) -> list[dict]:
    """axe-core's violations of WCAG 2.0/2.1 A and AA (and best practice) on the report in Chromium:
    [{id, impact, help, nodes, targets}]. axe-core comes from the ``axe-playwright-python`` wheel, which
    bundles ``axe.min.js``: nothing is fetched."""
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = _open(p, html, width)
        try:
            page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
            # Plotly's drawing (thousands of SVG nodes; axe does not judge SVG text, and the numbers are in the
            # table under each chart) is left out: the check takes half the time
            results = Axe().run(page, context={"exclude": [[".js-plotly-plot .svg-container"]]}, options={"runOnly": {"type": "tag", "values": [
                "wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}, "resultTypes": ["violations"]})
        finally:
            browser.close()
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": len(v["nodes"]),
             "targets": [n["target"] for n in v["nodes"][:5]]} for v in results.response["violations"]]
