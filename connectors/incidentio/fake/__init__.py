"""An incident.io REST API double: `GET /v2/incidents/{id}` from seeded incidents,
`GET /v2/incident_activity_log_entries` (paged by `after`) from seeded activity,
`GET /v2/users/{id}`, and post-mortem documents (`GET`/`PUT /v1/postmortem_documents/{id}`,
the PUT setting its `status`: in_progress, in_review or completed).

Bearer auth, incident.io's ErrorResponse bodies (401, 404, 429 with Retry-After and
`rate_limit`, 500), lookup by full id or by the number of the reference (as the real
API allows), and injectable faults: latency, 5xx, 429, hanging. Every exchange is
recorded for the contract tests. Seed data follows the example in incident.io's
OpenAPI document (the `IncidentV2` example). Used by the tests and by `pmhub demo`.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

Json = dict[str, Any]
FaultKind = Literal["status", "rate_limit", "hang"]
SEEDED_AT = "2021-08-17T13:28:57.801578Z"
ROLE_TYPES = {"Incident Lead": "lead", "Reporter": "reporter"}
ERROR_TYPES = {
    401: "authentication_error",
    403: "resource_forbidden",
    404: "not_found",
    429: "too_many_requests",
}


@dataclass
class Fault:
    kind: FaultKind
    times: int | None  # None: until `faults.clear()`
    status: int = 500
    retry_after: float | None = None


@dataclass
class Exchange:
    """One request as received and what was answered (status None: nothing was)."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: Any = None  # the JSON request body, if any
    status: int | None = None
    response: Any = None
    fault: FaultKind | None = None


def error_body(status: int, code: str, message: str, request_id: str) -> Json:
    return {
        "type": ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error"),  # noqa: PLR2004
        "status": status,
        "request_id": request_id,
        "errors": [{"code": code, "message": message}],
    }


