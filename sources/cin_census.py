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
the end (vectorised pandas), and each output DataFrame is built once. About 20,000-27,000
Child elements a second on the synthetic files (measured with a 110,000-child file).
"""
from __future__ import annotations

import gc
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from lxml import etree

try:  # pandas' own string backend; used here for speed when present, not required
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError:  # pragma: no cover - exercised only without pyarrow
    pa = pc = None

from .cin_census_header import HEADER_FINDING_COLUMNS, CinCensusHeader, empty_findings, resolve_header  # noqa: F401
from .cin_census_schema import TABLES, CinSchema, _Column, _Table, load_cin_schema  # noqa: F401 (re-exported)
from .errors import SourceFileError
from .limits import open_regular

SOURCE = "cin_census"
COMMON_COLUMNS = ("source_file", "la_code", "collection_year", "child_ordinal", "la_child_id", "is_duplicate",
                  "source_location", "source_line")
REJECT_COLUMNS = ("source", "source_file", "table", "location", "source_line", "child_ordinal", "field", "rule",
                  "action", "message")
REJECT_DTYPES = {"source": "string", "source_file": "string", "table": "string", "location": "string",
                 "source_line": "Int64", "child_ordinal": "Int64", "field": "string", "rule": "string",
                 "action": "string", "message": "string"}
DATE_DTYPE = "datetime64[s]"
COMPACT_EVERY = 20_000  # Child elements between conversions of the collected rows to compact frames
PROLOG_LIMIT = 4 * 1024 * 1024  # bytes of comments/PIs allowed before the root element
PARSER_OPTIONS = dict(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                      dtd_validation=False, attribute_defaults=False, remove_comments=True, remove_pis=True,
                      remove_blank_text=True)

_DATE_SHAPE = r"\d{4}-\d{2}-\d{2}"
_TIMEZONE = r"(?:Z|[+-]\d{2}:\d{2})$"
_INTEGER = r"[+-]?\d+"
_LXML_POSITION = re.compile(r",\s*line \d+, column \d+\s*$")
# libxml2's messages for the usual hand-editing slips, in words an analyst can act on
_PLAIN_XML_ERRORS = (
    (re.compile(r"xmlParseEntityRef: no name|EntityRef: expecting ';'"),
     "a bare '&' in the text; expected an ampersand to be written &amp;"),
    (re.compile(r"Opening and ending tag mismatch: (\S+) line \d+ and (\S+)"),
     r"the closing tag </\2> does not match the open element <\1>; expected </\1>"),
    (re.compile(r"StartTag: invalid element name"),
     "a '<' that does not start an element; expected a less-than sign to be written &lt;"),
    (re.compile(r"Entity '(\w+)' not defined"),
     r"the entity &\1; is not defined; expected an ampersand to be written &amp;"),
    (re.compile(r"Excessive depth in document"),
     "elements nested more than 256 deep, which no CIN census return does; expected the CIN census layout"),
    (re.compile(r"Text node too long"),
     "a text value longer than 10 MB, which no CIN census item is; expected the CIN census layout"),
)


# ----------------------------------------------------------------------------- results

@dataclass
class CinCensusResult:
    source_file: str
    header: CinCensusHeader
    tables: dict[str, pd.DataFrame]
    rejects: pd.DataFrame
    children_read: int
    header_findings: pd.DataFrame = field(default_factory=empty_findings)  # HEADER_FINDING_COLUMNS

    @property
    def children_rejected(self) -> int:
        """Child elements left out of cin_child (rule ``child_unusable``)."""
        return int((self.rejects["rule"] == "child_unusable").sum())


# ----------------------------------------------------------------------------- reading

def read_cin_census(path: Path | str, *, la_code: str | None = None,
                    expected_year: int | None = None) -> CinCensusResult:
    """Read one CIN census XML file. Raises SourceFileError if the file as a whole is unusable.

    ``la_code`` is the DfE 3-digit LA number the file is expected to belong to: it is
    used when the Header has no usable LEA, and a Header LEA that differs is an error.
    ``expected_year`` is the collection year of the folder the file sits in (a file in
    ``<authority>/2024-03-31/`` has 2024): it decides between a Year and a ReferenceDate
    that disagree, and is used when the Header gives no year. Header problems become
    ``result.header_findings`` (see :mod:`sources.cin_census_header`).
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
            parsed = _Parser(path, schema).parse(fh)
        header, findings = resolve_header(path, schema, parsed.header, la_code, expected_year)
        result = _build(path, schema, parsed, header)
        result.header_findings = findings
        return result
    finally:
        if gc_was_enabled:
            gc.enable()


