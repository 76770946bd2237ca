"""`pmhub doctor` for Google Calendar: one freeBusy, as the delegated subject, over the
shared calendar and the subject's own (read only).

freeBusy is the call pmhub makes before booking, and the only read its two scopes
(calendar.events, calendar.events.freebusy) allow on a calendar as a whole:
calendars.get would need a broader scope. Google answers a calendar the subject cannot
see with a per-calendar error (`notFound`), and refused credentials before that.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp

from connectors.common.doctor import CheckFailed, Finding, attempt, fail, ok
from connectors.google_calendar.client import CalendarClient
from connectors.google_calendar.config import GoogleCalendarConfig
from hub.errors import ConnectorError

FIX_DELEGATION = (
    "check connectors.google_calendar.credentials_file (the service account's JSON key) "
    "and subject, and that the Workspace admin authorised the service account's client id "
    "for the calendar.events and calendar.events.freebusy scopes (domain-wide delegation)"
)


async def diagnose(config: GoogleCalendarConfig, session: aiohttp.ClientSession) -> list[Finding]:
    del session  # the Google client brings its own (httplib2) transport
    try:
        client = CalendarClient(config)
    except ConnectorError as exc:  # an unreadable or malformed key file
        return [fail(f"credentials: {exc} — {FIX_DELEGATION}")]
    ids = [config.calendar_id] + ([config.subject] if config.subject else [])
    now = datetime.now(UTC)
    body = {
        "timeMin": now.isoformat(),
        "timeMax": (now + timedelta(hours=1)).isoformat(),
        "items": [{"id": calendar} for calendar in ids],
    }
    try:
        answer = await attempt(client.query_free_busy(body), "freeBusy", auth_hint=FIX_DELEGATION)
    except CheckFailed as failed:
        return [failed.finding]
    finally:
        await client.close()
    calendars = answer.get("calendars")
    calendars = calendars if isinstance(calendars, dict) else {}
    acting = f" as {config.subject}" if config.subject else ""
    return [_finding(calendar, calendars.get(calendar), acting, config) for calendar in ids]


def _finding(calendar: str, seen: object, acting: str, config: GoogleCalendarConfig) -> Finding:
    errors = seen.get("errors") if isinstance(seen, dict) else [{"reason": "missing"}]
    if not errors:
        return ok(f"freeBusy{acting} reaches {calendar}")
    reasons = ", ".join(
        str(e.get("reason")) for e in errors if isinstance(e, dict) and e.get("reason")
    )
    if calendar == config.calendar_id:
        change = (
            f"share {calendar} with {config.subject or 'the account pmhub acts as'} "
            "(Make changes to events), or fix connectors.google_calendar.calendar_id"
        )
    else:
        change = "set connectors.google_calendar.subject to an existing Workspace user"
    return fail(f"freeBusy{acting} cannot reach {calendar} ({reasons or 'no answer'}) — {change}")
