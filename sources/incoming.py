"""The incoming folder: which file belongs to which source, authority and period.

Layout (README, "What the pipeline loads")::

    <incoming>/<LA number>_<name>/<period end>/<file>    e.g. 991_northbrook/2026-03-31/early_help_episodes.csv
    <incoming>/reference/...                            population, postcode lookup, deprivation, wards, LA codes

:func:`scan_incoming` walks it once and returns an :class:`IncomingScan`: every file found
with its source (from the registry, :mod:`sources.registry`), authority and period, and
everything it skipped with the reason (a folder that is not ``<LA number>_<name>``, a period
folder that is not a quarter end, a file no source recognises, a CIN return outside a
31 March folder, a period before the earliest one the pipeline loads ...). Nothing is
skipped silently: ``neglect run`` prints the skipped list and the load audit keeps it.

A file is given to a source by its name first (the declaration's ``files`` patterns) and,
when no name matches, by its content (the header row's columns, or the XML root element);
a file two sources claim by name, or none by name and two by content, is skipped as
ambiguous. A workbook holding several lists (Ofsted's Annex A: sheets "List 1" ... "List 11")
is recognised by its sheet names: each source declared with ``sheets`` patterns gets the
workbook when one of its sheets matches (:mod:`sources.xlsx`), so one workbook feeds several
sources, each reading its own sheet, and a list whose sheet is absent is *not supplied*. A
workbook with a single sheet named for no list, whose file name matches a source, is that
source's (as any CSV or .xlsx). A list is not read twice for one period: where the period folder has
a source's own file, a workbook's sheet of the same list is skipped with the reason. Only regular
files inside the incoming folder are read: a directory, a named pipe or a link pointing outside the
folder is skipped with the reason.

Some files are found but must not be loaded, and saying so only in the skipped list would
leave the figures they feed looking merely *not supplied*. These carry a ``problem``: the
ingest refuses them with it (its source's ``files_readable`` check fails, the load audit says
``failed``, the marts mark what they feed as not available):

* every file in two folders with one LA number (``991_northbrook`` and ``991_northbrook_old``):
  which is right cannot be guessed, so neither is loaded;
* two or more files of a source for one authority and period, where the source's declaration
  says ``period_files: one`` (the default): none is loaded, unless they are byte-for-byte the
  same, when the first is loaded and the copies refused; with ``period_files: several`` (adult
  services: one file per service) only byte-for-byte copies are refused.
"""
from __future__ import annotations

import fnmatch
import hashlib
import re
import stat
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

from .errors import SourceFileError
from .limits import open_regular
from .registry import Registry, Source

AUTHORITY_FOLDER = re.compile(r"^(?P<la_code>\d{3})(_|$)")
REFERENCE_FOLDER = "reference"
HEADER_BYTES = 65536  # read at most this much of a file to recognise it by content


@dataclass(frozen=True)
class FoundFile:
    source: str
    la_code: str
    period_end: date
    path: Path  # absolute
    rel: str  # relative to the incoming folder, with / separators
    recognised_by: str  # "name", "content" or "sheet" (a workbook's sheet named for the source)
    sheet: str | None = None  # the workbook sheet the source reads (recognised by sheet name)
    problem: str | None = None  # why it must not be loaded (module docstring): the ingest refuses it with this


@dataclass
class IncomingScan:
    root: Path
    files: list[FoundFile] = field(default_factory=list)
    authorities: dict[str, str] = field(default_factory=dict)  # LA number -> folder name
    period_folders: set[tuple[str, date]] = field(default_factory=set)  # (LA number, period end) folders found
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path relative to incoming, why)

    def files_for(self, source: str, period_end: date) -> list[FoundFile]:
        """The files of ``source`` for the period ending ``period_end`` (every authority), in path order."""
        return sorted((f for f in self.files if f.source == source and f.period_end == period_end),
                      key=lambda f: f.rel)

    def periods(self) -> list[date]:
        """Every period end with a period folder (any authority), sorted."""
        return sorted({p for _, p in self.period_folders})

    def census_years(self) -> list[int]:
        """Collection years with at least one CIN census return."""
        return sorted({f.period_end.year for f in self.files if f.source == "cin_census"})


def is_quarter_end(day: date) -> bool:
    return day.month in (3, 6, 9, 12) and (day + timedelta(days=1)).day == 1


