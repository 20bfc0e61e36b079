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
