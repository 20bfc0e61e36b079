"""The source registry: one declaration per source the pipeline can read.

Every source is one YAML file in this folder (``sources/registry/<name>.yaml``), and a
partnership can add its own in a folder named by the setting ``source_registry_dirs``.
Everything that needs to know the sources reads them from here: the Dagster assets and
their checks, the incoming-files sensor, ``neglect run``'s plan, the load audit
("not supplied" rows), the marts' "not available" markings and the README's source
table (``python -m sources.registry`` prints it). To add a source, follow
``docs/adding-a-source.md``.

Keys of a declaration
---------------------
``name``            the source: asset ``raw/<name>``, ``quality.*`` rows say ``source = <name>``
``label``           what an analyst calls it ("Child protection list (Ofsted Annex A list 7)")
``description``     a sentence or two: what one row is, who exports it
``partitioning``    ``quarter`` (files in ``<authority>/<quarter end>/``), ``census_year`` (files in
                    ``<authority>/<YYYY>-03-31/``, one return per collection year) or ``reference``
                    (files in ``reference/``, not partitioned)
``reader``          ``tabular`` (CSV or .xlsx read through the YAML schema ``schema``),
                    ``cin_census`` (DfE CIN census XML), or ``package.module:function`` taking
                    the file's path and returning a :class:`sources.tabular.TableRead`
``schema``          the YAML schema (``sources/schemas/<schema>.yaml``; a source declared in a
                    ``source_registry_dirs`` folder may keep it in ``schemas/`` beside its declaration)
``files``           file-name patterns (globs, case is ignored); for reference sources relative
                    to ``reference/`` (the first pattern that matches anything is used)
``recognise``       how a file whose name matches no source is recognised by its content:
                    ``header_columns`` (canonical columns of ``schema`` its header row must have)
                    or ``xml_root`` / ``xml_collection`` (root element, Header Collection)
``sheets``          for a list kept in a sheet of a workbook (Ofsted Annex A: "List 1" ... "List 11"
                    in one .xlsx): regular expressions for the sheet's name, lower-cased with its
                    punctuation turned into spaces (``'^list 7\b'``, ``'^l7$'``, ``'^cp$'``); see
                    :mod:`sources.xlsx`. Any workbook in a period folder with a sheet they match is
                    given to the source (one workbook can feed several sources, one sheet each); a
                    workbook without such a sheet leaves the source *not supplied* for the period
``tables``          the raw tables it writes (``raw.<table>``)
``shipped``         reference sources only: a copy kept in the repository (a path from the project
                    root, e.g. ``models/marts/reference/published/statistical_neighbours.csv``), read
                    when ``reference/`` has no file of the source: a file dropped there replaces it
``required``        true: a run without it fails with a message; false: a period without it is
                    recorded as *not supplied* and the figures it would feed as *not available*
``dfe_rules``       run the DfE-style validation rules (``checks/dfe_rules/``) on its rows
``geography``       its postcodes are turned into ward, LSOA and deprivation decile
``linkage``         ``child``, ``adult`` or absent: the kind of person its rows describe
``evidence_kinds``  the neglect evidence kinds (``models/marts/tier_definitions.yaml``) it can feed
``period_files``    how many files of the source one authority may send for one period: ``one``
                    (the default: a second file is an error, and neither is loaded, since which is
                    right cannot be guessed) or ``several`` (adult services send one file per
                    service, told apart by name; two files with the same content are still an error)
``evidence_columns`` for a kind only some files can feed: ``{kind: column}``, the schema column a file must
                    have for it (an Annex A list 4 shows neglect only with its assessment factors); a
                    period whose files all lack it leaves the kind *not available* ("supplied without ...")

This module imports no reader: a reader is imported when a file is read, so worker
processes stay cheap and a declaration can name a reader in a partnership's own package.
"""
from __future__ import annotations

import fnmatch
import importlib
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

