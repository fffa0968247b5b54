"""Which PII key the warehouse's hashes were made with: its fingerprint, never the key.

operations.md "Privacy and security": caller numbers, senders and visitor ids reach the warehouse
only as HMAC-SHA256 under the PII key. Hashes made under two keys never match, so a load with
another key would count one caller as two and miss every blocklisted number, silently. The
warehouse therefore keeps the key's fingerprint in `raw.pii_key` (one row) and every load checks
it before writing anything.

The fingerprint is HMAC-SHA256(key, FINGERPRINT_MESSAGE): like any HMAC it tells nothing about
the key, yet any other key gives another fingerprint.

Rotating the key is `o211 rebuild` with the new key: it re-hashes every archived file and
records the new fingerprint in the fresh warehouse it then swaps in, all or nothing.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from ingest.loading import roll_back

FINGERPRINT_MESSAGE = b"o211 pii key fingerprint v1"
# Enough of a fingerprint for a person to tell two keys apart in a message.
SHOWN_CHARS = 12

# How the row of `raw.pii_key` came to be (its `recorded_by` column).
FIRST_LOAD = "first load"
REBUILD = "rebuild"
ADOPTED = "existing warehouse"


class PiiKeyMismatch(RuntimeError):
    """The key of this load is not the one the warehouse's hashes were made with."""


@dataclass(frozen=True)
class RecordedKey:
    fingerprint: str
    recorded_at: datetime
    recorded_by: str


def fingerprint(key: bytes) -> str:
    """Lower-case hex HMAC-SHA256 of a fixed message under `key`: names the key, reveals nothing."""
    return hmac.new(key, FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()


def shown(fingerprint_hex: str) -> str:
    return f"{fingerprint_hex[:SHOWN_CHARS]}…"


def recorded_key(con: duckdb.DuckDBPyConnection) -> RecordedKey | None:
    rows = con.execute(
        "select fingerprint, recorded_at, recorded_by from raw.pii_key "
        "order by recorded_at desc limit 1"
    ).fetchall()
    if not rows:
        return None
    found, recorded_at, recorded_by = rows[0]
    return RecordedKey(str(found), recorded_at, str(recorded_by))


def record_key(con: duckdb.DuckDBPyConnection, key: bytes, recorded_by: str) -> RecordedKey:
    """Make `key` the warehouse's key (one row, replaced whole)."""
    row = RecordedKey(fingerprint(key), datetime.now(UTC), recorded_by)
    con.begin()
    try:
        con.execute("delete from raw.pii_key")
        con.execute(
            "insert into raw.pii_key (fingerprint, recorded_at, recorded_by) values (?, ?, ?)",
            [row.fingerprint, row.recorded_at, row.recorded_by],
        )
        con.commit()
    except BaseException:
        roll_back(con)
        raise
    return row


def mismatch_message(held: RecordedKey, key: bytes) -> str:
    """One line: what differs, that nothing moved, and the two ways out."""
    when = held.recorded_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"the PII key differs from the one this warehouse was loaded with (fingerprint "
        f"{shown(held.fingerprint)} recorded {when}; this key {shown(fingerprint(key))}): "
        "nothing was loaded or moved. Use the original key (O211_PII_KEY or .pii_key, also in "
        "backups), or rotate to this one: stop the schedules and run `o211 rebuild` with it"
    )


def holds_loads(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any hashed identity can already be in the warehouse (a loaded file or list)."""
    ((loaded,),) = con.execute(
        "select exists (select 1 from raw.load_log) or exists (select 1 from raw.blocklist)"
    ).fetchall()
    return bool(loaded)


def guard_pii_key(
    con: duckdb.DuckDBPyConnection, key: bytes, notice: Callable[[str], None] | None = None
) -> None:
    """Refuse a load whose key is not the warehouse's (PiiKeyMismatch); call before any write.

    The first load into an empty warehouse records its key. A warehouse that already holds loads
    but no fingerprint was made before fingerprints were kept: its key cannot be told from the
    hashes, so the current key is recorded (the one every load has used, unless it was changed
    by hand meanwhile) and `notice` is told, with the way out should that be wrong.
    """
    held = recorded_key(con)
    if held is not None:
        if not hmac.compare_digest(held.fingerprint, fingerprint(key)):
            raise PiiKeyMismatch(mismatch_message(held, key))
        return
    if not holds_loads(con):
        record_key(con, key, FIRST_LOAD)
        return
    adopted = record_key(con, key, ADOPTED)
    if notice is not None:
        notice(
            "this warehouse was loaded before the PII key's fingerprint was kept: the current "
            f"key's ({shown(adopted.fingerprint)}) is now recorded, and a load with another key "
            "will be refused. If its identities were hashed with another key, run `o211 rebuild` "
            "to re-hash them all with this one"
        )
