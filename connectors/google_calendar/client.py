"""Google Calendar transport: Google's `google-api-python-client`, made async, typed and quiet.

Why the SDK: it is Google's maintained client, and it builds requests from the Calendar
v3 discovery document *bundled with it* (`static_discovery=True`), so no request to
Google's discovery service is made at start-up and the request shapes are the ones
Google publishes. `client_options={"api_endpoint": ...}` points it at the fake.

Threads: the client blocks (httplib2), and httplib2 is not thread-safe, so calls run
on this module's own small thread pool, each thread with its own `Http` (wrapped in an
`AuthorizedHttp` when there are credentials), passed per call to `execute(http=...)`
as Google's thread-safety guide says. Every `Http` is remembered so `close()` can
close its sockets once the pool has stopped.

Retries belong to pmhub's job runner (durable, backoff with jitter, Retry-After), so
`execute(num_retries=0)`. One retry stays out of our hands: httplib2 re-sends a
request once when the connection drops before the answer's status line (it assumes
a stale keep-alive connection). For events.insert that resend may find the event the
first attempt committed: a 409, which the connector turns into "already booked".

Every failure leaves this module as a `hub.errors` type.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from typing import Any
from urllib.parse import urljoin

import google_auth_httplib2
import httplib2
from google.auth.exceptions import GoogleAuthError, RefreshError, TransportError
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from connectors.common.retry_after import parse_retry_after
from connectors.google_calendar.config import GoogleCalendarConfig
from hub.errors import AuthFailed, Conflict, ConnectorError, Permanent, RateLimited, Transient

JsonDict = dict[str, Any]
# A googleapiclient `HttpRequest`, built from the service inside the worker thread.
RequestFactory = Callable[[Any], Any]

SERVICE_PATH = "calendar/v3/"
MESSAGE_LIMIT = 500

RATE_LIMIT_REASONS = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded"}
)
# 403s that mean pmhub's identity cannot do its job at all (not this one request):
# the acting user lacks writer access to the shared calendar, the API is not enabled,
# delegation is missing. Every job would fail the same way, so pause and alert.
# 408: the request timed out at Google. 412: an If-Match lost a race with a human's
# edit; the retried job re-reads the event first.
RETRYABLE_STATUSES = frozenset({HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.PRECONDITION_FAILED})
ACCESS_REASONS = frozenset(
    {
        "forbidden",
        "requiredAccessLevel",
        "insufficientPermissions",
        "accessNotConfigured",
        "forbiddenForServiceAccounts",
    }
)


_PHRASES = {int(status): status.phrase for status in HTTPStatus}


class NotFound(Permanent):
    """404, or 410 `deleted`: no such calendar or event (a job for it is dead-lettered)."""


def google_error(status: int, content: bytes) -> tuple[str, tuple[str, ...]]:
    """Google's `{"error": {"code", "message", "errors": [{"reason", ...}]}}` -> (text, reasons)."""
    try:
        body = json.loads(content.decode("utf-8", "replace"))
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    fallback = _PHRASES.get(status, "no reason given")
    if not isinstance(error, dict):
        return fallback, ()
    items = [item for item in error.get("errors") or () if isinstance(item, dict)]
    reasons = tuple(str(item["reason"]) for item in items if item.get("reason"))
    text = str(error.get("message") or fallback)
    if reasons:
        text += f" ({', '.join(reasons)})"
    return text[:MESSAGE_LIMIT], reasons


