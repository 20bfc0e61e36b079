"""The person-linkage rules on small hand-built record sets (no warehouse, no Dagster).

The cases under test are added to a background of 500 fictional children (see
:mod:`linkage_fixtures`) that Splink trains on, then linked once per module; each test reads its
own case from the result. The pure functions (deterministic groups, clustering, stable keys, the
never-auto-link reasons) are tested directly on tiny frames.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from linkage_fixtures import QUARTER_2, STRING_COLUMNS, background_rows, child_of_record, records_frame
from models.linkage.clusters import assign_stable_keys, cluster_groups, key_number, key_stability
from models.linkage.deterministic import deterministic_groups
from models.linkage.persons import link_people
from models.linkage.probabilistic import never_auto_linked

# --- the cases, each a few records (record ids name the case) --------------------------------------

SAME_LA_ID = [  # one child in the person list and on a CP plan, same LA child ID
    dict(record_id="la-pl", la_child_id="X100", nhs_std="9000000101", upn="C90000000101", forename_std="HARVEY",
         surname_std="LINDQVIST", dob="2013-05-17", sex_std="M", postcode_std="NB21AB"),
    dict(record_id="la-cp", source="cp_list", la_child_id="X100", dob="2013-05-17", sex_std="M"),
]
NHS_ACROSS_LAS = [  # person list of 991 and early help of 992 (which recorded its own LA child ID)
    dict(record_id="nhs-pl", la_child_id="X200", nhs_std="9000000202", forename_std="MARNIE",
         surname_std="ACHTERBERG", dob="2011-10-03", sex_std="F", postcode_std="NB33FG"),
    dict(record_id="nhs-eh", source="early_help", la_code="992", la_child_id="Y200", eh_id="EY200",
         nhs_std="9000000202", forename_std="MARNIE", surname_std="ACHTERBERG", dob="2011-10-03", sex_std="F",
         postcode_std="SM42HJ"),
]
FORMER_UPN = [  # the 992 census lists the 991 UPN as the child's former UPN
    dict(record_id="upn-pl", la_child_id="X300", nhs_std="9000000303", upn="C90000000303", forename_std="SILAS",
         surname_std="BRAITHWAITE", dob="2014-01-29", sex_std="M", postcode_std="NB44HJ"),
    dict(record_id="upn-cin", source="cin_census", la_code="992", la_child_id="Y300", upn="D90000000303",
         former_upn="C90000000303", dob="2014-01-29", sex_std="M"),
]
TWINS = [  # same surname, DOB, address and sex; different forenames and NHS numbers
    dict(record_id="twin-a-pl", la_child_id="X400", nhs_std="9000000404", forename_std="OLIVER",
         surname_std="FAIRWEATHER", dob="2017-03-12", sex_std="M", postcode_std="NB55LN"),
    dict(record_id="twin-b-pl", la_child_id="X401", nhs_std="9000000405", forename_std="HARRY",
         surname_std="FAIRWEATHER", dob="2017-03-12", sex_std="M", postcode_std="NB55LN"),
    dict(record_id="twin-a-eh", source="early_help", eh_id="E400", forename_std="OLIVER",
         surname_std="FAIRWEATHER", dob="2017-03-12", sex_std="M", postcode_std="NB55LN"),
]
HOUSEHOLD_TWINS = [  # one adult's household list; no sex recorded, forenames Jaro-Winkler >= 0.92
    dict(record_id="hh-twin-1", source="adult_household_children", household_client="CL500",
         forename_std="ALEXANDER", surname_std="PEMBERTON", dob="2019-06-01", postcode_std="NB62DE"),
    dict(record_id="hh-twin-2", source="adult_household_children", household_client="CL500",
         forename_std="ALEXANDRA", surname_std="PEMBERTON", dob="2019-06-01", postcode_std="NB62DE"),
]
SURNAME_CHANGE = [  # early help knows the child under a stepfather's surname, no NHS number or LA ID
    dict(record_id="sc-pl", la_child_id="X600", nhs_std="9000000606", upn="C90000000606", forename_std="ELOWEN",
         surname_std="KOWALSKA", dob="2012-08-23", sex_std="F", postcode_std="NB73FG"),
    dict(record_id="sc-cin", source="cin_census", la_child_id="X600", upn="C90000000606", dob="2012-08-23",
         sex_std="F"),
    dict(record_id="sc-eh", source="early_help", eh_id="E600", forename_std="ELOWEN", surname_std="BRENNAN",
         dob="2012-08-23", sex_std="F", postcode_std="NB73FG"),
]
DOB_SWAPPED = [  # early help recorded 4 September as 9 April
    dict(record_id="dob-pl", la_child_id="X700", nhs_std="9000000707", upn="C90000000707", forename_std="TEAGAN",
         surname_std="OYELARAN", dob="2016-09-04", sex_std="F", postcode_std="NB84HJ"),
    dict(record_id="dob-cin", source="cin_census", la_child_id="X700", upn="C90000000707", dob="2016-09-04",
         sex_std="F"),
    dict(record_id="dob-eh", source="early_help", eh_id="E700", forename_std="TEAGAN", surname_std="OYELARAN",
         dob="2016-04-09", sex_std="F", postcode_std="NB84HJ"),
]
MOVE_WITH_NHS = [  # moved from 991 to 992: two LA child IDs, one NHS number
    dict(record_id="mv-991", la_child_id="X800", nhs_std="9000000808", forename_std="CASPIAN",
         surname_std="DRUMMOND", dob="2010-12-08", sex_std="M", postcode_std="NB95LN"),
    dict(record_id="mv-992", la_code="992", la_child_id="Y800", nhs_std="9000000808", forename_std="CASPIAN",
         surname_std="DRUMMOND", dob="2010-12-08", sex_std="M", postcode_std="SM71AB"),
]
MOVE_WITHOUT_NHS = [  # moved from 991 to 992, which has not recorded the NHS number (or UPN)
    dict(record_id="mvn-991", la_child_id="X900", nhs_std="9000000909", upn="C90000000909", forename_std="WILHELMINA",
         surname_std="ASHCROFT", dob="2015-07-19", sex_std="F", postcode_std="NB102DE"),
    dict(record_id="mvn-991-cin", source="cin_census", la_child_id="X900", upn="C90000000909", dob="2015-07-19",
         sex_std="F"),
    dict(record_id="mvn-992", la_code="992", la_child_id="Y900", forename_std="WILHELMINA", surname_std="ASHCROFT",
         dob="2015-07-19", sex_std="F", postcode_std="SM83FG"),
]
NHS_CONFLICT = [  # two different children of 991 recorded with one NHS number
    dict(record_id="cf-1", la_child_id="X1000", nhs_std="9000001000", forename_std="MAISIE", surname_std="THORNBURY",
         dob="2012-02-02", sex_std="F", postcode_std="NB114HJ"),
    dict(record_id="cf-2", la_child_id="X1001", nhs_std="9000001000", forename_std="RUBY", surname_std="OKONJO",
         dob="2017-08-08", sex_std="F", postcode_std="NB125LN"),
]
CASES = [*SAME_LA_ID, *NHS_ACROSS_LAS, *FORMER_UPN, *TWINS, *HOUSEHOLD_TWINS, *SURNAME_CHANGE, *DOB_SWAPPED,
         *MOVE_WITH_NHS, *MOVE_WITHOUT_NHS, *NHS_CONFLICT]


@pytest.fixture(scope="module")
def quarter_1_records() -> pd.DataFrame:
    return records_frame(background_rows() + CASES)


@pytest.fixture(scope="module")
def first_run(quarter_1_records):
    return link_people(quarter_1_records, "table", "C")


@pytest.fixture(scope="module")
def links(first_run) -> pd.DataFrame:
    return first_run.links.set_index("record_id")


def key(links: pd.DataFrame, record_id: str) -> str:
    return links.loc[record_id, "person_key"]


def method(links: pd.DataFrame, record_id: str) -> str:
    return links.loc[record_id, "method"]


# --- deterministic identifiers, through link_people -----------------------------------------------

def test_shared_la_child_id_links_two_sources_with_method_la_child_id(links):
    assert key(links, "la-pl") == key(links, "la-cp")
    assert method(links, "la-pl") == method(links, "la-cp") == "la_child_id"
    assert (links.loc[["la-pl", "la-cp"], "match_probability"] == 1.0).all()


def test_nhs_number_links_two_authorities_with_different_la_child_ids(links):
    assert key(links, "nhs-pl") == key(links, "nhs-eh")
    assert {method(links, "nhs-pl"), method(links, "nhs-eh")} == {"nhs_number"}


def test_former_upn_in_census_links_to_person_list_upn(links):
    assert key(links, "upn-pl") == key(links, "upn-cin")
    assert method(links, "upn-cin") == "upn"


# --- twins -----------------------------------------------------------------------------------------

def test_twins_with_different_nhs_numbers_get_different_keys(links):
    assert key(links, "twin-a-pl") != key(links, "twin-b-pl")


def test_early_help_record_of_a_twin_joins_that_twin_only(links):
    assert key(links, "twin-a-eh") == key(links, "twin-a-pl")
    assert key(links, "twin-a-eh") != key(links, "twin-b-pl")
    assert "probabilistic" in {method(links, "twin-a-pl"), method(links, "twin-a-eh")}


def test_household_list_twins_are_kept_apart_by_the_same_adult_rule(first_run, links):
    """The two children score as one (above the match threshold), so it is the rule that separates them."""
    assert key(links, "hh-twin-1") != key(links, "hh-twin-2")
    review = first_run.review_pairs
    pair = review[review["record_id_l"].isin(["hh-twin-1", "hh-twin-2"])
                  & review["record_id_r"].isin(["hh-twin-1", "hh-twin-2"])]
    assert len(pair) == 1
    assert pair["never_auto_linked"].iloc[0] == "two children listed by the same adult"
    assert pair["match_probability"].iloc[0] >= 0.95


# --- probabilistic links ---------------------------------------------------------------------------

def test_surname_change_is_linked_probabilistically(links):
    assert key(links, "sc-eh") == key(links, "sc-pl") == key(links, "sc-cin")
    assert method(links, "sc-eh") == "probabilistic"
    assert links.loc["sc-eh", "match_probability"] >= 0.95
    assert method(links, "sc-pl") == "la_child_id"  # the anchor group keeps its deterministic method


def test_dob_with_day_and_month_swapped_is_still_linked(links):
    assert key(links, "dob-eh") == key(links, "dob-pl")
    assert method(links, "dob-eh") == "probabilistic"


def test_move_between_authorities_with_nhs_number_keeps_one_key(links):
    assert key(links, "mv-991") == key(links, "mv-992")
    assert method(links, "mv-992") == "nhs_number"


def test_move_between_authorities_without_nhs_number_links_probabilistically(links):
    assert key(links, "mvn-992") == key(links, "mvn-991") == key(links, "mvn-991-cin")
    assert method(links, "mvn-992") == "probabilistic"


# --- conflicts and whole-run properties ------------------------------------------------------------

def test_nhs_number_of_two_la_child_ids_in_one_authority_is_not_used_and_is_reported(first_run, links):
    assert key(links, "cf-1") != key(links, "cf-2")
    conflicts = first_run.conflicts
    assert len(conflicts) == 1
    row = conflicts.iloc[0]
    assert (row["key_type"], row["la_code"], row["key_value"]) == ("nhs_number", "991", "9000001000")
    assert list(row["local_ids"]) == ["X1000", "X1001"]


def test_no_person_holds_two_nhs_numbers(links):
    assert links.dropna(subset=["nhs_std"]).groupby("person_key")["nhs_std"].nunique().max() == 1


def test_record_linked_only_by_a_match_is_not_called_single_record(links):
    """Twin A's person-list record is joined to its early-help record by a match; neither is 'linked to nothing'."""
    assert key(links, "twin-a-pl") == key(links, "twin-a-eh")
    in_shared_cluster = links.groupby("person_key")["person_key"].transform("size") > 1
    assert (links.loc[in_shared_cluster, "method"] != "single record").all()
    assert links.loc[in_shared_cluster, "match_probability"].notna().all()


