"""Probabilistic linkage with Splink 5 (Fellegi-Sunter) on DuckDB.

Input: *profiles*, the distinct identities of the records (one row per deterministic group
and distinct combination of name, DOB, sex, postcode and identifiers), so a child listed in
twelve quarterly person lists is compared once per distinct way they were recorded.
Pairs inside one deterministic group are never compared (they are already linked).

Comparisons (each a Splink comparison with its own m and u probabilities):

* forename: exact, same name by the nickname table (Tom / Thomas), Jaro-Winkler >= 0.92, >= 0.80;
* surname: exact, a shared part of a double-barrelled name, Jaro-Winkler >= 0.92;
* date of birth: exact, day and month swapped, one character different (typo), within 31 days;
* sex; postcode: exact, same district (outward code);
* NHS number, UPN: equal or different when both are present; LA child ID: "different IDs in
  the same authority" is strong evidence of two children (twins in one case-management system).

Training, on every run, needs no hand-labelled pairs but is not unsupervised either: the prior from a
strict rule (same names and DOB), u by random sampling (fixed seed), and m from labels the deterministic
step supplies (Splink's ``estimate_m_from_label_column`` with the deterministic group as the label: pairs
the deterministic rules already linked). Not expectation maximisation (see :func:`train`). A saved
model file (``save_model_to_json``) can be used instead. A partnership with too few records to
train on (fewer than :data:`MIN_TRAINING_PROFILES` distinct identities, or fewer than
:data:`MIN_LABEL_GROUPS` children already linked deterministically across two records) gets the
built-in model (``built_in_model_<children|adults>.json``, trained on the default synthetic
partnership: regenerate it with ``python -m models.linkage.probabilistic``), and so does one whose
training fails; the linkage summary says which model was used and why. Blocking rules for prediction pair records only on shared DOB (with surname, forename
or district) or shared names or postcode, so the number of comparisons grows about linearly.
"""
from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import splink.comparison_level_library as cll
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.blocking_rule_library import And, CustomRule
from splink.comparison_library import CustomComparison

NICKNAMES_FILE = Path(__file__).with_name("nicknames.csv")
BUILT_IN_MODEL = {"C": Path(__file__).with_name("built_in_model_children.json"),
                  "A": Path(__file__).with_name("built_in_model_adults.json")}
MIN_TRAINING_PROFILES = 2000  # distinct identities needed to estimate u by sampling
MIN_LABEL_GROUPS = 100  # deterministic groups with two or more profiles, the labels m is estimated from
SEED = 20261123
PROFILE_COLUMNS = ["forename_std", "surname_std", "dob", "sex_std", "postcode_std", "nhs_std", "upn", "la_code",
                   "la_child_id", "household_client"]
DIFFERENT_GROUP = CustomRule("l.det_group <> r.det_group")
# identifier comparison -> the profile column it compares
IDENTIFIER_COLUMNS = {"nhs_number": "nhs_std", "upn": "upn", "la_child_id": "la_child_id"}
# m probability of a level never seen among known matches: 1 in 1,000 known matches might show it
UNSEEN_M = 0.001
DOB_EXACT_GAMMA = 4
FORENAME_DIFFERENT_GAMMAS = (0, 1)

# Splink logs its training progress and "untrained parameter" notes at INFO/WARNING: keep the
# pipeline's output to our own messages (the model used is saved next to the review file).
SPLINK_LOG_LEVEL = logging.ERROR


@cache
def nickname_table() -> pd.DataFrame:
    """(name, formal_name): each alternative name and the formal names it can stand for, upper-case letters only."""
    raw = pd.read_csv(NICKNAMES_FILE, dtype="string", keep_default_na=False)
    clean = lambda s: s.str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii") \
        .str.upper().str.replace(r"[^A-Z]", "", regex=True)  # noqa: E731
    return pd.DataFrame({"name": clean(raw["alternative"]), "formal_name": clean(raw["formal_name"])}) \
        .drop_duplicates().reset_index(drop=True)


