"""Split a read table into its analytical (pseudonymised) part and its identity part.

Which columns are identifiers, and what the warehouse keeps instead, is the table
``IDENTIFIER_COLUMNS`` below: one entry per column name as the readers output it.

=====================  ==============================================================
identifier column      what ``raw.*`` in the warehouse keeps instead
=====================  ==============================================================
la_child_id, child_id  ``child_pseudonym``: HMAC of ``child:<la_code>:<id>``
eh_id                  ``eh_pseudonym`` (early-help person ID)
client_id              ``adult_pseudonym`` (adult-services client ID)
episode_id             ``episode_pseudonym``
concern_id             ``concern_pseudonym`` (a partner agency's record of a concern)
nhs_number             ``has_nhs_number`` (a valid NHS number is recorded)
upn, former_upn        ``has_upn``, ``has_former_upn``
date_of_birth,         ``birth_month`` (first day of the month of birth) and
person_birth_date,     ``age_at_period_end`` (whole years on the period end: the
child_date_of_birth    quarter end, or the census reference date)
expected_person_…      ``expected_birth_month``
person_death_date      ``death_month``
postcode               ``has_postcode``, ``postcode_matched`` (found in the postcode
                       lookup), ``ward_code``, ``lsoa_code``, ``deprivation_decile``
                       (IMD decile of the LSOA, 1 = most deprived)
names                  nothing
=====================  ==============================================================

The identity store gets, for the same ``record_id``, the identifier columns as read
plus the pseudonyms computed from them, so linkage can work from identifiers and hand
back results keyed by record_id. All of it is SQL: DuckDB computes the HMACs and joins
the postcode lookup in one vectorised statement.
"""
from __future__ import annotations

from dataclasses import dataclass

from .pseudonyms import hmac_sql

PSEUDONYM_PREFIX = {"child_pseudonym": "child", "eh_pseudonym": "eh", "adult_pseudonym": "adult",
                    "episode_pseudonym": "episode", "concern_pseudonym": "concern"}


@dataclass(frozen=True)
class Identifier:
    kind: str  # pseudonym | presence | birth_date | month | postcode | drop
    output: str | None = None  # the warehouse column (pseudonym, presence and month kinds)


IDENTIFIER_COLUMNS: dict[str, Identifier] = {
    "la_child_id": Identifier("pseudonym", "child_pseudonym"),
    "child_id": Identifier("pseudonym", "child_pseudonym"),
    "eh_id": Identifier("pseudonym", "eh_pseudonym"),
    "client_id": Identifier("pseudonym", "adult_pseudonym"),
    "episode_id": Identifier("pseudonym", "episode_pseudonym"),
    "concern_id": Identifier("pseudonym", "concern_pseudonym"),
    "nhs_number": Identifier("presence", "has_nhs_number"),
    "upn": Identifier("presence", "has_upn"),
    "former_upn": Identifier("presence", "has_former_upn"),
    "date_of_birth": Identifier("birth_date"),
    "person_birth_date": Identifier("birth_date"),
    "child_date_of_birth": Identifier("birth_date"),
    "expected_person_birth_date": Identifier("month", "expected_birth_month"),
    "person_death_date": Identifier("month", "death_month"),
    "postcode": Identifier("postcode"),
    "forename": Identifier("drop"),
    "surname": Identifier("drop"),
    "child_forename": Identifier("drop"),
    "child_surname": Identifier("drop"),
}

POSTCODE_LOOKUP = "raw.postcode_lookup"  # postcode_key, ward_code, lsoa_code
DEPRIVATION = "raw.deprivation"  # lsoa_code, imd_decile


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def pseudonym_sql(column: str, output: str, key: bytes) -> str:
    """``<output>`` = HMAC of ``<kind>:<la_code>:<trimmed value>``; blank values give NULL.

    The LA number is part of the message because local IDs are only unique within an authority.
    """
    message = f"'{PSEUDONYM_PREFIX[output]}:' || f.la_code || ':' || trim({column})"
    return f"CASE WHEN nullif(trim({column}), '') IS NULL THEN NULL ELSE {hmac_sql(key, message)} END AS {output}"


