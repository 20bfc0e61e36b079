"""dashboards.disclosure: small counts hidden, secondary suppression proved by attacking it.

Every protection test runs the intruder (`attack`, linear programming over everything published)
against the protected table, and the worked examples also run it against primary suppression
alone, to show the attack does find the small counts when they are not protected.
"""
from __future__ import annotations

import itertools
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dashboards.disclosure import (
    SUPPRESSED,
    AtMost,
    Sum,
    Union,
    apply_to_table,
    attack,
    check_no_identifiers,
    counts_from_table,
    protect,
    round_count,
    suppress_rates,
)

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def grid(body, prefix=()) -> tuple[pd.Series, list]:
    """A 2-D table with row totals, column totals and a grand total. Cells are
    prefix + (row, column); rows r0.., columns c0.., totals "All"."""
    body = np.asarray(body)
    rows = [f"r{i}" for i in range(body.shape[0])]
    cols = [f"c{j}" for j in range(body.shape[1])]
    cell = lambda r, c: (*prefix, r, c)  # noqa: E731
    counts, relations = {}, []
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            counts[cell(r, c)] = int(body[i, j])
        counts[cell(r, "All")] = int(body[i].sum())
        relations.append(Sum(cell(r, "All"), [cell(r, c) for c in cols]))
    for j, c in enumerate(cols):
        counts[cell("All", c)] = int(body[:, j].sum())
        relations.append(Sum(cell("All", c), [cell(r, c) for r in rows]))
    counts[cell("All", "All")] = int(body.sum())
    relations.append(Sum(cell("All", "All"), [cell(r, "All") for r in rows]))
    relations.append(Sum(cell("All", "All"), [cell("All", c) for c in cols]))
    return pd.Series(counts), relations


def assert_safe(protected: pd.DataFrame, relations, need: int = 5, **kwargs) -> pd.DataFrame:
    """The intruder recovers nothing and no range is narrower than ``need`` (the threshold)."""
    found = attack(protected, relations, **kwargs)
    assert not found["recovered"].any(), found[found["recovered"]]
    assert (found["width"] >= need).all(), found[found["width"] < need]
    inside = (found["lower"] <= found["count"]) & (found["count"] <= found["upper"])
    assert inside.all(), found[~inside]  # the truth is always a possible value
    return found


def row(frame: pd.DataFrame, cell) -> pd.Series:
    hits = frame[[c == cell for c in frame["cell"]]]
    assert len(hits) == 1, cell
    return hits.iloc[0]


def suppressed_set(protected: pd.DataFrame) -> set:
    return set(protected.loc[protected["suppressed"], "cell"])


# ---------------------------------------------------------------------------------------------
# Primary suppression and rounding
# ---------------------------------------------------------------------------------------------


def test_counts_1_to_4_are_suppressed_and_0_is_published():
    counts = pd.Series({f"x{i}": i for i in range(8)})
    out = protect(counts, [])
    assert list(out["published"]) == [0, SUPPRESSED, SUPPRESSED, SUPPRESSED, SUPPRESSED, 5, 6, 7]
    assert out["published"].dtype == object
    assert all(type(v) is int for v in out["published"] if v != SUPPRESSED)
    assert list(out["reason"]) == [None, "primary", "primary", "primary", "primary", None, None, None]
    assert list(out["suppressed"]) == [False, True, True, True, True, False, False, False]
    assert list(out["count"]) == list(range(8)) and list(out["cell"]) == list(counts.index)
    assert out.attrs == {"threshold": 5, "round_to": None, "unprotected": []}


def test_threshold_is_configurable(tmp_path: Path):
    from pipelines.settings import Settings

    counts = pd.Series({f"x{i}": i for i in range(12)})
    threshold = Settings(project_root=tmp_path, suppression_threshold=10).suppression_threshold
    out = protect(counts, [], threshold=threshold)
    assert list(out.loc[out["suppressed"], "count"]) == list(range(1, 10))
    assert list(out["published"])[0] == 0 and list(out["published"])[10:] == [10, 11]
    assert Settings(project_root=tmp_path).suppression_threshold == 5
    # threshold 1: nothing is small
    assert not protect(counts, [], threshold=1)["suppressed"].any()


