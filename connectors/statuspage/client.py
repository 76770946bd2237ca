"""Atlassian Statuspage REST v1 transport over aiohttp.

Why no SDK: there is no maintained Python client for the Statuspage manage API
(Atlassian publishes none; the community packages on PyPI are abandoned or cover
only the public read-only status API). pmhub makes a handful of JSON calls, so this
is aiohttp on the daemon's one shared `ClientSession` (passed in; never owned or
closed here), with a per-request timeout.

Rate limit: Statuspage allows 1 request/s per API key and answers 420 or 429 beyond
it. pmhub paces itself rather than finding out: every request first waits for its
turn on a `KeyedPacer` keyed by (a digest of) the API key, shared by every client
using that key when the daemon passes one in. A 420/429 still pushes the key's next
turn out by its Retry-After, so other jobs on the same key hold back too.

A dropped connection is a Transient: the request may or may not have taken effect,
and the connector's retry (`unknown_outcome=True`) finds out. Note that aiohttp itself
resends an idempotent request (GET, PUT) once when the connection drops before the
answer, outside the pacer; pmhub's PUTs (a post-mortem draft, its publication) carry
the same content both times, and POST and PATCH are never resent.

Every failure leaves as a `hub.errors` type; the API key never appears in a message.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp

from connectors.common.pacer import KeyedPacer, Pacer
from connectors.common.retry_after import parse_retry_after
from connectors.statuspage.config import StatuspageConfig
from hub.errors import AuthFailed, ConnectorError, Permanent, RateLimited, Transient

JsonDict = dict[str, Any]
MESSAGE_LIMIT = 500
AUTH_STATUSES = frozenset({401, 403})
# 420 is what Statuspage has long sent for "rate limited"; 429 is the standard code.
RATE_LIMIT_STATUSES = frozenset({420, 429})
HTTP_REQUEST_TIMEOUT = 408
HTTP_NOT_FOUND = 404
# The live API's page size ceiling for components ("a maximum limit of 100", 2023).
COMPONENTS_PER_PAGE = 100


def vendor_message(body: Any, fallback: str) -> str:
    """Statuspage's error text.

    The OpenAPI document's ErrorEntity is `{"message": ...}`; the live API answers
    `{"error": "Could not authenticate"}`, and validation errors as a list
    (`{"error": ["Name can't be blank"]}`). All three are read.
    """
    if not isinstance(body, dict):
        return fallback
    parts: list[str] = []
    for key in ("error", "message"):
        value = body.get(key)
        if isinstance(value, str) and value:
            parts.append(value)
        elif isinstance(value, list):
            parts.extend(str(item) for item in value if item)
    return ("; ".join(parts) or fallback)[:MESSAGE_LIMIT]


def error_for_status(
    status: int, body: Any, headers: Mapping[str, str], what: str, reason: str = ""
) -> ConnectorError:
    message = f"Statuspage {what}: HTTP {status}: {vendor_message(body, reason or str(status))}"
    retry_after = parse_retry_after(headers.get("Retry-After"))
    if status in AUTH_STATUSES:
        return AuthFailed(message)
    if status in RATE_LIMIT_STATUSES:
        return RateLimited(message, retry_after=retry_after)
    if status >= 500 or status == HTTP_REQUEST_TIMEOUT:  # noqa: PLR2004
        return Transient(message, retry_after=retry_after)
    # 400, 404, 422 and the rest of 4xx: the same request will never succeed.
    return Permanent(message)


def pacing_key(api_key: str) -> str:
    """The pacer's key for an API key: a digest, so the secret is never held or shown in clear."""
    return "statuspage:" + hashlib.sha256(api_key.encode()).hexdigest()[:16]


