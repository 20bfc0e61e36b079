"""The marts' tier counts for the months after the latest CIN census, with and without Ofsted Annex A,
scored against the synthetic partnership's truth (slow: a partnership of its own, ingested end to end).

The partnership runs two quarters past its last census return (extracts to 30 September 2026; the
2026-27 census is not due until after 31 March 2027), as an analyst's does every autumn. At 30 September
2026 the census of 31 March 2026 is carried forward: its open episodes count as open, and nothing that
started since is in it. The Annex A workbook of the half-year to 30 September 2026 (lists 4 and 6) adds the
assessments and CIN episodes since the census, and ends the carried episodes it shows closed.

Scored: children per tier (3: neglect assessed in a child in need; 5: primary need N1) and tier set 1-5,
point and 12-month, per authority and partnership, against tests/marts_truth.py's independent tiers of the
same evidence (truth/recorded_evidence.csv). `main()` prints the table (python tests/test_annex_a_scoring.py).
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from marts_truth import tier_set_counts, truth_tiers

pytestmark = pytest.mark.slow

QUARTER = "2026-09-30"
TODAY = date(2026, 12, 1)
CHILDREN = 20_000
TIER_SETS = {"3": (3,), "5": (5,), "1-5": (1, 2, 3, 4, 5)}


@dataclass
class Run:
    folder: Path
    warehouse: Path
    seconds: float


def build_partnership(root: Path) -> Run:
    """Generate the partnership (extracts to 30 September 2026) and run the census and quarterly refreshes."""
    from refresh_helpers import project_settings, run_everything
    from sources.synthetic.config import GeneratorConfig
    from sources.synthetic.generate import generate_partnership

    started = time.monotonic()
    folder = root / "partnership"
    generate_partnership(GeneratorConfig(children=CHILDREN, quarters=14), folder)
    settings = project_settings(folder, root / "project")
    results = run_everything(settings, TODAY, skip=("board_report",))
    assert all(r.success for r in results.values()), [job for job, r in results.items() if not r.success]
    return Run(folder, settings.warehouse_path, time.monotonic() - started)


def marts_counts(warehouse: Path, without_annex_a: bool = False) -> pd.DataFrame:
    """Children per (measure, la_code, tier_set) at QUARTER; ``without_annex_a``: rebuilt on a copy of the
    warehouse with Annex A lists 2, 4 and 6 emptied (what the marts say from the carried census alone)."""
    from models.marts.definitions import load_definitions
    from models.marts.evidence import build_evidence, build_staging, build_tiers

    path = warehouse
    if without_annex_a:
        path = warehouse.with_name("without_annex_a.duckdb")
        shutil.copy(warehouse, path)
    with duckdb.connect(str(path), read_only=not without_annex_a) as conn:
        if without_annex_a:
            for table in ("annex_a_assessments", "annex_a_children_in_need", "annex_a_early_help"):
                conn.execute(f"DELETE FROM raw.{table}")
            definitions = load_definitions()
            build_staging(conn)
            build_evidence(conn, definitions)
            build_tiers(conn, definitions, [date.fromisoformat(QUARTER)])
        tiers = conn.execute("""SELECT measure, la_code, person_key AS person_id, tier FROM marts.child_neglect_tier
                                WHERE period_end = ? AND tier IS NOT NULL""", [QUARTER]).df()
    return tier_set_counts(tiers, TIER_SETS)


def score(run: Run) -> pd.DataFrame:
    """One row per (measure, la_code, tier_set): truth, marts with Annex A, marts without it, and errors."""
    truth = tier_set_counts(truth_tiers(run.folder / "truth", QUARTER, "2020-04-01"), TIER_SETS)
    keys = ["measure", "la_code", "tier_set"]
    table = (truth.rename(columns={"children": "truth"})
             .merge(marts_counts(run.warehouse).rename(columns={"children": "with_annex_a"}), on=keys, how="outer")
             .merge(marts_counts(run.warehouse, True).rename(columns={"children": "census_only"}), on=keys, how="outer")
             .fillna(0))
    for column in ("with_annex_a", "census_only"):
        table[f"{column}_error_pct"] = (100 * (table[column] - table["truth"]) / table["truth"]).round(1)
    return table.sort_values(keys).reset_index(drop=True)


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> pd.DataFrame:
    return score(build_partnership(tmp_path_factory.mktemp("annex_a_scoring")))


def test_the_latest_months_come_from_annex_a(scored):
    # the census alone carries every episode open at 31 March 2026 and knows nothing since: far from the truth
    partnership = scored[scored["la_code"] == "partnership"].set_index(["measure", "tier_set"])
    for measure in ("point", "12_month"):
        for tier_set in ("3", "5"):
            row = partnership.loc[(measure, tier_set)]
            assert abs(row["with_annex_a_error_pct"]) < abs(row["census_only_error_pct"]), (measure, tier_set)
            assert abs(row["with_annex_a_error_pct"]) <= 15, (measure, tier_set, row.to_dict())
        assert abs(partnership.loc[(measure, "1-5"), "with_annex_a_error_pct"]) <= 10, measure


def main() -> None:  # pragma: no cover - a report for the analyst, not a test
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        run = build_partnership(Path(tmp))
        print(f"generated and ingested in {run.seconds:.0f} s")
        print(score(run).to_string(index=False))


if __name__ == "__main__":
    main()
