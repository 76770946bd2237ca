"""incident.io REST transport over aiohttp.

Why no SDK: pmhub makes a handful of calls (the incident, the activity log, a user, a
post-mortem document and its status), and there is no maintained Python client worth
using for it (the `incident-io` package is generated, blocking, and brings its own HTTP
stack for what are a few GETs and one PUT). So this is aiohttp, on
the daemon's one shared `ClientSession` (passed in; never owned or closed here), with
a per-request timeout.

Every failure leaves as a `hub.errors` type; the API key never appears in a message.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import aiohttp

from connectors.common.retry_after import parse_retry_after
from connectors.incidentio.config import IncidentIoConfig
from hub.errors import AuthFailed, ConnectorError, Permanent, RateLimited, Transient

JsonDict = dict[str, Any]
MESSAGE_LIMIT = 500
AUTH_STATUSES = frozenset({401, 403})
HTTP_TOO_MANY_REQUESTS = 429
HTTP_REQUEST_TIMEOUT = 408


def vendor_message(body: Any, fallback: str) -> str:
    """incident.io's ErrorResponse: `{"type", "status", "request_id", "errors": [...]}`."""
    if not isinstance(body, dict):
        return fallback
    parts = []
    for error in body.get("errors") or ():
        if isinstance(error, dict):
            field = (error.get("source") or {}).get("field")
            text = f"{error.get('code', '')}: {error.get('message', '')}".strip(": ")
            parts.append(f"{text} (field {field})" if field else text)
    text = f"{body.get('type') or fallback}: {'; '.join(parts)}" if parts else fallback
    if body.get("request_id"):
        text += f" [request_id {body['request_id']}]"
    return text[:MESSAGE_LIMIT]


def error_for_status(
    status: int, body: Any, headers: Any, what: str, reason: str = ""
) -> ConnectorError:
    message = f"incident.io {what}: HTTP {status}: {vendor_message(body, reason or str(status))}"
    retry_after = parse_retry_after(headers.get("Retry-After"))
    if status in AUTH_STATUSES:
        return AuthFailed(message)
    if status == HTTP_TOO_MANY_REQUESTS:
        return RateLimited(message, retry_after=retry_after)
    if status >= 500 or status == HTTP_REQUEST_TIMEOUT:  # noqa: PLR2004
        return Transient(message, retry_after=retry_after)
    return Permanent(message)


class IncidentIoClient:
    def __init__(self, config: IncidentIoConfig, session: aiohttp.ClientSession) -> None:
        self._session = session
        self._base_url = config.base_url
        self._headers = {
            "Authorization": f"Bearer {config.api_key.get_secret_value()}",
            "Accept": "application/json",
        }
        self._timeout = aiohttp.ClientTimeout(total=config.timeout_seconds)

    async def get_incident(self, incident_id: str) -> JsonDict:
        body = await self._get(f"/v2/incidents/{quote(incident_id, safe='')}", "GET incident")
        incident = body.get("incident")
        if not isinstance(incident, dict):
            raise Transient("incident.io GET incident: the answer has no `incident` object")
        return incident

    async def activity_page(
        self, incident_id: str, *, after: str | None, page_size: int
    ) -> list[JsonDict]:
        """One page of the incident's activity log, oldest first (GET
        /v2/incident_activity_log_entries); the next page starts after the last id."""
        params = {"incident_id": incident_id, "page_size": str(page_size)}
        if after:
            params["after"] = after
        body = await self._get(
            "/v2/incident_activity_log_entries", "GET activity log", params=params
        )
        entries = body.get("incident_activity_log_entries")
        if not isinstance(entries, list):
            raise Transient("incident.io GET activity log: the answer has no entries list")
        return [e for e in entries if isinstance(e, dict)]

    async def get_user(self, user_id: str) -> JsonDict:
        """The `user` of GET /v2/users/{id} (a membership names a user by id only)."""
        body = await self._get(f"/v2/users/{quote(user_id, safe='')}", "GET user")
        return _object(body, "user", "GET user")

    async def get_postmortem_document(self, document_id: str) -> JsonDict:
        """The `postmortem_document` of GET /v1/postmortem_documents/{id}."""
        path = f"/v1/postmortem_documents/{quote(document_id, safe='')}"
        body = await self._get(path, "GET post-mortem document")
        return _object(body, "postmortem_document", "GET post-mortem document")

    async def update_postmortem_status(self, document_id: str, status: str) -> JsonDict:
        """PUT /v1/postmortem_documents/{id} `{"status": …}` (in_progress, in_review,
        completed): the same status twice is the same document, so a retry is harmless."""
        path = f"/v1/postmortem_documents/{quote(document_id, safe='')}"
        what = "PUT post-mortem status"
        body = await self._send("PUT", path, what, json={"status": status})
        return _object(body, "postmortem_document", what)

    async def identity(self) -> JsonDict:
        """The `identity` of GET /v1/identity: the API key's name and roles (read only:
        `pmhub doctor` checks the key with it)."""
        return _object(await self._get("/v1/identity", "GET identity"), "identity", "GET identity")

    async def _get(self, path: str, what: str, *, params: dict[str, str] | None = None) -> JsonDict:
        return await self._send("GET", path, what, params=params)

    async def _send(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: dict[str, str] | None = None,
        json: JsonDict | None = None,
    ) -> JsonDict:
        try:
            async with self._session.request(
                method,
                self._base_url + path,
                headers=self._headers,
                timeout=self._timeout,
                params=params,
                json=json,
            ) as response:
                body = await _json_or_none(response)
                if response.status >= 400:  # noqa: PLR2004
                    raise error_for_status(
                        response.status, body, response.headers, what, response.reason or ""
                    )
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Refused, reset, TLS failure, a dropped connection, or our timeout.
            raise Transient(f"incident.io {what}: {type(exc).__name__}: {exc}") from None
        if not isinstance(body, dict):
            raise Transient(f"incident.io {what}: HTTP {response.status} without a JSON object")
        return body


def _object(body: JsonDict, name: str, what: str) -> JsonDict:
    found = body.get(name)
    if not isinstance(found, dict):
        raise Transient(f"incident.io {what}: the answer has no `{name}` object")
    return found


async def _json_or_none(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except ValueError:
        return None
