"""Pacing calls per key (a channel, a project): one at a time, an interval apart, no 429s.

Vendors limit some calls per target rather than per token (Slack: about one message
per second per channel). Waiting our turn is cheaper than being told to: a 429 costs
a round trip, a retry through the job queue, and, if repeated, the vendor's patience.

Each key is a lane: callers take turns (in arrival order, so a channel's messages
keep their order), and a turn starts no sooner than `interval` after the previous
turn *ended*. Counting from the end, when the vendor has certainly received the
previous call, keeps the spacing the vendor sees at least `interval` even when the
first call of a lane also had to open a connection. Different keys never wait for
each other.

`KeyedPacer` paces one process. Several replicas each pacing alone would send the
vendor N times its limit, so the wiring gives connectors a `Pacer` (the protocol
below): a `KeyedPacer` on SQLite (one process by design) and, on PostgreSQL, a
`SharedPacer` whose slots are claimed from the database (`hub.store.pacing`),
injected as a plain async callable so that connectors never import the store.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol


class Pacer(Protocol):
    """Turns per key, `interval` apart; what connectors are given by the wiring."""

    def turn(self, key: str) -> AbstractAsyncContextManager[float]:
        """Wait for `key`'s turn and hold it for the block; yields the seconds waited."""
        ...

    async def defer(self, key: str, seconds: float) -> None:
        """Start `key`'s next turn no sooner than `seconds` from now (a Retry-After)."""
        ...


@dataclass
class _Lane:
    next_at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class KeyedPacer:
    def __init__(
        self,
        interval: float,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if interval < 0:
            raise ValueError("interval must not be negative")
        self._interval = interval
        self._max_keys = max_keys
        self._clock = clock
        self._sleep = sleep
        self._lanes: dict[str, _Lane] = {}

    @asynccontextmanager
    async def turn(self, key: str) -> AsyncIterator[float]:
        """Wait for `key`'s turn and hold it for the block; yields the seconds waited."""
        lane = self._lanes.setdefault(key, _Lane())
        async with lane.lock:
            delay = max(0.0, lane.next_at - self._clock())
            if delay > 0:
                await self._sleep(delay)
            try:
                yield delay
            finally:
                lane.next_at = max(lane.next_at, self._clock() + self._interval)
        self._forget_idle()

    async def defer(self, key: str, seconds: float) -> None:
        """Start `key`'s next turn no sooner than `seconds` from now (the vendor's Retry-After)."""
        lane = self._lanes.setdefault(key, _Lane())
        lane.next_at = max(lane.next_at, self._clock() + max(seconds, 0.0))

    @property
    def tracked_keys(self) -> int:
        """Keys with state held (bounded by `max_keys` plus the lanes in use).

        Not `__len__`: a pacer must stay truthy, callers write `pacer or KeyedPacer(...)`.
        """
        return len(self._lanes)

    def _forget_idle(self) -> None:
        # Bounded memory: a lane nobody holds and whose pause is over carries no state.
        if len(self._lanes) <= self._max_keys:
            return
        now = self._clock()
        for key in [k for k, lane in self._lanes.items() if not lane.lock.locked()]:
            if self._lanes[key].next_at <= now:
                del self._lanes[key]
