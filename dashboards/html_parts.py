"""Pieces of the board report's HTML: published counts, tables, and charts with their data.

Every count is written by :func:`count_html`, with ``data-count`` (what is shown: a number, ``c`` or ``x``)
and, when known, ``data-cell`` (the cell of :mod:`dashboards.publication`), so tests and
:mod:`dashboards.audit` can read every count the page shows. A figure that must read the same wherever it
appears (the summary page and the area's sections) carries ``data-figure`` (area and concept) on each copy.

:class:`Charts` draws a figure and, under it, "View as table" (the published rows the chart is drawn from)
and a link to the same rows as CSV, held in the page itself (a ``data:`` URI), so it works offline and
when the report is e-mailed without its exports folder.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from urllib.parse import quote

import pandas as pd
import plotly.graph_objects as go

from . import figures as F
from .exports import export_frame
from .tables import Publication

ARROW = {"up": "▲ up", "down": "▼ down", "no significant change": "▬ no significant change",
         "higher": "▲ higher", "lower": "▼ lower"}


def esc(value) -> str:
    return html.escape("" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value))


def count_html(value, cell_key: str | None = None, tag: str = "td", figure: str | None = None) -> str:
    """A published count (number or c) with ``data-count`` and, when known, ``data-cell`` (the cell it
    is, :mod:`dashboards.publication`), so a reader of the HTML can check every count it shows."""
    shown = F.fmt_count(value)
    cell = f' data-cell="{esc(cell_key)}"' if isinstance(cell_key, str) else ""
    fig = f' data-figure="{esc(figure)}"' if isinstance(figure, str) else ""
    return f'<{tag} data-count="{esc(shown)}"{cell}{fig}>{esc(shown)}</{tag}>'


def figure_html(text: str, key: str | None, tag: str = "b") -> str:
    """A derived figure (a rate, a ratio ...) as text, marked ``data-figure`` when ``key`` is given."""
    attribute = f' data-figure="{esc(key)}"' if key else ""
    return f"<{tag}{attribute}>{esc(text)}</{tag}>"


def _cell(column: str, value, record: dict, counts, text, digits: int) -> str:
    figure = record.get(f"_figure_{column}")
    attribute = f' data-figure="{esc(figure)}"' if isinstance(figure, str) else ""
    if column in counts:
        return count_html(value, record.get(f"_cell_{column}"), figure=figure if isinstance(figure, str) else None)
    if column in text:
        return f'<td class="text"{attribute}>{esc(ARROW.get(value, value) if isinstance(value, str) else value)}</td>'
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        places = digits.get(column, 1) if isinstance(digits, dict) else digits
        return f"<td{attribute}>{'' if pd.isna(value) else f'{value:,.{places}f}'}</td>"
    return f"<td{attribute}>{esc(ARROW.get(value, value) if isinstance(value, str) else value)}</td>"


def html_table(frame: pd.DataFrame, columns: dict[str, str], counts: tuple[str, ...] = (),
               text: tuple[str, ...] = (), digits: int | dict = 1, css: str = "") -> str:
    """A table of ``frame``'s ``columns`` (name -> heading). Count columns show the published value and
    carry ``data-count`` (and ``data-cell`` from the frame's ``_cell_<column>``); numbers are formatted
    (``digits``: decimal places, or a dict by column); text columns align left; a ``_figure_<column>``
    column marks that column's cells ``data-figure``."""
    head = "".join(f'<th scope="col" class="{"text" if c in text else ""}">{esc(h)}</th>'
                   for c, h in columns.items())
    keys = [c for c in frame.columns if str(c).startswith(("_cell_", "_figure_"))]
    rows = []
    for record in frame[list(columns) + keys].to_dict("records"):
        cells = [_cell(column, record[column], record, counts, text, digits) for column in columns]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    klass = f' class="{css}"' if css else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


@dataclass
class ChartData:
    """The published rows a chart is drawn from: ``frame`` (rows of published table ``table``), the
    ``columns`` shown (name -> heading) and which are counts or text, as for :func:`html_table`."""

    table: str
    frame: pd.DataFrame
    columns: dict[str, str]
    counts: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    digits: int | dict = 1
    extra: list[str] = field(default_factory=list)  # further columns for the CSV only

    def csv_text(self, pub: Publication) -> str:
        """The rows as the exports write them (:func:`dashboards.exports.export_frame`: quarter, area, counts
        numeric with a marker column)."""
        keep = [c for c in [*self.columns, *self.extra, "la_code", "la_name"] if c in self.frame]
        keep = list(dict.fromkeys(keep + [f"{c}_suppressed" for c in self.counts if f"{c}_suppressed" in self.frame]))
        return export_frame(pub, self.table, self.frame[keep]).to_csv(index=False, lineterminator="\r\n")


class Charts:
    """Figures as HTML divs (plotly.js is embedded once, in the page head), each with its data."""

    def __init__(self, pub: Publication):
        self.pub = pub
        self.count = 0
        self.figures: dict[str, go.Figure] = {}

    def __call__(self, name: str, figure: go.Figure, data: ChartData | None = None) -> str:
        self.count += 1
        self.figures[name] = figure
        div = figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{self.count}",
                             config={"displaylogo": False, "responsive": True,
                                     "toImageButtonOptions": {"format": "png", "filename": name, "scale": 2}})
        title = figure.layout.title.text or name
        return (f'<div class="chart" data-chart="{esc(name)}" role="figure" aria-label="{esc(title)}">{div}'
                f"{self.data_html(name, data) if data is not None else ''}</div>")

    def data_html(self, name: str, data: ChartData) -> str:
        """'View as table' (the chart's published rows) and the same rows as a CSV download."""
        table = html_table(data.frame, data.columns, data.counts, data.text, data.digits)
        href = "data:text/csv;charset=utf-8," + quote("\ufeff" + data.csv_text(self.pub))
        return (f'<details class="data noprint"><summary>View as table</summary>{table}</details>'
                f'<p class="noprint note"><a download="{esc(name)}.csv" href="{href}">Download the data of '
                f"this chart (CSV)</a></p>")
