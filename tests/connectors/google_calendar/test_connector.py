"""The Google Calendar connector against the fake over loopback: every call pmhub makes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.google_calendar import GoogleCalendarConnector, event_id_for
from connectors.google_calendar.fake import FakeGoogleCalendar
from hub.errors import AuthFailed, Conflict, Permanent, RateLimited, Transient
from hub.ports import BusyInterval, Calendar, MeetingDetails
from tests.connectors.google_calendar.conftest import (
    DETAILS,
    ENG,
    IC,
    KEY,
    OWNER,
    PM,
    STRANGER,
    ConnectorFactory,
    booking,
    ny,
)

INSERT = "/calendar/v3/calendars/{calendarId}/events"
OTHER = "other@example.com"


def posts(fake: FakeGoogleCalendar) -> list[int | None]:
    return [e.status for e in fake.exchanges if e.method == "POST" and e.route == INSERT]


def test_the_connector_is_a_calendar(connector: GoogleCalendarConnector) -> None:
    calendar: Calendar = connector
    assert calendar.min_notice == timedelta(minutes=120)


# -- free/busy ---------------------------------------------------------------------


async def test_free_busy_per_attendee_and_an_unknown_calendar(
    connector: GoogleCalendarConnector, fake: FakeGoogleCalendar
) -> None:
    result = await connector.free_busy([IC, OWNER, ENG, STRANGER], ny(2, 0), ny(3, 0))

    assert result.busy(IC) == (BusyInterval(ny(2, 9), ny(2, 12)),)
    assert result.busy(OWNER.upper()) == (BusyInterval(ny(2, 13), ny(2, 14)),)
    assert result.busy(ENG) == ()
    # Google reports `errors: notFound` for it: unknown, not free.
    assert result.busy(STRANGER) is None
    assert result.unknown == (STRANGER,)
    assert result.errors == {STRANGER: ("notFound",)}
    sent = fake.exchanges[-1]
    assert sent.path == "/calendar/v3/freeBusy"
    assert [item["id"] for item in sent.body["items"]] == [IC, OWNER, ENG, STRANGER]


async def test_free_busy_is_clipped_to_the_window_and_in_utc(
    connector: GoogleCalendarConnector,
) -> None:
    result = await connector.free_busy([IC], ny(2, 10), ny(2, 11))
    (period,) = result.busy(IC) or ()
    assert (period.start, period.end) == (ny(2, 10), ny(2, 11))
    assert period.start.tzinfo is not None
    assert period.start.utcoffset() == timedelta(0)  # Google answers in UTC by default


async def test_a_booked_meeting_makes_its_attendees_busy(
    connector: GoogleCalendarConnector,
) -> None:
    await connector.create_event(booking())
    result = await connector.free_busy([ENG, PM], ny(3, 0), ny(4, 0))
    assert result.busy(ENG) == (BusyInterval(ny(3, 10), ny(3, 10, 30)),)
    assert result.busy(PM) == ()


async def test_free_busy_asks_for_fifty_calendars_at_a_time(
    connector: GoogleCalendarConnector, fake: FakeGoogleCalendar
) -> None:
    emails = [f"person{n}@example.com" for n in range(120)]
    result = await connector.free_busy(emails, ny(2, 0), ny(3, 0))
    assert [len(e.body["items"]) for e in fake.exchanges] == [50, 50, 20]
    assert set(result.calendars) == set(emails)


# -- booking -----------------------------------------------------------------------


async def test_booking_uses_the_id_derived_from_the_key(
    connector: GoogleCalendarConnector, fake: FakeGoogleCalendar
) -> None:
    ref = await connector.create_event(booking())

    assert ref.id == event_id_for(KEY)
    assert ref.start == ny(3, 10)
    assert ref.end == ny(3, 10, 30)
    assert ref.attendees == (IC, OWNER, ENG)
    assert ref.status == "confirmed"
    assert ref.html_link is not None
    assert ref.html_link.startswith("https://www.google.com/calendar/event?eid=")
    (stored,) = fake.stored()
    assert stored["id"] == ref.id
    assert stored["extendedProperties"] == {"private": {"pmhubKey": KEY}}
    assert stored["start"] == {
        "dateTime": "2026-03-03T10:00:00-05:00",
        "timeZone": "America/New_York",
    }
    assert "Recap the timeline" in stored["description"]
    insert = next(e for e in fake.exchanges if e.route == INSERT)
    assert ("sendUpdates", "all") in insert.query


async def test_booking_adds_a_meet_link_when_configured(
    make_connector: ConnectorFactory, fake: FakeGoogleCalendar
) -> None:
    ref = await make_connector(conference=True).create_event(booking())

    assert ref.conference_link is not None
    assert ref.conference_link.startswith("https://meet.google.com/")
    insert = next(e for e in fake.exchanges if e.route == INSERT)
    assert ("conferenceDataVersion", "1") in insert.query
    assert insert.body["conferenceData"]["createRequest"] == {
        "requestId": ref.id,
        "conferenceSolutionKey": {"type": "hangoutsMeet"},
    }


async def test_no_meet_link_when_not_configured(
    make_connector: ConnectorFactory, fake: FakeGoogleCalendar
) -> None:
    ref = await make_connector(conference=False).create_event(booking())
    assert ref.conference_link is None
    insert = next(e for e in fake.exchanges if e.route == INSERT)
    assert "conferenceData" not in insert.body
    assert all(name != "conferenceDataVersion" for name, _ in insert.query)


async def test_booking_twice_returns_the_first_event(
    connector: GoogleCalendarConnector, fake: FakeGoogleCalendar
) -> None:
    first = await connector.create_event(booking())
    again = await connector.create_event(booking(start=ny(4, 10), end=ny(4, 10, 30)))

    assert again == first  # the 409 path: what is on the calendar, not the new request
    assert len(fake.stored()) == 1
    assert posts(fake) == [200, 409]


async def test_commit_then_drop_books_exactly_one_event(
    connector: GoogleCalendarConnector, fake: FakeGoogleCalendar
) -> None:
    fake.drop_after_commit()

    # httplib2 re-sends once when a connection drops before the status line; the
    # re-sent insert meets the committed event (409), and the connector reads it.
    ref = await connector.create_event(booking())

    assert ref.id == event_id_for(KEY)
    assert len(fake.stored()) == 1
    assert posts(fake) == [None, 409]


async def test_a_job_retry_after_two_drops_still_books_one_event(
    connector: GoogleCalendarConnector, fake: FakeGoogleCalendar
) -> None:
    fake.drop_after_commit(times=2)  # the first attempt and httplib2's re-send both lost

    with pytest.raises(Transient):
        await connector.create_event(booking())
    ref = await connector.create_event(booking())  # the job runner's retry

    assert ref.id == event_id_for(KEY)
    assert len(fake.stored()) == 1
    assert posts(fake) == [None, None, 409]


async def test_a_cancelled_event_is_returned_not_booked_again(
    connector: GoogleCalendarConnector, fake: FakeGoogleCalendar
) -> None:
    first = await connector.create_event(booking())
    fake.cancel_event(first.id)  # a human deleted it

    again = await connector.create_event(booking())

    assert again.cancelled
    assert len(fake.stored()) == 1


async def test_optional_attendees_are_marked(
    connector: GoogleCalendarConnector, fake: FakeGoogleCalendar
) -> None:
    await connector.create_event(booking(attendees=(IC, OWNER), optional_attendees=(PM, IC)))
    (stored,) = fake.stored()
    assert [(a["email"], a.get("optional", False)) for a in stored["attendees"]] == [
        (IC, False),
        (OWNER, False),
        (PM, True),
    ]


async def test_a_naive_time_is_refused_before_any_call(
    connector: GoogleCalendarConnector, fake: FakeGoogleCalendar
) -> None:
    with pytest.raises(ValueError, match="naive"):
        await connector.create_event(booking(start=ny(3, 10).replace(tzinfo=None)))
    with pytest.raises(ValueError, match="naive"):
        await connector.free_busy([IC], ny(2, 0).replace(tzinfo=None), ny(3, 0))
    assert fake.exchanges == []


# -- keeping it true ---------------------------------------------------------------


async def test_get_event_sees_a_human_move(
    connector: GoogleCalendarConnector, fake: FakeGoogleCalendar
) -> None:
    ref = await connector.create_event(booking())
    fake.move_event(ref.id, ny(9, 15), ny(9, 15, 30))  # past a SEV-1 deadline

    now = await connector.get_event(ref.id)

    assert now is not None
    assert (now.start, now.end) == (ny(9, 15), ny(9, 15, 30))
    assert now.status == "confirmed"


async def test_get_event_of_an_unknown_id_is_none(connector: GoogleCalendarConnector) -> None:
    assert await connector.get_event(event_id_for("pm:nothing:meeting")) is None


async def test_patch_attendees_keeps_answers(
    connector: GoogleCalendarConnector, fake: FakeGoogleCalendar
) -> None:
    ref = await connector.create_event(booking())
    fake.events[fake.calendar_id][ref.id]["attendees"][0]["responseStatus"] = "accepted"

    patched = await connector.patch_event(ref.id, attendees=[IC, PM])  # owner handed over

    assert patched.attendees == (IC, PM)
    stored = fake.events[fake.calendar_id][ref.id]["attendees"]
    assert [(a["email"], a["responseStatus"]) for a in stored] == [
        (IC, "accepted"),
        (PM, "needsAction"),
    ]
    patch = fake.exchanges[-1]
    assert patch.method == "PATCH"
    assert patch.headers["If-Match"]
    assert ("sendUpdates", "all") in patch.query
    assert set(patch.body) == {"attendees"}


async def test_an_event_link_names_its_event(connector: GoogleCalendarConnector) -> None:
    ref = await connector.create_event(booking())
    assert ref.html_link is not None
    eid = ref.html_link.split("eid=", 1)[1]
    assert connector.event_id_of(ref.html_link) == ref.id  # the link Google shows
    edit = f"https://calendar.google.com/calendar/u/0/r/eventedit/{eid}"
    assert connector.event_id_of(edit) == ref.id  # the editor's address
    assert connector.event_id_of(f"  {ref.id} ") == ref.id  # the id itself
    assert connector.event_id_of("https://calendar.google.com/calendar/u/0/r") is None
    assert connector.event_id_of("next tuesday at ten") is None
    assert connector.event_id_of("https://example.com/event?eid=%%%") is None


async def test_add_attendees_keeps_everyone_and_writes_only_what_is_new(
    connector: GoogleCalendarConnector, fake: FakeGoogleCalendar
) -> None:
    ref = await connector.create_event(booking())
    fake.events[fake.calendar_id][ref.id]["attendees"][0]["responseStatus"] = "accepted"
    before = list(ref.attendees)

    added = await connector.add_attendees(ref.id, [STRANGER])

    assert added.attendees == (*before, STRANGER)
    stored = fake.events[fake.calendar_id][ref.id]["attendees"]
    assert stored[0]["responseStatus"] == "accepted"
    patch = fake.exchanges[-1]
    assert patch.method == "PATCH"
    assert patch.headers["If-Match"]
    patches = len([e for e in fake.exchanges if e.method == "PATCH"])
    await connector.add_attendees(ref.id, [STRANGER.upper()])  # already invited: no write
    assert len([e for e in fake.exchanges if e.method == "PATCH"]) == patches


async def test_two_invitations_at_once_never_drop_each_other(
    connector: GoogleCalendarConnector, fake: FakeGoogleCalendar
) -> None:
    ref = await connector.create_event(booking())
    real_get = fake.get

    def get_then_another_invitation_lands(calendar_id: str, event_id: str) -> object:
        answer = real_get(calendar_id, event_id)
        fake.get = real_get  # type: ignore[method-assign]
        others = fake.events[calendar_id][event_id]["attendees"]
        # The other invitation's write lands between this one's read and its write.
        fake.patch(calendar_id, event_id, None, {"attendees": [*others, {"email": OTHER}]})
        return answer

    fake.get = get_then_another_invitation_lands  # type: ignore[assignment,method-assign]
    with pytest.raises(Transient, match="412"):
        await connector.add_attendees(ref.id, [STRANGER])
    added = await connector.add_attendees(ref.id, [STRANGER])  # the retry
    assert {OTHER, STRANGER} <= set(added.attendees)


async def test_patch_loses_to_a_concurrent_human_edit(
    connector: GoogleCalendarConnector, fake: FakeGoogleCalendar
) -> None:
    ref = await connector.create_event(booking())
    real_get = fake.get

    def get_then_human_edits(calendar_id: str, event_id: str) -> object:
        answer = real_get(calendar_id, event_id)
        fake.move_event(event_id, ny(4, 11), ny(4, 11, 30))
        return answer

    fake.get = get_then_human_edits  # type: ignore[assignment,method-assign]
    with pytest.raises(Transient, match="412"):
        await connector.patch_event(ref.id, attendees=[IC])
    assert fake.stored()[0]["attendees"][0]["email"] == IC
    assert len(fake.stored()[0]["attendees"]) == 3  # the human's edit stands


async def test_patch_description_when_the_incident_reopens(
    connector: GoogleCalendarConnector, fake: FakeGoogleCalendar
) -> None:
    ref = await connector.create_event(booking())
    details = MeetingDetails(**{**DETAILS.__dict__, "notes": ("The incident was reopened.",)})

    await connector.patch_event(ref.id, details=details)

    patch = fake.exchanges[-1]
    assert set(patch.body) == {"description"}
    assert "If-Match" not in patch.headers
    assert "Note: The incident was reopened." in fake.stored()[0]["description"]


async def test_patch_of_a_missing_event_is_permanent(connector: GoogleCalendarConnector) -> None:
    with pytest.raises(Permanent, match="404"):
        await connector.patch_event(event_id_for("pm:gone:meeting"), details=DETAILS)


# -- failures ----------------------------------------------------------------------


async def test_403_rate_limit_exceeded_is_rate_limited(
    connector: GoogleCalendarConnector, fake: FakeGoogleCalendar
) -> None:
    fake.rate_limit(403, reason="rateLimitExceeded")
    with pytest.raises(RateLimited, match="rateLimitExceeded") as caught:
        await connector.create_event(booking())
    assert caught.value.retry_after is None
    assert fake.stored() == []


async def test_429_with_retry_after(
    connector: GoogleCalendarConnector, fake: FakeGoogleCalendar
) -> None:
    fake.rate_limit(429, reason="rateLimitExceeded", retry_after=7)
    with pytest.raises(RateLimited) as caught:
        await connector.free_busy([IC], ny(2, 0), ny(3, 0))
    assert caught.value.retry_after == 7


@pytest.mark.parametrize("status", [500, 503])
async def test_5xx_is_transient_and_not_retried_by_the_client(
    connector: GoogleCalendarConnector, fake: FakeGoogleCalendar, status: int
) -> None:
    fake.fail(status)
    with pytest.raises(Transient, match=str(status)) as caught:
        await connector.create_event(booking())
    assert type(caught.value) is Transient
    assert posts(fake) == [status]  # num_retries=0: pmhub's job runner owns retries


async def test_a_hang_times_out_as_transient(
    make_connector: ConnectorFactory, fake: FakeGoogleCalendar
) -> None:
    connector = make_connector(timeout_seconds=0.3)
    fake.hang()
    with pytest.raises(Transient, match=r"[Tt]imeout|timed out"):
        await connector.get_event(event_id_for(KEY))


async def test_a_refused_connection_is_transient(fake: FakeGoogleCalendar) -> None:
    from connectors.common.fakeserver import start_fake  # noqa: PLC0415 - a server to stop
    from connectors.google_calendar import GoogleCalendarConfig  # noqa: PLC0415

    runner, url = await start_fake(fake.make_app())
    await runner.cleanup()  # nothing listens there any more
    config = GoogleCalendarConfig(calendar_id=fake.calendar_id, root_url=url, timeout_seconds=1)
    connector = GoogleCalendarConnector.from_config(config)
    try:
        with pytest.raises(Transient, match="Connection"):
            await connector.get_event(event_id_for(KEY))
    finally:
        await connector.close()


async def test_401_is_auth_failed(
    connector: GoogleCalendarConnector, fake: FakeGoogleCalendar
) -> None:
    fake.token = "only-this"
    with pytest.raises(AuthFailed, match="401"):
        await connector.free_busy([IC], ny(2, 0), ny(3, 0))


async def test_an_unknown_shared_calendar_is_permanent(make_connector: ConnectorFactory) -> None:
    connector = make_connector(calendar_id="typo@group.calendar.google.com")
    with pytest.raises(Permanent, match="404"):
        await connector.create_event(booking())


async def test_a_conflict_that_cannot_be_read_names_the_event(
    connector: GoogleCalendarConnector, fake: FakeGoogleCalendar
) -> None:
    await connector.create_event(booking())
    fake.fail(404, reason="notFound", method="GET")
    with pytest.raises(Conflict) as caught:
        await connector.create_event(booking())
    assert caught.value.vendor_ref == event_id_for(KEY)