def test_link_people_when_no_pair_reaches_the_match_threshold():
    """Every early-help record carries the NHS number, so everything links deterministically (an empty set
    of match edges once made group_identifiers return a DataFrame and cluster_groups fail)."""
    rows = [r for r in background_rows() if not (r["source"] == "early_help" and "nhs_std" not in r)]
    result = link_people(records_frame(rows), "table", "C")
    assert set(result.links["method"]) <= {"la_child_id", "nhs_number", "single record"}
    assert result.links["person_key"].nunique() == 500


def test_background_children_are_never_merged_and_rarely_split(links):
    child = pd.Series([child_of_record(r) for r in links.index], index=links.index).dropna()
    keys = links.loc[child.index, "person_key"]
    assert child.groupby(keys).nunique().max() == 1  # no key holds two children
    assert (keys.groupby(child).nunique() > 1).mean() <= 0.01  # at most 1% of children hold two keys


# --- stable keys across two runs -------------------------------------------------------------------

NEW_EH_FOR = ["bg-pl-0003", "bg-pl-0010", "bg-pl-0021"]  # background children seen by early help in quarter 2


@pytest.fixture(scope="module")
def second_run(quarter_1_records, first_run):
    """Quarter 2: every person-list child listed again (new record ids), three new early-help records
    without NHS number for known children, and five new children; linked with the first run's keys."""
    previous = first_run.links[["source", "record_id", "person_key"]].rename(columns={"record_id": "source_record_id"})
    again = quarter_1_records[quarter_1_records["source"] == "person_list"].copy()
    again["record_id"] = "q2-" + again["record_id"]
    again["period_end"] = pd.Timestamp(QUARTER_2)
    new_eh = quarter_1_records.set_index("record_id").loc[NEW_EH_FOR].reset_index()
    new_eh = new_eh.assign(record_id="q2-eh-" + new_eh["record_id"], source="early_help", table="early_help",
                           eh_id="Q2" + new_eh["la_child_id"], la_child_id=pd.NA, nhs_std=pd.NA, upn=pd.NA,
                           period_end=pd.Timestamp(QUARTER_2))
    newcomers = records_frame([{**row, "period_end": QUARTER_2}
                               for row in background_rows(5, seed=99, prefix="new") if row["source"] == "person_list"])
    records = pd.concat([quarter_1_records, again, new_eh, newcomers], ignore_index=True)
    for column in STRING_COLUMNS:
        records[column] = records[column].astype("string")
    result = link_people(records, "table", "C", previous_keys=previous)
    return previous, result.links.set_index("record_id")


