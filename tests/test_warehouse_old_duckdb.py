"""The warehouse opens in the DuckDB 1.x releases councils install (slow: builds a virtual environment per
version, which downloads the ``duckdb`` wheel from the package index).

The pipeline writes a new warehouse with ``storage_compatibility_version`` = ``v1.1.0`` (setting
``warehouse_storage_version``): storage version 64. DuckDB 1.1.0 and every later release open it; 1.0
reads the format but not the primary-key index of ``linkage.key_sequence`` (a serialization error). This
opens the session's warehouse (or the one named by ``NEGLECT_CHECK_WAREHOUSE``, e.g. after ``make run``)
with each old ``duckdb`` wheel in a subprocess, reads every mart and published table and their column
comments, and compares them with what DuckDB 2.0 reads::

    .venv/bin/python -m pytest -m slow tests/test_warehouse_old_duckdb.py      # on a fresh refresh
    NEGLECT_CHECK_WAREHOUSE=warehouse/neglect.duckdb \
        .venv/bin/python -m pytest -m slow tests/test_warehouse_old_duckdb.py   # on the warehouse of `make run`
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

OLD_DUCKDB = ("1.1.0", "1.4.4")  # the oldest that opens it, and the 1.4 LTS line ODBC drivers and BI connectors ship
READ = """
import json, sys
import duckdb
conn = duckdb.connect(sys.argv[1], read_only=True)
tables = conn.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables() "
                      "WHERE schema_name IN ('marts', 'published') ORDER BY 1").fetchall()
out = {"version": duckdb.__version__, "rows": {}, "comments": {}}
for (table,) in tables:
    out["rows"][table] = conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
out["comments"] = conn.execute("SELECT count(*) FILTER (WHERE comment IS NOT NULL), count(*) FROM duckdb_columns() "
                               "WHERE schema_name IN ('marts', 'published')").fetchall()[0]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def warehouse_copy(request, tmp_path_factory) -> Path:
    source = os.environ.get("NEGLECT_CHECK_WAREHOUSE")
    path = Path(source) if source else request.getfixturevalue("ingested").settings.warehouse_path
    copy = tmp_path_factory.mktemp("old_duckdb") / "neglect.duckdb"
    shutil.copy2(path, copy)  # a copy: an old DuckDB holds no lock on the warehouse the tests use
    if Path(f"{path}.wal").exists():
        shutil.copy2(f"{path}.wal", f"{copy}.wal")
    return copy


def _python_with_duckdb(version: str, root: Path) -> Path:
    venv = root / f"duckdb-{version}"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", f"duckdb=={version}"], check=True)
    return python


@pytest.mark.slow
@pytest.mark.parametrize("version", OLD_DUCKDB)
def test_the_warehouse_opens_in_duckdb_1(version, warehouse_copy, tmp_path_factory):
    python = _python_with_duckdb(version, tmp_path_factory.getbasetemp())
    result = subprocess.run([str(python), "-c", READ, str(warehouse_copy)], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    old = json.loads(result.stdout)
    assert old["version"] == version
    with duckdb.connect(str(warehouse_copy), read_only=True) as conn:
        tables = [t for (t,) in conn.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables() "
                                             "WHERE schema_name IN ('marts', 'published') ORDER BY 1").fetchall()]
        rows = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables}
    assert "marts.neglect_prevalence" in rows and old["rows"] == rows
    commented, columns = old["comments"]
    assert columns > 150 and commented == columns  # the column comments (the data dictionary) come across too