def error_for_status(  # noqa: PLR0911 - one return per row of the mapping reads best
    status: int, content: bytes, headers: Mapping[str, str], what: str
) -> ConnectorError:
    """Map one failed Calendar answer to pmhub's taxonomy (see the package docstring)."""
    text, reasons = google_error(status, content)
    message = f"Google Calendar {what}: HTTP {status}: {text}"
    retry_after = parse_retry_after(headers.get("retry-after"))
    if status == HTTPStatus.UNAUTHORIZED:
        return AuthFailed(message)
    forbidden = status == HTTPStatus.FORBIDDEN
    if status == HTTPStatus.TOO_MANY_REQUESTS or (
        forbidden and RATE_LIMIT_REASONS.intersection(reasons)
    ):
        return RateLimited(message, retry_after=retry_after)
    if forbidden and ACCESS_REASONS.intersection(reasons):
        return AuthFailed(message)
    if status == HTTPStatus.CONFLICT:
        return Conflict(message)
    if status in RETRYABLE_STATUSES or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        return Transient(message, retry_after=retry_after)
    if status < HTTPStatus.BAD_REQUEST:
        # A 2xx the client could not decode, or a redirect it did not follow.
        return Transient(message)
    if status in (HTTPStatus.NOT_FOUND, HTTPStatus.GONE):
        return NotFound(message)
    # 400, other 403s (forbiddenForNonOrganizer...): no retry helps.
    return Permanent(message)


class _NoSharedHttp:
    """Stands where the service keeps a default `Http`: every call must bring its own.

    It carries the credentials because the client checks their universe domain
    against the service's, which is all the service uses its default `Http` for.
    """

    def __init__(self, credentials: object | None) -> None:
        self.credentials = credentials

    def request(self, *_: object, **__: object) -> None:
        raise RuntimeError("Google Calendar calls must pass their thread's own Http")


def _credentials(config: GoogleCalendarConfig) -> Any:
    if config.credentials_file is None:
        return None
    try:
        return service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            str(config.credentials_file), scopes=list(config.scopes), subject=config.subject
        )
    except (OSError, ValueError, GoogleAuthError) as exc:
        raise AuthFailed(f"Google Calendar: cannot use {config.credentials_file}: {exc}") from None


class CalendarClient:
    """Typed async calls to the Calendar v3 methods pmhub uses; answers are Google's JSON."""

    def __init__(self, config: GoogleCalendarConfig) -> None:
        self._timeout = config.timeout_seconds
        self._credentials = _credentials(config)
        self._service = build(
            "calendar",
            "v3",
            http=_NoSharedHttp(self._credentials),
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": urljoin(config.root_url, SERVICE_PATH)},
        )
        self._pool = ThreadPoolExecutor(config.max_concurrency, thread_name_prefix="gcal")
        self._local = threading.local()
        self._https: list[Any] = []
        self._lock = threading.Lock()

    async def close(self) -> None:
        # Wait for calls in flight (bounded by the socket timeout): an Http must not
        # be closed under a thread still using it.
        await asyncio.to_thread(self._pool.shutdown, wait=True)
        with self._lock:
            https, self._https = self._https, []
        for each in https:
            each.close()

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

    async def _call(self, what: str, make: RequestFactory) -> JsonDict:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._execute, what, make)

    # -- in a worker thread ---------------------------------------------------------

    def _http(self) -> Any:
        own = getattr(self._local, "http", None)
        if own is None:
            own = httplib2.Http(timeout=self._timeout)
            # As googleapiclient's own build_http: 308 is "resume incomplete" to Google.
            own.redirect_codes = own.redirect_codes - {308}
            if self._credentials is not None:
                own = google_auth_httplib2.AuthorizedHttp(self._credentials, http=own)
            self._local.http = own
            with self._lock:
                self._https.append(own)
        return own

    def _execute(self, what: str, make: RequestFactory) -> JsonDict:
        try:
            result = make(self._service).execute(http=self._http(), num_retries=0)
        except HttpError as exc:
            raise error_for_status(exc.resp.status, exc.content, exc.resp, what) from None
        except RefreshError as exc:
            # Token exchange refused (revoked key, delegation not granted) unless
            # google-auth says the token endpoint merely failed this time.
            if exc.retryable:
                raise Transient(f"Google Calendar {what}: token refresh: {exc}") from None
            raise AuthFailed(f"Google Calendar {what}: token refresh: {exc}") from None
        except (OSError, http.client.HTTPException, httplib2.HttpLib2Error, TransportError) as exc:
            # No answer: refused, reset, dropped, timed out, TLS failure, name lookup.
            raise Transient(f"Google Calendar {what}: {type(exc).__name__}: {exc}") from None
        if not isinstance(result, dict):
            raise Transient(f"Google Calendar {what}: unexpected answer {type(result).__name__}")
        return result