@dataclass
class FakeIncidentIo:
    """The fake's state: seed it, point a client at it, then read `calls`/`exchanges`."""

    api_key: str = "iio-test-key"
    latency: float = 0.0
    incidents: dict[str, Json] = field(default_factory=dict)
    users: dict[str, Json] = field(default_factory=dict)
    activity: dict[str, list[Json]] = field(default_factory=dict)  # incident id -> log
    documents: dict[str, Json] = field(default_factory=dict)  # post-mortem documents by id
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    exchanges: list[Exchange] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _released: asyncio.Event = field(default_factory=asyncio.Event)

    # -- seeding ------------------------------------------------------------------

    def add_user(
        self,
        id_: str,
        name: str,
        email: str,
        *,
        slack_user_id: str | None = None,
        role: str = "responder",
    ) -> Json:
        user: Json = {"id": id_, "name": name, "email": email, "role": role}
        if slack_user_id:
            user["slack_user_id"] = slack_user_id
        self.users[id_] = user
        return user

    def add_incident(
        self,
        id_: str = "01FDAG4SAP5TYPT98WGR2N7W91",
        *,
        reference: str = "INC-123",
        name: str = "Our database is sad",
        summary: str | None = "Our database is really really sad, and we don't know why yet.",
        status: tuple[str, str] = ("Investigating", "live"),  # (name, category)
        severity: tuple[str, int] | None = ("Minor", 1),  # (name, rank)
        incident_type: str | None = "Production Outage",
        creator: str | None = None,
        roles: Mapping[str, str] = {},
        custom_fields: Mapping[str, str] = {},
        postmortem_document_url: str | None = None,
        slack_channel: tuple[str, str] = ("C02AW36C1M5", "inc-123-our-database-is-sad"),
        created_at: str = SEEDED_AT,
        updated_at: str | None = None,
        mode: Literal["standard", "retrospective", "test", "tutorial"] = "standard",
        visibility: Literal["public", "private"] = "public",
    ) -> Json:
        number = reference.rpartition("-")[2]
        incident: Json = {
            "id": id_,
            "reference": reference,
            "name": name,
            "incident_status": {
                **self._stamped(status[0]),
                "description": f"The incident is {status[1]}.",
                "category": status[1],
                "rank": 1,
            },
            "mode": mode,
            "visibility": visibility,
            "creator": {"user": self.users[creator]} if creator else {"api_key": self._key()},
            "incident_role_assignments": [
                self._role(role, user_id) for role, user_id in roles.items()
            ],
            "custom_field_entries": [self._text_field(k, v) for k, v in custom_fields.items()],
            "team_ids": [],
            "slack_team_id": "T02A1FSLE8J",
            "slack_channel_id": slack_channel[0],
            "slack_channel_name": slack_channel[1],
            "slack_channel_url": f"https://slack.com/app_redirect?team=T02A1FSLE8J&channel={slack_channel[0]}",
            "permalink": f"https://app.incident.io/incidents/{number}",
            "created_at": created_at,
            "updated_at": updated_at or created_at,
            "last_activity_at": updated_at or created_at,
            "has_debrief": False,
            "postmortem_document_ids": [],
        }
        if summary is not None:
            incident["summary"] = summary
        if severity is not None:
            incident["severity"] = {
                **self._stamped(severity[0]),
                "description": f"Issues with **{severity[0].lower()}** impact.",
                "rank": severity[1],
            }
        if incident_type is not None:
            incident["incident_type"] = {
                **self._stamped(incident_type),
                "description": "Customer facing production outages",
                "is_default": False,
                "private_incidents_only": False,
                "create_in_triage": "always",
            }
        if postmortem_document_url:
            incident["postmortem_document_url"] = postmortem_document_url
        self.incidents[id_] = incident
        return incident

    def add_activity(
        self,
        incident_id: str,
        type_: str,
        title: str,
        *,
        occurred_at: str,
        content: Json | None = None,
        by: str | None = None,
    ) -> Json:
        """An activity log entry; `by` (a user id) becomes the content's `updater`."""
        body = dict(content or {})
        if by is not None:
            body.setdefault("updater", {"user": self.users[by]})
        entry: Json = {
            "id": f"01J{next(self._ids):023d}",
            "incident_id": incident_id,
            "type": type_,
            "title": title,
            "occurred_at": occurred_at,
            "created_at": occurred_at,
            "content": {type_: body},
        }
        self.activity.setdefault(incident_id, []).append(entry)
        return entry

    def add_postmortem_document(
        self,
        incident_id: str,
        id_: str = "01GDZEW57FDA1K4S63MGMQ5DS9",
        *,
        status: str = "in_progress",
    ) -> Json:
        """A post-mortem document of an incident (named in its `postmortem_document_ids`)."""
        incident = self.incidents[incident_id]
        number = incident["reference"].rpartition("-")[2]
        document: Json = {
            "id": id_,
            "incident_id": incident_id,
            "title": f"{incident['reference']}: {incident['name']}",
            "status": status,
            "type": "in_app",
            "document_url": f"https://app.incident.io/my-org/incidents/{number}/post-mortems/{id_}",
            "editors": [],
            "exported_urls": [],
            "created_at": SEEDED_AT,
            "updated_at": SEEDED_AT,
        }
        self.documents[id_] = document
        incident["postmortem_document_ids"] = [*incident["postmortem_document_ids"], id_]
        incident.setdefault("postmortem_document_url", document["document_url"])
        return document

    def role(self, name: str) -> Json:
        """An incident role as incident.io describes one (for role_update content)."""
        role: Json = self._role(name, next(iter(self.users)))["role"]
        return role

    def status(self, name: str, category: str) -> Json:
        return {
            **self._stamped(name),
            "description": f"The incident is {category}.",
            "category": category,
            "rank": 1,
        }

    def update_incident(self, id_: str, **fields: Any) -> Json:
        """Change top-level fields as incident.io would (bumping `updated_at`)."""
        self.incidents[id_].update(fields)
        return self.incidents[id_]

    def _stamped(self, name: str) -> Json:
        return {
            "id": f"01FCNDV6P870EA6S7TK1D{next(self._ids):05d}",
            "name": name,
            "created_at": SEEDED_AT,
            "updated_at": SEEDED_AT,
        }

    def _key(self) -> Json:
        return {"id": "01FCNDV6P870EA6S7TK1DSYDG0", "name": "My test API key"}

    def _role(self, role: str, user_id: str) -> Json:
        return {
            "assignee": self.users[user_id],
            "role": {
                **self._stamped(role),
                "shortform": role.lower().replace(" ", "_"),
                "description": f"The {role.lower()} of the incident",
                "instructions": "Take point on the incident",
                "role_type": ROLE_TYPES.get(role, "custom"),
                "required": role in ROLE_TYPES,
            },
        }

    def _text_field(self, name: str, value: str) -> Json:
        return {
            "custom_field": {
                "id": self._stamped(name)["id"],
                "name": name,
                "description": name,
                "field_type": "text",
                "options": [],
            },
            "values": [{"value_text": value}],
        }

    # -- faults -------------------------------------------------------------------

    def fail(self, status: int = 500, *, times: int | None = 1) -> None:
        self.faults.append(Fault("status", times, status))

    def rate_limit(self, retry_after: float | None = 7, *, times: int | None = 1) -> None:
        self.faults.append(Fault("rate_limit", times, 429, retry_after))

    def hang(self, *, times: int | None = 1) -> None:
        """Accept the request and never answer (until the fake shuts down)."""
        self.faults.append(Fault("hang", times))

    def _take_fault(self) -> Fault | None:
        if not self.faults:
            return None
        fault = self.faults[0]
        if fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                self.faults.pop(0)
        return fault

    # -- app ----------------------------------------------------------------------

    def find(self, key: str) -> Json | None:
        if key in self.incidents:
            return self.incidents[key]
        return next(
            (i for i in self.incidents.values() if i["reference"].rpartition("-")[2] == key), None
        )

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[_middleware])
        app[STATE] = self
        app.router.add_get("/v2/incidents/{id}", _show_incident)
        app.router.add_get("/v2/incident_activity_log_entries", _list_activity)
        app.router.add_get("/v2/users/{id}", _show_user)
        app.router.add_get("/v1/identity", _show_identity)
        app.router.add_get("/v1/postmortem_documents/{id}", _show_document)
        app.router.add_put("/v1/postmortem_documents/{id}", _update_document_status)

        async def release_hanging(_: web.Application) -> None:
            self._released.set()

        app.on_shutdown.append(release_hanging)
        return app


