"""Read ward boundaries: an ONS GeoJSON FeatureCollection, one feature per ward.

``read_ward_boundaries(path)`` returns a :class:`sources.postcode_lookup.ReferenceRead` with one row
per feature: ``ward_code``, ``ward_name``, ``lad_code``, ``lad_name`` (from the feature's properties),
``geometry_type`` (Polygon or MultiPolygon), ``geometry_json`` (the geometry as compact JSON text,
coordinates untouched: longitude/latitude for the Open Geography Portal's GeoJSON downloads),
``source_file`` and ``feature_index`` (0-based position in ``features``).

Property names are matched by ``sources/schemas/ward_boundaries.yaml`` like CSV headers: any year
suffix (WD23CD, WD24CD ...), any case; if several vintages are present the latest is used and
``notes`` says so. Further properties (WD24NMW, BNG_E, LAT, GlobalID ...) are ignored.

A feature that is not a Feature object, has no ward code, a code of the wrong shape, no Polygon or
MultiPolygon geometry, or a ward code already on an earlier feature goes to ``rejects`` (its
``source_line`` holds the feature index). A file that is empty, not JSON, not a FeatureCollection,
without features, or whose features carry no ward code property at all raises
:class:`sources.errors.SourceFileError`. The whole file is parsed in memory: use the generalised
(BGC) boundaries, a few MB nationally, not the full-resolution (BFC) ones.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import SourceFileError
from .limits import read_regular
from .postcode_lookup import ReferenceRead, load_reference_columns, pick_columns
from .schema import load_schema
from .tabular import ColumnFailure, collect_failures

SOURCE = "ward_boundaries"


def ward_boundaries_file(incoming: Path | str) -> Path | None:
    """``incoming/reference/wards*.geojson`` (the ONS download is e.g. ``Wards_May_2024_Boundaries_UK_BGC.geojson``)."""
    from .incoming import reference_file

    return reference_file(incoming, "ward_boundaries")


def read_ward_boundaries(path: Path | str) -> ReferenceRead:
    path = Path(path)
    features, encoding = _features(path)
    columns = load_reference_columns(SOURCE)
    allowed = tuple(load_schema(SOURCE).options.get("geometry_types", ("Polygon", "MultiPolygon")))
    n = len(features)
    index = np.arange(n, dtype=np.int64)

    is_feature = np.array([isinstance(f, dict) and f.get("type") == "Feature" for f in features], dtype=bool)
    props = pd.DataFrame.from_records(
        [f["properties"] if ok and isinstance(f.get("properties"), dict) else {} for f, ok in zip(features, is_feature)],
        index=index)
    picked, notes = pick_columns(path, [str(c) for c in props.columns], columns,
                                 where="feature properties", what="property")
    values = {name: props[h].astype("string").fillna("").str.strip() for name, h in picked.items()}
    geometry = [f.get("geometry") if ok else None for f, ok in zip(features, is_feature)]
    kind = pd.Series([g.get("type") if isinstance(g, dict) else None for g in geometry], index=index, dtype="string")

    fails = [ColumnFailure("", "invalid_feature", ~is_feature, "not a GeoJSON Feature object")]
    for col in columns:
        if col.name not in values:
            continue
        s, blank = values[col.name], (values[col.name] == "").to_numpy() & is_feature
        if col.spec.required:
            fails.append(ColumnFailure(col.name, "blank_mandatory", blank, f"{col.name} ({picked[col.name]}) is blank "
                                  "or missing but mandatory"))
        if col.spec.pattern is not None:
            bad = ~blank & is_feature & ~s.str.fullmatch(col.spec.pattern).fillna(False).to_numpy(dtype=bool)
            fails.append(ColumnFailure(col.name, "invalid_code", bad,
                                  col.name + " '" + s.str.slice(0, 40) + "' is not a 9-character ONS code"))
    bad_geometry = is_feature & ~kind.isin(allowed).fillna(False).to_numpy(dtype=bool)
    fails.append(ColumnFailure("geometry", "invalid_geometry", bad_geometry,
                          "geometry is " + kind.fillna("missing") + f"; expected {' or '.join(allowed)}"))
    rejected = np.logical_or.reduce([f.mask for f in fails])
    repeat = values["ward_code"].where(~rejected).duplicated(keep="first").to_numpy() & ~rejected
    fails.append(ColumnFailure("ward_code", "duplicate_key", repeat,
                          "ward_code '" + values["ward_code"] + "' already on an earlier feature"))
    rejects = collect_failures(fails, SOURCE, path.name, index)
    keep = ~(rejected | repeat)

    def text(name: str) -> pd.Series:
        s = values.get(name, pd.Series("", index=index, dtype="string"))
        return s.where(s != "").astype("string")[keep]

    rows = pd.DataFrame({
        **{name: text(name) for name in ("ward_code", "ward_name", "lad_code", "lad_name")},
        "geometry_type": kind[keep],
        "geometry_json": pd.Series([json.dumps(g, separators=(",", ":")) for g, k in zip(geometry, keep) if k],
                                   index=index[keep], dtype="string"),
        "source_file": pd.Series(path.name, index=index[keep], dtype="string"),
        "feature_index": index[keep],
    }).reset_index(drop=True)
    return ReferenceRead(rows=rows, rejects=rejects, rows_read=n, encoding=encoding, columns_used=picked, notes=notes,
                         position="feature")


def _features(path: Path) -> tuple[list, str]:
    """(the ``features`` list of a FeatureCollection, encoding); SourceFileError for anything else."""
    raw = read_regular(path)  # a regular file of at most sources.limits.MAX_FILE_BYTES
    if not raw.strip():
        raise SourceFileError(path, "line 1", "the file is empty; expected a GeoJSON FeatureCollection")
    try:
        text, encoding = raw.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError:
        text, encoding = raw.decode("cp1252", errors="replace"), "cp1252"
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceFileError(path, f"line {exc.lineno}, column {exc.colno}",
                              f"not valid JSON ({exc.msg}); expected a GeoJSON FeatureCollection") from None
    except RecursionError:
        raise SourceFileError(path, "file", "arrays or objects nested too deep to read (thousands of levels); "
                              "expected a GeoJSON FeatureCollection") from None
    kind = (doc.get("type") or "JSON object without a type") if isinstance(doc, dict) else f"JSON {type(doc).__name__}"
    if kind != "FeatureCollection":
        raise SourceFileError(path, "top level", f"a {kind!s} rather than a FeatureCollection; expected "
                              '{"type": "FeatureCollection", "features": [...]} with one feature per ward')
    features = doc.get("features")
    if not isinstance(features, list) or not features:
        raise SourceFileError(path, "'features'", "missing, not a list or empty; expected one feature per ward")
    return features, encoding
