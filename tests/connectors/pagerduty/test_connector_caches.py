"""What the connector reuses (issue 16): on-calls per escalation policy for a short TTL,
users, and reads asked for side by side; and the log read only since a time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from connectors.pagerduty import PagerDutyConfig, PagerDutyConnector, PagerDutyIncidentLog
from connectors.pagerduty.client import PagerDutyClient
from connectors.pagerduty.fake import FakePagerDuty
from hub.errors import Transient
from tests.connectors.pagerduty.conftest import ALICE, BOB, INCIDENT, POLICY
from tests.support.tls import LoopbackTls

ONCALLS = ("GET", "/oncalls")


def _connector(
    fake: FakePagerDuty, base_url: str, tls: LoopbackTls, now: list[float]
) -> PagerDutyConnector:
    config = PagerDutyConfig(
        api_token=SecretStr(fake.token), base_url=base_url, ca_bundle=tls.ca_pem
    )
    return PagerDutyConnector(
        PagerDutyClient(config), oncall_cache_seconds=60, clock=lambda: now[0]
    )


async def test_the_oncall_of_a_policy_is_read_once_per_ttl(
    fake: FakePagerDuty, base_url: str, loopback_tls: LoopbackTls
) -> None:
    now = [1000.0]
    connector = _connector(fake, base_url, loopback_tls, now)
    try:
        # A storm: twenty incidents of one policy ask side by side.
        answers = await asyncio.gather(*(connector.primary_oncall(POLICY) for _ in range(20)))
        assert {a["id"] if a else None for a in answers} == {ALICE}
        assert fake.calls[ONCALLS] == 1
        now[0] += 59
        assert (await connector.primary_oncall(POLICY) or {})["id"] == ALICE
        assert fake.calls[ONCALLS] == 1
        # The shift changed hands; past the TTL the new on-call is read.
        fake.oncalls = [o for o in fake.oncalls if o["user"]["id"] != ALICE]
        fake.add_oncall(POLICY, BOB, level=1)
        now[0] += 2
        assert (await connector.primary_oncall(POLICY) or {})["id"] == BOB
        assert fake.calls[ONCALLS] == 2
    finally:
        await connector.close()


async def test_a_failed_oncall_read_fails_those_waiting_and_is_not_kept(
    fake: FakePagerDuty, base_url: str, loopback_tls: LoopbackTls
) -> None:
    connector = _connector(fake, base_url, loopback_tls, [1000.0])
    fake.fail(503, times=1, route="/oncalls")
    try:
        answers = await asyncio.gather(
            *(connector.primary_oncall(POLICY) for _ in range(3)), return_exceptions=True
        )
        assert all(isinstance(a, Transient) for a in answers)
        assert fake.calls[ONCALLS] == 1
        assert (await connector.primary_oncall(POLICY) or {})["id"] == ALICE
        assert fake.calls[ONCALLS] == 2
    finally:
        await connector.close()


async def test_users_asked_side_by_side_are_read_once(
    connector: PagerDutyConnector, fake: FakePagerDuty
) -> None:
    users = await asyncio.gather(*(connector.get_user(BOB) for _ in range(10)))
    assert {u["email"] for u in users} == {"bob@example.com"}
    assert fake.calls[("GET", f"/users/{BOB}")] == 1


async def test_the_log_since_a_time_holds_only_the_newer_entries(
    connector: PagerDutyConnector, fake: FakePagerDuty
) -> None:
    since = datetime(2020, 4, 9, 15, 18, tzinfo=UTC)
    entries = await connector.list_log_entries(INCIDENT, since)
    assert [e["type"] for e in entries] == ["acknowledge_log_entry", "annotate_log_entry"]
    [sent] = [ex.query for ex in fake.exchanges if ex.path.endswith("/log_entries")]
    assert ("since", "2020-04-09T15:18:00Z") in sent


def test_oncall_cache_and_pacing_defaults() -> None:
    config = PagerDutyConfig(api_token=SecretStr("x"))
    assert (config.oncall_cache_seconds, config.requests_per_minute) == (60, 960)
    with pytest.raises(ValueError, match="greater than or equal"):
        PagerDutyConfig(api_token=SecretStr("x"), oncall_cache_seconds=-1)


async def test_the_timeline_reuses_the_resolution_read_with_the_same_entries(
    fake: FakePagerDuty, base_url: str, loopback_tls: LoopbackTls
) -> None:
    fake.add_responder(
        INCIDENT, BOB, requester=ALICE, requested_at="2020-04-09T15:19:00Z", message="Scribe?"
    )
    now = [1000.0]
    token = SecretStr(fake.token)
    config = PagerDutyConfig(api_token=token, base_url=base_url, ca_bundle=loopback_tls.ca_pem)
    fresh = PagerDutyIncidentLog.from_config(config)
    enrichment = _connector(fake, base_url, loopback_tls, now)
    try:
        expected = await fresh.read_log(INCIDENT, limit=3)
        # The enrichment reads the incident and its whole log at the resolution...
        await enrichment.get_incident(INCIDENT)
        await enrichment.list_log_entries(INCIDENT)
        fake.calls.clear()
        shared = PagerDutyIncidentLog.sharing(enrichment)
        read = await shared.read_log(INCIDENT, limit=3)
        assert read == expected  # the same entries, cut the same way
        assert read.truncated
        rest = {p for (_, p) in fake.calls if not p.startswith("/users/")}
        assert rest == set()  # neither the incident nor its log was read again
        # Once the read is old, the timeline reads for itself.
        now[0] += 601
        await shared.read_log(INCIDENT, limit=3)
        assert fake.calls[("GET", f"/incidents/{INCIDENT}")] == 1
    finally:
        await fresh.close()
        await enrichment.close()


async def test_a_log_read_since_is_added_to_the_kept_whole_log(
    fake: FakePagerDuty, base_url: str, loopback_tls: LoopbackTls
) -> None:
    enrichment = _connector(fake, base_url, loopback_tls, [1000.0])
    try:
        await enrichment.get_incident(INCIDENT)
        await enrichment.list_log_entries(INCIDENT)
        fake.add_log_entry(
            INCIDENT, "resolve_log_entry", created_at="2020-04-09T16:00:00Z", agent=("user", ALICE)
        )
        since = datetime(2020, 4, 9, 15, 20, tzinfo=UTC)
        new = await enrichment.list_log_entries(INCIDENT, since)
        assert [e["type"] for e in new] == ["annotate_log_entry", "resolve_log_entry"]
        recent = enrichment.recent_read(INCIDENT)
        assert recent is not None
        assert [e["type"] for e in recent.log_entries] == [
            "trigger_log_entry",
            "assign_log_entry",
            "notify_log_entry",
            "acknowledge_log_entry",
            "annotate_log_entry",
            "resolve_log_entry",
        ]
    finally:
        await enrichment.close()


async def test_a_log_grown_past_what_is_kept_is_forgotten_not_served_short(
    fake: FakePagerDuty, base_url: str, loopback_tls: LoopbackTls, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("connectors.pagerduty.connector.RECENT_READ_MAX_ENTRIES", 5)
    enrichment = _connector(fake, base_url, loopback_tls, [1000.0])
    try:
        await enrichment.get_incident(INCIDENT)
        await enrichment.list_log_entries(INCIDENT)  # the seeded 5
        assert enrichment.recent_read(INCIDENT) is not None
        fake.add_log_entry(
            INCIDENT, "resolve_log_entry", created_at="2020-04-09T16:00:00Z", agent=("user", ALICE)
        )
        await enrichment.list_log_entries(INCIDENT, datetime(2020, 4, 9, 15, 30, tzinfo=UTC))
        assert enrichment.recent_read(INCIDENT) is None
    finally:
        await enrichment.close()