def _level(sql: str, label: str) -> cll.CustomLevel:
    return cll.CustomLevel(sql, label_for_charts=label)


def comparisons(identifiers: tuple[str, ...] = ("nhs_number", "upn", "la_child_id")) -> list[CustomComparison]:
    """The Splink comparisons (see module docstring); ``identifiers``: which identifier comparisons to
    include (adult services hold no UPN or LA child ID)."""
    def null(col):
        return cll.NullLevel(col)

    forename = CustomComparison(output_column_name="forename", comparison_levels=[
        null("forename_std"),
        cll.ExactMatchLevel("forename_std", term_frequency_adjustments=True),
        _level("list_has_any(forename_names_l, forename_names_r)", "nickname"),
        cll.JaroWinklerLevel("forename_std", 0.92),
        cll.JaroWinklerLevel("forename_std", 0.80),
        cll.ElseLevel(),
    ])
    surname = CustomComparison(output_column_name="surname", comparison_levels=[
        null("surname_std"),
        cll.ExactMatchLevel("surname_std", term_frequency_adjustments=True),
        _level("list_has_any(surname_parts_l, surname_parts_r)", "shared part of a double-barrelled name"),
        cll.JaroWinklerLevel("surname_std", 0.92),
        cll.ElseLevel(),
    ])
    dob = CustomComparison(output_column_name="dob", comparison_levels=[
        null("dob"),
        cll.ExactMatchLevel("dob"),
        _level("day(dob_l) = month(dob_r) AND month(dob_l) = day(dob_r) AND year(dob_l) = year(dob_r)",
               "day and month swapped"),
        _level("damerau_levenshtein(strftime(dob_l, '%Y%m%d'), strftime(dob_r, '%Y%m%d')) <= 1",
               "one character different"),
        _level("abs(date_diff('day', dob_l, dob_r)) <= 31", "within 31 days"),
        cll.ElseLevel(),
    ])
    sex = CustomComparison(output_column_name="sex", comparison_levels=[
        null("sex_std"), cll.ExactMatchLevel("sex_std"), cll.ElseLevel()])
    postcode = CustomComparison(output_column_name="postcode", comparison_levels=[
        null("postcode_std"),
        cll.ExactMatchLevel("postcode_std"),
        cll.ExactMatchLevel("postcode_district"),
        cll.ElseLevel(),
    ])
    nhs = CustomComparison(output_column_name="nhs_number", comparison_levels=[
        null("nhs_std"), cll.ExactMatchLevel("nhs_std"), cll.ElseLevel()])
    upn = CustomComparison(output_column_name="upn", comparison_levels=[
        null("upn"), cll.ExactMatchLevel("upn"), cll.ElseLevel()])
    local_id = CustomComparison(output_column_name="la_child_id", comparison_levels=[
        _level("la_child_id_l IS NULL OR la_child_id_r IS NULL OR la_code_l <> la_code_r",
               "not both held by one authority").configure(is_null_level=True),
        _level("la_child_id_l = la_child_id_r", "same LA child ID"),
        cll.ElseLevel(),
    ])
    optional = {"nhs_number": nhs, "upn": upn, "la_child_id": local_id}
    return [forename, surname, dob, sex, postcode, *[optional[name] for name in identifiers]]


def prediction_blocking_rules() -> list:
    """Pairs are compared only when they share one of these (and are in different groups)."""
    return [And(block_on(*cols), DIFFERENT_GROUP) for cols in [
        ("dob", "surname_std"),
        ("dob", "forename_key"),
        ("dob", "postcode_district"),
        ("forename_key", "surname_std", "birth_year"),
        ("surname_std", "postcode_std"),
    ]]


