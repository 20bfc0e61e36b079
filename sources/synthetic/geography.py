"""Fictional geography: wards, LSOAs, postcodes, deprivation and ward polygons.

Codes follow the ONS shapes (ward E05…, LSOA E01…, LAD E06…) with numbers no
real area uses. Postcode areas start with Q, which no real UK postcode does, so a
synthetic postcode can never be mistaken for a real address.
Deprivation is IMD-style: each LSOA gets a national rank (1 = most deprived of
32,844) and decile (1 = most deprived 10 %).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import Authority

ENGLAND_LSOAS = 32_844
_WARD_STEMS = [
    "Abbey", "Ashby", "Beacon", "Bramley", "Brook", "Castle", "Church", "Clifton",
    "Coldwell", "Deane", "Elm", "Fairfield", "Fenwick", "Gorse", "Hartley", "Heath",
    "Highfield", "Holme", "Kings", "Lark", "Lea", "Linthorpe", "Marsh", "Meadow",
    "Mill", "Moor", "Newby", "Oakwood", "Park", "Priory", "Queens", "Riverside",
    "St Anne's", "Saltwell", "Stanton", "Thornley", "Upton", "Westfield", "Whinmoor", "Yew Tree",
]
_WARD_SUFFIXES = ["", " North", " South", " East", " West", " Central", " Vale", " Green"]
_UNIT_LETTERS = list("ABDEFGHJLNPQRSTUWXYZ")  # postcode unit letters (no C I K M O V)


@dataclass
class Geography:
    wards: pd.DataFrame  # ward_code, ward_name, la_code, la_name, lea, deprivation_z, weight
    lsoas: pd.DataFrame  # lsoa_code, lsoa_name, ward_code, la_code, imd_rank, imd_decile, weight
    postcodes: pd.DataFrame  # postcode, lsoa_code, ward_code, la_code, lea
    geojson: dict


def _ward_names(rng: np.random.Generator, n: int, taken: set[str]) -> list[str]:
    names: list[str] = []
    stems = list(rng.permutation(_WARD_STEMS))
    for suffix in _WARD_SUFFIXES:
        for stem in stems:
            name = f"{stem}{suffix}"
            if name not in taken:
                names.append(name)
                taken.add(name)
            if len(names) == n:
                return names
    raise ValueError("too many wards for the name list")


def _ward_polygons(rng: np.random.Generator, n: int, west: float, south: float, east: float, north: float):
    """Irregular rectangles tiling a box: rows of cells with jittered boundaries."""
    rows = max(1, round(math.sqrt(n / 2)))
    per_row = [n // rows + (1 if r < n % rows else 0) for r in range(rows)]
    heights = np.linspace(south, north, rows + 1)
    polygons = []
    for r, cells in enumerate(per_row):
        xs = np.linspace(west, east, cells + 1)
        xs[1:-1] += rng.uniform(-0.3, 0.3, cells - 1) * (east - west) / cells
        for c in range(cells):
            x0, x1, y0, y1 = xs[c], xs[c + 1], heights[r], heights[r + 1]
            ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
            polygons.append([[round(x, 5), round(y, 5)] for x, y in ring])
    return polygons


def build_geography(rng: np.random.Generator, authorities: tuple[Authority, ...], children: int) -> Geography:
    ward_rows, lsoa_rows, postcode_rows, features = [], [], [], []
    taken: set[str] = set()
    for a_index, la in enumerate(authorities):
        names = _ward_names(rng, la.wards, taken)
        west = -1.60 + 0.32 * a_index
        polygons = _ward_polygons(rng, la.wards, west, 53.40, west + 0.30, 53.60)
        ward_weights = rng.lognormal(0, 0.25, la.wards)
        la_children = children * la.share
        for w in range(la.wards):
            ward_code = f"E059{a_index}{w + 1:04d}"  # GSS shape: letter + 8 digits
            z = rng.normal(la.deprivation_shift, 0.9)
            ward_rows.append((ward_code, names[w], la.lad_code, la.name, la.lea, z, ward_weights[w]))
            features.append({
                "type": "Feature",
                "properties": {"WD24CD": ward_code, "WD24NM": names[w], "LAD24CD": la.lad_code, "LAD24NM": la.name},
                "geometry": {"type": "Polygon", "coordinates": [polygons[w]]},
            })
            ward_children = la_children * ward_weights[w] / ward_weights.sum()
            n_lsoa = max(3, round(ward_children / 330))
            district = 1 + w // 2
            for s in range(n_lsoa):
                lsoa_code = f"E019{a_index}{len(lsoa_rows) + 1:04d}"
                lz = z + rng.normal(0, 0.6)
                pct = 0.5 * (1 + math.erf(-lz / math.sqrt(2)))  # share of England less deprived
                rank = min(ENGLAND_LSOAS, max(1, round(pct * ENGLAND_LSOAS)))
                decile = min(10, 1 + (rank - 1) * 10 // ENGLAND_LSOAS)
                lsoa_rows.append((lsoa_code, f"{la.name} {w + 1:03d}{chr(65 + s % 26)}", ward_code,
                                  la.lad_code, rank, decile, lz, rng.lognormal(0, 0.2)))
                sector = s % 10
                n_postcodes = max(8, round(ward_children / n_lsoa / 14))
                units = rng.choice(len(_UNIT_LETTERS) ** 2, size=n_postcodes, replace=False)
                for u in units:
                    unit = _UNIT_LETTERS[u // len(_UNIT_LETTERS)] + _UNIT_LETTERS[u % len(_UNIT_LETTERS)]
                    postcode = f"{la.postcode_area}{district} {sector}{unit}"
                    postcode_rows.append((postcode, lsoa_code, ward_code, la.lad_code, la.lea))
    wards = pd.DataFrame(ward_rows, columns=["ward_code", "ward_name", "la_code", "la_name", "lea", "deprivation_z", "weight"])
    lsoas = pd.DataFrame(lsoa_rows, columns=["lsoa_code", "lsoa_name", "ward_code", "la_code", "imd_rank",
                                             "imd_decile", "deprivation_z", "weight"])
    postcodes = pd.DataFrame(postcode_rows, columns=["postcode", "lsoa_code", "ward_code", "la_code", "lea"])
    postcodes = postcodes.drop_duplicates("postcode", ignore_index=True)
    geojson = {"type": "FeatureCollection", "features": features}
    return Geography(wards, lsoas, postcodes, geojson)
