"""Read a DfE Children in Need (CIN) census XML file into tables, safely and streaming.

``read_cin_census(path, *, la_code=None, expected_year=None)`` returns a
:class:`CinCensusResult`: the ``header`` (the collection year and reference date used,
LEA), the ``header_findings`` (return-level problems of the Header, see
:mod:`sources.cin_census_header`), one DataFrame per module in ``tables``
(``cin_child``, ``cin_disability``, ``cin_episode``, ``cin_assessment``,
``cin_assessment_factor``, ``cin_plan``, ``cin_section47``, ``cin_cp_plan``,
``cin_cp_review``; one row per element occurrence), the ``rejects`` frame and
``children_read`` (the number of Child elements in the file).

The tables, their columns, code lists and the policy for bad values are data, in
``sources/schemas/cin_census.yaml``, and what DfE changed by collection year is one file
per change in ``sources/schemas/cin/changes/`` (loaded by :mod:`sources.cin_census_schema`);
this module only applies them. In short:

* Whole-file problems raise :class:`sources.errors.SourceFileError` naming the file and
  the position: empty file, a DOCTYPE or entity declaration (refused before parsing:
  external entities could read local files), not well-formed XML (lxml's line and
  column), a file cut short (truncated), a root element other than ``Message``, no
  Children or no Child, no collection year in the Header and none from the folder, a year
  the schema does not describe, an LEA that is another authority's.
* Header problems DfE validates past (Year and ReferenceDate disagreeing, a ReferenceDate
  missing or not 31 March, a missing or malformed LEA) are ``header_findings``; the
  children are read as the year :func:`sources.cin_census_header.resolve_header` chooses,
  and every date rule uses 31 March of that year.
* Row-level problems go to ``rejects`` (``source``, ``source_file``, ``table``,
  ``location``, ``source_line``, ``child_ordinal``, ``field``, ``rule``, ``action``,
  ``message``). ``location`` is the element path (``Child[3]/CINdetails[1]/CINreferralDate``);
  ``source_line`` is the line of the row's element (of the element itself for
  unexpected or repeated elements). ``action`` says what happened to the data:
  ``row_rejected`` (the row is not in its table), ``value_nulled`` (row kept, value
  null), ``flagged`` (row and value kept, or the element was absent), ``ignored`` (an
  element the schema does not know, or a second copy of a single element). Identifier
  values (LAchildID, UPN, dates of birth and death) never appear in a message; it gives
  the value's length instead.
* ``children_read == len(tables["cin_child"]) + (rejects.rule == "child_unusable").sum()``.
  A Child that repeats an earlier LAchildID is kept, marked ``is_duplicate`` (on every
  table) and flagged ``duplicate_child``.

Security: the prolog is checked before parsing and any DOCTYPE or ENTITY declaration
is refused; lxml then parses with ``resolve_entities=False, no_network=True,
load_dtd=False, huge_tree=False``. The file is opened by this module and handed to
lxml as a file object, so a path can never be taken for a URL.

Streaming: ``lxml.etree.iterparse`` reports the end of each ``Child``; the Child is
read into plain Python lists, then cleared with the siblings before it, so the XML tree
never grows whatever the file size. Every 20,000 children the collected rows are packed
into compact string columns. Validation and type conversion run once per column at
the end (vectorised pandas), and each output DataFrame is built once. About 25,000 Child
elements a second, 0.57 of a bare single-core iterparse touching every element's text
(``bench/cin_census_throughput.py``, 100,000 children); of ~4 CPU seconds, the tag-filtered
iterparse itself takes ~1.2, the walk ~2.0, packing rows into columns ~0.6, validation and
tables ~0.65.

Two cores: a return of 32 MB or more (about 32,000 children), read outside a pool worker, is split at
a ``</Child>`` a little past half way (this process starts parsing while the other starts up) and the second
part read at the same time in one spawned process, with the same parser; the parts are joined in file order
before validation, giving exactly the single read's tables and rejects (:mod:`sources.cin_census_split`;
``split=False`` reads in one process). On 100,000 children: 2.6 s wall against 3.5 in one process.

Modules: this one parses (:func:`read_cin_census`, :class:`_Parser`);
:mod:`sources.cin_census_prolog` checks the prolog and words syntax errors;
:mod:`sources.cin_census_tables` validates and builds the tables and rejects;
:mod:`sources.cin_census_header` and :mod:`sources.cin_census_schema` resolve the Header
and load the schema with its yearly changes; :mod:`sources.cin_census_split` splits a large return.
"""
from __future__ import annotations

