"""Reading a large CIN census return on two cores: split at a ``</Child>`` boundary, read both parts, join.

The reader (:mod:`sources.cin_census`) is one Python loop over lxml's events and so uses one
core. For a return of :data:`SPLIT_BYTES` or more, read in a process that is not itself a worker of
a pool (``ingest.parallel`` already reads different files on every core), :func:`plan_split`
chooses a byte offset just after a ``</Child>`` end tag a little past half way (:func:`first_share`),
and the two parts are parsed at once, each with the same :class:`sources.cin_census._Parser`:

* the first part, in this process: the file's bytes up to the cut, then ``</Children></Message>``;
* the second part, in one spawned process: the file's own XML declaration (and BOM), its ``Message``
  and ``Children`` start tags as written (namespace declarations included), then as many line feeds as
  put the cut on its own line number, then the file's bytes from the cut to the end.

So every element of the second part is on the line it is on in the file, and lxml reports the lines
exactly as when reading the whole file, including libxml2's own approximation past line 65,535 (it then
takes an element's line from its first child's text: with blank text removed, a Child's line comes out
2 more than its start tag's); counting the lines of the part from 1 and adding an offset would give the
true lines there instead, and so other lines than the single read. :func:`merge_parts` then joins the
parts in file order, moving the second part's child ordinals on by the first part's Child count (in the
tables, in the notes and in their ``Child[n]`` locations), so the result is exactly the single read's:
same rows, same rejects, same locations and lines (the rejects are sorted by child and line in
:mod:`sources.cin_census_tables` either way). Validation and tables (``_build``) run once, on the joined
rows, as before. The line feeds cost the second process about 1 ms per MB of the first part.

A split is planned only when it is certain to be read the same: a file in UTF-8 or a single-byte
encoding (so ``</Child>`` is those bytes and nothing else), with plain (unprefixed) ``Message``,
``Children`` and ``Child`` tags, and no carriage return that is not followed by a line feed (line
numbers are counted on line feeds, as libxml2 does). Anything else, and anything going wrong in either part (a
``</Child>`` inside a comment, a syntax error, a second part without a Child), falls back to the
single read, which then gives the file's rows or its error exactly as before.
"""
from __future__ import annotations

import mmap
import multiprocessing
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SPLIT_BYTES = 32_000_000  # about 32,000 children: below this a second process's start (~0.6 s) does not pay
# The spawned process first starts an interpreter and imports the reader (about 0.45 s), while this one is already
# parsing at about 34 MB/s: this one takes that head start's bytes more, so both parts finish together (100 MB:
# 0.575 of the bytes here; the tables, built here after both, then start 0.3 s sooner than with an even split).
SECOND_PART_HEAD_START = 15_000_000
FIRST_SHARE: float | None = None  # None: first_share(size); a fixed share of the bytes read here (tests)
FIRST_END = b"</Children></Message>"
_CHILD_END = b"</Child>"
_DECLARATION = re.compile(rb"<\?xml[^>]*\?>")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_ROOT = re.compile(rb"<Message[\s>/]")
_CHILDREN = re.compile(rb"<Children[\s>/]")
# encodings in which the bytes of "</Child>" and of a line feed can mean nothing else
_SAFE_ENCODINGS = re.compile(r"(utf-?8|us-ascii|ascii|iso-?8859-\d+|latin-?1|windows-125\d|cp125\d)$")
_CHILD_LOCATION = re.compile(r"^Child\[(\d+)\]")
_CHUNK = 8 * 1024 * 1024
SECOND_PART_SPAWNED = True  # False (tests only): the second part is read in this process, after the first


@dataclass(frozen=True)
class Split:
    """Where a return is split: ``cut`` (bytes; the first part is ``[0, cut)``), the file's ``size``, and the
    ``prefix`` the second part is read with (start tags, then line feeds up to the cut's line)."""
    cut: int
    size: int
    prefix: bytes