def _check_prolog(path: Path, fh, root_element: str) -> None:
    """Refuse empty files, DOCTYPE/ENTITY declarations and a wrong root element, before parsing."""
    data = fh.read(65536)
    if not data.strip():
        if not data or not fh.read(1):
            raise SourceFileError(path, "line 1", "the file is empty")
    while True:
        text = _decode_head(data)
        result = _scan_prolog(text)
        if result is not None or len(data) >= PROLOG_LIMIT:
            break
        more = fh.read(65536)
        if not more:
            break
        data += more
    if result is None:
        if len(data) >= PROLOG_LIMIT:
            raise SourceFileError(path, "line 1", f"no root element in the first {PROLOG_LIMIT // 1048576} MB")
        if not _decode_head(data).strip(" \t\r\n\ufeff"):
            raise SourceFileError(path, "line 1", "the file is empty")
        line = _decode_head(data).count("\n") + 1
        raise SourceFileError(path, f"line {line}", f"no root element: the file ends before <{root_element}> "
                              "(it holds only an XML declaration or comments)")
    kind, pos, name = result
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    if kind == "doctype":
        raise SourceFileError(path, f"line {line}", "DOCTYPE declarations are not allowed (external entities could "
                              "read local files); remove the DOCTYPE")
    if kind == "declaration":
        raise SourceFileError(path, f"line {line}", f"'<!{name}' declarations are not allowed (entities could read "
                              "local files); remove it")
    if kind == "root" and name.rpartition(":")[2] != root_element:
        raise SourceFileError(path, f"line {line}, column {column}", f"the root element is <{name}>, expected "
                              f"<{root_element}>: this is not a CIN census XML file")
    # kind == "text": content before the first element; lxml reports it with its position.


