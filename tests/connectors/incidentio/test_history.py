"""incident.io's activity log read for the timeline: updates, statuses, roles, pages, limits."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
import pytest
from pydantic import SecretStr

from connectors.incidentio.config import IncidentIoConfig
from connectors.incidentio.fake import FakeIncidentIo
from connectors.incidentio.history import IncidentIoIncidentLog, entry_of
from hub.errors import AuthFailed, Permanent, RateLimited
from hub.ports import EntryKind, HistorySource
from tests.connectors.incidentio.conftest import DAVE, INCIDENT, LISA
from tests.support.contract import OpenApiContract

LogFactory = Callable[..., IncidentIoIncidentLog]
WORKFLOW = {"workflow": {"id": "01FCNDV6P870EA6S7TK1DSYDW1", "name": "Page the on-call"}}


@pytest.fixture
def make_log(base_url: str, session: aiohttp.ClientSession) -> LogFactory:
    def make(*, page_size: int = 250, **overrides: object) -> IncidentIoIncidentLog:
        settings: dict[str, object] = {
            "api_key": SecretStr(FakeIncidentIo.api_key),
            "base_url": base_url,
            "timeout_seconds": 5,
            **overrides,
        }
        config = IncidentIoConfig.model_validate(settings)
        return IncidentIoIncidentLog.from_config(config, session, page_size=page_size)

    return make


@pytest.fixture
def activity(fake: FakeIncidentIo) -> None:
    """INC-123's story: declared, a lead assigned, updates, a scribe, a pin, resolved."""
    at = "2021-08-17T13:{:02d}:00Z".format
    fake.add_activity(
        INCIDENT,
        "pagerduty_incident_triggered",
        "PagerDuty incident triggered",
        occurred_at=at(29),
        content={"actor": WORKFLOW},
    )
    fake.add_activity(
        INCIDENT,
        "role_update",
        "Lisa Karlin Curtis is now Incident Lead",
        occurred_at=at(30),
        by=DAVE,
        content={"role": fake.role("Incident Lead"), "new_assignee": fake.users[LISA]},
    )
    fake.add_activity(
        INCIDENT,
        "status_change",
        "Status changed from Investigating to Fixing",
        occurred_at=at(35),
        by=LISA,
        content={
            "previous_status": fake.status("Investigating", "live"),
            "new_status": fake.status("Fixing", "live"),
        },
    )
    fake.add_activity(
        INCIDENT,
        "incident_update",
        "Lisa shared an update",
        occurred_at=at(40),
        by=LISA,
        content={"id": "01FCNDV6P870EA6S7TK1DSYDU1", "message": "Rolling back the deploy"},
    )
    fake.add_activity(
        INCIDENT, "scribe_added", "Scribe joined the call", occurred_at=at(41), content={}
    )
    fake.add_activity(
        INCIDENT, "slack_pin", "Dave pinned a message", occurred_at=at(45), by=DAVE, content={}
    )
    fake.add_activity(
        INCIDENT,
        "pagerduty_incident_resolved",
        "PagerDuty incident resolved",
        occurred_at=at(50),
        content={"actor": WORKFLOW},
    )


@pytest.mark.usefixtures("activity")
async def test_reads_the_activity_log(make_log: LogFactory) -> None:
    read = await make_log().read_log(INCIDENT, limit=100)

    assert not read.truncated
    assert [e.kind for e in read.entries] == [
        EntryKind.TRIGGERED,
        EntryKind.ROLE_ASSIGNED,
        EntryKind.STATUS_CHANGED,
        EntryKind.STATUS_UPDATE,
        EntryKind.ROLE_ASSIGNED,
        EntryKind.MESSAGE,
        EntryKind.RESOLVED,
    ]
    trigger, lead, status, update, scribe, pin, _ = read.entries
    assert trigger.source is HistorySource.INCIDENT_IO
    assert trigger.actor is not None
    assert trigger.actor.is_bot
    assert trigger.actor.name == "Page the on-call"
    assert lead.detail == "Incident Lead"
    assert lead.subject is not None
    assert lead.subject.email == "lisa@incident.io"
    assert lead.actor is not None
    assert lead.actor.email == "dave@incident.io"
    assert status.detail == "Fixing"
    assert update.detail == "Rolling back the deploy"
    assert scribe.detail == "Scribe"
    assert pin.pinned
    assert all(e.link == "https://app.incident.io/incidents/123" for e in read.entries)
    assert read.entries[0].at.isoformat() == "2021-08-17T13:29:00+00:00"


@pytest.mark.usefixtures("activity")
async def test_pages_are_followed_by_the_last_id(
    make_log: LogFactory, fake: FakeIncidentIo
) -> None:
    read = await make_log(page_size=3).read_log(INCIDENT, limit=100)
    assert len(read.entries) == 7
    pages = [e for e in fake.exchanges if e.path == "/v2/incident_activity_log_entries"]
    assert len(pages) == 3
    assert ("after", fake.activity[INCIDENT][2]["id"]) in pages[1].query


@pytest.mark.usefixtures("activity")
async def test_a_cap_keeps_the_oldest_and_says_so(make_log: LogFactory) -> None:
    read = await make_log(page_size=2).read_log(INCIDENT, limit=3)
    assert read.truncated
    assert [e.kind for e in read.entries] == [
        EntryKind.TRIGGERED,
        EntryKind.ROLE_ASSIGNED,
        EntryKind.STATUS_CHANGED,
    ]


def test_an_unknown_activity_type_is_kept() -> None:
    entry = entry_of(
        {
            "id": "x",
            "type": "investigation_hypothesis_update",
            "title": "New hypothesis",
            "occurred_at": "2021-08-17T13:29:00Z",
            "content": {},
        },
    )
    assert entry.kind is EntryKind.OTHER
    assert entry.text == "New hypothesis"


@pytest.mark.usefixtures("activity")
async def test_errors(make_log: LogFactory, fake: FakeIncidentIo) -> None:
    with pytest.raises(Permanent, match="404"):
        await make_log().read_log("01NOSUCHINCIDENT", limit=10)
    with pytest.raises(AuthFailed):
        await make_log(api_key=SecretStr("wrong")).read_log(INCIDENT, limit=10)
    fake.rate_limit(retry_after=4)
    with pytest.raises(RateLimited) as caught:
        await make_log().read_log(INCIDENT, limit=10)
    assert caught.value.retry_after == 4


@pytest.mark.usefixtures("activity")
async def test_activity_reads_match_incident_ios_document(
    make_log: LogFactory, fake: FakeIncidentIo, contract: OpenApiContract
) -> None:
    await make_log(page_size=3).read_log(INCIDENT, limit=100)
    await make_log(page_size=2).read_log(INCIDENT, limit=3)
    checked = 0
    for exchange in fake.exchanges:
        template = contract.validate_request(
            exchange.method, exchange.path, query=exchange.query, headers=exchange.headers
        )
        assert exchange.status is not None
        contract.validate_response(exchange.method, template, exchange.status, exchange.response)
        checked += template == "/v2/incident_activity_log_entries"
    assert checked == 5
