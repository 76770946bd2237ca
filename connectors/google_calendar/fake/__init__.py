"""A Google Calendar v3 double: an aiohttp app answering every call pmhub makes like Google.

`POST /calendar/v3/freeBusy` (seeded busy periods per attendee, plus the events they
are invited to; `errors: [{"reason": "notFound"}]` for a calendar it does not know, as
Google does), `POST .../calendars/{calendarId}/events` (409 `duplicate` on a repeated
id, a Meet link when asked with `conferenceDataVersion=1`, `htmlLink`), `GET` and
`PATCH .../events/{eventId}` (If-Match -> 412). Errors use Google's body
`{"error": {"code", "message", "errors": [{"domain", "reason", "message"}], "status"}}`.

Faults: latency, a 5xx, 403 `rateLimitExceeded` or 429 (with Retry-After), hanging,
and committing a write then dropping the connection unanswered. Every exchange is
recorded so tests can count events and check both directions against the discovery
document. `move_event`/`cancel_event` play the human who edits the calendar.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Literal

from aiohttp import web

from connectors.common.faults import (
    Exchange,
    FaultKind,
    finish_exchange,
    record_exchange,
    take_fault,
)

Json = dict[str, Any]
PREFIX = "/calendar/v3"
EVENT_ID = re.compile(r"^[0-9a-v]{5,1024}$")
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def error_body(code: int, reason: str, message: str, domain: str = "global") -> Json:
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"domain": domain, "reason": reason, "message": message}],
            "status": STATUS_NAMES.get(code, "UNKNOWN"),
        }
    }


def google_error(
    code: int, reason: str, message: str, *, domain: str = "global", headers: Any = None
) -> web.Response:
    return web.json_response(
        error_body(code, reason, message, domain), status=code, headers=headers
    )


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _at(value: object) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


@dataclass
class Fault:
    kind: FaultKind
    times: int | None  # None: every matching request until cleared
    method: str | None = None
    route: str | None = None  # e.g. "/calendar/v3/calendars/{calendarId}/events"
    status: int = 500
    reason: str = "backendError"
    retry_after: float | None = None

    def matches(self, method: str, route: str) -> bool:
        return self.method in (None, method) and self.route in (None, route)


@dataclass
class FakeGoogleCalendar:
    """The fake's state: seed it, point a client's root_url at it, read `events`/`exchanges`."""

    calendar_id: str = "postmortems@group.calendar.google.com"
    organizer: str = "pmhub@example.com"
    token: str | None = None  # when set, require "Authorization: Bearer <token>"
    latency: float = 0.0
    busy: dict[str, list[tuple[datetime, datetime]]] = field(default_factory=dict)
    events: dict[str, dict[str, Json]] = field(default_factory=dict)
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    exchanges: list[Exchange] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    _clock: int = 0
    _released: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.events.setdefault(self.calendar_id, {})

    # -- seeding and a human's hand -------------------------------------------------

    def add_person(self, email: str, *busy: tuple[datetime, datetime]) -> None:
        """A calendar Google knows (others answer notFound), busy over the given periods."""
        self.busy.setdefault(email.casefold(), []).extend(busy)

    def stored(self, calendar_id: str | None = None) -> list[Json]:
        return list(self.events[calendar_id or self.calendar_id].values())

    def move_event(self, event_id: str, start: datetime, end: datetime) -> Json:
        event = self.events[self.calendar_id][event_id]
        event["start"] = {"dateTime": start.isoformat()}
        event["end"] = {"dateTime": end.isoformat()}
        return self._touch(event)

    def cancel_event(self, event_id: str) -> Json:
        """Deleted in the UI: Google keeps it, cancelled, and its id stays taken."""
        event = self.events[self.calendar_id][event_id]
        event["status"] = "cancelled"
        return self._touch(event)

    def _touch(self, event: Json) -> Json:
        """A new version: new etag (so If-Match notices), `updated`, iCalendar sequence."""
        self._clock += 1
        event["sequence"] = event["sequence"] + 1 if "sequence" in event else 0
        event["etag"] = f'"{3_000_000_000_000_000 + self._clock}"'
        event["updated"] = f"2026-03-02T12:00:{self._clock % 60:02d}.000Z"
        return event

    # -- faults ---------------------------------------------------------------------

    def fail(
        self,
        status: int = 503,
        *,
        reason: str | None = None,
        times: int | None = 1,
        method: str | None = None,
    ) -> None:
        reason = reason or ("backendError" if status >= 500 else "badRequest")  # noqa: PLR2004
        self.faults.append(Fault("status", times, method, status=status, reason=reason))

    def rate_limit(
        self,
        status: Literal[403, 429] = 403,
        *,
        reason: str = "rateLimitExceeded",
        retry_after: float | None = None,
        times: int | None = 1,
        method: str | None = None,
    ) -> None:
        self.faults.append(Fault("rate_limit", times, method, None, status, reason, retry_after))

    def hang(self, *, times: int | None = 1, method: str | None = None) -> None:
        """Accept the request and never answer (until the fake shuts down)."""
        self.faults.append(Fault("hang", times, method))

    def drop_after_commit(self, *, times: int | None = 1, method: str | None = "POST") -> None:
        """Carry out the request, then close the connection instead of answering."""
        self.faults.append(Fault("drop_after_commit", times, method))

    def _take_fault(self, method: str, route: str) -> Fault | None:
        return take_fault(self.faults, method, route)

    # -- the API --------------------------------------------------------------------

    def free_busy(self, body: Json) -> web.Response:
        start, end = _at(body.get("timeMin")), _at(body.get("timeMax"))
        if start is None or end is None:
            return google_error(400, "required", "Missing time range.")
        if end <= start:
            return google_error(400, "timeRangeEmpty", "The specified time range is empty.")
        calendars: Json = {}
        for item in body.get("items") or ():
            email = str(item.get("id", ""))
            if email.casefold() not in self.busy:
                not_found = [{"domain": "global", "reason": "notFound"}]
                calendars[email] = {"errors": not_found, "busy": []}
                continue
            periods = sorted(
                (max(s, start), min(e, end))
                for s, e in [*self.busy[email.casefold()], *self._invited(email)]
                if s < end and e > start
            )
            calendars[email] = {"busy": [{"start": _z(s), "end": _z(e)} for s, e in periods]}
        answer = {"kind": "calendar#freeBusy", "timeMin": _z(start), "timeMax": _z(end)}
        return web.json_response({**answer, "calendars": calendars})

    def _invited(self, email: str) -> list[tuple[datetime, datetime]]:
        """A booked meeting makes its attendees busy, as on Google."""
        found = []
        for event in self.stored():
            emails = {str(a.get("email", "")).casefold() for a in event.get("attendees", ())}
            start, end = _at(event["start"].get("dateTime")), _at(event["end"].get("dateTime"))
            if event["status"] != "cancelled" and email.casefold() in emails and start and end:
                found.append((start, end))
        return found

    def insert(self, calendar_id: str, query: dict[str, str], body: Json) -> web.Response:
        events = self.events.get(calendar_id)
        if events is None:
            return google_error(404, "notFound", "Not Found")
        event_id = str(body.get("id") or hashlib.sha256(json.dumps(body).encode()).hexdigest()[:26])
        if not EVENT_ID.match(event_id):
            return google_error(400, "invalid", "Invalid resource id value.")
        if event_id in events:
            return google_error(409, "duplicate", "The requested identifier already exists.")
        start, end = (_at((body.get(k) or {}).get("dateTime")) for k in ("start", "end"))
        if start is None or end is None:
            return google_error(
                400, "required", "Missing end time." if start else "Missing start time."
            )
        if end <= start:
            return google_error(400, "timeRangeEmpty", "The specified time range is empty.")
        eid = base64.urlsafe_b64encode(f"{event_id} {calendar_id}".encode()).decode().rstrip("=")
        event: Json = {
            "kind": "calendar#event",
            "id": event_id,
            "status": "confirmed",
            "htmlLink": f"https://www.google.com/calendar/event?eid={eid}",
            "created": "2026-03-02T12:00:00.000Z",
            "summary": body.get("summary", ""),
            "description": body.get("description", ""),
            "creator": {"email": self.organizer},
            "organizer": {"email": calendar_id, "displayName": "Post-mortems", "self": True},
            "start": body["start"],
            "end": body["end"],
            "iCalUID": f"{event_id}@google.com",
            "attendees": [
                {**a, "responseStatus": a.get("responseStatus", "needsAction")}
                for a in body.get("attendees") or ()
            ],
            "reminders": {"useDefault": True},
            "eventType": "default",
        }
        if "extendedProperties" in body:
            event["extendedProperties"] = body["extendedProperties"]
        request = (body.get("conferenceData") or {}).get("createRequest")
        # Google ignores conference data unless the client says it understands it.
        if request and query.get("conferenceDataVersion") == "1":
            event.update(_conference(event_id, request))
        events[event_id] = self._touch(event)
        return web.json_response(event)

    def get(self, calendar_id: str, event_id: str) -> web.Response:
        event = self.events.get(calendar_id, {}).get(event_id)
        if event is None:
            return google_error(404, "notFound", "Not Found")
        return web.json_response(event)

    def patch(
        self, calendar_id: str, event_id: str, if_match: str | None, body: Json
    ) -> web.Response:
        event = self.events.get(calendar_id, {}).get(event_id)
        if event is None:
            return google_error(404, "notFound", "Not Found")
        if if_match is not None and if_match != event["etag"]:
            return google_error(412, "conditionNotMet", "Precondition Failed")
        for name in ("attendees", "description", "summary", "start", "end", "status"):
            if name in body:
                event[name] = body[name]
        if "attendees" in body:
            for attendee in event["attendees"]:
                attendee.setdefault("responseStatus", "needsAction")
        return web.json_response(self._touch(event))

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[_middleware])
        app[STATE] = self
        app.router.add_post(f"{PREFIX}/freeBusy", _free_busy)
        app.router.add_post(f"{PREFIX}/calendars/{{calendarId}}/events", _insert)
        app.router.add_get(f"{PREFIX}/calendars/{{calendarId}}/events/{{eventId}}", _get)
        app.router.add_patch(f"{PREFIX}/calendars/{{calendarId}}/events/{{eventId}}", _patch)

        async def release_hanging(_: web.Application) -> None:
            self._released.set()

        app.on_shutdown.append(release_hanging)
        return app


def _conference(event_id: str, request: Json) -> Json:
    letters = "".join(chr(ord("a") + b % 26) for b in hashlib.sha256(event_id.encode()).digest())
    code = f"{letters[:3]}-{letters[3:7]}-{letters[7:10]}"
    return {
        "hangoutLink": f"https://meet.google.com/{code}",
        "conferenceData": {
            "createRequest": {**request, "status": {"statusCode": "success"}},
            "entryPoints": [
                {
                    "entryPointType": "video",
                    "uri": f"https://meet.google.com/{code}",
                    "label": f"meet.google.com/{code}",
                }
            ],
            "conferenceSolution": {
                "key": {"type": "hangoutsMeet"},
                "name": "Google Meet",
                "iconUri": "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png",
            },
            "conferenceId": code,
        },
    }


STATE = web.AppKey("google_calendar_fake", FakeGoogleCalendar)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _free_busy(request: web.Request) -> web.StreamResponse:
    return request.app[STATE].free_busy(await request.json())


async def _insert(request: web.Request) -> web.StreamResponse:
    state, query = request.app[STATE], dict(request.query)
    return state.insert(request.match_info["calendarId"], query, await request.json())


async def _get(request: web.Request) -> web.StreamResponse:
    info = request.match_info
    return request.app[STATE].get(info["calendarId"], info["eventId"])


async def _patch(request: web.Request) -> web.StreamResponse:
    info, if_match = request.match_info, request.headers.get("If-Match")
    state = request.app[STATE]
    return state.patch(info["calendarId"], info["eventId"], if_match, await request.json())


@web.middleware
async def _middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE]
    exchange = await record_exchange(request)
    state.exchanges.append(exchange)
    state.calls[(request.method, exchange.route)] += 1
    if state.latency:
        await asyncio.sleep(state.latency)
    fault = state._take_fault(request.method, exchange.route)
    exchange.fault = fault.kind if fault else None
    response = await _answer(request, handler, state, fault)
    return finish_exchange(request, response, exchange)


async def _answer(
    request: web.Request, handler: Handler, state: FakeGoogleCalendar, fault: Fault | None
) -> web.StreamResponse:
    if fault is not None and fault.kind == "hang":
        await state._released.wait()
        return google_error(503, "backendError", "Shutting down")
    if fault is not None and fault.kind == "status":
        return google_error(fault.status, fault.reason, HTTPStatus(fault.status).phrase)
    if fault is not None and fault.kind == "rate_limit":
        headers = (
            {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else None
        )
        message = "Rate Limit Exceeded"
        return google_error(
            fault.status, fault.reason, message, domain="usageLimits", headers=headers
        )
    if state.token is not None and request.headers.get("Authorization") != f"Bearer {state.token}":
        return google_error(401, "authError", "Invalid Credentials")
    if request.match_info.http_exception is not None:
        return google_error(404, "notFound", "Not Found")
    return await handler(request)
