"""Write-back: PagerDuty hears about the owner and meeting, and everyone about the outcome."""

from __future__ import annotations

from hub.model.incident import Source
from hub.model.intent import IntentKind, OwnerAndMeetingNote
from hub.model.postmortem import PostMortemStatus
from tests.unit.policy.factories import incident, meeting, ny, payload, plan_for, postmortem


def _kinds(plan_intents: object) -> set[IntentKind]:
    assert isinstance(plan_intents, tuple)
    return {intent.kind for intent in plan_intents}


def test_no_note_before_the_meeting_is_booked() -> None:
    plan = plan_for(incident(), postmortem())
    assert IntentKind.PAGERDUTY_NOTE not in _kinds(plan.intents)


def test_note_once_owner_and_meeting_are_known() -> None:
    booked = postmortem(meeting=meeting(ny(2026, 3, 4, 10, 0)))
    plan = plan_for(incident(), booked)
    [note] = [i for i in plan.intents if i.kind is IntentKind.PAGERDUTY_NOTE]
    assert note.key == "pm:pagerduty:P1:pagerduty-note:owner-meeting"
    written = payload(note, OwnerAndMeetingNote)
    assert written.moment == "owner_and_meeting"
    assert written.meeting_start.isoformat() == "2026-03-04T10:00:00-05:00"
    assert written.owner.email == "ic@example.com"


def test_incident_io_incidents_get_no_pagerduty_note() -> None:
    io_incident = incident(id="incidentio:01X", source=Source.INCIDENTIO, source_id="01X")
    booked = postmortem(incident_id="incidentio:01X", meeting=meeting(ny(2026, 3, 4, 10, 0)))
    assert IntentKind.PAGERDUTY_NOTE not in _kinds(plan_for(io_incident, booked).intents)


def test_not_needed_close_shares_nothing() -> None:
    closed = postmortem(status=PostMortemStatus.CLOSED, not_needed_reason="false alarm, tuned")
    assert plan_for(incident(), closed).intents == ()
