"""Reference readers: postcode lookup, deprivation (IMD), ward boundaries, LA codes.

The synthetic tests read the reference files of a small generated partnership and compare them
with the geography the generator built (same seed, so ``build_geography`` rebuilds it) and with
``truth/addresses.csv``. The fixture tests read hand-made files in ``tests/fixtures/reference/``
laid out like real ONS / MHCLG / DfE files of other vintages.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sources.deprivation import deprivation_file, read_deprivation
from sources.errors import SourceFileError
from sources.la_codes import la_codes_file, lad_codes_by_la_code, read_la_codes
from sources.postcode_lookup import postcode_lookup_file, read_postcode_lookup
from sources.synthetic.config import GeneratorConfig
from sources.synthetic.generate import generate_partnership
from sources.synthetic.geography import build_geography
from sources.synthetic.writers.reference import write_la_codes
from sources.tabular import REJECT_COLUMNS
from sources.ward_boundaries import read_ward_boundaries, ward_boundaries_file

FIXTURES = Path(__file__).parent / "fixtures" / "reference"
SYNTHETIC_LEA_TO_ONS = {"991": "E06000901", "992": "E06000902"}


def _rejected(read) -> list[tuple[int, str, str]]:
    return list(read.rejects[["source_line", "field", "rule"]].itertuples(index=False, name=None))


def _consistent(read) -> None:
    """Every data row is either kept or rejected, never both."""
    assert list(read.rejects.columns) == REJECT_COLUMNS
    rejected = set(read.rejects["source_line"])
    line = "feature_index" if "feature_index" in read.rows else "source_line"
    assert not rejected & set(read.rows[line])
    assert read.rows_read == len(read.rows) + len(rejected)


# --------------------------------------------------------------------------- synthetic partnership


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """(incoming folder, truth folder, the generator's geography) of a small partnership."""
    cfg = GeneratorConfig(children=3000)
    out = tmp_path_factory.mktemp("reference_sample")
    generate_partnership(cfg, out)
    geo = build_geography(np.random.default_rng(cfg.seed), cfg.authorities, cfg.children)  # the generator's first draw
    return out / "incoming", out / "truth", geo


def test_synthetic_postcode_lookup_is_the_generators_geography(synthetic):
    incoming, truth, geo = synthetic
    read = read_postcode_lookup(postcode_lookup_file(incoming))
    _consistent(read)
    assert read.rejects.empty and not read.notes
    assert len(read.rows) == len(geo.postcodes)
    rows = read.rows.set_index("postcode")
    expected = geo.postcodes.set_index("postcode")
    assert set(rows.index) == set(expected.index)
    for col in ("ward_code", "lsoa_code"):
        assert (rows[col] == expected.loc[rows.index, col]).all()
    assert (rows["lad_code"] == expected.loc[rows.index, "la_code"]).all()  # the generator's ONS code
    assert (rows["postcode_key"] == rows.index.str.replace(" ", "")).all()
    assert not rows["terminated"].any()
    names = geo.wards.set_index("ward_code")["ward_name"]
    assert (rows["ward_name"] == names.loc[rows["ward_code"]].to_numpy()).all()

    # every address a household ever lived at resolves to its ward and LSOA through postcode_key
    addresses = pd.read_csv(truth / "addresses.csv", dtype=str, keep_default_na=False)
    keyed = read.rows.set_index("postcode_key")
    key = addresses["postcode"].str.replace(" ", "")
    assert key.isin(keyed.index).all()
    assert (keyed.loc[key, "ward_code"].to_numpy() == addresses["ward_code"].to_numpy()).all()
    assert (keyed.loc[key, "lsoa_code"].to_numpy() == addresses["lsoa_code"].to_numpy()).all()


def test_synthetic_deprivation_covers_every_lsoa_in_the_postcode_lookup(synthetic):
    incoming, _, geo = synthetic
    read = read_deprivation(deprivation_file(incoming))
    _consistent(read)
    assert read.rejects.empty
    assert len(read.rows) == len(geo.lsoas)
    got = read.rows.set_index("lsoa_code")
    expected = geo.lsoas.set_index("lsoa_code")
    assert (got["imd_rank"] == expected.loc[got.index, "imd_rank"]).all()
    assert (got["imd_decile"] == expected.loc[got.index, "imd_decile"]).all()
    assert read.rows["imd_decile"].dtype == "int64" and read.rows["imd_decile"].between(1, 10).all()
    lookup = read_postcode_lookup(postcode_lookup_file(incoming))
    assert set(lookup.rows["lsoa_code"]) <= set(got.index)


def test_synthetic_ward_boundaries_one_row_per_feature(synthetic):
    incoming, _, geo = synthetic
    path = ward_boundaries_file(incoming)
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    read = read_ward_boundaries(path)
    _consistent(read)
    assert read.rejects.empty
    assert len(read.rows) == len(features) == len(geo.wards)
    assert list(read.rows["ward_code"]) == list(geo.wards["ward_code"])
    assert list(read.rows["ward_name"]) == list(geo.wards["ward_name"])
    assert set(read.rows["lad_code"]) == set(SYNTHETIC_LEA_TO_ONS.values())
    assert (read.rows["geometry_type"] == "Polygon").all()
    assert [json.loads(g) for g in read.rows["geometry_json"]] == [f["geometry"] for f in features]
    assert " " not in read.rows["geometry_json"].iloc[0]  # compact


def test_synthetic_la_codes_map_lea_to_ons_code(synthetic):
    incoming, _, _ = synthetic
    read = read_la_codes(la_codes_file(incoming))
    assert read.rejects.empty
    assert lad_codes_by_la_code(read) == SYNTHETIC_LEA_TO_ONS
    assert list(read.rows["la_name"]) == ["Northbrook", "Eastmere"]
    # the folder names carry the same three-digit numbers
    assert {p.name.split("_")[0] for p in incoming.iterdir() if p.name != "reference"} == set(SYNTHETIC_LEA_TO_ONS)


def test_write_la_codes_output_reads_back(tmp_path):
    cfg = GeneratorConfig()
    geo = build_geography(np.random.default_rng(cfg.seed), cfg.authorities, cfg.children)
    write_la_codes(geo, tmp_path)
    path = tmp_path / "reference" / "la_codes.csv"
    assert path.read_text(encoding="utf-8").splitlines()[0] == "old_la_code,new_la_code,la_name"
    assert lad_codes_by_la_code(read_la_codes(path)) == SYNTHETIC_LEA_TO_ONS


# --------------------------------------------------------------------------- postcode lookup fixtures


def test_onspd_layout_takes_the_latest_vintage_and_rejects_bad_rows():
    read = read_postcode_lookup(FIXTURES / "ONSPD_like_2025.csv")
    _consistent(read)
    assert read.columns_used == {"postcode": "pcds", "date_terminated": "doterm", "ward_code": "wd25cd",
                                 "lsoa_code": "lsoa21cd", "lad_code": "lad25cd"}
    assert any("wd23cd, wd25cd" in n and "latest, wd25cd" in n for n in read.notes)
    assert any("latest, lsoa21cd" in n for n in read.notes) and any("latest, lad25cd" in n for n in read.notes)
    assert read.rows_read == 8 and read.blank_lines == 1
    rows = read.rows
    assert list(rows["postcode"]) == ["QN1 1AB", "QN1 1AD", "Q1 2XY", "QE10 2ZZ"]
    assert list(rows["postcode_key"]) == ["QN11AB", "QN11AD", "Q12XY", "QE102ZZ"]
    assert list(rows["source_line"]) == [2, 3, 8, 10]  # line 9 is blank
    assert list(rows["terminated"]) == [False, True, False, False]
    assert list(rows["ward_code"]) == ["E05900001", "E05900001", "E05910004", "E05910005"]  # wd25cd, not wd23cd
    assert list(rows["lsoa_code"]) == ["E01900001", "E01900001", "E01910004", "E01910005"]  # lsoa21cd
    assert list(rows["lad_code"]) == ["E06000901", "E06000901", "E06000902", "E06000902"]  # lad25cd
    assert rows["ward_name"].isna().all() and rows["lad_name"].isna().all()  # ONSPD carries no names
    assert _rejected(read) == [(4, "postcode", "invalid_code"), (5, "ward_code", "blank_mandatory"),
                               (6, "postcode", "duplicate_key"), (7, "ward_code", "invalid_code")]
    for message in read.rejects["message"]:
        assert not any(pc in message.replace(" ", "") for pc in ("QN11A", "QN11AE", "QN11AB"))


def test_older_onspd_layout_pcd_osward_oslaua():
    read = read_postcode_lookup(FIXTURES / "ONSPD_old_style.csv")
    assert read.columns_used == {"postcode": "pcd", "date_terminated": "doterm", "ward_code": "osward",
                                 "lsoa_code": "lsoa21", "lad_code": "oslaua"}
    assert list(read.rows["postcode"]) == ["Q1 2XY", "QN2 2AB"]  # 'Q1  2XY' and 'qn22ab ' normalised
    assert list(read.rows["terminated"]) == [False, True]
    assert list(read.rows["lsoa_code"]) == ["E01910004", "E01900002"]


def test_cp1252_postcode_lookup_with_names():
    read = read_postcode_lookup(FIXTURES / "postcode_lookup_cp1252.csv")
    assert read.encoding == "cp1252"
    assert list(read.rows["ward_name"]) == ["St Anne\u2019s", "Moor"]
    assert list(read.rows["lad_name"]) == ["Eastmere", "Eastmere"]


def test_names_of_another_vintage_are_not_paired_with_codes(tmp_path):
    path = tmp_path / "postcode_lookup.csv"
    path.write_text("pcds,doterm,wd24cd,wd23nm,lad24cd,lad24nm\nQE1 0AQ,,E05910002,Elm,E06000902,Eastmere\n",
                    encoding="utf-8")
    read = read_postcode_lookup(path)
    assert read.rows["ward_name"].isna().all()
    assert read.rows["lad_name"].tolist() == ["Eastmere"]
    assert any(n.startswith("ward_name: wd23nm not of the same year as ward_code (wd24cd)") for n in read.notes)


def test_postcode_lookup_without_a_ward_column_is_refused():
    with pytest.raises(SourceFileError) as err:
        read_postcode_lookup(FIXTURES / "postcode_lookup_no_ward.csv")
    assert str(err.value).startswith("reference/postcode_lookup_no_ward.csv, line 1 (header): required column 'ward_code' "
                                     "not found; expected a column like 'wd24cd'")


@pytest.mark.parametrize("reader", [read_postcode_lookup, read_deprivation, read_la_codes])
def test_empty_csv_is_refused(reader):
    with pytest.raises(SourceFileError, match=r"^reference/empty\.csv, line 1: the file is empty"):
        reader(FIXTURES / "empty.csv")


@pytest.mark.parametrize("reader", [read_postcode_lookup, read_deprivation, read_la_codes])
def test_header_only_csv_is_refused(tmp_path, reader):
    source = {read_postcode_lookup: "ONSPD_like_2025.csv", read_deprivation: "imd2019_file1.csv",
              read_la_codes: "la_codes_ees.csv"}[reader]
    path = tmp_path / source
    path.write_text((FIXTURES / source).read_text(encoding="utf-8-sig").splitlines()[0] + "\n", encoding="utf-8")
    with pytest.raises(SourceFileError, match=r", line 2: no data rows after the header"):
        reader(path)


# --------------------------------------------------------------------------- deprivation fixtures


def test_imd_2019_file1_headers_and_bad_deciles():
    read = read_deprivation(FIXTURES / "imd2019_file1.csv")
    _consistent(read)
    assert list(read.rows["lsoa_code"]) == ["E01900001", "E01900002", "E01900003"]
    assert list(read.rows["imd_rank"]) == [538, 16000, 32800]
    assert list(read.rows["imd_decile"]) == [1, 5, 10]
    assert list(read.rows["lad_name"]) == ["Northbrook"] * 3
    assert read.rows["imd_decile"].dtype == "int64" and read.rows["imd_rank"].dtype == "int64"
    assert _rejected(read) == [(5, "imd_decile", "invalid_number"),  # 11
                               (6, "imd_decile", "invalid_number"),  # 3.5
                               (7, "imd_decile", "blank_mandatory"),
                               (8, "lsoa_code", "duplicate_key"),
                               (9, "imd_rank", "invalid_number")]  # 0
    assert "outside 1-10" in read.rejects["message"].iloc[0]


def test_imd_2019_file7_long_headers_utf8_bom():
    read = read_deprivation(FIXTURES / "imd2019_file7.csv")
    assert read.encoding == "utf-8-sig" and read.rejects.empty
    assert list(read.rows[["lsoa_code", "imd_rank", "imd_decile"]].itertuples(index=False, name=None)) == \
        [("E01910001", 20345, 7), ("E01910002", 1204, 1)]


def test_imd_without_a_decile_column_is_refused():
    with pytest.raises(SourceFileError, match=r"^reference/imd_no_decile\.csv, line 1 \(header\): required column "
                                              r"'Index of Multiple Deprivation \(IMD\) Decile' not found"):
        read_deprivation(FIXTURES / "imd_no_decile.csv")


# --------------------------------------------------------------------------- ward boundary fixtures


def test_lower_case_2022_properties_and_bad_features():
    path = FIXTURES / "wards_2022_lower_case.geojson"
    read = read_ward_boundaries(path)
    _consistent(read)
    assert read.columns_used == {"ward_code": "wd22cd", "ward_name": "wd22nm", "lad_code": "lad22cd",
                                 "lad_name": "lad22nm"}
    assert list(read.rows["ward_code"]) == ["E05900001", "E05900002"]
    assert list(read.rows["ward_name"]) == ["Saltwell", "Fairfield"]
    assert list(read.rows["geometry_type"]) == ["Polygon", "MultiPolygon"]
    assert list(read.rows["feature_index"]) == [0, 1]
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    assert [json.loads(g) for g in read.rows["geometry_json"]] == [features[0]["geometry"], features[1]["geometry"]]
    assert _rejected(read) == [(2, "ward_code", "blank_mandatory"), (3, "geometry", "invalid_geometry"),
                               (4, "ward_code", "duplicate_key"), (5, "", "invalid_feature"),
                               (6, "ward_code", "invalid_code"), (7, "geometry", "invalid_geometry")]
    assert read.rejects["message"].iloc[-1] == "geometry is Point; expected Polygon or MultiPolygon"


def test_two_vintages_of_ward_properties_take_the_latest():
    read = read_ward_boundaries(FIXTURES / "wards_two_vintages.geojson")
    assert read.rows[["ward_code", "ward_name"]].iloc[0].tolist() == ["E05900001", "Saltwell"]
    assert read.notes == ["ward_code: several vintages in the file (WD23CD, WD24CD); using the latest, WD24CD"]
    assert read.rows["lad_code"].isna().all()  # optional properties absent


@pytest.mark.parametrize("fixture, message", [
    ("empty.geojson", "empty.geojson, line 1: the file is empty"),
    ("not_json.geojson", "not_json.geojson, line 4, column 1: not valid JSON"),
    ("not_feature_collection.geojson", "not_feature_collection.geojson, top level: a Feature rather than a "
                                       "FeatureCollection"),
    ("wards_no_code.geojson", "wards_no_code.geojson, feature properties: required property 'ward_code' not found"),
])
def test_unreadable_geojson_is_refused(fixture, message):
    with pytest.raises(SourceFileError) as err:
        read_ward_boundaries(FIXTURES / fixture)
    assert str(err.value).startswith("reference/" + message)  # named relative to the incoming folder


# --------------------------------------------------------------------------- LA code fixtures


def test_ees_layout_rejects_national_rows_repeats_and_conflicts():
    read = read_la_codes(FIXTURES / "la_codes_ees.csv")
    _consistent(read)
    assert lad_codes_by_la_code(read) == SYNTHETIC_LEA_TO_ONS
    assert sorted(_rejected(read)) == sorted([
        (2, "lad_code", "blank_mandatory"), (2, "la_code", "blank_mandatory"),  # national row
        (4, "la_code", "duplicate_key"),  # 991 again for another year
        (6, "lad_code", "conflicting_code"), (7, "lad_code", "conflicting_code"),  # 933 recoded
        (8, "lad_code", "invalid_code"), (8, "la_code", "invalid_code")])


def test_la_codes_synonym_headers_cp1252():
    read = read_la_codes(FIXTURES / "la_codes_synonyms_cp1252.csv")
    assert read.encoding == "cp1252"
    assert lad_codes_by_la_code(read) == SYNTHETIC_LEA_TO_ONS
    assert read.rows["la_name"].tolist() == ["Northbrook", "St Anne\u2019s Eastmere"]


# --------------------------------------------------------------------------- locators


def test_locators_find_real_file_names(tmp_path):
    ref = tmp_path / "reference"
    ref.mkdir()
    assert postcode_lookup_file(tmp_path) is None and ward_boundaries_file(tmp_path) is None
    assert postcode_lookup_file(tmp_path / "missing") is None
    for name in ("ONSPD_FEB_2025_UK.csv", "File_7_-_All_IoD2019_Scores__Ranks__Deciles.csv",
                 "Wards_May_2024_Boundaries_UK_BGC.geojson", "la_codes.csv"):
        (ref / name).write_text("x", encoding="utf-8")
    assert postcode_lookup_file(tmp_path).name == "ONSPD_FEB_2025_UK.csv"
    assert deprivation_file(tmp_path).name.startswith("File_7")
    assert ward_boundaries_file(tmp_path).name.startswith("Wards_May_2024")
    assert la_codes_file(tmp_path).name == "la_codes.csv"
    (ref / "ONSPD_NOV_2024_UK.csv").write_text("x", encoding="utf-8")
    with pytest.raises(SourceFileError, match="several Postcode lookup .* files"):
        postcode_lookup_file(tmp_path)