def test_round_count_is_to_the_nearest_multiple_halves_up():
    assert [round_count(c, 5) for c in [0, 5, 7, 8, 12, 13, 15, 102]] == [0, 5, 5, 10, 10, 15, 15, 100]
    assert [round_count(c, 10) for c in [14, 15, 25, 26]] == [10, 20, 30, 30]
    assert round_count(7, None) == 7


# ---------------------------------------------------------------------------------------------
# A worked 2-D example
# ---------------------------------------------------------------------------------------------
#
#            c0   c1   c2 | All
#     r0      3   10   12 |  25
#     r1      8    9   20 |  37
#     All    11   19   32 |  62
#
# Hiding only r0/c0 = 3 is useless: 25 - 10 - 12 = 3. Row r0 then has one hidden cell, so its
# smallest other count (r0/c1 = 10) is hidden; column c0 likewise (r1/c0 = 8); row r1 then has
# one hidden cell (r1/c1 = 9), and column c1 has two. The four hidden cells form a rectangle:
# r0/c0 = 3 + t, r0/c1 = 10 - t, r1/c0 = 8 - t, r1/c1 = 9 + t for any t in [-3, 8].
WORKED = [[3, 10, 12], [8, 9, 20]]


def test_worked_example_primary_alone_is_recovered_by_the_attack():
    counts, relations = grid(WORKED)
    out = protect(counts, relations, secondary=False)
    assert suppressed_set(out) == {("r0", "c0")}
    found = attack(out, relations)
    assert len(found) == 1
    hit = found.iloc[0]
    assert hit["recovered"] and hit["lower"] == hit["upper"] == 3


def test_worked_example_secondary_suppression():
    counts, relations = grid(WORKED)
    out = protect(counts, relations)
    assert suppressed_set(out) == {("r0", "c0"), ("r0", "c1"), ("r1", "c0"), ("r1", "c1")}
    assert row(out, ("r0", "c0"))["reason"] == "primary"
    assert {row(out, c)["reason"] for c in [("r0", "c1"), ("r1", "c0"), ("r1", "c1")]} == {"secondary"}
    found = assert_safe(out, relations)
    ranges = {c: (lo, hi) for c, lo, hi in zip(found["cell"], found["lower"], found["upper"])}
    assert ranges == {("r0", "c0"): (0, 11), ("r0", "c1"): (2, 13), ("r1", "c0"): (0, 11), ("r1", "c1"): (6, 17)}
    # the integer programme agrees here (a two-way table's constraints have integral vertices)
    exact = attack(out, relations, integer=True)
    assert list(exact["lower"]) == list(found["lower"]) and list(exact["upper"]) == list(found["upper"])


def test_one_hidden_cell_in_a_relation_gets_a_partner_chosen_deterministically():
    # Smallest positive count; a 0 is never chosen; ties go to the first cell id.
    counts = pd.Series({"T": 15, "z": 0, "c": 6, "b": 6, "a": 3})
    out = protect(counts, [Sum("T", ["a", "z", "c", "b"])])
    assert suppressed_set(out) == {"a", "b"}
    assert row(out, "z")["published"] == 0
    # A tie between a part and the total goes to the part.
    counts = pd.Series({"P": 9, "a": 9, "b": 3})
    out = protect(counts, [Union("P", ["b", "a"])])
    assert suppressed_set(out) == {"a", "b"}


