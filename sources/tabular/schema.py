"""Tabular schemas: the YAML that describes an extract's columns, header matching and code maps."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from ..errors import SourceFileError
from ..schema import SCHEMA_DIR, ColumnSpec, SourceSchema, load_schema

CODE_MAP_DIR = SCHEMA_DIR / "code_maps"
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class TabularColumn:
    """A column of a tabular schema: the ``ColumnSpec`` plus the keys only tabular sources use."""

    spec: ColumnSpec
    synonyms: tuple[str, ...] = ()
    code_map: str | None = None  # name of a CSV under code_maps/
    separator: str | None = None  # type code_list: values separated by this
    identifier: bool = False  # never quote the value in a message
    keep: bool = True  # False: read (for duplicate detection) but not output
    on_invalid: str = "reject"  # nhs_number: "reject" or "flag" (keep the row, blank the value)

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class TabularSchema:
    base: SourceSchema
    columns: tuple[TabularColumn, ...]
    date_order: tuple[tuple[str, str], ...]  # (start, end): end before start is rejected
    not_after_extract: tuple[str, ...]  # dates that may not be after the extract date
    min_date: date
    duplicate_rows: str  # "reject" (keep the first copy) or "keep"

    @property
    def source(self) -> str:
        return self.base.source

    def column(self, name: str) -> TabularColumn:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


@lru_cache(maxsize=None)
def load_tabular_schema(name: str, directory: Path = SCHEMA_DIR) -> TabularSchema:
    """``load_schema`` plus the tabular keys (synonyms, code_map, separator, identifier, keep, rules).

    Cached: a schema is read once per process (it is frozen), not once per file.
    """
    base = load_schema(name, directory)
    raw = yaml.safe_load((directory / f"{name}.yaml").read_text(encoding="utf-8"))
    extra = {c["name"]: c for c in raw["columns"]}
    cols = []
    for spec in base.columns:
        c = extra[spec.name]
        cols.append(TabularColumn(
            spec=spec, synonyms=tuple(str(s) for s in c.get("synonyms") or ()), code_map=c.get("code_map"),
            separator=c.get("separator"), identifier=bool(c.get("identifier", False)),
            keep=bool(c.get("keep", True)), on_invalid=c.get("on_invalid", "reject")))
    rules = base.options.get("rules") or {}
    return TabularSchema(
        base=base, columns=tuple(cols),
        date_order=tuple(tuple(p) for p in rules.get("date_order", [])),
        not_after_extract=tuple(rules.get("not_after_extract", [])),
        min_date=pd.Timestamp(str(rules.get("min_date", "1900-01-01"))).date(),
        duplicate_rows=rules.get("duplicate_rows", "reject"),
    )


def normalise_header(text: str) -> str:
    """Lower case, punctuation to spaces, spaces collapsed: 'Was the Child Seen Alone?' -> 'was the child seen alone'."""
    text = str(text).replace("\ufeff", "").lower()
    text = re.sub(r"[^0-9a-z]+", " ", text)
    return text.strip()


def normalise_value(s: pd.Series) -> pd.Series:
    """Code values for matching: lower case, whitespace collapsed and trimmed."""
    return s.str.lower().str.replace(_WS, " ", regex=True).str.strip()


# Ofsted Annex A option prefixes: "a) WBRI", "p1) 5D: LA services", "(b) No", "a. Yes"
OPTION_PREFIX = re.compile(r"^\(?[a-z][0-9]?[).]\s*(?=\S)")


def without_option_prefix(s: pd.Series) -> pd.Series:
    """Normalised code values with an Annex A option prefix removed: 'a) wbri' -> 'wbri'."""
    return s.str.replace(OPTION_PREFIX, "", regex=True)


def map_codes(values: pd.Series, mapping: dict[str, str]) -> pd.Series:
    """Normalised values -> codes through a code map: the value as written first, then without its option
    prefix ("a) WBRI" -> WBRI when the map knows "WBRI"), so any code map accepts Annex A's lettered options."""
    code = values.map(mapping)
    missing = code.isna() & values.notna()
    if missing.any():
        code = code.where(~missing, without_option_prefix(values[missing]).map(mapping))
    return code


@lru_cache(maxsize=None)
def load_code_map(name: str, directory: Path = CODE_MAP_DIR) -> dict[str, str]:
    """A code map CSV (``value,code``) as {normalised value: code}. Lines starting '#' are comments."""
    path = directory / f"{name}.csv"
    text = path.read_text(encoding="utf-8-sig")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    frame = pd.read_csv(io.StringIO("\n".join(lines)), dtype=str, keep_default_na=False)
    if list(frame.columns[:2]) != ["value", "code"]:
        raise SourceFileError(path, "line 1 (header)", "a code map needs the columns value,code")
    keys = normalise_value(frame["value"].astype(str))
    out: dict[str, str] = {}
    for k, v in zip(keys, frame["code"].astype(str).str.strip()):
        if k in out and out[k] != v:
            raise SourceFileError(path, "value", f"'{k}' is mapped to both {out[k]} and {v}")
        out[k] = v
    return out
