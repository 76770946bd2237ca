"""Issue 13, "Scheduling that serves the process", as pure plans: each case named after it.

The writing and review time before the meeting (`meeting.not_before`), falling back
only when the deadline leaves no room; no working time at all before the deadline;
the booked time's conflicts; a meeting a person cancelled. Each case must reach a
named person through an intent with a stable key (exactly once: the ledger), never
end in nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hub.model.incident import Person, Severity
from hub.model.intent import (
    IntentKind,
    Remind,
    ReportMeetingBooking,
    ReportMeetingCancelled,
    ReportNoMeetingSlot,
    ScheduleMeeting,
)
from hub.model.postmortem import (
    BookingNote,
    CancelledMeeting,
    NoMeetingSlot,
    OwnerDesignation,
    PostMortem,
)
from hub.policy import Plan
from hub.policy.deadlines import Slot
from hub.policy.meeting_window import meeting_candidates, not_before, proposed_slot
from hub.policy.schema import MeetingSpec, ReviewSpec

from .factories import (
    ALICE,
    IC,
    incident,
    meeting,
    ny,
    payload,
    plan_for,
    policy_from,
    postmortem,
    us_calendar,
)

KEY = "pm:pagerduty:P1"


def of_kind(plan: Plan, kind: IntentKind) -> list[str]:
    return [intent.key for intent in plan.intents if intent.kind is kind]


def owned_by_alice(**changes: object) -> PostMortem:
    """Alice designated owner (the commander is someone else: Ida)."""
    designation = OwnerDesignation(person=ALICE, by=IC, at=ny(2026, 3, 2, 10, 5))
    return postmortem(designations=(designation,), **changes)


# -- the earliest slot no longer defeats the review ----------------------------------------


def test_a_sev2_resolved_in_the_morning_is_not_booked_the_same_day() -> None:
    # Resolved Monday 09:50 (the SEV-2): a business day of writing, 24h of review.
    subject = incident(severity=Severity.SEV2, resolved_at=ny(2026, 3, 2, 9, 50))
    plan = plan_for(subject, now=ny(2026, 3, 2, 9, 55))
    assert plan.meeting is not None
    assert plan.meeting.not_before == ny(2026, 3, 4, 9, 50)
    booking = payload(plan.intent(f"{KEY}:meeting"), ScheduleMeeting)
    assert booking.window_start == ny(2026, 3, 4, 9, 50)
    assert booking.earliest_slot == ny(2026, 3, 4, 10)  # Wednesday, not Monday 11:30
    assert not any("no working time" in note for note in plan.notes)


def test_not_before_defaults_to_a_working_day_of_writing_plus_the_review_time() -> None:
    spec = MeetingSpec.model_validate({"calendar": "PMs", "deadline": {"default": "5 days"}})
    calendar = us_calendar()
    friday_evening = ny(2026, 3, 6, 18)
    # Writing: Monday 09:00 (the next working time) to Tuesday 09:00; review: 24h.
    assert not_before(calendar, friday_evening, spec, ReviewSpec()) == ny(2026, 3, 11, 9)
    # Without a review step, only the writing time.
    assert not_before(calendar, friday_evening, spec, None) == ny(2026, 3, 10, 9)
    explicit = spec.model_copy(update={"not_before": spec.check_every})  # 1h, as written
    assert not_before(calendar, friday_evening, explicit, None) == ny(2026, 3, 6, 19)


def test_not_before_falls_back_to_the_latest_slot_when_the_deadline_leaves_no_room() -> None:
    # SEV-1 resolved Thursday 14:05: due Sunday 14:05, but the review time ends Saturday.
    subject = incident(severity=Severity.SEV1, resolved_at=ny(2026, 11, 19, 14, 5))
    plan = plan_for(subject, now=ny(2026, 11, 19, 14, 10))
    booking = payload(plan.intent(f"{KEY}:meeting"), ScheduleMeeting)
    assert booking.window_start == ny(2026, 11, 21, 14, 5)
    assert booking.fallback_start == ny(2026, 11, 19, 14, 5)
    # As late as the deadline allows: Friday 16:30, keeping the most writing time.
    assert booking.earliest_slot == ny(2026, 11, 20, 16, 30)
    [note] = [n for n in plan.notes if "leaves no working time" in n]
    assert "booked earlier" in note


def test_candidates_fall_back_latest_first_and_only_without_room() -> None:
    calendar = us_calendar()
    thursday, saturday = ny(2026, 11, 19, 14, 5), ny(2026, 11, 21, 14, 5)
    sunday = ny(2026, 11, 22, 14, 5)
    fallback = meeting_candidates(thursday, saturday, sunday, timedelta(minutes=30), calendar)
    assert fallback.early
    assert fallback.prefer == "latest"
    assert fallback.first == Slot(ny(2026, 11, 20, 16, 30), ny(2026, 11, 20, 17))
    roomy = meeting_candidates(
        thursday, ny(2026, 11, 20, 9), sunday, timedelta(minutes=30), calendar
    )
    assert not roomy.early
    assert roomy.first == Slot(ny(2026, 11, 20, 9), ny(2026, 11, 20, 9, 30))


# -- no slot is not a dead job ------------------------------------------------------------

# SEV-1 resolved Friday 15 Jan 2027 17:30 New York; Monday 18 Jan is MLK Day.
MLK_RESOLVED = datetime(2027, 1, 15, 17, 30, tzinfo=ZoneInfo("America/New_York"))


def test_no_working_time_before_the_deadline_tells_owner_and_commander_once_each() -> None:
    subject = incident(severity=Severity.SEV1, resolved_at=MLK_RESOLVED)
    plan = plan_for(subject, owned_by_alice(), now=MLK_RESOLVED + timedelta(minutes=5))
    assert plan.meeting is not None
    assert plan.meeting.deadline == ny(2027, 1, 18, 17, 30)
    # Nothing to book, so no booking job that could die.
    assert of_kind(plan, IntentKind.SCHEDULE_MEETING) == []
    asks = {
        i.key: payload(i, ReportNoMeetingSlot)
        for i in plan.intents
        if i.key.endswith(("no-slot:email:alice@example.com", "no-slot:email:ic@example.com"))
    }
    assert sorted(asks) == [
        f"{KEY}:meeting:no-slot:email:alice@example.com",
        f"{KEY}:meeting:no-slot:email:ic@example.com",
    ]
    for ask in asks.values():
        assert ask.why == "no_working_time"
        assert ask.owner == ALICE
        assert ask.deadline == ny(2027, 1, 18, 17, 30)
        # Proposed: Tuesday 09:00, the first working time after the holiday.
        assert ask.proposed_start == ny(2027, 1, 19, 9)
    assert {ask.recipient for ask in asks.values()} == {ALICE, IC}
    assert any("no working time to book" in problem for problem in plan.problems)
    # And the policy's reminders keep coming: the escalation is a timer at the deadline.
    [overdue] = [i for i in plan.intents if i.clause == "reminders.overdue"]
    assert overdue.due_at == ny(2027, 1, 18, 17, 30)
    assert set(payload(overdue, Remind).recipients) == {ALICE, IC}


def test_an_owner_who_is_also_the_commander_is_told_once() -> None:
    subject = incident(severity=Severity.SEV1, resolved_at=MLK_RESOLVED)
    plan = plan_for(subject, now=MLK_RESOLVED + timedelta(minutes=5))  # Ida owns it
    assert of_kind(plan, IntentKind.REPORT_NO_MEETING_SLOT) == [
        f"{KEY}:meeting:no-slot:email:ic@example.com"
    ]


def test_a_booking_that_found_no_time_left_asks_a_person_to_pick_one() -> None:
    # The booking job ran Friday 16:10: with an hour's notice nothing was left before
    # the deadline (SEV-1 resolved Friday 16:00, due Monday 16:00 on MLK Day).
    resolved = ny(2027, 1, 15, 16)
    subject = incident(severity=Severity.SEV1, resolved_at=resolved)
    unbooked = NoMeetingSlot(
        key=f"{KEY}:meeting",
        window_start=ny(2027, 1, 15, 17, 10),
        deadline=ny(2027, 1, 18, 16),
        proposed_start=ny(2027, 1, 19, 9),
        proposed_end=ny(2027, 1, 19, 9, 30),
        noticed_at=ny(2027, 1, 15, 16, 10),
    )
    plan = plan_for(subject, owned_by_alice(no_meeting_slot=unbooked), now=ny(2027, 1, 15, 16, 11))
    [ask_alice, ask_ida] = [
        payload(plan.intent(f"{KEY}:meeting:no-slot:{person.key}"), ReportNoMeetingSlot)
        for person in (ALICE, IC)
    ]
    assert ask_alice.why == ask_ida.why == "no_time_left"
    assert ask_alice.proposed_start == ny(2027, 1, 19, 9)
    # The booking stays planned (done in the ledger): a changed window books again.
    assert plan.intent(f"{KEY}:meeting") is not None


def test_the_proposal_skips_weekends_and_holidays() -> None:
    slot = proposed_slot(ny(2027, 1, 18, 17, 30), timedelta(minutes=30), us_calendar())
    assert slot == Slot(ny(2027, 1, 19, 9), ny(2027, 1, 19, 9, 30))


# -- everyone busy: the owner is told who cannot make it ------------------------------------


def test_conflicts_at_the_booked_time_are_reported_to_the_owner_once() -> None:
    note = BookingNote(
        conflicts=("alice@example.com", "sre@example.com"),
        optional_conflicts=("eng-learning@example.com",),
        unknown=("product@example.com",),
    )
    booked = meeting(ny(2026, 3, 4, 10)).model_copy(update={"booking": note})
    plan = plan_for(incident(), owned_by_alice(meeting=booked))
    report = plan.intent(f"{KEY}:meeting:booked:evt1:email:alice@example.com")
    told = payload(report, ReportMeetingBooking)
    assert told.recipient == ALICE
    assert told.conflicts == ("alice@example.com", "sre@example.com")
    assert told.unknown == ("product@example.com",)
    assert told.not_before is None
    # The same plan later, the meeting moved by a person: the same intent, unchanged.
    moved = booked.model_copy(update={"start": ny(2026, 3, 5, 10), "end": ny(2026, 3, 5, 10, 30)})
    again = plan_for(incident(), owned_by_alice(meeting=moved))
    same = again.intent(f"{KEY}:meeting:booked:evt1:email:alice@example.com")
    assert same is not None
    assert report is not None
    assert same.fingerprint() == report.fingerprint()


def test_a_booking_that_suits_everyone_is_not_reported() -> None:
    booked = meeting(ny(2026, 3, 4, 10)).model_copy(update={"booking": BookingNote()})
    plan = plan_for(incident(), owned_by_alice(meeting=booked))
    assert of_kind(plan, IntentKind.REPORT_MEETING_BOOKING) == []
    linked = meeting(ny(2026, 3, 4, 10))  # linked by a person: no booking note at all
    assert (
        of_kind(
            plan_for(incident(), owned_by_alice(meeting=linked)), IntentKind.REPORT_MEETING_BOOKING
        )
        == []
    )


def test_an_early_booking_tells_the_owner_why() -> None:
    note = BookingNote(not_before=ny(2026, 3, 4, 10))
    booked = meeting(ny(2026, 3, 3, 16, 30)).model_copy(update={"booking": note})
    plan = plan_for(incident(), owned_by_alice(meeting=booked))
    told = payload(
        plan.intent(f"{KEY}:meeting:booked:evt1:email:alice@example.com"), ReportMeetingBooking
    )
    assert told.not_before == ny(2026, 3, 4, 10)
    assert told.conflicts == ()


# -- a person cancels or deletes the meeting -------------------------------------------------

CANCELLED = CancelledMeeting(
    event_ref="evt1",
    start=ny(2026, 3, 4, 10),
    end=ny(2026, 3, 4, 10, 30),
    how="cancelled",
    noticed_at=ny(2026, 3, 3, 11),
)
REBOOKING = """\
    version: 1
    calendar: {timezone: America/New_York, holidays: {country: US}}
    rules:
      - name: major
        postmortem: required
        meeting:
          calendar: PMs
          deadline: {default: 5 business days}
          rebook_when_cancelled: true
        reminders:
          - {if: meeting_not_scheduled, after: 2h, every: 1 business day}
    """


def test_a_cancelled_meeting_is_told_once_and_pmhub_waits_for_a_link() -> None:
    pm = owned_by_alice(cancelled_meetings=(CANCELLED,))
    plan = plan_for(incident(), pm, now=ny(2026, 3, 3, 11, 5))
    [told] = of_kind(plan, IntentKind.REPORT_MEETING_CANCELLED)
    assert told == f"{KEY}:meeting:cancelled:evt1:email:alice@example.com"
    report = payload(plan.intent(told), ReportMeetingCancelled)
    assert (report.recipient, report.how, report.rebook) == (ALICE, "cancelled", False)
    # Not treated as booked, and not re-booked behind the person's back.
    assert plan.meeting is not None
    assert plan.meeting.scheduled is None
    assert of_kind(plan, IntentKind.SCHEDULE_MEETING) == []
    assert any("/postmortem meeting" in note for note in plan.notes)
    # The shipped "not scheduled" reminder (due Tuesday 10:00, before the cancellation
    # was noticed) is not sent on top of the cancellation message.
    assert [i for i in plan.intents if i.clause == "reminders.meeting_not_scheduled"] == []


def test_a_cancelled_meeting_is_rebooked_when_the_policy_says_so() -> None:
    policies = policy_from(REBOOKING)
    pm = owned_by_alice(cancelled_meetings=(CANCELLED,))
    plan = plan_for(incident(), pm, now=ny(2026, 3, 3, 11, 5), policies=policies)
    report = payload(
        plan.intent(f"{KEY}:meeting:cancelled:evt1:email:alice@example.com"),
        ReportMeetingCancelled,
    )
    assert report.rebook is True
    # A new key: the calendar keeps a cancelled event's id taken.
    assert of_kind(plan, IntentKind.SCHEDULE_MEETING) == [f"{KEY}:meeting:again:1"]
    # Reminders after the cancellation was noticed (Tuesday 11:00) still come, per the
    # policy; Monday 12:00's, before it, is not sent on top of the cancellation message.
    reminders = [i for i in plan.intents if i.clause == "reminders.meeting_not_scheduled"]
    assert [i.due_at for i in reminders] == [ny(2026, 3, 3, 12)]


def test_once_rebooked_the_cancellation_is_no_longer_reported() -> None:
    policies = policy_from(REBOOKING)
    rebooked = meeting(ny(2026, 3, 5, 10)).model_copy(update={"event_ref": "evt2"})
    pm = owned_by_alice(cancelled_meetings=(CANCELLED,), meeting=rebooked)
    plan = plan_for(incident(), pm, now=ny(2026, 3, 3, 12), policies=policies)
    assert of_kind(plan, IntentKind.REPORT_MEETING_CANCELLED) == []
    assert of_kind(plan, IntentKind.SCHEDULE_MEETING) == []
    assert f"{KEY}:meeting:check@2026-03-03T18:00:00Z" in [i.key for i in plan.intents]


def test_the_owner_chain_is_a_person_even_without_an_owner_designation() -> None:
    # Sanity for the cases above: with nobody designated, the commander owns it.
    plan = plan_for(incident(), postmortem(cancelled_meetings=(CANCELLED,)))
    assert plan.owner is not None
    assert plan.owner.person == IC
    report = payload(
        plan.intent(f"{KEY}:meeting:cancelled:evt1:email:ic@example.com"), ReportMeetingCancelled
    )
    assert report.recipient == Person(email="ic@example.com", name="Ida Commander")