def test_old_records_keep_their_keys_in_the_next_run(links, second_run):
    _, after = second_run
    assert (after.loc[links.index, "person_key"] == links["person_key"]).all()


def test_new_records_of_known_children_take_their_existing_key(links, second_run):
    _, after = second_run
    old = links.index[links["source"] == "person_list"]
    assert (after.loc["q2-" + old, "person_key"].to_numpy() == links.loc[old, "person_key"].to_numpy()).all()
    new_eh = pd.Index(["q2-eh-" + r for r in NEW_EH_FOR])
    assert (after.loc[new_eh, "person_key"].to_numpy() == links.loc[NEW_EH_FOR, "person_key"].to_numpy()).all()


def test_new_children_get_new_keys_above_the_previous_maximum(links, second_run):
    _, after = second_run
    newcomers = after[after.index.str.startswith("new-")]
    assert len(newcomers) == 5
    assert newcomers["person_key"].is_unique
    assert key_number(newcomers["person_key"]).min() > key_number(links["person_key"]).max()


def test_key_stability_reports_every_key_kept(second_run):
    previous, after = second_run
    current = after.reset_index()[["source", "record_id", "person_key"]].rename(
        columns={"record_id": "source_record_id"})
    stability = key_stability(previous, current)
    assert stability["records_compared"] == len(previous)
    assert stability["records_unchanged_pct"] == 100.0
    assert stability["keys_unchanged_pct"] == 100.0


