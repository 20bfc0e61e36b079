"""The hostile corpus (tests/fixtures/hostile/README.md, tests/hostile_corpus.py): every case through its
reader or the incoming-folder scan, with the outcome its table says; and the guarantees around them that
are cheap to test here (errors back from worker processes, workers that outlive nothing, headers swapped
into every position, the review file, the identity store, implausible denominators).

The cases marked for `neglect run` go through it at once in tests/test_hostile_run.py.
"""
from __future__ import annotations

import filecmp
import os
import pickle
import signal
import stat
import subprocess
import sys
import time
import traceback
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pandas as pd
import pytest

import hostile_corpus as hc
from sources.errors import SourceFileError
from sources.registry import load_registry, resolve

REGISTRY = load_registry()
READER_CASES = [c for c in hc.CASES if c.reader != "scan"]
SCAN_CASES = [c for c in hc.CASES if c.reader == "scan"]


def test_the_corpus_has_at_least_60_cases_across_every_reader_and_the_layout():
    assert len(hc.CASES) >= 60
    readers = {c.reader for c in hc.CASES}
    assert readers >= {"person_list", "cp_list", "early_help", "adult_episodes", "adult_household_children",
                       "cin_census", "ons_population", "la_codes", "ward_boundaries", "postcode_lookup",
                       "deprivation", "scan"}
    assert len({c.id for c in hc.CASES}) == len(hc.CASES)


def test_committed_files_and_the_readme_table_are_what_the_corpus_makes(tmp_path):
    made = tmp_path / "cases"
    for case in hc.CASES:
        if case.committed:
            hc.build_case(case, made / case.id)
    on_disk = sorted(p.relative_to(hc.CASES_DIR).as_posix() for p in hc.CASES_DIR.rglob("*"))
    assert on_disk == sorted(p.relative_to(made).as_posix() for p in made.rglob("*"))
    for rel in on_disk:
        if (made / rel).is_file():
            assert filecmp.cmp(made / rel, hc.CASES_DIR / rel, shallow=False), rel
    assert hc.readme_table() in (hc.CORPUS / "README.md").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------ readers

def _case_root(case: hc.Case, tmp_path: Path) -> Path:
    """The folder standing for incoming/ that holds the case (committed cases are read where they are)."""
    if case.committed:
        return hc.CASES_DIR / case.id
    root = tmp_path / "incoming"
    hc.build_case(case, root)
    return root


def read_case(case: hc.Case, path: Path):
    source = REGISTRY[case.reader]
    if case.reader == "cin_census":
        return source.read(path, la_code="991", expected_year=2025)
    if case.reader == "ons_population":
        return resolve(source.reader)([path])
    if source.partitioning == "reference":
        return resolve(source.reader)(path)
    return source.read(path)


def _summary(result) -> tuple[int, dict[int, set[str]], list[str], set[int]]:
    """(rows read, {rejected line: rules}, messages, kept lines) whatever the reader's result type."""
    if hasattr(result, "children_read"):  # CIN census
        rejects = result.rejects
        lines = {}
        for line, rule in zip(rejects["source_line"], rejects["rule"]):
            lines.setdefault(int(line), set()).add(rule)
        return result.children_read, {}, list(rejects["message"]), set()
    if hasattr(result, "over_17"):  # ONS population
        rejects = result.rejects
        lines = {}
        for line, rule in zip(rejects["line"], rejects["rule"]):
            lines.setdefault(int(line), set()).add(rule)
        return len(result.rows) + len(lines), lines, list(rejects["message"]), set(result.rows["source_line"])
    rejects = result.rejects
    lines = {}
    for line, rule in zip(rejects["source_line"], rejects["rule"]):
        lines.setdefault(int(line), set()).add(rule)
    kept = result.rows["source_line"] if "source_line" in result.rows else result.rows["feature_index"]  # GeoJSON
    return result.rows_read, lines, list(rejects["message"]), set(kept)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.slow else [])
                                  for c in READER_CASES])
