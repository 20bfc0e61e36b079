"""The marts as files for analysts: Parquet and CSV under ``output/marts/``, with a data dictionary.

Each board-report run writes, after disclosure control:

* ``output/marts/published/<table>.parquet`` and ``.csv``: the published tables of the packs the run
  wrote (:class:`dashboards.tables.Publication`, the same tables as the workbook and CSV exports, one
  row per pack quarter: ``quarter_end``), kept also in the warehouse as ``published.<table>``. Counts
  are numeric, blank where not shown, with a ``<count>_marker`` column (``c`` suppressed, ``x`` not
  available): :func:`dashboards.exports.export_frame`. No second suppression: these are the packs' values.
* ``output/marts/analyst_only_unsuppressed/<table>.parquet`` and ``.csv``: the aggregate marts as the
  warehouse holds them (every quarter, **no suppression**), for the partnership's analyst only, with a
  README.txt saying so. The child-level marts (``child_neglect_tier``, ``child_neglect_evidence``,
  ``neglect_episodes``) and the disclosure record (``publication_history``) stay in the warehouse. List
  columns (``VARCHAR[]``) are written to the CSV files joined with "; ".
* ``output/marts/data_dictionary.csv``: ``folder``, ``table``, ``column``, ``type`` (DuckDB's),
  ``meaning``, ``unit``, ``example``, generated from the warehouse's column comments
  (``models/marts/columns.yaml`` applied by :func:`models.marts.comments.apply_comments`). Examples are
  the first value of the published file; for an analyst-only table, a number is shown only where the
  published tables have the same column (their value), so the dictionary reveals no unsuppressed count.

CSV files are UTF-8 with a byte-order mark, text a spreadsheet would run as a formula prefixed with
``'``; Parquet files keep DuckDB's types (dates as dates, whole numbers as integers).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd

from ingest.write import replace_table
from models.marts.comments import column_comments, split_comment
from sources.spreadsheet_text import FORMULA_START, neutralise

from .exports import MARKER, export_frame
from .tables import Publication

PUBLISHED_SCHEMA = "published"
PUBLISHED_FOLDER, ANALYST_FOLDER = "published", "analyst_only_unsuppressed"
# an analyst-only mart -> the published table drawn from it (numeric examples of the dictionary come from there)
PUBLISHED_FROM = {"neglect_prevalence": "prevalence", "identification_ratio": "identification",
                  "hidden_prevalence": "hidden", "practice_indicators": "practice", "prevalence_change": "trend"}
ANALYST_TABLES = ("neglect_prevalence", "identification_ratio", "hidden_prevalence", "practice_indicators",
                  "prevalence_change", "prevalence_trend", "tier_transitions", "cohort_outcomes", "threshold_profile",
                  "conversion_rates", "gcp2_progress", "source_availability", "tier_availability", "authority_presence",
                  "source_kinds")
DATE_COLUMNS = ("quarter_end", "period_end", "previous_period_end")
ANALYST_README = """FOR THE PARTNERSHIP'S ANALYST ONLY - NEVER PUBLISH OR SHARE THESE FILES

The tables in this folder are the neglect marts as the warehouse holds them, with NO disclosure
control: counts from 1 to 4, and counts that would reveal them, are shown as they are. Anything shown
to a board, partner or the public must come from ../published/ (or the board packs), where small
numbers are suppressed and every figure made from them is blank.

Each table is here as Parquet (for Power BI, Excel's Power Query, DuckDB, R, Python) and CSV. What
each column means, and its unit, is in ../data_dictionary.csv (from the comments the warehouse
carries). The child-level tables stay in the warehouse.
"""


def write_published_tables(conn: duckdb.DuckDBPyConnection, publications: list[Publication]) -> dict[str, int]:
    """``published.<table>`` in the warehouse: every published table of ``publications`` (the packs this run
    wrote), one row per pack quarter and table row, as :func:`dashboards.exports.export_frame` gives them
    (dates as DATE, markers NULL where a number is shown). Returns table -> rows."""
    frames: dict[str, list[pd.DataFrame]] = {}
    for pub in publications:
        for name, frame in pub.tables.items():
            frames.setdefault(name, []).append(export_frame(pub, name, frame))
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {PUBLISHED_SCHEMA}")
    rows = {}
    for name, parts in frames.items():
        frame = pd.concat(parts, ignore_index=True)
        for column in frame.columns:
            if column.endswith(MARKER):
                frame[column] = frame[column].map(lambda v: v or None).astype(object)
        select = []
        for column in frame.columns:
            quoted = f'"{column}"'
            if column in DATE_COLUMNS:
                select.append(f"TRY_CAST({quoted} AS DATE) AS {quoted}")
            elif frame[column].dtype == object or str(frame[column].dtype) in ("str", "string"):
                select.append(f"CAST({quoted} AS VARCHAR) AS {quoted}")
            else:
                select.append(quoted)
        replace_table(conn, f"{PUBLISHED_SCHEMA}.{name}", frame, select=", ".join(select))
        rows[name] = len(frame)
    return rows


def _clear(folder: Path) -> None:
    """Empty a folder this module writes (only its own kinds of file), creating it if needed."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        if path.is_file() and path.suffix in (".parquet", ".csv", ".txt"):
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)


