"""Exports for board papers: a workbook, CSV files and PNG charts, all from the published tables.

* :func:`write_workbook`: one ``.xlsx`` with a ``Notes`` sheet (what each table is, the suppression
  rule, definitions and methods) and one sheet per published table;
* :func:`write_csvs`: the same tables as CSV (UTF-8 with a byte-order mark, so Excel reads it);
* :func:`write_pngs`: each chart as a PNG (Plotly's static export, Kaleido, which drives a Chrome:
  Debian's ``chromium``, found through ``BROWSER_PATH`` or ``/usr/bin/chromium``). Without one the
  PNGs are skipped with a message saying how to get them, and nothing fails.

Every table is exported as :func:`export_frame` gives it: a ``quarter_end`` and an ``area`` column first;
counts as whole numbers, and where a count is not shown the cell is *empty* and the column
``<count>_marker`` beside it says why: ``c`` suppressed, ``x`` not available (DfE's symbols, in a column
of their own so that every number column stays numeric for sorting, sums and pivot tables). The
workbook has friendly headings (:data:`LABELS`), bold, frozen and filtered, and number formats: counts
whole (``#,##0``), rates per 10,000 to 1 decimal place, percentages (stored 0-100) to 1 decimal place
with a % sign, ratios to 1 decimal place. The CSV files keep the column names of the data dictionary
(``output/marts/data_dictionary.csv``).

Text that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return) is prefixed with ``'`` in both the workbook and the CSV files (OWASP's advice on
CSV injection), so opening an export never runs anything.
"""
from __future__ import annotations

import io
import logging
import os
import re
import shutil
import threading
import warnings
import zipfile
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pandas as pd

from ingest.keyed_cache import KeyedCache
from sources.spreadsheet_text import neutralise

from .chart_cache import chart_key
from .disclosure import SUPPRESSED
from .commissioning_tables import COMMISSIONING_COUNTS, COMMISSIONING_LABELS
from .journey_tables import JOURNEY_COUNTS, JOURNEY_LABELS
from .tables import NOT_AVAILABLE, Publication

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")


MARKER = "_marker"  # suffix of the column that says why a count is blank
NOT_APPLICABLE = "z"  # DfE's symbol: the count has no meaning in this row (e.g. no base for a spell count)
MARKERS = {SUPPRESSED: "suppressed (a count from 1 to the threshold - 1, or one that would reveal one)",
           NOT_AVAILABLE: "not available (its source was not supplied for the area and quarter)",
           NOT_APPLICABLE: "not applicable (the count has no meaning in this row)"}
PNG_SCALE = 2  # PNGs at twice their layout size: 2,200 px wide, about 190 dpi across an A4 landscape page

