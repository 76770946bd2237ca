"""The per-channel pacer (connectors/common/pacer.py) and the lookup cache, on a fake clock."""

from __future__ import annotations

import asyncio

from connectors.common.pacer import KeyedPacer
from connectors.common.ttl_cache import TtlCache


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


def make(interval: float = 1.0, **kwargs: int) -> tuple[KeyedPacer, FakeTime]:
    time = FakeTime()
    return KeyedPacer(interval, clock=time.clock, sleep=time.sleep, **kwargs), time


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
