"""Great Expectations (GX 1.x) suites for the raw warehouse tables, run on pandas DataFrames.

The suites are data: ``checks/expectations/<table>.yaml`` lists each table's rules in a small
vocabulary. Each rule has a rule code (``GX-CPL-07``) used in reports and in the Data Docs, and maps
to one GX expectation:

================  =====================================================  ===========================================
``expect``        keys                                                   GX expectation
================  =====================================================  ===========================================
has_columns       columns (the table has at least these)                 ExpectTableColumnsToMatchSet
not_null          column                                                 ExpectColumnValuesToNotBeNull
in_set            column; values, or code_list (cin_census.yaml)         ExpectColumnValuesToBeInSet
                  + separator: codes joined by it, e.g. "10A;16A"        ExpectColumnValuesToMatchRegex
between           column; min and/or max (inclusive)                     ExpectColumnValuesToBeBetween
unique            column, or columns (together); where: {col: value}     ExpectColumnValuesToBeUnique /
                                                                         ExpectCompoundColumnsToBeUnique
match_regex       column, regex                                          ExpectColumnValuesToMatchRegex
ordered           earlier, later: later >= earlier where both given      ExpectColumnPairValuesAToBeGreaterThanB
row_count_change  max_change x: rows per period within (1 +/- x) of      ExpectColumnValuesToBeBetween, on the
                  the previous period's                                  per-period counts frame
================  =====================================================  ===========================================

Every rule may add ``mostly`` (the share of the values checked that must pass: GX's meaning,
nulls not counted; default 1) and ``severity``: ``error`` (the default: the figures would be wrong)
or ``warning`` (worth a look, does not stop a run). Nulls pass every column rule except not_null.

**Row-count change.** The rows of each period (``period_column``, default ``period_end``) are
counted into a small frame (period, rows, previous_rows, change = rows / previous_rows), which GX
validates: ``change`` must lie in [1 - x, 1 + x]. The previous period of the earliest period in the
frame has ``previous_row_counts[table]`` rows; later periods compare with the period before them in
the frame. With no previous count the rule is not evaluated. So one call may hold one quarter or
many: row-level rules are validated once over all the table's rows, the row count per period.

**No data values leave GX.** Results use result_format BASIC with no partial unexpected list, and
any value lists are stripped from the results before they are returned or rendered into Data Docs:
failures carry counts and percentages only (GX's ``unexpected_percent`` is a percentage of the
non-null values). A context is ephemeral (in memory, nothing written to the working directory),
with usage analytics and progress bars off; GX makes no network calls.

**Speed** (2-core machine, synthetic default): importing GX takes about 3 s (on first use, not on
import of this module); a context about 5 ms; a 50,000-row table about 0.35-0.55 s (26-28 rules);
all 15 tables, 12 quarters and 460,000 rows in one call about 4-6 s; one call per quarter about 1.4 s.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from sources.schema import SCHEMA_DIR

os.environ["GX_ANALYTICS_ENABLED"] = "False"  # read by GX when a context starts; set before any import of it

if TYPE_CHECKING:  # GX takes ~3 s to import: it is imported on first use, not with this module
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.data_context import AbstractDataContext

SUITE_DIR = Path(__file__).with_name("expectations")
CIN_CODE_LISTS = SCHEMA_DIR / "cin_census.yaml"
SEVERITIES = ("error", "warning")
# Counts and percentages only: no partial_unexpected_list, no unexpected rows or indices.
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0, "include_unexpected_rows": False}
VALUE_KEYS = ("partial_unexpected_list", "partial_unexpected_index_list", "partial_unexpected_counts",
              "unexpected_list", "unexpected_index_list", "unexpected_index_query", "unexpected_rows")
ROW_COUNTS_SUFFIX = "__row_counts"  # suite and asset name of a table's per-period row counts
DATASOURCE = "warehouse_frames"


# --------------------------------------------------------------------------- suites


@dataclass(frozen=True)
class Rule:
    """One YAML entry: its rule code, severity, vocabulary entry and the GX expectation it maps to."""

    code: str
    severity: str
    entry: dict
    expectation: Any  # a great_expectations.expectations.Expectation


@dataclass(frozen=True)
class Suite:
    """A table's rules. ``row_count_rule`` is validated on the per-period counts frame, not the rows."""

    table: str
    description: str
    period_column: str
    rules: tuple[Rule, ...]
    row_count_rule: Rule | None = None