# --- stable keys, unit ----------------------------------------------------------------------------

def test_split_person_keeps_key_on_larger_part_and_other_part_gets_next_key():
    previous = pd.DataFrame({"source_record_id": ["r1", "r2", "r3", "r4", "r5", "r6"],
                             "person_key": ["C0000007"] * 5 + ["C0000003"]})
    # r1-r3 stay together, r4-r5 become a person of their own, r6 keeps its person, r7 is new
    cluster = np.array([1, 1, 1, 0, 0, 2, 3])
    keys = assign_stable_keys(pd.Series(["r1", "r2", "r3", "r4", "r5", "r6", "r7"]), cluster, previous, "C")
    assert list(keys) == ["C0000007"] * 3 + ["C0000008"] * 2 + ["C0000003", "C0000009"]


def test_first_run_numbers_keys_in_order_of_first_record():
    keys = assign_stable_keys(pd.Series(["b", "a", "c", "d"]), np.array([0, 1, 0, 2]), None, "A")
    assert list(keys) == ["A0000002", "A0000001", "A0000002", "A0000003"]


def test_key_of_a_merged_person_is_never_issued_again():
    run_1 = assign_stable_keys(pd.Series(["a", "b", "c"]), np.array([0, 1, 2]), None, "C")  # C1, C2, C3
    previous_1 = pd.DataFrame({"source_record_id": ["a", "b", "c"], "person_key": run_1})
    run_2 = assign_stable_keys(pd.Series(["a", "b", "c"]), np.array([0, 1, 1]), previous_1, "C")  # c joins b
    assert list(run_2) == ["C0000001", "C0000002", "C0000002"]
    previous_2 = pd.DataFrame({"source_record_id": ["a", "b", "c"], "person_key": run_2})
    # the highest key ever issued (3) is kept by the caller in linkage.key_sequence
    run_3 = assign_stable_keys(pd.Series(["a", "b", "c", "d"]), np.array([0, 1, 1, 2]), previous_2, "C",
                               highest_issued=3)
    assert run_3[3] not in set(run_1)  # d is a new child: C0000003 was c's key in run 1
    assert run_3[3] == "C0000004"


