"""The GCP2 assessments source (issue 21, GCP2 rescoring): a hand-written export in a case-management layout
(tests/fixtures/gcp2/, README there), read through the source registry as any partnership's file would be."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from sources.registry import load_registry

FIXTURE = Path(__file__).parent / "fixtures" / "gcp2" / "gcp2_assessments_2026-03-31.csv"


def test_the_gcp2_export_is_read_with_its_defects_rejected():
    source = load_registry()["gcp2_assessments"]
    assert source.matches_name(FIXTURE.name) and not source.required and source.linkage == "child"
    read = source.read(FIXTURE, extract_date=date(2026, 3, 31), authority="991")
    assert read.rows_read == 9
    rules = read.rejects.groupby("rule")["source_line"].apply(lambda s: sorted(set(s))).to_dict()
    assert rules == {"invalid_number": [7], "duplicate_row": [8], "blank_mandatory": [9], "invalid_code": [10]}, rules
    rows = read.rows.sort_values("assessment_id").reset_index(drop=True)
    assert list(rows["assessment_id"]) == ["GCP-1001", "GCP-1002", "GCP-1003", "GCP-1004", "GCP-1005"]
    assert list(rows["service"]) == ["early help", "children's social care", "early help", "early help",
                                     "children's social care"]
    assert rows.loc[1, ["gcp2_physical_care", "gcp2_safety", "gcp2_love_and_care"]].tolist() == [5, 4, 4]
    assert rows["gcp2_stimulation"].isna().tolist() == [False, True, False, False, False]  # not scored: kept blank
    assert str(rows.loc[2, "assessment_date"])[:10] == "2025-10-02"


def _warehouse_from_fixture():
    """An in-memory warehouse with the fixture's loaded rows in raw.gcp2_assessments, one person per child ID and
    the file's load audit (period 2026-03-31 loaded for 991; 992 sent nothing)."""
    import duckdb

    source = load_registry()["gcp2_assessments"]
    rows = source.read(FIXTURE, extract_date=date(2026, 3, 31), authority="991").rows
    rows = rows.assign(record_id=[f"991/2026-03-31/gcp2#{i}" for i in range(len(rows))], la_code="991",
                       person=rows["eh_id"].fillna(rows["la_child_id"]))
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA raw; CREATE SCHEMA linkage; CREATE SCHEMA quality")
    conn.register("_rows", rows.drop(columns=["eh_id", "la_child_id", "date_of_birth", "nhs_number", "person"]))
    conn.execute("CREATE TABLE raw.gcp2_assessments AS SELECT * FROM _rows")
    conn.register("_links", rows[["record_id", "person"]])
    conn.execute("CREATE TABLE linkage.person_links AS SELECT 'gcp2_assessments' AS source, record_id AS "
                 "source_record_id, 'C' || person AS person_key FROM _links")
    conn.execute("""CREATE TABLE quality.load_audit AS SELECT * FROM (VALUES
        ('gcp2_assessments', '991', DATE '2026-03-31', 'loaded'), ('gcp2_assessments', '992', DATE '2026-03-31',
         'not supplied'), ('gcp2_assessments', '991', DATE '2025-12-31', 'not supplied'))
        t(source, la_code, period_end, status)""")
    return conn


def test_gcp2_progress_on_the_fixture():
    """The two rescored children of the fixture: EH-000123 (early help) improved in every domain; LA77881 (social
    care) worse in safety, unchanged in physical care and love and care, stimulation not scored the first time,
    'any domain' not comparable (the first assessment did not score all four)."""
    from checks.journeys import gcp2_progress_recount
    from models.marts.gcp2 import build_gcp2_progress

    conn = _warehouse_from_fixture()
    build_gcp2_progress(conn, None, [date(2025, 12, 31), date(2026, 3, 31)])
    got = {(la, service, domain): (children, improved, unchanged, worse) for la, service, domain, children, improved,
           unchanged, worse in conn.execute("""SELECT la_code, service, domain, children, improved, unchanged, worse
                                               FROM marts.gcp2_progress ORDER BY ALL""").fetchall()}
    assert {q for (q,) in conn.execute("SELECT DISTINCT quarter_end FROM marts.gcp2_progress").fetchall()} \
        == {date(2026, 3, 31)}  # 2025-12-31 not supplied: no row, not a 0
    assert {la for la, _, _ in got} == {"991"}  # 992 supplied nothing: no partnership figure either
    assert got[("991", "early help", "physical care")] == (1, 1, 0, 0)
    assert got[("991", "early help", "any domain")] == (1, 1, 0, 0)
    assert got[("991", "children's social care", "safety")] == (1, 0, 0, 1)
    assert got[("991", "children's social care", "physical care")] == (1, 0, 1, 0)
    assert got[("991", "children's social care", "stimulation")] == (0, 0, 0, 0)
    assert got[("991", "children's social care", "any domain")] == (0, 0, 0, 0)
    assert got[("991", "all", "safety")] == (2, 1, 0, 1)
    share = conn.execute("""SELECT share_improved, improved_ci95_lower, improved_ci95_upper FROM marts.gcp2_progress
                            WHERE service = 'all' AND domain = 'safety'""").fetchall()[0]
    assert share[0] == 0.5 and 0 < share[1] < 0.5 < share[2] < 1
    assert gcp2_progress_recount(conn, [date(2026, 3, 31)]).passed
    assert gcp2_progress_recount(conn, [date(2025, 12, 31)]).passed  # not supplied: nothing to recount, said so