_ENTRY_KEYS = {
    "has_columns": {"columns"},
    "not_null": {"column"},
    "in_set": {"column", "values", "code_list", "separator"},
    "between": {"column", "min", "max"},
    "unique": {"column", "columns", "where"},
    "match_regex": {"column", "regex"},
    "ordered": {"earlier", "later"},
    "row_count_change": {"max_change"},
}
_COMMON_KEYS = {"rule", "expect", "mostly", "severity"}


@lru_cache(maxsize=None)
def _cin_code_lists() -> dict:
    return yaml.safe_load(CIN_CODE_LISTS.read_text(encoding="utf-8"))["code_lists"]


@lru_cache(maxsize=None)
def cin_code_list(name: str) -> tuple[str, ...]:
    """The codes of a code list in ``sources/schemas/cin_census.yaml`` (2026 lists), e.g. ``category_of_abuse``."""
    lists = _cin_code_lists()
    if name not in lists:
        raise KeyError(f"{CIN_CODE_LISTS.name} has no code list {name!r}")
    codes = lists[name]
    codes = codes.get("codes", codes) if isinstance(codes, dict) else codes
    return tuple(str(c) for c in codes)


def load_suite(table: str, directory: Path = SUITE_DIR) -> Suite:
    """Read ``<directory>/<table>.yaml`` and map every entry to its GX expectation (ValueError if malformed)."""
    path = Path(directory) / f"{table}.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if raw.get("table") != table:
        raise ValueError(f"{path.name}: 'table' must be {table!r}")
    rules, row_count_rule, seen = [], None, set()
    for entry in raw.get("expectations") or []:
        where = f"{path.name}, rule {entry.get('rule', '?')}"
        kind = entry.get("expect")
        if kind not in _ENTRY_KEYS:
            raise ValueError(f"{where}: unknown expect {kind!r}; use one of {', '.join(_ENTRY_KEYS)}")
        unknown = set(entry) - _COMMON_KEYS - _ENTRY_KEYS[kind]
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
        code = entry.get("rule")
        if not code or code in seen:
            raise ValueError(f"{where}: every rule needs its own rule code")
        seen.add(code)
        severity = entry.get("severity", "error")
        if severity not in SEVERITIES:
            raise ValueError(f"{where}: severity must be one of {SEVERITIES}")
        rule = Rule(code, severity, entry, _expectation(entry, code, severity, where))
        if kind == "row_count_change":
            row_count_rule = rule
        else:
            rules.append(rule)
    return Suite(table, str(raw.get("description", "")).strip(), raw.get("period_column", "period_end"),
                 tuple(rules), row_count_rule)


def has_suite(table: str, directory: Path = SUITE_DIR) -> bool:
    """Whether ``table`` (e.g. ``cp_list``) has a suite, ``<directory>/<table>.yaml``."""
    return (Path(directory) / f"{table}.yaml").is_file()


def load_suites(directory: Path = SUITE_DIR) -> dict[str, Suite]:
    """Every suite in ``directory``, by table name."""
    return {p.stem: load_suite(p.stem, directory) for p in sorted(Path(directory).glob("*.yaml"))}


def _values(entry: dict) -> list:
    return list(entry["values"]) if "values" in entry else list(cin_code_list(entry["code_list"]))


