"""Hidden prevalence estimates only the quarters whose inputs changed (issue 18), and the table is what estimating
every quarter gives (models/marts/hidden_prevalence.py, ``build_hidden_prevalence(..., version=...)``).

On a copy of the session refresh's warehouse, cut to its first quarters (a quarter's estimate never depends on
another's): every quarter estimated without a version is the reference. With a version, a second build estimates
nothing; quarters whose stored input digest is spoiled are estimated again, to the same rows; evidence records taken away change the quarters whose capture histories change (found here by
comparing the histories, not the digests) and only those, to the rows a build of every quarter gives; and
another version (code or settings) estimates every quarter.
"""
from __future__ import annotations

import shutil

import duckdb
import pytest

from models.marts.definitions import load_definitions
from models.marts.hidden_prevalence import (QUARTER_INPUTS_TABLE, build_hidden_prevalence, capture_histories,
                                            linkage_variants)
from sources.registry import load_registry

from conftest import LATENT_CLASS_DRAWS

THRESHOLDS = (0.95, 0.5, 0.99)
SAMPLER = {"burn": LATENT_CLASS_DRAWS, "draws": LATENT_CLASS_DRAWS}  # the session refresh's: its draws are kept


def _copy(ingested, tmp_path, name):
    path = tmp_path / name
    shutil.copy(ingested.settings.warehouse_path, path)
    return duckdb.connect(str(path))


def _build(conn, quarters, version):
    frame = build_hidden_prevalence(conn, load_definitions(), quarters, THRESHOLDS, load_registry(), SAMPLER, version)
    return sorted(set(frame["period_end"]))


def _differing_rows(conn, reference: str) -> int:
    """Rows of marts.hidden_prevalence not in ``reference``, and the other way (duplicates counted)."""
    return conn.execute(f"SELECT (SELECT count(*) FROM (FROM marts.hidden_prevalence EXCEPT ALL FROM {reference})) "
                        f"+ (SELECT count(*) FROM (FROM {reference} EXCEPT ALL FROM marts.hidden_prevalence))"
                        ).fetchall()[0][0]


def _histories_by_quarter(conn, quarters) -> dict:
    """Per quarter, the capture histories both ways (the estimate's inputs that evidence can change)."""
    variants = linkage_variants(*THRESHOLDS)
    found = {q: [] for q in quarters}
    for recorded in (False, True):
        frame = capture_histories(conn, load_definitions(), quarters, variants, recorded_in_window=recorded)
        for q in quarters:
            found[q].append(frame[frame["period_end"].dt.date == q].reset_index(drop=True).to_csv(index=False))
    return found


def _quarters(conn, count: int) -> list:
    """The first ``count`` quarters of the session's mart (estimating every one of its 21 quarters four times
    would take a minute; a quarter's estimate never depends on another quarter's)."""
    quarters = [r[0] for r in conn.execute("SELECT DISTINCT period_end FROM marts.hidden_prevalence ORDER BY 1")
                .fetchall()]
    assert len(quarters) >= count
    return quarters[:count]


def test_only_quarters_whose_inputs_changed_are_estimated_to_the_rows_of_a_full_build(ingested, tmp_path):
    conn = _copy(ingested, tmp_path, "incremental.duckdb")
    quarters = _quarters(conn, 9)  # the change below reaches quarters 4-7 at most: 8 is one it must not reach
    conn.execute("DELETE FROM marts.hidden_prevalence WHERE period_end > ?", [quarters[-1]])

    assert _build(conn, quarters, None) == quarters  # the reference: every quarter, no version kept
    conn.execute("CREATE TEMP TABLE every_quarter AS FROM marts.hidden_prevalence")
    assert conn.execute(f"SELECT count(*) FROM {QUARTER_INPUTS_TABLE} WHERE period_end <= ?",
                        [quarters[-1]]).fetchall()[0][0] == 0  # the estimated quarters' digests are gone

    assert _build(conn, quarters, "v1") == quarters  # no digest kept yet: every quarter
    assert _differing_rows(conn, "every_quarter") == 0
    assert _build(conn, quarters, "v1") == []  # nothing changed: nothing estimated, the rows as they were
    assert _differing_rows(conn, "every_quarter") == 0

    spoiled = [quarters[2], quarters[-3]]
    conn.execute(f"UPDATE {QUARTER_INPUTS_TABLE} SET input_key = 'spoiled' WHERE period_end IN (SELECT unnest(?))",
                 [spoiled])
    assert _build(conn, quarters, "v1") == spoiled
    assert _differing_rows(conn, "every_quarter") == 0  # two quarters estimated alone give every quarter's rows

    # 40 evidence records taken away, each current only within one early quarter's three months: the quarters
    # whose 12-month windows reach that quarter can change, no earlier one
    before = _histories_by_quarter(conn, quarters)
    change = ("DELETE FROM marts.child_neglect_evidence WHERE rowid IN (SELECT rowid FROM marts.child_neglect_evidence "
              "WHERE evidence_start > ? - INTERVAL 3 MONTH AND evidence_end <= ? "
              "ORDER BY rowid LIMIT 40)")
    conn.execute(change, [quarters[4], quarters[4]])
    after = _histories_by_quarter(conn, quarters)
    changed = [q for q in quarters if before[q] != after[q]]
    assert changed and set(changed) <= set(quarters[4:8]) and quarters[4] in changed
    assert _build(conn, quarters, "v1") == changed

    full = _copy(ingested, tmp_path, "full.duckdb")  # the same change, every quarter estimated
    full.execute("DELETE FROM marts.hidden_prevalence WHERE period_end > ?", [quarters[-1]])
    full.execute(change, [quarters[4], quarters[4]])
    assert _build(full, quarters, None) == quarters
    full.execute("CHECKPOINT")
    full.close()
    conn.execute(f"ATTACH '{tmp_path / 'full.duckdb'}' AS full_build (READ_ONLY)")
    assert _differing_rows(conn, "full_build.marts.hidden_prevalence") == 0

    assert _build(conn, quarters, "v2") == quarters  # other code or settings: every quarter


def test_a_quarter_without_rows_is_estimated_whatever_its_digest(ingested, tmp_path):
    conn = _copy(ingested, tmp_path, "rows_removed.duckdb")
    quarters = _quarters(conn, 3)
    conn.execute("DELETE FROM marts.hidden_prevalence WHERE period_end > ?", [quarters[-1]])
    assert _build(conn, quarters, "v1") == quarters
    conn.execute("DELETE FROM marts.hidden_prevalence WHERE period_end = ?", [quarters[-1]])
    assert _build(conn, quarters, "v1") == [quarters[-1]]
    assert conn.execute("SELECT count(DISTINCT period_end) FROM marts.hidden_prevalence").fetchall()[0][0] \
        == len(quarters)
