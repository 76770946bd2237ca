"""Pacing shared by every replica: each turn is a slot claimed from a shared ledger.

Three replicas each pacing on their own send a channel three posts a second where
Slack allows one. `SharedPacer` asks a shared ledger (the database, through the
callables the wiring injects: `hub.store.pacing` on PostgreSQL) for the key's next
free slot, sleeps until it, and holds the turn for the block; when the block ends it
pushes the key's next slot to at least `interval` after the end, as `KeyedPacer`
does, so a slow call (or the first one of a lane, which also opened a connection)
still leaves the vendor a full interval.

Slots claimed while an earlier turn is still running are spaced from the earlier
slot's *start*; `margin` (a fraction of the interval) widens each slot a little so the
jitter between claiming a slot and the request reaching the vendor (waking up,
sending) cannot bring two requests closer than the vendor's limit. The ledger's clock
decides: a claim answers "wait this many seconds", so the replicas' own clocks never
need to agree.

While it waits for its slot, a caller waits in the `WaitingRoom` it was given (the job
worker's, see `connectors.common.pacer`), so the wait holds no worker slot. When the
room is full and this process already has callers waiting for the key (a backlog),
the caller is told to come back later (`LaneBacklogged`) before it claims anything:
a claimed slot left unused would only waste the key's time. The callers sent away for
a key are given return times one slot apart (`promised_until`, as `KeyedPacer` does),
not all the same one, so they do not come back as a herd to be sent away again. The
promises are this process's: each replica spaces its own callers (a shared promise
would need the ledger to hold it too), and a promise reserves no slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from connectors.common.pacer import LaneBacklogged, WaitingRoom, waiting_in

# (key, interval seconds) -> seconds to wait for the slot just claimed.
ClaimSlot = Callable[[str, float], Awaitable[float]]
# (key, seconds) -> None: the key's next slot starts no sooner than `seconds` from now.
HoldBack = Callable[[str, float], Awaitable[None]]

# 5 %: 50 ms on Slack's and Statuspage's one second, far above loopback jitter and a
# wake-up's lateness, small enough not to slow a storm noticeably.
DEFAULT_MARGIN = 0.05
# Callers of one process that hold a claimed slot of one key at once; more are sent away
# (`LaneBacklogged`) before claiming. A claimed slot is the ledger's: when the replica
# dies, every slot its waiting callers held is lost to the channel and their jobs, taken
# over, claim again at the back. Unbounded (the waiting room holds 256), one kill wasted
# minutes of a DM channel in the chaos run's scenario A; 16 bounds it to 16 s a key.
MAX_WAITING_PER_KEY = 16
# Keys with a promise kept beyond which the expired ones are dropped (memory bound).
PROMISES_KEPT = 1024


class SharedPacer:
    """A `Pacer` whose turns are claimed from a ledger every replica shares."""

    def __init__(
        self,
        interval: float,
        claim: ClaimSlot,
        hold_back: HoldBack,
        *,
        namespace: str,
        margin: float = DEFAULT_MARGIN,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        room: WaitingRoom | None = None,
        max_waiting_per_key: int = MAX_WAITING_PER_KEY,
    ) -> None:
        if interval < 0 or margin < 0:
            raise ValueError("interval and margin must not be negative")
        self._interval = interval
        self._margin = margin
        self._claim = claim
        self._hold_back = hold_back
        self._namespace = namespace
        self._sleep = sleep
        self._clock = clock  # this process's: only for the return times it promises
        self._room = room
        self._max_waiting_per_key = max_waiting_per_key
        # Per key, when the last caller sent away was told to come back (no entry: none).
        self._promised_until: dict[str, float] = {}
        # Callers of this process waiting for each key's slot (no entry: none).
        self._waiting: dict[str, int] = {}
        # Claims from this process go out in arrival order, so its posts keep theirs.
        # One small lock per key ever paced here (channels, API keys: a bounded set).
        self._claiming: dict[str, asyncio.Lock] = {}

    def _ledger_key(self, key: str) -> str:
        # One ledger for every vendor: the namespace keeps Slack's C123 apart from others.
        return f"{self._namespace}:{key}"

    @asynccontextmanager
    async def turn(self, key: str, *, interval: float | None = None) -> AsyncIterator[float]:
        spacing = self._interval if interval is None else interval
        slot = spacing * (1 + self._margin)
        if slot == 0:
            yield 0.0
            return
        ahead = self._waiting.get(key, 0)
        if ahead and (
            ahead >= self._max_waiting_per_key or (self._room is not None and self._room.full())
        ):
            raise self._send_away(key, ahead, slot)
        lock = self._claiming.setdefault(key, asyncio.Lock())
        async with lock:
            delay = max(0.0, await self._claim(self._ledger_key(key), slot))
        if delay > 0:
            await self._wait_for_slot(key, delay)
        try:
            yield delay
        finally:
            # The call's own outcome must not be masked by the ledger being briefly
            # unreachable: the claimed slot already spaced this call, only the extra
            # spacing from its end would be lost.
            with contextlib.suppress(Exception):
                await self._hold_back(self._ledger_key(key), spacing)

    def _send_away(self, key: str, ahead: int, slot: float) -> LaneBacklogged:
        """The key's next free promise: after the callers waiting here, and one slot
        after the caller sent away before (so the sent-away come back one by one)."""
        now = self._clock()
        after_backlog = now + (ahead + 1) * slot
        promise = max(after_backlog, self._promised_until.get(key, 0.0) + slot)
        if key not in self._promised_until and len(self._promised_until) >= PROMISES_KEPT:
            self._promised_until = {k: t for k, t in self._promised_until.items() if t > now}
        self._promised_until[key] = promise
        return LaneBacklogged(
            f"{ahead} calls are waiting for {key}'s turn", retry_after=promise - now
        )

    async def _wait_for_slot(self, key: str, delay: float) -> None:
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with waiting_in(self._room):
                await self._sleep(delay)
        finally:
            if (left := self._waiting[key] - 1) > 0:
                self._waiting[key] = left
            else:
                del self._waiting[key]  # bounded: only keys with callers waiting

    async def defer(self, key: str, seconds: float) -> None:
        await self._hold_back(self._ledger_key(key), max(seconds, 0.0))
