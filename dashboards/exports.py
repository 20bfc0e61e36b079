"""Exports for board papers: a workbook, CSV files and PNG charts, all from the published tables.

* :func:`write_workbook`: one ``.xlsx`` with a ``Notes`` sheet (what each table is, the suppression
  rule, definitions and methods) and one sheet per published table;
* :func:`write_csvs`: the same tables as CSV (UTF-8 with a byte-order mark, so Excel reads it);
* :func:`write_pngs`: each chart as a PNG (Plotly's static export, Kaleido, which drives a Chrome:
  Debian's ``chromium``, found through ``BROWSER_PATH`` or ``/usr/bin/chromium``). Without one the
  PNGs are skipped with a message saying how to get them, and nothing fails.

Text that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return) is prefixed with ``'`` in both the workbook and the CSV files (OWASP's advice on
CSV injection), so opening an export never runs anything.
"""
from __future__ import annotations

import io
import os
import re
import shutil
import zipfile
from datetime import date
from pathlib import Path

import pandas as pd

from sources.spreadsheet_text import neutralise

from .tables import Publication

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def _sheet_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.drop(columns=[c for c in frame.columns if str(c).startswith("_")])  # _cell_*: for the HTML only
    for column in out.columns:
        if out[column].dtype.kind == "M":
            out[column] = out[column].dt.date
        elif out[column].dtype == "object" and out[column].map(lambda v: isinstance(v, list)).any():
            out[column] = out[column].map(lambda v: "; ".join(map(str, v)) if isinstance(v, list) else v)
    return neutralise(out)


def notes_frame(pub: Publication) -> pd.DataFrame:
    meta = pub.meta
    rows = [("Report", f"{meta['partnership_name']}: neglect, quarter ending {meta['quarter_end']:%d %B %Y}"),
            ("Suppression", f"Counts from 1 to {pub.threshold - 1} are shown as c, with further cells suppressed where "
                            "they could be worked out from any table of this or another quarter's pack, or of an "
                            "earlier version of it; every figure made from a suppressed count is blank."),
            ("Source", "Produced by the neglect-prevalence pipeline from the partnership's extracts; no names, "
                       "identifiers or dates of birth are in this workbook.")]
    if meta.get("revised"):
        rows.append(("Revisions", f"{meta['revised']:,} figure(s) published in an earlier pack have been revised by "
                                  "later records; the earlier values stay in the partnership's publication history."))
    rows += [(f"Sheet: {name}", note) for name, note in pub.notes.items() if name in pub.tables]
    rows += [(f"{r.topic}: {r.item}", r.text) for r in pub.tables["methods"].itertuples()]
    return pd.DataFrame(rows, columns=["item", "note"])


def write_workbook(pub: Publication, path: Path) -> Path:
    """The workbook; the same tables always give the same bytes (:func:`make_reproducible`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        neutralise(notes_frame(pub)).to_excel(writer, sheet_name="Notes", index=False)
        for name, frame in pub.tables.items():
            if name != "methods":
                _sheet_frame(frame).to_excel(writer, sheet_name=name[:31], index=False)
    make_reproducible(path, pub.quarter_end)
    return path


def make_reproducible(path: Path, when: date) -> None:
    """Rewrite an .xlsx (a zip) so it depends on its content only: openpyxl stamps the time of saving in
    ``docProps/core.xml`` (created, modified) and on every zip entry. Both become ``when`` (the quarter
    end: a date from the data, not the clock)."""
    stamp = f"{when.isoformat()}T00:00:00Z"
    with zipfile.ZipFile(path) as source:
        entries = [(info, source.read(info.filename)) for info in source.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>" + stamp.encode()
                              + rb"\g<3>", data)
            entry = zipfile.ZipInfo(info.filename, date_time=(when.year, when.month, when.day, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, data)
    path.write_bytes(buffer.getvalue())


def write_csvs(pub: Publication, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in {"notes": notes_frame(pub), **pub.tables}.items():
        path = folder / f"{name}.csv"
        _sheet_frame(frame).to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
        paths.append(path)
    return paths


def find_chromium() -> str | None:
    """The Chrome Kaleido should drive: ``BROWSER_PATH`` if set, else a Chromium on the PATH."""
    if os.environ.get("BROWSER_PATH") and Path(os.environ["BROWSER_PATH"]).exists():
        return os.environ["BROWSER_PATH"]
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def write_pngs(figures: dict, folder: Path, width: int = 1100, height: int | None = None) -> tuple[list[Path], str]:
    """Each figure as ``<name>.png`` in ``folder``. Returns (paths, message); no Chromium -> ([], why)."""
    browser = find_chromium()
    if browser is None:
        return [], ("PNG charts skipped: no Chromium found. Install Debian's chromium (apt-get install chromium) "
                    "or set BROWSER_PATH to a Chrome, then re-run the dashboards.")
    os.environ.setdefault("BROWSER_PATH", browser)
    import plotly.io as pio

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.png" for name in figures]
    try:
        pio.write_images(list(figures.values()), paths, format="png", width=width,
                         height=[f.layout.height or height or 450 for f in figures.values()])
    except Exception as exc:  # a broken browser must not stop the board pack
        return [], f"PNG charts skipped: the static export failed ({type(exc).__name__}: {exc})"
    return paths, f"{len(paths)} PNG charts written with {browser}"
