"""The vendors' published limits, enforced by the fakes when turned on (issue 16's bench)."""

from __future__ import annotations

import aiohttp

from connectors.common.fakeserver import start_fake
from connectors.common.ratelimits import JIRA_BURST, SLACK_METHOD_TIERS, Limit, RateLimits
from connectors.jira.fake import FakeJira
from connectors.slack.fake import FakeSlack


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_window_admits_its_count_then_refuses_until_the_oldest_leaves_it() -> None:
    clock = Clock()
    limits = RateLimits({"m": Limit(2, 10.0)}, clock=clock)
    assert limits.check("m", "a") is None
    clock.now += 4
    assert limits.check("m", "a") is None
    assert limits.check("m", "a") == 6.0  # the first leaves the window at 110
    assert limits.check("m", "b") is None  # each key has its own window
    assert limits.check("other") is None  # a scope without a limit is never refused
    clock.now += 6
    assert limits.check("m", "a") is None
    assert limits.refused == {"m": 1}


async def test_slack_refuses_a_tier_3_method_over_50_a_minute_only_when_on() -> None:
    fake = FakeSlack()
    fake.add_user("U0ALICE001", "Alice", "alice@example.com")
    runner, url = await start_fake(fake.make_app())
    try:
        assert [await _lookup(url, fake) for _ in range(3)] == [200] * 3
        fake.limits = RateLimits(dict(SLACK_METHOD_TIERS), clock=Clock())  # time stands still
        statuses = [await _lookup(url, fake) for _ in range(51)]
    finally:
        await runner.cleanup()
    assert statuses == [200] * 50 + [429]
    assert fake.limits.refused == {"users.lookupByEmail": 1}


async def _lookup(url: str, fake: FakeSlack) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{url}/api/users.lookupByEmail",
            params={"email": "alice@example.com"},
            headers={"Authorization": f"Bearer {fake.token}"},
        ) as response,
    ):
        if response.status == 429:
            assert int(response.headers["Retry-After"]) >= 1
        return response.status


async def test_jira_refuses_a_burst_on_one_endpoint_not_on_another() -> None:
    fake = FakeJira(limits=RateLimits({"burst": JIRA_BURST}, clock=Clock()))
    runner, url = await start_fake(fake.make_app())
    auth = {"Authorization": aiohttp.encode_basic_auth(fake.email, fake.api_token)}
    try:
        async with aiohttp.ClientSession(headers=auth) as session:
            myself = [await _get(session, f"{url}/rest/api/3/myself") for _ in range(11)]
            other = await _get(session, f"{url}/rest/api/3/serverInfo")
    finally:
        await runner.cleanup()
    assert myself == [200] * 10 + [429]
    assert other != 429
    assert fake.limits is not None
    assert fake.limits.total_refused == 1


async def _get(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(url) as response:
        return response.status
