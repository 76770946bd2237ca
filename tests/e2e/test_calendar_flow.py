"""The whole daemon books the post-mortem meeting (seed 004) on the Google Calendar fake.

A signed PagerDuty `incident.resolved` goes in over HTTP; the daemon enriches it
from the PagerDuty fake (TLS), plans the post-mortem with the shipped policy and
books one event on the shared calendar: inside working hours, ending by the
deadline (3 calendar days for a SEV-1, 5 business days for a SEV-2, holidays
skipped), after the writing and review time when the deadline leaves room (else in
the latest slot before it), where every required invitee is free. "Now" is pinned
with a shifted clock so the deadlines and slots are known in advance.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from connectors.google_calendar.fake import Fault
from hub.store.effects import EffectState, get_effect
from tests.e2e.calendar_support import (
    ALICE_EMAIL,
    BOB_EMAIL,
    ENG_MANAGERS,
    FREEBUSY_ROUTE,
    INCIDENT,
    INSERT_ROUTE,
    LIAISON,
    MEETING_KEY,
    NY,
    OBSERVER,
    PRODUCT,
    SRE,
    Fakes,
    attendees,
    calendar_config,
    event_times,
    fakes,
    meeting_booked,
    ny,
    postmortem,
    resolve_incident,
    settle,
)
from tests.support.daemon import running_daemon, shifted_clock, shorten_vendor_timeout
from tests.support.tls import LoopbackTls, loopback_tls

__all__ = ["fakes", "loopback_tls"]

# SEV-1 resolved Thursday 2026-11-19 14:05 New York: due Sunday 14:05 (3 calendar days).
SEV1_RESOLVED = ny(11, 19, 14, 5)
SEV1_DEADLINE = ny(11, 22, 14, 5)
# The writing and review time (a business day, then 24h) ends Saturday 14:05: no working
# time is left after it, so the booking falls back to the latest slots before Sunday.
SEV1_REVIEW_TIME = ny(11, 21, 14, 5)
SEV1_NOW = ny(11, 19, 14, 10)
# Busy so that the latest slot free for all required invitees is Friday 14:00.
SEV1_EXPECTED = ny(11, 20, 14)


def busy_for_sev1(fakes: Fakes) -> None:
    cal = fakes.calendar
    cal.add_person(ALICE_EMAIL, (ny(11, 20, 16), ny(11, 20, 17)))  # the end of Friday
    cal.add_person(BOB_EMAIL, (ny(11, 20, 15), ny(11, 20, 16)))
    cal.add_person(ENG_MANAGERS, (ny(11, 20, 14, 30), ny(11, 20, 15)))
    # The observer is optional: busy at the chosen time does not move the meeting.
    cal.add_person(OBSERVER, (ny(11, 20, 14), ny(11, 20, 14, 30)))


def in_working_hours(start: datetime, end: datetime) -> bool:
    local_start, local_end = start.astimezone(NY), end.astimezone(NY)
    return (
        local_start.date() == local_end.date()
        and local_start.weekday() < 5  # Monday..Friday
        and time(9) <= local_start.time()
        and local_end.time() <= time(17)
    )


async def test_sev1_books_one_meeting_in_the_latest_common_free_slot_the_deadline_allows(
    tmp_path: Path, db_url: str, fakes: Fakes, loopback_tls: LoopbackTls
) -> None:
    busy_for_sev1(fakes)
    clock = shifted_clock(SEV1_NOW)
    config = calendar_config(tmp_path, db_url, fakes, loopback_tls)
    async with running_daemon(config, clock=clock) as daemon:
        await resolve_incident(
            daemon, fakes, priority="P1", created=ny(11, 19, 9), resolved=SEV1_RESOLVED
        )
        await settle(daemon, meeting_booked(daemon))
        body = await postmortem(daemon)
        ledger = await get_effect(daemon.runtime.engine, MEETING_KEY)

    [event] = fakes.calendar.stored()
    start, end = event_times(event)
    assert start == SEV1_EXPECTED
    assert end == ny(11, 20, 14, 30)
    assert in_working_hours(start, end)
    assert end <= SEV1_DEADLINE
    # The commander (also the owner), the responder, the directory's roles; the SEV-1
    # customer liaison and the observer as optional (seed 004: "Optional: Customer
    # liaison (Only SEV-1 incidents)").
    assert attendees(event) == {
        ALICE_EMAIL: False,
        BOB_EMAIL: False,
        SRE: False,
        ENG_MANAGERS: False,
        PRODUCT: False,
        LIAISON: True,
        OBSERVER: True,
    }
    assert "PD-1042" in event["summary"]
    description = event["description"]
    assert f"Incident: {fakes.pagerduty.incidents[INCIDENT]['html_url']}" in description
    assert "Incident commander: Alice Chen" in description

    # pmhub's record of the meeting is the calendar's event.
    assert body is not None
    meeting = body["meeting"]
    assert meeting["event_ref"] == event["id"]
    assert datetime.fromisoformat(meeting["start"]) == SEV1_EXPECTED
    assert meeting["html_link"] == event["htmlLink"]
    assert body["plan"]["meeting"]["deadline"] == SEV1_DEADLINE.isoformat()
    # Nothing left to invite: every attendee the policy wants is on the event.
    kinds = {intent["kind"] for intent in body["plan"]["intents"]}
    assert "schedule_meeting" not in kinds
    assert "invite_to_meeting" not in kinds

    assert ledger is not None
    assert ledger.state is EffectState.DONE
    assert ledger.vendor_ref == event["id"]
    assert ledger.detail["all_free"] is True
    assert ledger.detail["optional_conflicts"] == [OBSERVER]
    # Earlier than the review time, and why: in the ledger, and for the owner's DM.
    assert ledger.detail["early"]["not_before"] == SEV1_REVIEW_TIME.isoformat()
    assert "leaves no working time" in ledger.detail["early"]["reason"]
    assert body["meeting"]["booking"]["not_before"] == SEV1_REVIEW_TIME.isoformat()
    assert body["meeting"]["booking"]["conflicts"] == []
    assert fakes.calendar.calls[("POST", FREEBUSY_ROUTE)] == 1
    assert fakes.calendar.calls[("POST", INSERT_ROUTE)] == 1


@dataclass(frozen=True)
class Sev2Case:
    resolved: datetime
    holiday: datetime  # the first day off after the resolution
    deadline: datetime
    expected: datetime  # the first working slot after the holidays


SEV2_CASES = [
    # Monday before Thanksgiving: Tue, Wed, (Thu 26 off), Fri, Mon, Tue 1 Dec.
    pytest.param(
        Sev2Case(ny(11, 23, 10), ny(11, 26, 0), ny(12, 1, 10), ny(11, 27, 9)), id="thanksgiving"
    ),
    # Christmas week: Tue, Wed, (Thu 24 company holiday, Fri 25 off), Mon, Tue, Wed 30.
    pytest.param(
        Sev2Case(ny(12, 21, 10), ny(12, 24, 0), ny(12, 30, 10), ny(12, 28, 9)), id="christmas"
    ),
]


@pytest.mark.parametrize("case", SEV2_CASES)
async def test_sev2_deadline_counts_business_days_across_holidays(
    tmp_path: Path, db_url: str, fakes: Fakes, loopback_tls: LoopbackTls, case: Sev2Case
) -> None:
    resolved, deadline, expected = case.resolved, case.deadline, case.expected
    # The owner is busy until the holiday and free from then on: the first slot after
    # the holidays is the one, since a holiday is never a candidate.
    fakes.calendar.add_person(ALICE_EMAIL, (resolved.replace(hour=0), case.holiday))
    clock = shifted_clock(resolved.replace(minute=5))
    config = calendar_config(tmp_path, db_url, fakes, loopback_tls)
    async with running_daemon(config, clock=clock) as daemon:
        await resolve_incident(
            daemon, fakes, priority="P2", created=resolved.replace(hour=8), resolved=resolved
        )
        await settle(daemon, meeting_booked(daemon))
        body = await postmortem(daemon)

    assert body is not None
    assert body["plan"]["meeting"]["deadline"] == deadline.isoformat()
    [event] = fakes.calendar.stored()
    start, end = event_times(event)
    assert start == expected
    assert in_working_hours(start, end)
    assert end <= deadline
    # The customer liaison is invited for SEV-1 only.
    assert LIAISON not in attendees(event)
    assert {ALICE_EMAIL, BOB_EMAIL} <= attendees(event).keys()


async def test_a_minor_incident_books_nothing(
    tmp_path: Path, db_url: str, fakes: Fakes, loopback_tls: LoopbackTls
) -> None:
    clock = shifted_clock(SEV1_NOW)
    config = calendar_config(tmp_path, db_url, fakes, loopback_tls)
    async with running_daemon(config, clock=clock) as daemon:
        await resolve_incident(
            daemon, fakes, priority="P3", created=ny(11, 19, 9), resolved=SEV1_RESOLVED
        )
        await settle(daemon)
        assert await postmortem(daemon) is None
    assert fakes.calendar.stored() == []
    assert not fakes.calendar.exchanges


# On the booking call itself (events.insert): the one whose outcome matters.
FAULTS = {
    "5xx": Fault("status", 1, "POST", INSERT_ROUTE, status=503),
    "rate-limited-403": Fault(
        "rate_limit", 1, "POST", INSERT_ROUTE, status=403, reason="rateLimitExceeded"
    ),
    "hang": Fault("hang", 1, "POST", INSERT_ROUTE),
    # httplib2 re-sends once on a dropped connection, and that resend finds the event.
    "commit-then-drop": Fault("drop_after_commit", 1, "POST", INSERT_ROUTE),
    # The resend is dropped too: the job fails, and its retry (outcome unknown) looks the
    # event up by its derived id before anything else, finds it and books nothing.
    "commit-then-drop-twice": Fault("drop_after_commit", 2, "POST", INSERT_ROUTE),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_every_calendar_fault_still_ends_with_exactly_one_event(
    tmp_path: Path, db_url: str, fakes: Fakes, loopback_tls: LoopbackTls, fault: str
) -> None:
    injected = replace(FAULTS[fault])  # Fault counts down its `times`: a fresh copy per test
    busy_for_sev1(fakes)
    fakes.calendar.faults.append(injected)
    clock = shifted_clock(SEV1_NOW)
    config = calendar_config(tmp_path, db_url, fakes, loopback_tls)
    shorten_vendor_timeout(config, "google_calendar")  # a hang costs one short timeout
    async with running_daemon(config, clock=clock) as daemon:
        await resolve_incident(
            daemon, fakes, priority="P1", created=ny(11, 19, 9), resolved=SEV1_RESOLVED
        )
        await settle(daemon, meeting_booked(daemon))
        body = await postmortem(daemon)

    [event] = fakes.calendar.stored()
    inserts = [e for e in fakes.calendar.exchanges if e.route == INSERT_ROUTE]
    assert inserts[0].fault == injected.kind
    assert len(inserts) >= 2  # the fault, then the retry
    # The derived event id returns the first booking, and that is what pmhub records,
    # even when the retry (seeing that booking as busy) asked for a later slot.
    assert event_times(event)[0] == SEV1_EXPECTED
    if fault == "commit-then-drop-twice":
        assert len(inserts) == 2  # the booking and its resend: the retry did not insert
        asked = [e.route for e in fakes.calendar.exchanges]
        assert asked.count(FREEBUSY_ROUTE) == 1  # nor ask free/busy again
    assert body is not None
    assert datetime.fromisoformat(body["meeting"]["start"]).astimezone(UTC) == SEV1_EXPECTED