# Friendly headings of the workbook (the report's words where it has them); the CSV files keep the
# column names of the data dictionary (output/marts/data_dictionary.csv), which analysts' code relies on.
LABELS = {
    "quarter_end": "Quarter ending", "area": "Area", "period_end": "Period ending", "measure": "Measure code",
    "measure_label": "Measure", "la_code": "LA code", "la_name": "Authority", "breakdown": "Breakdown code",
    "breakdown_name": "Breakdown", "breakdown_value": "Breakdown value code", "breakdown_label": "Breakdown value",
    "tier_group": "Tier group", "tier_set": "Tier set code", "children": "Children", "population": "Population 0-17",
    "rate_per_10k": "Per 10,000", "ci95_lower": "95 % from", "ci95_upper": "95 % to", "ci998_lower": "99.8 % from",
    "ci998_upper": "99.8 % to", "method": "Interval method", "england_rate_per_10k": "England per 10,000",
    "vs_england": "vs England", "research_rate_per_10k": "Research (1 in 10) per 10,000", "vs_research": "vs research",
    "other_la_rate_per_10k": "Other authority per 10,000", "vs_other_la": "vs other authority",
    "history_complete": "12 months of history", "availability": "Availability",
    "availability_note": "Availability note",
    "population_note": "Population note", "change_since_previous_quarter": "Change since previous quarter",
    "change_since_year_ago": "Change since a year ago", "linkage": "Linkage", "linkage_threshold": "Match threshold",
    "status": "Published as", "observed": "Children on the lists", "estimate": "Estimated total",
    "at_least": "At least", "assumptions": "Assumptions", "lists": "Lists",
    "estimate_rate_per_10k": "Estimated total per 10,000", "ci95_lower_rate_per_10k": "95 % from per 10,000",
    "ci95_upper_rate_per_10k": "95 % to per 10,000", "at_least_rate_per_10k": "At least per 10,000",
    "message": "In words", "internal_consistency": "How the method did on our own data",
    "identified_per_cp_neglect_child": "Identified per CP-neglect child",
    "identified_per_cp_neglect_child_ci95_lower": "Identified per CP-neglect child, 95 % from",
    "identified_per_cp_neglect_child_ci95_upper": "Identified per CP-neglect child, 95 % to",
    "cp_neglect_share_pct": "On a CP plan under neglect %",
    "cp_neglect_share_ci95_lower_pct": "On a CP plan %, 95 % from",
    "cp_neglect_share_ci95_upper_pct": "On a CP plan %, 95 % to", "cp_neglect_children": "CP-neglect children (tier 1)",
    "identified_children": "Identified children (tiers 1-4)", "indicator": "Indicator code",
    "indicator_label": "Indicator", "definition": "Definition", "numerator": "Children / plans",
    "denominator": "Out of", "rate_pct": "%", "ci95_lower_pct": "95 % from (%)", "ci95_upper_pct": "95 % to (%)",
    "ci998_lower_pct": "99.8 % from (%)", "ci998_upper_pct": "99.8 % to (%)", "data_complete": "Data complete",
    "note": "Note", "previous_period_end": "A year earlier", "previous_rate_pct": "A year earlier (%)",
    "direction_of_travel": "vs a year ago", "source": "Source", "source_label": "Source name", "files": "Files",
    "rows_read": "Rows read", "rows_loaded": "Rows loaded", "rows_rejected": "Rows rejected",
    "rows_not_loaded": "Rows not loaded", "nhs_number_pct": "NHS number %", "upn_pct": "UPN %",
    "dob_pct": "Date of birth %", "postcode_pct": "Postcode %", "postcode_matched_pct": "Postcode found %",
    "validity_pct": "Valid %", "rule": "Rule", "person_type": "Person", "linked_pct": "Records linked %",
    "persons": "Persons", "file": "File", "sheet": "Sheet", "reason": "Why",
    "authority_present": "Authority supplied data",
    "topic": "Topic", "item": "Item", "text": "Text",
}
LABELS |= {k: v for k, v in JOURNEY_LABELS.items() if k not in LABELS}  # the journeys section's (issue 21)
_BENCHMARK_LABELS = {  # the benchmarks' (issue 20); a column another table already names keeps its heading
    "dfe_numerator": "DfE count", "dfe_denominator": "DfE denominator", "source_table": "Source and year",
    "population_source": "Population source", "time_period": "DfE year", "table_id": "DfE table",
    "value": "Value", "value_note": "Value note", "unit": "Unit", "england_value": "England",
    "england_note": "England note", "region_name": "Region", "region_value": "Region's value",
    "neighbours_compared": "Neighbours with a value", "neighbour_median": "Neighbours' median",
    "neighbour_lowest": "Neighbours' lowest", "neighbour_highest": "Neighbours' highest",
    "neighbour_q1": "Neighbours' lower quartile", "neighbour_q3": "Neighbours' upper quartile",
    "neighbour_range": "Neighbours' range", "rank_among_neighbours": "Rank among neighbours",
    "ranked_of": "Ranked of", "vs_england_95": "vs England (95 %)", "vs_england_998": "vs England (99.8 %)",
    "local_period_end": "This product's figure at", "local_percent": "This product's figure (%)",
    "lower_998": "99.8 % limit, lower", "lower_95": "95 % limit, lower", "upper_95": "95 % limit, upper",
    "upper_998": "99.8 % limit, upper", "funnel_position": "Against England", "in_partnership": "In the partnership",
    "neighbour_of": "Neighbour of"}
