"""Repeatability: a second refresh of the default partnership from the state the first one left gives
the same marts and the same board packs, byte for byte; and the two refreshes' packs together give an
intruder nothing.

The session's refresh (``ingested``) is run again, from a copy of its warehouse, identity store and
pseudonym key (and its output folder without the board packs), through the quality summary, the marts
and the board pack (HTML, workbook, CSV, PNG) of the latest quarter: the extracts and the linkage are
unchanged, so nothing may change. A difference means something depends on the order rows arrive in,
the clock or chance (see README, Repeatability). Re-running the linkage too would add a minute to a
test suite that must stay under ten; ``test_refresh_slow.py`` runs whole refreshes twice, from an empty
warehouse and from the same earlier state, on another partnership, and the linkage's tie-breaks have
unit tests (``test_linkage_rules.py``).
"""
from __future__ import annotations

from datetime import date

import duckdb
import pytest

from dashboards.audit import attack_refreshes, read_published
from dashboards.publication import count_cells, monotone_groups
from models.marts.definitions import load_definitions
from pipelines.partitions import quarter_end
from pipelines.runs import run_plan
from refresh_helpers import (DOWNSTREAM, MARTS_GROUPS, copy_state, file_differences, file_digests,
                             materialisation_metadata, refresh, step_failures, table_differences)

QUARTER = date(2026, 3, 31)
# the quarters whose board packs the session's refresh wrote (`neglect run`'s plan: the latest) are refreshed
# again, marts and packs (every quarter's marts would double the cost, for the same code paths)
RERUN = (QUARTER,)


@pytest.fixture(scope="module")
def second_run(ingested, tmp_path_factory):
    settings = copy_state(ingested.settings, tmp_path_factory.mktemp("second_run"), packs=False)
    plan = {p.job_name: p for p in run_plan(ingested.settings.incoming_dir, date(2026, 11, 23))}
    quarterly = plan["quarterly_refresh"]
    last = quarter_end(quarterly.last_key)
    assert last == QUARTER
    with pytest.MonkeyPatch.context() as env:  # rebuild what an unchanged refresh would report again
        env.setenv("NEGLECT_RECOMPUTE_ALL", "1")  # (pipelines/assets/freshness.py): repeatability is the point here
        results = refresh(settings, (RERUN[0], last), downstream=MARTS_GROUPS)
    return settings, results[DOWNSTREAM]


def test_the_second_run_rebuilt_everything(second_run):
    settings, result = second_run
    assert not step_failures(result)
    done = {e.materialization.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"marts/child_neglect_evidence", "marts/child_neglect_tier", "marts/neglect_prevalence",
            "marts/hidden_prevalence", "marts/practice_indicators", "dashboards/board_report",
            "dashboards/exports"} <= done
    board = materialisation_metadata(result, "dashboards/board_report")
    assert board["reports"] == len(RERUN) and board["disclosure_relations_dropped"] == 0
    assert board["publication_version"] == 1 and board["figures_revised"] == 0  # counts unchanged: no new version


def test_every_table_the_second_run_wrote_is_the_same(ingested, second_run):
    settings, _ = second_run
    differences = table_differences(ingested.settings.warehouse_path, settings.warehouse_path,
                                    only=("marts", "staging", "quality.summary"))
    assert differences == {}, differences


def test_every_board_pack_file_is_byte_identical_after_a_second_run(ingested, second_run):
    settings, _ = second_run
    for quarter in RERUN:
        first, second = (root / "dashboards" / quarter.isoformat() for root in (ingested.settings.output_dir,
                                                                                settings.output_dir))
        files = sorted(file_digests(first))
        assert any(f.endswith(".html") for f in files) and any(f.endswith(".xlsx") for f in files)
        assert any(f.endswith(".csv") for f in files)
        assert file_differences(first, second) == [], quarter


@pytest.mark.slow  # about 4-7 minutes: the integer programme over every pack cell (test_dashboard.py runs the LP over
# the same cells in `make test`; both refreshes' counts are identical here, so together they are the same system)
def test_an_intruder_with_both_refreshes_packs_recovers_nothing(ingested, second_run):
    """The exact (integer) intruder with both refreshes' packs side by side recovers no suppressed count."""
    settings, _ = second_run
    definitions = load_definitions()
    refreshes = []
    for state in (ingested.settings, settings):
        with duckdb.connect(str(state.warehouse_path), read_only=True) as conn:
            # the workbooks hold the CSV files' tables (test_dashboard.py checks every file agrees)
            refreshes.append((read_published(state.output_dir, workbooks=False), count_cells(conn, QUARTER, definitions)))
    result = attack_refreshes(refreshes, monotone_groups(definitions), settings.suppression_threshold, integer=True)
    assert result.conflicts == [] and result.unmatched == []
    assert (result.ranges["reason"] == "suppressed").sum() > 20
    assert result.narrowed(settings.suppression_threshold).empty
