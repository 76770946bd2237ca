"""The client keeps PagerDuty's published REST limit (960 requests a minute per API key)."""

from __future__ import annotations

import asyncio

from connectors.pagerduty.config import PagerDutyApi
from connectors.pagerduty.rate import PUBLISHED_REQUESTS_PER_MINUTE, RequestWindow, window_for


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_no_more_than_the_limit_start_in_any_window() -> None:
    time = FakeTime()
    window = RequestWindow(3, 60.0, clock=time.clock, sleep=time.sleep)
    starts = []
    for _ in range(7):
        await window.wait_turn()
        starts.append(time.now)
        time.now += 1.0  # each request takes a second
    assert starts == [0.0, 1.0, 2.0, 60.0, 61.0, 62.0, 120.0]
    for i in range(len(starts) - 3):
        assert starts[i + 3] - starts[i] >= 60.0


async def test_requests_side_by_side_reserve_distinct_slots() -> None:
    time = FakeTime()
    window = RequestWindow(2, 10.0, clock=time.clock, sleep=asyncio.sleep)
    slots = [window.reserve() for _ in range(5)]
    assert slots == [0.0, 0.0, 10.0, 10.0, 20.0]


async def test_the_published_limit_is_the_default_and_zero_turns_pacing_off() -> None:
    assert PagerDutyApi().requests_per_minute == PUBLISHED_REQUESTS_PER_MINUTE == 960
    time = FakeTime()
    window = RequestWindow(0, clock=time.clock, sleep=time.sleep)
    for _ in range(5000):
        await window.wait_turn()
    assert time.slept == []


def test_clients_of_one_key_share_a_window() -> None:
    one = window_for("https://api.pagerduty.com", "token-a", 960)
    assert window_for("https://api.pagerduty.com", "token-a", 960) is one
    assert window_for("https://api.pagerduty.com", "token-b", 960) is not one
