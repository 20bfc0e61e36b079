"""The neglect definitions (``tier_definitions.yaml``): evidence parameters, tiers, tier sets, lists.

:func:`load_definitions` reads and checks the file and returns :class:`NeglectDefinitions`, which
also writes the SQL the definitions decide, as DuckDB macros (:meth:`NeglectDefinitions.macros_sql`) that
the mart SQL files call, so the files themselves hold no value of the definitions:

* ``neglect_factor_codes()``, ``other_abuse_factor_codes()``, ``abuse_or_neglect_need_code()``,
  ``gcp2_concern_threshold()``, ``family_link_methods()``, ``partner_concern_types()``: the parameters;
* ``neglect_tier(kinds)``: a child's tier (1-6, NULL for no tier) from ``kinds``, the list of evidence kinds
  current for the child in the period (:meth:`NeglectDefinitions.tier_case_sql`);
* ``capture_history(kinds)``: a struct of one 0/1 field per capture-recapture list, named as the list, and
  ``on_a_capture_list(kinds)``: true when any field is 1.

A mistake in the file (an unknown evidence kind, a tier missing, a threshold out of range) raises
:class:`DefinitionsError` naming the file and the entry, before any mart is touched.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

DEFINITIONS_FILE = Path(__file__).with_name("tier_definitions.yaml")
EVIDENCE_KINDS = ("cp_neg", "cp_mul", "cp_other", "assessment_16A", "assessment_other_abuse", "primary_need_N1",
                  "eh_16A", "eh_gcp2", "adult_known", "adult_concern")
PARTNER_KIND_PREFIX = "partner:"  # evidence kind of a partner agency's concern: partner:<agency>


def is_partner_kind(kind: str) -> bool:
    """``partner:<agency>`` (a concern recorded by a partner agency, docs/partner-lists.md)."""
    agency = str(kind).removeprefix(PARTNER_KIND_PREFIX)
    return str(kind).startswith(PARTNER_KIND_PREFIX) and agency.isidentifier()


FAMILY_LINK_METHODS = ("recorded in household", "same address")
TIERS = (1, 2, 3, 4, 5, 6)


class DefinitionsError(ValueError):
    """The definitions file is not usable; the message names the file and the entry."""


@dataclass(frozen=True)
class TierRule:
    tier: int
    label: str
    description: str
    all_of: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    none_of: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaptureList:
    """A capture-recapture list. ``ppv``: the assumed share of its children truly in the population;
    ``audit_checked`` / ``audit_confirmed``: a case-file audit's counts, used instead when given
    (models/mse/false_positives.py, docs/false-positive-audit.md)."""

    name: str
    label: str
    any_of: tuple[str, ...]
    ppv: float = 1.0
    audit_checked: int | None = None
    audit_confirmed: int | None = None


@dataclass(frozen=True)
class NeglectDefinitions:
    neglect_factor_codes: tuple[str, ...]
    abuse_or_neglect_need_code: str
    gcp2_concern_threshold: int
    other_abuse_factor_codes: tuple[str, ...]
    family_link_methods: tuple[str, ...]
    tiers: tuple[TierRule, ...]
    tier_sets: dict[str, tuple[int, ...]]
    capture_lists: tuple[CaptureList, ...]
    partner_concern_types: tuple[str, ...] = ()
    source: Path = DEFINITIONS_FILE

    def tier_case_sql(self, kinds: str = "kinds") -> str:
        """SQL: the first tier whose rule the list column ``kinds`` meets (NULL when none does)."""
        branches = []
        for rule in self.tiers:
            conditions = []
            if rule.all_of:
                conditions.append(f"list_has_all({kinds}, {sql_list(rule.all_of)})")
            if rule.any_of:
                conditions.append(f"list_has_any({kinds}, {sql_list(rule.any_of)})")
            if rule.none_of:
                conditions.append(f"NOT list_has_any({kinds}, {sql_list(rule.none_of)})")
            branches.append(f"WHEN {' AND '.join(conditions)} THEN {rule.tier}")
        return "CASE " + " ".join(branches) + " END"

    def macros_sql(self) -> str:
        """``CREATE OR REPLACE MACRO`` statements for the macros the module docstring lists (stored in the
        database the connection writes, so the SQL files run on the warehouse in the DuckDB command line)."""
        history = ", ".join(f"{sql_string(c.name)}: CAST(list_has_any(kinds, {sql_list(c.any_of)}) AS INTEGER)"
                            for c in self.capture_lists)
        on_any = sql_list(sorted({kind for c in self.capture_lists for kind in c.any_of}))
        macros = {
            "neglect_factor_codes()": sql_list(self.neglect_factor_codes),
            "other_abuse_factor_codes()": sql_list(self.other_abuse_factor_codes),
            "abuse_or_neglect_need_code()": sql_string(self.abuse_or_neglect_need_code),
            "gcp2_concern_threshold()": str(int(self.gcp2_concern_threshold)),
            "family_link_methods()": sql_list(self.family_link_methods),
            "partner_concern_types()": sql_list(self.partner_concern_types),
            "neglect_tier(kinds)": self.tier_case_sql("kinds"),
            "capture_history(kinds)": "{" + history + "}",
            "on_a_capture_list(kinds)": f"list_has_any(kinds, {on_any})",
        }
        return "".join(f"CREATE OR REPLACE MACRO {name} AS {body};\n" for name, body in macros.items())

    def tier_label(self, tier: int) -> str:
        return next(r.label for r in self.tiers if r.tier == tier)


def sql_list(values) -> str:
    """A DuckDB list literal of strings: ``['16A', '18B']`` (quotes doubled; empty: ``[]::VARCHAR[]``)."""
    return "[" + ", ".join(sql_string(v) for v in values) + "]::VARCHAR[]"


def sql_string(value) -> str:
    """A DuckDB string literal: ``'N1'`` (quotes doubled)."""
    return "'" + str(value).replace("'", "''") + "'"


def load_definitions(path: Path = DEFINITIONS_FILE) -> NeglectDefinitions:
    """Read and check ``tier_definitions.yaml`` (see module docstring)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DefinitionsError(f"{path}: cannot be read as YAML: {exc}") from None

    def fail(where: str, problem: str):
        raise DefinitionsError(f"{path}: {where}: {problem}")

    def kinds(where: str, values) -> tuple[str, ...]:
        values = tuple(values or ())
        unknown = [v for v in values if v not in EVIDENCE_KINDS and not is_partner_kind(v)]
        if unknown:
            fail(where, f"unknown evidence kind(s) {unknown}; known kinds: {', '.join(EVIDENCE_KINDS)} and "
                        f"{PARTNER_KIND_PREFIX}<agency> for a partner-agency list (docs/partner-lists.md)")
        return values

    evidence = data.get("evidence") or fail("evidence", "missing")
    threshold = evidence.get("gcp2_concern_threshold")
    if not isinstance(threshold, int) or not 1 <= threshold <= 5:
        fail("evidence.gcp2_concern_threshold", f"must be a whole number 1-5, got {threshold!r}")
    methods = tuple(evidence.get("family_link_methods") or ())
    if not methods or set(methods) - set(FAMILY_LINK_METHODS):
        fail("evidence.family_link_methods", f"must be one or more of {list(FAMILY_LINK_METHODS)}, got {list(methods)}")
    factor_codes = tuple(str(c) for c in evidence.get("neglect_factor_codes") or ())
    if not factor_codes:
        fail("evidence.neglect_factor_codes", "must list at least one assessment factor code")

    tiers = []
    for number in TIERS:
        entry = (data.get("tiers") or {}).get(number) or fail(f"tiers.{number}", "missing (tiers 1-6 are all needed)")
        rule = TierRule(number, str(entry.get("label", f"Tier {number}")), str(entry.get("description", "")),
                        kinds(f"tiers.{number}.all_of", entry.get("all_of")),
                        kinds(f"tiers.{number}.any_of", entry.get("any_of")),
                        kinds(f"tiers.{number}.none_of", entry.get("none_of")))
        if not (rule.all_of or rule.any_of):
            fail(f"tiers.{number}", "needs all_of or any_of")
        tiers.append(rule)

    tier_sets = {}
    for name, members in (data.get("tier_sets") or {}).items():
        members = tuple(int(m) for m in members)
        if not members or set(members) - set(TIERS):
            fail(f"tier_sets.{name}", f"must list tiers among 1-6, got {list(members)}")
        tier_sets[str(name)] = members
    if not tier_sets:
        fail("tier_sets", "missing")

    lists = []
    for name, entry in (data.get("capture_lists") or {}).items():
        if not str(name).isidentifier():
            fail(f"capture_lists.{name}", "a list name must be letters, digits and underscores")
        ppv = entry.get("ppv", 1.0)
        if not isinstance(ppv, (int, float)) or not 0 < ppv <= 1:
            fail(f"capture_lists.{name}.ppv", f"must be a number above 0 and at most 1, got {ppv!r}")
        audit = entry.get("audit") or {}
        checked, confirmed = audit.get("checked"), audit.get("confirmed")
        if (checked is None) != (confirmed is None) or (checked is not None and not (
                isinstance(checked, int) and isinstance(confirmed, int) and 0 <= confirmed <= checked and checked > 0)):
            fail(f"capture_lists.{name}.audit", "give both checked and confirmed, whole numbers with "
                                                f"0 <= confirmed <= checked, checked > 0; got {audit!r}")
        lists.append(CaptureList(str(name), str(entry.get("label", name)),
                                 kinds(f"capture_lists.{name}.any_of", entry.get("any_of")), float(ppv), checked,
                                 confirmed))
    if len(lists) < 2:
        fail("capture_lists", "needs at least two lists")

    return NeglectDefinitions(
        neglect_factor_codes=factor_codes,
        abuse_or_neglect_need_code=str(evidence.get("abuse_or_neglect_need_code", "N1")),
        gcp2_concern_threshold=threshold,
        other_abuse_factor_codes=tuple(str(c) for c in evidence.get("other_abuse_factor_codes") or ()),
        family_link_methods=methods, tiers=tuple(tiers), tier_sets=tier_sets, capture_lists=tuple(lists),
        partner_concern_types=tuple(str(c) for c in evidence.get("partner_concern_types") or ()), source=path)
