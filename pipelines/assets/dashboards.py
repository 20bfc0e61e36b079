"""The board report and its exports, one set per quarter (see :mod:`dashboards`).

``dashboards/board_report`` and ``dashboards/exports`` are one computation (the published tables,
after disclosure control, are built once and drawn into both), partitioned by quarter, downstream of
every mart. For a quarter ending ``YYYY-MM-DD`` they write to ``output/dashboards/YYYY-MM-DD/``:

* ``neglect_board_report_YYYY-MM-DD.html``: the self-contained board report;
* ``exports/neglect_tables_YYYY-MM-DD.xlsx`` and ``exports/csv/*.csv``: every published table;
* ``exports/png/*.png``: each chart, for the latest quarter of the run only (static export needs a
  Chromium and takes about 0.3 s a chart; re-materialise a partition to make its PNGs). A chart whose
  figure is as it was when last drawn is copied from the warehouse's ``cache.chart_pngs``
  (:mod:`dashboards.chart_cache`), not drawn again. The others are drawn by the browser in the
  background (:func:`dashboards.exports.start_pngs`) while the workbook, CSV and mart files are written,
  by one Chromium started when the pack starts (:func:`dashboards.exports.browser_kept_open`).

and ``dashboards/mart_files`` writes ``output/marts/`` (:mod:`dashboards.mart_files`): the published
tables of the run's packs (also the warehouse schema ``published``), the unsuppressed aggregate marts
for the analyst only, as Parquet and CSV, and the data dictionary from the warehouse's column comments.

Disclosure control is chosen once per run for everything it publishes, every quarter up to its latest
and every earlier version (:func:`dashboards.publication.protect_refresh`), and the run is recorded in
``marts.publication_history`` (what each pack showed; a new version when counts changed). The same
warehouse and history give the same files, byte for byte.
"""
from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, AssetSpec, BackfillPolicy, MaterializeResult, MetadataValue, \
    multi_asset

from dashboards.chart_cache import chart_cache
from dashboards.exports import browser_kept_open, start_pngs, write_csvs, write_workbook
from dashboards.mart_files import ANALYST_FOLDER, PUBLISHED_FOLDER, write_mart_files, write_published_tables
from dashboards.figures import geojson_of
from dashboards.publication import protect_refresh, record_publication
from dashboards.report import write_report
from dashboards.tables import build_publication
from models.marts.comments import apply_comments
from models.marts.definitions import load_definitions

from ..partitions import quarter_end, quarterly_partitions
from ..resources import OutputFolder, WarehouseResource
from ..settings import Settings
from .journey_marts import COHORT_KEY, CONVERSION_KEY, EPISODES_KEY, GCP2_KEY, PROFILE_KEY, TRANSITIONS_KEY
from .linkage import LINKAGE_SUMMARY_KEY
from .marts import (BENCHMARK_KEY, COMMISSIONING_KEY, HIDDEN_KEY, IDENTIFICATION_KEY, PRACTICE_KEY, PREVALENCE_KEY,
                    PROJECTION_KEY, TREND_KEY)
from .population import WAREHOUSE_POOL
from .reuse import output_files, reusable

JOURNEY_KEYS = [TRANSITIONS_KEY, EPISODES_KEY, COHORT_KEY, PROFILE_KEY, CONVERSION_KEY]
BOARD_REPORT_KEY = AssetKey(["dashboards", "board_report"])
EXPORTS_KEY = AssetKey(["dashboards", "exports"])
MART_FILES_KEY = AssetKey(["dashboards", "mart_files"])
UPSTREAM = [PREVALENCE_KEY, HIDDEN_KEY, PRACTICE_KEY, IDENTIFICATION_KEY, TREND_KEY, LINKAGE_SUMMARY_KEY,
            AssetKey(["quality", "summary"]), AssetKey(["raw", "ward_boundaries"]),
            *JOURNEY_KEYS, GCP2_KEY,  # the journeys section (issue 21)
            COMMISSIONING_KEY, PROJECTION_KEY,  # the commissioning page (issue 20)
            BENCHMARK_KEY]  # the benchmarks page (read before this dependency was declared: a run could draw it first)
# the warehouse tables a board pack reads (its input version: pipelines/assets/reuse.py); it writes published.* and
# marts.publication_history (the earlier versions it revises: its own state, not an input)
PACK_READS = tuple(f"marts.{name}" for name in (
    "authority_presence", "benchmark_comparison", "benchmark_funnel", "cohort_outcomes", "commissioning_view",
    "conversion_rates", "gcp2_progress", "hidden_prevalence", "identification_ratio", "neglect_episodes",
    "neglect_prevalence", "neglect_projection", "practice_indicators", "prevalence_change", "prevalence_trend",
    "source_availability", "source_kinds", "threshold_profile", "tier_availability", "tier_transitions")) + (
    "quality.linkage_summary", "quality.load_audit", "quality.rejects", "quality.summary", "raw.la_codes",
    "raw.ward_boundaries")


def report_folder(output_root: Path, quarter) -> Path:
    return output_root / "dashboards" / quarter.isoformat()