import gc
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
from lxml import etree

from .cin_census_header import HEADER_FINDING_COLUMNS, CinCensusHeader, empty_findings, resolve_header  # noqa: F401
from .cin_census_prolog import PROLOG_LIMIT, _check_prolog, syntax_error  # noqa: F401 (re-exported)
from .cin_census_schema import TABLES, CinSchema, _Column, _Table, load_cin_schema  # noqa: F401 (re-exported)
from . import cin_census_split
from .cin_census_split import FIRST_END, PartReader, may_split, merge_parts, plan_split
from .cin_census_tables import (COMMON_COLUMNS, DATE_DTYPE, REJECT_COLUMNS, REJECT_DTYPES, SOURCE,  # noqa: F401
                                CinCensusResult, _build, _Parsed, _raw_frame)
from .errors import SourceFileError
from .limits import open_regular

COMPACT_EVERY = 20_000  # Child elements between conversions of the collected rows to compact frames
PARSER_OPTIONS = dict(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                      dtd_validation=False, attribute_defaults=False, remove_comments=True, remove_pis=True,
                      remove_blank_text=True)


# ----------------------------------------------------------------------------- reading

def read_cin_census(path: Path | str, *, la_code: str | None = None,
                    expected_year: int | None = None, split: bool | None = None) -> CinCensusResult:
    """Read one CIN census XML file. Raises SourceFileError if the file as a whole is unusable.

    ``la_code`` is the DfE 3-digit LA number the file is expected to belong to: it is
    used when the Header has no usable LEA, and a Header LEA that differs is an error.
    ``expected_year`` is the collection year of the folder the file sits in (a file in
    ``<authority>/2024-03-31/`` has 2024): it decides between a Year and a ReferenceDate
    that disagree, and is used when the Header gives no year. Header problems become
    ``result.header_findings`` (see :mod:`sources.cin_census_header`).

    ``split``: read the file in two parts on two cores (:mod:`sources.cin_census_split`); None (the
    default) does so for a file of ``SPLIT_BYTES`` or more read outside a pool worker. Same result either way.
    """
    path = Path(path)
    schema = load_cin_schema()
    fh = open_regular(path)  # never a named pipe or a folder (sources.limits)
    # Millions of small row lists would make the cyclic garbage collector rescan them
    # over and over (half the run time on a national file); none of them form cycles.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with fh:
            _check_prolog(path, fh, schema.root_element)
            fh.seek(0)
            if split is None:
                split = os.fstat(fh.fileno()).st_size >= cin_census_split.SPLIT_BYTES and may_split()
            parsed = _parse_split(path, schema) if split else None
            if parsed is None:
                parsed = _Parser(path, schema).parse(fh)
        header, findings = resolve_header(path, schema, parsed.header, la_code, expected_year)
        result = _build(path, schema, parsed, header)
        result.header_findings = findings
        return result
    finally:
        if gc_was_enabled:
            gc.enable()


def _parse_split(path: Path, schema: CinSchema) -> _Parsed | None:
    """The file parsed in two parts at once (this process and one spawned), joined; None when it cannot be split
    or either part fails (the caller then reads it whole, which gives the same rows or the file's error)."""
    plan = plan_split(path)
    if plan is None:
        return None
    # tests (SECOND_PART_SPAWNED False): both parts here, one after the other
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) \
        if cin_census_split.SECOND_PART_SPAWNED else None
    parsed = None
    try:
        second = pool.submit(_parse_second_part, path, plan) if pool else None
        with PartReader(path, 0, plan.cut, after=FIRST_END) as part:
            first = _Parser(path, schema).parse(part)
        parsed = merge_parts(first, second.result() if pool else _parse_second_part(path, plan))
    except Exception:  # noqa: BLE001 - a comment holding </Child>, a syntax error ...: the whole read says what
        parsed = None
    finally:
        if pool is not None:
            processes = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=parsed is not None, cancel_futures=True)
            for process in processes:
                if process.is_alive() and parsed is None:
                    process.kill()
                process.join(timeout=5)
    return parsed


def _parse_second_part(path: Path, plan) -> _Parsed:
    """The second part of a split file (run in the spawned process; child ordinals from 1, lines the file's)."""
    gc.disable()  # as in read_cin_census: millions of small lists, no cycles
    with PartReader(path, plan.cut, plan.size, before=plan.prefix) as part:
        return _Parser(path, load_cin_schema()).parse(part)


