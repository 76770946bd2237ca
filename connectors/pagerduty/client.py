"""PagerDuty REST transport: PagerDuty's own `pagerduty` package, made async, typed and quiet.

Why the SDK: it is PagerDuty's maintained client (the successor of pdpyras) and knows
REST API v2's entity wrapping, classic offset pagination and auth header. Its calls
block (httpx2 underneath), so each runs in a worker thread (`asyncio.to_thread`) and
is bounded by `timeout_seconds`; a cancelled job's thread finishes within that bound.

Its own retrying is switched off, because retrying belongs to pmhub's job runner
(durable, with backoff and jitter, honouring Retry-After across restarts):

* `max_network_attempts = 0`: a connection error or timeout raises at once;
* `retry = {}`: no status is retried...
* ...except 429, which the SDK retries forever, sleeping in the thread, whatever the
  `retry` dict says (its `max_http_attempts` check lets one retry through even at 0).
  A `response` event hook, a public `httpx2.Client` option the SDK passes through,
  stops that loop by raising before the SDK sees the 429.

Every vendor failure leaves this module as a `hub.errors` type, and the API token
never appears in a message (the SDK's own 401 text quotes part of it).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import pagerduty

from connectors.common.retry_after import parse_retry_after
from connectors.pagerduty.config import PagerDutyConfig
from connectors.pagerduty.rate import window_for
from hub.errors import (
    AuthFailed,
    ConnectorError,
    Permanent,
    RateLimited,
    Transient,
)

T = TypeVar("T")
JsonDict = dict[str, Any]

MESSAGE_LIMIT = 500
HTTP_TOO_MANY_REQUESTS = 429
HTTP_REQUEST_TIMEOUT = 408
HTTP_NOT_FOUND = 404
AUTH_STATUSES = frozenset({401, 403})


class _Response(Protocol):
    """The parts of an httpx2 response this module reads (the SDK leaves it untyped)."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def reason_phrase(self) -> str: ...
    def json(self) -> Any: ...
    def read(self) -> bytes: ...


class _RateLimitedResponse(Exception):
    """Not an error: a signal carrying a 429 out of the SDK's retry loop."""

    def __init__(self, response: _Response) -> None:
        super().__init__("429")
        self.response = response


def _stop_on_rate_limit(response: _Response) -> None:
    if response.status_code == HTTP_TOO_MANY_REQUESTS:
        response.read()  # so the error body is still readable once httpx2 closes it
        raise _RateLimitedResponse(response)