def test_an_unsafe_cell_whose_neighbours_are_all_hidden_or_zero_looks_further_out():
    # a = R = C = w = 2 are hidden. Every relation has two hidden cells, so the one-hidden-cell
    # rule does nothing, yet R = a + 0, C = a + 0 and R + w = G - X = 4 pin a, R and C to 0..4.
    # C's own relation holds only `a` (hidden) and d = 0; a's other one only R and b = 0; one
    # step further out, R's relation with G offers X = 8, which is hidden next. Zeros never are.
    counts = pd.Series({"a": 2, "b": 0, "d": 0, "R": 2, "C": 2, "X": 8, "w": 2, "G": 12})
    relations = [Sum("R", ["a", "b"]), Sum("C", ["a", "d"]), Sum("G", ["R", "X", "w"])]
    bare = attack(protect(counts, relations, secondary=False), relations)
    assert (bare["width"] == 4).all()
    out = protect(counts, relations)
    assert suppressed_set(out) == {"a", "R", "C", "w", "X"}
    assert_safe(out, relations)


# ---------------------------------------------------------------------------------------------
# Tier sets and breakdowns
# ---------------------------------------------------------------------------------------------

BANDS = ["0-4", "5-9", "10-15", "16-17", "Not known"]
TIERS = ["t1", "t2", "t3", "t4", "t5"]
SETS = {"1": TIERS[:1], "1-2": TIERS[:2], "1-4": TIERS[:4], "1-5": TIERS[:5]}
# children by age band and tier; "5-9" is the classic case: set "1" = 12, set "1-2" = 14.
TIER_COUNTS = {
    "0-4": [20, 11, 35, 18, 40],
    "5-9": [12, 2, 30, 25, 33],
    "10-15": [25, 14, 41, 0, 52],
    "16-17": [9, 6, 17, 12, 21],
    "Not known": [0, 0, 7, 6, 9],
}


def tier_table() -> tuple[pd.Series, list]:
    """Tier cells t1..t5 and cumulative sets per age band and "All", with every Sum."""
    counts, relations = {}, []
    for band, values in TIER_COUNTS.items():
        for tier, v in zip(TIERS, values):
            counts[(band, tier)] = v
    for tier in TIERS:
        counts[("All", tier)] = sum(counts[(b, tier)] for b in BANDS)
    for band in BANDS + ["All"]:
        for name, tiers in SETS.items():
            counts[(band, name)] = sum(counts[(band, t)] for t in tiers)
            relations.append(Sum((band, name), [(band, t) for t in tiers]))
    for key in TIERS + list(SETS):
        relations.append(Sum(("All", key), [(b, key) for b in BANDS]))
    return pd.Series(counts), relations


def test_tier_sets_differencing_is_found_without_secondary_suppression():
    counts, relations = tier_table()
    found = attack(protect(counts, relations, secondary=False), relations)
    t2 = row(found, ("5-9", "t2"))
    assert t2["recovered"] and t2["lower"] == t2["upper"] == 2


def test_tier_sets_and_breakdown_are_protected():
    counts, relations = tier_table()
    out = protect(counts, relations)
    assert row(out, ("5-9", "t2"))["reason"] == "primary"
    assert_safe(out, relations)
    # the sets that gave it away cannot both be published
    assert row(out, ("5-9", "1"))["suppressed"] or row(out, ("5-9", "1-2"))["suppressed"]
    assert not out.loc[out["reason"] == "secondary", "count"].eq(0).any()


def test_tier_sets_with_the_single_tiers_unpublished():
    """The marts publish the sets only: single tiers are unpublished cells, unknown to the
    intruder, but tier 2 = set "1-2" minus set "1" must still not be worked out."""
    counts, relations = tier_table()
    tiers = [c for c in counts.index if c[1] in TIERS]
    bare = protect(counts, relations, unpublished=tiers, secondary=False)
    assert set(bare.loc[bare["reason"] == "unpublished", "cell"]) == set(tiers)
    found = attack(bare, relations)
    assert row(found, ("5-9", "t2"))["recovered"]  # 14 - 12 = 2
    # only small unpublished cells are reported: working out tier 1 (= set "1") is no disclosure
    assert set(found["cell"]) == {("5-9", "t2")}

    out = protect(counts, relations, unpublished=tiers)
    found = assert_safe(out, relations)
    assert ("5-9", "t2") in set(found["cell"])
    assert row(out, ("5-9", "1"))["suppressed"] or row(out, ("5-9", "1-2"))["suppressed"]
    shown = out[out["reason"] != "unpublished"]
    assert not shown["cell"].map(lambda c: c[1] in TIERS).any()