def _expectation(entry: dict, code: str, severity: str, where: str):
    """The GX expectation for one vocabulary entry, with the rule code, severity and a plain description."""
    E = _gx().expectations
    kind, col = entry["expect"], entry.get("column")
    common = {"meta": {"rule_code": code, "severity": severity, "expect": kind},
              "description": _describe(entry, code, severity)}
    mostly = {"mostly": float(entry["mostly"])} if "mostly" in entry else {}
    try:
        if kind == "has_columns":
            return E.ExpectTableColumnsToMatchSet(column_set=list(entry["columns"]), exact_match=False, **common)
        if kind == "not_null":
            return E.ExpectColumnValuesToNotBeNull(column=col, **mostly, **common)
        if kind == "in_set" and "separator" in entry:
            return E.ExpectColumnValuesToMatchRegex(column=col, regex=_list_regex(_values(entry), entry["separator"]),
                                                    **mostly, **common)
        if kind == "in_set":
            return E.ExpectColumnValuesToBeInSet(column=col, value_set=_values(entry), **mostly, **common)
        if kind == "between":
            return E.ExpectColumnValuesToBeBetween(column=col, min_value=entry.get("min"), max_value=entry.get("max"),
                                                   **mostly, **common)
        if kind == "match_regex":
            return E.ExpectColumnValuesToMatchRegex(column=col, regex=entry["regex"], **mostly, **common)
        if kind == "ordered":
            return E.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=entry["later"], column_B=entry["earlier"], or_equal=True,
                ignore_row_if="either_value_is_missing", **mostly, **common)
        if kind == "unique":
            condition = _row_condition(entry.get("where"))
            if "columns" in entry:
                return E.ExpectCompoundColumnsToBeUnique(column_list=list(entry["columns"]), **condition,
                                                         **mostly, **common)
            return E.ExpectColumnValuesToBeUnique(column=col, **condition, **mostly, **common)
        if kind == "row_count_change":
            x = float(entry["max_change"])
            return E.ExpectColumnValuesToBeBetween(column="change", min_value=1 - x, max_value=1 + x, **common)
    except (KeyError, TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        raise ValueError(f"{where}: {exc}") from exc
    raise AssertionError(kind)


def _row_condition(where: dict | None) -> dict:
    """``where: {is_duplicate: false}`` as a GX row condition (equality on each column, all must hold)."""
    if not where:
        return {}
    from great_expectations.expectations.row_conditions import Column

    parts = [Column(name) == value for name, value in where.items()]
    condition = parts[0]
    for part in parts[1:]:
        condition = condition & part
    return {"row_condition": condition}


def _list_regex(codes: list[str], separator: str) -> str:
    """A regex for one or more codes joined by ``separator`` (spaces around it allowed)."""
    one = "(?:" + "|".join(re.escape(c) for c in sorted(codes, key=len, reverse=True)) + ")"
    return rf"^{one}(?:\s*{re.escape(separator)}\s*{one})*$"


def _describe(entry: dict, code: str, severity: str) -> str:
    """Plain words for the Data Docs, e.g. 'GX-CPL-07 (error): child_pseudonym is never null'."""
    kind, col = entry["expect"], entry.get("column")
    if kind == "has_columns":
        text = "the table has the columns " + ", ".join(entry["columns"])
    elif kind == "not_null":
        text = f"{col} is never null"
    elif kind == "in_set":
        shown = (f"a code of the CIN list {entry['code_list']}" if "code_list" in entry
                 else "one of " + ", ".join(str(v) for v in entry["values"]))
        text = (f"{col} holds codes joined by '{entry['separator']}', each {shown}" if "separator" in entry
                else f"{col} is {shown}")
    elif kind == "between":
        low, high = entry.get("min"), entry.get("max")
        text = (f"{col} is between {low} and {high}" if low is not None and high is not None
                else f"{col} is at least {low}" if low is not None else f"{col} is at most {high}")
    elif kind == "match_regex":
        text = f"{col} matches {entry['regex']}"
    elif kind == "ordered":
        text = f"{entry['earlier']} is on or before {entry['later']} where both are given"
    elif kind == "unique":
        cols = entry.get("columns") or [col]
        text = f"({', '.join(cols)}) is unique" if len(cols) > 1 else f"{cols[0]} is unique"
        if entry.get("where"):
            text += " among rows where " + " and ".join(f"{k} = {v}" for k, v in entry["where"].items())
    else:
        text = (f"the rows of each period are within {100 * float(entry['max_change']):g} % of the previous "
                "period's (change = rows / previous rows)")
    if "mostly" in entry:
        text += f", in at least {100 * float(entry['mostly']):g} % of the values checked"
    return f"{code} ({severity}): {text}"


# --------------------------------------------------------------------------- validation


@dataclass
class TableValidation:
    """One table's validation.

    ``success``: every rule passed (warnings included); ``blocking``: an ``error`` rule failed.
    ``failed``: one dict per failed rule: rule_code, expectation (GX type), column, unexpected_count,
    unexpected_percent (of non-null values), severity, and ``error`` when GX could not evaluate the
    rule (e.g. a missing column). ``row_counts``: period, rows, previous_rows, change.
    ``results``: the GX results (rows; then row counts when evaluated), for :func:`build_data_docs`.
    """

    table: str
    success: bool
    evaluated: int
    failed: list[dict]
    results: list[ExpectationSuiteValidationResult] = field(repr=False, default_factory=list)
    row_counts: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    @property
    def blocking(self) -> bool:
        return any(f["severity"] == "error" for f in self.failed)


def validate_frames(frames: dict[str, pd.DataFrame],
                    previous_row_counts: dict[str, int | None] | None = None) -> list[TableValidation]:
    """Validate each table's frame against its suite, in one ephemeral GX context.

    ``frames``: table name (``cp_list``, ``cin_episode`` ...) -> its rows, for one or more periods.
    ``previous_row_counts``: table -> rows in the period before the earliest one in its frame (None or
    absent: no row-count comparison for that period). A table with no suite raises KeyError.
    """
    missing = sorted(t for t in frames if not has_suite(t))
    if missing:
        raise KeyError(f"no expectation suite for {', '.join(missing)} (add checks/expectations/<table>.yaml)")
    suites = {table: load_suite(table) for table in frames}
    previous_row_counts = previous_row_counts or {}
    context = _new_context()
    source = context.data_sources.add_pandas(DATASOURCE)
    out = []
    for table, frame in frames.items():
        suite = suites[table]
        counts = row_counts(frame, suite.period_column, previous_row_counts.get(table))
        run_name = _run_name(suite.period_column, counts["period"])
        results = [_run(context, source, table, [r.expectation for r in suite.rules], frame, run_name)]
        if suite.row_count_rule is not None and counts["change"].notna().any():
            results.append(_run(context, source, table + ROW_COUNTS_SUFFIX, [suite.row_count_rule.expectation],
                                counts, run_name))
        failed = sorted((_failure(r) for result in results for r in result.results if not r.success),
                        key=lambda f: f["rule_code"])
        out.append(TableValidation(table=table, success=all(r.success for r in results),
                                   evaluated=sum(len(r.results) for r in results), failed=failed,
                                   results=results, row_counts=counts))
    return out


def row_counts(frame: pd.DataFrame, period_column: str, previous: int | None) -> pd.DataFrame:
    """Rows per period (sorted), with the previous period's rows and change = rows / previous_rows.

    An empty frame is one row with no period and 0 rows, so a table that lost all its rows still
    compares with ``previous``.
    """
    if len(frame) and period_column in frame.columns:
        per = frame.groupby(period_column, dropna=False, sort=True).size()
        counts = pd.DataFrame({"period": per.index, "rows": per.to_numpy(dtype="int64")})
    elif len(frame):  # no period column (GX-...-01 reports it): all rows as one period
        counts = pd.DataFrame({"period": [None], "rows": [len(frame)]})
    else:
        counts = pd.DataFrame({"period": [None], "rows": [0]})
    prev = counts["rows"].shift(1).astype("float64")
    prev.iloc[0] = float("nan") if previous is None else float(previous)
    counts["previous_rows"] = prev
    # Float division: rows after 0 previous rows give inf (out of range), 0 after 0 gives NaN (skipped).
    counts["change"] = counts["rows"] / prev
    return counts


def _run(context, source, name: str, expectations: list, frame: pd.DataFrame, run_name: str):
    """Validate ``frame`` against ``expectations`` as suite/asset ``name``; value lists stripped from the result."""
    gx = _gx()
    from great_expectations.core.run_identifier import RunIdentifier

    batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("whole frame")
    suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=[e.copy() for e in expectations]))
    definition = context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))
    result = definition.run(batch_parameters={"dataframe": frame}, result_format=RESULT_FORMAT,
                            run_id=RunIdentifier(run_name=run_name, run_time=datetime.now(timezone.utc)))
    for r in result.results:
        for key in VALUE_KEYS:
            r.result.pop(key, None)
        for info in [r.exception_info or {}, *(r.exception_info or {}).values()]:
            if isinstance(info, dict) and "exception_traceback" in info:  # keep GX's message, not its traceback
                info["exception_traceback"] = ""
    return result


