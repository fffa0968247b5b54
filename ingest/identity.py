"""Caller, sender and visitor identities: normalised, then replaced by a keyed hash.

rules.md "Caller identity" and operations.md "Privacy and security": the warehouse only ever
sees `HMAC-SHA256(key, normalised identity)` as lower-case hex; withheld identities are null so
that they are never grouped together.
"""

from __future__ import annotations

import hmac
import os
import secrets

import pandas as pd

from o211.paths import DataPaths

PII_KEY_ENV = "O211_PII_KEY"
PII_KEY_BYTES = 32

WITHHELD_WORDS = frozenset({"", "anonymous", "restricted", "private", "unknown", "unavailable"})
MIN_PHONE_DIGITS = 7


class PiiKeyError(RuntimeError):
    """The hashing key cannot be read or made."""


def resolve_pii_key(paths: DataPaths) -> bytes:
    """The HMAC key: `O211_PII_KEY`, else `$O211_DATA_DIR/.pii_key` (made, mode 0600, if missing).

    The same key must be used for every load (and for a rebuild), or one caller gets two hashes.
    """
    from_env = os.environ.get(PII_KEY_ENV, "")
    if from_env.strip():
        return from_env.strip().encode("utf-8")
    key_file = paths.pii_key_file
    if key_file.exists():
        key = key_file.read_bytes().strip()
        if not key:
            raise PiiKeyError(f"the key file {key_file} is empty; restore it from backup")
        return key
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(PII_KEY_BYTES).encode("ascii")
    # O_EXCL: two first runs at once must not write two different keys.
    try:
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_bytes().strip()
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
    return key


def normalise_phones(text: pd.Series) -> pd.Series:
    """Digits only; 11 digits starting with 1 drop it; withheld or under 7 digits -> null."""
    lowered = text.str.strip().str.lower()
    digits = text.str.replace(r"\D", "", regex=True)
    digits = digits.where(~((digits.str.len() == 11) & digits.str.startswith("1")), digits.str[1:])
    withheld = lowered.isin(WITHHELD_WORDS) | (digits.str.len() < MIN_PHONE_DIGITS)
    return digits.where(~withheld, None)


def normalise_emails(text: pd.Series) -> pd.Series:
    """Trimmed and lower-cased; blank -> null."""
    lowered = text.str.strip().str.lower()
    return lowered.where(lowered != "", None)


def normalise_visitor_ids(text: pd.Series) -> pd.Series:
    """Trimmed; blank -> null."""
    trimmed = text.str.strip()
    return trimmed.where(trimmed != "", None)


def hash_identities(normalised: pd.Series, key: bytes) -> pd.Series:
    """HMAC-SHA256 hex of each non-null identity; each distinct value is hashed once."""
    distinct = normalised.dropna().unique()
    digests = {value: hmac.digest(key, value.encode("utf-8"), "sha256").hex() for value in distinct}
    return normalised.map(digests).astype("str").where(normalised.notna(), None)