def la_code_of(path: Path, incoming: Path) -> str:
    """The DfE LA number from the authority folder of ``path`` (``991_northbrook/...`` -> ``'991'``)."""
    folder = Path(path).relative_to(incoming).parts[0]
    match = AUTHORITY_FOLDER.match(folder)
    if not match:
        raise SourceFileError(path, "folder", f"the authority folder '{folder}' must start with the DfE "
                                              "three-digit LA number, e.g. 991_northbrook")
    return match.group("la_code")


def scan_incoming(root: Path, registry: Registry, earliest: date | None = None,
                  latest: date | None = None) -> IncomingScan:
    """Walk ``root`` (see module docstring). Periods before ``earliest`` or after ``latest`` are skipped."""
    root = Path(root)
    scan = IncomingScan(root=root)
    if not root.is_dir():
        return scan
    sources = registry.partitioned()
    folders: dict[str, list[Path]] = {}
    for folder in sorted(root.iterdir()):
        rel = folder.name
        if folder.name == REFERENCE_FOLDER or folder.name.startswith("."):
            continue
        problem = _not_a_folder(folder, root)
        if problem:
            scan.skipped.append((rel, problem))
            continue
        match = AUTHORITY_FOLDER.match(folder.name)
        if not match:
            scan.skipped.append((rel, "not an authority folder: its name must start with the DfE three-digit LA "
                                      "number, e.g. 991_northbrook; nothing in it was read"))
            continue
        folders.setdefault(match.group("la_code"), []).append(folder)
    for la_code, found in folders.items():
        problem = None
        if len(found) > 1:
            names = ", ".join(f.name for f in found)
            problem = (f"folder: one of {len(found)} folders for LA {la_code} ({names}); nothing in any of them is "
                       "loaded, since which is right cannot be guessed: keep one folder per authority")
            scan.skipped += [(f.name, problem.removeprefix("folder: ")) for f in found]
        scan.authorities[la_code] = " + ".join(f.name for f in found)
        for folder in found:
            _scan_authority(scan, folder, la_code, sources, earliest, latest, problem)
    return scan


def _not_a_folder(path: Path, root: Path) -> str | None:
    """Why ``path`` is not a folder to look in (None when it is one)."""
    try:
        mode = path.lstat().st_mode
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if stat.S_ISLNK(mode) and not _inside(path, root):
        return "a link pointing outside the incoming folder; not followed"
    if not path.is_dir():
        return "not a folder; files belong in <authority>/<period end>/ or reference/"
    return None


def _not_a_file(path: Path, root: Path) -> str | None:
    """Why ``path`` is not a file to read (None when it is a regular file inside ``root``)."""
    try:
        if path.is_symlink() and not _inside(path, root):
            return "a link pointing outside the incoming folder; not followed"
        mode = path.stat().st_mode
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if not stat.S_ISREG(mode):
        return "not a regular file (a folder, pipe or device); not read"
    return None


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except OSError:
        return False


def _scan_authority(scan: IncomingScan, folder: Path, la_code: str, sources: list[Source], earliest, latest,
                    folder_problem: str | None = None) -> None:
    for period_folder in sorted(folder.iterdir()):
        rel = f"{folder.name}/{period_folder.name}"
        if period_folder.name.startswith("."):
            continue
        problem = _not_a_folder(period_folder, scan.root)
        if problem:
            scan.skipped.append((rel, problem))
            continue
        try:
            period_end = date.fromisoformat(period_folder.name)
        except ValueError:
            scan.skipped.append((rel, "not a period folder: expected a quarter end YYYY-MM-DD (31 March, 30 June, "
                                      "30 September or 31 December); nothing in it was read"))
            continue
        if not is_quarter_end(period_end):
            scan.skipped.append((rel, f"{period_end} is not a quarter end (31 March, 30 June, 30 September or "
                                      "31 December); nothing in it was read"))
            continue
        if earliest is not None and period_end < earliest:
            scan.skipped.append((rel, f"before the earliest period the pipeline loads ({earliest}, setting "
                                      "earliest_period); nothing in it was read"))
            continue
        if latest is not None and period_end > latest:
            scan.skipped.append((rel, "a period that has not ended yet; nothing in it was read"))
            continue
        scan.period_folders.add((la_code, period_end))
        first = len(scan.files)
        for path in sorted(period_folder.iterdir()):
            _place_file(scan, path, f"{rel}/{path.name}", la_code, period_end, sources)
        placed = _one_file_per_list(scan, scan.files[first:], {s.name: s for s in sources})
        if folder_problem:
            placed = [replace(f, problem=folder_problem) for f in placed]
        else:
            placed = _one_file_per_period(placed, {s.name: s for s in sources})
        scan.files[first:] = placed