def _write(conn: duckdb.DuckDBPyConnection, relation: str, folder: Path, name: str) -> pd.DataFrame:
    """``<name>.parquet`` and ``<name>.csv`` of ``relation``, both by DuckDB's COPY; the CSV with text that a
    spreadsheet would run as a formula prefixed with an apostrophe (as
    :func:`sources.spreadsheet_text.neutralise`) and a byte-order mark. Returns the first rows (for the
    dictionary's examples)."""
    types = conn.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {relation})").fetchall()
    starts = ", ".join(f"'{ch}'" for ch in FORMULA_START)
    apostrophe = "''''"  # SQL for the one-character string '
    def text(c: str, t: str) -> str:
        value = f"array_to_string(\"{c}\", '; ')" if t.endswith("[]") else f'"{c}"'  # a list: "a; b"
        return f'CASE WHEN left({value}, 1) IN ({starts}) THEN {apostrophe} || {value} ELSE {value} END AS "{c}"'

    safe = ", ".join(text(c, t) if t == "VARCHAR" or t.endswith("[]") else f'"{c}"' for c, t in types)
    conn.execute(f"COPY (SELECT * FROM {relation}) TO '{(folder / f'{name}.parquet').as_posix()}' (FORMAT parquet)")
    csv = folder / f"{name}.csv"
    conn.execute(f"COPY (SELECT {safe} FROM {relation}) TO '{csv.as_posix()}' (FORMAT csv, HEADER)")
    csv.write_bytes(b"\xef\xbb\xbf" + csv.read_bytes())  # UTF-8 BOM: Excel then reads the text right
    return conn.execute(f"SELECT * FROM {relation} LIMIT 1000").df()


def _example(values: pd.Series) -> str:
    present = values.dropna()
    present = present[present.astype(str).str.strip() != ""]
    if present.empty:
        return ""
    value = present.iloc[0]
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def write_mart_files(conn: duckdb.DuckDBPyConnection, root: Path) -> dict[str, int]:
    """The published and analyst-only marts as Parquet and CSV under ``root`` (``output/marts``) and the
    data dictionary (see module docstring). Returns file group -> number of tables written."""
    published_dir, analyst_dir = root / PUBLISHED_FOLDER, root / ANALYST_FOLDER
    comments = column_comments(conn)
    existing = set(zip(comments["schema"], comments["table"]))
    entries, examples = [], {}
    _clear(published_dir)
    for schema, table in sorted(t for t in existing if t[0] == PUBLISHED_SCHEMA):
        frame = _write(conn, f"{schema}.{table}", published_dir, table)
        for column in frame.columns:
            examples[(PUBLISHED_FOLDER, table, column)] = _example(frame[column])
        entries.append((PUBLISHED_FOLDER, schema, table))
    _clear(analyst_dir)
    (analyst_dir / "README.txt").write_text(ANALYST_README, encoding="utf-8")
    for table in ANALYST_TABLES:
        if ("marts", table) not in existing:
            continue
        frame = _write(conn, f"marts.{table}", analyst_dir, table)
        for column in frame.columns:
            numeric = frame[column].dtype.kind in "iufb" or str(frame[column].dtype) in ("Int64", "Float64")
            published = examples.get((PUBLISHED_FOLDER, PUBLISHED_FROM.get(table, ""), column), "")
            examples[(ANALYST_FOLDER, table, column)] = published if numeric and frame[column].dtype.kind != "b" \
                else _example(frame[column])
        entries.append((ANALYST_FOLDER, "marts", table))
    rows = []
    for folder, schema, table in entries:
        for r in comments[(comments["schema"] == schema) & (comments["table"] == table)].itertuples():
            meaning, unit = split_comment(r.comment if isinstance(r.comment, str) else None)
            rows.append((folder, table, r.column, r.type, meaning, unit, examples.get((folder, table, r.column), "")))
    dictionary = pd.DataFrame(rows, columns=["folder", "table", "column", "type", "meaning", "unit", "example"])
    neutralise(dictionary).to_csv(root / "data_dictionary.csv", index=False, encoding="utf-8-sig",
                                  lineterminator="\r\n")
    return {PUBLISHED_FOLDER: sum(f == PUBLISHED_FOLDER for f, _, _ in entries),
            ANALYST_FOLDER: sum(f == ANALYST_FOLDER for f, _, _ in entries)}
