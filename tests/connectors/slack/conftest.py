"""A seeded Slack fake on loopback, and a connector on a shared aiohttp session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from pydantic import SecretStr

from connectors.common.fakeserver import start_fake
from connectors.slack import SlackConfig, SlackConnector
from connectors.slack.fake import FakeSlack
from tests.connectors.slack.contract import SlackContract

INCIDENTS = "C0INCIDNTS"
REVIEWS = "C0PMREVIEW"
ARCHIVED = "C0ARCHIVED"
ALICE, BOB = "U0ALICE001", "U0BOB00001"
ALICE_EMAIL, BOB_EMAIL = "alice@example.com", "bob@example.com"
# Most tests post several times to one channel: a short interval keeps them fast; the
# pacing tests use Slack's real one second.
FAST_INTERVAL = 0.05


def seed(fake: FakeSlack) -> None:
    fake.add_user(ALICE, "Alice Adams", ALICE_EMAIL)
    fake.add_user(BOB, "Bob Brown", BOB_EMAIL)
    fake.add_channel(INCIDENTS, "incidents")
    fake.add_channel(REVIEWS, "postmortems")
    fake.add_channel(ARCHIVED, "old-incidents")
    fake.archived.add(ARCHIVED)


@pytest.fixture
def fake() -> FakeSlack:
    fake = FakeSlack(min_post_interval=FAST_INTERVAL)
    seed(fake)
    return fake


@pytest.fixture
async def base_url(fake: FakeSlack) -> AsyncIterator[str]:
    runner, url = await start_fake(fake.make_app())
    yield url
    await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    # The daemon's one shared session, owned (and closed) by its creator, not the connector.
    async with aiohttp.ClientSession() as session:
        yield session


ConnectorFactory = Callable[..., SlackConnector]


@pytest.fixture
def make_connector(base_url: str, session: aiohttp.ClientSession) -> ConnectorFactory:
    def make(**overrides: object) -> SlackConnector:
        settings: dict[str, object] = {
            "bot_token": SecretStr(FakeSlack.token),
            "base_url": f"{base_url}/api/",
            "incidents_channel": INCIDENTS,
            "postmortem_channel": REVIEWS,
            "timeout_seconds": 5,
            "post_interval_seconds": FAST_INTERVAL,
            **overrides,
        }
        return SlackConnector.from_config(SlackConfig.model_validate(settings), session)

    return make


@pytest.fixture
def connector(make_connector: ConnectorFactory) -> SlackConnector:
    return make_connector()


@pytest.fixture(scope="session")
def contract() -> SlackContract:
    return SlackContract.load()
