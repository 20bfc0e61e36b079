"""``quality.summary``: per source, authority and period, how complete and valid the data is.

Unpartitioned: rebuilt from ``quality.load_audit``, ``quality.rejects``,
``quality.rule_findings`` and the raw tables after the extracts of a run are loaded
(see :mod:`models.quality_summary` for the columns). Also writes
``output/data_docs/index.html`` linking each source's Great Expectations Data Docs.
"""
import html

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from models.quality_summary import summary_sql

from ..ingest.write import ensure_quality_tables
from ..resources import OutputFolder, WarehouseResource
from .cin_census import CIN_CENSUS_KEY
from ..ingest.extract_files import EXTRACTS
from .population import WAREHOUSE_POOL


@asset(
    key=AssetKey(["quality", "summary"]),
    group_name="quality",
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
    deps=[CIN_CENSUS_KEY, *[e.key for e in EXTRACTS]],
    description="Per source, authority and quarter: rows read/loaded/rejected, rejects by rule, completeness of "
                "each linkage key (NHS number, UPN, date of birth, postcode) and validity % (quality.summary).",
)
def quality_summary(context: AssetExecutionContext, warehouse: WarehouseResource,
                    output: OutputFolder) -> MaterializeResult:
    with warehouse.get_connection() as conn:
        ensure_quality_tables(conn)
        existing = {r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables "
                                               "WHERE table_schema = 'raw'").fetchall()}
        conn.execute(summary_sql(existing))
        rows = conn.execute("SELECT count(*) FROM quality.summary").fetchone()[0]
        by_source = conn.execute("""
            SELECT source, sum(rows_read), sum(rows_rejected), round(avg(validity_pct), 1)
            FROM quality.summary GROUP BY source ORDER BY source""").fetchall()
    table = ["| source | rows read | rows rejected | mean validity % |", "|---|---:|---:|---:|"]
    table += [f"| {s} | {r:,} | {j:,} | {v} |" for s, r, j, v in by_source]
    index = _write_docs_index(output.root / "data_docs")
    metadata = {"dagster/row_count": int(rows), "by_source": MetadataValue.md("\n".join(table))}
    if index:
        metadata["data_docs"] = MetadataValue.path(str(index))
    return MaterializeResult(metadata=metadata)


def _write_docs_index(folder):
    """A page linking each source's Data Docs (``<source>/index.html``); None when there are none."""
    sites = sorted(p.parent.name for p in folder.glob("*/index.html")) if folder.is_dir() else []
    if not sites:
        return None
    items = "\n".join(f'<li><a href="{html.escape(s)}/index.html">{html.escape(s)}</a></li>' for s in sites)
    index = folder / "index.html"
    index.write_text("<!doctype html><meta charset='utf-8'><title>Data Docs</title>"
                     "<h1>Great Expectations Data Docs by source</h1>"
                     f"<ul>\n{items}\n</ul>\n", encoding="utf-8")
    return index
