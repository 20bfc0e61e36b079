"""The marts as analysts get them (output/marts/, from the session's refresh): every mart column carries a
comment in the warehouse, every Parquet column (read with pyarrow, not DuckDB) has a dictionary entry, the
published files hold only the packs' protected values, and the unsuppressed folder says it is for the analyst
only."""
from __future__ import annotations

import csv

import pyarrow.parquet as pq
import pytest

from dashboards.disclosure import check_no_identifiers
from dashboards.mart_files import ANALYST_FOLDER, PUBLISHED_FOLDER
from models.marts.comments import load_columns, missing_comments, split_comment

COUNT_UNITS = {"children", "rows", "persons", "children or plans"}


@pytest.fixture(scope="module")
def marts_folder(ingested):
    return ingested.settings.output_dir / "marts"


@pytest.fixture(scope="module")
def dictionary(marts_folder) -> list[dict]:
    with (marts_folder / "data_dictionary.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _text_lists(frame):
    """List columns (VARCHAR[] read back as arrays) as '; '-joined text, as the CSV files hold them."""
    for column in frame.columns:
        if frame[column].map(lambda v: hasattr(v, "__len__") and not isinstance(v, str)).any():
            frame[column] = frame[column].map(lambda v: "; ".join(map(str, v)) if v is not None else None)
    return frame


def test_every_mart_and_published_column_has_a_comment(warehouse):
    missing = missing_comments(warehouse)
    assert missing == [], "columns without a meaning in models/marts/columns.yaml:\n" + "\n".join(missing)
    tables = {t for (t,) in warehouse.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables() "
                                              "WHERE schema_name IN ('marts', 'published')").fetchall()}
    assert {"marts.neglect_prevalence", "published.prevalence", "published.practice"} <= tables
    stale = [f"{table}.{column}" for table, spec in load_columns()["tables"].items() if table in tables
             for column in (spec or {}).get("columns") or {}
             if not warehouse.execute("SELECT count(*) FROM duckdb_columns() WHERE schema_name || '.' || table_name "
                                      "= ? AND column_name = ?", [table, column]).fetchall()[0][0]]
    assert stale == [], f"entries in columns.yaml for columns that do not exist: {stale}"


def test_every_parquet_column_has_a_dictionary_entry(marts_folder, dictionary):
    entries = {(row["folder"], row["table"], row["column"]): row for row in dictionary}
    files = sorted(marts_folder.glob("*/*.parquet"))
    assert {p.parent.name for p in files} == {PUBLISHED_FOLDER, ANALYST_FOLDER}
    assert len(files) >= 20
    for path in files:
        schema = pq.read_schema(path)  # pyarrow: a reader other than the DuckDB that wrote them
        for name in schema.names:
            row = entries.get((path.parent.name, path.stem, name))
            assert row is not None, f"{path.parent.name}/{path.name}: no dictionary entry for {name}"
            assert row["meaning"] and row["unit"] and row["type"], row
        assert (path.with_suffix(".csv")).exists()
    assert all(row["meaning"] == split_comment(f"{row['meaning']} [unit: {row['unit']}]")[0] for row in dictionary)


def test_published_files_hold_only_protected_counts_and_no_identifier(marts_folder, dictionary, ingested):
    threshold = ingested.settings.suppression_threshold
    counts = {(row["table"], row["column"]) for row in dictionary
              if row["folder"] == PUBLISHED_FOLDER and row["unit"] in COUNT_UNITS}
    shown = hidden = 0
    for path in sorted((marts_folder / PUBLISHED_FOLDER).glob("*.parquet")):
        frame = pq.read_table(path).to_pandas()
        check_no_identifiers(frame)
        for column in frame.columns:
            if (path.stem, column) not in counts or frame[column].dtype.kind not in "iuf" and \
                    str(frame[column].dtype) != "Int64":
                continue
            values = frame[column].dropna()
            assert not ((values > 0) & (values < threshold)).any(), (path.name, column)
            marker = frame.get(f"{column}_marker")
            if marker is not None:
                assert set(marker.dropna()) <= {"c", "x", "z"}
                assert frame.loc[marker.notna(), column].isna().all()  # a marked count is empty
                hidden += int((marker == "c").sum())
            shown += len(values)
    assert shown > 500 and hidden > 10


def test_the_unsuppressed_folder_says_it_is_for_the_analyst_only(marts_folder):
    readme = (marts_folder / ANALYST_FOLDER / "README.txt").read_text(encoding="utf-8")
    assert "ANALYST ONLY" in readme and "NEVER PUBLISH" in readme
    for path in (marts_folder / ANALYST_FOLDER).glob("*.parquet"):
        names = pq.read_schema(path).names
        assert "person_key" not in names and "source_record_id" not in names, path.name  # child level stays in
        check_no_identifiers(_text_lists(pq.read_table(path).to_pandas()))