STATE = web.AppKey("incidentio_fake", FakeIncidentIo)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _show_incident(request: web.Request) -> web.Response:
    state = request.app[STATE]
    incident = state.find(request.match_info["id"])
    if incident is None:
        body = error_body(404, "not_found", "Incident not found", _request_id(request))
        return web.json_response(body, status=404)
    return web.json_response({"incident": copy.deepcopy(incident)})


async def _show_identity(request: web.Request) -> web.Response:
    # GET /v1/identity: the API key's name and roles (UtilitiesIdentityResultV1).
    identity = {
        "name": "pmhub",
        "dashboard_url": "https://app.incident.io/pmhub-fake",
        "roles": ["viewer", "incident_editor"],
        "team_roles": [],
        "teams": [],
    }
    return web.json_response({"identity": identity})


async def _show_user(request: web.Request) -> web.Response:
    user = request.app[STATE].users.get(request.match_info["id"])
    if user is None:
        body = error_body(404, "not_found", "User not found", _request_id(request))
        return web.json_response(body, status=404)
    # GET /v2/users/{id} answers a UserWithRolesV2: the user, with its roles and seats.
    shown = {
        **copy.deepcopy(user),
        "base_role": {
            "id": "01FCNDV6P870EA6S7TK1DSYDR1",
            "name": "Responder",
            "slug": "responder",
            "description": "Can respond to incidents.",
        },
        "custom_roles": [],
        "is_active": True,
        "seats": {"on_call": "full_access", "response": "full_access"},
    }
    return web.json_response({"user": shown})


async def _show_document(request: web.Request) -> web.Response:
    document = request.app[STATE].documents.get(request.match_info["id"])
    if document is None:
        body = error_body(404, "not_found", "Post-mortem document not found", _request_id(request))
        return web.json_response(body, status=404)
    return web.json_response({"postmortem_document": copy.deepcopy(document)})


DOCUMENT_STATUSES = ("in_progress", "in_review", "completed")


