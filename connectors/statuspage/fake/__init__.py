"""An Atlassian Statuspage REST v1 double: the calls pmhub makes, served from state.

Under `/v1` like the real host, so `base_url=f"{url}/v1/"` is spelled as in production.
It keeps pages' components, incidents with their incident updates, and post-mortems;
answers `Authorization: OAuth <key>` or 401 `{"error": "Could not authenticate"}`;
errors as the live API words them (`{"error": "..."}`, validation errors as a list);
and enforces the limit of one request per `min_interval` per key with 420 (or 429)
and Retry-After. Behaviour that matters for exactly-once is modelled: a PATCH
carrying `body` appends an incident update, as Statuspage does, so a blind repeat
shows up as a duplicate. Injectable faults: latency, 5xx, 420/429, hanging, and
committing a write then dropping the connection unanswered. Every exchange is
recorded for contract and exactly-once assertions. Used by the tests and `pmhub demo`.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import math
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from aiohttp import web

from connectors.common.faults import (
    Exchange,
    Fault,
    FaultInjection,
    finish_exchange,
    record_exchange,
)
from connectors.statuspage.fake.api import Json, add_routes, error, problems

API_PREFIX = "/v1"
# Fields the live API sends as null while unset, and flags it sends as false.
INCIDENT_NULLS = (
    "monitoring_at",
    "resolved_at",
    "postmortem_body",
    "postmortem_body_last_updated_at",
    "postmortem_published_at",
    "scheduled_for",
    "scheduled_until",
    "scheduled_reminded_at",
    "reminder_intervals",
)
INCIDENT_FLAGS = (
    "postmortem_ignored",
    "postmortem_notified_subscribers",
    "postmortem_notified_twitter",
    "scheduled_remind_prior",
    "scheduled_auto_in_progress",
    "scheduled_auto_completed",
)
UPDATE_NULLS = ("affected_components", "custom_tweet", "tweet_id", "twitter_updated_at")
POSTMORTEM_NULLS = ("body", "body_updated_at", "published_at", "custom_tweet")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class FakeStatuspage(FaultInjection):
    """The fake's state: seed it, point a client at it, then read `incidents`/`exchanges`."""

    api_key: str = "sp-test-key"
    page_id: str = "gytm4qzbx9t6"
    min_interval: float = 1.0  # per key; 0 turns the rate limit off
    rate_limit_status: Literal[420, 429] = 420
    latency: float = 0.0
    components: dict[str, Json] = field(default_factory=dict)
    incidents: dict[str, Json] = field(default_factory=dict)  # insertion order = creation order
    postmortems: dict[str, Json] = field(default_factory=dict)
    exchanges: list[Exchange] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _last_request: dict[str, float] = field(default_factory=dict)
    _released: asyncio.Event = field(default_factory=asyncio.Event)

    # -- seeding and state --------------------------------------------------------

    def new_id(self) -> str:
        """A 12-character lowercase id like Statuspage's ('p31zjtct2jer')."""
        n, digits = next(self._ids) * 7919 + 36**11, []
        while n:
            n, digit = divmod(n, 36)
            digits.append("0123456789abcdefghijklmnopqrstuvwxyz"[digit])
        return "".join(reversed(digits))

    def add_component(self, name: str, *, id_: str | None = None) -> Json:
        id_ = id_ or self.new_id()
        at = _now()
        component = {
            "id": id_,
            "page_id": self.page_id,
            "created_at": at,
            "updated_at": at,
            "group": False,
            "name": name,
            "position": len(self.components) + 1,
            "status": "operational",
            "showcase": True,
            "only_show_if_degraded": False,
        }
        self.components[id_] = component
        return component

    def add_incident(
        self, name: str, *, status: str = "investigating", body: str = "", **extra: Any
    ) -> Json:
        """An incident as if someone had created it (e.g. operators during the outage)."""
        wrong = problems({"name": name, "status": status, **extra}, self.components, create=True)
        if wrong:
            raise ValueError("; ".join(wrong))
        return self.create_incident({"name": name, "status": status, "body": body, **extra})

    def create_incident(self, fields: Mapping[str, Any]) -> Json:
        id_, at = self.new_id(), _now()
        incident: Json = {
            "id": id_,
            "page_id": self.page_id,
            "name": fields["name"],
            "status": "investigating",
            "impact": "none",
            "components": [],
            "incident_updates": [],
            "incident_impacts": [],
            "metadata": {},
            "created_at": at,
            "updated_at": at,
            "shortlink": f"http://stspg.io/{id_[:9]}",
            **dict.fromkeys(INCIDENT_NULLS),
            **dict.fromkeys(INCIDENT_FLAGS, False),
            "impact_override": fields.get("impact_override"),
        }
        self.incidents[id_] = incident
        self.update_incident(incident, {"status": "investigating", **fields}, first=True)
        return incident

    def update_incident(
        self, incident: Json, fields: Mapping[str, Any], *, first: bool = False
    ) -> None:
        at = _now()
        status = fields.get("status", incident["status"])
        for key in ("name", "metadata"):
            if key in fields:
                incident[key] = copy.deepcopy(fields[key])
        if "component_ids" in fields:
            incident["components"] = [
                copy.deepcopy(self.components[c]) for c in fields["component_ids"]
            ]
        if status == "monitoring" and incident["monitoring_at"] is None:
            incident["monitoring_at"] = at
        incident["resolved_at"] = at if status == "resolved" else None
        # Like Statuspage: a body, a new status, or the first write makes an incident update.
        if first or "body" in fields or status != incident["status"]:
            incident["incident_updates"].insert(0, self._update(incident, status, fields, at))
        incident["status"] = status
        incident["updated_at"] = at

    def _update(self, incident: Json, status: str, fields: Mapping[str, Any], at: str) -> Json:
        return {
            "id": self.new_id(),
            "incident_id": incident["id"],
            "status": status,
            "body": fields.get("body") or "",
            "affected_components": None,
            "created_at": at,
            "updated_at": at,
            "display_at": at,
            "deliver_notifications": fields.get("deliver_notifications", True),
            "wants_twitter_update": False,
            **dict.fromkeys(UPDATE_NULLS),
        }

    def save_postmortem(self, incident: Json, body_draft: str) -> Json:
        at = _now()
        postmortem = self.postmortems.setdefault(
            incident["id"],
            {
                "preview_key": self.new_id(),
                "notify_subscribers": False,
                "notify_twitter": False,
                "created_at": at,
                **dict.fromkeys(POSTMORTEM_NULLS),
            },
        )
        postmortem.update(body_draft=body_draft, body_draft_updated_at=at, updated_at=at)
        return copy.deepcopy(postmortem)

    def publish_postmortem(
        self, incident: Json, *, notify_subscribers: bool, notify_twitter: bool
    ) -> Json:
        """The draft becomes the published post-mortem, shown on the incident."""
        at, postmortem = _now(), self.postmortems[incident["id"]]
        postmortem.update(
            body=postmortem["body_draft"],
            body_updated_at=at,
            published_at=at,
            notify_subscribers=notify_subscribers,
            notify_twitter=notify_twitter,
            updated_at=at,
        )
        incident.update(
            postmortem_body=postmortem["body"],
            postmortem_body_last_updated_at=at,
            postmortem_published_at=at,
            postmortem_notified_subscribers=notify_subscribers,
            updated_at=at,
        )
        return copy.deepcopy(postmortem)

    def search(self, query: str | None) -> list[Json]:
        """Newest first; `q` matches name, status, post-mortem body and update bodies."""
        newest_first = list(reversed(self.incidents.values()))
        if not query:
            return newest_first
        needle = query.lower()

        def haystack(incident: Json) -> str:
            texts = [incident["name"], incident["status"], incident["postmortem_body"] or ""]
            return "\n".join(texts + [u["body"] for u in incident["incident_updates"]]).lower()

        return [i for i in newest_first if needle in haystack(i)]

    # -- faults -------------------------------------------------------------------

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
        status: Literal[420, 429] = 420,
        times: int | None = 1,
    ) -> None:
        self.faults.append(Fault("rate_limit", times, status=status, retry_after=retry_after))

    def _too_soon(self, key: str) -> float | None:
        """Seconds until `key` may call again, or None (and the call is counted)."""
        now = time.monotonic()
        last = self._last_request.get(key)
        if last is not None and now - last < self.min_interval:
            return self.min_interval - (now - last)
        self._last_request[key] = now
        return None

    # -- app ----------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[_middleware])
        app[STATE] = self
        add_routes(app, self, API_PREFIX)

        async def release_hanging(_: web.Application) -> None:
            self._released.set()

        app.on_shutdown.append(release_hanging)
        return app


