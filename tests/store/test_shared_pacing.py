"""Pacing shared by replicas (issue 12, defect 4): three replicas, one channel (one API
key), at most one call a second.

Each "replica" is its own engine, HTTP session and SlackConnector on one PostgreSQL
database, posting to one channel of the Slack fake, which answers 429 to a post that
comes within a second of the channel's previous one (Slack's published limit for
chat.postMessage: about one message per second per channel); likewise the
Statuspage fake answers 420 to a second request on one API key within a second.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Sequence

import aiohttp
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.common.fakeserver import start_fake
from connectors.common.pacer import KeyedPacer, Pacer
from connectors.slack import SlackConfig, SlackConnector
from connectors.slack.blocks import ChatMessage
from connectors.slack.client import MessageRef
from connectors.slack.connector import UPDATE_INTERVAL_SECONDS
from connectors.slack.fake import FakeSlack
from connectors.statuspage.client import StatuspageClient
from connectors.statuspage.config import StatuspageConfig
from connectors.statuspage.fake import FakeStatuspage
from hub.errors import RateLimited
from hub.store.db import create_engine
from hub.store.migrate import upgrade
from hub.store.pacing import claim_slot
from hub.wiring.pacing import pacer_for

pytestmark = pytest.mark.postgres

CHANNEL = "C0INCIDNTS"
REPLICAS = 3
POSTS_EACH = 2
SLACK_INTERVAL = 1.0
STATUSPAGE_INTERVAL = 1.0  # Statuspage: one request per second per API key


@pytest.fixture
async def slack() -> AsyncIterator[tuple[FakeSlack, str]]:
    fake = FakeSlack(min_post_interval=SLACK_INTERVAL)
    fake.add_channel(CHANNEL, "incidents")
    runner, url = await start_fake(fake.make_app())
    yield fake, url
    await runner.cleanup()


@pytest.fixture
async def replica_engines(postgres_url: str) -> AsyncIterator[list[AsyncEngine]]:
    engines = [create_engine(postgres_url) for _ in range(REPLICAS)]
    await upgrade(engines[0])
    yield engines
    for engine in engines:
        await engine.dispose()


async def _storm(base_url: str, pacers: Sequence[Pacer]) -> list[BaseException | None]:
    """Every replica posts POSTS_EACH messages at once; each post's error, if any."""
    config = SlackConfig.model_validate(
        {
            "bot_token": SecretStr(FakeSlack.token),
            "base_url": f"{base_url}/api/",
            "incidents_channel": CHANNEL,
            "post_interval_seconds": SLACK_INTERVAL,
        }
    )
    sessions = [aiohttp.ClientSession() for _ in pacers]
    try:
        connectors = [
            SlackConnector.from_config(config, session, pacer=pacer)
            for session, pacer in zip(sessions, pacers, strict=True)
        ]
        posts = [
            connector.post(CHANNEL, ChatMessage(text=f"r{r} m{m}"), effect_key=f"k:{r}:{m}")
            for r, connector in enumerate(connectors)
            for m in range(POSTS_EACH)
        ]
        results = await asyncio.gather(*posts, return_exceptions=True)
    finally:
        for session in sessions:
            await session.close()
    return [r if isinstance(r, BaseException) else None for r in results]


async def test_three_replicas_keep_one_post_per_second_per_channel(
    slack: tuple[FakeSlack, str], replica_engines: list[AsyncEngine]
) -> None:
    fake, url = slack
    pacers = [pacer_for(e, SLACK_INTERVAL, namespace="slack") for e in replica_engines]

    errors = await _storm(url, pacers)

    assert errors == [None] * (REPLICAS * POSTS_EACH)
    assert fake.rate_limited[CHANNEL] == 0
    times = sorted(float(m["ts"]) for m in fake.posts(CHANNEL))
    assert len(times) == REPLICAS * POSTS_EACH
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= SLACK_INTERVAL


async def test_replicas_pacing_alone_exceed_the_limit(slack: tuple[FakeSlack, str]) -> None:
    """The defect the shared ledger fixes: in-process pacers let replicas collide."""
    fake, url = slack
    errors = await _storm(url, [KeyedPacer(SLACK_INTERVAL) for _ in range(REPLICAS)])

    assert any(isinstance(error, RateLimited) for error in errors)
    assert fake.rate_limited[CHANNEL] > 0