# ---------------------------------------------------------------------------------------------
# Unions: the partnership counts a child known to both authorities once
# ---------------------------------------------------------------------------------------------

SEXES = ["F", "M", "Not known"]
AUTHORITY = {"991": [3, 40, 6], "992": [22, 35, 5]}
OVERLAP = [1, 4, 0]


def union_table() -> tuple[pd.Series, list]:
    counts, relations = {}, []
    for area, values in AUTHORITY.items():
        for sex, v in zip(SEXES, values):
            counts[(area, sex)] = v
    for i, sex in enumerate(SEXES):
        counts[("P", sex)] = AUTHORITY["991"][i] + AUTHORITY["992"][i] - OVERLAP[i]
    for area in ["991", "992", "P"]:
        counts[(area, "All")] = sum(counts[(area, s)] for s in SEXES)
        relations.append(Sum((area, "All"), [(area, s) for s in SEXES]))
    for sex in SEXES + ["All"]:
        relations.append(Union(("P", sex), [("991", sex), ("992", sex)]))
    return pd.Series(counts), relations


def test_union_attack_uses_the_true_inequalities():
    # P = 10 children, a = 3 hidden, b = 9: a is between P - b = 1 and P = 10 (it would be
    # exactly 1 if the intruder wrongly assumed no overlap).
    counts = pd.Series({"P": 10, "a": 3, "b": 9})
    relations = [Union("P", ["a", "b"])]
    out = protect(counts, relations, secondary=False)
    found = attack(out, relations)
    assert (found.iloc[0]["lower"], found.iloc[0]["upper"]) == (1, 10)


def test_partnership_and_two_authorities_are_protected():
    counts, relations = union_table()
    bare = attack(protect(counts, relations, secondary=False), relations)
    assert row(bare, ("991", "F"))["recovered"]  # 49 - 40 - 6

    out = protect(counts, relations)
    found = assert_safe(out, relations)
    assert row(found, ("991", "F"))["width"] >= 5
    # a Union is treated like a Sum when choosing: P/F and 992/F cannot both stay published
    assert row(out, ("P", "F"))["suppressed"] or row(out, ("992", "F"))["suppressed"]


# ---------------------------------------------------------------------------------------------
# Rounding
# ---------------------------------------------------------------------------------------------


def test_rounded_tables_publish_multiples_of_5_and_stay_safe():
    counts, relations = grid([[3, 10, 12, 0], [8, 9, 20, 7], [14, 2, 26, 31]])
    out = protect(counts, relations, round_to=5)
    for value, count in zip(out["published"], out["count"]):
        assert value == SUPPRESSED or (type(value) is int and value % 5 == 0 and abs(value - count) <= 2)
    assert row(out, ("r0", "c3"))["published"] == 0
    assert set(out.loc[out["published"] == SUPPRESSED, "cell"]) == suppressed_set(protect(counts, relations))
    assert_safe(out, relations)  # published values are read as intervals (attrs["round_to"])


