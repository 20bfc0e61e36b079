"""Whole-file checks of the CIN census reader: the prolog before parsing, and lxml's syntax errors in plain words.

:func:`_check_prolog` reads the first bytes (up to :data:`PROLOG_LIMIT`) and refuses an
empty file, a DOCTYPE or ENTITY declaration and a root element other than the schema's,
before lxml parses anything. :func:`syntax_error` turns lxml's ``XMLSyntaxError`` into a
:class:`sources.errors.SourceFileError` naming the line and column, saying when the file
is truncated (where it ends: before the first complete Child, after N Child elements ...)
and rewording libxml2's messages for the usual hand-editing slips.
"""
from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from .errors import SourceFileError

PROLOG_LIMIT = 4 * 1024 * 1024  # bytes of comments/PIs allowed before the root element
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


def syntax_error(path: Path, fh, exc: etree.XMLSyntaxError, children: int,
                 children_closed: bool) -> SourceFileError:
    """The SourceFileError for lxml's syntax error ``exc``, after ``children`` complete Child elements."""
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
        return SourceFileError(path, where, f"the file is truncated: it ends {inside} ({message})")
    for pattern, plain in _PLAIN_XML_ERRORS:
        found = pattern.search(message)
        if found:
            message = found.expand(plain)
            break
    return SourceFileError(path, where, f"not well-formed XML: {message}")


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
