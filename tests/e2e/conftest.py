"""Vendor fakes on loopback for whole-daemon tests: PagerDuty (over TLS) and Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Generic, TypeVar

import pytest

from connectors.common.fakeserver import start_fake
from connectors.pagerduty.fake import FakePagerDuty
from connectors.slack.fake import FakeSlack
from tests.support.tls import LoopbackTls, loopback_tls

__all__ = ["loopback_tls"]

PD_TOKEN = "pd-api-token-e2e"
PD_POLICY = "PUS0KTE"
# PagerDuty user ids, and the Slack ids of the same people (found by email).
PD_ALICE, PD_BOB, PD_CAROL = "PTUXL6G", "PVMGSML", "PCAR0L1"
SLACK_ALICE, SLACK_BOB = "U0ALICE001", "U0BOB00001"
INCIDENTS_CHANNEL, POSTMORTEM_CHANNEL = "C0INCIDNTS", "C0PMREVIEW"


Fake = TypeVar("Fake")


@dataclass(frozen=True)
class Served(Generic[Fake]):
    fake: Fake
    base_url: str


@pytest.fixture
async def pagerduty_fake(loopback_tls: LoopbackTls) -> AsyncIterator[Served[FakePagerDuty]]:
    fake = FakePagerDuty(token=PD_TOKEN)
    fake.add_user(PD_ALICE, "Alice Chen", "alice@example.com")
    fake.add_user(PD_BOB, "Bob Okafor", "bob@example.com")
    fake.add_user(PD_CAROL, "Carol Diaz", "carol@example.com")
    fake.add_oncall(PD_POLICY, PD_ALICE, level=1, schedule=("PI7DH84", "Primary"))
    runner, base_url = await start_fake(fake.make_app(), ssl_context=loopback_tls.server_context)
    try:
        yield Served(fake, base_url)
    finally:
        await runner.cleanup()


@pytest.fixture
async def slack_fake() -> AsyncIterator[Served[FakeSlack]]:
    # Carol has no Slack account: she must still be named, never dropped.
    fake = FakeSlack(min_post_interval=0.05)
    fake.add_user(SLACK_ALICE, "Alice Chen", "alice@example.com")
    fake.add_user(SLACK_BOB, "Bob Okafor", "bob@example.com")
    fake.add_channel(INCIDENTS_CHANNEL, "incidents")
    fake.add_channel(POSTMORTEM_CHANNEL, "postmortems")
    runner, base_url = await start_fake(fake.make_app())
    try:
        yield Served(fake, base_url)
    finally:
        await runner.cleanup()