def settings(link_type: str, identifiers: tuple[str, ...]) -> SettingsCreator:
    return SettingsCreator(
        link_type=link_type,
        unique_id_column_name="profile_id",
        comparisons=comparisons(identifiers),
        blocking_rules_to_generate_predictions=prediction_blocking_rules(),
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=["det_group", "household_client"],
        max_iterations=20,
    )


@dataclass
class ScoredPairs:
    """Scored profile pairs at or above the review threshold: ``profile_id_l``, ``profile_id_r``,
    ``match_weight``, ``match_probability`` and Splink's per-comparison ``gamma_*``/``bf_*`` columns."""

    pairs: pd.DataFrame
    model_json: dict
    model_source: str = "trained on this partnership's records"


def score_pairs(profiles: pd.DataFrame, review_threshold: float, model_path: Path | None = None,
                table_column: str = "table", key_prefix: str = "C") -> ScoredPairs:
    """:func:`score_pairs_in` on a DataFrame of profiles (as :func:`.persons.profiles_of` gives them), through an
    in-memory DuckDB."""
    con = duckdb.connect()
    try:
        return score_pairs_in(con, profiles_table(con, profiles), review_threshold, model_path, table_column,
                              key_prefix)
    finally:
        con.close()


def profiles_table(con: duckdb.DuckDBPyConnection, profiles: pd.DataFrame) -> str:
    """A DataFrame of profiles (as :func:`.persons.profiles_of` gives them) as the temporary table ``profiles``
    on ``con``, dates of birth as DATE; returns its name."""
    con.register("profiles_frame", profiles)
    con.execute("CREATE TEMP TABLE profiles AS SELECT * REPLACE (CAST(dob AS DATE) AS dob) FROM profiles_frame")
    con.unregister("profiles_frame")
    return "profiles"


@contextmanager
def splink_workspace(conn: duckdb.DuckDBPyConnection):
    """Make an in-memory database (``splink_work``, attached to ``conn``'s DuckDB instance, so under its memory
    limit) the default while the body runs: Splink creates its working tables there, never in the warehouse.
    Detached (its tables freed) at the end."""
    database, schema = conn.execute("SELECT current_database(), current_schema()").fetchall()[0]
    conn.execute("ATTACH ':memory:' AS splink_work")
    conn.execute("USE splink_work")
    try:
        yield
    finally:
        conn.execute(f'USE "{database}"."{schema}"')
        conn.execute("DETACH splink_work")


def input_tables(conn: duckdb.DuckDBPyConnection, profiles: str, table_column: str) -> list[tuple[str, str]]:
    """One temporary table of profiles per Splink input table (the values of ``table_column``, in order; returned
    as (table, value) pairs), rows in profile order, with ``forename_names`` (the name and every formal name it can be short for),
    ``forename_key`` (the alphabetically first of them, for blocking) and ``birth_year``."""
    table = nickname_table()
    formal = table.groupby("name", sort=False)["formal_name"].agg(list).reset_index()
    conn.register("nickname_formal_names", formal)
    names = [row[0] for row in conn.execute(f'SELECT DISTINCT "{table_column}" FROM {profiles} '
                                            f'WHERE "{table_column}" IS NOT NULL ORDER BY ALL').fetchall()]
    tables = []
    for number, name in enumerate(names):
        tables.append(f"{profiles}__input_{number}")
        conn.execute(f"""
            CREATE OR REPLACE TEMP TABLE {tables[-1]} AS
            WITH named AS (
                SELECT p.* EXCLUDE ("{table_column}"),
                       CASE WHEN p.forename_std IS NOT NULL
                            THEN list_prepend(p.forename_std, coalesce(n.formal_name, []::VARCHAR[])) END
                           AS forename_names
                FROM {profiles} p LEFT JOIN nickname_formal_names n ON n.name = p.forename_std
                WHERE p."{table_column}" = $name)
            SELECT *, list_min(forename_names) AS forename_key, CAST(year(dob) AS INTEGER) AS birth_year
            FROM named ORDER BY profile_id""", {"name": name})
    conn.unregister("nickname_formal_names")
    return list(zip(tables, names))


