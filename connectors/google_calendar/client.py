"""Google Calendar transport: the shared Google API transport (`connectors/common/google.py`)
on Calendar v3: its delegated credentials, threads, and error mapping.

For events.insert the one resend httplib2 makes on its own (a connection dropped before
the answer's status line) may find the event the first attempt committed: a 409, which
the connector turns into "already booked".

Every failure leaves this module as a `hub.errors` type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.common import google
from connectors.common.google import NotFound
from connectors.google_calendar.config import GoogleCalendarConfig
from hub.errors import ConnectorError, Transient

JsonDict = dict[str, Any]
SERVICE_PATH = "calendar/v3/"
PRODUCT = "Google Calendar"

__all__ = ["CalendarClient", "JsonDict", "NotFound", "error_for_status"]


def error_for_status(
    status: int, content: bytes, headers: Mapping[str, str], what: str
) -> ConnectorError:
    """Map one failed Calendar answer to pmhub's taxonomy (see connectors/common/google.py)."""
    return google.error_for_status(PRODUCT, status, content, headers, what)


class CalendarClient:
    """Typed async calls to the Calendar v3 methods pmhub uses; answers are Google's JSON."""

    def __init__(self, config: GoogleCalendarConfig) -> None:
        self._api = google.GoogleApi(
            "calendar",
            "v3",
            product=PRODUCT,
            root_url=config.root_url,
            service_path=SERVICE_PATH,
            credentials=google.delegated_credentials(
                config.credentials_file, config.scopes, config.subject, PRODUCT
            ),
            timeout=config.timeout_seconds,
            max_concurrency=config.max_concurrency,
        )

    async def close(self) -> None:
        await self._api.close()

    async def query_free_busy(self, body: JsonDict) -> JsonDict:
        return await self._call("freebusy.query", lambda s: s.freebusy().query(body=body))

    async def insert_event(
        self, calendar_id: str, body: JsonDict, *, conference_data_version: int | None
    ) -> JsonDict:
        return await self._call(
            "events.insert",
            lambda s: s.events().insert(
                calendarId=calendar_id,
                body=body,
                sendUpdates="all",
                conferenceDataVersion=conference_data_version,
            ),
        )

    async def get_event(self, calendar_id: str, event_id: str) -> JsonDict:
        return await self._call(
            "events.get", lambda s: s.events().get(calendarId=calendar_id, eventId=event_id)
        )

    async def patch_event(
        self, calendar_id: str, event_id: str, body: JsonDict, *, etag: str | None = None
    ) -> JsonDict:
        def request(service: Any) -> Any:
            built = service.events().patch(
                calendarId=calendar_id, eventId=event_id, body=body, sendUpdates="all"
            )
            if etag:
                # Fails with 412 if a human edited the event since we read it.
                built.headers["If-Match"] = etag
            return built

        return await self._call("events.patch", request)

    async def _call(self, what: str, make: google.RequestFactory) -> JsonDict:
        answer = await self._api.call(what, make)
        if not isinstance(answer, dict):
            raise Transient(f"{PRODUCT} {what}: unexpected answer {type(answer).__name__}")
        return answer
