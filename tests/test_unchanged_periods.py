"""Which periods a refresh does not read again (ingest/unchanged.py): only those whose files were
all loaded before, unchanged, with the same loading fingerprint."""
from __future__ import annotations

from datetime import date

import duckdb
import pytest

from ingest.files import FileLoad, file_digest, not_supplied
from ingest.unchanged import loading_fingerprint, unchanged_periods
from ingest.write import audit_frame, ensure_quality_tables, replace_frame

PERIOD, OTHER = date(2026, 3, 31), date(2025, 12, 31)


@pytest.fixture
def loaded(tmp_path):
    """An incoming folder with one CSV for each of two periods, both recorded as loaded with fingerprint 'F'
    (and an authority that sent nothing for the first)."""
    incoming = tmp_path / "incoming"
    paths = {}
    for period in (PERIOD, OTHER):
        path = incoming / "999_Eastmere" / period.isoformat() / "early_help.csv"
        path.parent.mkdir(parents=True)
        path.write_text(f"child_id,start_date\nA1,{period.isoformat()}\n", encoding="utf-8")
        paths[period] = path
    conn = duckdb.connect()
    ensure_quality_tables(conn)
    loads = [FileLoad("early_help", p.relative_to(incoming).as_posix(), "999", period, file_digest(p)[0], 10)
             for period, p in paths.items()] + [not_supplied("early_help", "998", PERIOD)]
    replace_frame(conn, "quality.load_audit", audit_frame(loads, "run-1", "F"), [PERIOD, OTHER], "early_help")
    return conn, incoming, paths


def _periods(paths):
    return [(period, [path]) for period, path in paths.items()]


def test_periods_loaded_from_the_same_files_with_the_same_fingerprint_are_unchanged(loaded):
    conn, incoming, paths = loaded
    assert unchanged_periods(conn, "early_help", _periods(paths), incoming, "F") == {PERIOD, OTHER}
    assert unchanged_periods(conn, "cp_list", _periods(paths), incoming, "F") == set()  # never loaded


def test_a_changed_file_an_added_file_or_another_fingerprint_reads_again(loaded, monkeypatch):
    conn, incoming, paths = loaded
    assert unchanged_periods(conn, "early_help", _periods(paths), incoming, "G") == set()
    paths[OTHER].write_text("child_id,start_date\nA2,2025-12-01\n", encoding="utf-8")
    assert unchanged_periods(conn, "early_help", _periods(paths), incoming, "F") == {PERIOD}
    extra = paths[PERIOD].with_name("early_help_2.csv")
    extra.write_text("child_id,start_date\n", encoding="utf-8")
    assert unchanged_periods(conn, "early_help", [(PERIOD, [paths[PERIOD], extra])], incoming, "F") == set()
    assert unchanged_periods(conn, "early_help", [(PERIOD, [])], incoming, "F") == set()  # the file was removed
    monkeypatch.setenv("NEGLECT_READ_ALL", "1")
    assert unchanged_periods(conn, "early_help", [(PERIOD, [paths[PERIOD]])], incoming, "F") == set()


def test_a_period_with_a_refused_file_or_loaded_before_fingerprints_is_read_again(loaded):
    conn, incoming, paths = loaded
    conn.execute("UPDATE quality.load_audit SET status = 'failed' WHERE period_end = ? AND la_code = '999'", [PERIOD])
    conn.execute("UPDATE quality.load_audit SET loaded_with = NULL WHERE period_end = ?", [OTHER])
    assert unchanged_periods(conn, "early_help", _periods(paths), incoming, "F") == set()


def test_the_fingerprint_changes_with_what_decides_the_loading():
    class Source:  # stands in for a registry declaration: its repr is what counts
        def __init__(self, columns):
            self.columns = columns

        def __repr__(self):
            return f"Source({self.columns})"

    base = dict(source=Source("a,b"), key=b"k" * 32, authorities=["998", "999"], problems={}, max_reject_share=0.5)
    fingerprint = loading_fingerprint(**base)
    assert loading_fingerprint(**base) == fingerprint
    for change in (dict(source=Source("a,b,c")), dict(key=b"j" * 32), dict(authorities=["999"]),
                   dict(problems={"x.xlsx": "list 7 came as its own file"}), dict(max_reject_share=0.4)):
        assert loading_fingerprint(**{**base, **change}) != fingerprint, change


def test_the_code_fingerprint_reads_the_loading_code_where_it_is():
    """Every folder and file named as loading code exists (a moved module must not silently drop out of the
    fingerprint, or a change to it would not reload anything), and the loader itself is covered."""
    from ingest.unchanged import LOADING_CODE, PROJECT

    assert (PROJECT / "pyproject.toml").is_file()
    assert all((PROJECT / root).exists() for root in LOADING_CODE), LOADING_CODE
    covered = {p.relative_to(PROJECT).as_posix() for root in LOADING_CODE for p in (PROJECT / root).rglob("*.py")}
    assert {"ingest/load.py", "ingest/pseudonymise.py", "checks/file_worker.py", "sources/tabular/validate.py"} <= covered



def test_stored_and_new_periods_not_supplied_are_checked_together(loaded):
    """A refresh that reads one period again (e.g. an authority's file removed) and reports another as loaded before
    puts both periods' audit rows before the structure check, which sorts the authority-periods not supplied: the
    stored rows come back from DuckDB with timestamps, the new ones hold dates, and sorting the mix failed with a
    TypeError (found by hand on the real-format partnership, 5 December 2026). Now both hold dates."""
    import pandas as pd

    from checks.ingest import load_structure
    from pipelines.assets.ingest_run import IngestOutcome, _report_stored
    from sources.registry import load_registry

    conn, _, _ = loaded
    source = load_registry()["early_help"]
    for table in source.tables:  # the rows counted for the stored periods: none here
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS raw; CREATE TABLE raw.{table} (period_end DATE)")
    out = IngestOutcome()
    _report_stored(conn, out, source, [PERIOD])  # stored: LA 998 sent nothing for PERIOD
    out.audit.append(audit_frame([not_supplied("early_help", "999", OTHER)], "run-2", "F"))  # read again: removed
    audit = pd.concat(out.audit, ignore_index=True)
    assert {type(p) for p in audit["period_end"]} == {date}
    outcome = load_structure(conn, [], audit, [PERIOD, OTHER])
    assert "LA 998, period ending 2026-03-31" in outcome.description
    assert "LA 999, period ending 2025-12-31" in outcome.description