def may_split() -> bool:
    """True in a process that may start one more: not a pool worker, two or more CPUs it may run on, reading not
    set to one process (``NEGLECT_READ_WORKERS=1``)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return (multiprocessing.parent_process() is None and cpus >= 2
            and os.environ.get("NEGLECT_READ_WORKERS", "").strip() != "1")


def plan_split(path: Path, share: float | None = None) -> Split | None:
    """The split of the file at ``path`` at the first ``</Child>`` after ``share`` of its bytes (default
    :data:`FIRST_SHARE`, or :func:`first_share` of its size); None when the file cannot be split safely (see the
    module docstring)."""
    share = FIRST_SHARE if share is None else share
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            return None
        share = first_share(size) if share is None else share
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return _plan(mm, size, share)


def first_share(size: int) -> float:
    """The share of a ``size``-byte file read in this process: half, plus half the bytes parsed here while the
    second part's process starts (:data:`SECOND_PART_HEAD_START`), at most three quarters."""
    return min(0.75, 0.5 + SECOND_PART_HEAD_START / (2 * size))


def _plan(mm, size: int, share: float) -> Split | None:
    head = bytes(mm[: min(size, 1 << 20)])
    bom = b"\xef\xbb\xbf" if head.startswith(b"\xef\xbb\xbf") else b""
    if b"\x00" in head[:4]:  # UTF-16 or UTF-32
        return None
    declaration = _DECLARATION.match(head, len(bom))
    if declaration:
        encoding = _ENCODING.search(declaration.group())
        if encoding and not _SAFE_ENCODINGS.match(encoding.group(1).decode("ascii").lower()):
            return None
    root = _ROOT.search(head)
    if root is None:
        return None
    root_end = head.find(b">", root.start())
    children = _CHILDREN.search(head, root_end)
    if root_end < 0 or children is None:
        return None
    children_end = head.find(b">", children.start())
    if children_end < 0 or head[root_end - 1:root_end] == b"/" or head[children_end - 1:children_end] == b"/":
        return None
    at = mm.find(_CHILD_END, max(int(size * share), children_end))
    if at < 0:
        return None
    cut = at + len(_CHILD_END)
    if mm.find(_CHILD_END, cut) < 0:  # the second part must hold a Child
        return None
    data = np.frombuffer(mm, dtype=np.uint8)
    try:
        if _has_lone_carriage_return(data):
            return None
        lines_before = sum(int(np.count_nonzero(data[i:min(i + _CHUNK, cut)] == 10)) for i in range(0, cut, _CHUNK))
    finally:
        del data  # the mmap cannot close while a view of it is alive
    tags = bom + (declaration.group() if declaration else b"") + head[root.start():root_end + 1] + \
        head[children.start():children_end + 1]
    # the cut's line is line lines_before + 1 in the file: the second part must start on it too
    return Split(cut=cut, size=size, prefix=tags + b"\n" * (lines_before - tags.count(b"\n")))


def _has_lone_carriage_return(data: np.ndarray) -> bool:
    for i in range(0, len(data), _CHUNK):
        where = np.flatnonzero(data[i:i + _CHUNK] == 13) + i
        if len(where) and (where[-1] + 1 >= len(data) or (data[where + 1] != 10).any()):
            return True
    return False


class PartReader:
    """A file-like object for lxml: ``before``, then the file's bytes ``[start, end)``, then ``after``."""

    def __init__(self, path: Path, start: int, end: int, before: bytes = b"", after: bytes = b""):
        self._fh = open(path, "rb")
        self._fh.seek(start)
        self._left = end - start
        self._pending = [before] if before else []
        self._after = after

    def read(self, size: int = -1) -> bytes:
        if self._pending:
            return self._pending.pop()
        if self._left > 0:
            data = self._fh.read(self._left if size is None or size < 0 else min(size, self._left))
            if data:
                self._left -= len(data)
                return data
            self._left = 0
        if self._after:
            data, self._after = self._after, b""
            return data
        return b""

    def close(self) -> None:
        self._fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def merge_parts(first, second):
    """The two parts' parse results (``_Parsed``) as the single read's: the second part's child ordinals after
    the first part's (its lines are already the file's)."""
    from .cin_census_tables import _Parsed

    n = first.children_read
    frames = {}
    for name, a in first.frames.items():
        b = second.frames[name]
        b = b.assign(child_ordinal=b["child_ordinal"] + n)
        frames[name] = pd.concat([a, b], ignore_index=True)
    notes = list(first.notes)
    for table, ordinal, location, *rest in second.notes:
        if ordinal is not None:
            ordinal += n
        match = _CHILD_LOCATION.match(location)
        if match:
            location = f"Child[{int(match.group(1)) + n}]" + location[match.end():]
        notes.append((table, ordinal, location, *rest))
    return _Parsed(frames=frames, notes=notes, header=first.header, children_read=n + second.children_read)
