"""When a reject message may quote the value it rejects.

A message in ``quality.rejects`` quotes a value only when it cannot be a person's identifier:
the value sits in a *coded* column (a code map or code list) that is not marked ``identifier``, and
it is shaped like a code of that list:

* at most ``MAX_SHOWN_CHARS`` characters, and no ``@``;
* every word in it (a run of letters or digits, case ignored) is a word of the code list (its
  values and codes: "Physical", "abuse", "NEG", "16A" ...) or a single letter ("a)" prefixes),
  except at most one other word, which must be a short code with a digit (at most 3 characters:
  "2", "N11", "99Z") or stand beside a word of the list ("Financial abuse");
* the column holds no more than ``MAX_DISTINCT_SHOWN`` different unknown values in the file: more
  means the column is probably mislabelled (a Surname under a Gender header gives a different
  "code" on every line), and then no value of it is quoted.

A surname, an NHS number, a UPN, a postcode or a date of birth put under a coded header by a
slip therefore never reaches a message, while "gender '2'" or "presenting_needs '16A;99Z'" still
does. Dates, numbers and free text are never quoted: the message names the field and the line.
"""
from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd

MAX_SHOWN_CHARS = 40
MAX_DISTINCT_SHOWN = 5
_TOKEN = re.compile(r"[0-9a-z]+")


def words(texts) -> frozenset[str]:
    """The lower-case words (runs of letters or digits) of ``texts``."""
    return frozenset(t for text in texts for t in _TOKEN.findall(str(text).lower()))


@lru_cache(maxsize=None)
def code_map_words(name: str, extra: tuple[str, ...] = ()) -> frozenset[str]:
    """The words of a code map's values and codes (``sources/schemas/code_maps/<name>.csv``), plus ``extra``."""
    from .tabular import load_code_map

    mapping = load_code_map(name)
    return words([*mapping.keys(), *mapping.values(), *extra])


def code_shaped(value: str, vocabulary: frozenset[str]) -> bool:
    """True when ``value`` looks like a code of the list whose words are ``vocabulary`` (module docstring)."""
    if len(value) > MAX_SHOWN_CHARS or "@" in value:
        return False
    tokens = [t for t in _TOKEN.findall(value.lower()) if len(t) > 1]
    foreign = [t for t in tokens if t not in vocabulary]
    if not foreign:
        return True
    if len(foreign) > 1:
        return False
    if any(ch.isdigit() for ch in foreign[0]):
        return len(foreign[0]) <= 3
    return len(tokens) > 1  # a word beside words of the list ("Financial abuse"), never a word alone ("Abbott")


def quotable(values: pd.Series, vocabulary: frozenset[str]) -> np.ndarray:
    """For each failing value of one column: may the message quote it? (All False when the column holds
    more than MAX_DISTINCT_SHOWN different failing values.)"""
    text = values.fillna("").astype(str).str.strip()
    distinct = pd.unique(text)
    if len(distinct) > MAX_DISTINCT_SHOWN:
        return np.zeros(len(text), dtype=bool)
    shaped = {v: code_shaped(v, vocabulary) for v in distinct}
    return text.map(shaped).to_numpy(dtype=bool)