def report_path(output_root: Path, quarter) -> Path:
    return report_folder(output_root, quarter) / f"neglect_board_report_{quarter.isoformat()}.html"


def _pack_files(context, resources) -> tuple[Path, list[Path]]:
    """The output folder and the files a board-pack build writes: its quarters' packs and ``output/marts``."""
    root = resources["output"].root
    folders = [f"dashboards/{quarter_end(key).isoformat()}" for key in context.partition_keys] + ["marts"]
    return root, output_files(root, tuple(folders))


def build_dashboard_assets(settings: Settings) -> list:
    threshold = settings.suppression_threshold

    @multi_asset(
        specs=[AssetSpec(BOARD_REPORT_KEY, group_name="dashboards", kinds={"html", "plotly"}, deps=UPSTREAM,
                         description="The board report: one self-contained HTML file per quarter (headline, tier "
                                     "ladder, trend, breakdowns, wards, benchmarks, practice indicators, data quality, "
                                     "methods), with small counts suppressed."),
               AssetSpec(EXPORTS_KEY, group_name="dashboards", kinds={"excel", "csv"}, deps=[BOARD_REPORT_KEY],
                         description="Every published table as an .xlsx workbook (with a notes sheet) and CSV "
                                     "files, and PNG charts for board papers."),
               AssetSpec(MART_FILES_KEY, group_name="dashboards", kinds={"parquet", "csv"}, deps=[EXPORTS_KEY],
                         description="The marts for analysts: output/marts/published/ (the packs' tables after "
                                     "disclosure control, also warehouse schema published), "
                                     "output/marts/analyst_only_unsuppressed/ (the aggregate marts, unsuppressed: "
                                     "for the analyst only) as Parquet and CSV, and output/marts/data_dictionary.csv "
                                     "from the warehouse's column comments (models/marts/columns.yaml).")],
        partitions_def=quarterly_partitions, backfill_policy=BackfillPolicy.single_run(), pool=WAREHOUSE_POOL,
        can_subset=False)
    @reusable(outputs=("marts.publication_history",), files=_pack_files, reads=PACK_READS)
    def board_pack(context: AssetExecutionContext, warehouse: WarehouseResource, output: OutputFolder):
        quarters = [quarter_end(key) for key in context.partition_keys]
        reports, written = [], set()
        definitions = load_definitions()
        with browser_kept_open(), warehouse.get_connection() as conn:  # the browser starts while the rest is done
            geojson = geojson_of(conn)
            run = protect_refresh(conn, max(quarters), threshold, definitions)
            for text in run.dropped_relations:
                context.log.warning(f"disclosure relation dropped (the counts do not obey it): {text}")
            if run.unprotected:  # cell names only, no counts
                context.log.warning(f"{len(run.unprotected)} suppressed cells can still be narrowed by an intruder: "
                                    "every cell around them was published before: "
                                    + "; ".join(map(repr, run.unprotected[:20])))
            context.log.info(f"publication version {run.version} ({'new' if run.new_version else 'unchanged counts'}); "
                             f"{int((run.cells['published'] == 'c').sum()):,} cells suppressed; "
                             f"{run.revised:,} earlier figures revised")
            publications = [build_publication(conn, quarter, threshold, definitions, run) for quarter in quarters]
            for publication in publications:
                written |= publication.cells
            record_publication(conn, run, written)
            for quarter, publication in zip(quarters, publications):
                folder = report_folder(output.root, quarter)
                figures = write_report(publication, geojson, report_path(output.root, quarter),
                                       output.root / "data_docs" / "index.html", settings.protective_marking)
                if quarter == max(quarters):  # drawn by the browser on the other core while the rest is written
                    drawing = start_pngs(figures, folder / "exports" / "png", cache=chart_cache(conn))
                write_workbook(publication, folder / "exports" / f"neglect_tables_{quarter.isoformat()}.xlsx")
                write_csvs(publication, folder / "exports" / "csv")
                reports.append(report_path(output.root, quarter))
            published = write_published_tables(conn, publications)
            apply_comments(conn)  # marts.* (publication_history was rewritten) and published.*
            mart_files = write_mart_files(conn, output.root / "marts")
            _, png_message = drawing.result()
            context.log.info(png_message)
        latest = max(reports)
        yield MaterializeResult(asset_key=BOARD_REPORT_KEY, metadata={
            "reports": len(reports), "latest_report": MetadataValue.path(str(latest)),
            "latest_report_mb": round(latest.stat().st_size / 2**20, 2), "publication_version": run.version,
            "figures_revised": run.revised, "disclosure_relations_dropped": len(run.dropped_relations),
            "disclosure_cells_unprotected": len(run.unprotected)})
        yield MaterializeResult(asset_key=EXPORTS_KEY, metadata={
            "exports_folder": MetadataValue.path(str(report_folder(output.root, max(quarters)) / "exports")),
            "png": png_message})
        yield MaterializeResult(asset_key=MART_FILES_KEY, metadata={
            "marts_folder": MetadataValue.path(str(output.root / "marts")),
            "published_tables": mart_files[PUBLISHED_FOLDER], "analyst_only_tables": mart_files[ANALYST_FOLDER],
            "published_rows": sum(published.values())})

    return [board_pack]