def test_key_stability_counts_records_and_keys_unchanged():
    previous = pd.DataFrame({"source": "person_list", "source_record_id": ["r1", "r2", "r3", "r4", "r5", "r6"],
                             "person_key": ["C0000007"] * 5 + ["C0000003"]})
    current = previous.assign(person_key=["C0000007"] * 3 + ["C0000008"] * 2 + ["C0000003"])
    assert key_stability(previous, current) == {"records_compared": 6, "records_unchanged_pct": 66.667,
                                                "keys_compared": 2, "keys_unchanged_pct": 50.0}


# --- deterministic_groups, unit -------------------------------------------------------------------

def _identifiers(rows: list[dict]) -> pd.DataFrame:
    columns = ["la_code", "la_child_id", "eh_id", "nhs_std", "upn", "former_upn"]
    return pd.DataFrame([{c: row.get(c) for c in columns} for row in rows]).astype("string")


def test_deterministic_groups_follow_chains_of_shared_identifiers():
    frame = _identifiers([
        dict(la_code="991", la_child_id="A1", nhs_std="9000000001"),            # 0 -- NHS -- 1
        dict(la_code="991", eh_id="E1", nhs_std="9000000001"),                  # 1 -- EH ID -- 2
        dict(la_code="991", eh_id="E1"),
        dict(la_code="992", la_child_id="B1", upn="U2", former_upn="U1"),       # 3 -- UPN -- 4
        dict(la_code="991", la_child_id="A1", upn="U1"),                        # 4 -- LA ID -- 0
        dict(la_code="991", la_child_id="A9"),                                  # 5 alone
    ])
    group = deterministic_groups(frame).group
    assert len(set(group[:5])) == 1
    assert group[5] != group[0]


def test_record_whose_former_upn_is_its_own_upn_shares_no_key():
    frame = _identifiers([dict(la_code="992", la_child_id="B1", upn="U1", former_upn="U1"),
                          dict(la_code="992", la_child_id="B2", upn="U2")])
    assert deterministic_groups(frame).method.isna().all()


