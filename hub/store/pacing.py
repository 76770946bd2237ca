"""The pacing ledger replicas share (PostgreSQL): per key, when its next call may start.

`claim_slot` is one atomic upsert: the key's row is locked for the statement, its
`next_at` moved on by one slot from whichever is later, itself or now, and the
caller told how long to wait for the slot it got. Concurrent claims from any number
of replicas therefore queue up one slot apart, in the order PostgreSQL serialised
them, without a lock held across the wait or the vendor call. All times are the
database's (`clock_timestamp()`, not the transaction's start), so the replicas'
clocks need not agree.

SQLite is one process by design: the wiring paces it in memory (`KeyedPacer`).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_CLAIM = text(
    """
    WITH clock AS (SELECT clock_timestamp() AS now)
    INSERT INTO pacing_slots AS slot (key, next_at)
    SELECT :key, clock.now + make_interval(secs => CAST(:slot AS double precision))
    FROM clock
    ON CONFLICT (key) DO UPDATE
    SET next_at = greatest(
        slot.next_at + make_interval(secs => CAST(:slot AS double precision)),
        excluded.next_at
    )
    RETURNING extract(epoch FROM slot.next_at - (SELECT now FROM clock))
        - CAST(:slot AS double precision) AS wait
    """
)

_HOLD_BACK = text(
    """
    INSERT INTO pacing_slots AS slot (key, next_at)
    VALUES (:key, clock_timestamp() + make_interval(secs => CAST(:seconds AS double precision)))
    ON CONFLICT (key) DO UPDATE SET next_at = greatest(slot.next_at, excluded.next_at)
    """
)


async def claim_slot(engine: AsyncEngine, key: str, slot_seconds: float) -> float:
    """Claim `key`'s next slot of `slot_seconds`; the seconds to wait until it starts."""
    async with engine.begin() as conn:
        wait = (await conn.execute(_CLAIM, {"key": key, "slot": slot_seconds})).scalar_one()
    return max(0.0, float(wait))


async def hold_back(engine: AsyncEngine, key: str, seconds: float) -> None:
    """`key`'s next slot starts no sooner than `seconds` from now (a turn's end, a 429)."""
    async with engine.begin() as conn:
        await conn.execute(_HOLD_BACK, {"key": key, "seconds": seconds})