def test_attack_reads_a_rounded_value_as_the_counts_that_round_to_it():
    # T = 23 -> 25 (23..27), b = 20 -> 20 (18..22), a = 3 hidden: a = T - b is 1..9.
    counts = pd.Series({"T": 23, "a": 3, "b": 20})
    relations = [Sum("T", ["a", "b"])]
    out = protect(counts, relations, round_to=5, secondary=False)
    assert list(out["published"]) == [25, SUPPRESSED, 20]
    found = attack(out, relations)
    assert (found.iloc[0]["lower"], found.iloc[0]["upper"]) == (1, 9)
    exact = attack(out, relations, round_to=None)  # the same values read as exact
    assert (exact.iloc[0]["lower"], exact.iloc[0]["upper"]) == (5, 5)


# ---------------------------------------------------------------------------------------------
# Many random tables
# ---------------------------------------------------------------------------------------------


def random_tables(n: int, seed: int):
    rng = np.random.default_rng(seed)
    for k in range(n):
        shape = tuple(rng.integers(2, 6, size=2))
        body = rng.integers(0, 40, size=shape)
        small = rng.random(shape) < rng.uniform(0.1, 0.5)
        body[small] = rng.integers(0, 5, size=small.sum())
        threshold = 10 if k % 5 == 0 else 5
        yield k, body, threshold


def test_random_tables_are_protected_and_the_result_is_order_free():
    outs = {5: [], 10: []}
    relations_of = {5: [], 10: []}
    combined_counts, expected = [], set()
    for k, body, threshold in random_tables(200, seed=20261123):
        counts, relations = grid(body, prefix=(k,))
        out = protect(counts, relations, threshold=threshold)
        assert (out["suppressed"] == (out["count"].between(1, threshold - 1) | (out["reason"] == "secondary"))).all()
        assert not out.loc[out["reason"] == "secondary", "count"].eq(0).any()
        outs[threshold].append(out)
        relations_of[threshold] += relations
        if threshold == 5:
            combined_counts.append(counts)
            expected |= suppressed_set(out)
    # One intruder over all the tables of a threshold at once: they share no cells, so this is
    # the same as attacking each (the LPs split by connected cells), only quicker.
    for threshold in (5, 10):
        found = assert_safe(pd.concat(outs[threshold], ignore_index=True), relations_of[threshold],
                            need=threshold, round_to=None, threshold=threshold)
        assert len(found) > 200
    combined_relations = relations_of[5]
    # Protected together, with rows and relations shuffled: the same cells, table by table
    # (the tables share no cells, and nothing depends on the order of the input).
    rng = np.random.default_rng(7)
    counts = pd.concat(combined_counts)
    counts = counts.iloc[rng.permutation(len(counts))]
    relations = [combined_relations[i] for i in rng.permutation(len(combined_relations))]
    assert suppressed_set(protect(counts, relations)) == expected


def test_same_input_in_another_order_gives_the_same_table():
    counts, relations = tier_table()
    first = protect(counts, relations)
    shuffled = protect(counts.iloc[::-1], relations[::-1])
    by_cell = lambda f: f.set_index(f["cell"].map(repr)).sort_index().drop(columns="cell")  # noqa: E731
    pd.testing.assert_frame_equal(by_cell(first), by_cell(shuffled))


# ---------------------------------------------------------------------------------------------
# Speed: about 1,000 cells and 300 relations
# ---------------------------------------------------------------------------------------------


def linked_tables(seed: int, wards: int = 20, groups: int = 10):
    """Two authorities and the partnership (a Union, with children known to both), each a
    ward x group table with margins: (21 x 11) x 3 = 693 cells... plus unions on every cell."""
    rng = np.random.default_rng(seed)
    bodies = {}
    for area in ["991", "992"]:
        body = rng.integers(5, 40, size=(wards, groups))
        small = rng.random(body.shape) < 0.15
        body[small] = rng.integers(0, 5, size=small.sum())
        bodies[area] = body
    overlap = (np.minimum(bodies["991"], bodies["992"]) * rng.random(body.shape) * 0.3).astype(int)
    bodies["P"] = bodies["991"] + bodies["992"] - overlap
    counts, relations = [], []
    for area, body in bodies.items():
        c, r = grid(body, prefix=(area,))
        counts.append(c)
        relations += r
    for i, j in itertools.product(range(wards), range(groups)):
        relations.append(Union(("P", f"r{i}", f"c{j}"), [("991", f"r{i}", f"c{j}"), ("992", f"r{i}", f"c{j}")]))
    return pd.concat(counts), relations