def test_la_child_id_and_eh_id_only_link_within_one_authority():
    frame = _identifiers([dict(la_code="991", la_child_id="1001"), dict(la_code="992", la_child_id="1001"),
                          dict(la_code="991", eh_id="77"), dict(la_code="992", eh_id="77")])
    group = deterministic_groups(frame).group
    assert len(set(group)) == 4


def test_method_is_the_strongest_identifier_shared_and_missing_when_none_is():
    frame = _identifiers([
        dict(la_code="991", la_child_id="A1", nhs_std="9000000001", upn="U1"),
        dict(la_code="991", la_child_id="A1", nhs_std="9000000001", upn="U1"),   # shares all three
        dict(la_code="992", la_child_id="B1", nhs_std="9000000001", upn="U1"),   # shares NHS and UPN
        dict(la_code="992", la_child_id="B2", upn="U5"),                         # shares nothing
    ])
    assert list(deterministic_groups(frame).method.fillna("none")) == ["la_child_id", "la_child_id",
                                                                        "nhs_number", "none"]


def test_bridge_value_of_two_la_child_ids_in_one_authority_is_a_conflict_and_not_used():
    frame = _identifiers([dict(la_code="991", la_child_id="A1", nhs_std="9000000001"),
                          dict(la_code="991", la_child_id="A2", nhs_std="9000000001"),
                          dict(la_code="991", la_child_id="A3", upn="U3"),
                          dict(la_code="991", la_child_id="A4", former_upn="U3")])
    det = deterministic_groups(frame)
    assert len(set(det.group)) == 4
    assert det.method.isna().all()
    conflicts = det.conflicts.sort_values("key_type").reset_index(drop=True)
    assert list(conflicts["key_type"]) == ["nhs_number", "upn"]
    assert [list(ids) for ids in conflicts["local_ids"]] == [["A1", "A2"], ["A3", "A4"]]
    assert list(conflicts["la_code"]) == ["991", "991"]


def test_same_nhs_number_in_two_authorities_is_not_a_conflict():
    frame = _identifiers([dict(la_code="991", la_child_id="A1", nhs_std="9000000001"),
                          dict(la_code="992", la_child_id="A2", nhs_std="9000000001"),
                          dict(la_code="991", eh_id="E1", nhs_std="9000000001")])  # early help: no LA child ID
    det = deterministic_groups(frame)
    assert det.conflicts.empty
    assert len(set(det.group)) == 1


# --- cluster_groups, unit -------------------------------------------------------------------------

def test_cluster_groups_refuses_an_edge_giving_one_person_two_nhs_numbers():
    edges = pd.DataFrame({"group_l": [0, 1], "group_r": [1, 2], "match_probability": [0.99, 0.98]})
    identifiers = pd.Series({0: [("nhs", "9000000001")], 2: [("nhs", "9000000002")]})
    cluster, refused = cluster_groups(3, edges, identifiers)
    assert cluster[0] == cluster[1] != cluster[2]
    assert list(refused) == [False, True]


def test_cluster_groups_breaks_ties_by_group_not_by_the_order_the_pairs_arrive_in():
    """Splink returns scored pairs in no fixed order (DuckDB's threads), and pairs that agree on the
    same comparisons have the same probability: the edge refused must not depend on that order."""
    edges = pd.DataFrame({"group_l": [0, 1], "group_r": [1, 2], "match_probability": [0.97, 0.97]})
    identifiers = pd.Series({0: [("nhs", "9000000001")], 2: [("nhs", "9000000002")]})
    results = []
    for order in ([0, 1], [1, 0]):
        cluster, refused = cluster_groups(3, edges.iloc[order], identifiers)
        results.append((tuple(cluster), refused.sort_index().tolist()))
    assert results[0] == results[1]
    assert results[0][1] == [False, True]  # groups 0-1 first (lower group numbers), so 1-2 is refused


