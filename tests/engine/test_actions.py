"""Post-mortem actions: one transaction each, audited allowed or refused, idempotent by origin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.engine.actions.transitions import PostMortemActions, follow_up_id
from hub.intake.merge import merge
from hub.jobs.kinds import RECONCILE
from hub.jobs.queue import JobQueue, JobState
from hub.model.incident import Person, Source
from hub.model.incident_record import IncidentRecord, IncidentUpdate
from hub.model.postmortem import Meeting, PostMortem, PostMortemStatus
from hub.policy import load_policies
from hub.store.audit import list_entries
from hub.store.state import load_postmortem, save_incident, save_postmortem

POLICY = Path(__file__).parents[2] / "config" / "policies" / "pagerduty-process.yaml"
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
RESOLVED = datetime(2026, 11, 19, 19, 5, tzinfo=UTC)
ALICE = Person(email="alice@example.com", name="Alice Chen")
BOB = Person(email="bob@example.com", name="Bob Okafor", slack_id="U0BOB00001")


async def _stored(engine: AsyncEngine, severity: str = "SEV-1", **extra: object) -> str:
    fields: dict[str, object] = {
        "title": "Checkout API 5xx",
        "reference": "PD-1042",
        "severity": severity,
        "status": "resolved",
        "created_at": RESOLVED - timedelta(hours=5),
        "resolved_at": RESOLVED,
        "incident_commander": ALICE,
        **extra,
    }
    record: IncidentRecord = merge(
        None, IncidentUpdate.of(Source.PAGERDUTY, "P1042", RESOLVED, fields)
    ).record
    await save_incident(engine, record)
    return record.id


def _actions(engine: AsyncEngine) -> PostMortemActions:
    return PostMortemActions(engine, JobQueue(engine), load_policies([POLICY]), clock=lambda: NOW)


async def _draft(engine: AsyncEngine, incident_id: str, **changes: object) -> PostMortem:
    pm = PostMortem(incident_id=incident_id, created_at=NOW, status_changed_at=NOW)
    pm = pm.model_copy(update=changes)
    await save_postmortem(engine, pm)
    return pm


async def test_designation_is_done_once_per_origin_and_asks_for_a_reconcile(
    engine: AsyncEngine,
) -> None:
    incident_id = await _stored(engine)
    actions = _actions(engine)

    first = await actions.designate_owner(incident_id, BOB, ALICE, origin="slack:1")
    again = await actions.designate_owner(incident_id, BOB, ALICE, origin="slack:1")

    assert first.allowed
    assert not first.replayed
    assert "Bob Okafor now owns" in first.message
    assert again.allowed
    assert again.replayed
    assert again.message == first.message
    pm = await load_postmortem(engine, incident_id)
    assert pm is not None
    assert pm.designation is not None
    assert [d.person.key for d in pm.designations] == ["email:bob@example.com"]
    assert pm.designation.by == ALICE
    reconciles = await JobQueue(engine).list_jobs(kind=RECONCILE, state=JobState.PENDING)
    assert [j.payload["incident_id"] for j in reconciles] == [incident_id]
    # A different request naming the same owner changes nothing, and says so.
    same = await actions.designate_owner(incident_id, BOB, ALICE, origin="slack:2")
    assert not same.allowed
    assert "already owns" in same.message


async def test_follow_up_id_comes_from_the_origin(engine: AsyncEngine) -> None:
    incident_id = await _stored(engine)
    await _draft(engine, incident_id)
    actions = _actions(engine)

    for _ in range(2):
        result = await actions.add_follow_up(
            incident_id, " Alert on 5xx ", "P1", ALICE, origin="slack:7", owner=BOB
        )
        assert result.allowed

    pm = await load_postmortem(engine, incident_id)
    assert pm is not None
    [item] = pm.follow_ups
    assert item.id == follow_up_id("slack:7")
    assert (item.summary, item.priority, item.owner) == ("Alert on 5xx", "P1", BOB)


async def test_external_message_is_linted_and_a_refusal_audited(engine: AsyncEngine) -> None:
    incident_id = await _stored(engine)
    await _draft(engine, incident_id)
    actions = _actions(engine)

    refused = await actions.set_external_message(
        incident_id, "We had an outage.", ALICE, origin="a"
    )
    saved = await actions.set_external_message(
        incident_id, "Some checkouts failed.", ALICE, origin="b"
    )

    assert not refused.allowed
    assert "'outage'" in refused.message
    assert saved.allowed
    pm = await load_postmortem(engine, incident_id)
    assert pm is not None
    assert pm.external_message is not None
    assert pm.external_message.body == "Some checkouts failed."
    actions_logged = [(e.action, e.rule) for e in await list_entries(engine, incident_id)]
    assert actions_logged == [
        ("external_message_set_refused", "major"),
        ("external_message_set", "major"),
    ]


async def test_transitions_allowed_and_refused_are_audited_with_rule_and_guards(
    engine: AsyncEngine,
) -> None:
    incident_id = await _stored(engine)
    await _draft(engine, incident_id)
    actions = _actions(engine)

    no_meeting = await actions.transition(
        incident_id, PostMortemStatus.IN_REVIEW, ALICE, origin="1"
    )
    assert not no_meeting.allowed
    assert "the meeting is not scheduled" in no_meeting.message

    start = NOW + timedelta(days=1)
    meeting = Meeting(start=start, end=start + timedelta(minutes=30), calendar="PM")
    pm = await load_postmortem(engine, incident_id)
    assert pm is not None
    await save_postmortem(engine, pm.model_copy(update={"meeting": meeting}))
    in_review = await actions.transition(incident_id, PostMortemStatus.IN_REVIEW, ALICE, origin="2")
    early = await actions.transition(incident_id, PostMortemStatus.REVIEWED, ALICE, origin="3")
    overridden = await actions.transition(
        incident_id, PostMortemStatus.REVIEWED, ALICE, origin="4", reason="async", override=True
    )

    assert in_review.allowed
    assert not early.allowed
    assert overridden.allowed
    stored = await load_postmortem(engine, incident_id)
    assert stored is not None
    assert stored.status is PostMortemStatus.REVIEWED
    entries = [e for e in await list_entries(engine, incident_id) if "transition" in e.action]
    assert [(e.action, e.detail["to"], e.detail["guards"]) for e in entries] == [
        ("transition_refused", "in_review", ["meeting_scheduled"]),
        ("transition", "in_review", []),
        ("transition_refused", "reviewed", ["meeting_held"]),
        ("transition", "reviewed", ["meeting_held"]),
    ]
    assert {e.rule for e in entries} == {"major"}
    assert {e.actor for e in entries} == {"email:alice@example.com"}
    assert entries[-1].detail["override"] is True


async def test_an_optional_postmortem_closes_as_not_needed_a_required_one_does_not(
    engine: AsyncEngine,
) -> None:
    optional = await _stored(engine, "SEV-4", **{"false_positive.note": True})
    actions = _actions(engine)

    closed = await actions.close_not_needed(optional, ALICE, "alerting is fine", origin="x")

    assert closed.allowed
    pm = await load_postmortem(engine, optional)
    assert pm is not None
    assert pm.status is PostMortemStatus.CLOSED
    assert pm.not_needed_reason == "alerting is fine"

    required = await _stored(engine)
    await _draft(engine, required)
    refused = await actions.close_not_needed(required, ALICE, "meh", origin="y")
    assert not refused.allowed
    assert "requires this post-mortem" in refused.message


async def test_accepting_an_optional_postmortem_creates_it(engine: AsyncEngine) -> None:
    incident_id = await _stored(engine, "SEV-4", **{"false_positive.note": True})
    result = await _actions(engine).designate_owner(incident_id, BOB, BOB, origin="button")
    assert result.allowed
    pm = await load_postmortem(engine, incident_id)
    assert pm is not None
    assert pm.designation is not None
    assert pm.designation.person == BOB


async def test_unknown_incident_is_refused(engine: AsyncEngine) -> None:
    result = await _actions(engine).transition(
        "pagerduty:NOPE", PostMortemStatus.CLOSED, ALICE, origin="z"
    )
    assert not result.allowed
    assert "no incident" in result.message


async def test_followups_none_lets_a_review_close_without_an_override(
    engine: AsyncEngine,
) -> None:
    """Seed 001 leaves action items to the individuals: `followups none <reason>`."""
    incident_id = await _stored(engine, severity="SEV-2")
    start = NOW - timedelta(hours=2)
    held = Meeting(start=start, end=start + timedelta(minutes=30), calendar="PM")
    await _draft(engine, incident_id, status=PostMortemStatus.REVIEWED, meeting=held)
    actions = _actions(engine)

    refused = await actions.transition(incident_id, PostMortemStatus.CLOSED, ALICE, origin="c1")
    assert not refused.allowed
    assert "no follow-ups recorded" in refused.message
    no_reason = await actions.declare_no_follow_ups(incident_id, ALICE, "  ", origin="n0")
    assert not no_reason.allowed
    declared = await actions.declare_no_follow_ups(
        incident_id, ALICE, "learnings are up to the individuals", origin="n1"
    )
    assert declared.allowed
    assert declared.message == "no follow-ups to file: learnings are up to the individuals"
    closed = await actions.transition(incident_id, PostMortemStatus.CLOSED, ALICE, origin="c2")
    assert closed.allowed, closed.message

    pm = await load_postmortem(engine, incident_id)
    assert pm is not None
    assert pm.status is PostMortemStatus.CLOSED
    assert (pm.no_follow_ups, pm.no_follow_ups_reason) == (
        True,
        "learnings are up to the individuals",
    )
    entries = await list_entries(engine, incident_id, limit=100)
    [entry] = [e for e in entries if e.action == "no_follow_ups_declared"]
    assert entry.detail["reason"] == "learnings are up to the individuals"
    [close] = [e for e in entries if e.action == "transition"]
    assert close.detail["override"] is False


async def test_followups_none_is_refused_while_follow_ups_are_recorded(
    engine: AsyncEngine,
) -> None:
    incident_id = await _stored(engine)
    await _draft(engine, incident_id)
    actions = _actions(engine)
    await actions.declare_no_follow_ups(incident_id, ALICE, "nothing to do", origin="n1")
    added = await actions.add_follow_up(incident_id, "Alert on 5xx", "P1", ALICE, origin="f1")
    assert added.allowed
    pm = await load_postmortem(engine, incident_id)
    assert pm is not None
    assert not pm.no_follow_ups, "a follow-up takes 'there are none' back"

    refused = await actions.declare_no_follow_ups(incident_id, ALICE, "changed mind", origin="n2")
    assert not refused.allowed
    assert "follow-ups are recorded" in refused.message
