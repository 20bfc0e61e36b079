"""The CIN census schema as data: ``sources/schemas/cin_census.yaml`` plus one file per yearly change.

:func:`load_cin_schema` reads the tables, columns and code lists of the newest collection
year from ``cin_census.yaml`` and then every ``<year>_<name>.diff.yml`` file in the folder
its ``years.changes`` names (``sources/schemas/cin/changes/``), sorted by year then name.
Each change file says what DfE changed, from which collection year and why (see the
README.md in that folder); the loader checks it against the schema and turns its entries
into the per-year items the reader applies (:meth:`CinSchema.codes_for_year`,
:meth:`CinSchema.element_year`). Dropping a new change file into the folder is enough
for the reader to use it.

The layout follows liia-tools-pipeline's ``*.diff.yml`` schema changes (one entry per
change with a ``type``, a ``description`` and a ``value``), with the base schema being the
newest year rather than the oldest.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from .schema import SCHEMA_DIR

TABLES = ("cin_child", "cin_disability", "cin_episode", "cin_assessment", "cin_assessment_factor",
          "cin_plan", "cin_section47", "cin_cp_plan", "cin_cp_review")
CHANGE_FILE = re.compile(r"^(\d{4})_[A-Za-z0-9_]+\.diff\.ya?ml$")
CHANGE_TYPES = ("add", "supersede", "rename", "note")
# libyaml's loader when PyYAML was built with it: the same result, 10x faster (22 ms -> 2 ms for
# cin_census.yaml, paid once per process by every reader of a census file)
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class _Column:
    name: str
    element: str
    type: str
    required: bool = False
    codes: str | None = None
    pattern: str | None = None
    min: int | None = None
    identifier: bool = False
    on_error: str = "null_and_flag"
    legacy: dict | None = None  # {element, codes}: an older element read into the same column


@dataclass
class _Table:
    name: str
    element: str
    parent: str | None
    path: tuple[str, ...]
    ordinal: str
    columns: list[_Column]
    keys: tuple[str, ...] = ()  # child_ordinal, ancestors' ordinals, own ordinal
    raw: list[tuple[str, str]] = field(default_factory=list)  # (raw field, element path) in row order
    required_children: tuple[str, ...] = ()
    date_order: list = field(default_factory=list)
    not_after_reference_date: list = field(default_factory=list)


@dataclass
class _CodeList:
    codes: tuple[str, ...]
    canonical: dict | None


@dataclass(frozen=True)
class ChangeFile:
    """One ``*.diff.yml`` file: a change DfE made from ``collection_year`` on."""
    file: str
    collection_year: int
    title: str
    why: str
    entries: tuple[dict, ...]  # as written: path, type, description, value


@dataclass
class CinSchema:
    tables: dict[str, _Table]
    code_lists: dict[str, _CodeList]
    first_year: int
    last_year: int
    changes: dict[int, list[dict]]  # collection year -> items (codes/added/superseded, element/replaces, note)
    root_element: str
    raw: dict
    change_files: tuple[ChangeFile, ...] = ()

    def codes_for_year(self, name: str, year: int) -> tuple[set, set, dict]:
        """(valid codes, superseded codes, code -> year added) for code list ``name`` in ``year``."""
        added_in: dict[str, int] = {}
        superseded: set[str] = set()
        for change_year, items in self.changes.items():
            for item in items:
                if item.get("codes") != name:
                    continue
                for code in item.get("added", []):
                    added_in[str(code)] = change_year
                if change_year <= year:
                    superseded.update(str(c) for c in item.get("superseded", []))
        valid = {c for c in self.code_lists[name].codes if added_in.get(c, 0) <= year}
        return valid, superseded, added_in

    def element_year(self, element: str) -> tuple[str, int] | None:
        """For an element that replaced another: (the replaced element, year of the change)."""
        for change_year, items in self.changes.items():
            for item in items:
                if item.get("element") == element and item.get("replaces"):
                    return item["replaces"], change_year
        return None


@lru_cache(maxsize=4)
def load_cin_schema(path: Path = SCHEMA_DIR / "cin_census.yaml") -> CinSchema:
    """The CIN census schema of ``path`` with the change files of the folder its ``years.changes`` names."""
    path = Path(path)
    raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    code_lists = {}
    for name, spec in raw["code_lists"].items():
        if isinstance(spec, dict) and "codes" in spec:
            codes = spec["codes"]
            canonical = {str(k): v for k, v in (spec.get("canonical") or {}).items()} or None
        else:
            codes, canonical = spec, None
        codes = tuple(str(c) for c in (codes.keys() if isinstance(codes, dict) else codes))
        code_lists[name] = _CodeList(codes=codes, canonical=canonical)
    tables: dict[str, _Table] = {}
    for name, spec in raw["tables"].items():
        columns = [_Column(name=c["name"], element=c["element"], type=c["type"], required=bool(c.get("required")),
                           codes=c.get("codes"), pattern=c.get("pattern"), min=c.get("min"),
                           identifier=bool(c.get("identifier")), on_error=c.get("on_error", "null_and_flag"),
                           legacy=c.get("legacy_element")) for c in spec["columns"]]
        parent = spec.get("parent")
        table_path = tuple(spec["path"].split("/")) if spec.get("path") else (spec["element"],)
        keys = (tables[parent].keys if parent else ()) + (spec["ordinal"],)
        table = _Table(name=name, element=spec["element"], parent=parent, path=table_path, ordinal=spec["ordinal"],
                       columns=columns, keys=keys, required_children=tuple(spec.get("required_children", [])),
                       date_order=[tuple(p) for p in spec.get("date_order", [])],
                       not_after_reference_date=list(spec.get("not_after_reference_date", [])))
        for c in columns:
            table.raw.append((c.name, c.element))
            if c.legacy:
                table.raw.append((c.name + "__legacy", c.legacy["element"]))
        tables[name] = table
    if tuple(tables) != TABLES:
        raise ValueError(f"{path.name} tables {tuple(tables)} differ from {TABLES}")
    years = raw["years"]
    first, last = int(years["first"]), int(years["last"])
    if "changes" not in years or not isinstance(years["changes"], str):
        raise ValueError(f"{path.name}: years.changes must name the folder of the *.diff.yml change files")
    change_files = load_change_files(path.parent / years["changes"])
    changes: dict[int, list[dict]] = {}
    for change in change_files:
        if change.collection_year <= first:
            raise ValueError(f"{change.file}: collection_year {change.collection_year} is not after years.first "
                             f"({first}); a change must start in a year the schema reads as changed")
        items = changes.setdefault(change.collection_year, [])
        for entry in change.entries:
            items.append(_apply_entry(change, entry, tables, code_lists))
        last = max(last, change.collection_year)
    return CinSchema(tables=tables, code_lists=code_lists, first_year=first, last_year=last, changes=changes,
                     root_element=raw.get("root_element", "Message"), raw=raw, change_files=tuple(change_files))


def load_change_files(folder: Path) -> list[ChangeFile]:
    """Every ``<year>_<name>.diff.yml`` in ``folder``, checked for shape, sorted by year then file name."""
    if not folder.is_dir():
        raise ValueError(f"the CIN census change folder {folder} does not exist")
    found = []
    for file in folder.iterdir():
        if not file.name.endswith((".diff.yml", ".diff.yaml")):
            continue
        name_match = CHANGE_FILE.match(file.name)
        if not name_match:
            raise ValueError(f"{file.name}: a change file is named <collection year>_<name>.diff.yml, "
                             "e.g. 2022_criminal_exploitation_24A.diff.yml")
        try:
            data = yaml.load(file.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
        except yaml.YAMLError as exc:
            raise ValueError(f"{file.name}: not valid YAML ({exc})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{file.name}: expected a mapping with collection_year, title, why and changes")
        missing = [k for k in ("collection_year", "title", "why", "changes") if not data.get(k)]
        if missing:
            raise ValueError(f"{file.name}: missing {', '.join(missing)}")
        year = int(name_match.group(1))
        if int(data["collection_year"]) != year:
            raise ValueError(f"{file.name}: collection_year {data['collection_year']} differs from the year "
                             f"{year} in the file name")
        entries = data["changes"]
        if not isinstance(entries, list):
            raise ValueError(f"{file.name}: changes must be a list of entries (path, type, description, value)")
        for entry in entries:
            if not isinstance(entry, dict) or not entry.get("path") or "value" not in entry:
                raise ValueError(f"{file.name}: each change needs a path, a type and a value; got {entry!r}")
            if entry.get("type") not in CHANGE_TYPES:
                raise ValueError(f"{file.name}: change type {entry.get('type')!r} at {entry['path']} is not one of "
                                 f"{', '.join(CHANGE_TYPES)}")
        found.append(ChangeFile(file=file.name, collection_year=year, title=str(data["title"]).strip(),
                                why=str(data["why"]).strip(), entries=tuple(entries)))
    return sorted(found, key=lambda c: (c.collection_year, c.file))


def _apply_entry(change: ChangeFile, entry: dict, tables: dict[str, _Table], code_lists: dict[str, _CodeList]) -> dict:
    """Check one change entry against the schema; return the reader's item for it."""
    where = f"{change.file}: {entry['type']} at {entry['path']}"
    kind, parts, value = entry["type"], entry["path"].split("."), entry["value"]
    note = entry.get("description") or change.title
    if kind in ("add", "supersede"):
        if len(parts) != 2 or parts[0] != "code_lists" or parts[1] not in code_lists:
            raise ValueError(f"{where}: the path must be code_lists.<name> of a code list in cin_census.yaml")
        name = parts[1]
        codes = [str(c) for c in (value.keys() if isinstance(value, dict) else value)]
        if not codes:
            raise ValueError(f"{where}: no codes given")
        known = code_lists[name].codes
        if kind == "add":
            new = tuple(c for c in codes if c not in known)
            if new:  # a code of a year after the base schema's: the list gains it
                code_lists[name] = _CodeList(codes=known + new, canonical=code_lists[name].canonical)
            return {"codes": name, "added": codes, "note": note, "file": change.file}
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise ValueError(f"{where}: {', '.join(unknown)} not in code list {name}")
        return {"codes": name, "superseded": codes, "note": note, "file": change.file}
    if kind == "rename":
        if len(parts) != 4 or parts[0] != "tables" or parts[2] != "columns" or parts[1] not in tables:
            raise ValueError(f"{where}: the path must be tables.<table>.columns.<column>")
        column = next((c for c in tables[parts[1]].columns if c.name == parts[3]), None)
        if column is None:
            raise ValueError(f"{where}: table {parts[1]} has no column {parts[3]}")
        if not isinstance(value, dict) or not value.get("from") or not value.get("to"):
            raise ValueError(f"{where}: value must be {{from: <old element>, to: <new element>}}")
        if column.element != value["to"] or not column.legacy or column.legacy["element"] != value["from"]:
            raise ValueError(f"{where}: column {parts[3]} must read element {value['to']} with legacy_element "
                             f"{value['from']} in cin_census.yaml")
        return {"element": value["to"], "replaces": value["from"], "note": note, "file": change.file}
    return {"path": entry["path"], "note": note, "value": value, "file": change.file}
