"""The fakes' seeded random faults (the chaos run): reproducible, and of every kind."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from connectors.common.fakeserver import start_fake
from connectors.common.faults import RANDOM_KINDS, RandomFaults, RandomKind, with_random_faults
from connectors.slack.fake import FakeSlack


def _draws(faults: RandomFaults, n: int = 400) -> list[RandomKind | None]:
    return [faults.draw() for _ in range(n)]


def test_the_same_seed_draws_the_same_faults() -> None:
    assert _draws(RandomFaults(seed=7, rate=0.3)) == _draws(RandomFaults(seed=7, rate=0.3))
    assert _draws(RandomFaults(seed=7, rate=0.3)) != _draws(RandomFaults(seed=8, rate=0.3))


def test_faults_of_every_kind_at_about_the_rate() -> None:
    faults = RandomFaults(seed=1, rate=0.3)
    draws = _draws(faults, 2000)
    failed = [d for d in draws if d is not None]
    assert 0.25 < len(failed) / len(draws) < 0.35
    assert set(failed) == set(RANDOM_KINDS)
    assert faults.drawn == failed


async def _post(url: str, fake: FakeSlack, timeout: float) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{url}/api/chat.postMessage",
            json={"channel": "C0CHAOS001", "text": "hello"},
            headers={"Authorization": f"Bearer {fake.token}"},
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response,
    ):
        return response.status


@pytest.mark.parametrize(("kind", "status"), [("status", 503), ("rate_limit", 429)])
async def test_a_drawn_fault_answers_in_the_vendors_words(kind: RandomKind, status: int) -> None:
    fake = FakeSlack()
    fake.add_channel("C0CHAOS001", "chaos")
    app = with_random_faults(fake.make_app(), fake, RandomFaults(seed=1, rate=1.0, kinds=(kind,)))
    runner, url = await start_fake(app)
    try:
        assert await _post(url, fake, timeout=5) == status
        assert fake.posts("C0CHAOS001") == []
        assert [e.fault for e in fake.exchanges] == [kind]
    finally:
        await runner.cleanup()


async def test_done_then_answered_too_late_is_done() -> None:
    """The client gives up before the answer; the message was posted all the same."""
    fake = FakeSlack()
    fake.add_channel("C0CHAOS001", "chaos")
    faults = RandomFaults(seed=1, rate=1.0, kinds=("late",), late_seconds=2.0)
    runner, url = await start_fake(with_random_faults(fake.make_app(), fake, faults))
    try:
        with pytest.raises(TimeoutError):
            await _post(url, fake, timeout=0.5)
        assert [m["text"] for m in fake.posts("C0CHAOS001")] == ["hello"]
        assert faults.drawn == ["late"]
    finally:
        await asyncio.sleep(0)
        await runner.cleanup()