async def test_concurrent_claims_get_distinct_slots_one_interval_apart(
    replica_engines: list[AsyncEngine],
) -> None:
    claims = [claim_slot(engine, "slack:C1", 10.0) for engine in replica_engines for _ in range(4)]
    waits = sorted(await asyncio.gather(*claims))

    # The first claim starts now; each later one exactly one slot after the previous.
    assert waits[0] < 1.0
    gaps = [later - earlier for earlier, later in itertools.pairwise(waits)]
    assert all(9.5 < gap < 10.5 for gap in gaps), gaps


@pytest.fixture
async def statuspage() -> AsyncIterator[tuple[FakeStatuspage, str]]:
    fake = FakeStatuspage(min_interval=STATUSPAGE_INTERVAL)
    runner, url = await start_fake(fake.make_app())
    yield fake, f"{url}/v1/"
    await runner.cleanup()


async def _statuspage_storm(base_url: str, pacers: Sequence[Pacer]) -> list[BaseException | None]:
    """Every replica reads the page's incidents POSTS_EACH times at once, on one API key."""
    config = StatuspageConfig.model_validate(
        {
            "api_key": SecretStr(FakeStatuspage.api_key),
            "page_id": FakeStatuspage.page_id,
            "base_url": base_url,
            "min_interval_seconds": STATUSPAGE_INTERVAL,
        }
    )
    sessions = [aiohttp.ClientSession() for _ in pacers]
    try:
        clients = [
            StatuspageClient(config, session, pacer=pacer)
            for session, pacer in zip(sessions, pacers, strict=True)
        ]
        calls = [client.list_incidents() for client in clients for _ in range(POSTS_EACH)]
        results = await asyncio.gather(*calls, return_exceptions=True)
    finally:
        for session in sessions:
            await session.close()
    return [r if isinstance(r, BaseException) else None for r in results]


def _refused(fake: FakeStatuspage) -> int:
    return sum(1 for exchange in fake.exchanges if exchange.status in (420, 429))


async def test_three_replicas_keep_one_statuspage_request_per_second_per_key(
    statuspage: tuple[FakeStatuspage, str], replica_engines: list[AsyncEngine]
) -> None:
    fake, url = statuspage
    pacers = [pacer_for(e, STATUSPAGE_INTERVAL, namespace="statuspage") for e in replica_engines]

    errors = await _statuspage_storm(url, pacers)

    assert errors == [None] * (REPLICAS * POSTS_EACH)
    assert _refused(fake) == 0
    assert len(fake.exchanges) == REPLICAS * POSTS_EACH


async def test_statuspage_replicas_pacing_alone_exceed_the_limit(
    statuspage: tuple[FakeStatuspage, str],
) -> None:
    fake, url = statuspage
    errors = await _statuspage_storm(url, [KeyedPacer(STATUSPAGE_INTERVAL) for _ in range(3)])

    assert any(isinstance(error, RateLimited) for error in errors)
    assert _refused(fake) > 0


async def test_replicas_space_their_roll_up_edits_within_chat_updates_tier_3(
    slack: tuple[FakeSlack, str], replica_engines: list[AsyncEngine]
) -> None:
    """Issue 16: roll-up edits (chat.update, Tier 3: 50 a minute per workspace) used to
    be paced per process, so replicas together sent the workspace their sum. They now
    take turns in the pacer the wiring gives the connector, on one workspace-wide key,
    claimed from the shared ledger: every edit from any replica >= 1.2 s from the last."""
    fake, url = slack
    config = SlackConfig.model_validate(
        {
            "bot_token": SecretStr(FakeSlack.token),
            "base_url": f"{url}/api/",
            "incidents_channel": CHANNEL,
            "post_interval_seconds": SLACK_INTERVAL,
        }
    )
    replicas = replica_engines[:2]
    rollups = [
        MessageRef(channel=CHANNEL, ts=fake.store_message(CHANNEL, {"text": f"roll-up {n}"})["ts"])
        for n in range(len(replicas) * POSTS_EACH)
    ]
    sessions = [aiohttp.ClientSession() for _ in replicas]
    try:
        connectors = [
            SlackConnector.from_config(
                config, session, pacer=pacer_for(engine, SLACK_INTERVAL, namespace="slack")
            )
            for session, engine in zip(sessions, replicas, strict=True)
        ]
        edits = [
            connectors[n % len(connectors)].update_paced(ref, ChatMessage(text="edited"))
            for n, ref in enumerate(rollups)
        ]
        await asyncio.gather(*edits)
    finally:
        for session in sessions:
            await session.close()

    assert fake.calls["chat.update"] == len(rollups)
    times = sorted(float(m["edited"]["ts"]) for m in fake.posts(CHANNEL))
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= UPDATE_INTERVAL_SECONDS, gaps