def test_group_edges_keep_the_same_best_pair_whatever_the_order():
    from models.linkage.probabilistic import group_edges
    pairs = pd.DataFrame({"group_l": [0, 0, 1, 1], "group_r": [1, 1, 2, 2], "match_probability": [0.9, 0.97, 0.97, 0.97],
                          "match_weight": [3.0, 5.0, 5.0, 5.0]})
    one, other = group_edges(pairs), group_edges(pairs.iloc[::-1])
    pd.testing.assert_frame_equal(one, other)
    assert list(one["group_l"]) == [0, 1] and list(one["match_weight"]) == [5.0, 5.0]


def test_cluster_groups_takes_the_strongest_edge_first():
    edges = pd.DataFrame({"group_l": [0, 1], "group_r": [1, 2], "match_probability": [0.96, 0.99]})
    identifiers = pd.Series({0: [("nhs", "9000000001")], 2: [("nhs", "9000000002")]})
    cluster, refused = cluster_groups(3, edges, identifiers)
    assert cluster[1] == cluster[2] != cluster[0]
    assert list(refused) == [True, False]


def test_cluster_groups_allows_la_child_ids_of_two_authorities():
    edges = pd.DataFrame({"group_l": [0, 0], "group_r": [1, 2], "match_probability": [0.99, 0.98]})
    identifiers = pd.Series({0: [("la:991", "A1")], 1: [("la:992", "B1")], 2: [("la:991", "A2")]})
    cluster, refused = cluster_groups(3, edges, identifiers)
    assert cluster[0] == cluster[1] != cluster[2]
    assert list(refused) == [False, True]


# --- never_auto_linked, unit ----------------------------------------------------------------------

def _pairs(rows: list[dict]) -> pd.DataFrame:
    """Scored pairs with Splink's gamma columns; by default every comparison agrees exactly (-1 = null)."""
    agree = {"gamma_nhs_number": -1, "gamma_upn": -1, "gamma_la_child_id": -1, "gamma_dob": 4,
             "gamma_forename": 4, "household_client_l": None, "household_client_r": None}
    return pd.DataFrame([{**agree, **row} for row in rows])


def test_never_auto_linked_gives_each_reason():
    pairs = _pairs([
        {},
        {"gamma_nhs_number": 0},
        {"gamma_upn": 0},
        {"gamma_la_child_id": 0},
        {"gamma_forename": 0},
        {"gamma_forename": 1},
        {"gamma_dob": 0},
        {"household_client_l": "CL1", "household_client_r": "CL1"},
    ])
    assert list(never_auto_linked(pairs)) == [
        "", "different NHS numbers", "different UPNs", "different LA child IDs in one authority",
        "same date of birth, different forename", "same date of birth, different forename",
        "different dates of birth", "two children listed by the same adult"]


def test_never_auto_linked_allows_near_forenames_near_dobs_and_missing_values():
    pairs = _pairs([
        {"gamma_forename": 2},                       # Jaro-Winkler >= 0.92
        {"gamma_forename": 0, "gamma_dob": 3},       # different forename, DOB day and month swapped
        {"gamma_forename": 0, "gamma_dob": 2},       # different forename, DOB one character apart
        {"gamma_dob": 1},                            # within 31 days
        {"gamma_dob": -1, "gamma_forename": -1},     # DOB or forename missing
        {"household_client_l": "CL1", "household_client_r": "CL2"},
    ])
    assert list(never_auto_linked(pairs)) == [""] * 6


def test_never_auto_linked_first_listed_reason_wins():
    pairs = _pairs([{"gamma_nhs_number": 0, "gamma_dob": 0, "household_client_l": "CL1", "household_client_r": "CL1"},
                    {"gamma_dob": 0, "household_client_l": "CL1", "household_client_r": "CL1"}])
    assert list(never_auto_linked(pairs)) == ["different NHS numbers", "different dates of birth"]


def test_never_auto_linked_without_identifier_comparisons():
    """Adult services hold no UPN or LA child ID, so their model has no such comparison."""
    pairs = _pairs([{"gamma_nhs_number": 0}, {}]).drop(columns=["gamma_upn", "gamma_la_child_id"])
    assert list(never_auto_linked(pairs)) == ["different NHS numbers", ""]
