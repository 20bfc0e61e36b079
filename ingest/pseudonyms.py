"""Keyed pseudonyms: HMAC-SHA-256 of an identifier, computed inside DuckDB.

The analytical warehouse never holds a local child ID, an NHS number or a name. Where a
table needs to say "these rows are the same child", it holds a *pseudonym*: the
HMAC-SHA-256 (RFC 2104) of the identifier under a secret key, written as 64 lower-case
hex characters. Without the key nobody can recompute a pseudonym from a known ID; with
it, the same ID always gives the same pseudonym, so pseudonyms join across tables and
quarters.

The key (32 random bytes) comes from the environment variable ``NEGLECT_PSEUDONYM_KEY``
(64 hex characters) when set, otherwise from the file ``pseudonym_key_path`` (setting;
default ``secrets/pseudonym.key``, git-ignored), which is generated on first use with
permissions 600. Losing the key changes every pseudonym on the next run (the identity
store still links records, so nothing is lost, but pseudonyms stop matching old copies).

:func:`hmac_sql` turns the key into a SQL expression so that millions of rows are
pseudonymised by DuckDB's vectorised ``sha256`` instead of a Python loop. HMAC is
``H((K xor opad) || H((K xor ipad) || message))`` with a 64-byte block; the key is
short, so it is zero-padded to 64 bytes.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_ENV_VAR = "NEGLECT_PSEUDONYM_KEY"
KEY_BYTES = 32
_BLOCK = 64  # SHA-256 block size in bytes


class PseudonymKeyError(ValueError):
    """The pseudonym key is missing, unreadable or not 32 bytes of hex."""


def load_key(key_path: Path, environ: dict[str, str] | None = None) -> bytes:
    """The secret key: from ``NEGLECT_PSEUDONYM_KEY`` or ``key_path`` (created if absent)."""
    env = os.environ if environ is None else environ
    text = env.get(KEY_ENV_VAR)
    where = KEY_ENV_VAR
    if not text:
        key_path = Path(key_path)
        if not key_path.exists():
            key_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(KEY_BYTES) + "\n")
        text = key_path.read_text(encoding="ascii")
        where = str(key_path)
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise PseudonymKeyError(f"{where}: the pseudonym key must be {2 * KEY_BYTES} hex characters") from None
    if len(key) != KEY_BYTES:
        raise PseudonymKeyError(f"{where}: the pseudonym key must be {2 * KEY_BYTES} hex characters, "
                                f"found {2 * len(key)}")
    return key


def pseudonym(key: bytes, message: str) -> str:
    """HMAC-SHA-256 of ``message`` (UTF-8) in hex: the Python twin of :func:`hmac_sql`, for tests."""
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def hmac_sql(key: bytes, message_sql: str) -> str:
    """A DuckDB expression giving the HMAC-SHA-256 hex of the VARCHAR expression ``message_sql``.

    NULL in, NULL out. The key pads appear in the SQL as hex literals: do not log the SQL.
    """
    padded = key.ljust(_BLOCK, b"\0")
    inner = bytes(b ^ 0x36 for b in padded).hex()
    outer = bytes(b ^ 0x5C for b in padded).hex()
    return (f"sha256(unhex('{outer}') || unhex(sha256(unhex('{inner}') || encode(CAST({message_sql} AS VARCHAR)))))")
