"""Deterministic spreading of check start times over their interval."""

from __future__ import annotations

import datetime as dt
import hashlib
import math

EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def slot_offset(key: str, interval: float) -> float:
    """A stable offset in [0, interval) from the check's key, so 10,000 checks never fire together."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") % 1_000_000) / 1_000_000 * interval


def next_slot_after(key: str, interval: float, after: dt.datetime) -> dt.datetime:
    """The first slot of this check strictly after `after` (missed slots are skipped, never piled up)."""
    offset = slot_offset(key, interval)
    elapsed = (after - EPOCH).total_seconds() - offset
    n = math.floor(elapsed / interval) + 1
    while True:
        slot = EPOCH + dt.timedelta(seconds=n * interval + offset)
        # Whole milliseconds: slots are compared for equality (claims, unique keys) across databases.
        slot = slot.replace(microsecond=(slot.microsecond // 1000) * 1000)
        if slot > after:  # rounding down must not give back the slot `after` falls in
            return slot
        n += 1


# A heartbeat is judged at least this often, whatever its period, so a missed ping shows within a minute.
HEARTBEAT_EVERY = 60.0


def run_interval(kind: str, interval: float) -> float:
    """How often a check is scheduled: its interval, but heartbeats are judged at least every minute."""
    return min(interval, HEARTBEAT_EVERY) if kind == "heartbeat" else interval