def score_pairs_in(conn: duckdb.DuckDBPyConnection, profiles: str, review_threshold: float,
                   model_path: Path | None = None, table_column: str = "table", key_prefix: str = "C") -> ScoredPairs:
    """Train (or load) the model and score pairs of profiles in different deterministic groups.

    ``profiles``: a table of ``conn`` with ``profile_id``, ``det_group``, ``table_column`` (which input table
    each profile belongs to, e.g. the source family) and the columns of :data:`PROFILE_COLUMNS` (``dob`` a
    DATE) plus ``surname_parts``, ``postcode_district``. Splink reads DuckDB tables made from it on the same
    connection (no pandas copy of the profiles). ``key_prefix`` (C children, A adults) chooses the built-in
    model used when there is too little to train on (see module docstring).
    """
    count = conn.execute(f"SELECT count(*) FROM {profiles}").fetchall()[0][0]
    if count < 2:  # nothing to compare
        return ScoredPairs(pairs=_no_pairs(), model_json={}, model_source="no pairs to compare")
    tables = input_tables(conn, profiles, table_column)
    with splink_workspace(conn):
        db = DuckDBAPI(conn)
        registered = [db.register(table, dataset_display_name=str(name)) for table, name in tables]
        link_type = "link_and_dedupe" if len(registered) > 1 else "dedupe_only"
        source = "trained on this partnership's records"
        if model_path is not None and model_path.exists():
            model, source = json.loads(model_path.read_text(encoding="utf-8")), f"saved model {model_path.name}"
        else:
            too_few = _too_few_to_train(conn, profiles, count)
            model = None if too_few else _trained_model(registered, _identifiers_present(conn, profiles), link_type)
            if model is None:
                model = json.loads(BUILT_IN_MODEL[key_prefix].read_text(encoding="utf-8"))
                source = ("built-in model (" + (too_few or "training on these records failed") +
                          "; trained on the default synthetic partnership)")
        model["link_type"] = link_type
        if source.startswith("built-in"):  # m and u carry over; the prior depends on how many records there are
            model["probability_two_random_records_match"] = prior_from_records(
                conn, profiles, count, model["probability_two_random_records_match"])
        linker = Linker(registered, model, log_level=SPLINK_LOG_LEVEL)
        predictions = linker.inference.predict(threshold_match_probability=review_threshold)
        pairs = predictions.as_pandas_dataframe()
        model = linker.misc.save_model_to_json()
    for table, _ in tables:
        conn.execute(f"DROP TABLE {table}")
    pairs["never_auto_linked"] = never_auto_linked(pairs)
    return ScoredPairs(pairs=pairs, model_json=model, model_source=source)


def _too_few_to_train(conn: duckdb.DuckDBPyConnection, profiles: str, count: int) -> str:
    """Why these profiles are too few to train a model on ("" when they are enough)."""
    labelled = conn.execute(f"SELECT count(*) FROM (SELECT det_group FROM {profiles} GROUP BY det_group "
                            "HAVING count(*) > 1)").fetchall()[0][0]
    if count < MIN_TRAINING_PROFILES:
        return f"{count:,} distinct identities, fewer than {MIN_TRAINING_PROFILES:,}"
    if labelled < MIN_LABEL_GROUPS:
        return f"{labelled:,} people linked deterministically across records, fewer than {MIN_LABEL_GROUPS:,}"
    return ""


def _identifiers_present(conn: duckdb.DuckDBPyConnection, profiles: str) -> tuple[str, ...]:
    """The identifier comparisons whose column some profile has."""
    counts = conn.execute(f"SELECT {', '.join(f'count({c})' for c in IDENTIFIER_COLUMNS.values())} "
                          f"FROM {profiles}").fetchall()[0]
    return tuple(name for name, n in zip(IDENTIFIER_COLUMNS, counts) if n)


