"""write_linkage_tables: the person links and the sensitivity rows are written by DuckDB straight from the
children's and adults' ``links`` frames (no frame of every person link in between); checked on hand-made links."""
from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from models.linkage.persons import PersonLinkage
from models.linkage.run import LinkageResult, highest_issued_keys, write_linkage_tables

pytestmark = pytest.mark.unit


def _linkage(links: pd.DataFrame, sensitivity: dict | None = None) -> PersonLinkage:
    return PersonLinkage(links=links, review_pairs=pd.DataFrame(), conflicts=pd.DataFrame(), identifier_conflicts={},
                         profiles=0, pairs_scored=0, model_json={}, sensitivity=sensitivity or {})


def _links(record_ids, sources, keys, methods, probabilities, period_end) -> pd.DataFrame:
    n = len(record_ids)
    return pd.DataFrame({
        "record_id": pd.array(record_ids, dtype="str"), "source": pd.array(sources, dtype="str"),
        "la_code": pd.array(["991"] * (n - 1) + [None], dtype="str"),
        "period_end": pd.array(pa.array([period_end] * n, pa.date32()), dtype=pd.ArrowDtype(pa.date32())),
        "det_group": np.arange(n), "det_method": pd.array(methods, dtype="str"), "cluster": np.arange(n),
        "method": pd.array(methods, dtype="string"), "match_probability": probabilities,
        "person_key": pd.array(keys, dtype="str")})


def _warehouse() -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    highest_issued_keys(conn)  # as link_partnership does first: makes linkage.key_sequence
    return conn


@pytest.fixture
def result() -> LinkageResult:
    children = _links(["f.xml#Child[1]", "f.xml#Child[2]", "eh.csv:2"], ["cin_census", "cin_census", "early_help"],
                      ["C0000001", "C0000002", "C0000001"], ["la_child_id", "single record", "probabilistic"],
                      [1.0, np.nan, 0.97], date(2026, 3, 31))
    adults = _links(["ad.csv:2", "ad.csv:3"], ["adult_episodes", "adult_episodes"], ["A0000001", "A0000001"],
                    ["nhs_number", "nhs_number"], [1.0, 1.0], date(2025, 12, 31))
    sensitivity = {0.5: np.array([0, 0, 0]), 0.99: np.array([4, 5, 6])}
    summary = pd.DataFrame({"person_type": ["child"], "section": ["records"], "source": ["all"], "item": ["x"],
                            "value": [1.0]})
    families = pd.DataFrame({"child_key": ["C0000001"], "adult_key": ["A0000001"]})
    return LinkageResult(families, summary, _linkage(children, sensitivity), _linkage(adults), {})


def test_person_links_are_the_links_of_children_then_adults(result):
    conn = _warehouse()
    write_linkage_tables(conn, result)
    types = {name: kind for name, kind, *_ in conn.execute("DESCRIBE linkage.person_links").fetchall()}
    assert types == {"source": "VARCHAR", "source_record_id": "VARCHAR", "person_key": "VARCHAR",
                     "person_type": "VARCHAR", "la_code": "VARCHAR", "period_end": "DATE",
                     "match_probability": "DOUBLE", "method": "VARCHAR"}
    rows = conn.execute("SELECT * FROM linkage.person_links ORDER BY person_type DESC, source_record_id").fetchall()
    assert rows == [
        ("early_help", "eh.csv:2", "C0000001", "child", None, date(2026, 3, 31), 0.97, "probabilistic"),
        ("cin_census", "f.xml#Child[1]", "C0000001", "child", "991", date(2026, 3, 31), 1.0, "la_child_id"),
        ("cin_census", "f.xml#Child[2]", "C0000002", "child", "991", date(2026, 3, 31), None, "single record"),
        ("adult_episodes", "ad.csv:2", "A0000001", "adult", "991", date(2025, 12, 31), 1.0, "nhs_number"),
        ("adult_episodes", "ad.csv:3", "A0000001", "adult", None, date(2025, 12, 31), 1.0, "nhs_number")]
    # the frame the result gives when asked holds the same rows
    asked = result.person_links
    assert list(asked.columns) == list(types)
    asked["period_end"] = asked["period_end"].dt.date
    assert sorted(map(tuple, asked.astype(object).where(asked.notna(), None).to_numpy().tolist()), key=str) == \
        sorted(conn.execute("SELECT * FROM linkage.person_links").fetchall(), key=str)
    assert conn.execute("SELECT * FROM linkage.key_sequence ORDER BY 1").fetchall() == [("A", 1), ("C", 2)]


def test_sensitivity_rows_label_each_child_record_by_threshold(result):
    conn = _warehouse()
    write_linkage_tables(conn, result)
    assert conn.execute("SELECT * FROM linkage.person_links_sensitivity").fetchall() == [
        ("f.xml#Child[1]", 0.5, "C@0.5:0"), ("f.xml#Child[2]", 0.5, "C@0.5:0"), ("eh.csv:2", 0.5, "C@0.5:0"),
        ("f.xml#Child[1]", 0.99, "C@0.99:4"), ("f.xml#Child[2]", 0.99, "C@0.99:5"), ("eh.csv:2", 0.99, "C@0.99:6")]


def test_no_sensitivity_thresholds_write_an_empty_typed_table(result):
    result.children.sensitivity = {}
    conn = _warehouse()
    write_linkage_tables(conn, result)
    assert conn.execute("SELECT count(*) FROM linkage.person_links_sensitivity").fetchall() == [(0,)]
    assert [r[:2] for r in conn.execute("DESCRIBE linkage.person_links_sensitivity").fetchall()] == [
        ("source_record_id", "VARCHAR"), ("threshold", "DOUBLE"), ("person_key", "VARCHAR")]
    assert conn.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchall() == [(0,)]