REGISTRY_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = REGISTRY_DIR.parent.parent  # a declaration's ``shipped`` path is relative to it
SCHEMA_DIR = REGISTRY_DIR.parent / "schemas"
PARTITIONINGS = ("quarter", "census_year", "reference")
READER_KINDS = ("tabular", "cin_census")
LINKAGE_KINDS = ("child", "adult")
PERIOD_FILES = ("one", "several")
_KEYS = {"name", "label", "description", "partitioning", "reader", "schema", "files", "recognise", "tables",
         "required", "dfe_rules", "geography", "linkage", "evidence_kinds", "period_files", "sheets",
         "evidence_columns", "shipped"}


class RegistryError(ValueError):
    """A declaration is not usable; the message names the file and the key."""


@dataclass(frozen=True)
class Source:
    """One declared source (see the module docstring for the keys). Picklable: strings only."""

    name: str
    label: str
    description: str
    partitioning: str
    reader: str
    tables: tuple[str, ...]
    files: tuple[str, ...] = ()
    schema: str | None = None
    schema_dir: str = str(SCHEMA_DIR)
    header_columns: tuple[str, ...] = ()
    xml_root: str | None = None
    xml_collection: str | None = None
    required: bool = False
    dfe_rules: bool = False
    geography: bool = False
    linkage: str | None = None
    evidence_kinds: tuple[str, ...] = ()
    period_files: str = "one"
    evidence_columns: tuple[tuple[str, str], ...] = ()  # (kind, column): see the module docstring
    sheets: tuple[str, ...] = ()
    shipped: str | None = None  # a repository copy read when reference/ has none (see the module docstring)
    declared_in: str = ""

    @property
    def shipped_path(self) -> Path | None:
        """The shipped copy's path (None: the source has none)."""
        return PROJECT_ROOT / self.shipped if self.shipped else None

    @property
    def evidence_column(self) -> dict[str, str]:
        """{evidence kind: the column a file must have to feed it}."""
        return dict(self.evidence_columns)

    @property
    def asset_name(self) -> str:
        return f"raw/{self.name}"

    @property
    def partitioned(self) -> bool:
        return self.partitioning != "reference"

    def matches_name(self, file_name: str) -> bool:
        """True when ``file_name`` (a base name, or a path under reference/) matches a pattern."""
        name = file_name.lower()
        return any(fnmatch.fnmatchcase(name, pattern.lower()) for pattern in self.files)

    def read(self, path: Path, **context):
        """Read one file with this source's reader: a TableRead (CinCensusResult for the census).

        ``context``: ``extract_date`` and ``authority`` for tabular readers; ``la_code`` and
        ``expected_year`` for the CIN census. A source with ``sheets`` reads the sheet they choose.
        """
        if self.reader == "cin_census":
            from sources.cin_census import read_cin_census

            return read_cin_census(path, **context)
        if self.reader == "tabular":
            from sources.tabular import load_tabular_schema, read_extract

            schema = load_tabular_schema(self.schema, Path(self.schema_dir))
            return read_extract(path, schema, context.get("extract_date"), context.get("authority"),
                                sheets=self.sheets)
        return resolve(self.reader)(path, **context)


def resolve(reference: str):
    """``package.module:function`` -> the function (imported now)."""
    module, _, function = reference.partition(":")
    return getattr(importlib.import_module(module), function)


