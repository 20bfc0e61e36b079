"""`neglect run` on a partnership's own files, written by hand in the published formats (not by our
generator): any history, any subset of sources, header slips in CIN returns, refused files, Ofsted
Annex A workbooks (tests/fixtures/annex_a/) feeding the lists and the tiers after the latest census.

tests/fixtures/real_partnership/README.md lists the files and what each exercises; the bad files of
tests/fixtures/bad_files/ (a truncated census, a CSV without a required column, an empty file) are
planted in it too. The run goes through the command an analyst types (`cli.main`), into a temporary
project with the real dagster.yaml, whose instance holds a run a killed `neglect run` left behind.
One run serves every test here (they read its output and its warehouse).
"""
from __future__ import annotations

import contextlib
import csv
import io
import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines import cli

FIXTURES = Path(__file__).parent / "fixtures"
INCOMING = FIXTURES / "real_partnership" / "incoming"
# CIN returns from tests/fixtures/cin/ (hand-written, each in its year's published format) -> where they go
CIN_RETURNS = {
    "cin_return_2018.xml": "991_northbrook/2018-03-31/cin_census_2018.xml",
    "cin_census_2019_rejects.xml": "991_northbrook/2019-03-31/cin_census_2019.xml",  # LEA 992: refused
    "cin_return_2021.xml": "991_northbrook/2021-03-31/cin_census_2021.xml",
    "cin_return_2022.xml": "992_eastmere/2022-03-31/cin_census_2022.xml",  # no LEA: the folder's
    "cin_return_2024_year_2023.xml": "991_northbrook/2024-03-31/CIN_2024_return.xml",  # Year 2023, ReferenceDate 2024
    "cin_return_2025_reference_28_march.xml": "991_northbrook/2025-03-31/cin_2025.xml",  # ReferenceDate 28 March
}
REFUSED = "991_northbrook/2019-03-31/cin_census_2019.xml"
BAD = FIXTURES / "bad_files" / "incoming"
# planted bad file -> (asset, words its message must contain)
PLANTED = {
    "992_eastmere/2026-03-31/cin_census_2026.xml": ("raw/cin_census", ["line 53", "truncated"]),
    "992_eastmere/2025-06-30/adult_mental_health_episodes.csv": ("raw/adult_episodes",
                                                                   ["line 1 (header)", "Episode Start Date"]),
    "991_northbrook/2025-09-30/early_help_episodes.csv": ("raw/early_help", ["empty"]),
}
STALE_RUN = "00000000-0000-4000-8000-000000000001"
# Ofsted Annex A files from tests/fixtures/annex_a/ (written by hand to the 2024 template) -> where they go
ANNEX_A = {
    "annex_a_2024_template_northbrook.xlsx": "991_northbrook/2025-09-30/annex_a_2024_template_northbrook.xlsx",
    "annex_a_other_sheet_names_northbrook.xlsx": "991_northbrook/2026-03-31/annex_a_other_sheet_names_northbrook.xlsx",
    "annex_a_list_4_assessments_eastmere.csv": "992_eastmere/2026-03-31/annex_a_list_4_assessments_eastmere.csv",
}
TEMPLATE = ANNEX_A["annex_a_2024_template_northbrook.xlsx"]


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("real_partnership")
    shutil.copytree(INCOMING, root / "incoming")
    for folder, files in (("cin", CIN_RETURNS), ("annex_a", ANNEX_A)):
        for name, rel in files.items():
            (root / "incoming" / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(FIXTURES / folder / name, root / "incoming" / rel)
    for rel in PLANTED:
        (root / "incoming" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(BAD / rel, root / "incoming" / rel)
    shutil.copy(Path(__file__).resolve().parents[1] / "dagster.yaml", root / "dagster.yaml")
    (root / "settings.toml").write_text('incoming_dir = "incoming"\n', encoding="utf-8")
    patch = pytest.MonkeyPatch()
    patch.chdir(root)
    patch.setenv("NEGLECT_PROJECT_ROOT", str(root))
    patch.setenv("DAGSTER_HOME", str(root))
    for name in ("NEGLECT_INCOMING_DIR", "NEGLECT_WAREHOUSE_PATH", "NEGLECT_DAGSTER_HOME", "NEGLECT_OUTPUT_DIR"):
        patch.delenv(name, raising=False)
    _leave_a_killed_run(root)
    # no PNG charts: nothing here looks at them, and drawing them takes a browser (test_dashboard.py and
    # test_exports_format.py check the PNGs of the session's refresh)
    patch.setattr("dashboards.exports.find_chromium", lambda: None)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["run", "--no-generate"])
    patch.undo()
    return root, code, out.getvalue(), err.getvalue()


def _leave_a_killed_run(root: Path) -> None:
    """A `neglect run` killed mid-step leaves its run STARTED and its warehouse pool slot taken."""
    from dagster import DagsterInstance, DagsterRunStatus
    from dagster._core.storage.dagster_run import DagsterRun

    (root / ".dagster").mkdir()
    with DagsterInstance.get() as instance:
        instance.add_run(DagsterRun(job_name="quarterly_refresh", run_id=STALE_RUN, status=DagsterRunStatus.STARTED,
                                    tags={"neglect/launched_by": "neglect run"}))
        instance.event_log_storage.set_concurrency_slots("duckdb_warehouse", 1)
        assert instance.event_log_storage.claim_concurrency_slot("duckdb_warehouse", STALE_RUN,
                                                                  "raw__ons_population").is_claimed


def _rows_in_file(path: Path, sheet: str | None = None) -> int:
    """Data rows counted straight from the file: CSV lines after the header, Child elements, or the rows of a
    workbook's sheet below its header (openpyxl, not the pipeline's reader)."""
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook

        rows = list(load_workbook(path, read_only=True)[sheet].iter_rows(values_only=True))
        return sum(1 for row in rows[1:] if any(v is not None for v in row))
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    if path.suffix == ".xml":
        return len(re.findall(r"<(?:\w+:)?Child>", text))
    return sum(1 for line in text.splitlines()[1:] if line.strip())


def test_no_traceback_and_the_refused_file_is_named(real_run):
    _, code, out, err = real_run
    assert "Traceback" not in out + err
    assert code == 1  # files could not be read
    assert f"{REFUSED}, line 13 (Header): the Header's LEA is 992 but the file was expected for LA 991" in err
    assert "The run FINISHED WITH PROBLEMS" in err
    assert "Early help episodes: 2 file(s)" in out  # what the folder holds, per source


def test_each_bad_file_fails_its_own_source_with_a_clear_message(real_run):
    _, _, out, err = real_run
    for rel, (asset, words) in PLANTED.items():
        line = next(l for l in err.splitlines() if f"check files_readable on {asset} failed" in l)
        message = line[line.index(rel):]  # the file is named by its path relative to the incoming folder
        assert all(word in message for word in words), (rel, message)
        assert f"check files_readable FAILED" in out


def test_the_run_is_in_the_projects_instance_and_a_killed_run_is_cleared(real_run):
    from dagster import DagsterInstance, DagsterRunStatus

    root, _, out, _ = real_run
    assert "materialised raw/ons_population" in out and "check population_denominators_complete passed" in out
    assert "materialised raw/cin_census" in out and "materialised quality/summary" in out
    assert str(root / "warehouse" / "neglect.duckdb") in out
    assert (root / ".dagster" / "storage" / "history" / "runs.db").exists()  # the UI's history
    assert f"marked interrupted run {STALE_RUN} as failed" in out
    patch = pytest.MonkeyPatch()
    patch.setenv("DAGSTER_HOME", str(root))
    patch.chdir(root)
    with DagsterInstance.get() as instance:
        assert instance.get_run_by_id(STALE_RUN).status == DagsterRunStatus.FAILURE
    patch.undo()


def test_every_row_in_is_loaded_or_rejected_and_a_refused_file_leaves_nothing(real_run):
    root, *_ = real_run
    with duckdb.connect(str(root / "warehouse" / "neglect.duckdb"), read_only=True) as conn:
        audit = conn.execute("SELECT file, sheet, status, rows_read, rows_loaded, rows_rejected FROM quality.load_audit "
                             "WHERE file IS NOT NULL").fetchall()
        kept = conn.execute("SELECT count(*) FROM quality.rejects WHERE file = ?", [REFUSED]).fetchone()[0]
        findings = conn.execute("SELECT count(*) FROM quality.rule_findings WHERE record_id LIKE ?",
                                [REFUSED + "%"]).fetchone()[0]
    # one row per file, and per list read from a workbook (its sheet); the published comparators the project ships
    # (read because the partnership supplied none) are not in its incoming folder
    files = {(rel, sheet): (status, read, loaded, rejected) for rel, sheet, status, read, loaded, rejected in audit
             if not rel.startswith(("reference/", "shipped: "))}
    on_disk = sorted(p.relative_to(root / "incoming").as_posix() for p in (root / "incoming").rglob("*")
                     if p.is_file() and "reference" not in p.parts)
    assert sorted({rel for rel, _ in files}) == on_disk
    for (rel, sheet), (status, read, loaded, rejected) in files.items():
        if rel == REFUSED or rel in PLANTED:
            assert (status, loaded, rejected) == ("failed", 0, 0)
            continue
        assert status == "loaded", rel
        assert read == loaded + rejected == _rows_in_file(root / "incoming" / rel, sheet), (rel, sheet)
    assert files[("991_northbrook/2025-12-31/annex_a_list_7_child_protection.csv", None)][3] == 1  # 31/02/2025
    # the Annex A template: lists 2-7, one sheet each; list 3 lost the row with an age of 10.5
    assert sorted(sheet for rel, sheet in files if rel == TEMPLATE) == [f"List {n}" for n in range(2, 8)]
    assert files[(TEMPLATE, "List 7")] == ("loaded", 4, 4, 0) and files[(TEMPLATE, "List 3")] == ("loaded", 4, 3, 1)
    assert kept == 0 and findings == 0
    with duckdb.connect(str(root / "warehouse" / "neglect.duckdb"), read_only=True) as conn:
        for rel in PLANTED:
            assert conn.execute("SELECT count(*) FROM quality.rejects WHERE file = ?", [rel]).fetchone()[0] == 0
        message = conn.execute("SELECT message FROM quality.load_audit WHERE file = ?",
                               ["992_eastmere/2026-03-31/cin_census_2026.xml"]).fetchall()[0][0]
        census = conn.execute("SELECT status FROM marts.source_availability WHERE la_code = '992' AND source = "
                              "'cin_census' AND period_end = DATE '2026-03-31'").fetchall()[0][0]
    assert "truncated" in message
    assert census == "failed"  # the marts say what the unreadable return would have fed


def test_sources_not_supplied_are_said_by_name_never_counted_as_zero(real_run):
    root, *_ = real_run
    with duckdb.connect(str(root / "warehouse" / "neglect.duckdb"), read_only=True) as conn:
        supply = dict(conn.execute("""SELECT source || ' ' || la_code, status FROM marts.source_availability
                                      WHERE period_end = DATE '2026-03-31'""").fetchall())
        tiers = dict(conn.execute("""SELECT la_code || ' ' || tier_set, coalesce(CAST(children AS VARCHAR), 'NULL')
                                           || ' ' || availability
                                    FROM marts.neglect_prevalence WHERE period_end = DATE '2026-03-31'
                                      AND measure = '12_month' AND breakdown = 'all'""").fetchall())
        audit = conn.execute("""SELECT count(*) FROM quality.load_audit WHERE source = 'early_help'
                                AND la_code = '991' AND status = 'not supplied'""").fetchone()[0]
        summary = conn.execute("""SELECT supply, rows_read FROM quality.summary WHERE source = 'early_help'
                                  AND la_code = '991' AND period_end = DATE '2026-03-31'""").fetchall()
        practice = dict(conn.execute("""SELECT la_code || ' ' || indicator, availability FROM marts.practice_indicators
                                        WHERE period_end = DATE '2026-03-31'""").fetchall())
        hidden = conn.execute("""SELECT status, warnings FROM marts.hidden_prevalence WHERE la_code = '991'
                                 AND period_end = DATE '2026-03-31'""").fetchone()
        gcp2_rows = conn.execute("SELECT count(*) FROM marts.gcp2_progress").fetchone()[0]
    assert supply["early_help 991"] == "not supplied" and supply["early_help 992"] == "supplied"
    assert supply["adult_episodes 991"] == "not supplied" and supply["cp_list 991"] == "supplied"
    assert audit > 0 and summary == [("not supplied", None)]
    assert tiers["991 4"] == "NULL not available"  # tier 4 needs early help: not 0
    assert tiers["991 6"] == "NULL not available"
    assert tiers["991 1"].endswith(" complete") and not tiers["991 1"].startswith("NULL")
    assert tiers["991 1-4"].endswith(" incomplete")
    assert tiers["992 4"].endswith(" complete")
    assert practice["991 step_up_within_12_months"] == "not available"
    assert hidden[0] == "not estimable" and "Early help: neglect" in hidden[1]
    # no GCP2 assessments sent by either authority: not supplied, and the GCP2 progress mart has no row (never a 0)
    assert supply["gcp2_assessments 991"] == supply["gcp2_assessments 992"] == "not supplied" and gcp2_rows == 0


def test_an_authority_that_supplied_nothing_is_left_out_of_the_partnership(real_run):
    root, *_ = real_run
    with duckdb.connect(str(root / "warehouse" / "neglect.duckdb"), read_only=True) as conn:
        presence = dict(conn.execute("""SELECT la_code, present FROM marts.authority_presence
                                        WHERE period_end = DATE '2025-12-31'""").fetchall())
        population = dict(conn.execute("""SELECT la_code, population FROM marts.neglect_prevalence
                                          WHERE period_end = DATE '2025-12-31' AND tier_set = '1'
                                            AND measure = 'point' AND breakdown = 'all'""").fetchall())
        eastmere = conn.execute("""SELECT children, availability FROM marts.neglect_prevalence
                                   WHERE period_end = DATE '2025-12-31' AND tier_set = '1' AND la_code = '992'
                                     AND measure = 'point' AND breakdown = 'all'""").fetchone()
    assert presence == {"991": True, "992": False}
    assert population["partnership"] == population["991"]  # Eastmere's children are not in the denominator
    assert eastmere == (None, "not supplied")


def test_history_back_to_the_oldest_return_and_a_missing_population_year_said_aloud(real_run):
    root, *_ = real_run
    with duckdb.connect(str(root / "warehouse" / "neglect.duckdb"), read_only=True) as conn:
        quarters = [r[0] for r in conn.execute("SELECT DISTINCT period_end FROM marts.neglect_prevalence "
                                               "ORDER BY 1").fetchall()]
        note = conn.execute("""SELECT DISTINCT population_note FROM marts.neglect_prevalence
                               WHERE period_end = DATE '2024-03-31'""").fetchall()
    assert quarters[0] == date(2018, 3, 31) and quarters[-1] == date(2026, 3, 31)
    assert note == [("population: mid-2025 estimate used; there is no mid-2023 population file in "
                     "reference/population/",)]


def test_census_header_slips_are_findings_and_every_child_is_loaded(real_run):
    root, *_ = real_run
    with duckdb.connect(str(root / "warehouse" / "neglect.duckdb"), read_only=True) as conn:
        header = conn.execute("""SELECT la_code, period_end, rule_code, message FROM quality.rule_findings
                                 WHERE table_name = 'header' ORDER BY ALL""").fetchall()
        children = dict(conn.execute("""SELECT la_code || ' ' || strftime(period_end, '%Y'), count(*)
                                        FROM raw.cin_child GROUP BY ALL""").fetchall())
    found = {(la, str(end), code) for la, end, code, _ in header}
    assert ("991", "2024-03-31", "CIN-100") in found  # Year 2023 with ReferenceDate 2024-03-31: still loaded
    assert ("991", "2025-03-31", "CIN-100") in found  # ReferenceDate 28 March: 31 March used
    assert ("992", "2022-03-31", "NEG-01") in found  # no LEA: the folder's LA number used
    message = next(m for la, end, code, m in header if str(end) == "2024-03-31")
    assert "read as collection year 2024" in message
    assert children["991 2024"] == 4 and children["991 2025"] == 4 and children["991 2018"] == 6
    assert "991 2019" not in children  # the refused return


def test_a_partner_agency_list_is_linked_and_feeds_its_capture_list(real_run):
    """docs/partner-lists.md: Eastmere's police list; Lily is found by her NHS number (her early-help record)."""
    root, *_ = real_run
    with duckdb.connect(str(root / "warehouse" / "neglect.duckdb"), read_only=True) as conn:
        evidence = conn.execute("""SELECT e.kind, count(*) FROM marts.child_neglect_evidence e
                                   WHERE e.source = 'partner_police' GROUP BY ALL""").fetchall()
        shared = conn.execute("""SELECT count(*) FROM linkage.person_links p JOIN linkage.person_links e
                                 USING (person_key) WHERE p.source = 'partner_police' AND e.source = 'early_help'
                                 """).fetchone()[0]
        supply = dict(conn.execute("""SELECT la_code, status FROM marts.source_availability
                                      WHERE source = 'partner_police' AND period_end = DATE '2026-03-31'""").fetchall())
    assert evidence == [("partner:police", 2)]  # the 'Other' concern is not neglect evidence
    assert shared == 1
    assert supply == {"991": "not supplied", "992": "supplied"}


def test_the_board_report_says_which_sources_fed_each_figure(real_run):
    root, *_ = real_run
    report = root / "output" / "dashboards" / "2026-03-31" / "neglect_board_report_2026-03-31.html"
    text = report.read_text(encoding="utf-8")
    assert "Sources this quarter" in text
    # either source of early-help evidence would do (an early-help export, or an Annex A list 2): both are named
    assert ("tier 4 (Early help: neglect identified) not available: Northbrook: Early help assessments (Ofsted "
            "Annex A list 2) not supplied, Early help episodes not supplied") in text
    assert "<b>at least</b>" in text


def test_counts_not_available_are_an_empty_number_marked_x_in_the_exports_and_published_marts(real_run):
    """Northbrook's early help was not supplied: its tier 4 is x (not available), never 0, and the number
    column stays numeric (dashboards.exports: the marker column)."""
    import pyarrow.parquet as pq
    from openpyxl import load_workbook

    root, *_ = real_run
    exports = root / "output" / "dashboards" / "2026-03-31" / "exports"
    with (exports / "csv" / "prevalence.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["children_marker"] == "x"]
    assert rows and all(r["children"] == "" for r in rows)
    sheet = load_workbook(exports / "neglect_tables_2026-03-31.xlsx", read_only=True)["prevalence"]
    values = list(sheet.iter_rows(values_only=True))
    children, marker = values[0].index("Children"), values[0].index("Children: marker")
    assert {row[children] for row in values[1:] if row[marker] == "x"} == {None}
    path = root / "output" / "marts" / "published" / "prevalence.parquet"
    assert str(pq.read_schema(path).field("children").type) == "int64"  # a number column, with nulls
    published = pq.read_table(path).to_pandas()
    assert published.loc[published["children_marker"] == "x", "children"].isna().all()
    assert (published["children_marker"] == "x").sum() == len(rows)


# ----------------------------------------------------------------------------- Ofsted Annex A (tests/fixtures/annex_a)

def _tier_by_child(root: Path, period_end: str, measure: str, la_code: str) -> dict[str, int | None]:
    """{made-up child ID: tier} of the children counted in an authority's quarter, through the identity store."""
    lists = ["cp_list", "annex_a_early_help", "annex_a_referrals", "annex_a_assessments", "annex_a_section47",
             "annex_a_children_in_need"]
    ids = " UNION ALL ".join(f"SELECT record_id, child_id FROM idstore.identifiers.{t}" for t in lists)
    with duckdb.connect(str(root / "warehouse" / "neglect.duckdb"), read_only=True) as conn:
        conn.execute(f"ATTACH '{root / 'warehouse' / 'identity.duckdb'}' AS idstore (READ_ONLY)")
        rows = conn.execute(f"""
            SELECT DISTINCT i.child_id, t.tier FROM marts.child_neglect_tier t
            JOIN linkage.person_links l ON l.person_key = t.person_key
            JOIN ({ids}) i ON i.record_id = l.source_record_id
            WHERE t.period_end = ? AND t.measure = ? AND t.la_code = ?""", [period_end, measure, la_code]).fetchall()
    return dict(rows)


def test_annex_a_list_7_plans_count_in_tiers_1_and_2(real_run):
    root, *_ = real_run
    point = _tier_by_child(root, "2025-09-30", "point", "991")
    year = _tier_by_child(root, "2025-09-30", "12_month", "991")
    # NB9701 NEG; NB9703 EMO then MUL (its plan's end is a formula with no saved value: still open, flagged)
    assert point["NB9701"] == 1 and point["NB9703"] == 1
    # NB9704's plan (NEG) ended on 1 June 2025: in the 12 months, not at the quarter end
    assert year["NB9704"] == 1 and "NB9704" not in point
    # NB9702: a plan under physical abuse and, from list 4, an assessment that found neglect (16A): tier 2
    assert year["NB9702"] == 2


def test_annex_a_lists_4_and_6_feed_tiers_3_and_5_after_the_latest_census(real_run):
    root, *_ = real_run
    point = _tier_by_child(root, "2025-09-30", "point", "991")
    # NB9301: list 4, neglect found (16A) on 21 July 2025, its list 6 episode still open: tier 3
    assert point["NB9301"] == 3
    # NB9601: list 6, primary need N1 from May 2025, no neglect factor: tier 5
    assert point["NB9601"] == 5
    # NB9603: list 6, N1 from February 2025 -- before Northbrook's latest census (31 March 2025), which takes
    # precedence for that period: not counted from Annex A
    assert "NB9603" not in point
    # the next quarter's workbook (other sheet names): NB9311, N1 from January 2026
    assert _tier_by_child(root, "2026-03-31", "point", "991")["NB9311"] == 5
    # Eastmere's list 4 as a CSV: EM9401 16A authorised 16 February 2026 (its census is 2022); no list 6 episode,
    # so the evidence is current on its authorisation day: in the 12 months, not at the quarter end
    assert _tier_by_child(root, "2026-03-31", "12_month", "992")["EM9401"] == 3
    # list 2 (early help): NB9201's assessment found neglect, May to June 2025: tier 4 in the 12 months
    assert _tier_by_child(root, "2025-09-30", "12_month", "991")["NB9201"] == 4


def test_annex_a_lists_supplied_or_not_and_the_formula_cell_flagged(real_run):
    root, *_ = real_run
    with duckdb.connect(str(root / "warehouse" / "neglect.duckdb"), read_only=True) as conn:
        audit = {(s, la, str(p)): (status, sheet, read) for s, la, p, status, sheet, read in conn.execute("""
            SELECT source, la_code, period_end, status, sheet, rows_read FROM quality.load_audit
            WHERE source LIKE 'annex_a%' AND period_end >= DATE '2025-09-30'""").fetchall()}
        flagged = conn.execute("""SELECT source, location, field, action FROM quality.rejects
                                  WHERE rule = 'formula_without_value'""").fetchall()
        tiers = dict(conn.execute("""SELECT la_code || ' ' || tier, available FROM marts.tier_availability
                                     WHERE period_end = DATE '2026-03-31'""").fetchall())
    # the second workbook: list 5's sheet present but empty (supplied, no rows); lists 2 and 4 absent
    assert audit[("annex_a_section47", "991", "2026-03-31")] == ("loaded", "List 5 - S47", 0)
    assert audit[("annex_a_early_help", "991", "2026-03-31")][0] == "not supplied"
    assert audit[("annex_a_assessments", "991", "2026-03-31")][0] == "not supplied"
    assert audit[("annex_a_referrals", "991", "2026-03-31")] == ("loaded", "L3", 2)
    assert flagged == [("cp_list", "List 7 line 4", "cp_plan_end_date", "value_nulled")]
    assert audit[("annex_a_children_in_need", "991", "2025-09-30")] == ("loaded", "List 6", 4)
    assert audit[("annex_a_early_help", "992", "2025-09-30")][0] == "not supplied"
    # Eastmere's list 4 (with its factors) makes tier 3 countable there; Northbrook still has no early help
    assert tiers["992 3"] and not tiers["991 4"]


def test_the_board_report_lists_every_file_with_rows_not_loaded(real_run):
    root, *_ = real_run
    text = (root / "output" / "dashboards" / "2026-03-31" / "neglect_board_report_2026-03-31.html").read_text(
        encoding="utf-8")
    section = text[text.index('id="data-quality"'):]
    assert "Files with rows not loaded" in section
    for rel in (TEMPLATE, "991_northbrook/2025-12-31/annex_a_list_7_child_protection.csv"):
        assert rel in section
    assert "rejected, mostly invalid_number" in section and "rejected, mostly invalid_date" in section


def test_overlapping_cp_plans_are_one_plan_in_the_marts(real_run, tmp_path):
    """DfE 8940 in the marts: a second plan starting while the child's first is open is counted once."""
    from models.marts.evidence import build_staging

    root, *_ = real_run
    copy = tmp_path / "neglect.duckdb"
    shutil.copy(root / "warehouse" / "neglect.duckdb", copy)
    with duckdb.connect(str(copy)) as conn:
        key, start = conn.execute("""
            SELECT l.person_key, c.cp_plan_start_date FROM raw.cp_list c
            JOIN linkage.person_links l ON l.source = 'cp_list' AND l.source_record_id = c.record_id
            WHERE c.record_id = ?""", [TEMPLATE + "#List 7 line 2"]).fetchall()[0]
        before = conn.execute("SELECT count(*) FROM staging.cp_plans WHERE person_key = ?", [key]).fetchall()[0][0]
        # the same child's list 7 row again, as a second plan under physical abuse starting ten days later
        conn.execute("""INSERT INTO raw.cp_list BY NAME
                        SELECT * REPLACE (record_id || ' copy' AS record_id, cp_plan_start_date + 10 AS cp_plan_start_date,
                                          'PHY' AS initial_category, 'PHY' AS latest_category)
                        FROM raw.cp_list WHERE record_id = ?""", [TEMPLATE + "#List 7 line 2"])
        conn.execute("""INSERT INTO linkage.person_links BY NAME
                        SELECT * REPLACE (source_record_id || ' copy' AS source_record_id) FROM linkage.person_links
                        WHERE source_record_id = ?""", [TEMPLATE + "#List 7 line 2"])
        build_staging(conn)
        plans = conn.execute("""SELECT start_date, merged_plans, ever_neg, initial_category FROM staging.cp_plans
                                WHERE person_key = ?""", [key]).fetchall()
    assert before == 1 and plans == [(start, 2, True, "NEG")]