def _vendor_message(response: _Response) -> str:
    """PagerDuty's `{"error": {"message", "code", "errors"}}`, flattened for a dead letter."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return response.reason_phrase or f"HTTP {response.status_code}"
    text = str(error.get("message") or response.reason_phrase or "")
    if error.get("code") is not None:
        text += f" (code {error['code']})"
    details = [str(item) for item in error.get("errors") or ()]
    if details:
        text += ": " + "; ".join(details)
    return text[:MESSAGE_LIMIT]


def error_for_response(response: _Response, what: str) -> ConnectorError:
    status = response.status_code
    message = f"PagerDuty {what}: HTTP {status}: {_vendor_message(response)}"
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if status in AUTH_STATUSES:
        return AuthFailed(message)
    if status == HTTP_TOO_MANY_REQUESTS:
        return RateLimited(message, retry_after=retry_after)
    if status >= 500 or status == HTTP_REQUEST_TIMEOUT or status < 400:  # noqa: PLR2004
        # < 400 here means a 2xx the SDK could not decode or unwrap: a proxy's page,
        # a truncated body. Worth another attempt, which the job runner bounds.
        return Transient(message, retry_after=retry_after)
    return Permanent(message)


def _ssl_verify(config: PagerDutyConfig) -> ssl.SSLContext | bool:
    if config.ca_bundle is None:
        return True
    # The system's roots plus the extra ones, so the same setting works behind a proxy.
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=str(config.ca_bundle))
    return context


def _path(template: str, *ids: str) -> str:
    return template.format(*(quote(part, safe="") for part in ids))


class PagerDutyClient:
    """Typed async calls to the PagerDuty REST endpoints pmhub uses."""

    def __init__(self, config: PagerDutyConfig) -> None:
        # Any: the SDK's attributes are loosely typed (`timeout` is declared int).
        api: Any = pagerduty.RestApiV2Client(
            config.api_token.get_secret_value(),
            base_url=config.base_url,
            verify=_ssl_verify(config),
            event_hooks={"response": [_stop_on_rate_limit]},
        )
        api.timeout = config.timeout_seconds
        api.max_network_attempts = 0
        api.retry = {}
        self._api = api
        self._window = window_for(
            config.base_url, config.api_token.get_secret_value(), config.requests_per_minute
        )

    async def close(self) -> None:
        self._api.close()

    async def get_incident(self, incident_id: str, include: Sequence[str] = ()) -> JsonDict:
        params = {"include[]": list(include)} if include else None
        url = _path("/incidents/{}", incident_id)
        return await self._run("GET incident", lambda: self._api.rget(url, params=params))

    async def list_log_entries(self, incident_id: str, since: str | None = None) -> list[JsonDict]:
        """Every entry (newest first), or those created at or after `since` (ISO 8601)."""
        url = _path("/incidents/{}/log_entries", incident_id)
        params = {"since": since} if since else None
        return await self._run(
            "GET log entries", lambda: list(self._api.iter_all(url, params=params))
        )

    async def log_entries_page(
        self, incident_id: str, *, offset: int, limit: int, total: bool = False
    ) -> JsonDict:
        """One page of the incident's log, as PagerDuty answers it (`log_entries`,
        `more`, and `total` when asked): newest first, classic offset pagination."""
        url = _path("/incidents/{}/log_entries", incident_id)
        params: dict[str, Any] = {"offset": offset, "limit": limit}
        if total:
            params["total"] = "true"
        return await self._run("GET log entries", lambda: self._api.jget(url, params=params))

    async def get_user(self, user_id: str) -> JsonDict:
        url = _path("/users/{}", user_id)
        return await self._run("GET user", lambda: self._api.rget(url))

    async def list_oncalls(self, escalation_policy_id: str) -> list[JsonDict]:
        params = {"escalation_policy_ids[]": [escalation_policy_id]}
        return await self._run(
            "GET on-calls", lambda: list(self._api.iter_all("/oncalls", params=params))
        )

    async def create_note(self, incident_id: str, content: str, from_email: str) -> JsonDict:
        url = _path("/incidents/{}/notes", incident_id)
        # The SDK wraps the body as {"note": {...}} and unwraps the answer the same way.
        return await self._run(
            "POST note",
            lambda: self._api.rpost(url, json={"content": content}, headers={"From": from_email}),
        )

    async def list_notes(self, incident_id: str) -> list[JsonDict]:
        # Not paginated: PagerDuty answers every note of the incident at once.
        url = _path("/incidents/{}/notes", incident_id)
        return await self._run("GET notes", lambda: self._api.rget(url))

    async def abilities(self) -> list[str]:
        """GET /abilities: the account's abilities; answered for any valid token (read
        only: `pmhub doctor` checks the token with it)."""
        answer = await self._run("GET abilities", lambda: self._api.jget("/abilities"))
        found = answer.get("abilities") if isinstance(answer, dict) else None
        return [str(a) for a in found] if isinstance(found, list) else []

    async def _run(self, what: str, call: Callable[[], T]) -> T:
        # One slot per call: a call reading several pages counts once (the log of one
        # incident rarely exceeds a page of 100; on-calls of one policy never do).
        await self._window.wait_turn()
        try:
            result = await asyncio.to_thread(call)
        except _RateLimitedResponse as exc:
            raise error_for_response(exc.response, what) from None
        except pagerduty.Error as exc:
            if exc.response is not None:  # an HttpError: PagerDuty answered with a failure
                raise error_for_response(exc.response, what) from None
            # No answer at all: refused, reset, TLS failure or timeout (the cause says which).
            cause = exc.__cause__ or exc
            raise Transient(f"PagerDuty {what}: {type(cause).__name__}: {cause}") from None
        except pagerduty.UrlError as exc:
            raise Permanent(f"PagerDuty {what}: {exc}") from None
        return _checked(result, what)


def _checked(result: T, what: str) -> T:
    # The SDK returns whatever JSON came back; the methods above promise dicts and lists.
    if not isinstance(result, dict | list):
        raise Transient(f"PagerDuty {what}: unexpected answer of type {type(result).__name__}")
    return result