class Registry:
    """The declared sources, in declaration-file order (built-in folder first)."""

    def __init__(self, sources: list[Source]):
        self.sources = {s.name: s for s in sources}

    def __iter__(self):
        return iter(self.sources.values())

    def __getitem__(self, name: str) -> Source:
        return self.sources[name]

    def __contains__(self, name: str) -> bool:
        return name in self.sources

    def partitioned(self) -> list[Source]:
        """Sources read from authority folders (quarterly extracts and census returns)."""
        return [s for s in self if s.partitioned]

    def reference(self) -> list[Source]:
        return [s for s in self if not s.partitioned]

    def sources_of_kind(self, kind: str) -> list[str]:
        """Names of the sources that can feed evidence kind ``kind``."""
        return [s.name for s in self if kind in s.evidence_kinds]

    def markdown_table(self) -> str:
        """The README's source table (partitioned sources, then reference data)."""
        lines = ["| source | asset | partitions | files | warehouse tables | required | evidence it can feed |",
                 "|---|---|---|---|---|---|---|"]
        where = {"quarter": "quarter", "census_year": "census year", "reference": "—"}
        for s in self:
            files = ", ".join(f"`{'reference/' if s.partitioning == 'reference' else ''}{f}`" for f in s.files)
            if s.sheets:
                files += f"; or the sheet {sheet_label(s.sheets[0])} of a workbook"
            tables = ", ".join(f"`raw.{t}`" for t in s.tables)
            kinds = ", ".join(f"`{k}`" for k in s.evidence_kinds) or "—"
            lines.append(f"| {s.label} | `{s.asset_name}` | {where[s.partitioning]} | {files} | {tables} | "
                         f"{'yes' if s.required else 'no'} | {kinds} |")
        return "\n".join(lines)


def sheet_label(pattern: str) -> str:
    """A sheet-name pattern as an analyst reads it: '^list 7\\b' -> '"List 7"'."""
    text = re.sub(r"\\[bBsSdDwW]|[\^$?*+()|\[\]{}\\]", "", pattern).strip()
    return f'"{text[:1].upper()}{text[1:]}"'


