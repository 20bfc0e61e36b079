"""The publication rule's internal-consistency step (models/mse/publication.py, step 5) and its leaving out a
list that overlaps the others too little: when every list's
internal-consistency log ratio has one sign, no central figure; the floor and a range widened by the largest
miss. Publications and internal-consistency results are written by hand here; the mart's reading of its JSON and
the report's sentence are checked on hand-written JSON."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from dashboards.tables import consistency_text, hidden_message
from models.marts.hidden_prevalence import _checks_by_row, consistency_log_ratios
from models.mse.internal_consistency import internal_consistency
from models.mse.latent_class import cell_patterns
from models.mse.publication import (CONSISTENCY_METHOD, ESTIMATE, OBSERVED_ONLY, RANGE, Publication,
                                    apply_consistency, collapse_table, consistency_signal, kept_lists, publish)
from models.mse.false_positives import ListPPV
from models.mse.simulate import Scenario, simulate

FAST = {"chains": 4, "burn": 200, "draws": 200, "thin": 2}


def estimate(median=8885.0, lower=7333.0, upper=10607.0, floor=7190.0) -> Publication:
    """A hand-written 'estimate' publication (the default partnership's figures of 31 March 2026)."""
    return Publication(ESTIMATE, "latent-class (LCMCR) after false-positive allowance", 3825, 3030.0, median, lower,
                       upper, floor, 7500.0, 7400.0, floor, median, lower, upper, 1.01, "Estimated from 7 lists.")


@pytest.mark.parametrize("ratios, expected", [
    ([-0.18, -0.28, -0.37, -0.42, -0.55, -0.49, -0.44], (-1, 0.55)),
    ([0.1, 0.3, 0.05], (1, 0.3)),
    ([-0.2, 0.1, -0.3, -0.1], (0, 0.0)),  # signs differ: no signal
    ([-0.2, -0.3], (0, 0.0)),  # fewer than three lists checked
    ([-0.2, None, float("nan"), -0.1], (0, 0.0)),  # lists not checked do not count
    ([-0.2, None, -0.4, -0.1], (-1, 0.4)),
])
def test_the_signal_needs_three_checked_lists_of_one_sign(ratios, expected):
    sign, widening = consistency_signal(ratios)
    assert (sign, round(widening, 6)) == expected


def test_every_list_too_low_gives_the_floor_and_an_upper_limit_widened_by_the_largest_miss():
    p = estimate()
    q = apply_consistency(p, [-0.18, -0.28, -0.37, -0.42, -0.55, -0.49, -0.44])
    assert q.status == RANGE and q.central is None and q.method == CONSISTENCY_METHOD
    assert q.lower == q.lower_bound == 7190.0
    assert q.upper == pytest.approx(10607.0 * math.exp(0.55))  # 18,385: covers the truth of 14,307
    assert q.latent_class_median == 8885.0  # the model's figures are kept beside it
    assert "too low" in q.reason and "7,190" in q.reason and "18,385" in q.reason


def test_every_list_too_high_lowers_the_floor_and_keeps_the_upper_limit():
    q = apply_consistency(estimate(), [0.2, 0.1, 0.3])
    assert q.status == RANGE and q.central is None
    assert q.lower == q.lower_bound == pytest.approx(min(7190.0, 7333.0 / math.exp(0.3)))
    assert q.upper == 10607.0 and "too high" in q.reason


def test_mixed_signs_few_checks_or_no_estimate_leave_the_publication_alone():
    p = estimate()
    assert apply_consistency(p, [-0.2, 0.1, -0.3]) is p
    assert apply_consistency(p, []) is p
    observed = Publication(OBSERVED_ONLY, "none", 40, 30.0, *[None] * 11, "No estimate.")
    assert apply_consistency(observed, [-0.5, -0.5, -0.5]) is observed


def test_a_range_with_three_lists_is_widened_too():
    three = Publication(RANGE, "floor", 900, 800.0, None, 700.0, 2000.0, 700.0, 750.0, 720.0, 700.0, 1200.0, 900.0,
                        2000.0, 1.0, "With only 3 lists")
    q = apply_consistency(three, [-0.1, -0.2, -0.3])
    assert q.status == RANGE and q.lower == 700.0 and q.upper == pytest.approx(2000.0 * math.exp(0.3))


def test_same_direction_heterogeneity_trips_the_step_on_simulated_lists():
    """Five lists where the children hardest to find are hard to find for every list: internal consistency
    finds every list too low, and the step widens the range upwards."""
    names = list("abcde")
    sample = simulate(Scenario(5, "same", 0.0, 10_000), np.random.default_rng(11))
    X = cell_patterns(5)[1:].astype(int)
    frame = pd.DataFrame(X, columns=names).assign(count=sample.table[1:])
    ratios = internal_consistency(frame, names, sampler=FAST)["log_ratio"].tolist()
    p = publish(sample.table, names, [ListPPV(checked=50, confirmed=50)] * 5, sampler=FAST)
    q = apply_consistency(p, ratios)
    assert consistency_signal(ratios)[0] == -1
    assert q.status == RANGE and q.upper > p.upper and q.lower == p.lower_bound < sample.N


def test_the_mart_reads_log_ratios_from_its_json_for_every_linkage_variant():
    checks = json.dumps([{"list": "a", "known": 100, "estimate": 80.0, "log_ratio": -0.223, "covered": False,
                          "method": "latent class"},
                         {"list": "b", "known": 50, "estimate": None, "log_ratio": None, "covered": False,
                          "method": "too few children"}])
    assert consistency_log_ratios(checks) == [-0.223]
    assert consistency_log_ratios(checks, {"a": 0.8, "b": 0.9}) == pytest.approx([-0.223 - math.log(0.8)])
    assert consistency_log_ratios(None) == []
    keys = pd.DataFrame({"period_end": ["2026-03-31"] * 3, "la_code": ["partnership"] * 3,
                         "linkage": ["match threshold", "lower threshold", "upper threshold"]})
    rows = _checks_by_row(keys, pd.Series([checks, None, None]), {})
    assert rows == [[-0.223]] * 3  # the threshold variants use the pipeline's own linkage's checks
    assert _checks_by_row(keys, None, {}) == [[], [], []]


def test_the_report_says_why_there_is_no_central_figure():
    checks = json.dumps([{"list": "csc_neglect", "log_ratio": -0.181}, {"list": "school", "log_ratio": -0.553},
                         {"list": "police", "log_ratio": None}])
    assert consistency_text(checks) == "csc_neglect -17 %; school -42 %"
    assert consistency_text(None) is None
    words = hidden_message("lower bound and range", None, 7190.0, 18400.0, 7190.0, 7, CONSISTENCY_METHOD)
    assert words.startswith("At least 7,190 children, and possibly up to 18,400, from 7 lists.")
    assert "own data" in words and "with only" not in words
    assert "with only 3 lists" in hidden_message("lower bound and range", None, 700.0, 2000.0, 700.0, 3)


def test_a_list_overlapping_too_little_is_left_out_rather_than_the_estimate_refused():
    """Four lists, as in a small partnership: one pair shares 3 children. The smaller list of the pair is left out
    (it is in the most shortfalls, ties to the smaller) and the others still give an estimate; the reason says so."""
    X = cell_patterns(4)
    table = np.zeros(16)
    # four lists of 60-200 children with plenty in common, except lists c and d, which share 3
    for pattern, count in {(1, 0, 0, 0): 120, (0, 1, 0, 0): 110, (0, 0, 1, 0): 40, (0, 0, 0, 1): 90,
                           (1, 1, 0, 0): 30, (1, 0, 1, 0): 12, (1, 0, 0, 1): 20, (0, 1, 1, 0): 9,
                           (0, 1, 0, 1): 18, (0, 0, 1, 1): 3, (1, 1, 0, 1): 6}.items():
        table[[i for i in range(16) if tuple(X[i]) == pattern][0]] = count
    assert kept_lists(table, 4) == [0, 1, 3]  # c: 64 children against d's 137
    assert collapse_table(table, 4, [0, 1, 3]).sum() == table.sum() - 40  # children on c alone drop out
    p = publish(table, list("abcd"), [ListPPV()] * 4, sampler=FAST)
    assert p.status == RANGE  # three lists left: the floor and a range
    assert "Left out, overlapping the other lists too little: c (c and d share 3)" in p.reason
    assert p.observed == table.sum() - 40
    assert p.lists_used == ("a", "b", "d")  # the report says 'from 3 lists' and names these, not all four
    assert publish(collapse_table(table, 4, [0, 1, 3]), list("abd"), [ListPPV()] * 3,
                   sampler=FAST).lists_used == ("a", "b", "d")
