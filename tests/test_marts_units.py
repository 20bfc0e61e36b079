"""The marts' rules on hand-made tables with known answers: definitions, tiers, windows, ages,
areas, breakdowns, benchmarks, the board ratio, change and trend. No warehouse, no Dagster."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from models.marts.definitions import DEFINITIONS_FILE, DefinitionsError, load_definitions
from models.marts.evidence import SQL_DIR, build_tiers, period_windows
from models.marts.prevalence import build_prevalence, compare, identification_ratio, read_benchmarks, with_benchmarks
from models.marts.trend import prevalence_change, prevalence_trend, trend_test

Q = date(2026, 3, 31)  # window of the 12-month measure: 2025-04-01 to 2026-03-31


# ------------------------------------------------------------------ definitions

def test_default_definitions_load():
    d = load_definitions()
    assert [r.tier for r in d.tiers] == [1, 2, 3, 4, 5, 6]
    assert d.tier_sets == {"1": (1,), "1-2": (1, 2), "1-4": (1, 2, 3, 4), "1-5": (1, 2, 3, 4, 5), "6": (6,),
                           "2": (2,), "3": (3,), "4": (4,), "5": (5,)}
    assert d.gcp2_concern_threshold == 4 and d.neglect_factor_codes == ("16A",)
    assert [c.name for c in d.capture_lists] == ["csc_neglect", "early_help_neglect", "adult_concern",
                                                 "health_visiting", "school", "police", "emergency_department"]
    assert [c.any_of for c in d.capture_lists][3:] == [("partner:health_visiting",), ("partner:school",),
                                                       ("partner:police",), ("partner:emergency_department",)]


@pytest.mark.parametrize("kinds, tier", [
    (["cp_neg"], 1), (["cp_mul"], 1), (["cp_other", "assessment_16A"], 2), (["cp_other"], None),
    (["assessment_16A"], 3), (["assessment_16A", "eh_16A"], 3), (["eh_gcp2"], 4), (["eh_16A", "adult_known"], 4),
    (["primary_need_N1"], 5), (["primary_need_N1", "cp_other"], None), (["primary_need_N1", "adult_known"], 5),
    (["adult_known", "adult_concern"], 6), (["adult_concern"], None), ([], None),
    # one tier per child: on a CP plan, a neglect assessment or a CIN plan within it is no second tier
    (["cp_neg", "assessment_16A", "primary_need_N1"], 1), (["cp_mul", "assessment_16A"], 1),
])
def test_tier_rules_as_sql(kinds, tier):
    conn = duckdb.connect()
    conn.execute(load_definitions().macros_sql())
    assert conn.execute("SELECT neglect_tier(?::VARCHAR[])", [kinds]).fetchall()[0][0] == tier


def test_capture_history_macro_has_a_field_per_list_in_the_definitions_order():
    definitions = load_definitions()
    conn = duckdb.connect()
    conn.execute(definitions.macros_sql())
    history, on_a_list = conn.execute("SELECT capture_history(['cp_neg', 'partner:police', 'adult_known']), "
                                      "on_a_capture_list(['cp_neg'])").fetchall()[0]
    names = [c.name for c in definitions.capture_lists]
    assert list(history) == names and on_a_list
    on = {c.name for c in definitions.capture_lists if {"cp_neg", "partner:police", "adult_known"} & set(c.any_of)}
    assert {n for n, v in history.items() if v == 1} == on and "police" in on
    assert conn.execute("SELECT on_a_capture_list(['primary_need_N1']), on_a_capture_list([]::VARCHAR[])"
                        ).fetchall() == [(False, False)]  # a CIN plan alone is on no list


def test_sql_files_hold_no_python_placeholder():
    """Every mart SQL file runs as it stands in the DuckDB command line: no $name for Python to fill (the
    definitions are macros, see models/marts/definitions.py)."""
    import re

    for path in SQL_DIR.glob("*.sql"):
        text = "\n".join(line.split("--")[0] for line in path.read_text(encoding="utf-8").splitlines())
        assert not re.search(r"\$[A-Za-z_]", text), path.name


def test_partner_concerns_view_with_no_list_and_with_one():
    from models.marts.evidence import create_partner_concerns

    conn = duckdb.connect()
    create_partner_concerns(conn, ())
    assert conn.execute("SELECT count(*) FROM staging.partner_concerns").fetchall() == [(0,)]
    conn.execute("CREATE SCHEMA raw; CREATE TABLE raw.partner_police AS SELECT 'r1' AS record_id, '991' AS la_code, "
                 "DATE '2025-05-01' AS concern_date, 'NEG' AS concern_type, 'x' AS other_column")
    create_partner_concerns(conn, ("partner_police",))
    assert conn.execute("SELECT * FROM staging.partner_concerns").fetchall() == [
        ("partner_police", "police", "r1", "991", date(2025, 5, 1), "NEG")]


@pytest.mark.parametrize("edit, message", [
    (("any_of: [cp_neg, cp_mul]", "any_of: [cp_neg, cp_nope]"), "unknown evidence kind"),
    (("gcp2_concern_threshold: 4", "gcp2_concern_threshold: 7"), "gcp2_concern_threshold"),
    (('family_link_methods: ["recorded in household"]', 'family_link_methods: ["next door"]'), "family_link_methods"),
    (("  6:\n", "  7:\n"), "tiers.6: missing"),
])
def test_a_mistake_in_the_definitions_names_file_and_entry(tmp_path: Path, edit, message):
    text = DEFINITIONS_FILE.read_text(encoding="utf-8")
    assert edit[0] in text
    path = tmp_path / "tier_definitions.yaml"
    path.write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    with pytest.raises(DefinitionsError, match=message) as error:
        load_definitions(path)
    assert str(path) in str(error.value)


def test_windows():
    windows = period_windows([Q, date(2025, 12, 31)]).set_index(["period_end", "measure"])["window_start"]
    assert windows[(pd.Timestamp(Q), "12_month")] == pd.Timestamp("2025-04-01")
    assert windows[(pd.Timestamp(Q), "point")] == pd.Timestamp(Q)
    assert windows[(pd.Timestamp("2025-12-31"), "12_month")] == pd.Timestamp("2025-01-01")


# ------------------------------------------------------------------ tiers and prevalence on a tiny warehouse

# (person_key, la_code, kind, start, end); end None = still current
EVIDENCE = [
    ("A", "991", "cp_neg", "2025-01-01", None),              # tier 1 both measures
    ("B", "991", "cp_other", "2025-06-01", None),            # + 16A: tier 2
    ("B", "991", "assessment_16A", "2025-07-01", None),
    ("C", "992", "assessment_16A", "2024-10-01", "2026-03-30"),  # ended the day before Q: 12-month only, tier 3
    ("D", "991", "eh_16A", "2025-05-01", None),              # tier 4 in 991 ...
    ("D", "992", "cp_neg", "2026-02-01", None),              # ... tier 1 in 992: partnership counts D once, tier 1
    ("E", "991", "primary_need_N1", "2025-09-01", None),     # N1 explained by a PHY plan: no tier
    ("E", "991", "cp_other", "2025-09-15", None),
    ("F", "992", "primary_need_N1", "2025-05-01", "2025-08-01"),  # tier 5, 12-month only
    ("G", "992", "adult_known", "2025-04-01", None),         # window starts the day G's evidence does: tier 6
    ("H", "991", "eh_gcp2", "2025-06-01", None),             # turned 18 in January 2026: 12-month only
    ("J", "991", "cp_neg", "2024-01-01", "2025-03-31"),      # ended the day before the window: never
    ("K", "991", "adult_known", "2025-10-01", None),         # tier 6 in 991, tier 3 in 992: partnership tier 3
    ("K", "992", "assessment_16A", "2025-11-01", None),
]
# (person_key, birth_month, sex, ethnicity_group, disability)
CHILDREN = [("A", "2015-06-01", "F", "White", "Not disabled"), ("B", "2020-01-01", "M", "Mixed", "Disabled"),
            ("C", "2010-03-01", "M", None, "Not known"), ("D", "2012-12-01", "F", "White", "Not disabled"),
            ("E", "2019-05-01", "M", "White", "Not known"), ("F", "2009-08-01", "F", "Asian or Asian British", "Not known"),
            ("G", "2024-02-01", "F", None, "Not known"), ("H", "2008-01-01", "M", "White", "Not known"),
            ("J", "2011-01-01", "F", "White", "Not known"), ("K", "2013-04-01", "M", "White", "Not known")]
# (person_key, extract_date, ward_code, address_from, address_to): where each child lived
PLACES = [("A", "2026-03-31", "W1", "2014-01-01", None), ("B", "2026-03-31", "W2", "2019-01-01", None),
          ("D", "2025-06-30", "W1", None, None), ("D", "2026-03-31", "W3", None, None),  # moved to 992
          ("G", "2026-03-31", "W9", None, None), ("K", "2026-03-31", "W3", None, None)]  # W9: outside the partnership
WARDS = {"W1": "991", "W2": "991", "W3": "992", "W4": "992"}


@pytest.fixture()
def tiny():
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts; CREATE SCHEMA staging; CREATE SCHEMA raw; CREATE SCHEMA linkage")
    conn.execute("""CREATE TABLE marts.child_neglect_evidence (person_key VARCHAR, la_code VARCHAR, source VARCHAR,
                    kind VARCHAR, evidence_start DATE, evidence_end DATE, source_record_id VARCHAR,
                    person_record_id VARCHAR, recorded_dates DATE[])""")
    conn.executemany("INSERT INTO marts.child_neglect_evidence VALUES (?, ?, 'test', ?, ?, ?, NULL, NULL, [])",
                     EVIDENCE)
    conn.execute("""CREATE TABLE staging.child_attributes (person_key VARCHAR, birth_month DATE, sex VARCHAR,
                    ethnicity VARCHAR, ethnicity_group VARCHAR, disability VARCHAR)""")
    conn.executemany("INSERT INTO staging.child_attributes VALUES (?, ?, ?, NULL, ?, ?)", CHILDREN)
    conn.execute("""CREATE TABLE staging.child_records (person_key VARCHAR, source VARCHAR, la_code VARCHAR,
                    extract_date DATE, birth_month DATE, sex VARCHAR, ethnicity VARCHAR, disabled BOOLEAN,
                    ward_code VARCHAR, lsoa_code VARCHAR, deprivation_decile INTEGER, address_from DATE,
                    address_to DATE)""")
    conn.executemany("INSERT INTO staging.child_records VALUES (?, 'person_list', '991', ?, NULL, NULL, NULL, NULL, "
                     "?, NULL, 3, ?, ?)", PLACES)
    population = [(2025, la, ward, f"Ward {ward}", sex, age, 10) for ward, la in WARDS.items()
                  for sex in ("M", "F") for age in range(18)]
    population += [(2024, la, ward, f"Ward {ward}", sex, age, 99) for ward, la in WARDS.items()
                   for sex in ("M", "F") for age in range(18)]
    conn.execute("""CREATE TABLE staging.population (mid_year INTEGER, la_code VARCHAR, ward_code VARCHAR,
                    ward_name VARCHAR, sex VARCHAR, age INTEGER, population BIGINT)""")
    conn.executemany("INSERT INTO staging.population VALUES (?, ?, ?, ?, ?, ?, ?)", population)
    conn.execute("CREATE TABLE raw.la_codes AS SELECT * FROM (VALUES ('991', 'Northbrook'), ('992', 'Eastmere')) "
                 "t(la_code, la_name)")
    conn.execute("CREATE SCHEMA quality")  # the extracts start in the year to 31 March 2024
    conn.execute("CREATE TABLE quality.load_audit AS SELECT * FROM (VALUES ('cin_census', DATE '2024-03-31', "
                 "'loaded'), ('cp_list', DATE '2024-03-31', 'loaded'), ('early_help', DATE '2024-03-31', 'loaded')) "
                 "t(source, period_end, status)")
    yield conn
    conn.close()


def _tiers(conn) -> dict:
    rows = conn.execute("SELECT measure, la_code, person_key, tier FROM marts.child_neglect_tier").fetchall()
    return {(m, la, p): t for m, la, p, t in rows}


def test_tiers_windows_ages_and_areas(tiny):
    build_tiers(tiny, load_definitions(), [Q])
    tiers = _tiers(tiny)
    expected = {
        ("point", "991", "A"): 1, ("point", "991", "B"): 2, ("point", "991", "D"): 4, ("point", "992", "D"): 1,
        ("point", "991", "E"): None, ("point", "992", "G"): 6, ("point", "991", "K"): 6, ("point", "992", "K"): 3,
        ("12_month", "991", "A"): 1, ("12_month", "991", "B"): 2, ("12_month", "992", "C"): 3,
        ("12_month", "991", "D"): 4, ("12_month", "992", "D"): 1, ("12_month", "991", "E"): None,
        ("12_month", "992", "F"): 5, ("12_month", "992", "G"): 6, ("12_month", "991", "H"): 4,
        ("12_month", "991", "K"): 6, ("12_month", "992", "K"): 3,
    }
    for measure in ("point", "12_month"):
        for (m, la, person), tier in list(expected.items()):
            if m == measure:
                expected[(measure, "partnership", person)] = min(
                    [t for (m2, _, p2), t in expected.items() if m2 == measure and p2 == person and t], default=None)
    assert tiers == expected


def test_age_bands_and_places(tiny):
    build_tiers(tiny, load_definitions(), [Q])
    rows = tiny.sql("SELECT measure, la_code, person_key, age_band, ward_code FROM marts.child_neglect_tier").df()
    row = rows.set_index(["measure", "la_code", "person_key"])
    assert row.loc[("12_month", "991", "H"), "age_band"] == "16-17"  # 18 on the quarter end, counted as 17
    assert row.loc[("point", "991", "A"), "age_band"] == "10-15"      # 10 on 31 March 2026
    assert row.loc[("point", "992", "G"), "age_band"] == "0-4"
    assert row.loc[("point", "991", "D"), "ward_code"] == "W3"        # lived in W3 at the quarter end
    assert pd.isna(row.loc[("12_month", "992", "C"), "ward_code"])    # no address known


def test_rerunning_a_quarter_replaces_its_rows(tiny):
    definitions = load_definitions()
    build_tiers(tiny, definitions, [Q])
    first = tiny.execute("SELECT count(*) FROM marts.child_neglect_tier").fetchall()[0][0]
    build_tiers(tiny, definitions, [Q])
    assert tiny.execute("SELECT count(*) FROM marts.child_neglect_tier").fetchall()[0][0] == first


def test_prevalence_counts_population_and_breakdowns(tiny):
    definitions = load_definitions()
    build_tiers(tiny, definitions, [Q])
    frame = build_prevalence(tiny, definitions, [Q]).set_index(
        ["measure", "tier_set", "la_code", "breakdown", "breakdown_value"])
    children = frame["children"]
    # partnership 12-month tiers: A1 B2 C3 D1 F5 G6 H4 K3 -> 1: A D; 1-2: +B; 1-4: +C H K; 1-5: +F; 6: G
    for tier_set, n in {"1": 2, "1-2": 3, "1-4": 6, "1-5": 7, "6": 1, "2": 1, "3": 2, "4": 1, "5": 1}.items():
        assert children[("12_month", tier_set, "partnership", "all", "All children")] == n
    assert children[("12_month", "1-4", "991", "all", "All children")] == 4      # A B D H
    assert children[("12_month", "1", "992", "all", "All children")] == 1        # D
    # population: mid-2025 (latest on or before the quarter end), 4 wards x 36 cells x 10
    assert frame.loc[("point", "1", "partnership", "all", "All children"), "population"] == 1440
    assert frame.loc[("point", "1", "991", "age_band", "0-4"), "population"] == 2 * 2 * 5 * 10
    # wards: a 992 ward in 991's rows is 'Outside the authority'; an unknown ward 'Outside the partnership'
    assert children[("point", "1-4", "991", "ward", "Outside the authority")] == 1   # D lives in W3
    assert children[("point", "6", "partnership", "ward", "Outside the partnership")] == 1  # G in W9
    assert children[("point", "1-4", "991", "ward", "W2")] == 1 and children[("point", "1-4", "991", "ward", "W1")] == 1
    assert children[("point", "1", "992", "ward", "W4")] == 0                    # every ward appears, zeros too
    assert frame.loc[("point", "1", "992", "ward", "W4"), "breakdown_label"] == "Ward W4"
    assert frame.loc[("point", "1", "992", "ward", "W4"), "ci95_upper"] > 0
    assert pd.isna(frame.loc[("point", "1", "991", "ethnicity_group", "White"), "rate_per_10k"])  # no population
    for breakdown in ("age_band", "sex", "ethnicity_group", "disability", "ward", "deprivation_decile"):
        part = frame.xs(("12_month", "1-4", "partnership", breakdown), level=[0, 1, 2, 3])
        assert part["children"].sum() == 6
    # extracts from 1 April 2023 (the census year to 31 March 2024): 24 months before the 12-month window
    assert set(frame.xs("12_month", level=0)["history_months"]) == {24}
    assert set(frame.xs("point", level=0)["history_months"]) == {35} and frame["history_complete"].all()


def test_rates_by_deprivation_decile_and_ethnicity_group_from_the_lsoa_denominators(tiny):
    """With LSOA estimates (staging.population_lsoa) and a Census ethnic mix (staging.ethnic_shares), the decile and
    ethnicity rows get a population: the children of the area's LSOAs of each decile, and each LSOA's children
    shared out by its ethnic mix (rounded); 'Not known' has none. Without them: counts only (the test above)."""
    lsoas = [(2025, "991", "L1", 3, 100), (2025, "991", "L2", 7, 50), (2025, "992", "L3", 3, 80),
             (2024, "991", "L1", 3, 999)]  # an older mid-year: not used for the 2026 quarter
    from models.marts.evidence import ensure_denominator_tables

    ensure_denominator_tables(tiny)
    tiny.executemany("INSERT INTO staging.population_lsoa VALUES (?, ?, ?, ?, 'F', 5, ?)", lsoas)
    shares = [("L1", "White", 0.8), ("L1", "Mixed", 0.2), ("L2", "White", 1.0), ("L3", "White", 0.5),
              ("L3", "Asian or Asian British", 0.5)]
    tiny.executemany("INSERT INTO staging.ethnic_shares VALUES (?, 'lsoa', ?, 'all usual residents', ?)", shares)
    definitions = load_definitions()
    build_tiers(tiny, definitions, [Q])
    frame = build_prevalence(tiny, definitions, [Q]).set_index(
        ["measure", "tier_set", "la_code", "breakdown", "breakdown_value"])
    population = frame["population"]
    assert population[("12_month", "1-4", "991", "deprivation_decile", "3")] == 100
    assert population[("12_month", "1-4", "partnership", "deprivation_decile", "3")] == 180
    assert population[("12_month", "1-4", "991", "deprivation_decile", "7")] == 50
    assert pd.isna(population[("12_month", "1-4", "991", "deprivation_decile", "1")])  # no LSOA of decile 1
    assert population[("12_month", "1-4", "991", "ethnicity_group", "White")] == 80 + 50
    assert population[("12_month", "1-4", "991", "ethnicity_group", "Mixed")] == 20
    assert population[("12_month", "1-4", "partnership", "ethnicity_group", "Asian or Asian British")] == 40
    assert pd.isna(population[("12_month", "1-4", "991", "ethnicity_group", "Not known")])
    row = frame.loc[("12_month", "1-4", "991", "deprivation_decile", "3")]
    assert row["rate_per_10k"] == pytest.approx(1e4 * row["children"] / 100) and row["children"] == 3  # A B D (H has no address: Not known)
    assert "LSOAs of this IMD decile" in row["population_note"]
    note = frame.loc[("12_month", "1-4", "991", "ethnicity_group", "White"), "population_note"]
    assert note.startswith("population modelled") and "all usual residents in each LSOA" in note
    white = frame.loc[("12_month", "1-4", "991", "ethnicity_group", "White")]
    assert white["rate_per_10k"] == pytest.approx(1e4 * white["children"] / 130)


# ------------------------------------------------------------------ benchmarks, the board ratio, change, trend

def test_compare_needs_the_interval_to_exclude_the_benchmark():
    out = compare([10, 10, 10, np.nan], [20, 20, 20, 5], [5, 15, 25, 1])
    assert list(out) == ["higher", "similar", "lower", None]


def test_benchmarks_match_measure_and_tier_set_and_other_authority_pooled():
    frame = pd.DataFrame({
        "period_end": [Q] * 4, "measure": ["point"] * 4, "tier_set": ["1", "1", "1", "1-4"],
        "la_code": ["991", "992", "partnership", "991"], "breakdown": ["all"] * 4, "breakdown_value": ["All"] * 4,
        "children": [100, 10, 110, 500], "population": [10_000, 10_000, 20_000, 10_000],
        "ci95_lower": [80.0, 5.0, 45.0, 400.0], "ci95_upper": [120.0, 18.0, 65.0, 600.0]})
    out = with_benchmarks(frame, read_benchmarks())
    assert list(out["england_rate_per_10k"].fillna(-1)) == [22.1, 22.1, 22.1, -1]  # England: point, tier 1 only
    assert list(out["vs_england"].fillna("none")) == ["higher", "lower", "higher", "none"]
    assert (out["research_rate_per_10k"] == 1000).all() and (out["vs_research"] == "lower").all()
    assert list(out["other_la_rate_per_10k"].fillna(-1)) == [10.0, 100.0, -1, -1]  # 991 vs 992 and back
    assert list(out["vs_other_la"].fillna("none")) == ["higher", "lower", "none", "none"]


def test_identification_ratio_and_wilson_shares():
    prevalence = pd.DataFrame({
        "period_end": [Q] * 3, "measure": ["point"] * 3, "la_code": ["991"] * 3, "la_name": ["Northbrook"] * 3,
        "population": [10_000] * 3, "breakdown": ["all"] * 3, "tier_set": ["1", "1-2", "1-4"],
        "children": [20, 25, 100]})
    row = identification_ratio(prevalence).iloc[0]
    assert row["identified_per_cp_neglect_child"] == 5.0 and row["cp_neglect_share_pct"] == 20.0
    # Wilson 95 % interval of 20/100 (Newcombe 1998, table I style): 13.33 % to 28.89 %
    assert row["cp_neglect_share_ci95_lower_pct"] == pytest.approx(13.33, abs=0.01)
    assert row["cp_neglect_share_ci95_upper_pct"] == pytest.approx(28.89, abs=0.01)
    assert row["identified_per_cp_neglect_child_ci95_lower"] == pytest.approx(100 / 28.89, abs=0.01)


def _series(rates: list[float], population: int = 100_000) -> pd.DataFrame:
    ends = pd.date_range("2023-06-30", periods=len(rates), freq="QE")
    children = [round(r * population / 1e4) for r in rates]
    from models.marts.prevalence import with_rate_intervals
    frame = pd.DataFrame({"period_end": ends.date, "measure": "point", "tier_set": "1-4", "la_code": "partnership",
                          "la_name": "Partnership", "breakdown": "all", "breakdown_value": "All children",
                          "breakdown_label": "All children", "children": children, "population": population,
                          "history_complete": True})
    return with_rate_intervals(frame)


def test_change_is_flagged_only_where_intervals_do_not_overlap():
    change = prevalence_change(_series([100, 101, 130, 131, 135])).set_index("period_end")
    assert change.loc[date(2023, 9, 30), "change_since_previous_quarter"] == "no significant change"
    assert change.loc[date(2023, 12, 31), "change_since_previous_quarter"] == "higher"
    assert pd.isna(change.loc[date(2023, 6, 30), "change_since_previous_quarter"])
    assert change.loc[date(2024, 6, 30), "change_since_year_ago"] == "higher"
    assert change.loc[date(2024, 6, 30), "year_ago_rate_per_10k"] == 100


def test_trend_test_finds_a_real_trend_and_not_a_flat_one():
    rising = 100 * 1.2 ** (np.arange(12) / 4)  # 20 % a year
    result = trend_test(np.round(rising * 10).astype(int), np.full(12, 100_000), np.arange(12))
    assert result["rate_ratio_per_year"] == pytest.approx(1.2, abs=0.01) and result["p_value"] < 0.001
    flat = prevalence_trend(_series([100, 102, 99, 101, 100, 98, 101, 100]))
    assert flat.iloc[0]["trend"] == "no significant trend"
    short = prevalence_trend(_series([100, 120]))
    assert short.iloc[0]["trend"] == "too few periods"


# ------------------------------------------------------------------ shared SQL macros

@pytest.mark.parametrize("age, band", [(None, "Not known"), (0, "0-4"), (4, "0-4"), (5, "5-9"), (9, "5-9"),
                                       (10, "10-15"), (15, "10-15"), (16, "16-17"), (17, "16-17"), (18, "16-17")])
def test_age_band_macro(age, band):
    conn = duckdb.connect()
    conn.execute((SQL_DIR / "macros.sql").read_text(encoding="utf-8"))
    assert conn.execute("SELECT age_band(?::INTEGER)", [age]).fetchall() == [(band,)]


@pytest.mark.parametrize("code, group", [("WBRI", "White"), ("WIRT", "White"), ("MWBC", "Mixed"),
                                         ("AIND", "Asian or Asian British"), ("BAFR", "Black or Black British"),
                                         ("CHNE", "Other ethnic group"), ("OOTH", "Other ethnic group"),
                                         ("REFU", "Not known"), ("NOBT", "Not known"), (None, "Not known"),
                                         ("XXXX", "Not known")])
def test_ethnicity_group_macro_gives_one_of_the_published_groups(code, group):
    conn = duckdb.connect()
    conn.execute((SQL_DIR / "macros.sql").read_text(encoding="utf-8"))
    assert conn.execute("SELECT ethnicity_group(?::VARCHAR), list_contains(ethnicity_groups(), ethnicity_group("
                        "?::VARCHAR))", [code, code]).fetchall() == [(group, True)]


def test_hidden_prevalence_rows_when_no_area_has_two_lists():
    """An authority that supplied only its social-care returns leaves one list: every row 'not estimable', and
    the rows still carry the estimate columns (empty) and their rates, instead of failing the mart (seen on a
    hand-written partnership whose authorities supplied only some sources)."""
    from models.marts.hidden_prevalence import ESTIMATE_ROW_COLUMNS, estimate_rows, linkage_variants

    definitions = load_definitions()
    names = [c.name for c in definitions.capture_lists]
    quarter = date(2026, 3, 31)
    histories = pd.DataFrame([{"period_end": pd.Timestamp(quarter), "variant": "match threshold", "la_code": area,
                               "stratum": "0-4", **{n: int(n == names[0]) for n in names}, "children": 7}
                              for area in ("partnership", "991")])
    availability = pd.DataFrame([{"period_end": quarter, "la_code": area, "list_name": n, "available": n == names[0],
                                  "missing": "" if n == names[0] else "a source"}
                                 for area in ("partnership", "991") for n in names])
    population = pd.DataFrame({"period_end": [quarter, quarter], "la_code": ["partnership", "991"],
                               "population": [10_000, 10_000]})
    frame = estimate_rows(histories, definitions, linkage_variants(0.9, 0.8, 0.95), population, [quarter],
                          ["partnership", "991"], availability)
    assert len(frame) == 4 and (frame["status"] == "not estimable").all()  # two areas, and the two threshold variants
    assert set(ESTIMATE_ROW_COLUMNS) <= set(frame.columns) and frame["estimate"].isna().all()
    assert frame["estimate_rate_per_10k"].isna().all()
    own = frame[frame["linkage"] == "match threshold"].set_index("la_code")
    assert own.loc["991", "observed"] == 7 and own.loc["991", "observed_rate_per_10k"] == pytest.approx(7.0)