def _declaration(path: Path) -> Source:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RegistryError(f"{path}: cannot be read as YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise RegistryError(f"{path}: expected a mapping of keys (name, label, partitioning, reader, tables ...)")

    def fail(key: str, problem: str):
        raise RegistryError(f"{path}: {key}: {problem}")

    unknown = set(raw) - _KEYS
    if unknown:
        fail(", ".join(sorted(unknown)), f"unknown key(s); known keys: {', '.join(sorted(_KEYS))}")
    for key in ("name", "label", "partitioning", "reader", "tables"):
        if not raw.get(key):
            fail(key, "missing")
    name = str(raw["name"])
    if not name.isidentifier() or name != name.lower():
        fail("name", f"'{name}' must be lower-case letters, digits and underscores")
    if raw["partitioning"] not in PARTITIONINGS:
        fail("partitioning", f"'{raw['partitioning']}' is not one of {', '.join(PARTITIONINGS)}")
    reader = str(raw["reader"])
    if reader not in READER_KINDS and ":" not in reader:
        fail("reader", f"'{reader}' must be {' or '.join(READER_KINDS)} or package.module:function")
    schema = raw.get("schema")
    schema_dir = SCHEMA_DIR
    if schema:
        # a partnership's own declaration keeps its schema in schemas/ beside it; built-ins in sources/schemas/
        own = path.parent / "schemas"
        schema_dir = own if path.parent != REGISTRY_DIR and (own / f"{schema}.yaml").exists() else SCHEMA_DIR
        if not (schema_dir / f"{schema}.yaml").exists():
            fail("schema", f"no schema file {schema}.yaml in {own} or {SCHEMA_DIR}")
    elif reader == "tabular":
        fail("schema", "a tabular source needs a schema")
    recognise = raw.get("recognise") or {}
    if raw["partitioning"] != "reference" and not raw.get("files") and not recognise:
        fail("files", "give file-name patterns or a recognise rule, or no file will ever be found")
    sheets = raw.get("sheets") or []
    if not isinstance(sheets, list) or not all(isinstance(p, str) for p in sheets):
        fail("sheets", "a list of regular expressions for sheet names, e.g. ['^list 7\\b', '^cp$']")
    for pattern in sheets:
        try:
            re.compile(pattern)
        except re.error as exc:
            fail("sheets", f"'{pattern}' is not a regular expression ({exc})")
    if sheets and reader != "tabular":
        fail("sheets", "only a tabular source reads a sheet of a workbook")
    columns = raw.get("evidence_columns") or {}
    if not isinstance(columns, dict) or set(columns) - set(raw.get("evidence_kinds") or ()):
        fail("evidence_columns", "a mapping {evidence kind: column} of kinds listed in evidence_kinds")
    linkage = raw.get("linkage")
    if linkage is not None and linkage not in LINKAGE_KINDS:
        fail("linkage", f"'{linkage}' is not one of {', '.join(LINKAGE_KINDS)}")
    period_files = raw.get("period_files", "one")
    if period_files not in PERIOD_FILES:
        fail("period_files", f"'{period_files}' is not one of {', '.join(PERIOD_FILES)}")
    shipped = raw.get("shipped")
    if shipped is not None and (raw["partitioning"] != "reference" or not (PROJECT_ROOT / str(shipped)).is_file()):
        fail("shipped", f"'{shipped}' must be a file under {PROJECT_ROOT}, for a reference source")
    return Source(
        name=name, label=str(raw["label"]), description=" ".join(str(raw.get("description", "")).split()),
        partitioning=raw["partitioning"], reader=reader, tables=tuple(str(t) for t in raw["tables"]),
        files=tuple(str(f) for f in raw.get("files") or ()), schema=str(schema) if schema else None,
        schema_dir=str(schema_dir), header_columns=tuple(str(c) for c in recognise.get("header_columns") or ()),
        xml_root=recognise.get("xml_root"), xml_collection=recognise.get("xml_collection"),
        required=bool(raw.get("required", False)), dfe_rules=bool(raw.get("dfe_rules", False)),
        geography=bool(raw.get("geography", False)), linkage=linkage,
        evidence_kinds=tuple(str(k) for k in raw.get("evidence_kinds") or ()), period_files=period_files,
        sheets=tuple(sheets), evidence_columns=tuple((str(k), str(v)) for k, v in columns.items()),
        shipped=str(shipped) if shipped else None, declared_in=str(path))


# built-in order: the census first, then the quarterly extracts, then reference data
_BUILT_IN_ORDER = ("cin_census", "cp_list", "early_help", "person_list", "adult_episodes", "adult_household_children",
                   "annex_a_early_help", "annex_a_referrals", "annex_a_assessments", "annex_a_section47",
                   "annex_a_children_in_need", "partner_health_visiting", "partner_school", "partner_police",
                   "partner_emergency_department", "service_activity", "ons_population", "ons_population_lsoa",
                   "census_ethnicity", "population_projections", "postcode_lookup", "deprivation", "ward_boundaries",
                   "la_codes", "published_cin_factors", "published_cp_duration", "published_cp_subsequent",
                   "published_rereferrals", "published_population", "statistical_neighbours")


@lru_cache(maxsize=8)
def load_registry(extra_dirs: tuple[str, ...] = ()) -> Registry:
    """The built-in declarations plus those in ``extra_dirs`` (setting ``source_registry_dirs``).

    A declaration in an extra folder with the name of a built-in one replaces it.
    """
    files = sorted(REGISTRY_DIR.glob("*.yaml"),
                   key=lambda p: (_BUILT_IN_ORDER.index(p.stem) if p.stem in _BUILT_IN_ORDER else 99, p.stem))
    sources = {s.name: s for s in map(_declaration, files)}
    for folder in extra_dirs:
        folder = Path(folder)
        if not folder.is_dir():
            raise RegistryError(f"{folder}: the source registry folder (setting source_registry_dirs) does not exist")
        for path in sorted(folder.glob("*.yaml")):
            source = _declaration(path)
            sources[source.name] = source
    return Registry(list(sources.values()))


def registry_dirs_from(value: str) -> tuple[str, ...]:
    """The setting ``source_registry_dirs`` (folders separated by the OS path separator) as a tuple."""
    return tuple(p for p in str(value or "").split(os.pathsep) if p.strip())