def _failure(r) -> dict:
    """A failed GX expectation result as a value-free dict (see :class:`TableValidation`)."""
    config, kw = r.expectation_config, r.expectation_config.kwargs
    columns = kw.get("column_list") or [c for c in (kw.get("column"), kw.get("column_B"), kw.get("column_A")) if c]
    if config.meta.get("expect") == "row_count_change":
        columns = ["rows per period"]
    failure = {
        "rule_code": config.meta.get("rule_code"),
        "expectation": config.type,
        "column": ", ".join(columns) if columns else None,
        "unexpected_count": r.result.get("unexpected_count"),
        "unexpected_percent": r.result.get("unexpected_percent"),
        "severity": config.meta.get("severity", "error"),
    }
    missing = ((r.result.get("details") or {}).get("mismatched") or {}).get("missing")
    if missing:  # has_columns: column names, not data
        failure["error"] = "missing columns: " + ", ".join(missing)
    if r.exception_info:  # e.g. a column that is not there: GX could not evaluate the rule
        infos = [r.exception_info, *(v for v in r.exception_info.values() if isinstance(v, dict))]
        messages = [i.get("exception_message") for i in infos if i.get("raised_exception")]
        if messages:
            failure["error"] = next((m for m in messages if m), "GX could not evaluate this rule")
    return failure


