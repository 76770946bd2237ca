"""Keeping it true, in the plan: what the owner's DM, the announcement and the booked
meeting depend on, so that a change re-runs them and wording alone does not."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from hub.model.incident import IncidentStatus, Person
from hub.model.intent import Intent, IntentKind
from hub.model.postmortem import OwnerAcceptance, OwnerDesignation, PostMortem, PostMortemStatus
from hub.policy import Plan
from hub.policy.schema import MeetingSpec

from .factories import IC, incident, meeting, ny, plan_for, postmortem

CAROL = Person(email="carol@example.com", name="Carol Diaz")
IC_DM = "pm:pagerduty:P1:owner:notify:email:ic@example.com"
CAROL_DM = "pm:pagerduty:P1:owner:notify:email:carol@example.com"
# SEV-2 resolved Monday 2026-03-02 10:00 New York: due Monday 2026-03-09 10:00.
DEADLINE = ny(2026, 3, 9, 10, 0)
BOOKED = meeting(ny(2026, 3, 4, 11, 0))  # Wednesday 11:00, inside the deadline


def one(plan: Plan, kind: IntentKind) -> Intent:
    [found] = [intent for intent in plan.intents if intent.kind is kind]
    return found


def of_kind(plan: Plan, kind: IntentKind) -> list[Intent]:
    return [intent for intent in plan.intents if intent.kind is kind]


def handed_to(person: Person, **changes: Any) -> PostMortem:
    designation = OwnerDesignation(person=person, by=IC, at=ny(2026, 3, 2, 11, 0))
    return postmortem(designations=(designation,), **changes)


# -- the owner's DM and the channel announcement ---------------------------------------


def test_booking_the_meeting_changes_what_the_dm_and_announcement_depend_on() -> None:
    before = plan_for(incident(), postmortem())
    after = plan_for(incident(), postmortem(meeting=BOOKED))
    for kind in (IntentKind.NOTIFY_OWNER, IntentKind.ANNOUNCE_OWNER):
        unbooked, booked = one(before, kind), one(after, kind)
        assert unbooked.key == booked.key  # the same message, to be edited
        assert unbooked.fingerprint() != booked.fingerprint()
        assert unbooked.payload.canonical()["meeting"] is None
        assert booked.payload.canonical()["meeting"] == {
            "start": BOOKED.start.isoformat(),
            "end": BOOKED.end.isoformat(),
            "html_link": None,
        }
        assert booked.payload.canonical()["deadline"] == DEADLINE.isoformat()


def test_rewording_the_incident_sends_nothing_again() -> None:
    plain = plan_for(incident(), postmortem(meeting=BOOKED))
    reworded = plan_for(
        incident(title="Checkout errors (root cause: TLS)"), postmortem(meeting=BOOKED)
    )
    for kind in (IntentKind.NOTIFY_OWNER, IntentKind.ANNOUNCE_OWNER, IntentKind.UPDATE_MEETING):
        assert one(plain, kind).fingerprint() == one(reworded, kind).fingerprint()


def test_a_hand_off_is_a_new_dm_but_the_same_announcement() -> None:
    first = plan_for(incident(), postmortem())
    handed = plan_for(incident(), handed_to(CAROL))
    dm_before = one(first, IntentKind.NOTIFY_OWNER)
    assert dm_before.key == IC_DM
    # The new owner's DM comes first (the one `intent_of` finds), under her own key.
    dm_after = handed.intent_of(IntentKind.NOTIFY_OWNER)
    assert dm_after is not None
    assert dm_after.key == CAROL_DM
    news_before = one(first, IntentKind.ANNOUNCE_OWNER)
    news_after = one(handed, IntentKind.ANNOUNCE_OWNER)
    assert news_before.key == news_after.key == "pm:pagerduty:P1:owner:announce"
    assert news_before.fingerprint() != news_after.fingerprint()
    assert news_after.payload.canonical()["owner"] == {
        "email": "carol@example.com",
        "name": "Carol Diaz",
    }


def test_the_owners_accept_shows_in_their_dm_only() -> None:
    accepted_at = ny(2026, 3, 2, 11, 30)
    accepted = postmortem(acceptance=OwnerAcceptance(person=IC, at=accepted_at))
    dm = one(plan_for(incident(), accepted), IntentKind.NOTIFY_OWNER)
    assert dm.payload.canonical()["accepted_at"] == accepted_at.isoformat()
    assert dm.fingerprint() != one(plan_for(incident(), postmortem()), dm.kind).fingerprint()
    # Handed off after the Accept: the new owner has not accepted anything.
    handed = handed_to(CAROL, acceptance=OwnerAcceptance(person=IC, at=accepted_at))
    carol_dm = plan_for(incident(), handed).intent(CAROL_DM)
    assert carol_dm is not None
    assert carol_dm.payload.canonical()["accepted_at"] is None


def test_a_former_owners_dm_is_corrected_to_name_the_new_owner() -> None:
    handed = plan_for(incident(), handed_to(CAROL))
    former = handed.intent(IC_DM)  # the chain chose the commander before Carol was named
    assert former is not None
    assert former.kind is IntentKind.NOTIFY_OWNER
    assert former.payload.canonical() == {
        "owner": {"email": "ic@example.com", "name": "Ida Commander"},
        "handed_to": {"email": "carol@example.com", "name": "Carol Diaz"},
    }
    assert (
        former.fingerprint() != one(plan_for(incident(), postmortem()), former.kind).fingerprint()
    )
    # Handed back: the commander's own DM is the owner's again, and Carol's is corrected.
    back = OwnerDesignation(person=IC, by=IC, at=ny(2026, 3, 2, 11, 30))
    designations = (*handed_to(CAROL).designations, back)
    again = plan_for(incident(), postmortem(designations=designations))
    ic_dm, carol_dm = again.intent(IC_DM), again.intent(CAROL_DM)
    assert ic_dm is not None
    assert "handed_to" not in ic_dm.payload.canonical()
    assert carol_dm is not None
    assert carol_dm.payload.canonical()["handed_to"] == {
        "email": "ic@example.com",
        "name": "Ida Commander",
    }


# -- the booked event: details, checks, a move past the deadline -------------------------


def test_a_booked_meeting_is_kept_true_by_details_and_checks() -> None:
    plan = plan_for(incident(), postmortem(meeting=BOOKED), now=ny(2026, 3, 2, 12, 30))
    details = one(plan, IntentKind.UPDATE_MEETING)
    assert details.key == "pm:pagerduty:P1:meeting:details"
    assert details.payload.canonical() == {
        "event_ref": "evt1",
        "owner": {"email": "ic@example.com", "name": "Ida Commander"},
        "commander": {"email": "ic@example.com", "name": "Ida Commander"},
        "reopened": False,
    }
    # Hourly from the resolution (10:00): the one due (12:00) and the next (13:00).
    checks = of_kind(plan, IntentKind.CHECK_MEETING)
    assert [c.key for c in checks] == [
        "pm:pagerduty:P1:meeting:check@2026-03-02T17:00:00Z",
        "pm:pagerduty:P1:meeting:check@2026-03-02T18:00:00Z",
    ]
    assert [c.due_at for c in checks] == [ny(2026, 3, 2, 12, 0), ny(2026, 3, 2, 13, 0)]
    assert {c.payload.canonical()["event_ref"] for c in checks} == {"evt1"}
    assert of_kind(plan, IntentKind.REPORT_LATE_MEETING) == []


def test_a_check_does_not_change_when_the_meeting_it_records_moves() -> None:
    now = ny(2026, 3, 2, 12, 30)
    moved = meeting(ny(2026, 3, 5, 15, 0))
    before = of_kind(
        plan_for(incident(), postmortem(meeting=BOOKED), now=now), IntentKind.CHECK_MEETING
    )
    after = of_kind(
        plan_for(incident(), postmortem(meeting=moved), now=now), IntentKind.CHECK_MEETING
    )
    assert [(c.key, c.fingerprint()) for c in before] == [(c.key, c.fingerprint()) for c in after]


def test_no_checks_once_the_meeting_has_started_or_the_review_is_done() -> None:
    started = plan_for(
        incident(), postmortem(meeting=BOOKED), now=BOOKED.start + timedelta(hours=1)
    )
    assert of_kind(started, IntentKind.CHECK_MEETING) == []
    reviewed = postmortem(meeting=BOOKED, status=PostMortemStatus.REVIEWED)
    assert of_kind(plan_for(incident(), reviewed), IntentKind.CHECK_MEETING) == []


def test_a_meeting_moved_past_the_deadline_is_reported_once_per_move() -> None:
    late = meeting(ny(2026, 3, 9, 14, 0))  # Monday 14:00, after the 10:00 deadline
    report = one(plan_for(incident(), postmortem(meeting=late)), IntentKind.REPORT_LATE_MEETING)
    assert report.key == "pm:pagerduty:P1:meeting:late:email:ic@example.com@2026-03-09T18:30:00Z"
    assert report.payload.canonical()["recipient"] == {
        "email": "ic@example.com",
        "name": "Ida Commander",
    }
    assert report.payload.canonical()["deadline"] == DEADLINE.isoformat()
    # Evaluated again later: the same report (the ledger has it done).
    again = plan_for(incident(), postmortem(meeting=late), now=ny(2026, 3, 3, 9, 0))
    assert one(again, IntentKind.REPORT_LATE_MEETING) == report
    # Moved again, still late: a new report.
    later = meeting(ny(2026, 3, 10, 9, 30))
    moved_again = one(
        plan_for(incident(), postmortem(meeting=later)), IntentKind.REPORT_LATE_MEETING
    )
    assert moved_again.key != report.key
    # Moved back inside the deadline: nothing to report (and the meeting is not moved).
    assert (
        of_kind(plan_for(incident(), postmortem(meeting=BOOKED)), IntentKind.REPORT_LATE_MEETING)
        == []
    )


def test_a_new_owner_is_told_about_a_late_meeting_too() -> None:
    late = meeting(ny(2026, 3, 9, 14, 0))
    first = one(plan_for(incident(), postmortem(meeting=late)), IntentKind.REPORT_LATE_MEETING)
    handed = one(
        plan_for(incident(), handed_to(CAROL, meeting=late)), IntentKind.REPORT_LATE_MEETING
    )
    assert handed.key != first.key
    assert handed.payload.canonical()["recipient"] == {
        "email": "carol@example.com",
        "name": "Carol Diaz",
    }


def test_a_hand_off_updates_the_event_details() -> None:
    plain = one(plan_for(incident(), postmortem(meeting=BOOKED)), IntentKind.UPDATE_MEETING)
    handed = one(plan_for(incident(), handed_to(CAROL, meeting=BOOKED)), IntentKind.UPDATE_MEETING)
    assert plain.key == handed.key
    assert plain.fingerprint() != handed.fingerprint()
    assert handed.payload.canonical()["owner"] == {
        "email": "carol@example.com",
        "name": "Carol Diaz",
    }


def test_a_reopened_incident_only_notes_it_on_the_event() -> None:
    reopened = incident(status=IncidentStatus.ACKNOWLEDGED, resolved_at=None)
    plan = plan_for(reopened, postmortem(meeting=BOOKED))
    [details] = plan.intents
    assert details.kind is IntentKind.UPDATE_MEETING
    assert details.payload.canonical()["reopened"] is True
    assert details.key == one(plan_for(incident(), postmortem(meeting=BOOKED)), details.kind).key
    # Without a booked meeting there is nothing to note.
    assert plan_for(reopened, postmortem()).intents == ()


def test_check_every_must_be_some_time() -> None:
    spec = {"deadline": {"default": "3 days"}, "calendar": "PM"}
    assert MeetingSpec.model_validate(spec).check_every.delta == timedelta(hours=1)  # type: ignore[union-attr]
    assert str(
        MeetingSpec.model_validate({**spec, "check_every": "2 business days"}).check_every
    ) == ("2 business days")
    with pytest.raises(ValidationError, match="check_every must be longer than nothing"):
        MeetingSpec.model_validate({**spec, "check_every": "0m"})