def whole_years_sql(born: str, on: str) -> str:
    """Age in whole years on date ``on`` of someone born on ``born`` (birthday counted on the day)."""
    return (f"(date_part('year', {on}) - date_part('year', {born}) - "
            f"CASE WHEN strftime({on}, '%m%d') < strftime({born}, '%m%d') THEN 1 ELSE 0 END)")


def postcode_key_sql(column: str) -> str:
    """The postcode lookup's join key: upper case with every space removed."""
    return f"upper(regexp_replace({column}, '\\s', '', 'g'))"


def _column(col: str, dates: set[str]) -> str:
    """The column as read; pandas timestamps (the readers' dates) become DuckDB DATEs."""
    return f"CAST(f.{_q(col)} AS DATE)" if col in dates else f"f.{_q(col)}"


def warehouse_select(columns: list[str], view: str, key: bytes, with_geography: bool,
                     dates: set[str] = frozenset()) -> str:
    """SELECT turning the read rows in ``view`` into the warehouse's pseudonymised rows.

    ``columns``: the view's columns, in order (they must include la_code and period_end);
    ``dates``: those holding dates. ``with_geography``: join the postcode lookup and
    deprivation tables (they must exist).
    """
    out: list[str] = []
    joins = ""
    for col in columns:
        c = _column(col, dates)
        ident = IDENTIFIER_COLUMNS.get(col)
        if ident is None:
            out.append(f"{c} AS {_q(col)}")
        elif ident.kind == "pseudonym":
            out.append(pseudonym_sql(c, ident.output, key))
        elif ident.kind == "presence":
            out.append(f"(nullif(trim({c}), '') IS NOT NULL) AS {ident.output}")
        elif ident.kind == "birth_date":
            out.append(f"CAST(date_trunc('month', {c}) AS DATE) AS birth_month")
            out.append(f"CAST({whole_years_sql(c, _column('period_end', dates))} AS INTEGER) AS age_at_period_end")
        elif ident.kind == "month":
            out.append(f"CAST(date_trunc('month', {c}) AS DATE) AS {ident.output}")
        elif ident.kind == "postcode":
            out.append(f"(nullif(trim({c}), '') IS NOT NULL) AS has_postcode")
            if with_geography:
                out += ["(pl.ward_code IS NOT NULL) AS postcode_matched", "pl.ward_code", "pl.lsoa_code",
                        "CAST(dep.imd_decile AS INTEGER) AS deprivation_decile"]
                joins = (f" LEFT JOIN {POSTCODE_LOOKUP} AS pl ON pl.postcode_key = {postcode_key_sql(c)}"
                         f" LEFT JOIN {DEPRIVATION} AS dep ON dep.lsoa_code = pl.lsoa_code")
            else:
                out += ["CAST(NULL AS BOOLEAN) AS postcode_matched", "CAST(NULL AS VARCHAR) AS ward_code",
                        "CAST(NULL AS VARCHAR) AS lsoa_code", "CAST(NULL AS INTEGER) AS deprivation_decile"]
        # kind "drop": nothing in the warehouse
    return f"SELECT {', '.join(out)} FROM {view} AS f{joins}"


def identity_select(columns: list[str], view: str, key: bytes, dates: set[str] = frozenset()) -> str | None:
    """SELECT of the identity-store rows (record_id, la_code, period_end, identifiers, pseudonyms).

    None when the table has no identifier column.
    """
    idents = [c for c in columns if c in IDENTIFIER_COLUMNS]
    if not idents:
        return None
    out = ["f.record_id", "f.la_code", f"{_column('period_end', dates)} AS period_end"]
    for col in idents:
        c = _column(col, dates)
        out.append(f"{c} AS {_q(col)}")
        ident = IDENTIFIER_COLUMNS[col]
        if ident.kind == "pseudonym":
            out.append(pseudonym_sql(c, ident.output, key))
    return f"SELECT {', '.join(out)} FROM {view} AS f"
