"""The ingest jobs on the default synthetic partnership: every extract loads, the row
accounting is exact against the generator's own record of every file, re-runs are
idempotent, and no identifier reaches the warehouse, output/ or Dagster's storage."""
from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from models.linkage.records import ANNEX_A_CHILD_SOURCES
from sources.registry import load_registry

TRUTH_SOURCE = {"cp_list": "cp_list", "early_help": "early_help", "person_list": "person_list",
                "adult_services": "adult_episodes", "adult_household_children": "adult_household_children",
                "cin_census": "cin_census", **{f"partner_{a}": f"partner_{a}" for a in (
                    "health_visiting", "school", "police", "emergency_department")},
                **{s: s for s in ANNEX_A_CHILD_SOURCES}, "gcp2_assessments": "gcp2_assessments"}  # list 1: no source
KEPT_DEFECTS = {"missing_domain"}  # a GCP2 export's blank domain: kept as "not scored", not rejected
READER_RULE = {"score_out_of_range": "invalid_number"}  # a defect's name -> the reader's rule that rejects it


@pytest.fixture
def warehouse(ingested):
    """A read-only connection, closed after each test (an open one would stop a re-run writing)."""
    with duckdb.connect(str(ingested.settings.warehouse_path), read_only=True) as conn:
        yield conn


def _step_failures(result) -> list[str]:
    out = []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            data = event.step_failure_data
            out.append(data.user_failure_data.description if data.user_failure_data else data.error.to_string())
    return out


def test_both_jobs_succeed_and_every_check_passes_or_warns(ingested):
    for job, result in ingested.results.items():
        assert result.success, print("\n".join(_step_failures(result))) or job
        errors = [e for e in result.get_asset_check_evaluations() if not e.passed and e.severity.value == "ERROR"]
        assert not errors, [(e.asset_key.to_user_string(), e.check_name, e.description) for e in errors]
    structure = [e for r in ingested.results.values() for e in r.get_asset_check_evaluations()
                 if e.check_name == "structure"]
    assert len(structure) == len(load_registry().partitioned()) and all(e.passed for e in structure)


def test_every_extract_file_is_audited_and_loaded(ingested, warehouse):
    incoming = ingested.settings.incoming_dir
    files = {p.relative_to(incoming).as_posix() for p in incoming.glob("*/*/*")
             if p.parts[-3] != "reference"}
    audit = warehouse.execute("SELECT file, source, status FROM quality.load_audit "
                              "WHERE period_end IS NOT NULL AND file IS NOT NULL").df()
    assert set(audit["file"]) == files
    assert (audit["status"] == "loaded").all()
    assert not audit[["file", "source"]].duplicated().any()  # an Annex A workbook: one row per list read


def test_every_period_without_a_file_is_not_supplied(ingested, warehouse):
    """One 'not supplied' audit row per source, authority and quarter of the run with no file: the quarters
    that hold only census returns, and Eastmere's first year without adult-services extracts."""
    supplied = pd.read_csv(ingested.folder / "truth" / "extracts_supplied.csv", dtype=str)
    supplied["source"] = supplied["source"].replace({"adult_services": "adult_episodes"})
    quarters = pd.date_range("2021-03-31", "2026-03-31", freq="QE").date
    for source in ["cp_list", "early_help", "person_list", "adult_episodes", "adult_household_children"]:
        for la in ("991", "992"):
            have = set(supplied.loc[(supplied["source"] == source) & (supplied["lea"] == la)
                                    & (supplied["supplied"] == "True"), "period_end"])
            expected = {q.isoformat() for q in quarters} - have
            got = {str(d) for (d,) in warehouse.execute(
                "SELECT period_end FROM quality.load_audit WHERE source = ? AND la_code = ? "
                "AND status = 'not supplied'", [source, la]).fetchall()}
            assert got == expected, (source, la)
    eastmere_adult = supplied[(supplied["source"] == "adult_episodes") & (supplied["lea"] == "992")
                              & (supplied["supplied"] == "False")]
    assert len(eastmere_adult) > 0  # the generator's deliberate gap is among them


