"""Load a source's YAML schema from ``sources/schemas/<name>.yaml``.

A schema lists the canonical columns of a source, the regular expression a file's
header must match for each, its type and the rules a value must meet. Readers use
it to find columns whatever their vintage-specific header, and to validate rows.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    header: re.Pattern
    type: str = "string"  # "string" or "integer"
    required: bool = False
    pattern: re.Pattern | None = None
    allowed: tuple | None = None
    min: int | None = None
    max: int | None = None
    aliases: dict[str, str] = field(default_factory=dict)  # lower-cased alias -> canonical text
    header_group: str | None = None
    thousands_separator: str | None = None


@dataclass(frozen=True)
class SourceSchema:
    source: str
    description: str
    file_glob: str
    encodings: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    output_columns: tuple[str, ...]
    options: dict  # any further top-level keys (e.g. keep_ages)

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def load_schema(name: str, directory: Path = SCHEMA_DIR) -> SourceSchema:
    path = directory / f"{name}.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    columns = []
    for c in raw["columns"]:
        columns.append(ColumnSpec(
            name=c["name"],
            header=re.compile(c["header"], re.IGNORECASE),
            type=c.get("type", "string"),
            required=bool(c.get("required", False)),
            pattern=re.compile(c["pattern"]) if c.get("pattern") else None,
            allowed=tuple(c["allowed"]) if c.get("allowed") is not None else None,
            min=c.get("min"),
            max=c.get("max"),
            aliases={str(k).lower(): str(v) for k, v in (c.get("aliases") or {}).items()},
            header_group=c.get("header_group"),
            thousands_separator=c.get("thousands_separator"),
        ))
    known = {"source", "description", "file_glob", "encodings", "columns", "output_columns"}
    return SourceSchema(
        source=raw["source"],
        description=raw.get("description", ""),
        file_glob=raw.get("file_glob", "*.csv"),
        encodings=tuple(raw.get("encodings", ["utf-8-sig", "cp1252"])),
        columns=tuple(columns),
        output_columns=tuple(raw.get("output_columns", [c.name for c in columns])),
        options={k: v for k, v in raw.items() if k not in known},
    )
