"""PagerDuty's incident log read for the timeline: every entry type, people, order, limits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from pydantic import SecretStr

from connectors.pagerduty import PagerDutyConfig, PagerDutyIncidentLog
from connectors.pagerduty.fake import FakePagerDuty
from connectors.pagerduty.history import entry_of, kind_of
from hub.errors import AuthFailed, Permanent, RateLimited, Transient
from hub.ports import EntryKind, HistorySource
from tests.connectors.pagerduty.conftest import ALICE, BOB, CAROL, INCIDENT
from tests.support.contract import OpenApiContract
from tests.support.tls import LoopbackTls

LogFactory = Callable[..., PagerDutyIncidentLog]


@pytest.fixture
async def make_log(base_url: str, loopback_tls: LoopbackTls) -> AsyncIterator[LogFactory]:
    made: list[PagerDutyIncidentLog] = []

    def make(**overrides: object) -> PagerDutyIncidentLog:
        settings: dict[str, object] = {
            "api_token": SecretStr(FakePagerDuty.token),
            "base_url": base_url,
            "timeout_seconds": 5,
            "ca_bundle": loopback_tls.ca_pem,
            **overrides,
        }
        log = PagerDutyIncidentLog.from_config(PagerDutyConfig.model_validate(settings))
        made.append(log)
        return log

    yield make
    for log in made:
        await log.close()


async def test_reads_the_seeded_log_oldest_first_with_people(make_log: LogFactory) -> None:
    read = await make_log().read_log(INCIDENT, limit=100)

    assert not read.truncated
    kinds = [e.kind for e in read.entries]
    assert kinds == [
        EntryKind.TRIGGERED,
        EntryKind.ASSIGNED,
        EntryKind.NOTIFIED,
        EntryKind.ACKNOWLEDGED,
        EntryKind.ANNOTATED,
    ]
    trigger, assign, _, ack, _ = read.entries
    assert trigger.source is HistorySource.PAGERDUTY
    assert trigger.actor is not None
    assert trigger.actor.email == "carol@example.com"
    assert not trigger.actor.is_bot
    assert trigger.labels == ("web_trigger",)
    assert trigger.link is not None
    assert trigger.link.endswith(f"/incidents/{INCIDENT}/log_entries/{trigger.id}")
    assert assign.actor is not None
    assert assign.actor.is_bot  # the service assigned it
    assert assign.subject is not None
    assert assign.subject.email == "alice@example.com"
    assert ack.actor is not None
    assert ack.actor.vendor_id == ALICE
    assert ack.at.isoformat() == "2020-04-09T15:18:00+00:00"


async def test_every_documented_entry_type_is_kept(
    make_log: LogFactory, fake: FakePagerDuty
) -> None:
    documented = [
        ("escalate_log_entry", EntryKind.ESCALATED),
        ("delegate_log_entry", EntryKind.ASSIGNED),
        ("exhaust_escalation_path_log_entry", EntryKind.ESCALATED),
        ("repeat_escalation_path_log_entry", EntryKind.ESCALATED),
        ("unacknowledge_log_entry", EntryKind.UNACKNOWLEDGED),
        ("snooze_log_entry", EntryKind.OTHER),
        ("urgency_change_log_entry", EntryKind.SEVERITY_CHANGED),
        ("field_value_change_log_entry", EntryKind.FIELD_CHANGED),
        ("custom_field_value_change_log_entry", EntryKind.FIELD_CHANGED),
        ("reach_ack_limit_log_entry", EntryKind.OTHER),
        ("reach_trigger_limit_log_entry", EntryKind.OTHER),
        ("resolve_log_entry", EntryKind.RESOLVED),
    ]
    for minute, (type_, _) in enumerate(documented):
        fake.add_log_entry(
            INCIDENT,
            type_,
            created_at=f"2020-04-09T16:{minute:02d}:00Z",
            agent=("user", BOB),
            channel={"type": "website"},
            assignees=[CAROL] if type_ in ("escalate_log_entry", "delegate_log_entry") else (),
        )
    read = await make_log().read_log(INCIDENT, limit=100)
    tail = read.entries[-len(documented) :]
    assert [(e.vendor_type, e.kind) for e in tail] == documented
    escalate = tail[0]
    assert escalate.subject is not None
    assert escalate.subject.email == "carol@example.com"


def test_notes_and_notifications_carry_their_detail() -> None:
    note = entry_of(
        {
            "id": "Q1",
            "type": "annotate_log_entry",
            "created_at": "2020-04-09T15:20:00Z",
            "summary": "Note added",
            "channel": {"type": "note", "summary": "Rolled back the config push"},
        },
        {},
    )
    assert note.detail == "Rolled back the config push"
    notified = entry_of(
        {
            "id": "Q2",
            "type": "notify_log_entry",
            "created_at": "2020-04-09T15:16:29Z",
            "summary": "Notified Alice Ops by SMS",
            "user": {"id": ALICE, "type": "user_reference", "summary": "Alice Ops"},
            "channel": {"type": "auto", "notification": {"type": "sms_notification"}},
        },
        {ALICE: "alice@example.com"},
    )
    assert notified.detail == "sms_notification"
    assert notified.subject is not None
    assert notified.subject.email == "alice@example.com"


def test_entry_types_outside_the_published_enum_are_kept_by_their_meaning() -> None:
    assert kind_of("status_update_log_entry") is EntryKind.STATUS_UPDATE
    assert kind_of("priority_change_log_entry") is EntryKind.SEVERITY_CHANGED
    assert kind_of("something_new_log_entry") is EntryKind.OTHER


async def test_pages_are_followed(make_log: LogFactory, fake: FakePagerDuty) -> None:
    fake.max_page_size = 2
    read = await make_log().read_log(INCIDENT, limit=100)
    assert len(read.entries) == 5
    assert not read.truncated
    assert fake.calls[("GET", f"/incidents/{INCIDENT}/log_entries")] == 3


async def test_a_cap_keeps_the_oldest_entries(make_log: LogFactory, fake: FakePagerDuty) -> None:
    fake.max_page_size = 2
    read = await make_log().read_log(INCIDENT, limit=3)
    assert read.truncated
    assert [e.kind for e in read.entries] == [
        EntryKind.TRIGGERED,
        EntryKind.ASSIGNED,
        EntryKind.NOTIFIED,
    ]


async def test_errors(make_log: LogFactory, fake: FakePagerDuty) -> None:
    with pytest.raises(Permanent, match="404"):
        await make_log().read_log("PNOSUCH", limit=10)
    with pytest.raises(AuthFailed):
        await make_log(api_token=SecretStr("wrong")).read_log(INCIDENT, limit=10)
    fake.rate_limit(retry_after=9)
    with pytest.raises(RateLimited) as caught:
        await make_log().read_log(INCIDENT, limit=10)
    assert caught.value.retry_after == 9
    fake.fail(502)
    with pytest.raises(Transient):
        await make_log().read_log(INCIDENT, limit=10)


async def test_log_reads_match_pagerdutys_document(
    make_log: LogFactory, fake: FakePagerDuty, contract: OpenApiContract
) -> None:
    fake.max_page_size = 2
    await make_log().read_log(INCIDENT, limit=3)
    await make_log().read_log(INCIDENT, limit=100)
    assert fake.exchanges
    for exchange in fake.exchanges:
        template = contract.validate_request(
            exchange.method, exchange.path, query=exchange.query, headers=exchange.headers
        )
        assert exchange.status is not None
        contract.validate_response(exchange.method, template, exchange.status, exchange.response)


async def test_responder_requests_are_read_from_the_incident(
    make_log: LogFactory, fake: FakePagerDuty, contract: OpenApiContract
) -> None:
    fake.add_responder(
        INCIDENT,
        BOB,
        requester=ALICE,
        requested_at="2026-11-19T14:06:00Z",
        message="Please join as Scribe",
        updated_at="2026-11-19T14:09:00Z",
    )
    read = await make_log().read_log(INCIDENT, limit=100)

    requested = [e for e in read.entries if e.kind is EntryKind.REQUESTED]
    joined = [e for e in read.entries if e.vendor_type == "responder_joined"]
    assert len(requested) == 1
    assert len(joined) == 1
    request = requested[0]
    assert request.detail == "Please join as Scribe"
    assert request.subject is not None
    assert request.subject.email == "bob@example.com"
    assert request.actor is not None
    assert request.actor.email == "alice@example.com"
    assert joined[0].kind is EntryKind.JOINED
    assert joined[0].at.isoformat() == "2026-11-19T14:09:00+00:00"
    assert [e.at for e in read.entries] == sorted(e.at for e in read.entries)
    # The incident as the fake answers it (with the request) is PagerDuty's shape.
    [incident] = [e for e in fake.exchanges if e.path == f"/incidents/{INCIDENT}"]
    template = contract.validate_request(
        incident.method, incident.path, query=incident.query, headers=incident.headers
    )
    assert incident.status == 200
    contract.validate_response(incident.method, template, incident.status, incident.response)
