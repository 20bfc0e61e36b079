"""Reference data: postcode lookup, deprivation by LSOA, ward boundaries and LA codes.

Unpartitioned assets, each replacing one ``raw.*`` table from one file under
``<incoming>/reference/``. These are public reference data (no personal data), so
they are loaded as read; rows breaking a rule go to ``quality.rejects`` and the file
to ``quality.load_audit`` like every extract. A missing or unreadable file fails the
asset with the reader's message.

===========================  ====================================  ==========================
asset (= warehouse table)    file                                  used for
===========================  ====================================  ==========================
raw/postcode_lookup          ONSPD/NSPL-style postcode lookup      postcode -> ward, LSOA
raw/deprivation              IMD File 1 (LSOA ranks and deciles)   deprivation decile
raw/ward_boundaries          ward GeoJSON (FeatureCollection)      the dashboard's map
raw/la_codes                 DfE LA codes (3-digit and ONS codes)  LEA 991 -> E06000901
===========================  ====================================  ==========================
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd
from dagster import AssetExecutionContext, AssetKey, Failure, MaterializeResult, MetadataValue, asset

from sources import deprivation, la_codes, postcode_lookup, ward_boundaries
from sources.errors import SourceFileError
from sources.tabular import TableRead

from ..ingest.files import file_digest
from ..ingest.write import ensure_quality_tables, replace_frame
from ..resources import IncomingExtracts, WarehouseResource
from .population import WAREHOUSE_POOL

POSTCODE_LOOKUP_KEY = AssetKey(["raw", "postcode_lookup"])
DEPRIVATION_KEY = AssetKey(["raw", "deprivation"])


@dataclass(frozen=True)
class ReferenceFile:
    name: str  # source name and table raw.<name>
    locate: Callable[[Path], Path | None]
    read: Callable[[Path], TableRead]
    expected: str  # what the file should be, for the "not found" message
    description: str
    position: str = "line"  # how a reject's source_line is read: a file line, or a GeoJSON feature index


REFERENCES = (
    ReferenceFile("postcode_lookup", postcode_lookup.postcode_lookup_file, postcode_lookup.read_postcode_lookup,
                  "an ONSPD/NSPL-style postcode lookup CSV (e.g. postcode_lookup.csv)",
                  "Postcode to ward, LSOA and local authority (ONS postcode directory style)."),
    ReferenceFile("deprivation", deprivation.deprivation_file, deprivation.read_deprivation,
                  "the IMD File 1 CSV of LSOA ranks and deciles (e.g. imd_lsoa.csv)",
                  "Index of Multiple Deprivation rank and decile (1 = most deprived) for each LSOA."),
    ReferenceFile("ward_boundaries", ward_boundaries.ward_boundaries_file, ward_boundaries.read_ward_boundaries,
                  "a ward boundary GeoJSON FeatureCollection (e.g. wards.geojson)",
                  "Ward boundaries (GeoJSON geometry per ward) for the dashboard's map.", position="feature"),
    ReferenceFile("la_codes", la_codes.la_codes_file, la_codes.read_la_codes,
                  "the DfE LA codes CSV (3-digit LA number, ONS code, name)",
                  "Local authority codes: DfE 3-digit number (LEA) to ONS 9-character code."),
)


def load_reference(conn, ref: ReferenceFile, path: Path, incoming: Path, run_id: str) -> TableRead:
    """Replace raw.<name> with the file's rows; returns the read (rows, rejects, counts, notes)."""
    read = ref.read(path)
    rel = path.relative_to(incoming).as_posix() if path.is_relative_to(incoming) else path.name
    sha, size = file_digest(path)
    rejects = pd.DataFrame({
        "source": ref.name, "table_name": ref.name, "file": rel,
        "location": ref.position + " " + read.rejects["source_line"].astype("string"),
        "source_line": read.rejects["source_line"].astype("Int64"), "field": read.rejects["field"],
        "rule": read.rejects["rule"], "action": "row_rejected", "message": read.rejects["message"]})
    audit = pd.DataFrame([{
        "source": ref.name, "file": rel, "file_sha256": sha, "file_bytes": size, "encoding": read.encoding,
        "rows_read": read.rows_read, "rows_loaded": len(read.rows), "rows_rejected": read.rejected_lines,
        "rows_flagged": 0, "status": "loaded", "loaded_at": pd.Timestamp.now(), "run_id": run_id}])
    ensure_quality_tables(conn)
    conn.register("_rows", read.rows)
    try:
        conn.execute("BEGIN TRANSACTION")
        conn.execute(f"CREATE OR REPLACE TABLE raw.{ref.name} AS SELECT * FROM _rows")
        replace_frame(conn, "quality.rejects", rejects, None, ref.name)
        replace_frame(conn, "quality.load_audit", audit, None, ref.name)
        conn.execute("COMMIT")
    finally:
        conn.unregister("_rows")
    return read


def build_reference_asset(ref: ReferenceFile):
    @asset(key=AssetKey(["raw", ref.name]), group_name="reference", pool=WAREHOUSE_POOL, kinds={"duckdb"},
           description=ref.description)
    def _reference(context: AssetExecutionContext, warehouse: WarehouseResource,
                   extracts: IncomingExtracts) -> MaterializeResult:
        folder = extracts.root / "reference"
        path = ref.locate(extracts.root)
        if path is None:
            raise Failure(description=f"no {ref.name} file in {folder}: expected {ref.expected}")
        try:
            with warehouse.get_connection() as conn:
                read = load_reference(conn, ref, path, extracts.root, context.run.run_id)
        except SourceFileError as exc:
            raise Failure(description=str(exc)) from None
        notes = list(getattr(read, "notes", []))  # e.g. "several ward vintages: used wd24cd"
        context.log.info(f"{ref.name}: {len(read.rows):,} rows loaded, {read.rejected_lines:,} rejected "
                         f"from {path.name}")
        return MaterializeResult(metadata={
            "dagster/row_count": len(read.rows), "rows_read": read.rows_read, "rows_rejected": read.rejected_lines,
            "file": MetadataValue.path(str(path)), "notes": MetadataValue.json(notes)})

    return _reference


reference_assets = [build_reference_asset(r) for r in REFERENCES]
