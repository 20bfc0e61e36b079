"""The rule registry: what a rule is, and the list every rule module adds itself to.

A rule is one small function decorated with :func:`rule`. The decorator records the
rule's code, a short name, its severity, the tables it reads and a plain-English message,
and appends it to the module-level list that :func:`all_rules` returns. The runner
(:mod:`checks.dfe_rules.runner`) does the rest.

The check function takes a DuckDB connection on which every input table is a view
named by table (``cin_child``, ``cin_episode``, ..., ``cp_list``) and the one-row table
``params`` holds the dates (see :mod:`checks.dfe_rules.sql`). It returns a DuckDB relation
of the failing rows with exactly three columns: ``table_name``, ``record_id``, ``la_code``.
It never returns data values: the finding says *which* record broke *which* rule.

Codes: ``CIN-nnnn`` is the DfE CIN census validation rule of that number (the rule as
the DfE states it, applied to the data as read; "Q" rules are queries, severity warning);
``NEG-nn`` is a local rule of this project where the DfE has none (NEG-1x children and
episodes, NEG-2x child protection plans, NEG-3x the child protection list).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import duckdb

CIN_TABLES = ("cin_child", "cin_disability", "cin_episode", "cin_assessment", "cin_assessment_factor",
              "cin_plan", "cin_section47", "cin_cp_plan", "cin_cp_review")
KNOWN_TABLES = CIN_TABLES + ("cp_list",)
SEVERITIES = ("error", "warning")
FINDING_COLUMNS = ("table_name", "record_id", "la_code")
_CODE = re.compile(r"^(CIN-\d{3,4}Q?|NEG-\d{2})$")

Check = Callable[[duckdb.DuckDBPyConnection], duckdb.DuckDBPyRelation]


@dataclass(frozen=True)
class Rule:
    code: str            # "CIN-8925" (DfE rule number) or "NEG-21" (local)
    name: str            # short snake_case name, e.g. "cp_plan_ends_before_start"
    severity: str        # "error" | "warning"
    tables: tuple[str, ...]  # every table the check reads; the rule is skipped unless all are supplied
    message: str         # plain English, the same for every finding: no data values
    check: Check

    @property
    def is_dfe_rule(self) -> bool:
        return self.code.startswith("CIN-")


_RULES: list[Rule] = []


def rule(*, code: str, name: str, severity: str, tables: tuple[str, ...] | list[str], message: str):
    """Decorator: register the decorated check function as a :class:`Rule`; returns the function unchanged."""
    tables = tuple(tables)
    if not _CODE.match(code):
        raise ValueError(f"rule code {code!r} is not CIN-nnnn[Q] or NEG-nn")
    if severity not in SEVERITIES:
        raise ValueError(f"rule {code}: severity {severity!r} is not one of {SEVERITIES}")
    unknown = [t for t in tables if t not in KNOWN_TABLES]
    if not tables or unknown:
        raise ValueError(f"rule {code}: tables {unknown or tables} are not among {KNOWN_TABLES}")
    if any(r.code == code for r in _RULES):
        raise ValueError(f"rule code {code} is registered twice")

    def register(check: Check) -> Check:
        _RULES.append(Rule(code=code, name=name, severity=severity, tables=tables, message=message, check=check))
        return check

    return register


def all_rules() -> list[Rule]:
    """Every registered rule, in registration order (module by module, as the package imports them)."""
    return list(_RULES)


def get_rule(code: str) -> Rule:
    for r in _RULES:
        if r.code == code:
            return r
    raise KeyError(f"no rule with code {code!r}")
