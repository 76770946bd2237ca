"""A Jira REST double (Cloud v3, and v2 for Data Center): an aiohttp app that behaves
like Jira for every call pmhub makes.

Served under `/rest/api/{2|3}/`: serverInfo, myself, field, issue create / bulk create
/ get / edit, JQL search (Cloud's `GET|POST /search/jql` with `nextPageToken`, DC's
`GET /search` with `startAt`), user search, transitions, issue entity properties.
Jira's rules that matter to pmhub are enforced with Jira's error shape
(`{"errorMessages": [...], "errors": {"field": "..."}}`): unknown project, issue
type, priority, assignee or parent; a label with a space; a v3 description that is
not an ADF document. It can be told to misbehave (latency, 5xx, 429 with
Retry-After, hanging, committing a write and then dropping the connection), and it
records every exchange so tests can count issues and check both directions against
Jira's OpenAPI document. Used by the tests and by `pmhub demo`.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web

from connectors.common.faults import (
    Exchange,
    Fault,
    FaultInjection,
    finish_exchange,
    record_exchange,
)
from connectors.common.ratelimits import RateLimits, retry_after
from connectors.jira.fake.api import SITE, Json, add_routes, error_response, user_json
from connectors.jira.fake.issues import WORKFLOW

Deployment = Literal["Cloud", "Server"]

# Route templates, for narrowing a fault to one endpoint.
API = "/rest/api/{version}"
ISSUE = f"{API}/issue"
BULK = f"{API}/issue/bulk"
ISSUE_ONE = f"{API}/issue/{{issueIdOrKey}}"
TRANSITIONS = f"{API}/issue/{{issueIdOrKey}}/transitions"
PROPERTY = f"{API}/issue/{{issueIdOrKey}}/properties/{{propertyKey}}"
SEARCH_JQL = f"{API}/search/jql"
USER_SEARCH = f"{API}/user/search"


@dataclass
class FakeJira(FaultInjection):
    """The fake's state: seed it, point a client at it, then read `issues`/`exchanges`."""

    email: str = "pmhub@example.com"
    api_token: str = "jira-test-token"  # noqa: S105 - the fake's own, not a credential
    pat: str = "jira-test-pat"
    deployment: Deployment = "Cloud"
    latency: float = 0.0
    limits: RateLimits | None = None  # Jira's burst limit, enforced when set (issue 16)
    max_page_size: int = 100
    projects: dict[str, Json] = field(default_factory=dict)
    users: list[Json] = field(default_factory=list)
    issues: dict[str, Json] = field(default_factory=dict)
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    exchanges: list[Exchange] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    # transition id -> (name, target status id); tests remove one to model a workflow
    # without a way to Done.
    workflow: dict[str, tuple[str, str]] = field(default_factory=lambda: dict(WORKFLOW))
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(10001))
    _released: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        if not self.projects:
            self.add_project("OPS", "Operations")
        if not self.users:
            self.add_user("5b10ac8d82e05b22cc7d4ef5", "pmhub bot", self.email, username="pmhub")

    # -- seeding ------------------------------------------------------------------

    def add_project(self, key: str, name: str, *, components: tuple[str, ...] = ()) -> Json:
        project_id = str(10000 + len(self.projects))
        project = {
            "id": project_id,
            "key": key,
            "name": name,
            "self": f"{SITE}/rest/api/3/project/{project_id}",
            "projectTypeKey": "software",
            "simplified": False,
            "avatarUrls": {},
            "counter": itertools.count(1),
            "components": [
                {"id": str(int(project_id) * 100 + n), "name": component}
                for n, component in enumerate(components, start=1)
            ],
        }
        self.projects[key] = project
        return project

    def add_user(
        self,
        account_id: str,
        name: str,
        email: str,
        *,
        active: bool = True,
        username: str | None = None,
    ) -> Json:
        user = {
            "accountId": account_id,
            "accountType": "atlassian",
            "displayName": name,
            "emailAddress": email,
            "active": active,
            "name": username or email.split("@", maxsplit=1)[0],
            "timeZone": "Europe/London",
        }
        self.users.append(user)
        return user

    def user_json(self, user: Json) -> Json:
        return user_json(user, cloud=self.deployment == "Cloud")

    def next_issue_id(self) -> str:
        return str(next(self._ids))

    # -- reading what happened ------------------------------------------------------

    def issue(self, key: str) -> Json:
        return self.issues[key]

    def issues_with_label(self, label: str) -> list[Json]:
        return [i for i in self.issues.values() if label in (i["fields"].get("labels") or ())]

    def count(self, method: str, route: str) -> int:
        return sum(1 for e in self.exchanges if e.method == method and e.route == route)

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
        times: int | None = 1,
        method: str | None = None,
        route: str | None = None,
    ) -> None:
        self.faults.append(Fault("rate_limit", times, method, route, 429, retry_after))

    def _authorized(self, header: str) -> bool:
        if self.deployment == "Cloud":
            basic = base64.b64encode(f"{self.email}:{self.api_token}".encode()).decode()
            return header == f"Basic {basic}"
        return header == f"Bearer {self.pat}"

    # -- app ----------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[_middleware])
        app[STATE] = self
        add_routes(app, self)

        async def release_hanging(_: web.Application) -> None:
            self._released.set()

        app.on_shutdown.append(release_hanging)
        return app


STATE = web.AppKey("jira_fake", FakeJira)
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
    scope = f"{request.method} {exchange.route}"  # Jira's burst limit: per method and endpoint
    over = None if state.limits is None else state.limits.check("burst", scope)
    if over is not None:
        refused = error_response(429, "Rate limit exceeded.", headers=retry_after(over))
        return finish_exchange(request, refused, exchange)
    response = await _answer(request, handler, state, fault)
    return finish_exchange(request, response, exchange)


async def _answer(
    request: web.Request, handler: Handler, state: FakeJira, fault: Fault | None
) -> web.StreamResponse:
    if fault is not None and fault.kind == "hang":
        await state._released.wait()
        return error_response(503, "Shutting down")
    if fault is not None and fault.kind == "status":
        return error_response(fault.status, "Internal server error")
    if fault is not None and fault.kind == "rate_limit":
        headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
        return error_response(429, "Rate limit exceeded.", headers=headers)
    if not state._authorized(request.headers.get("Authorization", "")):
        return error_response(
            401, "You are not authenticated. Authentication required to perform this operation."
        )
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return error_response(404, "Not found")
