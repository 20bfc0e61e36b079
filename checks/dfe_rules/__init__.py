"""Validation rules for the CIN census and the child protection list, in the style of the DfE CIN validator.

One rule is one small function that finds the failing rows in SQL (DuckDB). Each has a
code (the DfE CIN census rule number as ``CIN-nnnn`` where the DfE has the rule, a
local ``NEG-nn`` otherwise), a short name, a severity and a plain-English message.

    from checks.dfe_rules import all_rules, run_rules
    findings = run_rules(tables, reference_date=date(2026, 3, 31))

* :mod:`.registry` -- the :class:`Rule` record, the ``@rule`` decorator, :func:`all_rules`
* :mod:`.runner`   -- :func:`run_rules`: registers the frames in DuckDB, runs the rules
* :mod:`.sql`      -- link keys, the ``params`` dates, the one-table check helper
* :mod:`.years`    -- year-aware rule sets (``years.yaml``: rules added, changed, deleted by year)
* rule modules, by topic: :mod:`.children` (IDs, UPN), :mod:`.deaths`, :mod:`.disabilities`,
  :mod:`.episodes`, :mod:`.activity` (activity after closure or on an NFA referral),
  :mod:`.section47`, :mod:`.assessments`, :mod:`.cin_plans`, :mod:`.cp_plans`, :mod:`.cp_list`

Importing this package imports every rule module, which registers the rules.
"""
# Imported in this order so all_rules() lists the rules child -> episode -> ... -> CP list.
from . import children, deaths, disabilities, episodes, activity, section47, assessments, cin_plans, cp_plans, cp_list  # noqa: F401,I001
from .registry import Rule, all_rules, get_rule, rule
from .runner import OUTPUT_COLUMNS, prepare_connection, run_rules
from .years import collection_year, rule_set

__all__ = ["OUTPUT_COLUMNS", "Rule", "all_rules", "collection_year", "get_rule", "prepare_connection", "rule",
           "rule_set", "run_rules"]