async def _update_document_status(request: web.Request) -> web.Response:
    state, request_id = request.app[STATE], _request_id(request)
    document = state.documents.get(request.match_info["id"])
    if document is None:
        body = error_body(404, "not_found", "Post-mortem document not found", request_id)
        return web.json_response(body, status=404)
    try:
        payload = await request.json()
    except ValueError:
        payload = None
    status = payload.get("status") if isinstance(payload, dict) else None
    if status not in DOCUMENT_STATUSES:
        message = f"status must be one of {', '.join(DOCUMENT_STATUSES)}"
        body = error_body(422, "invalid_value", message, request_id)
        return web.json_response(body, status=422)
    document["status"] = status
    document["updated_at"] = SEEDED_AT
    return web.json_response({"postmortem_document": copy.deepcopy(document)})


async def _list_activity(request: web.Request) -> web.Response:
    state = request.app[STATE]
    request_id = _request_id(request)
    incident_id = request.query.get("incident_id")
    if not incident_id:
        body = error_body(422, "missing_field", "incident_id is required", request_id)
        return web.json_response(body, status=422)
    try:
        page_size = int(request.query.get("page_size", "25"))
    except ValueError:
        page_size = 0
    if not 1 <= page_size <= 250:  # noqa: PLR2004 - the documented range
        body = error_body(422, "invalid_value", "page_size must be between 1 and 250", request_id)
        return web.json_response(body, status=422)
    entries = state.activity.get(incident_id, [])
    after = request.query.get("after")
    if after:
        ids = [e["id"] for e in entries]
        if after not in ids:
            body = error_body(422, "invalid_value", "after is not an entry of this log", request_id)
            return web.json_response(body, status=422)
        entries = entries[ids.index(after) + 1 :]
    page = copy.deepcopy(entries[:page_size])
    return web.json_response({"incident_activity_log_entries": page})


def _request_id(request: web.Request) -> str:
    return f"req-{id(request):x}"


@web.middleware
async def _middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE]
    exchange = Exchange(
        request.method, request.path, list(request.query.items()), dict(request.headers)
    )
    if request.can_read_body:
        try:
            exchange.body = json.loads(await request.read())
        except ValueError:
            exchange.body = None
    state.exchanges.append(exchange)
    state.calls[(request.method, request.path)] += 1
    if state.latency:
        await asyncio.sleep(state.latency)
    fault = state._take_fault()
    exchange.fault = fault.kind if fault else None
    response = await _answer(request, handler, state, fault)
    exchange.status = response.status
    if isinstance(response, web.Response) and response.text is not None:
        exchange.response = json.loads(response.text)
    return response


async def _answer(
    request: web.Request, handler: Handler, state: FakeIncidentIo, fault: Fault | None
) -> web.StreamResponse:
    request_id = _request_id(request)
    if fault is not None:
        return await _faulty(fault, state, request_id)
    authorization = request.headers.get("Authorization", "")
    if authorization != f"Bearer {state.api_key}":
        code, message = (
            ("invalid_authorization_material", "The API key provided is not valid")
            if authorization
            else ("missing_authorization_material", "No authorization material provided")
        )
        return web.json_response(error_body(401, code, message, request_id), status=401)
    try:
        return await handler(request)
    except web.HTTPNotFound:
        body = error_body(404, "not_found", "No route matches this path", request_id)
        return web.json_response(body, status=404)


async def _faulty(fault: Fault, state: FakeIncidentIo, request_id: str) -> web.Response:
    if fault.kind == "hang":
        await state._released.wait()
        body = error_body(503, "unavailable", "Shutting down", request_id)
        return web.json_response(body, status=503)
    if fault.kind == "rate_limit":
        message = "Too many requests hit the API too quickly."
        body = error_body(429, "too_many_requests", message, request_id)
        body["rate_limit"] = {
            "name": "api_key_name",
            "limit": 1200,
            "remaining": 0,
            "retry_after": "2021-08-17T13:29:57Z",
        }
        headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
        return web.json_response(body, status=429, headers=headers)
    body = error_body(fault.status, "internal_error", "Something went wrong", request_id)
    return web.json_response(body, status=fault.status)
