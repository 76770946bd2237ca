"""Follow-up facts from incident.io and Jira, applied to stored post-mortems.

Real store, real Jira connector against the Jira fake on loopback: what the handler
writes is read back from the store, what it asks Jira is read back from the fake.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.common.fakeserver import start_fake
from connectors.jira import JiraConfig, JiraConnector
from connectors.jira.fake import TRANSITIONS, FakeJira
from hub.engine.actions.followups import FollowUpHandler
from hub.errors import Transient
from hub.intake.merge import merge
from hub.jobs.kinds import RECONCILE
from hub.jobs.queue import JobQueue, JobState
from hub.model.followup_event import FollowUpFact, FollowUpStatus
from hub.model.incident import Person, Source
from hub.model.incident_record import IncidentRecord, IncidentUpdate
from hub.model.postmortem import FollowUp, FollowUpState, PostMortem
from hub.policy import load_policies
from hub.ports import StatusCategory, TicketRequest
from hub.store.audit import list_entries
from hub.store.state import load_postmortem, save_incident, save_postmortem

POLICY = Path(__file__).parents[2] / "config" / "policies" / "pagerduty-process.yaml"
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
RESOLVED = datetime(2026, 11, 19, 19, 5, tzinfo=UTC)
IO_INCIDENT = "01HZX3K9QPMQ2V7Z4A1B2C3D4E"
INCIDENT_ID = f"incidentio:{IO_INCIDENT}"
ALICE = Person(name="Alice Chen", email="alice@example.com", incidentio_id="01ALICE")


@pytest.fixture
async def jira() -> AsyncIterator[tuple[FakeJira, JiraConnector, str]]:
    fake = FakeJira()
    runner, url = await start_fake(fake.make_app())
    connector = JiraConnector.from_config(
        JiraConfig(url=url, email=fake.email, api_token=SecretStr(fake.api_token), project="OPS")
    )
    try:
        yield fake, connector, url
    finally:
        await connector.close()
        await runner.cleanup()


@pytest.fixture
def handler(engine: AsyncEngine, jira: tuple[FakeJira, JiraConnector, str]) -> FollowUpHandler:
    _, connector, url = jira
    return FollowUpHandler(
        engine,
        JobQueue(engine),
        load_policies([POLICY]),
        tracker=connector,
        tracker_url=url,
        clock=lambda: NOW,
    )


async def _store_incident(engine: AsyncEngine, incidentio_severity: str = "SEV-1") -> None:
    fields: dict[str, object] = {
        "title": "Checkout API 5xx",
        "reference": "INC-42",
        "severity": incidentio_severity,
        "status": "resolved",
        "created_at": RESOLVED - timedelta(hours=5),
        "resolved_at": RESOLVED,
        "incident_commander": ALICE,
    }
    update = IncidentUpdate.of(Source.INCIDENTIO, IO_INCIDENT, RESOLVED, fields)
    record: IncidentRecord = merge(None, update).record
    await save_incident(engine, record)


def _io_fact(status: FollowUpStatus = FollowUpStatus.OPEN, **overrides: object) -> FollowUpFact:
    values: dict[str, object] = {
        "source": "incidentio",
        "external_id": "01FOLLOWUP1",
        "title": "Alert on checkout 5xx rate",
        "status": status,
        "owner": ALICE,
        "priority": "P1",
        "at": NOW,
        "incident_id": INCIDENT_ID,
        **overrides,
    }
    return FollowUpFact.model_validate(values)


def _jira_fact(key: str, status: FollowUpStatus) -> FollowUpFact:
    return FollowUpFact(source="jira", external_id=key, status=status, at=NOW)


async def _with_filed(engine: AsyncEngine, connector: JiraConnector, state: FollowUpState) -> str:
    ref = await connector.create(
        TicketRequest(summary="Alert on checkout 5xx rate", description="", marker="m:1")
    )
    item = FollowUp(id="1", summary="Alert", priority="P1", tracker_key=ref.key, state=state)
    await save_postmortem(engine, PostMortem(incident_id=INCIDENT_ID, follow_ups=(item,)))
    return ref.key


async def _actions(engine: AsyncEngine) -> list[str]:
    return [entry.action for entry in await list_entries(engine, INCIDENT_ID)]


# -- incident.io ------------------------------------------------------------------


async def test_a_follow_up_for_an_incident_that_needs_a_postmortem_creates_the_draft(
    engine: AsyncEngine, handler: FollowUpHandler
) -> None:
    await _store_incident(engine)

    await handler(_io_fact(), "incidentio:msg_1")

    pm = await load_postmortem(engine, INCIDENT_ID)
    assert pm is not None
    assert pm.status.value == "draft"
    [item] = pm.follow_ups
    assert (item.id, item.summary, item.priority, item.owner) == (
        "01FOLLOWUP1",
        "Alert on checkout 5xx rate",
        "P1",
        ALICE,
    )
    assert item.state is FollowUpState.OPEN
    assert item.tracker_key is None
    assert await _actions(engine) == ["postmortem_created", "follow_up_updated"]
    [reconcile] = await JobQueue(engine).list_jobs(kind=RECONCILE, state=JobState.PENDING)
    assert reconcile.payload == {"incident_id": INCIDENT_ID}


async def test_a_redelivered_fact_changes_nothing_and_an_update_changes_the_item(
    engine: AsyncEngine, handler: FollowUpHandler
) -> None:
    await _store_incident(engine)
    await handler(_io_fact(), "incidentio:msg_1")
    await handler(_io_fact(), "incidentio:msg_1")
    await handler(_io_fact(title="Page on checkout 5xx", priority="P0"), "incidentio:msg_2")

    pm = await load_postmortem(engine, INCIDENT_ID)
    assert pm is not None
    [item] = pm.follow_ups
    assert (item.summary, item.priority, item.owner) == ("Page on checkout 5xx", "P0", ALICE)
    assert (await _actions(engine)).count("follow_up_updated") == 2


async def test_no_postmortem_is_made_for_an_incident_that_needs_none(
    engine: AsyncEngine, handler: FollowUpHandler
) -> None:
    await _store_incident(engine, "SEV-3")

    await handler(_io_fact(), "incidentio:msg_1")

    assert await load_postmortem(engine, INCIDENT_ID) is None
    assert await _actions(engine) == ["follow_up_unattached"]


async def test_a_follow_up_of_an_unknown_incident_is_only_audited(
    engine: AsyncEngine, handler: FollowUpHandler
) -> None:
    await handler(_io_fact(), "incidentio:msg_1")

    assert await load_postmortem(engine, INCIDENT_ID) is None
    assert await _actions(engine) == ["follow_up_unattached"]


async def test_an_issue_incidentio_exported_to_our_site_is_the_ticket(
    engine: AsyncEngine,
    handler: FollowUpHandler,
    jira: tuple[FakeJira, JiraConnector, str],
) -> None:
    _, _, url = jira
    await _store_incident(engine)

    await handler(_io_fact(url=f"{url}/browse/OPS-77"), "incidentio:msg_1")
    await handler(_io_fact(external_id="2", url="https://other.atlassian.net/browse/X-1"), "o")

    pm = await load_postmortem(engine, INCIDENT_ID)
    assert pm is not None
    assert [f.tracker_key for f in pm.follow_ups] == ["OPS-77", None]


async def test_completed_in_incidentio_closes_the_jira_issue_once(
    engine: AsyncEngine,
    handler: FollowUpHandler,
    jira: tuple[FakeJira, JiraConnector, str],
) -> None:
    fake, connector, _ = jira
    await _store_incident(engine)
    key = await _with_filed(engine, connector, FollowUpState.OPEN)

    await handler(_io_fact(FollowUpStatus.DONE, external_id="1"), "incidentio:msg_1")
    # The echo: Jira's own webhook for that transition, then a redelivery.
    await handler(_jira_fact(key, FollowUpStatus.DONE), "jira:hook_1")
    await handler(_io_fact(FollowUpStatus.DONE, external_id="1"), "incidentio:msg_1")

    assert (await connector.get(key)).status_category is StatusCategory.DONE
    assert fake.count("POST", TRANSITIONS) == 1
    pm = await load_postmortem(engine, INCIDENT_ID)
    assert pm is not None
    assert pm.follow_ups[0].state is FollowUpState.DONE
    assert (await _actions(engine)).count("follow_up_updated") == 1


async def test_a_failed_transition_leaves_the_state_for_the_retry(
    engine: AsyncEngine,
    handler: FollowUpHandler,
    jira: tuple[FakeJira, JiraConnector, str],
) -> None:
    fake, connector, _ = jira
    await _store_incident(engine)
    key = await _with_filed(engine, connector, FollowUpState.OPEN)
    fake.fail(503, method="POST", route=TRANSITIONS)

    with pytest.raises(Transient):
        await handler(_io_fact(FollowUpStatus.DONE, external_id="1"), "incidentio:msg_1")
    pm = await load_postmortem(engine, INCIDENT_ID)
    assert pm is not None
    assert pm.follow_ups[0].state is FollowUpState.OPEN

    await handler(_io_fact(FollowUpStatus.DONE, external_id="1"), "incidentio:msg_1")

    assert (await connector.get(key)).status_category is StatusCategory.DONE
    pm = await load_postmortem(engine, INCIDENT_ID)
    assert pm is not None
    assert pm.follow_ups[0].state is FollowUpState.DONE


# -- Jira -------------------------------------------------------------------------


async def test_jira_done_then_reopened_moves_the_follow_up(
    engine: AsyncEngine,
    handler: FollowUpHandler,
    jira: tuple[FakeJira, JiraConnector, str],
) -> None:
    _, connector, _ = jira
    await _store_incident(engine)
    key = await _with_filed(engine, connector, FollowUpState.OPEN)

    await handler(_jira_fact(key.lower(), FollowUpStatus.DONE), "jira:hook_1")
    pm = await load_postmortem(engine, INCIDENT_ID)
    assert pm is not None
    assert pm.follow_ups[0].state is FollowUpState.DONE

    await handler(_jira_fact(key, FollowUpStatus.OPEN), "jira:hook_2")
    pm = await load_postmortem(engine, INCIDENT_ID)
    assert pm is not None
    assert pm.follow_ups[0].state is FollowUpState.OPEN
    assert (await _actions(engine)).count("follow_up_updated") == 2


async def test_a_dropped_follow_up_stays_dropped_and_unknown_tickets_are_ignored(
    engine: AsyncEngine,
    handler: FollowUpHandler,
    jira: tuple[FakeJira, JiraConnector, str],
) -> None:
    _, connector, _ = jira
    await _store_incident(engine)
    key = await _with_filed(engine, connector, FollowUpState.DROPPED)

    await handler(_jira_fact(key, FollowUpStatus.DONE), "jira:hook_1")
    await handler(_jira_fact("OPS-999", FollowUpStatus.DONE), "jira:hook_2")

    pm = await load_postmortem(engine, INCIDENT_ID)
    assert pm is not None
    assert pm.follow_ups[0].state is FollowUpState.DROPPED
    assert await _actions(engine) == []


# -- due dates (issue 15) ----------------------------------------------------------


async def test_a_due_date_moved_or_cleared_in_jira_is_the_follow_ups(
    engine: AsyncEngine, handler: FollowUpHandler, jira: tuple[FakeJira, JiraConnector, str]
) -> None:
    _, connector, _ = jira
    await _store_incident(engine)
    key = await _with_filed(engine, connector, FollowUpState.OPEN)

    def fact(due: date | None, *, reported: bool = True) -> FollowUpFact:
        return _jira_fact(key, FollowUpStatus.OPEN).model_copy(
            update={"due_on": due, "due_reported": reported}
        )

    async def stored() -> FollowUp:
        pm = await load_postmortem(engine, INCIDENT_ID)
        assert pm is not None
        return pm.follow_ups[0]

    # The ticket never had a due date and still has none: nothing was decided by anyone.
    await handler(fact(None), "delivery-1")
    assert (await stored()).due_fixed is False
    # A person sets one in Jira: it is the follow-up's.
    await handler(fact(date(2026, 12, 4)), "delivery-2")
    item = await stored()
    assert (item.due_on, item.due_set_by, item.tracker_due_on) == (
        date(2026, 12, 4),
        "jira",
        date(2026, 12, 4),
    )
    # A delivery without the field changes nothing; clearing it is kept as cleared.
    await handler(fact(None, reported=False), "delivery-3")
    assert (await stored()).due_on == date(2026, 12, 4)
    await handler(fact(None), "delivery-4")
    item = await stored()
    assert (item.due_on, item.due_fixed) == (None, True)
    moves = [e for e in await list_entries(engine, INCIDENT_ID) if e.detail.get("due_moved")]
    assert [e.detail["due_moved"] for e in moves] == [[None, "2026-12-04"], ["2026-12-04", None]]
