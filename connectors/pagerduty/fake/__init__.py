"""A PagerDuty REST API double: an aiohttp app serving seeded data like PagerDuty would.

It answers every call pmhub makes (incident with includes, log entries, users,
on-calls, notes) with PagerDuty's shapes, token auth, error bodies and offset
pagination, and can be told to misbehave: latency, 5xx, 429 with Retry-After,
hanging, or committing a write and then dropping the connection unanswered.
Every exchange is recorded so contract tests can check both directions against
PagerDuty's OpenAPI document. Used by the tests and by `pmhub demo`.

The `pagerduty` client only talks https://, so serve it with an SSL context.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from connectors.common.faults import (
    Exchange,
    Fault,
    FaultInjection,
    finish_exchange,
    record_exchange,
)
from connectors.pagerduty.fake.api import (
    API,
    MAX_PAGE_SIZE,
    WEB,
    Json,
    add_routes,
    error_body,
    json_response,
    ref,
)


@dataclass
class FakePagerDuty(FaultInjection):
    """The fake's state: seed it, point a client at it, then read `calls`/`exchanges`."""

    token: str = "pd-test-token"  # noqa: S105 - the fake's own, not a credential
    latency: float = 0.0
    max_page_size: int = MAX_PAGE_SIZE
    incidents: dict[str, Json] = field(default_factory=dict)
    users: dict[str, Json] = field(default_factory=dict)
    oncalls: list[Json] = field(default_factory=list)
    log_entries: dict[str, list[Json]] = field(default_factory=dict)
    notes: dict[str, list[Json]] = field(default_factory=dict)
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    exchanges: list[Exchange] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    bridges: dict[str, Json] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _released: asyncio.Event = field(default_factory=asyncio.Event)

    # -- seeding ------------------------------------------------------------------

    def add_user(
        self, id_: str, name: str, email: str, *, time_zone: str = "Europe/London", **extra: Any
    ) -> Json:
        user = {
            "id": id_,
            "type": "user",
            "summary": name,
            "self": f"{API}/users/{id_}",
            "html_url": f"{WEB}/users/{id_}",
            "name": name,
            "email": email,
            "time_zone": time_zone,
            "color": "green",
            "role": "user",
            "avatar_url": "https://pd-static-assets.pagerduty.com/users/blank-avatar.png",
            "invitation_sent": False,
            "job_title": "Engineer",
            "teams": [],
            "contact_methods": [],
            "notification_rules": [],
            **extra,
        }
        self.users[id_] = user
        return user

    def add_incident(
        self,
        id_: str = "PGR0VU2",
        *,
        number: int = 2,
        title: str = "A little bump in the road",
        status: Literal["triggered", "acknowledged", "resolved"] = "triggered",
        created_at: str = "2020-04-09T15:16:27Z",
        updated_at: str | None = None,
        resolved_at: str | None = None,
        urgency: Literal["high", "low"] = "high",
        service: tuple[str, str] = ("PF9KMXH", "API Service"),
        escalation_policy: tuple[str, str] = ("PUS0KTE", "Default"),
        teams: Sequence[tuple[str, str]] = (("PFCVPS0", "Engineering"),),
        priority: str | None = "P1",
        assignees: Sequence[tuple[str, str]] = (),  # (user id, at)
        acknowledgers: Sequence[tuple[str, str]] = (),  # (user id, at)
        conference_url: str | None = "https://example.com/bridge",
        incident_type: str = "major",
    ) -> Json:
        """Defaults follow PagerDuty's webhook example `data_incident.json`."""
        incident: Json = {
            "id": id_,
            "type": "incident",
            "summary": f"[#{number}] {title}",
            "self": f"{API}/incidents/{id_}",
            "html_url": f"{WEB}/incidents/{id_}",
            "incident_number": number,
            "title": title,
            "created_at": created_at,
            "updated_at": updated_at or created_at,
            "last_status_change_at": updated_at or created_at,
            "status": status,
            "incident_key": f"key-{id_.lower()}",
            "urgency": urgency,
            "incident_type": {"name": incident_type},
            "service": ref("service", *service, "services", "service-directory"),
            "escalation_policy": ref(
                "escalation_policy", *escalation_policy, "escalation_policies"
            ),
            "teams": [ref("team", *team, "teams") for team in teams],
            "assignments": [{"at": at, "assignee": self._user_ref(u)} for u, at in assignees],
            "acknowledgements": [
                {"at": at, "acknowledger": self._user_ref(u)} for u, at in acknowledgers
            ],
            "assigned_via": "escalation_policy",
            "alert_counts": {"all": 1, "triggered": int(status != "resolved"), "resolved": 0},
            "is_mergeable": True,
            "pending_actions": [],
            "incidents_responders": [],
            "responder_requests": [],
        }
        if priority:
            incident["priority"] = {
                **ref("priority", f"PRI{priority}", priority, "priorities"),
                "type": "priority",
                "name": priority,
            }
        # PagerDuty sends null here while unresolved, which its own schema forbids;
        # leaving the key out is what both the schema and a tolerant reader accept.
        if resolved_at:
            incident["resolved_at"] = resolved_at
        if conference_url:
            self.bridges[id_] = {
                "conference_url": conference_url,
                "conference_number": "+1 1234123412,,987654321#",
            }
        self.incidents[id_] = incident
        return incident

    def add_responder(
        self,
        incident_id: str,
        user_id: str,
        *,
        requester: str,
        requested_at: str,
        message: str = "Please help with this incident",
        state: Literal["pending", "joined", "declined", "user_cancelled"] = "joined",
        updated_at: str | None = None,
    ) -> Json:
        """A responder request on the incident (`incidents_responders`, as GET /incidents
        shows it: IncidentsRespondersReference)."""
        incident = self.incidents[incident_id]
        responder: Json = {
            "state": state,
            "user": self._user_ref(user_id),
            "incident": ref("incident", incident_id, incident["title"], "incidents"),
            "updated_at": updated_at or requested_at,
            "message": message,
            "requester": self._user_ref(requester),
            "requested_at": requested_at,
        }
        incident["incidents_responders"].append(responder)
        return responder

    def add_log_entry(
        self,
        incident_id: str,
        type_: str,
        *,
        created_at: str,
        agent: tuple[Literal["user", "service"], str] | None = None,
        channel: Mapping[str, Any] | None = None,
        summary: str | None = None,
        assignees: Sequence[str] = (),
        user: str | None = None,
        note: str | None = None,
    ) -> Json:
        """`type_` as PagerDuty spells it: trigger_log_entry, acknowledge_log_entry, ..."""
        incident = self.incidents[incident_id]
        entry_id = f"Q{next(self._ids):013d}"
        entry: Json = {
            "id": entry_id,
            "type": type_,
            "summary": summary or type_.removesuffix("_log_entry").replace("_", " ").capitalize(),
            "self": f"{API}/log_entries/{entry_id}?incident_id={incident_id}",
            "html_url": f"{WEB}/incidents/{incident_id}/log_entries/{entry_id}",
            "created_at": created_at,
            "channel": dict(channel or {"type": "web_trigger", "summary": "Website"}),
            "service": incident["service"],
            "incident": {**ref("incident", incident_id, incident["title"], "incidents")},
            "teams": incident["teams"],
            "contexts": [],
        }
        if agent is not None:
            kind, agent_id = agent
            entry["agent"] = (
                self._user_ref(agent_id)
                if kind == "user"
                else ref("service", agent_id, incident["service"]["summary"], "services")
            )
        if assignees:
            entry["assignees"] = [self._user_ref(user_id) for user_id in assignees]
        if user is not None:  # notify_log_entry: who was notified
            entry["user"] = self._user_ref(user)
        if note is not None:
            entry["note"] = note
        self.log_entries.setdefault(incident_id, []).append(entry)
        if type_ == "trigger_log_entry" and "first_trigger_log_entry" not in incident:
            incident["first_trigger_log_entry"] = {
                **ref("trigger_log_entry", entry_id, entry["summary"], "log_entries"),
                "self": entry["self"],
                "html_url": entry["html_url"],
            }
        return entry

    def add_oncall(
        self,
        escalation_policy_id: str,
        user_id: str,
        *,
        level: int = 1,
        schedule: tuple[str, str] | None = None,
        start: str | None = "2020-04-09T09:00:00Z",
        end: str | None = "2020-04-16T09:00:00Z",
    ) -> Json:
        oncall: Json = {
            "escalation_policy": ref(
                "escalation_policy", escalation_policy_id, "Policy", "escalation_policies"
            ),
            "escalation_level": level,
            "user": self._user_ref(user_id),
        }
        # PagerDuty sends null for a direct user target and a permanent on-call; the
        # schema does not allow null, so the fake omits them.
        if schedule:
            oncall["schedule"] = ref("schedule", *schedule, "schedules")
        if start:
            oncall["start"] = start
        if end:
            oncall["end"] = end
        self.oncalls.append(oncall)
        return oncall

    def _user_ref(self, user_id: str) -> Json:
        user = self.users.get(user_id)
        return ref("user", user_id, user["name"] if user else user_id, "users")

    # -- faults -------------------------------------------------------------------

    # `times=None` repeats until `faults.clear()`; `method`/`route` narrow the target,
    # e.g. route="/incidents/{id}/notes".

    def fail(
        self,
        status: int = 500,
        *,
        times: int | None = 1,
        method: str | None = None,
        route: str | None = None,
    ) -> None:
        self.faults.append(Fault("status", times, method, route, status=status))

    def rate_limit(
        self,
        retry_after: float | None = 7,
        *,
        times: int | None = 1,
        method: str | None = None,
        route: str | None = None,
    ) -> None:
        self.faults.append(Fault("rate_limit", times, method, route, 429, retry_after))

    # -- app ----------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[_middleware])
        app[STATE] = self
        add_routes(app, self)

        async def release_hanging(_: web.Application) -> None:
            self._released.set()

        app.on_shutdown.append(release_hanging)
        return app


STATE = web.AppKey("pagerduty_fake", FakePagerDuty)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE]
    exchange = await record_exchange(request)
    state.exchanges.append(exchange)
    state.calls[(request.method, request.path)] += 1
    if state.latency:
        await asyncio.sleep(state.latency)
    fault = state._take_fault(request.method, exchange.route)
    exchange.fault = fault.kind if fault else None
    response = await _answer(request, handler, state, fault)
    return finish_exchange(request, response, exchange)


async def _answer(
    request: web.Request, handler: Handler, state: FakePagerDuty, fault: Fault | None
) -> web.StreamResponse:
    if fault is not None and fault.kind == "hang":
        await state._released.wait()
        return json_response(503, error_body("Shutting down"))
    if fault is not None and fault.kind == "status":
        return json_response(fault.status, error_body("Internal Server Error", 2000))
    if fault is not None and fault.kind == "rate_limit":
        headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
        return json_response(429, error_body("Rate Limit Exceeded", 2020), headers)
    if request.headers.get("Authorization") != f"Token token={state.token}":
        return json_response(401, error_body("Authentication failed", 2006))
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return json_response(404, error_body("Not Found", 2100))
