"""A partnership's first run: the hand-written partnership of tests/fixtures/real_partnership/ cut to its first
extract -- Northbrook's CP list for the quarter ending 31 December 2025 -- with Eastmere sending nothing yet,
through the command an analyst types.

With one quarter no child can move between tiers yet, and with under a year none can be followed 4 quarters on,
so the flow and cohort marts are empty. That must not fail the run: before, their blocking checks failed ("no
flow margins / no cohorts followed to check") and held back the board report of every partnership in its first
quarter or year. And an authority that sent nothing must read *not supplied* (x), not 0: before, Eastmere's tiers
showed "0.0 (0)" and its CP-plan rate "lower" than England's.
"""
from __future__ import annotations

import html
import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from cli_project import neglect_run

REPO = Path(__file__).resolve().parents[1]
PARTNERSHIP = REPO / "tests" / "fixtures" / "real_partnership" / "incoming"
FIRST = "991_northbrook/2025-12-31"  # the partnership's first extract: Northbrook's CP list


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("first_run")
    shutil.copytree(PARTNERSHIP / "reference", root / "incoming" / "reference")
    shutil.copytree(PARTNERSHIP / FIRST, root / "incoming" / FIRST)
    # a shorter hidden-prevalence sampler (as the session refresh, tests/conftest.py): nothing here judges the estimate
    return (root, *neglect_run(root, 'incoming_dir = "incoming"\nlatent_class_draws = 100\n'))


def test_the_first_run_succeeds_and_says_why_flows_and_cohorts_are_empty(first_run):
    root, code, out, err = first_run
    assert "Traceback" not in out + err
    assert code == 0 and "The run succeeded" in out, err[-3000:]
    assert "check flows_recount passed: no flow to recount yet" in out
    assert "check cohorts_recount passed: no cohort to follow yet" in out
    with duckdb.connect(str(root / "warehouse" / "neglect.duckdb"), read_only=True) as conn:
        for mart in ("tier_transitions", "cohort_outcomes"):
            assert conn.execute(f"SELECT count(*) FROM marts.{mart}").fetchall() == [(0,)]
        assert conn.execute("SELECT DISTINCT period_end FROM marts.child_neglect_tier").fetchall() == \
            [(date(2025, 12, 31),)]
        presence = dict(conn.execute("SELECT la_code, present FROM marts.authority_presence").fetchall())
        eastmere = conn.execute("""SELECT DISTINCT availability, children FROM marts.neglect_prevalence
                                   WHERE la_code = '992' AND breakdown = 'all'""").fetchall()
    assert presence == {"991": True, "992": False}
    assert eastmere == [("not supplied", None)]


def test_the_board_report_says_what_is_not_there_yet(first_run):
    root, *_ = first_run
    report = root / "output" / "dashboards" / "2025-12-31" / "neglect_board_report_2025-12-31.html"
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", report.read_text(encoding="utf-8"))))
    assert "Flows between tiers: not available yet (a flow needs the quarter end before this one" in text
    assert ("What happened to the children identified a year ago: not available yet (children are followed 4 and 8 "
            "quarters after they are first identified, and the extracts start on 31 December 2025)") in text
    assert "cannot be compared with last quarter" in text and "+nan" not in text
    assert "Eastmere CP plan: neglect, at quarter end x " in text  # page 1: not supplied, not c or 0.0
    assert "Eastmere 1. Headline No extract was supplied for this quarter" in text