def _trained_model(tables: list, identifiers: tuple[str, ...], link_type: str) -> dict | None:
    """The model trained on these records, or None when training fails (degenerate data)."""
    try:
        linker = Linker(tables, settings(link_type, identifiers), log_level=SPLINK_LOG_LEVEL)
        train(linker)
        return with_unseen_levels_floored(linker.misc.save_model_to_json())
    except (ValueError, ZeroDivisionError, ArithmeticError) as exc:  # e.g. log(0) with no varied pairs
        logging.getLogger(__name__).warning("linkage training failed (%s); using the built-in model", exc)
        return None


def prior_from_records(conn: duckdb.DuckDBPyConnection, profiles: str, n: int, default: float,
                       recall: float = 0.7) -> float:
    """The probability two random profiles are the same person, as training estimates it: pairs agreeing on
    forename, surname and date of birth, divided by the rule's recall (0.7), over all ``n`` profiles' pairs.
    ``default`` (the built-in model's) when no pair agrees or there are fewer than two profiles."""
    agreeing = float(conn.execute(f"""
        SELECT coalesce(sum(same * (same - 1) / 2), 0) FROM (
            SELECT count(*) AS same FROM {profiles}
            WHERE forename_std IS NOT NULL AND surname_std IS NOT NULL AND dob IS NOT NULL
            GROUP BY forename_std, surname_std, dob)""").fetchall()[0][0])
    if n < 2 or agreeing == 0:
        return default
    return min(0.5, agreeing / recall / (n * (n - 1) / 2))


def _prior(linker: Linker) -> None:
    linker.training.estimate_probability_two_random_records_match(
        ["l.forename_std = r.forename_std AND l.surname_std = r.surname_std AND l.dob = r.dob"], recall=0.7)


def _no_pairs() -> pd.DataFrame:
    return pd.DataFrame({"profile_id_l": pd.Series(dtype="int64"), "profile_id_r": pd.Series(dtype="int64"),
                         "match_weight": pd.Series(dtype="float64"), "match_probability": pd.Series(dtype="float64"),
                         "gamma_dob": pd.Series(dtype="int64"), "gamma_forename": pd.Series(dtype="int64"),
                         "household_client_l": pd.Series(dtype="string"),
                         "household_client_r": pd.Series(dtype="string"),
                         "never_auto_linked": pd.Series(dtype="string")})


def with_unseen_levels_floored(model: dict) -> dict:
    """Give levels never seen among the known matches (m untrained, e.g. "NHS numbers differ") the
    m probability :data:`UNSEEN_M`, so they count strongly against a match instead of being ignored."""
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if not level.get("is_null_level") and level.get("m_probability") is None:
                level["m_probability"] = UNSEEN_M
    return model


def never_auto_linked(pairs: pd.DataFrame) -> pd.Series:
    """Why a pair must not be linked automatically however high its score ("" when it may be).

    * ``different NHS numbers`` / ``different UPNs`` / ``different LA child IDs in one authority``:
      both records carry the identifier and it differs: two people, or a recording error that a
      person should look at;
    * ``same date of birth, different forename``: twins share surname, address and date of birth,
      so those score them as one child; only the forename (and sex, when both are recorded) tells
      them apart. Different means not equal, not a nickname, Jaro-Winkler below 0.92;
    * ``different dates of birth``: not equal, not swapped, not one character or 31 days apart:
      siblings can share forename, surname and address, and with rare names those outscore any
      date difference;
    * ``two children listed by the same adult``: an adult-services household list names different
      children (same-named twins would otherwise be one child).

    Splink numbers a comparison's non-null levels from the last ("all other", 0) up to the first
    listed: identifiers 0 = different; forename 0 = different, 1 = Jaro-Winkler >= 0.80;
    date of birth 4 = exact.
    """
    reason = pd.Series("", index=pairs.index, dtype="string")
    absent = pd.Series(-1, index=pairs.index)  # an identifier comparison not in the model (no data)
    rules = [
        (pairs.get("gamma_nhs_number", absent) == 0, "different NHS numbers"),
        (pairs.get("gamma_upn", absent) == 0, "different UPNs"),
        (pairs.get("gamma_la_child_id", absent) == 0, "different LA child IDs in one authority"),
        ((pairs["gamma_dob"] == DOB_EXACT_GAMMA) & pairs["gamma_forename"].isin(FORENAME_DIFFERENT_GAMMAS),
         "same date of birth, different forename"),
        (pairs["gamma_dob"] == 0, "different dates of birth"),
        (pairs["household_client_l"] == pairs["household_client_r"], "two children listed by the same adult"),
    ]
    for applies, text in reversed(rules):  # the first listed reason wins
        reason[applies.fillna(False).to_numpy(dtype=bool)] = text
    return reason