def test_a_thousand_cells_protect_and_attack_quickly():
    counts, relations = linked_tables(seed=3, wards=24, groups=12)
    assert 900 <= len(counts) <= 1100 and 300 <= len(relations) <= 450
    start = time.perf_counter()
    out = protect(counts, relations)
    found = attack(out, relations)
    seconds = time.perf_counter() - start
    assert seconds < 5, seconds
    assert len(found) > 100 and not found["recovered"].any() and (found["width"] >= 5).all()


# ---------------------------------------------------------------------------------------------
# Rates, long tables, identifiers
# ---------------------------------------------------------------------------------------------


def prevalence_table() -> pd.DataFrame:
    """A long table like marts.neglect_prevalence: one area, breakdown by sex."""
    return pd.DataFrame({
        "area": ["991"] * 4,
        "breakdown": ["sex", "sex", "sex", "all"],
        "value": ["F", "M", "Not known", "all"],
        "children": [3, 40, 6, 49],
        "population": [9_000, 9_400, 100, 18_500],
        "rate_per_10k": [3.3, 42.6, 600.0, 26.5],
        "lower_95": [0.7, 30.4, 220.2, 19.6],
        "upper_95": [9.7, 58.0, 1306.0, 35.0],
        "higher": ["lower", "similar", "higher", "similar"],
    })


def test_apply_to_table_and_rates_are_blanked_where_counts_are_suppressed():
    table = prevalence_table()
    cells = ["area", "breakdown", "value"]
    counts = counts_from_table(table, cells, "children")
    assert counts.index[0] == ("991", "sex", "F")
    all_row = ("991", "all", "all")
    relations = [Sum(all_row, [("991", "sex", v) for v in ["F", "M", "Not known"]])]
    published = apply_to_table(table, cells, "children", protect(counts, relations))
    assert published["children"].dtype == object
    assert list(published["children"]) == [SUPPRESSED, 40, SUPPRESSED, 49]
    assert list(published["suppressed"]) == [True, False, True, False]

    rates = ["rate_per_10k", "lower_95", "upper_95", "higher"]
    out = suppress_rates(published, "children", rates, "suppressed")
    assert out.loc[[0, 2], rates].isna().all().all()
    assert out.loc[1, "rate_per_10k"] == 42.6 and out.loc[3, "higher"] == "similar"
    assert list(out["population"]) == list(table["population"])  # not derived from the count
    # without a flag column the "c" marks are used
    again = suppress_rates(published.drop(columns="suppressed"), "children", rates, None)
    pd.testing.assert_frame_equal(again[rates], out[rates])
    assert table["rate_per_10k"].notna().all()  # the input is not modified


def test_apply_to_table_refuses_unprotected_and_unpublished_rows():
    table = prevalence_table()
    cells = ["area", "breakdown", "value"]
    partial = protect(counts_from_table(table.iloc[:3], cells, "children"), [])
    with pytest.raises(KeyError, match="not protected"):
        apply_to_table(table, cells, "children", partial)
    hidden = protect(counts_from_table(table, cells, "children"), [], unpublished=[("991", "all", "all")])
    with pytest.raises(ValueError, match="unpublished"):
        apply_to_table(table, cells, "children", hidden)