def test_row_accounting_is_exact_against_the_generator(ingested, warehouse):
    truth = pd.read_csv(ingested.folder / "truth" / "source_records.csv", dtype=str, keep_default_na=False)
    truth["source"] = truth["source"].map(TRUTH_SOURCE)
    # not read: an Annex A workbook's list 1 (contacts), and its list 7 where the quarter has its own CP list
    folder = truth["file"].str.rsplit("/", n=1).str[0]
    with_cp_list = set(folder[(truth["source"] == "cp_list") & (truth["sheet"] == "")])
    unread = truth["source"].isna() | ((truth["sheet"] == "List 7") & folder.isin(with_cp_list))
    assert set(truth.loc[unread, "sheet"]) == {"List 1", "List 7"}
    truth = truth[~unread].rename(columns={"source": "truth_source"})
    expected = truth.groupby(["file", "truth_source"]).agg(
        rows=("line", "size"), defects=("defect", lambda d: int(((d != "") & ~d.isin(KEPT_DEFECTS)).sum())))
    # service-activity returns (issue 20) describe services, not people: their rows are in truth/service_activity.csv
    activity = pd.read_csv(ingested.folder / "truth" / "service_activity.csv").groupby("file").size()
    activity = pd.DataFrame({"rows": activity.to_numpy(), "defects": 0},
                            index=pd.MultiIndex.from_arrays([activity.index, ["service_activity"] * len(activity)]))
    expected = pd.concat([expected, activity])
    audit = warehouse.execute("SELECT file, source, rows_read, rows_loaded, rows_rejected "
                              "FROM quality.load_audit WHERE period_end IS NOT NULL AND file IS NOT NULL").df() \
        .set_index(["file", "source"])
    expected.index.names = ["file", "source"]
    joined = audit.join(expected, how="outer")
    assert joined.notna().all().all()
    joined = joined.reset_index()
    assert (joined["rows_read"] == joined["rows"]).all()
    assert (joined["rows_read"] == joined["rows_loaded"] + joined["rows_rejected"]).all()
    tabular = joined[joined["source"] != "cin_census"]
    # every injected defect in a CSV/xlsx but a blank GCP2 domain is of a rejecting kind: rejected rows == defects
    assert (tabular["rows_rejected"] == tabular["defects"]).all()
    cin = joined[joined["source"] == "cin_census"]
    assert (cin["rows_rejected"] == 0).all()  # CIN defects are flagged, never rejected whole


def test_rejected_lines_are_the_injected_defects(ingested, warehouse):
    truth = pd.read_csv(ingested.folder / "truth" / "source_records.csv", dtype=str, keep_default_na=False)
    truth = truth[(truth["defect"] != "") & (truth["source"] != "cin_census") & ~truth["defect"].isin(KEPT_DEFECTS)]
    expected = set(zip(truth["file"], truth["line"].astype(int), truth["defect"].replace(READER_RULE)))
    got = warehouse.execute("SELECT DISTINCT file, source_line, rule FROM quality.rejects "
                            "WHERE action = 'row_rejected' AND period_end IS NOT NULL").fetchall()
    got_lines = {(f, int(l)) for f, l, _ in got}
    assert got_lines == {(f, l) for f, l, _ in expected}
    assert expected <= {(f, int(l), r) for f, l, r in got}


def test_rows_are_in_the_raw_tables_with_their_period(warehouse):
    audit = dict(warehouse.execute("SELECT source, sum(rows_loaded) FROM quality.load_audit "
                                   "WHERE period_end IS NOT NULL GROUP BY source").fetchall())
    for table in ["cp_list", "early_help", "person_list", "adult_episodes", "adult_household_children"]:
        assert warehouse.execute(f"SELECT count(*) FROM raw.{table}").fetchone()[0] == audit[table]
        periods = warehouse.execute(f"SELECT count(DISTINCT period_end) FROM raw.{table}").fetchone()[0]
        assert periods == 12, table
    assert warehouse.execute("SELECT count(*) FROM raw.cin_child").fetchone()[0] == audit["cin_census"]
    years = warehouse.execute("SELECT DISTINCT collection_year FROM raw.cin_child ORDER BY 1").fetchall()
    assert [y for (y,) in years] == [2021, 2022, 2023, 2024, 2025, 2026]


def test_geography_is_attached_from_the_postcode(warehouse):
    matched, with_postcode = warehouse.execute(
        "SELECT count(*) FILTER (WHERE postcode_matched), count(*) FILTER (WHERE has_postcode) "
        "FROM raw.person_list").fetchone()
    assert matched / with_postcode > 0.97
    bad = warehouse.execute("SELECT count(*) FROM raw.person_list WHERE postcode_matched AND "
                            "(ward_code IS NULL OR deprivation_decile NOT BETWEEN 1 AND 10)").fetchone()[0]
    assert bad == 0


