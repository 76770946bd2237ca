"""The timeline's reads are patient within an attempt (hub.engine.history.patiently): a
log read that fails for a moment is tried again at once, so one blip does not throw
away the document's other reads; one that keeps failing still fails the attempt."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from connectors.pagerduty import PagerDutyConfig, PagerDutyIncidentLog
from connectors.pagerduty.fake import FakePagerDuty
from hub.engine.history import READ_TRIES, HistoryReaders
from hub.errors import RateLimited, Transient
from hub.model.incident import Incident, Source
from hub.policy.schema_document import TimelineSpec
from tests.connectors.pagerduty.conftest import INCIDENT
from tests.support.tls import LoopbackTls
from tests.unit.policy.factories import incident

LOG_ENTRIES = "/incidents/{id}/log_entries"


@pytest.fixture
async def readers(base_url: str, loopback_tls: LoopbackTls) -> AsyncIterator[HistoryReaders]:
    config = PagerDutyConfig.model_validate(
        {
            "api_token": SecretStr(FakePagerDuty.token),
            "base_url": base_url,
            "timeout_seconds": 5,
            "ca_bundle": loopback_tls.ca_pem,
        }
    )
    log = PagerDutyIncidentLog.from_config(config)
    yield HistoryReaders(pagerduty=log)
    await log.close()


def _incident() -> Incident:
    return incident(source=Source.PAGERDUTY, source_id=INCIDENT)


async def test_a_read_that_fails_for_a_moment_is_read_again_in_the_same_attempt(
    readers: HistoryReaders, fake: FakePagerDuty
) -> None:
    fake.fail(503, times=READ_TRIES - 1, route=LOG_ENTRIES)
    history = await readers.read(_incident(), TimelineSpec())
    assert history.read == ("pagerduty",)
    assert history.entries


async def test_a_short_rate_limit_is_waited_out_within_the_attempt(
    readers: HistoryReaders, fake: FakePagerDuty
) -> None:
    fake.rate_limit(retry_after=0.1, times=1, route=LOG_ENTRIES)
    history = await readers.read(_incident(), TimelineSpec())
    assert history.read == ("pagerduty",)


async def test_a_vendor_that_stays_down_still_fails_the_attempt(
    readers: HistoryReaders, fake: FakePagerDuty
) -> None:
    fake.fail(503, times=READ_TRIES, route=LOG_ENTRIES)
    with pytest.raises(Transient):
        await readers.read(_incident(), TimelineSpec())


async def test_a_long_retry_after_is_left_to_the_job(
    readers: HistoryReaders, fake: FakePagerDuty
) -> None:
    fake.rate_limit(retry_after=30, times=1, route=LOG_ENTRIES)
    with pytest.raises(RateLimited):
        await readers.read(_incident(), TimelineSpec())