def _decode_head(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    if data[:4] == b"<\x00?\x00":
        return data.decode("utf-16-le", errors="replace")
    if data[:4] == b"\x00<\x00?":
        return data.decode("utf-16-be", errors="replace")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("latin-1")  # markup is ASCII; enough to find the prolog's tokens


_NAME = re.compile(r"[^\s/>!?<]+")


def _scan_prolog(text: str):
    """Walk the prolog. Returns (kind, position, name) or None if more text is needed."""
    pos, n = 0, len(text)
    while True:
        while pos < n and text[pos] in " \t\r\n\ufeff":
            pos += 1
        if pos >= n:
            return None
        if text[pos] != "<":
            return ("text", pos, "")
        if text.startswith("<?", pos):
            end = text.find("?>", pos)
            if end < 0:
                return None
            pos = end + 2
        elif text.startswith("<!--", pos):
            end = text.find("-->", pos)
            if end < 0:
                return None
            pos = end + 3
        elif text.startswith("<!", pos):
            word = _NAME.match(text, pos + 2)
            word = word.group(0) if word else ""
            if word.upper() == "DOCTYPE":
                return ("doctype", pos, word)
            if pos + 2 + len(word) >= n and len(word) < 8:
                return None
            return ("declaration", pos, word)
        else:
            name = _NAME.match(text, pos + 1)
            if name is None or pos + 1 + len(name.group(0)) >= n:
                return None if pos + 200 >= n else ("text", pos, "")
            return ("root", pos, name.group(0))


@dataclass
class _Parsed:
    frames: dict[str, pd.DataFrame]  # raw text per table (strings, stripped, blank as missing)
    notes: list[tuple]  # (table, child_ordinal, location, line, field, rule, action, message)
    header: dict
    children_read: int


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
                    while el.getprevious() is not None:
                        prev = el.getprevious()
                        if prev.tag != child_tag:
                            self._unexpected(prev, f"Children/{etree.QName(prev).localname}", ordinal)
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
            raise self._syntax_error(fh, exc, ordinal, children_closed) from None
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

    def _syntax_error(self, fh, exc: etree.XMLSyntaxError, children: int, children_closed: bool) -> SourceFileError:
        line, column = (exc.position if exc.position else (exc.lineno or 0, 0))
        message = exc.msg or str(exc)
        if not line:  # some errors (an undeclared entity) reach the exception only through lxml's error log
            last = exc.error_log.last_error
            if last is not None and last.line:
                line, column, message = last.line, last.column, last.message
        message = _LXML_POSITION.sub("", message).strip()
        where = f"line {line}, column {column}"
        end_line, end_column = _end_position(fh)
        at_end = (line, column) >= (end_line, end_column - 1) or message.startswith("Premature end of data")
        if at_end:
            if children_closed:
                inside = "after the Children element, before the end of Message"
            elif children:
                inside = f"inside Children after {children} complete Child element{'s' if children != 1 else ''}"
            else:
                inside = "before the first complete Child element"
            return SourceFileError(self.path, where, f"the file is truncated: it ends {inside} ({message})")
        for pattern, plain in _PLAIN_XML_ERRORS:
            found = pattern.search(message)
            if found:
                message = found.expand(plain)
                break
        return SourceFileError(self.path, where, f"not well-formed XML: {message}")


def _end_position(fh) -> tuple[int, int]:
    """(line, column) just after the last non-blank character of the file (1-based, bytes)."""
    fh.seek(0)
    newlines = 0
    trailing = 0  # newlines after the last non-whitespace byte seen so far
    last = b""  # text after the last newline before that byte
    while True:
        chunk = fh.read(1 << 20)
        if not chunk:
            break
        stripped = chunk.rstrip(b" \t\r\n")
        if stripped:
            newlines += trailing + stripped.count(b"\n")
            trailing = chunk.count(b"\n", len(stripped))
            cut = stripped.rfind(b"\n")
            last = stripped[cut + 1:] if cut >= 0 else last + stripped
        else:
            trailing += chunk.count(b"\n")
    return newlines + 1, len(last) + 1


# ----------------------------------------------------------------------------- validation and tables

class _Issues:
    """Reject rows, collected as column arrays per problem and concatenated once.

    ``message`` is a string, or a function of the failing rows' mask returning one
    message per failing row, so messages are only built for rows that fail.
    """

    def __init__(self, file: str):
        self.file = file
        self.parts: list[pd.DataFrame] = []

    def add(self, table: str, frame: pd.DataFrame, mask, field: str, element: str, rule: str, action: str, message):
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        location = frame["_location"].to_numpy(dtype=object)[mask]
        if element not in (".", ""):
            location = location + ("/" + element)
        if callable(message):
            message = np.asarray(pd.Series(message(mask)).astype(object), dtype=object)
        self.parts.append(pd.DataFrame({
            "source": SOURCE, "source_file": self.file, "table": table, "location": location,
            "source_line": frame["source_line"].to_numpy()[mask], "child_ordinal": frame["child_ordinal"].to_numpy()[mask],
            "field": field, "rule": rule, "action": action, "message": message}))

    def add_notes(self, notes: list[tuple]) -> None:
        if notes:
            cols = list(zip(*notes))
            self.parts.append(pd.DataFrame({
                "source": SOURCE, "source_file": self.file, "table": cols[0], "location": cols[2],
                "source_line": cols[3], "child_ordinal": cols[1], "field": cols[4], "rule": cols[5],
                "action": cols[6], "message": cols[7]}))

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame({c: pd.Series(dtype=d) for c, d in REJECT_DTYPES.items()})
        out = pd.concat(self.parts, ignore_index=True).astype(REJECT_DTYPES)
        return out.sort_values(["child_ordinal", "source_line"], kind="stable", na_position="first").reset_index(drop=True)


def _strings(values) -> pd.Series:
    """Raw element texts (str or None) to a string Series: stripped, blank as missing."""
    if pa is None:
        s = pd.Series(pd.array(list(values), dtype="string")).str.strip()
        return s.mask(s == "")
    arr = pc.utf8_trim_whitespace(pa.array(values, type=pa.string()))
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    return pd.Series(pd.array(arr, dtype="string"))


def _raw_frame(table: _Table, rows: list) -> pd.DataFrame:
    names = [*table.keys, "source_line", *(r for r, _ in table.raw)]
    columns = list(zip(*rows)) if rows else [()] * len(names)
    data = {}
    for i, name in enumerate(names):
        if i <= len(table.keys):
            data[name] = np.asarray(columns[i], dtype=np.int64)
        else:
            data[name] = _strings(columns[i])
    return pd.DataFrame(data)


def _locations(schema: CinSchema, table: _Table, frame: pd.DataFrame) -> np.ndarray:
    """Element paths such as Child[12]/CINdetails[2]/Assessments[1], one per row (object array)."""
    chain = []
    t = table
    while t is not None:
        chain.append(t)
        t = schema.tables[t.parent] if t.parent else None
    chain.reverse()
    if frame.empty:
        return np.zeros(0, dtype=object)
    parts: list = [f"{chain[0].element}["]
    for i, t in enumerate(chain):
        if i:
            groups = "/".join(t.path[:-1])
            parts.append("]/" + (groups + "/" if groups else "") + t.path[-1] + "[")
        parts.append(frame[t.ordinal].to_numpy())
    parts.append("]")
    if pa is None:
        out = pd.Series("", index=frame.index, dtype=object)
        for part in parts:
            out = out + (part if isinstance(part, str) else pd.Series(part, index=frame.index).astype(str).astype(object))
        return out.to_numpy(dtype=object)
    parts = [p if isinstance(p, str) else pc.cast(pa.array(p), pa.string()) for p in parts]
    return np.asarray(pc.binary_join_element_wise(*parts, "").to_numpy(zero_copy_only=False), dtype=object)


def _element_name(element: str, table: _Table) -> str:
    return table.element if element == "." else element.rpartition("/")[2]


def _shown(values: pd.Series, identifier: bool) -> pd.Series:
    """How a bad value appears in a message: quoted (cut to 20 characters) or, for identifiers, only its length."""
    if identifier:
        return "value of length " + values.str.len().astype("Int64").astype(str)
    return "'" + values.str.slice(0, 20) + "'"


def _values_message(s: pd.Series, identifier: bool, before: str, after: str):
    """A lazy message: before + shown value + after, for the failing rows only."""
    def build(mask):
        shown = _shown(s[mask], identifier)
        after_part = after[mask] if isinstance(after, pd.Series) else after
        return (before + shown + after_part).to_numpy(dtype=object)
    return build


def _validate_column(issues: _Issues, schema: CinSchema, year: int, table: _Table, frame: pd.DataFrame,
                     column: _Column, rejected: np.ndarray) -> pd.Series:
    """Parse one column; record its problems; return the output values (null where nulled)."""
    if column.legacy:
        return _validate_legacy_pair(issues, schema, year, table, frame, column)
    s = frame[column.name]
    present = s.notna().to_numpy()
    element = _element_name(column.element, table)
    action = "row_rejected" if column.on_error in ("reject_row", "reject_child") else "value_nulled"

    def bad(mask, rule, message):
        mask = np.asarray(mask, dtype=bool)
        issues.add(table.name, frame, mask, column.name, column.element, rule, action, message)
        if column.on_error == "reject_row":
            rejected[mask] = True
        return mask

    if column.required:
        missing = ~present
        issues.add(table.name, frame, missing, column.name, column.element, "required_missing",
                   "row_rejected" if column.on_error == "reject_row" else "flagged",
                   f"{element} is missing or blank (required)")
        if column.on_error == "reject_row":
            rejected[missing] = True

    if column.type == "string":
        if not column.pattern:
            return s
        ok = s.str.fullmatch(column.pattern).fillna(False).to_numpy(dtype=bool)
        failed = bad(present & ~ok, "pattern",
                     _values_message(s, column.identifier, element + ": ", f" not matching pattern {column.pattern}"))
        return s.mask(failed)

    if column.type == "date":
        text = s.str.replace(_TIMEZONE, "", regex=True) if (s.str.len() > 10).any() else s
        shape = text.str.fullmatch(_DATE_SHAPE).fillna(False).to_numpy(dtype=bool)
        dates = pd.to_datetime(text.where(shape).astype(object), format="%Y-%m-%d", errors="coerce")
        failed = bad(present & (~shape | dates.isna().to_numpy()), "invalid_date",
                     _values_message(s, column.identifier, element + ": ", " is not a date (YYYY-MM-DD)"))
        return dates.mask(failed).astype(DATE_DTYPE)

    if column.type == "integer":
        ok = s.str.fullmatch(_INTEGER).fillna(False).to_numpy(dtype=bool)
        failed = bad(present & ~ok, "not_integer",
                     _values_message(s, column.identifier, element + ": ", " is not a whole number"))
        values = pd.to_numeric(s.where(ok).astype(object), errors="coerce").astype("Int64")
        if column.min is not None:
            low = (values < column.min).fillna(False).to_numpy(dtype=bool)
            failed |= bad(low, "negative" if column.min == 0 else "below_minimum",
                          _values_message(s, column.identifier, element + ": ",
                                          " is negative" if column.min == 0 else f" is below {column.min}"))
        return values.mask(failed)

    return _check_codes(issues, schema, year, table, frame, column, s, present, column.codes, column.element, bad)


def _check_codes(issues, schema, year, table, frame, column, s, present, codes_name, element_path, bad):
    """Codes: known in the list, in use in the file's year, superseded (flag); canonical values out."""
    element = element_path.rpartition("/")[2] if element_path != "." else table.element
    code_list = schema.code_lists[codes_name]
    valid, superseded, added_in = schema.codes_for_year(codes_name, year)
    known = s.isin(code_list.codes).fillna(False).to_numpy(dtype=bool)
    in_year = s.isin(valid).fillna(False).to_numpy(dtype=bool)
    unknown = bad(present & ~known, "unknown_code",
                  _values_message(s, column.identifier, element + ": ", f" is not in the {codes_name} code list"))
    later = present & known & ~in_year
    if later.any():
        since = s.map(lambda c: str(added_in[c]) if c in added_in else "?").astype("string")
        bad(later, "code_not_in_year",
            _values_message(s, column.identifier, element + ": ",
                            f" is not in use in collection year {year} (added in " + since + ")"))
    old = present & s.isin(superseded).fillna(False).to_numpy(dtype=bool)
    issues.add(table.name, frame, old, column.name, element_path, "code_superseded", "flagged",
               _values_message(s, column.identifier, element + ": ",
                               f" is superseded by collection year {year} (DfE queries it); kept"))
    values = s.mask(unknown | later)
    if code_list.canonical:
        mapped = values.astype(object).map(code_list.canonical)
        values = mapped.astype("boolean") if column.type == "boolean" else mapped.astype("string")
    elif column.type == "boolean":
        raise ValueError(f"code list {codes_name} has no canonical true/false mapping")
    return values


def _validate_legacy_pair(issues, schema, year, table, frame, column):
    """A column read from its current element or an older one (Sex, or GenderCurrent up to 2023-24)."""
    current, legacy = frame[column.name], frame[column.name + "__legacy"]
    has_current, has_legacy = current.notna().to_numpy(), legacy.notna().to_numpy()
    legacy_used = has_legacy & ~has_current
    element, legacy_element = _element_name(column.element, table), column.legacy["element"].rpartition("/")[2]
    replaced = schema.element_year(column.element)
    change_year = replaced[1] if replaced else schema.first_year
    expected = column.element if year >= change_year else column.legacy["element"]

    def bad_for(path):
        def bad(mask, rule, message):
            mask = np.asarray(mask, dtype=bool)
            issues.add(table.name, frame, mask, column.name, path, rule, "value_nulled", message)
            return mask
        return bad

    if column.required:
        issues.add(table.name, frame, ~has_current & ~has_legacy, column.name, expected, "required_missing", "flagged",
                   f"{expected.rpartition('/')[2]} is missing or blank (required)")
    cur_values = _check_codes(issues, schema, year, table, frame, column, current, has_current, column.codes,
                              column.element, bad_for(column.element))
    leg_values = _check_codes(issues, schema, year, table, frame, column, legacy.where(pd.Series(legacy_used)),
                              legacy_used, column.legacy["codes"], column.legacy["element"],
                              bad_for(column.legacy["element"]))
    values = cur_values.where(pd.Series(has_current), leg_values).astype("string")
    if year >= change_year:
        issues.add(table.name, frame, legacy_used, column.name, column.legacy["element"], "element_not_in_year", "flagged",
                   f"{legacy_element} was replaced by {element} from collection year {change_year}; "
                   f"read with the {legacy_element} coding")
    else:
        issues.add(table.name, frame, has_current, column.name, column.element, "element_not_in_year", "flagged",
                   f"{element} is used from collection year {change_year}; this {year} return was expected to "
                   f"have {legacy_element}")
    both = has_current & has_legacy
    if both.any():
        code_list = schema.code_lists[column.legacy["codes"]]
        legacy_as = legacy.astype(object).map(code_list.canonical or {})
        differ = both & (legacy_as.astype(object) != current.astype(object)).to_numpy(dtype=bool)
        issues.add(table.name, frame, differ, column.name, column.legacy["element"], "conflicting_elements", "flagged",
                   f"{element} and {legacy_element} disagree; {element} is used")
    return values


def _build(path: Path, schema: CinSchema, parsed: _Parsed, header: CinCensusHeader) -> CinCensusResult:
    year = header.collection_year
    issues = _Issues(path.name)
    issues.add_notes(parsed.notes)
    frames = parsed.frames
    for name, frame in frames.items():
        frame["_location"] = _locations(schema, schema.tables[name], frame)

    # 1. Children without a usable LAchildID: nothing of theirs can be linked.
    child_t = schema.tables["cin_child"]
    children = frames["cin_child"]
    id_column = next(c for c in child_t.columns if c.on_error == "reject_child")
    unusable = children[id_column.name].isna().to_numpy()
    if unusable.any():
        episodes = frames["cin_episode"]["child_ordinal"].value_counts()
        counts = children["child_ordinal"].map(episodes).fillna(0).astype(int).astype(str)
        issues.add("cin_child", children, unusable, id_column.name, id_column.element, "child_unusable", "row_rejected",
                   lambda m: (f"{_element_name(id_column.element, child_t)} is missing or blank: the Child cannot be "
                              "linked, so none of its records are read (" + counts[m] + " CINdetails)"))
    bad_children = children.loc[unusable, "child_ordinal"].to_numpy()
    if bad_children.size:
        for name in frames:
            frames[name] = frames[name].loc[~frames[name]["child_ordinal"].isin(bad_children).to_numpy()].reset_index(drop=True)
    children = frames["cin_child"]

    # 2. Required sub-elements of a Child (CINdetails).
    for required in child_t.required_children:
        table = next(t for t in schema.tables.values() if t.parent == "cin_child" and t.path == (required,))
        has = children["child_ordinal"].isin(frames[table.name]["child_ordinal"]).to_numpy()
        issues.add("cin_child", children, ~has, required, "", "required_missing", "flagged",
                   f"the Child has no {required} element (the XSD requires at least one)")

    # 3. Columns: parse, validate against the year's code lists, reject or null.
    out: dict[str, pd.DataFrame] = {}
    for name, table in schema.tables.items():
        frame = frames[name]
        rejected = np.zeros(len(frame), dtype=bool)
        values = {c.name: _validate_column(issues, schema, year, table, frame, c, rejected) for c in table.columns}
        data = pd.DataFrame(values)
        for first, second in table.date_order:
            wrong = (data[second] < data[first]).fillna(False).to_numpy(dtype=bool) & ~rejected
            second_col = next(c for c in table.columns if c.name == second)
            first_col = next(c for c in table.columns if c.name == first)
            issues.add(name, frame, wrong, second, second_col.element, "date_order", "flagged",
                       f"{_element_name(second_col.element, table)} is before {_element_name(first_col.element, table)}")
        for col in table.not_after_reference_date:
            late = (data[col] > header.reference_date).fillna(False).to_numpy(dtype=bool) & ~rejected
            spec = next(c for c in table.columns if c.name == col)
            issues.add(name, frame, late, col, spec.element, "after_reference_date", "flagged",
                       f"{_element_name(spec.element, table)} is after the census reference date "
                       f"{header.reference_date.date()}")
        keep = ~rejected
        result = pd.DataFrame({
            "source_file": path.name,
            "la_code": header.lea,
            "collection_year": year,
        }, index=frame.index)
        for key in table.keys:
            result[key] = frame[key]
        result["source_location"] = frame["_location"]
        result["source_line"] = frame["source_line"]
        for c in table.columns:
            result[c.name] = data[c.name]
        out[name] = result.loc[keep].reset_index(drop=True)

    # 4. Duplicate Child elements: same LAchildID again in this file; kept, marked, flagged.
    children_out = out["cin_child"]
    dup = children_out["la_child_id"].duplicated(keep="first").to_numpy()
    if dup.any():
        first = children_out.groupby("la_child_id", sort=False)["child_ordinal"].transform("first").astype(str)
        dup_frame = children_out.rename(columns={"source_location": "_location"})
        issues.add("cin_child", dup_frame, dup, "la_child_id", "", "duplicate_child", "flagged",
                   lambda m: "the Child repeats the LAchildID of Child[" + first[m] + "]; kept and marked is_duplicate")
    n = parsed.children_read + 1
    la_child_id = np.full(n, None, dtype=object)
    is_duplicate = np.zeros(n, dtype=bool)
    ordinals = children_out["child_ordinal"].to_numpy()
    la_child_id[ordinals] = children_out["la_child_id"].to_numpy(dtype=object)
    is_duplicate[ordinals] = dup

    tables = {}
    for name, table in schema.tables.items():
        df = out[name]
        co = df["child_ordinal"].to_numpy()
        if name != "cin_child":
            df["la_child_id"] = pd.array(la_child_id[co], dtype="string")
        df["is_duplicate"] = is_duplicate[co]
        order = [*COMMON_COLUMNS[:6], *table.keys[1:], *COMMON_COLUMNS[6:],
                 *(c.name for c in table.columns if c.name not in COMMON_COLUMNS)]
        tables[name] = df[order].astype({"source_file": "string", "la_code": "string", "collection_year": "int64",
                                         "la_child_id": "string", "source_location": "string",
                                         "source_line": "int64", "is_duplicate": "bool"})
    return CinCensusResult(source_file=path.name, header=header, tables=tables, rejects=issues.frame(),
                           children_read=parsed.children_read)