def train(linker: Linker) -> None:
    """Training from the records alone (no hand-labelled pairs): the deterministic groups are the labels.

    * prior (probability two random profiles match) from a strict rule: same names and DOB, recall 0.7;
    * u by random sampling of pairs (fixed seed);
    * m from the deterministic groups (``det_group`` as the label column): pairs of profiles that
      share an LA child ID, NHS number or UPN are true matches, and how their names, DOB and postcode
      differ is how a child's records differ between systems. Expectation maximisation was tried
      and rejected: siblings (same surname, postcode, near DOB) form a second "match" class it converges to.
    """
    _prior(linker)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=SEED)
    linker.training.estimate_m_from_label_column("det_group")


def with_group_pair(pairs: pd.DataFrame, det_group_of_profile: np.ndarray) -> pd.DataFrame:
    """Add ``group_l`` <= ``group_r``: the deterministic groups of each profile pair's two sides."""
    g_l = det_group_of_profile[pairs["profile_id_l"].to_numpy(dtype=np.int64)]
    g_r = det_group_of_profile[pairs["profile_id_r"].to_numpy(dtype=np.int64)]
    return pairs.assign(group_l=np.minimum(g_l, g_r), group_r=np.maximum(g_l, g_r))


def group_edges(pairs: pd.DataFrame) -> pd.DataFrame:
    """Collapse profile pairs (with :func:`with_group_pair` columns) to deterministic-group pairs:
    (group_l, group_r, match_probability, match_weight), keeping each pair of groups' best-scoring pair.
    Sorted by weight, then group numbers: Splink returns pairs in no fixed order (DuckDB's threads)."""
    edges = pairs.loc[pairs["group_l"] != pairs["group_r"], ["group_l", "group_r", "match_probability", "match_weight"]]
    edges = edges.sort_values(["match_weight", "match_probability", "group_l", "group_r"],
                              ascending=[False, False, True, True], kind="stable")
    return edges.drop_duplicates(["group_l", "group_r"]).reset_index(drop=True)


def write_built_in_models(warehouse: Path, identity: Path) -> None:
    """Train on the records of a warehouse holding the default synthetic partnership (``make run``) and save
    the two built-in models beside this module. Give it a copy of the warehouse: linkage writes to it."""
    from models.linkage.run import link_partnership

    conn = duckdb.connect(str(warehouse))
    result = link_partnership(conn, identity)
    for prefix, linkage in (("C", result.children), ("A", result.adults)):
        if not linkage.model_source.startswith("trained"):
            raise RuntimeError(f"{prefix}: not trained ({linkage.model_source}); use the default partnership")
        BUILT_IN_MODEL[prefix].write_text(json.dumps(linkage.model_json, indent=1, default=str) + "\n")


if __name__ == "__main__":  # python -m models.linkage.probabilistic COPY_OF_WAREHOUSE IDENTITY_STORE
    import sys

    write_built_in_models(Path(sys.argv[1]), Path(sys.argv[2]))