LABELS |= {k: v for k, v in _BENCHMARK_LABELS.items() if k not in LABELS}
BENCHMARK_TABLES = ("benchmarks", "benchmark_funnel")
LABELS |= {k: v for k, v in COMMISSIONING_LABELS.items() if k not in LABELS}  # the commissioning page's (issue 20)
# number formats of the workbook, by the kind of figure a column holds (see :func:`number_format`)
FORMATS = {"count": "#,##0", "rate": "#,##0.0", "percent": '0.0"%"', "ratio": "0.0", "threshold": "0.00",
           "year": "0"}
YEARS = {"projection_year", "current_mid_year", "snpp_base_year"}  # a year is no count: 2026, not 2,026
_COUNTS = {"children", "population", "observed", "numerator", "denominator", "files", "rows_read", "rows_loaded",
           "rows_rejected", "rows_not_loaded", "persons", "cp_neglect_children", "identified_children", "estimate",
           "at_least"} | JOURNEY_COUNTS | COMMISSIONING_COUNTS


def label(column: str) -> str:
    """The workbook heading of ``column`` (a count's marker column: '<heading>: marker')."""
    if column.endswith(MARKER):
        return f"{label(column[:-len(MARKER)])}: marker"
    return LABELS.get(column, column.replace("_", " ").capitalize())


def column_of_label(heading: str, columns=None) -> str:
    """The column name of a workbook heading (the inverse of :func:`label`)."""
    names = list(columns) if columns is not None else list(LABELS)
    for name in names + [n + MARKER for n in names]:
        if label(name) == heading:
            return name
    return heading


def number_format(table: str, column: str) -> str | None:
    """The Excel number format of a numeric column: counts whole (estimates of hidden prevalence are counts
    rounded to 10, their interval too), rates per 10,000 to 1 decimal place, percentages (0-100) to 1 decimal
    place with a % sign, ratios to 1 decimal place, linkage thresholds to 2; None: not a number."""
    if column in _COUNTS or (table in ("hidden", "projection") and column in ("ci95_lower", "ci95_upper")):
        return FORMATS["count"]
    if column.endswith("_pct") or column == "rate_pct":
        return FORMATS["percent"]
    if column.startswith("identified_per"):
        return FORMATS["ratio"]
    if column == "linkage_threshold":
        return FORMATS["threshold"]
    if column in ("horizon_quarters", "horizon_years"):  # cohorts followed 4 or 8 quarters on; years ahead
        return FORMATS["count"]
    if column in YEARS:
        return FORMATS["year"]
    if table == "journey_thresholds" and column == "value":  # a percentage or a mean (score, factors, years)
        return FORMATS["rate"]
    if table in BENCHMARK_TABLES:  # values are % or per 10,000 (the row's unit), both to 1 decimal place
        if column == "time_period":
            return FORMATS["year"]
        if column in ("dfe_numerator", "dfe_denominator", "rank_among_neighbours", "ranked_of", "neighbours_compared"):
            return FORMATS["count"]
        if column == "local_percent":
            return FORMATS["percent"]
        if column in ("value", "england_value", "region_value") or column.startswith(("neighbour_", "lower_", "upper_")):
            return FORMATS["rate"]
    if "rate" in column or column.startswith(("ci95", "ci998")):
        return FORMATS["rate"]
    return None


def _area_column(pub: Publication, frame: pd.DataFrame) -> pd.Series:
    if "la_name" in frame:
        return frame["la_name"].astype("object")
    if "la_code" in frame:
        names = dict(pub.areas)
        return frame["la_code"].map(lambda code: names.get(code, code)).astype("object")
    return pd.Series(dict(pub.areas)["partnership"], index=frame.index, dtype=object)