class _Parser:
    """One pass of iterparse over the file, collecting raw text into per-table row lists."""

    def __init__(self, path: Path, schema: CinSchema):
        self.path = path
        self.schema = schema
        self.rows: dict[str, list] = {name: [] for name in schema.tables}
        self.chunks: dict[str, list[pd.DataFrame]] = {name: [] for name in schema.tables}
        self.notes: list[tuple] = []
        self.header: dict = {}

    def _compile(self, ns: str) -> None:
        """Dispatch trees: tag -> raw field index (int) | subtree of a grouping element (dict) | table name (str)."""
        q = (lambda name: f"{{{ns}}}{name}") if ns else (lambda name: name)
        self.q = q
        self.dispatch: dict[str, dict] = {}
        self.self_text: dict[str, int | None] = {}
        self.blank: dict[str, list] = {}
        self.row_tags: dict[str, str] = {}
        for t in self.schema.tables.values():
            tree: dict = {}
            offset = len(t.keys) + 1  # keys, source_line, raw fields
            self.self_text[t.name] = None
            for i, (_, element) in enumerate(t.raw):
                if element == ".":
                    self.self_text[t.name] = offset + i
                    continue
                *groups, last = element.split("/")
                node = tree
                for g in groups:
                    node = node.setdefault(q(g), {})
                node[q(last)] = offset + i
            self.dispatch[t.name] = tree
            self.blank[t.name] = [None] * len(t.raw)
            self.row_tags[q(t.element)] = t.name
        for t in self.schema.tables.values():
            if t.parent is None:
                continue
            node = self.dispatch[t.parent]
            for g in t.path[:-1]:
                node = node.setdefault(q(g), {})
            node[q(t.path[-1])] = t.name

    def parse(self, fh) -> _Parsed:
        child_table = next(t.name for t in self.schema.tables.values() if t.parent is None)
        ordinal = 0
        children_closed = False
        header_seen = False
        compiled = False
        context = etree.iterparse(fh, events=("end",), tag=("{*}Header", "{*}Children", "{*}Child"), **PARSER_OPTIONS)
        try:
            for _, el in context:
                if not compiled:
                    root = el.getroottree().getroot()
                    ns = etree.QName(root).namespace or ""
                    self._compile(ns)
                    compiled = True
                    child_tag, children_tag, header_tag = self.q("Child"), self.q("Children"), self.q("Header")
                    read_row = self._make_reader()
                tag = el.tag
                if tag == child_tag:
                    parent = el.getparent()
                    if parent is None or parent.tag != children_tag:
                        raise SourceFileError(self.path, f"line {el.sourceline}", "a Child element outside "
                                              "Message/Children; the file does not follow the CIN census schema")
                    ordinal += 1
                    read_row(child_table, el, (ordinal,), ordinal)
                    if not ordinal % COMPACT_EVERY:
                        self._compact()
                    el.clear()
                    while el.getprevious() is not None:  # the siblings before it, first to last
                        first = parent[0]
                        if first.tag != child_tag:
                            self._unexpected(first, f"Children/{etree.QName(first).localname}", ordinal)
                        del parent[0]
                elif tag == children_tag:
                    children_closed = True
                    for extra in el:
                        if extra.tag != child_tag:
                            self._unexpected(extra, f"Children/{etree.QName(extra).localname}", ordinal)
                    el.clear()
                elif tag == header_tag and not header_seen:
                    header_seen = True
                    self.header = self._read_header(el)
                    el.clear()
        except etree.XMLSyntaxError as exc:
            raise syntax_error(self.path, fh, exc, ordinal, children_closed) from None
        if not children_closed:
            raise SourceFileError(self.path, "Message", "no Children element: the file holds no children's records")
        for extra in root:
            if isinstance(extra.tag, str) and extra.tag not in (header_tag, children_tag):
                self._unexpected(extra, f"Message/{etree.QName(extra).localname}", 0)
        if ordinal == 0:
            raise SourceFileError(self.path, "Message/Children", "Children holds no Child elements "
                                  "(the XSD requires at least one)")
        self._compact()
        frames = {name: (pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0])
                  for name, parts in self.chunks.items()}
        return _Parsed(frames=frames, notes=self.notes, header=self.header, children_read=ordinal)

    def _compact(self) -> None:
        """Move the rows read so far into compact raw frames (Python lists of str cost ~10x more memory)."""
        for name, rows in self.rows.items():
            self.chunks[name].append(_raw_frame(self.schema.tables[name], rows))
            rows.clear()  # in place: the reader's bound append stays valid

    def _make_reader(self):
        """The per-row reader, as closures over local names (this loop is the hot path)."""
        specs = {name: (self.dispatch[name], tuple(self.blank[name]), self.self_text[name], self.rows[name].append)
                 for name in self.schema.tables}
        unexpected, repeated = self._unexpected, self._repeated

        def read_row(name, el, keys, child_ordinal):
            tree, blank, self_index, append = specs[name]
            row = [*keys, el.sourceline, *blank]
            if self_index is not None:
                row[self_index] = el.text or ""
            if tree:
                walk(el, tree, row, keys, {}, child_ordinal)
            append(row)

        def walk(el, tree, row, keys, counters, child_ordinal):
            for sub in el:
                target = tree.get(sub.tag)
                if target.__class__ is int:  # a column: most elements
                    if row[target] is None:
                        row[target] = sub.text or ""
                    else:
                        repeated(sub, child_ordinal)
                elif target.__class__ is dict:  # a grouping element (ChildIdentifiers ...)
                    walk(sub, target, row, keys, counters, child_ordinal)
                elif target is None:
                    if isinstance(sub.tag, str):
                        unexpected(sub, None, child_ordinal)
                else:  # a row of a sub-table
                    n = counters[target] = counters.get(target, 0) + 1
                    read_row(target, sub, (*keys, n), child_ordinal)

        return read_row

    # Rare events: the element's path is worked out from the tree, which is intact until the Child is cleared.
    def _path(self, el, child_ordinal: int) -> str:
        parts = []
        node = el
        while node is not None:
            local = etree.QName(node).localname
            if local == "Child":
                parts.append(f"Child[{child_ordinal}]")
                break
            if node.tag in self.row_tags and node.getparent() is not None:
                index = list(node.getparent().iterchildren(node.tag)).index(node) + 1
                parts.append(f"{local}[{index}]")
            else:
                parts.append(local)
            node = node.getparent()
        return "/".join(reversed(parts))

    def _table_of(self, el) -> str:
        node = el.getparent()
        while node is not None and node.tag not in self.row_tags:
            node = node.getparent()
        return self.row_tags.get(node.tag, "cin_child") if node is not None else "cin_child"

    def _unexpected(self, el, location: str | None, child_ordinal: int) -> None:
        name = etree.QName(el).localname
        if location is None:
            location = self._path(el, child_ordinal)
            table = self._table_of(el)
        else:
            table = "cin_child"
        self.notes.append((table, child_ordinal or None, location, el.sourceline, name, "unexpected_element", "ignored",
                           f"element <{name}> is not in the CIN census schema here; ignored"))

    def _repeated(self, el, child_ordinal: int) -> None:
        name = etree.QName(el).localname
        self.notes.append((self._table_of(el), child_ordinal, self._path(el, child_ordinal), el.sourceline, name,
                           "repeated_element", "ignored",
                           f"<{name}> appears more than once where the schema allows one; the first is used"))

    def _read_header(self, el) -> dict:
        """The Header's texts (stripped, blank as None) and the lines of the elements the header rules point at."""
        q = self.q
        out = {"line": el.sourceline}

        def text(key, *names):
            node = el.find("/".join(q(n) for n in names))
            if node is not None:
                out[key + "_line"] = node.sourceline
            if node is None or node.text is None or not node.text.strip():
                return None
            return node.text.strip()

        details, source = el.find(q("CollectionDetails")), el.find(q("Source"))
        out["collection_details_line"] = details.sourceline if details is not None else None
        out["source_element_line"] = source.sourceline if source is not None else None
        out.update({
            "collection": text("collection", "CollectionDetails", "Collection"),
            "year": text("year", "CollectionDetails", "Year"),
            "reference_date": text("reference_date", "CollectionDetails", "ReferenceDate"),
            "source_level": text("source_level", "Source", "SourceLevel"),
            "lea": text("lea", "Source", "LEA"),
            "software_code": text("software_code", "Source", "SoftwareCode"),
            "release": text("release", "Source", "Release"),
            "serial_no": text("serial_no", "Source", "SerialNo"),
            "date_time": text("date_time", "Source", "DateTime")})
        return out