def test_quality_summary_covers_every_source_authority_and_period(warehouse):
    rows = warehouse.execute("SELECT source, count(*), min(validity_pct) FILTER (WHERE supply = 'supplied'), "
                             "max(dob_pct) FROM quality.summary GROUP BY source").fetchall()
    counts = {s: n for s, n, *_ in rows}
    for source in ["cp_list", "early_help", "person_list", "adult_episodes", "adult_household_children"]:
        assert counts[source] == 42  # 2 authorities x 21 quarters (31 March 2021 to 31 March 2026)
    assert counts["cin_census"] == 12  # 2 authorities x 6 census years
    assert warehouse.execute("SELECT count(*) FROM quality.summary WHERE supply = 'not supplied' "
                             "AND rows_read IS NOT NULL").fetchone()[0] == 0  # not supplied is never 0
    for source, _, validity, dob in rows:
        # a source without dates of birth (service activity: counts of children, no person) has no dob_pct
        assert 0 <= validity <= 100 and (dob <= 100 if source != "service_activity" else dob is None)
    person = warehouse.execute("SELECT min(nhs_number_pct), min(upn_pct) FROM quality.summary "
                               "WHERE source = 'person_list'").fetchone()
    assert all(50 < p <= 100 for p in person)


# ------------------------------------------------------------------ privacy

def _identifiers(folder: Path) -> dict[str, set[str]]:
    persons = pd.read_csv(folder / "truth" / "persons.csv", dtype=str, keep_default_na=False)
    ids = pd.read_csv(folder / "truth" / "system_ids.csv", dtype=str, keep_default_na=False)
    addresses = pd.read_csv(folder / "truth" / "addresses.csv", dtype=str, keep_default_na=False)
    return {
        "full name": set(persons["forename"] + " " + persons["surname"]),
        "NHS number": set(persons["nhs_number"]) - {""},
        "UPN": set(persons["upn"]) - {""},
        "postcode": set(addresses["postcode"]) - {""},
        "local id": set(ids["local_id"]) - {""},
    }


def test_no_identifier_in_any_warehouse_cell(ingested, warehouse):
    ids = _identifiers(ingested.folder)
    columns = warehouse.execute("SELECT table_schema, table_name, column_name FROM information_schema.columns "
                                "WHERE data_type = 'VARCHAR' AND table_schema IN ('raw', 'quality', 'staging', "
                                "'linkage', 'marts', 'published')").fetchall()
    cells = set()
    for schema, table, column in columns:
        if (schema, table) == ("raw", "postcode_lookup"):
            continue  # public reference data: every postcode of the area, not a person's
        cells |= {v for (v,) in warehouse.execute(f'SELECT DISTINCT "{column}" FROM {schema}.{table}').fetchall()
                  if v is not None}
    first_names = set(pd.read_csv(ingested.folder / "truth" / "persons.csv", dtype=str)["forename"])
    for kind, values in ids.items():
        assert not cells & values, f"{kind} found in the warehouse"
    assert not cells & first_names, "a forename found as a warehouse cell"


def test_the_identity_store_holds_the_identifiers(ingested):
    """The scan above can find identifiers: the identity store, which should hold them, is full of them."""
    ids = _identifiers(ingested.folder)
    with duckdb.connect(str(ingested.settings.identity_path), read_only=True) as conn:
        nhs = {v for (v,) in conn.execute("SELECT DISTINCT nhs_number FROM identifiers.person_list").fetchall()}
    assert len(nhs & ids["NHS number"]) > 1000


def without_embedded_library(text: str) -> str:
    """The text without the plotly.js library a board report embeds (third-party code, the same in every
    report; its numeric constants are not data)."""
    return re.sub(r"<script[^>]*id='plotly-library'[^>]*>.*?</script>", "", text, flags=re.S)


def _words_in_files(root: Path) -> tuple[set[str], set[str]]:
    """(words, pairs of consecutive words) in every file under ``root``, read as text."""
    words, pairs = set(), set()
    for path in root.rglob("*"):
        if path.is_file() and "static" not in path.relative_to(root).parts:  # GX's bundled images, CSS
            # a decimal number is one token: timestamps' fractions (…101.5773132) are not local IDs
            text = without_embedded_library(path.read_bytes().decode("utf-8", errors="replace"))
            tokens = re.findall(r"[A-Za-z0-9]+(?:\.[0-9]+)*", text)
            words.update(tokens)
            pairs.update(a + " " + b for a, b in zip(tokens, tokens[1:]))
    return words, pairs


