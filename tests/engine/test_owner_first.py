"""The owner hears first (issue 16): a message to a person waits for that person's owner
DMs, while their effect jobs are still to run and nothing was posted under them.

Through the real Reconciler, EffectRunner and job queue, on SQLite and PostgreSQL, with
the Slack connector against its fake: the meeting was booked at a time with a busy
invitee, so the owner is due two DMs at once (the owner DM and the booking report).
Before, whichever job ran first posted first; in a storm the owner heard of meetings
before hearing they owned the post-mortems.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.slack.client import effect_key_of
from connectors.slack.fake import FakeSlack
from hub.engine.effects import EffectRunner, Performer
from hub.engine.owner_first import (
    AFTER_OWNER_DM_SECONDS,
    OwnerDmFirst,
    direct_recipients,
    untold,
)
from hub.engine.reconcile import Reconciler
from hub.intake.merge import merge
from hub.jobs.enqueue import enqueue_job
from hub.jobs.kinds import EFFECT
from hub.jobs.queue import Job, JobQueue, JobState
from hub.jobs.retrying import describe
from hub.model.incident import Source
from hub.model.incident_record import IncidentUpdate
from hub.model.intent import IntentKind
from hub.model.postmortem import BookingNote
from hub.policy import evaluate
from hub.store.db import transaction
from hub.store.effects import EffectState, begin_effect, complete_effect, get_effect
from hub.store.state import save_incident, save_postmortem
from tests.engine.test_keeping_true import (
    ALICE,
    NOW,
    POLICIES,
    RESOLVED,
    SLACK_ALICE,
    booked_meeting,
    chat,
    draft,
    posts,
    slack,
)

__all__ = ["chat", "slack"]

INCIDENT_ID = "pagerduty:P1042"
DM_KEY = f"pm:{INCIDENT_ID}:owner:notify:{ALICE.key}"
REPORT_PREFIX = f"pm:{INCIDENT_ID}:meeting:booked:"


async def _due_jobs(engine: AsyncEngine) -> tuple[JobQueue, Job, Job]:
    """The stored incident, its post-mortem with the meeting booked over a busy invitee,
    one reconcile: the owner DM's and the booking report's effect jobs, leased."""
    await save_incident(engine, merge(None, _update()).record)
    note = BookingNote(conflicts=("bob@example.com",))
    await save_postmortem(
        engine, draft(meeting=booked_meeting().model_copy(update={"booking": note}))
    )
    queue = JobQueue(engine)
    await Reconciler(engine, queue, POLICIES, clock=lambda: NOW).reconcile(INCIDENT_ID)
    leased = await queue.lease("test", limit=1000, lease_seconds=60, now=NOW)
    effects = {str(job.payload["key"]): job for job in leased if job.kind == EFFECT}
    [report] = [job for key, job in effects.items() if key.startswith(REPORT_PREFIX)]
    return queue, effects[DM_KEY], report


def _update() -> IncidentUpdate:
    return IncidentUpdate.of(
        Source.PAGERDUTY,
        "P1042",
        RESOLVED,
        {
            "title": "Checkout API 5xx",
            "reference": "PD-1042",
            "severity": "SEV-2",
            "status": "resolved",
            "created_at": RESOLVED - timedelta(hours=5),
            "resolved_at": RESOLVED,
            "incident_commander": ALICE,
        },
    )


async def _recorded_as_held(queue: JobQueue, job: Job, held: OwnerDmFirst) -> None:
    """As the worker records a held run (hub.jobs.retrying): back to pending, a minute on."""
    later = NOW + timedelta(seconds=60)
    await queue.fail(job, "test", describe(held), retry_at=later, now=NOW, counted=False)


def _runner(
    engine: AsyncEngine, queue: JobQueue, chat: dict[IntentKind, Performer]
) -> EffectRunner:
    reconciler = Reconciler(engine, queue, POLICIES, clock=lambda: NOW)
    return EffectRunner(
        engine,
        POLICIES,
        chat,
        clock=lambda: NOW,
        reconcile=reconciler.request,
        connector_of=dict.fromkeys(chat, "slack"),
        owner_dm_first=True,
    )


async def test_a_report_to_the_owner_waits_for_their_dm_and_then_follows_it(
    engine: AsyncEngine, slack: FakeSlack, chat: dict[IntentKind, Performer]
) -> None:
    queue, dm_job, report_job = await _due_jobs(engine)
    runner = _runner(engine, queue, chat)

    # The DM's job is leased (running: waiting for the channel's turn, say).
    with pytest.raises(OwnerDmFirst) as held:
        await runner(report_job)
    assert held.value.retry_after == AFTER_OWNER_DM_SECONDS
    assert posts(slack, SLACK_ALICE) == []
    # Nothing was attempted: no ledger row, so its retry does not look for a post.
    assert await get_effect(engine, str(report_job.payload["key"])) is None

    await runner(dm_job)
    await queue.complete(dm_job, "test", now=NOW)
    await runner(report_job)

    told = [effect_key_of(message) or "" for message in posts(slack, SLACK_ALICE)]
    assert told[0] == f"{DM_KEY}/dm"
    assert told[1].startswith(REPORT_PREFIX)
    report = await get_effect(engine, str(report_job.payload["key"]))
    assert report is not None
    assert report.state is EffectState.DONE


async def test_the_dms_outcome_brings_the_held_report_forward(
    engine: AsyncEngine, slack: FakeSlack, chat: dict[IntentKind, Performer]
) -> None:
    """Held while the DM waits for its channel; due the moment the DM is recorded, not
    at the end of its wait."""
    queue, dm_job, report_job = await _due_jobs(engine)
    runner = _runner(engine, queue, chat)
    with pytest.raises(OwnerDmFirst) as held:
        await runner(report_job)
    await _recorded_as_held(queue, report_job, held.value)

    await runner(dm_job)

    again = await queue.get(report_job.id)
    assert again is not None
    assert (again.state, again.run_at) == (JobState.PENDING, NOW)


async def test_a_report_waits_for_the_owners_dms_about_other_incidents_too(
    engine: AsyncEngine, slack: FakeSlack, chat: dict[IntentKind, Performer]
) -> None:
    """A storm with one owner: every owner DM to them goes out before the rest, so the
    report about this incident is not released by this incident's DM alone."""
    queue, dm_job, report_job = await _due_jobs(engine)
    other_dm = f"{EFFECT}:pm:pagerduty:P2000:owner:notify:{ALICE.key}"
    async with transaction(engine) as conn:
        await enqueue_job(conn, EFFECT, {}, dedupe_key=other_dm, run_at=NOW + timedelta(seconds=30))
    runner = _runner(engine, queue, chat)
    with pytest.raises(OwnerDmFirst) as held:
        await runner(report_job)
    assert held.value.retry_after == pytest.approx(30 + AFTER_OWNER_DM_SECONDS)
    await _recorded_as_held(queue, report_job, held.value)

    await runner(dm_job)  # this incident's DM: another is still to go out

    again = await queue.get(report_job.id)
    assert again is not None
    assert again.run_at == NOW + timedelta(seconds=60)
    assert [effect_key_of(m) for m in posts(slack, SLACK_ALICE)] == [f"{DM_KEY}/dm"]


