"""The synthetic extracts are in the real formats, and every row traces to one true person."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lxml import etree

from synthetic_fixtures import XSD, read_extract


def _truth(folder, name):
    return pd.read_csv(folder / "truth" / name, dtype=str, keep_default_na=False)


def test_latest_cin_census_validates_against_the_2026_xsd(partnership):
    folder, _ = partnership
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    files = sorted((folder / "incoming").glob("*/*/cin_census_2026.xml"))
    assert len(files) == 2  # one per authority
    for path in files:
        doc = etree.parse(str(path))
        assert schema.validate(doc), f"{path.name}: {schema.error_log.last_error}"
        assert doc.getroot().find("Header/CollectionDetails/ReferenceDate").text == "2026-03-31"


@pytest.mark.slow  # slow: reads every extract and workbook sheet of the default partnership (about 45 s)
def test_every_extract_row_maps_to_exactly_one_true_person_and_back(partnership):
    folder, _ = partnership
    records = _truth(folder, "source_records.csv")
    persons = set(_truth(folder, "persons.csv")["person_id"])
    assert set(records["person_id"]) <= persons
    incoming = folder / "incoming"
    extract_files = sorted(p for p in incoming.rglob("*") if p.is_file() and "reference" not in p.parts)
    # service-activity returns describe services, not people: their rows are in truth/service_activity.csv
    activity = {p for p in extract_files if p.name == "service_activity.csv"}
    written = _truth(folder, "service_activity.csv").groupby("file").size()
    assert {p.relative_to(incoming).as_posix(): len(read_extract(p, None)) for p in activity} == written.to_dict()
    extract_files = [p for p in extract_files if p not in activity]
    assert {p.relative_to(incoming).as_posix() for p in extract_files} == set(records["file"])
    by_file = dict(tuple(records.groupby("file", sort=False)))
    for path in extract_files:
        in_file = by_file[path.relative_to(incoming).as_posix()]
        # an Annex A workbook: each list's sheet on its own (truth names the sheet)
        for sheet, mine in in_file.groupby(in_file["sheet"] if "sheet" in in_file else pd.Series("", in_file.index)):
            if path.suffix == ".xml":
                count = sum(1 for _ in etree.iterparse(str(path), tag="Child"))
                first = 1
            else:
                count = len(read_extract(path, sheet or None))
                first = 2
            lines = mine["line"].astype(int).to_numpy()
            assert len(mine) == count, (path, sheet)
            assert np.array_equal(np.sort(lines), np.arange(first, first + count)), (path, sheet)


def test_local_identifiers_in_the_files_belong_to_the_recorded_person(partnership):
    """'And back': the LAchildID / EH ID on a row is the one that system gave the true person."""
    folder, _ = partnership
    records = _truth(folder, "source_records.csv")
    ids = _truth(folder, "system_ids.csv")
    for pattern, column, system in [("*/2026-03-31/csc_person_list.csv", "LA Child ID", "csc"),
                                    ("*/2026-03-31/early_help_episodes.csv", "EH ID", "early_help")]:
        for path in sorted((folder / "incoming").glob(pattern)):
            rows = read_extract(path)
            rel = path.relative_to(folder / "incoming").as_posix()
            mine = records[records["file"] == rel].set_index(records[records["file"] == rel]["line"].astype(int))
            rows["person_id"] = mine.loc[np.arange(2, len(rows) + 2), "person_id"].to_numpy()
            lea = path.parts[-3][:3]
            known = ids[ids["system"] == f"{system}:{lea}"].set_index("local_id")["person_id"]
            present = rows[rows[column] != ""]
            assert len(present) > 100
            assert (present[column].map(known) == present["person_id"]).all(), rel


def test_cp_lists_carry_the_category_styles_real_systems_export(partnership):
    folder, _ = partnership
    northbrook = sorted((folder / "incoming").glob("991_*/*/annex_a_list_7_child_protection.xlsx"))
    eastmere = sorted((folder / "incoming").glob("992_*/*/annex_a_list_7_child_protection.csv"))
    assert len(northbrook) == 12 and len(eastmere) == 12
    seen = set()
    for path in northbrook + eastmere:
        seen |= set(read_extract(path)["Initial Category of Abuse"])
    assert {"NEG", "Neglect", "a) Neglect", "YNNN"} <= seen


def test_csv_encodings_are_those_councils_send(partnership):
    folder, _ = partnership
    incoming = folder / "incoming"
    northbrook = sorted(incoming.glob("991_*/*/early_help_episodes.csv"))
    assert all(p.read_bytes().startswith(b"\xef\xbb\xbf") for p in northbrook)  # UTF-8 with BOM
    eastmere = sorted(incoming.glob("992_*/*/*.csv"))
    not_utf8 = 0
    for path in eastmere:
        raw = path.read_bytes()
        raw.decode("cp1252")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            not_utf8 += 1
    assert not_utf8 > 0, "Eastmere exports should be cp1252 with some non-ASCII names"


def test_reference_files_cover_every_ward(partnership):
    folder, _ = partnership
    ref = folder / "incoming" / "reference"
    lookup = pd.read_csv(ref / "postcode_lookup.csv", dtype=str)
    population = pd.read_csv(ref / "population" / "population_mid_2025.csv")
    assert list(population.columns) == ["WD24CD", "WD24NM", "LAD24CD", "LAD24NM", "sex", "age", "population_2025"]
    wards = population.groupby("LAD24NM")["WD24CD"].nunique()
    assert wards.between(12, 20).all() and len(wards) == 2
    assert len(population) == population["WD24CD"].nunique() * 36
    assert set(lookup["wd24cd"]) == set(population["WD24CD"])
    for codes in (population["WD24CD"], population["LAD24CD"], lookup["lsoa21cd"]):
        assert codes.str.fullmatch(r"[EWSN]\d{8}").all()  # ONS GSS code shape
    import json
    geo = json.loads((ref / "wards.geojson").read_text())
    assert {f["properties"]["WD24CD"] for f in geo["features"]} == set(population["WD24CD"])


def test_annex_a_workbooks_are_in_the_template_layout(partnership):
    """One workbook per authority per half-year, sheets List 1-11 with the 2024 template's columns (as typed
    for the hand-made fixtures, tests/fixtures/annex_a/make_workbooks.py), the values as a case-management
    system's Annex A report writes them."""
    import importlib.util

    from openpyxl import load_workbook

    spec = importlib.util.spec_from_file_location("make_workbooks", Path(__file__).parent / "fixtures" / "annex_a" /
                                                  "make_workbooks.py")
    typed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(typed)

    folder, _ = partnership
    books = sorted((folder / "incoming").glob("*/*/ofsted_annex_a.xlsx"))
    assert [p.parts[-2] for p in books if p.parts[-3].startswith("991")] == [
        "2023-09-30", "2024-03-31", "2024-09-30", "2025-03-31", "2025-09-30", "2026-03-31"]
    assert len(books) == 12
    wb = load_workbook(books[-1], read_only=True)  # Eastmere's latest (whole-number ages)
    assert wb.sheetnames == [f"List {n}" for n in range(1, 12)]
    for name, columns in typed.LIST_HEADERS.items():
        header = list(next(wb[name].iter_rows(values_only=True)))
        # lists 2 and 4: the template's columns plus what the system adds (factors, GCP2 scores)
        assert header[:len(columns) - 1] == columns[:-1] if name in ("List 2", "List 4") else header == columns, name
    row = next(wb["List 7"].iter_rows(min_row=2, values_only=True))
    assert row[1] in ("a) Male", "b) Female") and row[2][1:3] == ") " and hasattr(row[6], "year")
    northbrook = load_workbook(books[5], read_only=True)
    ages = [r[4] for r in northbrook["List 6"].iter_rows(min_row=2, max_row=50, values_only=True)]
    assert all(isinstance(a, float) for a in ages) and any(not a.is_integer() for a in ages)  # decimals
