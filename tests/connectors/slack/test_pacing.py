"""The per-channel pacer (connectors/common/pacer.py) and the lookup cache, on a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from connectors.common.pacer import KeyedPacer, LaneBacklogged
from connectors.common.shared_pacer import SharedPacer
from connectors.common.ttl_cache import TtlCache
from hub.errors import RateLimited


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def make(interval: float = 1.0, max_keys: int = 10_000) -> tuple[KeyedPacer, FakeTime]:
    time = FakeTime()
    return KeyedPacer(interval, clock=time.clock, sleep=time.sleep, max_keys=max_keys), time


async def test_turns_on_one_key_are_an_interval_apart_counted_from_the_end() -> None:
    pacer, time = make()
    async with pacer.turn("C1") as waited:
        assert waited == 0
        time.now += 0.25  # the call itself took a while
    async with pacer.turn("C1") as waited:
        assert waited == 1.0
    assert time.slept == [1.0]


async def test_other_keys_do_not_wait() -> None:
    pacer, time = make()
    async with pacer.turn("C1"):
        pass
    async with pacer.turn("C2") as waited:
        assert waited == 0
    assert time.slept == []


async def test_a_quiet_key_does_not_wait() -> None:
    pacer, time = make()
    async with pacer.turn("C1"):
        pass
    time.now += 5
    async with pacer.turn("C1") as waited:
        assert waited == 0


async def test_concurrent_callers_take_turns_in_arrival_order() -> None:
    pacer, _ = make()
    order: list[int] = []

    async def post(n: int) -> None:
        async with pacer.turn("C1"):
            order.append(n)

    await asyncio.gather(*(post(n) for n in range(4)))
    assert order == [0, 1, 2, 3]


async def test_defer_holds_a_key_back_for_retry_after() -> None:
    pacer, _ = make()
    await pacer.defer("C1", 7)
    async with pacer.turn("C1") as waited:
        assert waited == 7
    await pacer.defer("C1", 0.5)  # shorter than the interval already due: no change
    async with pacer.turn("C1") as waited:
        assert waited == 1.0


async def test_idle_keys_are_forgotten_beyond_the_bound() -> None:
    pacer, time = make(max_keys=2)
    for key in ("C1", "C2", "C3"):
        async with pacer.turn(key):
            pass
    time.now += 2
    async with pacer.turn("C4"):
        pass
    assert pacer.tracked_keys <= 2


def test_the_cache_expires_bounds_and_remembers_misses() -> None:
    now = [0.0]
    cache: TtlCache[str | None] = TtlCache(10, 2, clock=lambda: now[0])
    cache.put("a", "U1")
    cache.put("miss", None, ttl=3)
    assert cache.lookup("a") == (True, "U1")
    assert cache.lookup("miss") == (True, None)
    assert cache.lookup("nothing") == (False, None)
    now[0] = 4
    assert cache.lookup("miss") == (False, None)
    cache.put("b", "U2")
    cache.put("c", "U3")
    assert cache.size == 2
    assert cache.lookup("a") == (False, None)  # least recently used went first
    now[0] = 100
    assert cache.lookup("c") == (False, None)


class Room:
    """A waiting room (the job worker's, in the daemon): counts who waited in it."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.inside = 0
        self.entered = 0

    def full(self) -> bool:
        return self.inside >= self.capacity

    @asynccontextmanager
    async def waiting(self) -> AsyncIterator[None]:
        self.inside += 1
        self.entered += 1
        try:
            yield
        finally:
            self.inside -= 1


async def test_callers_wait_for_their_turn_in_the_room_and_keep_their_order() -> None:
    time = FakeTime()
    room = Room(capacity=10)
    pacer = KeyedPacer(1.0, clock=time.clock, sleep=time.sleep, room=room)
    order: list[int] = []

    async def post(n: int) -> None:
        async with pacer.turn("C1"):
            order.append(n)

    await asyncio.gather(*(post(n) for n in range(4)))
    assert order == [0, 1, 2, 3]
    assert room.entered == 3  # the first caller had its turn at once: it did not wait
    assert room.inside == 0


async def test_a_full_room_sends_a_caller_behind_a_backlog_away_untouched() -> None:
    time = FakeTime()
    room = Room(capacity=0)
    pacer = KeyedPacer(1.0, clock=time.clock, sleep=time.sleep, room=room)
    async with pacer.turn("C1"):
        pass
    with pytest.raises(LaneBacklogged) as backlogged:
        async with pacer.turn("C1"):
            pytest.fail("no turn without waiting")
    assert isinstance(backlogged.value, RateLimited)  # rescheduled, not a failure
    assert backlogged.value.retry_after == 2.0  # the lane's next turn, and one interval
    time.now += 1
    async with pacer.turn("C1") as waited:  # the backlog gone, the turn is free
        assert waited == 0
    assert room.entered == 0


async def test_a_storm_of_callers_waits_within_the_rooms_bound() -> None:
    """1,000 posts for one channel at once: as many wait as the room holds (in arrival
    order); the others are sent away with a later time, holding nothing meanwhile."""
    time = FakeTime()
    room = Room(capacity=10)
    pacer = KeyedPacer(1.0, clock=time.clock, sleep=time.sleep, room=room)
    holding, served = asyncio.Event(), []

    async def first() -> None:
        async with pacer.turn("C1"):
            await holding.wait()

    async def post(n: int) -> float | None:
        try:
            async with pacer.turn("C1"):
                served.append(n)
        except LaneBacklogged as sent_away:
            return sent_away.retry_after
        return None

    head = asyncio.create_task(first())
    await asyncio.sleep(0)
    storm = [asyncio.create_task(post(n)) for n in range(1000)]
    await asyncio.sleep(0)
    assert room.inside == 10
    holding.set()
    await head
    later = await asyncio.gather(*storm)
    assert served == list(range(10))
    assert all(delay is not None and delay >= 10 for delay in later[10:])
    assert room.inside == 0


async def test_callers_sent_away_come_back_one_interval_apart() -> None:
    """Issue 16, the herd: a full room used to send every caller away with the same
    return time, so they came back together and were sent away again while the channel
    idled. Each now gets the lane's next free promise: N of them return one interval
    apart, the pace at which the lane serves them, the first one after the backlog."""
    time = FakeTime()
    room = Room(capacity=2)
    pacer = KeyedPacer(1.0, clock=time.clock, sleep=time.sleep, room=room)
    holding = asyncio.Event()

    async def first() -> None:
        async with pacer.turn("C1"):
            await holding.wait()

    async def post() -> float | None:
        try:
            async with pacer.turn("C1"):
                pass
        except LaneBacklogged as sent_away:
            return sent_away.retry_after
        return None

    head = asyncio.create_task(first())
    await asyncio.sleep(0)
    callers = [asyncio.create_task(post()) for _ in range(7)]
    await asyncio.sleep(0)
    holding.set()
    await head
    returns = [delay for delay in await asyncio.gather(*callers) if delay is not None]
    # Two waited in the room; after them (and the turn under way) the sent-away follow.
    assert returns == [3.0, 4.0, 5.0, 6.0, 7.0]
    # Another lane's promises are its own.
    assert await _sent_away_after(pacer, "C2") is None


async def _sent_away_after(pacer: KeyedPacer, key: str) -> float | None:
    try:
        async with pacer.turn(key):
            pass
    except LaneBacklogged as sent_away:
        return sent_away.retry_after
    return None


async def test_promises_follow_the_last_one_and_lapse_with_time() -> None:
    time = FakeTime()
    room = Room(capacity=0)  # every caller facing a backlog is sent away
    pacer = KeyedPacer(1.0, clock=time.clock, sleep=time.sleep, room=room)
    async with pacer.turn("C1"):
        pass
    assert await _sent_away_after(pacer, "C1") == 2.0
    assert await _sent_away_after(pacer, "C1") == 3.0
    time.now += 0.5  # promises are points in time: the next one is still one further
    assert await _sent_away_after(pacer, "C1") == 3.5
    time.now += 10  # all kept: a quiet lane serves at once, and promises start afresh
    assert await _sent_away_after(pacer, "C1") is None
    assert await _sent_away_after(pacer, "C1") == 2.0


async def test_a_turn_may_name_its_own_interval() -> None:
    """chat.update's workspace-wide pace (1.2 s) in the pacer of the channels' posts (1 s)."""
    pacer, _ = make(interval=1.0)
    async with pacer.turn("workspace:chat.update", interval=1.2):
        pass
    async with pacer.turn("workspace:chat.update", interval=1.2) as waited:
        assert waited == pytest.approx(1.2)
    async with pacer.turn("C1"):
        pass
    async with pacer.turn("C1") as waited:
        assert waited == pytest.approx(1.0)


class Ledger:
    """The shared ledger (`hub.store.pacing` on PostgreSQL), in memory on the fake clock."""

    def __init__(self, time: FakeTime) -> None:
        self.time = time
        self.next_at: dict[str, float] = {}
        self.claims: list[tuple[str, float]] = []

    async def claim(self, key: str, slot: float) -> float:
        self.claims.append((key, slot))
        start = max(self.next_at.get(key, 0.0), self.time.now)
        self.next_at[key] = start + slot
        return start - self.time.now

    async def hold_back(self, key: str, seconds: float) -> None:
        self.next_at[key] = max(self.next_at.get(key, 0.0), self.time.now + seconds)


def _held_pacer(
    ledger: Ledger, room: Room, slot_reached: asyncio.Event, **options: int
) -> SharedPacer:
    """A shared pacer (1 s slots, no margin) whose waits last until `slot_reached` is set."""

    async def sleep_until_released(_: float) -> None:
        await slot_reached.wait()

    return SharedPacer(
        1.0,
        ledger.claim,
        ledger.hold_back,
        namespace="slack",
        margin=0.0,
        sleep=sleep_until_released,
        clock=ledger.time.clock,
        room=room,
        **options,
    )


async def test_the_shared_pacer_holds_few_claimed_slots_of_one_key_at_once() -> None:
    """A replica that dies loses every slot its waiting callers claimed in the ledger, so
    a process keeps only a few claims of one key outstanding, however large its room."""
    room, ledger, slot_reached = Room(capacity=100), Ledger(FakeTime()), asyncio.Event()
    pacer = _held_pacer(ledger, room, slot_reached, max_waiting_per_key=3)
    async with pacer.turn("C1"):
        pass

    async def waiter() -> None:
        async with pacer.turn("C1"):
            pass

    waiting = [asyncio.create_task(waiter()) for _ in range(3)]
    await asyncio.sleep(0)
    assert room.inside == 3
    with pytest.raises(LaneBacklogged):
        async with pacer.turn("C1"):
            pytest.fail("a fourth claim of the same key while three wait")
    assert len(ledger.claims) == 4  # the first turn and the three waiting: no more
    slot_reached.set()
    await asyncio.gather(*waiting)


async def test_the_shared_pacer_sends_callers_away_one_slot_apart() -> None:
    # The time stands still: every caller below arrives at the same moment.
    room, ledger, slot_reached = Room(capacity=1), Ledger(FakeTime()), asyncio.Event()
    pacer = _held_pacer(ledger, room, slot_reached)
    async with pacer.turn("C1"):
        pass

    async def waiter() -> None:  # claims the next slot and waits for it in the room
        async with pacer.turn("C1"):
            pass

    waiting = asyncio.create_task(waiter())
    await asyncio.sleep(0)
    assert room.inside == 1
    returns = []
    for _ in range(4):
        with pytest.raises(LaneBacklogged) as sent_away:
            async with pacer.turn("C1"):
                pytest.fail("no turn without waiting")
        returns.append(sent_away.value.retry_after)
    assert returns == [2.0, 3.0, 4.0, 5.0]
    assert len(ledger.claims) == 2  # the sent-away claimed nothing
    slot_reached.set()
    await waiting


async def test_the_shared_pacer_claims_a_turns_own_interval() -> None:
    time = FakeTime()
    ledger = Ledger(time)
    pacer = SharedPacer(
        1.0, ledger.claim, ledger.hold_back, namespace="slack", sleep=time.sleep, clock=time.clock
    )
    async with pacer.turn("workspace:chat.update", interval=1.2):
        pass
    async with pacer.turn("C1"):
        pass
    keys, slots = zip(*ledger.claims, strict=True)
    assert keys == ("slack:workspace:chat.update", "slack:C1")
    assert slots == pytest.approx((1.26, 1.05))  # each its own interval, plus the margin
