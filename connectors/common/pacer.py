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

Waiting off the worker's books (issue 16, head-of-line blocking): a turn is mostly
waiting when a lane is backed up (an incidents channel in a storm), and a job worker
that counted that wait against its concurrency would move every other job (calendar
bookings, DMs to other channels) at that channel's pace. The wiring therefore gives
a pacer a `WaitingRoom` (the worker's, `hub.jobs.parking`): a caller that must wait
for its turn waits inside it, and the worker runs other jobs meanwhile. The room is
bounded; when it is full, a caller facing a backlog it can measure is told to come
back when the backlog has gone (`LaneBacklogged`, a `RateLimited`: the job is
rescheduled, not failed) instead of holding a worker slot while it waits.

Sent away one interval apart: every caller sent away while a lane is backed up used
to be told the same "after the backlog", so they all came back together, found the
room full again and were sent away again, and the channel idled between the herds
(a storm of 100 took 485 s where its posts needed 414). Each lane now keeps what it
has promised (`promised_until`): a caller sent away gets the lane's next free promise,
one interval after the previous one, so N callers sent away come back one interval
apart, the pace at which the lane can serve them. A promise reserves nothing (the turn
is still taken in arrival order when the caller is back): it only spreads the returns.

One pacer, several paces: a turn may name its own `interval` for a key whose limit is
not the pacer's (Slack's chat.update, Tier 3 per workspace, paced beside the channels'
one post a second), so one pacer, shared across replicas where the store allows it,
keeps both.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Protocol

from hub.errors import RateLimited


class Pacer(Protocol):
    """Turns per key, `interval` apart; what connectors are given by the wiring."""

    def turn(
        self, key: str, *, interval: float | None = None
    ) -> AbstractAsyncContextManager[float]:
        """Wait for `key`'s turn and hold it for the block; yields the seconds waited.

        `interval`: `key`'s own spacing, instead of the pacer's (the same for every turn
        of that key)."""
        ...

    async def defer(self, key: str, seconds: float) -> None:
        """Start `key`'s next turn no sooner than `seconds` from now (a Retry-After)."""
        ...


class WaitingRoom(Protocol):
    """Where a caller waits for its turn without holding one of its worker's slots."""

    def full(self) -> bool:
        """No more callers may wait here (they would hold their slot while waiting)."""
        ...

    def waiting(self) -> AbstractAsyncContextManager[None]:
        """Wait in the room for the block: the caller's slot is lent out meanwhile."""
        ...


class LaneBacklogged(RateLimited):
    """The key's lane is backed up and the waiting room is full: come back later.

    Nothing was claimed or sent; the job is rescheduled after `retry_after` seconds, by
    when the callers ahead of it have had their turns.
    """


def waiting_in(room: WaitingRoom | None) -> AbstractAsyncContextManager[None]:
    """The room's wait, or (no room, or a full one) a plain wait holding the slot."""
    if room is None or room.full():
        return nullcontext()
    return room.waiting()


@dataclass
class _Lane:
    next_at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0  # callers queued for the lock or sleeping until next_at
    promised_until: float = 0.0  # when the last caller sent away was told to come back


class KeyedPacer:
    def __init__(
        self,
        interval: float,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        room: WaitingRoom | None = None,
    ) -> None:
        if interval < 0:
            raise ValueError("interval must not be negative")
        self._interval = interval
        self._room = room
        self._max_keys = max_keys
        self._clock = clock
        self._sleep = sleep
        self._lanes: dict[str, _Lane] = {}

    @asynccontextmanager
    async def turn(self, key: str, *, interval: float | None = None) -> AsyncIterator[float]:
        """Wait for `key`'s turn and hold it for the block; yields the seconds waited."""
        spacing = self._interval if interval is None else interval
        lane = self._lanes.setdefault(key, _Lane())
        delay = 0.0
        if lane.lock.locked() or lane.next_at > self._clock():
            if self._room is not None and self._room.full():
                # Nothing taken yet: the job comes back once the callers ahead are served.
                raise self._send_away(key, lane, spacing)
            lane.waiting += 1
            try:
                async with waiting_in(self._room):
                    delay = await self._take(lane)
            finally:
                lane.waiting -= 1
        else:
            delay = await self._take(lane)
        try:
            yield delay
        finally:
            lane.next_at = max(lane.next_at, self._clock() + spacing)
            lane.lock.release()
            self._forget_idle()

    def _send_away(self, key: str, lane: _Lane, spacing: float) -> LaneBacklogged:
        """The lane's next free promise: after the callers waiting, and one interval
        after the caller sent away before (so the sent-away come back one by one)."""
        now = self._clock()
        after_backlog = max(lane.next_at, now) + (lane.waiting + 1) * spacing
        lane.promised_until = max(after_backlog, lane.promised_until + spacing)
        return LaneBacklogged(
            f"{lane.waiting} calls are waiting for {key}'s turn",
            retry_after=lane.promised_until - now,
        )

    async def _take(self, lane: _Lane) -> float:
        """Take the lane's lock (callers queue in arrival order) and sleep until its turn."""
        await lane.lock.acquire()
        try:
            delay = max(0.0, lane.next_at - self._clock())
            if delay > 0:
                await self._sleep(delay)
        except BaseException:
            lane.lock.release()
            raise
        return delay

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
        # Bounded memory: a lane nobody holds, whose pause and promises are over, carries
        # no state.
        if len(self._lanes) <= self._max_keys:
            return
        now = self._clock()
        idle = [k for k, lane in self._lanes.items() if not lane.lock.locked() and not lane.waiting]
        for key in idle:
            lane = self._lanes[key]
            if lane.next_at <= now and lane.promised_until <= now:
                del self._lanes[key]