async def test_a_report_waits_until_just_after_a_dm_that_was_sent_away(
    engine: AsyncEngine, slack: FakeSlack, chat: dict[IntentKind, Performer]
) -> None:
    """The DM's job waits for its channel's return time: the report comes back after it."""
    queue, dm_job, report_job = await _due_jobs(engine)
    later = NOW + timedelta(seconds=40)
    await queue.fail(dm_job, "test", "LaneBacklogged", retry_at=later, now=NOW, counted=False)

    with pytest.raises(OwnerDmFirst) as held:
        await _runner(engine, queue, chat)(report_job)

    assert held.value.retry_after == pytest.approx(40 + AFTER_OWNER_DM_SECONDS)
    assert posts(slack, SLACK_ALICE) == []


async def test_without_a_dm_to_wait_for_the_report_goes_at_once(
    engine: AsyncEngine, slack: FakeSlack, chat: dict[IntentKind, Performer]
) -> None:
    """The owner's DM is done (or was never planned): nothing holds the report."""
    queue, dm_job, report_job = await _due_jobs(engine)
    await queue.complete(dm_job, "test", now=NOW)

    await _runner(engine, queue, chat)(report_job)

    [report] = posts(slack, SLACK_ALICE)
    assert (effect_key_of(report) or "").startswith(REPORT_PREFIX)


async def test_an_edit_of_a_dm_already_posted_holds_nothing_back(
    engine: AsyncEngine, slack: FakeSlack, chat: dict[IntentKind, Performer]
) -> None:
    """The owner was told; their DM is being edited (the meeting got booked): the report
    need not wait for the edit."""
    queue, _leased_dm, report_job = await _due_jobs(engine)
    await begin_effect(engine, DM_KEY, IntentKind.NOTIFY_OWNER.value, "an earlier version")
    await complete_effect(engine, DM_KEY, "D0ALICE:1700000000.000100")

    await _runner(engine, queue, chat)(report_job)  # the edit's job is still leased

    [report] = posts(slack, SLACK_ALICE)
    assert (effect_key_of(report) or "").startswith(REPORT_PREFIX)


def test_a_message_routed_to_its_teams_channel_is_still_addressed_to_its_recipient() -> None:
    """Issue 15's routing sets `channel` on DMs too (the team's channel for channel
    posts); the booking report still goes to the owner, and waits for their DM."""
    note = BookingNote(conflicts=("bob@example.com",))
    pm = draft(meeting=booked_meeting().model_copy(update={"booking": note}))
    plan = evaluate(merge(None, _update()).record.incident, pm, POLICIES, NOW)
    report = plan.intent_of(IntentKind.REPORT_MEETING_BOOKING)
    assert report is not None
    routed = report.model_copy(
        update={"payload": report.payload.model_copy(update={"channel": "C0TEAMPAY"})}
    )
    assert [person.key for person in direct_recipients(routed)] == [ALICE.key]


async def test_another_persons_dm_holds_nothing_though_their_address_looks_alike(
    engine: AsyncEngine,
) -> None:
    """The DMs are found by a LIKE on the job key: `_` and `%` in an address are literal."""
    async with transaction(engine) as conn:
        for key in ("email:aXb@example.com", "email:a%b@example.org"):
            dm = f"{EFFECT}:pm:pagerduty:P3000:owner:notify:{key}"
            await enqueue_job(conn, EFFECT, {}, dedupe_key=dm, run_at=NOW)
    async with transaction(engine) as conn:
        assert await untold(conn, ["email:a_b@example.com", "email:a%b@example.com"]) == {}
        assert list(await untold(conn, ["email:a%b@example.org"])) == [
            f"{EFFECT}:pm:pagerduty:P3000:owner:notify:email:a%b@example.org"
        ]