STATE = web.AppKey("statuspage_fake", FakeStatuspage)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE]
    exchange = await record_exchange(request, strip_prefix=API_PREFIX)
    state.exchanges.append(exchange)
    if state.latency:
        await asyncio.sleep(state.latency)
    response, fault = await _answer(request, handler, state, exchange.route)
    exchange.fault = fault.kind if fault else None
    return finish_exchange(request, response, exchange)


async def _answer(
    request: web.Request, handler: Handler, state: FakeStatuspage, route: str
) -> tuple[web.StreamResponse, Fault | None]:
    if request.headers.get("Authorization") != f"OAuth {state.api_key}":
        return error(401, "Could not authenticate"), None
    if state.min_interval > 0:
        wait = state._too_soon(state.api_key)
        if wait is not None:
            retry_after = {"Retry-After": str(max(1, math.ceil(wait)))}
            return error(state.rate_limit_status, "Rate limit exceeded", retry_after), None
    fault = state._take_fault(request.method, route)
    if fault is not None and fault.kind != "drop_after_commit":
        return await _faulty(fault, state), fault
    try:
        return await handler(request), fault
    except web.HTTPNotFound:
        return error(404, "The requested resource could not be found."), fault
    except web.HTTPBadRequest:
        return error(400, "Bad request"), fault


async def _faulty(fault: Fault, state: FakeStatuspage) -> web.Response:
    if fault.kind == "hang":
        await state._released.wait()
        return error(503, "Service Unavailable")
    if fault.kind == "rate_limit":
        headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
        return error(fault.status, "Rate limit exceeded", headers)
    return error(fault.status, "Internal Server Error")