def _run_name(period_column: str, periods: pd.Series) -> str:
    """The run's name in Data Docs (and its folder): the period, or the first and last periods."""
    shown = [str(p)[:10] for p in periods if pd.notna(p)]
    if not shown:
        return f"{period_column}_none"
    return f"{period_column}_{shown[0]}" + (f"_to_{shown[-1]}" if len(shown) > 1 else "")


# --------------------------------------------------------------------------- data docs


def build_data_docs(validations: list[TableValidation], output_dir: Path) -> Path:
    """Render the given validations as GX Data Docs in ``output_dir``; returns ``output_dir/index.html``.

    The site shows exactly these validations: GX removes the pages of validations not given (so
    to keep several periods' pages in one site, pass all their validations together). Pages show
    each rule's code and description, counts and percentages, never data values (they were
    stripped from the results). GX's page template loads its stylesheets and scripts from public
    CDNs when the pages are opened in a browser; building them needs no network.
    """
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier, ValidationResultIdentifier)

    gx = _gx()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    context = _new_context()
    context.add_data_docs_site("neglect", {
        "class_name": "SiteBuilder", "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(output_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    suites_added: set[str] = set()
    for validation in validations:
        for result in validation.results:
            if result.suite_name not in suites_added:  # the suite's page: the rules as validated
                configurations = [r.expectation_config for r in result.results]
                context.suites.add(gx.ExpectationSuite(name=result.suite_name, expectations=configurations))
                suites_added.add(result.suite_name)
            key = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=result.suite_name),
                run_id=result.meta["run_id"], batch_identifier=f"{DATASOURCE}-{result.suite_name}")
            context.validation_results_store.store_validation_results(result, key)
    context.build_data_docs(site_names=["neglect"])
    return output_dir / "index.html"


# --------------------------------------------------------------------------- GX context


def _gx():
    import great_expectations

    return great_expectations


def preload_in_background() -> None:
    """Start importing GX (about 3 s) in a thread, e.g. while worker processes read files."""
    import threading

    threading.Thread(target=_gx, name="import-great-expectations", daemon=True).start()


def _new_context() -> "AbstractDataContext":
    """An ephemeral GX context: in-memory stores, no Data Docs site, analytics and progress bars off."""
    gx = _gx()
    from great_expectations.data_context.types.base import (
        DataContextConfig, InMemoryStoreBackendDefaults, ProgressBarsConfig)

    config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
                               analytics_enabled=False,
                               progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False))
    return gx.get_context(mode="ephemeral", project_config=config)