@pytest.mark.parametrize("where", ["output", "dagster"])
def test_no_identifier_in_outputs_or_dagster_storage(ingested, where):
    root = ingested.settings.output_dir if where == "output" else ingested.dagster_dir
    assert root.is_dir() and any(root.rglob("*")), f"nothing written to {root}"
    words, pairs = _words_in_files(root)
    ids = _identifiers(ingested.folder)
    for kind in ["NHS number", "UPN", "local id"]:
        assert not words & ids[kind], f"{kind} found in {where}"
    for kind in ["postcode", "full name"]:
        assert not pairs & ids[kind], f"{kind} found in {where}"


# ------------------------------------------------------------------ idempotence (keep last: re-runs a quarter)

def _state(path) -> dict:
    with duckdb.connect(str(path), read_only=True) as conn:
        tables = [t for (t,) in conn.execute("SELECT table_schema || '.' || table_name FROM information_schema.tables "
                                              "WHERE table_schema IN ('raw', 'quality')").fetchall()]
        state = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
        state["distinct cp_list record ids"] = conn.execute(
            "SELECT count(DISTINCT record_id) FROM raw.cp_list").fetchone()[0]
    return state


def _rerun_quarter_extracts(ingested) -> set[str]:
    """Re-run the quarter ending 31 March 2026 of every quarterly source; returns their names."""
    from dagster import DagsterInstance

    from pipelines.event_log import instance_overrides
    from pipelines.assets.extracts import source_key
    from pipelines.definitions import build_definitions
    from sources.registry import load_registry

    defs = build_definitions(ingested.settings)
    names = {s.name for s in load_registry().partitioned() if s.partitioning == "quarter"}
    with DagsterInstance.local_temp(str(ingested.dagster_dir),
                                    overrides=instance_overrides(str(ingested.dagster_dir))) as instance:
        # the quarter's extracts only: linkage and the marts are rebuilt from every period, not by partition
        result = defs.resolve_job_def("quarterly_refresh").execute_in_process(
            instance=instance, partition_key="2026-01-01", asset_selection=[source_key(n) for n in sorted(names)],
            raise_on_error=False)
    assert result.success, [e.step_failure_data.error for e in result.all_events
                            if e.event_type_value == "STEP_FAILURE"]
    return names


def _audit_runs(path) -> dict:
    with duckdb.connect(str(path), read_only=True) as conn:
        return dict(conn.execute("SELECT source, list(DISTINCT run_id) FROM quality.load_audit "
                                 "WHERE period_end = DATE '2026-03-31' GROUP BY source").fetchall())


def test_rerunning_an_unchanged_quarter_reads_nothing_again(ingested):
    before, runs_before = _state(ingested.settings.warehouse_path), _audit_runs(ingested.settings.warehouse_path)
    _rerun_quarter_extracts(ingested)
    assert _state(ingested.settings.warehouse_path) == before
    assert _audit_runs(ingested.settings.warehouse_path) == runs_before  # no audit row rewritten: nothing re-read


def test_rerunning_a_quarter_replaces_its_rows_without_duplicates(ingested, monkeypatch):
    before = _state(ingested.settings.warehouse_path)
    identity_before = _state_identity(ingested.settings.identity_path)
    runs_before = _audit_runs(ingested.settings.warehouse_path)
    monkeypatch.setenv("NEGLECT_READ_ALL", "1")  # read the quarter's files again although they did not change
    rerun = _rerun_quarter_extracts(ingested)
    assert _state(ingested.settings.warehouse_path) == before
    assert _state_identity(ingested.settings.identity_path) == identity_before
    assert before["raw.cp_list"] == before["distinct cp_list record ids"]
    after = _audit_runs(ingested.settings.warehouse_path)
    assert after.keys() == runs_before.keys() and rerun <= after.keys()
    assert all(after[s] != runs_before[s] for s in rerun) and all(after[s] == runs_before[s] for s in after.keys() - rerun)


def _state_identity(path) -> dict:
    with duckdb.connect(str(path), read_only=True) as conn:
        tables = [t for (t,) in conn.execute("SELECT table_schema || '.' || table_name FROM information_schema.tables "
                                              "WHERE table_schema = 'identifiers'").fetchall()]
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
