"""Google Calendar as `hub.ports.Calendar`: free/busy, booking, and keeping the meeting true.

Booking is idempotent through the event id, which is derived from the effect key
(`event_id_for`): Google refuses a second event with the same id (409 `duplicate`),
so a retry after an unknown outcome can never book twice. On that 409 the connector
reads the event and returns it as if it had just booked it (decision: the job then
records the vendor id like any success; a `Conflict` would make every caller repeat
this GET). What comes back may differ from the request: a human may have moved the
event, or cancelled it (a cancelled event keeps its id, so it is never re-booked).
pmhub does not fight that; the engine compares and tells the owner.

Google notes that an id collision may go undetected at creation "due to the globally
distributed nature of the system": that is about two clients racing, which the job
lease rules out; a retry comes after the first attempt has ended.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from connectors.google_calendar.agenda import describe
from connectors.google_calendar.client import CalendarClient, JsonDict, NotFound
from connectors.google_calendar.config import GoogleCalendarConfig
from hub.errors import Conflict, Permanent
from hub.ports import BusyInterval, EventRef, EventRequest, FreeBusy, MeetingDetails

# freebusy.query answers for at most 50 calendars (`calendarExpansionMax`).
FREEBUSY_MAX_CALENDARS = 50
PMHUB_KEY_PROPERTY = "pmhubKey"
# An event id: base32hex for the ones clients choose; Google's own recurring instances
# add "_<start>" (e.g. "abc123_20260302T150000Z"). Five to 1024 characters.
_EVENT_ID = re.compile(r"[A-Za-z0-9_]{5,1024}")


def event_id_for(key: str) -> str:
    """Google's event id for an effect key: base32hex of its SHA-256, lowercase, unpadded.

    Ids must use base32hex's alphabet (0-9, a-v) and be 5-1024 characters; this is
    52. A digest rather than the key itself, because keys contain ':' and '@'.
    """
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return base64.b32hexencode(digest).decode("ascii").rstrip("=").lower()


def rfc3339(moment: datetime, *, utc: bool = False) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: Google needs an offset")
    return (moment.astimezone(UTC) if utc else moment).isoformat()


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def event_id_from_link(link: str) -> str | None:
    """The event id in what a person pasted: an event's link or the id itself. Pure.

    Google Calendar's links carry `eid`, the URL-safe base64 (unpadded) of the event id,
    a space and a short form of the calendar id: in the query (`htmlLink`,
    `.../calendar/event?eid=...`) or as the last path segment (`.../r/eventedit/<eid>`).
    The calendar part is not checked (it is abbreviated, `...@g`): the caller reads the
    event from the shared calendar, and an event of another calendar is not found there.
    """
    text = link.strip()
    if _EVENT_ID.fullmatch(text):
        return text
    url = urlsplit(text)
    if url.scheme not in ("http", "https") or not url.netloc:
        return None
    encoded = parse_qs(url.query).get("eid", [""])[0] or url.path.rstrip("/").rsplit("/", 1)[-1]
    try:
        decoded = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    event_id = decoded.split(" ", 1)[0]
    return event_id if " " in decoded and _EVENT_ID.fullmatch(event_id) else None


def event_body(request: EventRequest, *, event_id: str, conference: bool) -> JsonDict:
    """The `Event` to insert. Pure."""
    body: JsonDict = {
        "id": event_id,
        "summary": request.summary,
        "description": describe(request.details),
        "start": _when(request.start, request.time_zone),
        "end": _when(request.end, request.time_zone),
        "attendees": attendee_list(request.attendees, request.optional_attendees),
        # Lets anyone reading the calendar (or pmhub, later) tell which effect made it.
        "extendedProperties": {"private": {PMHUB_KEY_PROPERTY: request.key}},
    }
    if conference:
        # The event id as requestId: a re-sent insert asks for the same conference.
        body["conferenceData"] = {
            "createRequest": {
                "requestId": event_id,
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
            }
        }
    return body


def attendee_list(
    required: Sequence[str],
    optional: Sequence[str] = (),
    existing: Sequence[Mapping[str, Any]] = (),
) -> list[JsonDict]:
    """Attendees by email, keeping what Google knows of those already invited.

    PATCH replaces the whole list; copying an existing entry keeps its answer
    (responseStatus) and flags, so re-inviting does not reset anyone's RSVP.
    """
    known = {str(entry.get("email", "")).casefold(): entry for entry in existing}
    result: list[JsonDict] = []
    seen: set[str] = set()
    for email, is_optional in [*((e, False) for e in required), *((e, True) for e in optional)]:
        folded = email.casefold()
        if folded in seen:
            continue
        seen.add(folded)
        entry = dict(known.get(folded) or {"email": email})
        if is_optional:
            entry["optional"] = True
        else:
            entry.pop("optional", None)
        result.append(entry)
    return result


def event_ref(event: Mapping[str, Any]) -> EventRef:
    """Google's `Event` -> the port's view of it."""
    event_id = event.get("id")
    if not isinstance(event_id, str):
        raise Permanent("Google Calendar answered with an event without an id")
    return EventRef(
        id=event_id,
        html_link=_str(event.get("htmlLink")),
        start=parse_time((event.get("start") or {}).get("dateTime")),
        end=parse_time((event.get("end") or {}).get("dateTime")),
        attendees=tuple(
            str(a["email"])
            for a in event.get("attendees") or ()
            if isinstance(a, dict) and a.get("email")
        ),
        status=str(event.get("status") or "confirmed"),
        conference_link=_conference_link(event),
    )


def free_busy_of(
    emails: Sequence[str], answer: Mapping[str, Any], start: datetime, end: datetime
) -> FreeBusy:
    """Google's `FreeBusyResponse` -> busy periods per requested email; errors -> unknown."""
    calendars = {str(k).casefold(): v for k, v in (answer.get("calendars") or {}).items()}
    groups = {str(k).casefold() for k in answer.get("groups") or {}}
    busy: dict[str, tuple[BusyInterval, ...] | None] = {}
    errors: dict[str, tuple[str, ...]] = {}
    for email in emails:
        entry = calendars.get(email.casefold())
        if not isinstance(entry, dict) or entry.get("errors"):
            busy[email] = None
            errors[email] = _reasons(entry, group=email.casefold() in groups)
            continue
        busy[email] = tuple(
            BusyInterval(s, e)
            for period in entry.get("busy") or ()
            if (s := parse_time(period.get("start"))) and (e := parse_time(period.get("end")))
        )
    return FreeBusy(start=start, end=end, calendars=busy, errors=errors)


