"""Text that a spreadsheet would run as a formula, made safe before any CSV or workbook is written.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (a name typed as
``=HYPERLINK(...)``) is prefixed with ``'`` (OWASP's advice on CSV injection), so opening the file never
runs anything. Used by the board exports and the clerical-review file; it lives at the bottom layer so
that both can import it (docs/architecture.md).
"""
from __future__ import annotations

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that start like a formula, prefixed with ``'``; numbers untouched."""
    out = frame.copy()
    for column in out.columns:
        values = out[column].astype("object")
        risky = values.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_START))
        if risky.any():
            out[column] = values.where(~risky, "'" + values.astype(str))
    return out