def export_frame(pub: Publication, name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """A published table as the exports and the published marts hold it (DataFrame, column names of the
    data dictionary):

    * first ``quarter_end`` (the pack's quarter, ISO date) and ``area`` (the authority's name, or the
      partnership's for tables of the whole partnership), so every file says what it covers;
    * every count column numeric (whole numbers, empty where not published) with a ``<count>_marker``
      column beside it: ``c`` suppressed, ``x`` not available, ``z`` not applicable (a blank the table
      leaves for a row where the count has no meaning), empty when the number is shown. One
      convention for the CSV files, the workbook and the published marts; the ``<count>_suppressed``
      flags of the report are replaced by the marker;
    * dates as dates, lists joined with "; ", the report's ``_cell_*`` keys left out, and text a
      spreadsheet would run as a formula prefixed with ``'``.
    """
    out = frame.drop(columns=[c for c in frame.columns if str(c).startswith("_")])  # _cell_*: for the HTML only
    for column in [c for c in out.columns if f"{c}_suppressed" in out.columns] + \
            [c for c in out.columns if c in _COUNTS and out[c].dtype == object and f"{c}_suppressed" not in out]:
        values = out[column].astype("object")
        marker = values.map(lambda v: v if isinstance(v, str) and v in MARKERS else
                            NOT_APPLICABLE if v is None or (not isinstance(v, str) and pd.isna(v)) else "")
        numbers = values.where(marker == "", None).map(lambda v: None if v is None or pd.isna(v) else int(v))
        out[column] = pd.array(numbers.tolist(), dtype="Int64")
        out.insert(out.columns.get_loc(column) + 1, column + MARKER, marker.astype(object))
        out = out.drop(columns=[f"{column}_suppressed"], errors="ignore")
    for column in out.columns:
        if out[column].dtype.kind == "M":
            out[column] = out[column].dt.date
        elif out[column].dtype == "object" and out[column].map(lambda v: isinstance(v, list)).any():
            out[column] = out[column].map(lambda v: "; ".join(map(str, v)) if isinstance(v, list) else v)
    area = _area_column(pub, out)
    out = out.drop(columns=[c for c in ("quarter_end", "area", "la_name") if c in out])
    out.insert(0, "area", area)
    out.insert(0, "quarter_end", pub.quarter_end.isoformat())
    return neutralise(out)


def notes_frame(pub: Publication) -> pd.DataFrame:
    meta = pub.meta
    rows = [("Report", f"{meta['partnership_name']}: neglect, quarter ending {meta['quarter_end']:%d %B %Y}"),
            ("Suppression", f"Counts from 1 to {pub.threshold - 1} are shown as c, with further cells suppressed where "
                            "they could be worked out from any table of this or another quarter's pack, or of an "
                            "earlier version of it; every figure made from a suppressed count is blank."),
            ("Markers", "A count that is not shown is an empty cell, and the column beside it ('...: marker' in the "
                        "workbook, '<column>_marker' in the CSV files) says why: c = suppressed, x = not available "
                        "(its source was not supplied). So every number column holds numbers only."),
            ("Source", "Produced by the neglect-prevalence pipeline from the partnership's extracts; no names, "
                       "identifiers or dates of birth are in this workbook.")]
    if meta.get("revised"):
        rows.append(("Revisions", f"{meta['revised']:,} figure(s) published in an earlier pack have been revised by "
                                  "later records; the earlier values stay in the partnership's publication history."))
    rows += [(f"Sheet: {name}", note) for name, note in pub.notes.items() if name in pub.tables]
    rows += [(f"{r.topic}: {r.item}", r.text) for r in pub.tables["methods"].itertuples()]
    return pd.DataFrame(rows, columns=["item", "note"])


def write_workbook(pub: Publication, path: Path) -> Path:
    """The workbook: a Notes sheet, then one sheet per published table (:func:`export_frame`), each with
    bold friendly headings (:data:`LABELS`), the heading row frozen, a filter on every column, number formats
    by column (:func:`number_format`) and a marker column beside each count. The same tables always give the
    same bytes (:func:`make_reproducible`)."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    path.parent.mkdir(parents=True, exist_ok=True)
    sheets = {"Notes": export_frame(pub, "notes", notes_frame(pub))}
    sheets |= {name[:31]: export_frame(pub, name, frame) for name, frame in pub.tables.items() if name != "methods"}
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for title, frame in sheets.items():
            frame.rename(columns=label).to_excel(writer, sheet_name=title, index=False)
            sheet = writer.sheets[title]
            for cell in sheet[1]:
                cell.font = Font(bold=True)
            sheet.freeze_panes = "A2"
            sheet.auto_filter.ref = sheet.dimensions
            for index, column in enumerate(frame.columns, start=1):
                letter = get_column_letter(index)
                width = max([len(label(column))] + [len(str(v)) for v in frame[column].head(200)])
                sheet.column_dimensions[letter].width = min(max(width + 2, 8), 60)
                fmt = number_format(title, column) if frame[column].dtype.kind in "iuf" else None
                if fmt:
                    for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                        cell.number_format = fmt
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
    """Each published table (and the notes) as ``<table>.csv``: UTF-8 with a byte-order mark (so Excel reads
    it), the columns of :func:`export_frame` (a ``quarter_end`` and an ``area`` column in every file; counts
    numeric with a ``<count>_marker`` column)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in {"notes": notes_frame(pub), **pub.tables}.items():
        path = folder / f"{name}.csv"
        export_frame(pub, name, frame).to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
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


def chromium_for_kaleido() -> str | None:
    """:func:`find_chromium`, and Kaleido pointed at it (``BROWSER_PATH``: a stale one naming no file is replaced)."""
    browser = find_chromium()
    if browser is not None:
        os.environ["BROWSER_PATH"] = browser
    return browser


# the libraries between Plotly and the browser; a failure of theirs raises, and write_pngs says so in its message
BROWSER_LIBRARIES = ("kaleido", "choreographer")


@contextmanager
def _browser_libraries_quiet():
    """Inside the block, the browser libraries' own log records are dropped. Choreographer logs, with its
    traceback, a message from Chromium it could not decode and then ignores ("JSONError decoding message.
    Ignoring"); with no handler configured Python prints that on the analyst's terminal. What fails raises
    anyway (:func:`write_pngs` reports it)."""
    loggers = [logging.getLogger(name) for name in BROWSER_LIBRARIES]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


# Kaleido says so when a call passes options (Plotly passes its plotly.js settings) while one browser is kept open
# (browser_kept_open): the open browser draws with the same plotly.js, and the PNGs are the same bytes
warnings.filterwarnings("ignore", message="The kopts argument is ignored if using a server", category=UserWarning)


@contextmanager
def browser_kept_open():
    """Inside the block one Chromium is kept running for every chart drawn (Kaleido's sync server), started now in
    the background: the charts do not wait for a browser to start (about 2 s a call), and the board pack starts it
    before its disclosure control so that it is ready when the charts are. Without a Chromium, or if Kaleido cannot
    keep one, the block runs as without it (each drawing then starts its own, or says why it cannot)."""
    started = False
    if chromium_for_kaleido() is not None:
        try:
            import kaleido

            kaleido.start_sync_server(silence_warnings=True)
            started = True
        except Exception:  # noqa: BLE001  (no server: the charts start their own browser)
            pass
    try:
        yield
    finally:
        if started:
            try:
                kaleido.stop_sync_server(silence_warnings=True)
            except Exception:  # noqa: BLE001  (a browser that will not close must not fail the pack)
                pass


def write_pngs(figures: dict, folder: Path, width: int = 1100, height: int | None = None,
               cache: KeyedCache | None = None) -> tuple[list[Path], str]:
    """Each figure as ``<name>.png`` in ``folder``, laid out ``width`` px wide and drawn at :data:`PNG_SCALE`
    times that (print resolution). ``cache``: charts drawn before from the same figure are copied from it and
    only the others drawn (:mod:`dashboards.chart_cache`; None: draw every one). Returns (paths, message); no
    Chromium -> ([], why). :func:`start_pngs` does the same while the caller goes on."""
    return start_pngs(figures, folder, width, height, cache).result()


def start_pngs(figures: dict, folder: Path, width: int = 1100, height: int | None = None,
               cache: KeyedCache | None = None) -> "PngDrawing":
    """As :func:`write_pngs`, but the charts not in ``cache`` are drawn in a background thread: the caller goes
    on (the browser draws on another core) and calls ``.result()`` for (paths, message). The cache is read here
    and written in ``.result()``, both in the caller's thread, so a DuckDB connection is never shared."""
    return PngDrawing(figures, folder, width, height, cache)


class PngDrawing:
    """Charts being drawn (see :func:`start_pngs`)."""

    def __init__(self, figures: dict, folder: Path, width: int, height: int | None, cache: KeyedCache | None):
        self.figures, self.cache, self.failure = figures, cache, None
        self.browser = chromium_for_kaleido()
        if self.browser is None:
            return
        folder.mkdir(parents=True, exist_ok=True)
        self.paths = {name: folder / f"{name}.png" for name in figures}
        heights = {name: figure.layout.height or height or 450 for name, figure in figures.items()}
        self.keys = {name: chart_key(figure, width, heights[name], PNG_SCALE, self.browser)
                     for name, figure in figures.items()} if cache is not None else {}
        drawn_before = cache.get(sorted(set(self.keys.values()))) if cache is not None else {}
        self.to_draw = [name for name in figures if self.keys.get(name) not in drawn_before]
        for name in figures:
            if name not in self.to_draw:
                self.paths[name].write_bytes(drawn_before[self.keys[name]])
        self.thread = threading.Thread(target=self._draw, args=(width, heights), daemon=True)
        self.thread.start()

    def _draw(self, width: int, heights: dict) -> None:
        import plotly.io as pio

        try:
            if self.to_draw:
                with _browser_libraries_quiet():
                    pio.write_images([self.figures[n] for n in self.to_draw], [self.paths[n] for n in self.to_draw],
                                     format="png", width=width, scale=PNG_SCALE,
                                     height=[heights[n] for n in self.to_draw])
        except Exception as exc:  # a broken browser must not stop the board pack
            self.failure = exc

    def result(self) -> tuple[list[Path], str]:
        """Wait for the drawing; (paths written, message for the run's log)."""
        if self.browser is None:
            return [], ("PNG charts skipped: no Chromium found. Install Debian's chromium (apt-get install chromium) "
                        "or set BROWSER_PATH to a Chrome, then re-run the dashboards.")
        self.thread.join()
        if self.failure is not None:
            for path in self.paths.values():
                path.unlink(missing_ok=True)
            return [], (f"PNG charts skipped: the static export failed ({type(self.failure).__name__}: "
                        f"{self.failure})")
        # Kaleido writes no file, and says nothing, for a figure it cannot draw (a flow chart whose flows are all
        # suppressed or empty): such a chart is left out and named, not kept in the cache, and the pack goes on
        not_drawn = [n for n in self.to_draw if not self.paths[n].is_file()]
        if self.cache is not None:
            self.cache.put({self.keys[n]: self.paths[n].read_bytes() for n in self.to_draw if n not in not_drawn})
        written = [self.paths[n] for n in self.figures if n not in not_drawn]
        copied = len(self.figures) - len(self.to_draw)
        return written, (f"{len(written)} PNG charts written with {self.browser}"
                         + (f" ({copied} unchanged since last drawn, copied from the cache)" if copied else "")
                         + (f"; the static export drew nothing for {len(not_drawn)} (an empty chart, no PNG): "
                            + ", ".join(not_drawn) if not_drawn else ""))
