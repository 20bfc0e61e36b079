"""The board report's style sheet, for the screen and for the printed board paper (A4 landscape).

The page is laid out at the width of an A4 landscape page's text block (277 mm, about 1,040 CSS px) on
screen too, so the charts Plotly draws on screen are the ones that print: Plotly sizes its SVG once, in
pixels, and a browser printing does not wait for it to redraw. Print rules:

* every page: a running header (partnership, quarter, protective marking) and footer (marking, "Page n of
  N") in CSS page-margin boxes (``@page { @top-left { ... } }``, printed by Chromium 131 and later);
* each area, the data quality and the methods start a page; headings are kept with what follows them
  (``break-after: avoid``) and a chart, table row or summary block is never split (``break-inside: avoid``);
* what only works on screen (navigation, "View as table", CSV links) is left out.
"""
from __future__ import annotations

DEFAULT_MARKING = "OFFICIAL-SENSITIVE"
PAGE_WIDTH_PX = 1040  # the text block of A4 landscape with 10 mm margins (277 mm at 96 px per inch), less a little

SCREEN = f"""
body {{ font-family: Arial, sans-serif; color: #222; margin: 0 auto; width: {PAGE_WIDTH_PX}px; max-width: 100%;
  padding: 0 0 40px; }}
h1 {{ font-size: 24px; margin: 14px 0 4px; }} h2 {{ font-size: 21px; border-bottom: 3px solid #1f4e79;
  padding-bottom: 4px; margin: 18px 0 8px; }}
h3 {{ font-size: 16px; margin: 14px 0 4px; color: #1f4e79; }} p, li {{ font-size: 14px; line-height: 1.4; }}
p {{ margin: 6px 0; }} ul {{ margin: 4px 0; }}
.headline {{ font-size: 16px; background: #eef4fa; border-left: 6px solid #1f4e79; padding: 8px 12px; }}
.note {{ color: #555; font-size: 12.5px; }} nav a {{ margin-right: 14px; font-weight: bold; color: #1f4e79; }}
a {{ color: #1f4e79; }}
table {{ border-collapse: collapse; margin: 6px 0 10px; font-size: 12.5px; }}
th, td {{ border: 1px solid #bbb; padding: 3px 7px; text-align: right; }} th {{ background: #f2f2f2; }}
td.text, th.text {{ text-align: left; }} tbody th {{ font-weight: normal; background: none; }}
.grid2 {{ display: grid; grid-template-columns: 1fr 1fr; gap: 6px 10px; }}
.grid3 {{ display: grid; grid-template-columns: 1fr 1fr 1fr; gap: 6px 8px; }}
.grid2 > *, .grid3 > * {{ min-width: 0; }}
.up {{ color: #1f4e79; }} .down {{ color: #2d6aa3; }}
.chart {{ break-inside: avoid; }}
details.data {{ margin: 0 0 8px; font-size: 12.5px; }} details.data summary {{ cursor: pointer; color: #1f4e79; }}
details.data table {{ font-size: 12px; }}
.summary-page h1 {{ margin-top: 0; }}
.summary-grid {{ display: grid; grid-template-columns: 1.15fr 1fr; gap: 4px 18px; }}
.summary-page table {{ font-size: 12.5px; margin: 4px 0 6px; }}
.summary-page p, .summary-page li {{ font-size: 13px; line-height: 1.3; margin: 3px 0; }}
.summary-page h2.minor {{ font-size: 16px; color: #1f4e79; border: 0; margin: 8px 0 3px; padding: 0; }}
.light {{ display: inline-block; padding: 2px 10px; border-radius: 10px; font-weight: bold; border: 2px solid #222; }}
.light-green {{ background: #d5ecd4; color: #14501a; }} .light-amber {{ background: #fbe3b5; color: #6b4200; }}
.light-red {{ background: #f6cfcc; color: #7a1410; }}
.marking {{ font-weight: bold; letter-spacing: 0.5px; }}
table.benchmarks td {{ white-space: nowrap; }} table.benchmarks td:nth-child(2) {{ white-space: normal; font-size: 11px; }}
"""

PRINT = """
@media print {
  nav, .noprint, .screen-only, details.data { display: none !important; }
  body { width: PAGE_WIDTHpx; max-width: none; padding: 0; }
  section.area, section.quality, section.methods { break-before: page; }
  h1, h2, h3, .keep-with-next { break-after: avoid; page-break-after: avoid; }
  .chart, table, tr, .headline, .summary-block, .grid2 > *, .grid3 > * { break-inside: avoid; }
  table.long { break-inside: auto; } table.long tr { break-inside: avoid; }
  table { font-size: 11.5px; margin: 4px 0 6px; } th, td { padding: 2px 5px; }
  p, li { orphans: 3; widows: 3; }
  a { color: inherit; text-decoration: none; }
}
"""


PRINT = PRINT.replace("PAGE_WIDTH", str(PAGE_WIDTH_PX))


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal (quotes and backslashes escaped, no line breaks)."""
    text = " ".join(str(text).split()).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text.replace("<", "\\3c ").replace(">", "\\3e ") + '"'  # no "</style>" from a setting


def page_css(partnership: str, quarter: str, marking: str = DEFAULT_MARKING) -> str:
    """``@page``: A4 landscape, the running header (partnership and quarter at the left, the protective
    marking in the middle) and footer (marking, page n of N)."""
    marking = marking or DEFAULT_MARKING
    title = _css_string(f"{partnership}: neglect, quarter ending {quarter}")
    mark = _css_string(marking)
    box = "font-family: Arial, sans-serif; font-size: 9pt; color: #333;"
    return f"""
@page {{ size: A4 landscape; margin: 10mm 10mm 9mm 10mm;
  @top-left {{ content: {title}; {box} width: 75%; }}
  @top-right {{ content: {mark}; {box} font-weight: bold; width: 25%; }}
  @bottom-left {{ content: {mark}; {box} font-weight: bold; }}
  @bottom-right {{ content: "Page " counter(page) " of " counter(pages); {box} }}
}}
"""


def report_css(partnership: str, quarter: str, marking: str = DEFAULT_MARKING) -> str:
    """The whole style sheet of the report."""
    return SCREEN + page_css(partnership, quarter, marking) + PRINT