def _one_file_per_list(scan: IncomingScan, here: list[FoundFile], sources: dict[str, Source]) -> list[FoundFile]:
    """A list is not read twice for a period: where the period has a source's own file (found by name or
    content), a workbook sheet of the same list is left out and said so (an Annex A workbook's list 7 beside
    the CP list export of the same quarter would count each plan twice in the raw tables and the checks)."""
    own = {f.source: f for f in here if f.recognised_by != "sheet"}
    kept = []
    for f in here:
        if f.recognised_by == "sheet" and f.source in own:
            scan.skipped.append((f"{f.rel} (sheet '{f.sheet}')",
                                 f"not read as {sources[f.source].label}: the period has that list's own file "
                                 f"({own[f.source].path.name}), and a list is not read twice"))
        else:
            kept.append(f)
    return kept


def _place_file(scan: IncomingScan, path: Path, rel: str, la_code: str, period_end: date,
                sources: list[Source]) -> None:
    if path.name.startswith((".", "~$")):  # hidden files, Excel's lock files
        return
    try:
        mode = path.lstat().st_mode
    except OSError as exc:
        scan.skipped.append((rel, f"cannot be read ({exc.strerror})"))
        return
    if stat.S_ISLNK(mode):
        if not _inside(path, scan.root):
            scan.skipped.append((rel, "a link pointing outside the incoming folder; not followed"))
            return
        try:
            mode = path.stat().st_mode
        except OSError as exc:
            scan.skipped.append((rel, f"a broken link ({exc.strerror})"))
            return
    if stat.S_ISDIR(mode):
        scan.skipped.append((rel, "a folder inside a period folder; only files are read there"))
        return
    if not stat.S_ISREG(mode):
        scan.skipped.append((rel, "not a regular file (a pipe or device); not read"))
        return
    by_name = [s for s in sources if s.matches_name(path.name)]
    if _place_workbook(scan, path, rel, la_code, period_end, sources, by_name):
        return
    how = "name"
    if not by_name:
        by_name = [s for s in sources if _recognised_by_content(s, path)]
        how = "content"
    if not by_name:
        scan.skipped.append((rel, "not recognised as any source (by its name or its header); see the source table "
                                  "in the README for the names each source is read from"))
        return
    if len(by_name) > 1:
        scan.skipped.append((rel, f"could be more than one source ({', '.join(s.name for s in by_name)}); "
                                  "rename it to one source's file name"))
        return
    source = by_name[0]
    if source.partitioning == "census_year" and (period_end.month, period_end.day) != (3, 31):
        scan.skipped.append((rel, "a CIN census return belongs in the 31 March folder of its collection year "
                                  f"(e.g. {la_code}_…/{period_end.year + (period_end.month > 3)}-03-31/)"))
        return
    scan.files.append(FoundFile(source.name, la_code, period_end, path, rel, how))


def _one_file_per_period(files: list[FoundFile], sources: dict[str, Source]) -> list[FoundFile]:
    """One period folder's files, with a problem on extra files of a source (see the module docstring)."""
    out = []
    for name in dict.fromkeys(f.source for f in files):
        # files named as the source's declaration says come first: a copy found by its content is the copy
        group = sorted((f for f in files if f.source == name), key=lambda f: (f.recognised_by != "name", f.rel))
        if len(group) == 1:
            out += group
            continue
        digests = [_digest(f.path) for f in group]
        first_of = {}
        for f, digest in zip(group, digests):
            first_of.setdefault(digest, f)
        label = sources[name].label
        if sources[name].period_files == "one" and len(first_of) > 1:
            names = ", ".join(f.path.name for f in group)
            out += [replace(f, problem=f"file: one of {len(group)} {label} files for this authority and period "
                                       f"({names}); none is loaded, since which is right cannot be guessed: keep one "
                                       "(the source's declaration says one file per period)") for f in group]
            continue
        for f, digest in zip(group, digests):
            original = first_of[digest]
            out.append(f if original is f else replace(f, problem=f"file: the same content as {original.rel}; "
                                                                   "only that one is loaded: remove the copy"))
    return out


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open_regular(path) as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except SourceFileError:
        return f"unreadable:{path}"
    return digest.hexdigest()