class GoogleCalendarConnector:
    """Implements `hub.ports.Calendar` on one shared calendar."""

    def __init__(
        self,
        client: CalendarClient,
        *,
        calendar_id: str,
        conference: bool = True,
        min_notice: timedelta = timedelta(minutes=120),
    ) -> None:
        self._client = client
        self._calendar_id = calendar_id
        self._conference = conference
        self._min_notice = min_notice

    @classmethod
    def from_config(cls, config: GoogleCalendarConfig) -> GoogleCalendarConnector:
        return cls(
            CalendarClient(config),
            calendar_id=config.calendar_id,
            conference=config.conference,
            min_notice=timedelta(minutes=config.min_notice_minutes),
        )

    @property
    def min_notice(self) -> timedelta:
        return self._min_notice

    async def close(self) -> None:
        await self._client.close()

    async def free_busy(self, emails: Sequence[str], start: datetime, end: datetime) -> FreeBusy:
        wanted = list(dict.fromkeys(emails))
        answer: dict[str, Any] = {"calendars": {}, "groups": {}}
        for first in range(0, len(wanted), FREEBUSY_MAX_CALENDARS):
            chunk = wanted[first : first + FREEBUSY_MAX_CALENDARS]
            part = await self._client.query_free_busy(
                {
                    "timeMin": rfc3339(start, utc=True),
                    "timeMax": rfc3339(end, utc=True),
                    "items": [{"id": email} for email in chunk],
                }
            )
            answer["calendars"].update(part.get("calendars") or {})
            answer["groups"].update(part.get("groups") or {})
        return free_busy_of(wanted, answer, start, end)

    async def create_event(self, request: EventRequest) -> EventRef:
        event_id = event_id_for(request.key)
        conference = self._conference if request.conference is None else request.conference
        body = event_body(request, event_id=event_id, conference=conference)
        calendar = request.calendar_id or self._calendar_id  # a team's (issue 15)
        try:
            created = await self._client.insert_event(
                calendar, body, conference_data_version=1 if conference else None
            )
        except Conflict:
            # Booked before: by an attempt whose answer was lost, or re-sent by httplib2.
            existing = await self.get_event(event_id, calendar_id=calendar)
            if existing is None:
                raise Conflict(
                    f"Google Calendar: event {event_id} exists but cannot be read",
                    vendor_ref=event_id,
                ) from None
            return existing
        return event_ref(created)

    async def booked_event(self, key: str, *, calendar_id: str | None = None) -> EventRef | None:
        return await self.get_event(event_id_for(key), calendar_id=calendar_id)

    async def patch_event(
        self,
        event_id: str,
        *,
        attendees: Sequence[str] | None = None,
        details: MeetingDetails | None = None,
        calendar_id: str | None = None,
    ) -> EventRef:
        calendar = calendar_id or self._calendar_id
        if attendees is None and details is None:
            return await self._get(event_id, calendar)
        # Read first: to keep people's answers, and to leave out what is already so.
        current = await self._client.get_event(calendar, event_id)
        body: JsonDict = {}
        etag = None
        if attendees is not None:
            # The whole list is replaced: If-Match makes a concurrent human edit fail
            # this attempt (412 -> retried, re-read) rather than be overwritten.
            etag = _str(current.get("etag"))
            body["attendees"] = attendee_list(attendees, existing=current.get("attendees") or ())
        if details is not None:
            description = describe(details)
            # Unchanged: not patched, since `sendUpdates=all` would mail every guest.
            if description != current.get("description"):
                body["description"] = description
        if not body:
            return event_ref(current)
        # Only the fields in `body` change (patch semantics): never the start or end a
        # person chose.
        patched = await self._client.patch_event(calendar, event_id, body, etag=etag)
        return event_ref(patched)

    async def cancel_event(
        self,
        event_id: str,
        *,
        reason: str,
        details: MeetingDetails,
        calendar_id: str | None = None,
    ) -> EventRef | None:
        """status `cancelled` with the reason on top of the description, in one PATCH.

        A cancelled event keeps its details on the organiser's calendar (and can be
        restored there), so the reason stays readable; `sendUpdates=all` tells every
        attendee. Repeating it changes nothing: an event already cancelled is left as is.
        """
        calendar = calendar_id or self._calendar_id
        try:
            current = await self._client.get_event(calendar, event_id)
        except NotFound:
            return None
        if current.get("status") == "cancelled":
            return event_ref(current)
        body: JsonDict = {
            "status": "cancelled",
            "description": f"Cancelled: {reason}\n\n{describe(details)}",
        }
        patched = await self._client.patch_event(calendar, event_id, body)
        return event_ref(patched)

    async def add_attendees(
        self, event_id: str, emails: Sequence[str], *, calendar_id: str | None = None
    ) -> EventRef:
        calendar = calendar_id or self._calendar_id
        current = await self._client.get_event(calendar, event_id)
        existing = current.get("attendees") or ()
        invited = [str(a.get("email", "")) for a in existing if isinstance(a, dict)]
        wanted = [*invited, *emails]
        # Already there: confirmed by the read, no write (and no update mail to everyone).
        if {e.casefold() for e in wanted} == {e.casefold() for e in invited if e}:
            return event_ref(current)
        # If-Match on the etag of the very read the list came from: a concurrent
        # invitation (or a person's edit) makes this attempt fail 412 and be retried.
        body = {"attendees": attendee_list(wanted, existing=existing)}
        etag = _str(current.get("etag"))
        patched = await self._client.patch_event(calendar, event_id, body, etag=etag)
        return event_ref(patched)

    async def get_event(self, event_id: str, *, calendar_id: str | None = None) -> EventRef | None:
        """None for 404/410. Google says `notFound` for a missing calendar too, so a
        misconfigured `calendar_id` shows up at `create_event` (a Permanent 404)."""
        try:
            return await self._get(event_id, calendar_id or self._calendar_id)
        except NotFound:
            return None

    def event_id_of(self, link: str) -> str | None:
        return event_id_from_link(link)

    async def _get(self, event_id: str, calendar: str) -> EventRef:
        return event_ref(await self._client.get_event(calendar, event_id))


def _when(moment: datetime, time_zone: str | None) -> JsonDict:
    when: JsonDict = {"dateTime": rfc3339(moment)}
    if time_zone:
        when["timeZone"] = time_zone
    return when


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _conference_link(event: Mapping[str, Any]) -> str | None:
    for entry in (event.get("conferenceData") or {}).get("entryPoints") or ():
        if isinstance(entry, dict) and entry.get("entryPointType") == "video":
            return _str(entry.get("uri"))
    return _str(event.get("hangoutLink"))


def _reasons(entry: object, *, group: bool) -> tuple[str, ...]:
    if group:
        # A group's members come back as calendars of their own, not under its address.
        return ("group",)
    if not isinstance(entry, dict):
        return ("missing",)
    return tuple(
        str(error.get("reason") or "unknown")
        for error in entry.get("errors") or ()
        if isinstance(error, dict)
    )