def test_every_case_has_its_outcome_through_its_reader(case, tmp_path):
    path = _case_root(case, tmp_path) / case.file
    outcome = case.outcome
    started = time.monotonic()
    if isinstance(outcome, hc.Refused):
        with pytest.raises(SourceFileError) as info:
            read_case(case, path)
        err = info.value
        assert err.location.startswith(outcome.location), (err.location, outcome.location)
        for word in outcome.words:
            assert word in err.problem, (word, err.problem)
        assert str(err).startswith(case.file + ", ")  # named as under incoming/, with its folders
        assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)
        everything = "".join(traceback.format_exception(err))
        for word in case.leak_words:
            assert word not in everything
        assert pickle.loads(pickle.dumps(err)).args == err.args  # travels back from a worker intact
    else:
        result = read_case(case, path)
        rows_read, rejected, messages, kept = _summary(result)
        assert rows_read == outcome.rows_read
        if not hasattr(result, "children_read"):
            assert rows_read == len(kept) + len(rejected) and not kept & set(rejected)  # every row loaded or rejected
        assert {line: rules for line, rules in rejected.items()} == \
            {line: {rule} for line, rule in outcome.rejected.items()}, rejected
        if outcome.encoding:
            encoding = getattr(result, "encoding", None) or next(iter(getattr(result, "encodings", {}).values()))
            assert encoding == outcome.encoding
        text = " ".join(messages)
        for word in case.leak_words:
            assert word not in text, word
    assert time.monotonic() - started < 60  # no reader takes long over a hostile file


def test_line_numbers_are_the_files_own_lines():
    """H29: a quoted value spanning three lines: the next row is reported on its own line (8), as in the file."""
    case = hc.case("H29")
    path = hc.CASES_DIR / case.id / case.file
    result = read_case(case, path)
    physical = path.read_bytes().decode("utf-8").split("\n")  # lines as an editor counts them
    assert physical[7].startswith("EHHX5004,")  # line 8 of the file
    assert 8 in set(result.rows["source_line"]) and 6 not in set(result.rows["source_line"])


def test_new_code_variants_are_quoted_and_names_never_are():
    case = hc.case("H37")
    result = read_case(case, hc.CASES_DIR / case.id / case.file)
    assert list(result.rejects["message"]) == [
        "initial_category 'Financial abuse' is not in the code map category_of_abuse.csv",
        "initial_category 'N3G' is not in the code map category_of_abuse.csv"]
    swapped = read_case(hc.case("H14"), hc.CASES_DIR / "H14" / hc.case("H14").file)
    assert set(swapped.rejects["message"]) == {
        "gender is not in the code map gender.csv (value not shown: 24 different values of this column are not "
        "codes; is the column mislabelled?)"}


def test_a_utf8_file_with_one_stray_byte_keeps_its_names():
    """H05: Windows-1252 would decode every line (it decodes almost any byte), turning every 'ë' into 'Ã«'."""
    case = hc.case("H05")
    result = read_case(case, hc.CASES_DIR / case.id / case.file)
    assert set(result.rows["forename"]) == {"Zoë"}


@pytest.mark.parametrize("header, rows, source", [
    (hc.PERSON_HEADER, hc.person_rows(30), "person_list"),
    (hc.EH_HEADER, hc.eh_rows(30), "early_help"),
    (hc.CP_HEADER, hc.cp_rows(30), "cp_list"),
    (hc.ADULT_HEADER, hc.adult_rows(30), "adult_episodes"),
], ids=["person_list", "early_help", "cp_list", "adult_episodes"])
def test_headers_rotated_into_every_position_never_put_an_identifier_in_a_message(tmp_path, header, rows, source):
    """Every column's values under every other column's header (each rotation of the header row): whatever is
    rejected, no name, NHS number, UPN, postcode or date of birth appears in a message or a refusal."""
    identifiers = {v for row in rows for i, v in enumerate(row) if header[i] in (
        "LA Child ID", "Child Unique ID", "NHS Number", "UPN", "Forename", "Surname", "Date of Birth", "Postcode",
        "EH ID", "Client ID", "Allocated Worker") and v}
    reader = REGISTRY[source]
    name = {"person_list": "csc_person_list.csv", "early_help": "early_help_episodes.csv",
            "cp_list": "annex_a_list_7_child_protection.csv", "adult_episodes": "adult_mental_health_episodes.csv"}
    for shift in range(1, len(header)):
        rotated = header[shift:] + header[:shift]
        path = tmp_path / f"r{shift}" / "991_northbrook" / "2025-06-30" / name[source]
        hc._write(path, hc.csv_text(rotated, rows))
        try:
            result = reader.read(path)
            text = " ".join(result.rejects["message"])
        except SourceFileError as exc:
            text = "".join(traceback.format_exception(exc))
        leaked = [v for v in identifiers if v in text]
        assert not leaked, (shift, leaked[:3], text[:300])