def _place_workbook(scan: IncomingScan, path: Path, rel: str, la_code: str, period_end: date,
                    sources: list[Source], by_name: list[Source]) -> bool:
    """Give a workbook to every source one of whose sheets it has; False when it is not such a workbook.

    A single-sheet workbook whose file name matches a source is left to the name rules (an export
    named for its source, whatever its sheet is called).
    """
    readers = [s for s in sources if s.sheets]
    if not readers:
        return False
    try:
        with open(path, "rb") as fh:
            if fh.read(4) != b"PK\x03\x04":
                return False
        from .xlsx import choose_sheet, workbook_sheets

        names = [p.name for p in workbook_sheets(path)]
    except (OSError, SourceFileError):
        return False  # not a readable workbook: the name rules decide, and the reader says what is wrong
    if len(names) == 1 and by_name:
        return False
    claims: dict[str, list[Source]] = {}
    for source in readers:
        sheet = choose_sheet(names, source.sheets)
        if sheet is not None:
            claims.setdefault(sheet, []).append(source)
    if not claims:
        return False
    for sheet, claimants in claims.items():
        if len(claimants) > 1:
            scan.skipped.append((f"{rel} (sheet '{sheet}')", f"the sheet could be more than one source "
                                 f"({', '.join(s.name for s in claimants)}); rename the sheet to one list's name"))
            continue
        scan.files.append(FoundFile(claimants[0].name, la_code, period_end, path, rel, "sheet", sheet=sheet))
    return True


def _recognised_by_content(source: Source, path: Path) -> bool:
    """Does the file's content say it is ``source``? (header row columns, or XML root and Collection)."""
    try:
        with open_regular(path) as fh:
            head = fh.read(HEADER_BYTES)
    except SourceFileError:
        return False
    if source.xml_root:
        text = head.decode("utf-8", errors="replace")
        root = re.search(r"<(?!\?|!)([A-Za-z_][\w.:-]*)", re.sub(r"<!--.*?-->", "", text, flags=re.S))
        if not root or root.group(1).rpartition(":")[2] != source.xml_root:
            return False
        return source.xml_collection is None or f">{source.xml_collection}<" in text.replace(" ", "")
    if source.header_columns and source.schema:
        from .tabular import header_row, load_tabular_schema, recognises_columns

        headers = header_row(path, head)
        if not headers:
            return False
        schema = load_tabular_schema(source.schema, Path(source.schema_dir))
        return recognises_columns(headers, schema, source.header_columns)
    return False


def find_reference(incoming: Path, source: Source) -> list[Path]:
    """The reference files of ``source`` under ``<incoming>/reference/``, by its ``files`` patterns.

    A pattern with a folder part (``population/*.csv``) takes every file it matches (one file per
    mid-year, say); otherwise the first pattern that matches anything must match one file: several
    (two vintages of a postcode lookup, say) raise SourceFileError rather than have the reader guess.
    """
    folder = Path(incoming) / REFERENCE_FOLDER
    if not folder.is_dir():
        return []
    for pattern in source.files:
        sub, _, name = pattern.rpartition("/")
        where = folder / sub if sub else folder
        if not where.is_dir():
            continue
        hits = sorted(p for p in where.iterdir() if not p.name.startswith(".") and
                      fnmatch.fnmatchcase(p.name.lower(), name.lower()))
        for p in hits:  # a link out of the incoming folder, a pipe or a folder is never read: say so
            problem = _not_a_file(p, Path(incoming))
            if problem:
                raise SourceFileError(p, "file", problem)
        if sub:
            if hits:
                return hits
            continue
        if len(hits) > 1:
            raise SourceFileError(folder, "folder", f"several {source.label} files ({', '.join(p.name for p in hits)}); "
                                  "expected one: move the others out of reference/")
        if hits:
            return hits
    return []


def reference_file(incoming: Path, name: str) -> Path | None:
    """The one reference file of built-in source ``name`` (postcode lookup, IMD, wards, LA codes), or None."""
    from .registry import load_registry

    hits = find_reference(incoming, load_registry()[name])
    return hits[0] if hits else None
