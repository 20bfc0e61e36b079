"""Pseudonyms: the SQL HMAC equals RFC 2104 HMAC-SHA-256, keys come from env or a 600 file."""
from __future__ import annotations

import hashlib
import hmac
import stat
from datetime import date

import duckdb
import pandas as pd
import pytest

from ingest.pseudonymise import identity_select, warehouse_select, whole_years_sql
from ingest.pseudonyms import KEY_ENV_VAR, PseudonymKeyError, hmac_sql, load_key, pseudonym

KEY = bytes.fromhex("0b" * 32)


def test_rfc4231_vector_with_a_32_byte_key_padded():
    # RFC 4231 test case 2 uses a 4-byte key; our keys are 32 bytes: check against the standard library
    conn = duckdb.connect()
    for message in ["child:991:C1001", "", "naïve £ 𝄞", "x" * 200]:
        expected = hmac.new(KEY, message.encode(), hashlib.sha256).hexdigest()
        got = conn.execute(f"SELECT {hmac_sql(KEY, '?')}", [message]).fetchone()[0]
        assert got == expected == pseudonym(KEY, message)


def test_rfc4231_test_case_2():
    key = b"Jefe"
    expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    conn = duckdb.connect()
    assert conn.execute(f"SELECT {hmac_sql(key, '?')}", ["what do ya want for nothing?"]).fetchone()[0] == expected


def test_key_file_is_created_once_with_owner_only_permissions(tmp_path):
    path = tmp_path / "secrets" / "pseudonym.key"
    first = load_key(path, environ={})
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(path, environ={}) == first


def test_environment_variable_wins_and_is_validated(tmp_path):
    assert load_key(tmp_path / "none.key", environ={KEY_ENV_VAR: "ab" * 32}) == bytes.fromhex("ab" * 32)
    assert not (tmp_path / "none.key").exists()
    with pytest.raises(PseudonymKeyError, match="64 hex characters"):
        load_key(tmp_path / "none.key", environ={KEY_ENV_VAR: "not hex"})
    with pytest.raises(PseudonymKeyError, match="found 8"):
        load_key(tmp_path / "none.key", environ={KEY_ENV_VAR: "abcd1234"})


def test_whole_years_counts_the_birthday_on_the_day():
    conn = duckdb.connect()
    cases = [("2010-03-31", "2026-03-31", 16), ("2010-04-01", "2026-03-31", 15),
             ("2008-02-29", "2026-02-28", 17), ("2008-02-29", "2026-03-01", 18)]
    for born, on, years in cases:
        sql = whole_years_sql(f"DATE '{born}'", f"DATE '{on}'")
        assert conn.execute(f"SELECT {sql}").fetchone()[0] == years, (born, on)


def test_split_keeps_identifiers_out_of_the_warehouse_rows():
    frame = pd.DataFrame({
        "record_id": ["f.csv#line 2", "f.csv#line 3"], "la_code": ["991", "991"],
        "la_child_id": ["C1001", " "], "nhs_number": ["9434765919", None], "forename": ["Ada", "Bo"],
        "date_of_birth": pd.to_datetime(["2015-06-20", None]), "postcode": ["QN1 1AA", None],
        "gender": ["F", "M"], "period_end": pd.to_datetime(["2026-03-31", "2026-03-31"]),
    })
    conn = duckdb.connect()
    conn.register("f", frame)
    dates = {"date_of_birth", "period_end"}
    rows = conn.execute(warehouse_select(list(frame.columns), "f", KEY, False, dates)).df()
    assert "la_child_id" not in rows and "forename" not in rows and "nhs_number" not in rows
    assert "postcode" not in rows and "date_of_birth" not in rows
    assert rows["child_pseudonym"].iloc[0] == pseudonym(KEY, "child:991:C1001")
    assert pd.isna(rows["child_pseudonym"].iloc[1])  # a blank ID gets no pseudonym
    assert rows["has_nhs_number"].tolist() == [True, False]
    assert rows["birth_month"].iloc[0] == pd.Timestamp("2015-06-01")
    assert rows["age_at_period_end"].tolist()[0] == 10
    assert rows["has_postcode"].tolist() == [True, False]
    ident = conn.execute(identity_select(list(frame.columns), "f", KEY, dates)).df()
    assert ident["la_child_id"].tolist() == ["C1001", " "]
    assert ident["child_pseudonym"].iloc[0] == rows["child_pseudonym"].iloc[0]
    assert ident["period_end"].iloc[0] == pd.Timestamp(date(2026, 3, 31))