def test_a_file_mostly_rejected_is_refused_with_its_commonest_reason_through_the_ingest():
    from ingest.files import load_file

    case = hc.case("H14")
    root = hc.CASES_DIR / case.id
    load = load_file(REGISTRY["person_list"], root, root / case.file, date(2025, 12, 31))
    assert load.status == "failed" and load.rows_loaded == 0 and load.rejects.empty
    assert load.error.startswith("991_northbrook/2025-12-31/csc_person_list.csv, file: 24 of 24 rows would be "
                                 "rejected (most often gender invalid_code: 24)")
    assert not any(name in load.error for name in hc.SURNAMES)


# ------------------------------------------------------------------------------------------ layout

def _scan(root: Path):
    from pipelines.runs import scan_for_run

    return scan_for_run(root, date.today())


@pytest.mark.parametrize("case", SCAN_CASES, ids=[c.id for c in SCAN_CASES])
def test_every_layout_case_is_skipped_or_refused_with_the_reason(case, tmp_path):
    root = tmp_path / "incoming"
    hc.build_case(case, root)
    outcome = case.outcome
    if case.file.startswith("reference/"):
        from sources.incoming import find_reference

        source = REGISTRY["ons_population" if "population" in case.file else "postcode_lookup"]
        with pytest.raises(SourceFileError) as info:
            find_reference(root, source)
        (rel, words), = outcome.problems.items()
        assert str(info.value).startswith(rel) and words in info.value.problem
        return
    started = time.monotonic()
    scan = _scan(root)
    assert time.monotonic() - started < 30  # a named pipe does not hang the scan
    for rel, words in outcome.skipped.items():
        assert any(r == rel and words in why for r, why in scan.skipped), (rel, scan.skipped)
    found = {f.rel: f for f in scan.files}
    for rel, words in outcome.problems.items():
        assert found[rel].problem and words in found[rel].problem, (rel, found.get(rel))
    for rel in outcome.placed:
        assert found[rel].problem is None
    assert all(not (rel in found and found[rel].problem is None) for rel in outcome.skipped)


def test_a_named_pipe_is_refused_by_the_reader_itself_without_waiting(tmp_path):
    """Even if one appears after the scan: the reader opens without blocking and refuses what is not a file."""
    case = hc.case("L08")
    root = tmp_path / "incoming"
    hc.build_case(case, root)
    started = time.monotonic()
    with pytest.raises(SourceFileError, match="not a regular file \\(a named pipe\\)"):
        REGISTRY["early_help"].read(root / case.file)
    folder = root / "991_northbrook/2026-03-31/csc_person_list.csv"
    folder.mkdir(parents=True)
    with pytest.raises(SourceFileError, match="not a regular file \\(a folder\\)"):
        REGISTRY["person_list"].read(folder)
    assert time.monotonic() - started < 5


# ------------------------------------------------------------------------------------------ processes

def test_errors_come_back_from_worker_processes_and_a_dead_worker_fails_only_its_file(monkeypatch):
    from ingest.parallel import read_in_order, shared_pool

    monkeypatch.setenv("NEGLECT_READ_WORKERS", "2")
    day = date(2026, 3, 31)
    with shared_pool():
        reads = read_in_order(hc.worker_job, [(Path("ok0"), day), (Path("raise1"), day)])
        assert next(reads) == ("ok", "ok0")
        with pytest.raises(SourceFileError) as info:  # not BrokenProcessPool: the reader's own error, intact
            next(reads)
        assert str(info.value) == "raise1, line 3: made to fail"
        jobs = [(Path(name), day) for name in ("ok0", "crash1", "ok2", "ok3")]
        results = list(read_in_order(hc.worker_job, jobs, on_crash=hc.worker_crash_refusal))
    assert [r[0] for r in results] == ["ok", "crashed", "ok", "ok"]
    assert "ended abruptly" in results[1][1]


def test_reader_processes_end_when_their_parent_is_killed(tmp_path):
    """kill -9 of the process that started the readers: they notice within seconds and end."""
    script = ("import os, sys, time\n"
              "from ingest import parallel\n"
              "with parallel.shared_pool():\n"
              "    parallel.warm_up()\n"
              "    pool = parallel._get_shared(2)\n"
              "    list(pool.map(int, range(4)))\n"
              "    print(' '.join(str(p) for p in pool._processes), flush=True)\n"
              "    time.sleep(600)\n")
    env = {**os.environ, "NEGLECT_READ_WORKERS": "2"}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env,
                            cwd=Path(__file__).resolve().parents[1])
    try:
        workers = [int(p) for p in proc.stdout.readline().split()]
        assert len(workers) == 2 and all(_alive(p) for p in workers)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 15
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(p) for p in workers)
    finally:
        if proc.poll() is None:
            proc.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


