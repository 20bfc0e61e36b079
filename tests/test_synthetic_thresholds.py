"""The synthetic partnership's threshold difference (issue 21): Northbrook (991) opens section 47 enquiries at
lower severity (``GeneratorConfig.section47_lower_threshold``), drawn from its own random stream.

* On the default partnership's truth, a neglected child's CIN episode in 991 leads to an enquiry more often
  than in 992, the extra enquiries are of low or moderate severity and none goes to a conference.
* With the setting off, the partnership is byte for byte what it was before the setting existed, apart
  from the new truth file; with it on, only Northbrook's census returns and Annex A workbooks change (and
  the truth files that list their rows): the other draws are untouched.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest

from sources.synthetic.config import GeneratorConfig
from sources.synthetic.generate import generate_partnership


def test_northbrook_opens_enquiries_at_lower_severity(partnership):
    folder, _ = partnership
    episodes = pd.read_csv(folder / "truth" / "cin_episodes.csv", dtype={"lea": str})
    s47 = pd.read_csv(folder / "truth" / "section47.csv")
    neglected = episodes[episodes["neglected_at_referral"] & ~episodes["referral_nfa"]]
    with_s47 = neglected["episode_id"].isin(s47["episode_id"])
    rate = with_s47.groupby(neglected["lea"]).mean()
    # enquiries per neglected, assessed episode: about 0.28 (992) against about 0.45 (991) on the default seed
    assert rate["991"] > rate["992"] + 0.1, rate.to_dict()
    lowered = s47[s47["lowered_threshold"]].merge(episodes, on="episode_id")
    assert len(lowered) > 500 and set(lowered["lea"]) == {"991"}
    assert set(lowered["severity"]) <= {0, 1} and lowered["icpc_day"].isna().all()
    assert lowered["icpc_not_required"].all()


def _files(folder) -> dict[str, str]:
    return json.loads((folder / "manifest.json").read_text())["files"]


@pytest.mark.slow  # two generations, about 30 s
def test_threshold_stream_changes_nothing_else(tmp_path):
    off = GeneratorConfig(children=3_000, seed=11, section47_lower_threshold={})
    on = GeneratorConfig(children=3_000, seed=11)
    generate_partnership(off, tmp_path / "off")
    generate_partnership(on, tmp_path / "on")
    a, b = _files(tmp_path / "off"), _files(tmp_path / "on")
    assert set(a) == set(b) and "truth/section47.csv" in a
    changed = {f for f in a if a[f] != b[f]}
    allowed = {"truth/section47.csv", "truth/source_records.csv", "truth/extracts_supplied.csv"}
    assert changed - allowed, "the lower threshold changed no file"
    assert all(f in allowed or (f.startswith("incoming/991_") and (f.endswith(".xml") or f.endswith(".xlsx")))
               for f in changed), sorted(changed)