def test_no_identifiers_dates_of_birth_or_full_postcodes_in_outputs():
    ok = pd.DataFrame({"ward_code": ["E05000001"], "district": ["AB1"], "children": [12],
                       "quarter_end": [pd.Timestamp("2026-03-31")], "nhs_number_pct": [96.0]})
    check_no_identifiers(ok)  # a completeness percentage is not an identifier
    for bad in [ok.assign(nhs_number=["9434765919"]), ok.assign(date_of_birth=["2015-02-01"]),
                ok.assign(person_key=["k1"]), ok.assign(where=["AB1 2CD"]), ok.assign(ref=["943 476 5919"]),
                ok.assign(pupil=["A123456789012"])]:
        with pytest.raises(ValueError):
            check_no_identifiers(bad)
    table = prevalence_table().assign(postcode=["AB1 2CD"] * 4)
    cells = ["area", "breakdown", "value"]
    with pytest.raises(ValueError, match="identifier"):
        apply_to_table(table, cells, "children", protect(counts_from_table(table, cells, "children"), []))


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="break"):
        protect(pd.Series({"T": 10, "a": 3, "b": 6}), [Sum("T", ["a", "b"])])
    with pytest.raises(ValueError, match="break"):
        protect(pd.Series({"P": 12, "a": 3, "b": 6}), [Union("P", ["a", "b"])])  # more than the sum
    with pytest.raises(ValueError, match="no count"):
        protect(pd.Series({"T": 3, "a": 3}), [Sum("T", ["a", "b"])])
    with pytest.raises(ValueError, match="whole"):
        protect(pd.Series({"a": -1}), [])
    with pytest.raises(ValueError, match="whole"):
        protect(pd.Series({"a": 2.5}), [])
    with pytest.raises(ValueError, match="twice"):
        Sum("T", ["a", "a"])
    with pytest.raises(ValueError, match="among its parts"):
        Union("T", ["T", "a"])
    with pytest.raises(ValueError, match="more than once"):
        protect(pd.Series([1, 2], index=["a", "a"]), [])


def test_a_cell_in_no_relation_is_unbounded():
    out = protect(pd.Series({"lonely": 2, "T": 9, "a": 9}), [Sum("T", ["a"])])
    found = attack(out, [Sum("T", ["a"])])
    assert len(found) == 1 and found.iloc[0]["upper"] == math.inf and found.iloc[0]["lower"] == 0


# ---------------------------------------------------------------------------------------------
# AtMost, earlier publications, a clear message for relations the counts break
# ---------------------------------------------------------------------------------------------


def test_at_most_bounds_a_part_by_its_whole_and_is_protected_against():
    # T = a + b = 10 with a = 3 hidden, and its partner b = 7 hidden by the one-hidden-cell rule: a is
    # anywhere in 0..10 from T alone. But children at the quarter end are among the 12 months' children:
    # a <= x = 6 and b <= z = 7, so a >= 10 - 7 = 3 and a <= 6: the intruder has a in 3..6.
    counts = pd.Series({"T": 10, "a": 3, "b": 7, "x": 6, "z": 7})
    relations = [Sum("T", ["a", "b"]), AtMost("a", "x"), AtMost("b", "z")]
    sums_only = protect(counts, relations[:1])
    assert suppressed_set(sums_only) == {"a", "b"}
    found = attack(sums_only, relations)
    assert (row(found, "a")["lower"], row(found, "a")["upper"]) == (3, 6)
    out = protect(counts, relations)
    assert len(suppressed_set(out)) > 2
    assert_safe(out, relations)
    # an AtMost bounds the whole from below only
    found = attack(pd.DataFrame({"cell": ["p", "w"], "published": [6, SUPPRESSED], "count": [6, 9]}), [AtMost("p", "w")])
    assert row(found, "w")["lower"] == 6 and row(found, "w")["upper"] == math.inf
    assert repr(AtMost("p", "w")) == "AtMost(part='p', whole='w')"