# ------------------------------------------------------------------------------------------ outputs

def test_the_review_file_is_private_and_neutralises_formulas(tmp_path):
    from models.linkage.run import write_review_file

    pairs = pd.DataFrame({"forename_l": ['=HYPERLINK("http://evil.example","x")', "@SUM(1+9)*cmd|' /C calc'!A0"],
                          "surname_l": ["+44 20", "\tTabbed"], "nhs_number_l": ["9990000018", "-2+3"],
                          "match_weight": [-3.5, 12.0]})
    result = SimpleNamespace(children=SimpleNamespace(review_pairs=pairs, model_json=None),
                             adults=SimpleNamespace(review_pairs=pairs.iloc[0:0], model_json=None))
    folder = tmp_path / "clerical_review"
    path = write_review_file(result, folder, date(2026, 3, 31))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE(path.stat().st_mode) == 0o600
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(frame["forename_l"]) == ["'" + pairs["forename_l"][0], "'" + pairs["forename_l"][1]]
    assert list(frame["surname_l"]) == ["'+44 20", "'\tTabbed"] and list(frame["nhs_number_l"]) == ["9990000018", "'-2+3"]
    assert list(frame["match_weight"]) == ["-3.5", "12.0"]  # numbers are not text: left alone
    path.chmod(0o644)
    write_review_file(result, folder, date(2026, 3, 31))  # rewritten: private again
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_identity_store_is_private(tmp_path):
    from pipelines.resources import IdentityStoreResource

    store = IdentityStoreResource(database=str(tmp_path / "warehouse" / "identity.duckdb"))
    with store.get_connection() as conn:
        conn.execute("CREATE TABLE t AS SELECT 'Quillfeather' AS surname")
    assert stat.S_IMODE((tmp_path / "warehouse").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "warehouse" / "identity.duckdb").stat().st_mode) == 0o600
    assert not (tmp_path / "warehouse" / "identity.duckdb.wal").exists() or \
        stat.S_IMODE((tmp_path / "warehouse" / "identity.duckdb.wal").stat().st_mode) == 0o600


def test_an_implausible_population_cell_fails_the_blocking_check():
    from checks.population import denominators_plausible

    def outcome(case_id: str):
        case = hc.case(case_id)
        rows = read_case(case, hc.CASES_DIR / case.id / case.file).rows
        with duckdb.connect() as conn:
            conn.execute("CREATE SCHEMA raw")
            conn.register("rows", rows)
            conn.execute("CREATE TABLE raw.ons_population AS SELECT * FROM rows")
            return denominators_plausible(conn)

    typo = outcome("H70")
    assert not typo.passed and "99,999,999 children" in typo.description
    assert "ward E05900001 sex 1 age 4" in typo.description
    assert outcome("H71").passed


def test_a_worker_dying_while_files_are_still_handed_out_fails_only_its_file(monkeypatch):
    """On a busy machine a file can kill its worker before the later files are submitted (submit then raises
    BrokenProcessPool). Played with a pool that breaks at the crashing file: every other file is still read, in
    order, on a new pool, and the crashing one is refused after its second try. (Before, the read stopped with
    BrokenProcessPool: seen once in make test under load.)"""
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    import ingest.parallel as parallel

    class BreakingPool:
        def __init__(self):
            self.broken = False

        def submit(self, fn, path, period_end):
            if self.broken:
                raise BrokenProcessPool("a child process terminated abruptly")
            future = Future()
            if Path(path).name.startswith("crash"):
                self.broken = True
                future.set_exception(BrokenProcessPool("a child process terminated abruptly"))
            else:
                future.set_result(fn(path, period_end))
            return future

        def shutdown(self, *args, **kwargs):
            pass

    pools = []
    monkeypatch.setattr(parallel, "_new_pool", lambda *a, **k: pools.append(BreakingPool()) or pools[-1])
    monkeypatch.setattr(parallel, "_stop", lambda pool: None)
    monkeypatch.setenv("NEGLECT_READ_WORKERS", "2")
    monkeypatch.setenv("NEGLECT_SMALL_READ_BYTES", "0")
    day = date(2026, 3, 31)
    jobs = [(Path(name), day) for name in ("ok0", "crash1", "ok2", "ok3")]
    results = list(parallel.read_in_order(hc.worker_job, jobs, on_crash=hc.worker_crash_refusal))
    assert [r[0] for r in results] == ["ok", "crashed", "ok", "ok"]
    assert [r[1] for r in results if r[0] == "ok"] == ["ok0", "ok2", "ok3"]
    assert "twice" in results[1][1]