class StatuspageClient:
    def __init__(
        self,
        config: StatuspageConfig,
        session: aiohttp.ClientSession,
        *,
        pacer: Pacer | None = None,
    ) -> None:
        self._session = session
        self._base_url = config.base_url
        self._page_url = f"{config.base_url}/pages/{quote(config.page_id, safe='')}"
        api_key = config.api_key.get_secret_value()
        self._headers = {"Authorization": f"OAuth {api_key}", "Accept": "application/json"}
        self._timeout = aiohttp.ClientTimeout(total=config.timeout_seconds)
        # `is None`, not `or`: a pacer with no lanes yet has len() 0 and is falsy.
        self._pacer = pacer if pacer is not None else KeyedPacer(config.min_interval_seconds)
        self._pacing_key = pacing_key(api_key)

    def for_page(self, page_id: str) -> StatuspageClient:
        """The same key, session and pacing, on another page (a team's, issue 15)."""
        sibling = copy.copy(self)
        sibling._page_url = f"{self._base_url}/pages/{quote(page_id, safe='')}"
        return sibling

    async def get_page(self) -> JsonDict | None:
        """GET /pages/{page_id}; None when the key manages no such page (read only:
        `pmhub doctor` checks the key and the page with it)."""
        body = await self._call("GET", "", "get page", missing_ok=True)
        return None if body is None else _object(body)

    async def component_ids(self) -> set[str]:
        """Every component id of the page (GET /pages/{page_id}/components, page by page)."""
        found: set[str] = set()
        for page in itertools.count(1):
            params = {"page": str(page), "per_page": str(COMPONENTS_PER_PAGE)}
            body = await self._call("GET", "/components", "list components", params=params)
            if not isinstance(body, list):
                raise Transient("Statuspage list components: the answer is not a JSON array")
            found |= {str(c["id"]) for c in body if isinstance(c, dict) and "id" in c}
            if len(body) < COMPONENTS_PER_PAGE:
                break
        return found

    # -- incidents ----------------------------------------------------------------

    async def list_incidents(self, *, query: str | None = None, limit: int = 100) -> list[JsonDict]:
        """GET /pages/{page_id}/incidents: newest first, optionally searched by `q`."""
        params: dict[str, str] = {"limit": str(limit)}
        if query:
            params["q"] = query
        body = await self._call("GET", "/incidents", "list incidents", params=params)
        if not isinstance(body, list):
            raise Transient("Statuspage list incidents: the answer is not a JSON array")
        return [item for item in body if isinstance(item, dict)]

    async def get_incident(self, incident_id: str) -> JsonDict:
        return _object(await self._call("GET", _incident(incident_id), "get incident"))

    async def create_incident(self, fields: Mapping[str, Any]) -> JsonDict:
        body = await self._call("POST", "/incidents", "create incident", json={"incident": fields})
        return _object(body)

    async def update_incident(self, incident_id: str, fields: Mapping[str, Any]) -> JsonDict:
        body = await self._call(
            "PATCH", _incident(incident_id), "update incident", json={"incident": fields}
        )
        return _object(body)

    # -- post-mortems -------------------------------------------------------------

    async def get_postmortem(self, incident_id: str) -> JsonDict | None:
        """The incident's post-mortem; None when it has none yet (404)."""
        path = _incident(incident_id) + "/postmortem"
        body = await self._call("GET", path, "get postmortem", missing_ok=True)
        return None if body is None else _object(body)

    async def put_postmortem(self, incident_id: str, body_draft: str) -> JsonDict:
        path = _incident(incident_id) + "/postmortem"
        payload = {"postmortem": {"body_draft": body_draft}}
        return _object(await self._call("PUT", path, "save postmortem", json=payload))

    async def publish_postmortem(self, incident_id: str, *, notify_subscribers: bool) -> JsonDict:
        path = _incident(incident_id) + "/postmortem/publish"
        # Twitter notification stays off: Statuspage's Twitter integration is retired.
        payload = {
            "postmortem": {"notify_subscribers": notify_subscribers, "notify_twitter": False}
        }
        return _object(await self._call("PUT", path, "publish postmortem", json=payload))

    # -- transport ----------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Mapping[str, Any] | None = None,
        missing_ok: bool = False,
    ) -> Any:
        """The JSON answer; None for a 404 when `missing_ok`."""
        # The turn spans the whole exchange: the next request on this key starts an
        # interval after this one has been answered, however long it took.
        async with self._pacer.turn(self._pacing_key):
            try:
                async with self._session.request(
                    method,
                    self._page_url + path,
                    params=params,
                    json=json,
                    headers=self._headers,
                    timeout=self._timeout,
                ) as response:
                    body = await _json_or_none(response)
                    if missing_ok and response.status == HTTP_NOT_FOUND:
                        return None
                    if response.status >= 400:  # noqa: PLR2004
                        error = error_for_status(
                            response.status, body, response.headers, what, response.reason or ""
                        )
                        if isinstance(error, RateLimited):
                            await self._pacer.defer(self._pacing_key, error.retry_after or 1.0)
                        raise error
            except (aiohttp.ClientError, TimeoutError) as exc:
                # Refused, reset, TLS failure, a dropped connection, or our timeout: the
                # request may or may not have taken effect (the caller retries knowing so).
                raise Transient(f"Statuspage {what}: {type(exc).__name__}: {exc}") from None
        if body is None:
            raise Transient(f"Statuspage {what}: HTTP {response.status} without a JSON answer")
        return body


def _incident(incident_id: str) -> str:
    return f"/incidents/{quote(incident_id, safe='')}"


def _object(body: Any) -> JsonDict:
    if not isinstance(body, dict):
        raise Transient("Statuspage: the answer is not a JSON object")
    return body


async def _json_or_none(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except ValueError:
        return None