def test_earlier_publications_are_never_undone():
    """The republication rule at its smallest: T = a + b + c. Version 1 (a = 3, b = 8, c = 9) hides a and
    b. Late data make b 12 (version 2: T = 24). Protected on its own, version 2 hides a and c (now the
    smallest), but c = 9 is unchanged and was published in version 1: 24 - 12 - 9 gives a = 3 back.
    Protected with version 1's publication known, c stays published (it is out), b = 12 is hidden
    instead, and both versions together leave a anywhere in 0..11. Cells are (name, count): an
    unchanged count is the same cell in both versions."""
    a, b8, c9, b12 = ("a", 3), ("b", 8), ("c", 9), ("b", 12)
    rel1, rel2 = Sum(("T", 20), [a, b8, c9]), Sum(("T", 24), [a, b12, c9])
    first = protect(pd.Series({("T", 20): 20, a: 3, b8: 8, c9: 9}), [rel1])
    assert suppressed_set(first) == {a, b8}
    alone = protect(pd.Series({("T", 24): 24, a: 3, b12: 12, c9: 9}), [rel2])
    assert suppressed_set(alone) == {a, c9}
    naive = pd.DataFrame({"cell": [("T", 20), a, b8, c9, ("T", 24), b12],
                          "published": [20, SUPPRESSED, SUPPRESSED, 9, 24, 12], "count": [20, 3, 8, 9, 24, 12]})
    assert row(attack(naive, [rel1, rel2]), a)["recovered"]
    both = pd.Series({("T", 20): 20, a: 3, b8: 8, c9: 9, ("T", 24): 24, b12: 12})
    second = protect(both, [rel1, rel2], known=set(first.loc[~first["suppressed"], "cell"]),
                     suppressed_before=suppressed_set(first))
    assert suppressed_set(second) == {a, b8, b12}
    found = assert_safe(second, [rel1, rel2])
    assert (row(found, a)["lower"], row(found, a)["upper"]) == (0, 11)


def test_a_cell_published_by_an_earlier_stage_is_hidden_when_nothing_else_protects_a_small_count():
    """T = a + b + c with a = 1. If T, b and c were published in an earlier version (``known``) nothing can
    protect a: it stays determined, with a warning. If an earlier stage of this same protection only chose to
    publish them (``avoid``), one of them is hidden after all (b, the smallest) and a's range is wide."""
    counts = pd.Series({"T": 30, "a": 1, "b": 14, "c": 15})
    relations = [Sum("T", ["a", "b", "c"])]
    with pytest.warns(UserWarning, match="cannot be protected further"):
        stuck = protect(counts, relations, known={"T", "b", "c"})
    assert suppressed_set(stuck) == {"a"} and stuck.attrs["unprotected"] == ["a"]
    assert row(attack(stuck, relations), "a")["recovered"]
    freed = protect(counts, relations, avoid={"T", "b", "c"})
    assert suppressed_set(freed) == {"a", "b"} and freed.attrs["unprotected"] == []
    assert_safe(freed, relations)


def test_a_secondary_suppression_the_intruder_works_out_exactly_is_published_instead():
    """T = a + b and U = b + d, with a = 2 and T, U and d published by an earlier stage (``avoid``). a is
    hidden, the relation rule hides b (the only cell not to avoid), but U - d gives b = 20 and then a back:
    T is hidden after all. b is still U - d: hiding it protects nothing, so it is published, and a keeps a
    wide range."""
    counts = pd.Series({"T": 22, "a": 2, "b": 20, "U": 50, "d": 30})
    relations = [Sum("T", ["a", "b"]), Sum("U", ["b", "d"])]
    result = protect(counts, relations, avoid={"T", "U", "d"})
    assert suppressed_set(result) == {"a", "T"}
    assert row(result, "b")["published"] == 20
    assert_safe(result, relations)


def test_counts_breaking_a_relation_are_refused_with_the_relation_named():
    with pytest.raises(ValueError, match=r"Union: total 'P' = 12; parts 'a' = 3, 'b' = 6"):
        protect(pd.Series({"P": 12, "a": 3, "b": 6}), [Union("P", ["a", "b"])])
