"""Synthetic identifiers in the real formats, with real check digits.

* NHS numbers: 10 digits, modulus-11 check digit. Drawn from the 999 range that
  NHS England reserves for testing (then 998, 997 … if a very large partnership
  needs more), so no synthetic number is a real person's.
* UPNs (DfE unique pupil numbers): check letter + LA number (3) + establishment (4)
  + year (2) + serial (3), check letter by the DfE modulus-23 rule.
* LAchildIDs: each authority's case-management system numbers children its own way.
"""
from __future__ import annotations

import numpy as np

_UPN_LETTERS = np.array(list("ABCDEFGHJKLMNPQRTUVWXYZ"))


def nhs_check_digit(first_nine: np.ndarray) -> np.ndarray:
    """Modulus-11 check digit for integer arrays of 9-digit stems; 10 means invalid."""
    stems = np.asarray(first_nine, dtype=np.int64)
    total = np.zeros_like(stems)
    for position, weight in enumerate(range(10, 1, -1)):
        digit = (stems // 10 ** (8 - position)) % 10
        total += digit * weight
    check = 11 - total % 11
    return np.where(check == 11, 0, check)


def is_valid_nhs_number(numbers: np.ndarray) -> np.ndarray:
    """True where a 10-digit string has the right modulus-11 check digit."""
    s = np.asarray(numbers, dtype=str)
    ok = np.char.isdigit(s) & (np.char.str_len(s) == 10)
    stems = np.where(ok, s, "0000000000")
    as_int = np.array([int(x[:9]) for x in stems], dtype=np.int64)
    last = np.array([int(x[9]) for x in stems], dtype=np.int64)
    return ok & (nhs_check_digit(as_int) == last)


def draw_nhs_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """n distinct valid NHS numbers (strings) from the test ranges 999…, 998…"""
    out: list[np.ndarray] = []
    need = n
    block = 999
    while need > 0:
        stems = np.arange(block * 1_000_000, (block + 1) * 1_000_000, dtype=np.int64)
        checks = nhs_check_digit(stems)
        valid = stems[checks != 10] * 10 + checks[checks != 10]
        take = min(need, valid.size)
        out.append(rng.choice(valid, size=take, replace=False))
        need -= take
        block -= 1
    numbers = np.concatenate(out)
    return numbers.astype(str)


def upn_check_letter(stems: np.ndarray) -> np.ndarray:
    """DfE check letter for 12-digit UPN stems (LA, establishment, year, serial)."""
    s = np.asarray(stems, dtype=np.int64)
    total = np.zeros_like(s)
    for position in range(12):  # position 0 = first digit after the check letter
        digit = (s // 10 ** (11 - position)) % 10
        total += digit * (position + 2)
    return _UPN_LETTERS[total % 23]


def draw_upns(rng: np.random.Generator, n: int, lea: np.ndarray, entry_year: np.ndarray) -> np.ndarray:
    """Permanent UPNs for children entering school in ``entry_year`` in authority ``lea``."""
    establishment = rng.integers(2000, 4000, size=n)  # primary schools
    serial = rng.permutation(n) % 1000
    # serials collide only if two children share LA, school, year and serial: make the
    # stem unique by construction through the permutation plus the school number
    stems = (
        np.asarray(lea, dtype=np.int64) * 10**9
        + establishment * 10**5
        + (np.asarray(entry_year, dtype=np.int64) % 100) * 10**3
        + serial
    )
    # resolve any duplicate stems deterministically
    _, first_index = np.unique(stems, return_index=True)
    dup = np.ones(n, dtype=bool)
    dup[first_index] = False
    while dup.any():
        stems[dup] = stems[dup] + 10**5 * rng.integers(1, 1999, size=dup.sum())
        _, first_index = np.unique(stems, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first_index] = False
    letters = upn_check_letter(stems)
    return np.char.add(letters, np.char.zfill(stems.astype(str), 12))


def local_child_ids(lea: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """LAchildIDs in the style of each authority's system (unique within authority)."""
    if lea == "991":  # a numeric person ID, as many case-management systems use
        values = rng.choice(np.arange(1_000_000, 9_999_999), size=n, replace=False)
        return values.astype(str)
    values = rng.choice(np.arange(100_000, 999_999), size=n, replace=False)
    return np.char.add("EM", values.astype(str))
