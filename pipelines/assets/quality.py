"""``quality.summary``: per source, authority and period, how complete and valid the data is.

Unpartitioned: rebuilt from ``quality.load_audit``, ``quality.rejects``,
``quality.rule_findings`` and the raw tables after the extracts of a run are loaded
(see :mod:`models.quality_summary` for the columns). Also writes
``output/data_docs/index.html`` linking each source's Great Expectations Data Docs.
"""
import html

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from ingest.write import ensure_quality_tables, table_columns
from models.quality_summary import summary_sql

from ..resources import IncomingExtracts, OutputFolder, WarehouseResource
from .population import WAREHOUSE_POOL


QUALITY_SUMMARY_KEY = AssetKey(["quality", "summary"])


def build_quality_summary(source_keys: list[AssetKey]):
    """The ``quality/summary`` asset, downstream of every source asset."""
    return asset(
        key=QUALITY_SUMMARY_KEY,
        group_name="quality",
        pool=WAREHOUSE_POOL,
        kinds={"duckdb"},
        deps=source_keys,
        description="Per source, authority and period: supplied or not, rows read/loaded/rejected, rejects by rule, "
                    "completeness of each linkage key (NHS number, UPN, date of birth, postcode) and validity % "
                    "(quality.summary).",
    )(quality_summary)


def quality_summary(context: AssetExecutionContext, warehouse: WarehouseResource, extracts: IncomingExtracts,
                    output: OutputFolder) -> MaterializeResult:
    with warehouse.get_connection() as conn:
        ensure_quality_tables(conn)
        tables = {s.name: (s.tables[0], table_columns(conn, f"raw.{s.tables[0]}"))
                  for s in extracts.registry().partitioned()}
        conn.execute(summary_sql({name: t for name, t in tables.items() if t[1] is not None}))
        rows = conn.execute("SELECT count(*) FROM quality.summary").fetchone()[0]
        by_source = conn.execute("""
            SELECT source, sum(rows_read), sum(rows_rejected), round(avg(validity_pct), 1)
            FROM quality.summary GROUP BY source ORDER BY source""").fetchall()
    table = ["| source | rows read | rows rejected | mean validity % |", "|---|---:|---:|---:|"]
    table += [f"| {s} | {r:,} | {j:,} | {v} |" if r is not None else f"| {s} | not supplied | | |"
              for s, r, j, v in by_source]
    index = _write_docs_index(output.root / "data_docs")
    metadata = {"dagster/row_count": int(rows), "by_source": MetadataValue.md("\n".join(table))}
    if index:
        metadata["data_docs"] = MetadataValue.path(str(index))
    return MaterializeResult(metadata=metadata)


def _write_docs_index(folder):
    """A page linking every source's Data Docs pages; None when there are none.

    GX's own index pages list their contents with JavaScript loaded from the web, so offline
    (a locked-down council laptop) they look empty: this page links the static pages directly.
    """
    sites = sorted(p.parent for p in folder.glob("*/index.html")) if folder.is_dir() else []
    if not sites:
        return None
    sections = []
    for site in sites:
        pages = sorted(site.glob("validations/**/*.html")) + sorted(site.glob("expectations/*.html"))
        links = "\n".join(f'<li><a href="{html.escape(p.relative_to(folder).as_posix())}">'
                          f'{"validation" if "validations" in p.parts else "suite"}: '
                          f'{html.escape(p.stem)}</a></li>' for p in pages)
        sections.append(f"<h2>{html.escape(site.name)}</h2>\n<ul>\n{links}\n</ul>")
    index = folder / "index.html"
    index.write_text("<!doctype html><meta charset='utf-8'><title>Data Docs</title>"
                     "<h1>Great Expectations Data Docs by source</h1>\n"
                     "<p>Validation results of the latest load of each source, and the expectation suites "
                     "(checks/expectations/). The pages show counts and rule codes, never data values.</p>\n"
                     + "\n".join(sections) + "\n", encoding="utf-8")
    return index
