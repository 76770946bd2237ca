"""A GitHub REST double: one repository with branches, files, commits and pull requests.

It answers the calls pmhub makes through githubkit (git refs, contents, pulls,
commits, and the installation-token exchange of a GitHub App) with GitHub's shapes
and failures: `token`/`Bearer` auth, 404 `Not Found`, 409 when a file's sha is stale,
422 for a reference, file or pull request that already exists, rate limits as 403
with `x-ratelimit-remaining: 0` or 429 with `retry-after`. Faults: a status, a rate
limit, hanging, committing then dropping the connection (`FaultInjection`). Every
exchange is recorded for the contract tests. `commit_as` plays a person editing the
file on GitHub. Used by the tests and, later, by `pmhub demo`.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from connectors.common.faults import (
    Exchange,
    Fault,
    FaultInjection,
    finish_exchange,
    record_exchange,
)
from connectors.github.fake.objects import Json, blob_sha, error, simple_user

OWNER_ID, BOT_ID, APP_BOT_ID = 1001, 2002, 3003


@dataclass
class Commit:
    sha: str
    tree: dict[str, str]  # path -> blob sha
    parents: tuple[str, ...]
    message: str
    author: Json  # a simple user
    date: str


@dataclass
class FakeGitHub(FaultInjection):
    """Seed it (or not: a `main` with a README exists), point a client's base_url at it."""

    owner: str = "PostHog"
    repo: str = "incidents-analysis"
    default_branch: str = "main"
    token: str = "ghp_fake_token"  # noqa: S105 - the fake's own
    bot_login: str = "pmhub-bot"
    app_id: int | None = None
    app_public_key: str | None = None  # PEM; App auth is refused without it
    installation_id: int = 42
    latency: float = 0.0
    branches: dict[str, str] = field(default_factory=dict)  # name -> commit sha
    commits: dict[str, Commit] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    pulls: list[Json] = field(default_factory=list)
    installation_tokens: set[str] = field(default_factory=set)
    pending_edits: list[tuple[str, str, str, str]] = field(default_factory=list)
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    exchanges: list[Exchange] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _released: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        if self.default_branch not in self.branches:
            readme = f"# {self.repo}\n".encode()
            self.commit(self.default_branch, {"README.md": readme}, "Initial commit", None)

    # -- the repository ---------------------------------------------------------

    def user(self, login: str) -> Json:
        if login == self.owner:
            return simple_user(login, OWNER_ID, "Organization")
        if login.endswith("[bot]"):
            return simple_user(login, APP_BOT_ID, "Bot")
        return simple_user(login, BOT_ID if login == self.bot_login else 5000 + len(login))

    def commit(
        self,
        branch: str,
        files: dict[str, bytes],
        message: str,
        author: str | None,
        *,
        parent: str | None = None,
    ) -> Commit:
        """A commit on `branch` (created from `parent` if new) changing `files`."""
        base = parent or self.branches.get(branch)
        tree = dict(self.commits[base].tree) if base else {}
        for path, content in files.items():
            sha = blob_sha(content)
            self.blobs[sha] = content
            tree[path] = sha
        number = next(self._ids)
        made = Commit(
            sha=f"{number:040x}",
            tree=tree,
            parents=(base,) if base else (),
            message=message,
            author=self.user(author or self.owner),
            date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_795_000_000 + number * 60)),
        )
        self.commits[made.sha] = made
        self.branches[branch] = made.sha
        return made

    def commit_as(self, login: str, branch: str, path: str, text: str) -> Commit:
        """A person edits the file in GitHub's editor."""
        return self.commit(branch, {path: text.encode()}, f"Update {path}", login)

    def edit_before_next_write(self, login: str, branch: str, path: str, text: str) -> None:
        """A person saves the file just before pmhub's next write lands (a race)."""
        self.pending_edits.append((login, branch, path, text))

    def file(self, branch: str, path: str) -> str | None:
        head = self.branches.get(branch)
        sha = self.commits[head].tree.get(path) if head else None
        return self.blobs[sha].decode() if sha else None

    def history(self, branch: str, path: str) -> list[Commit]:
        """Commits reachable from `branch` that changed `path`, newest first."""
        found: list[Commit] = []
        sha: str | None = self.branches.get(branch)
        while sha:
            commit = self.commits[sha]
            parent = self.commits[commit.parents[0]] if commit.parents else None
            if commit.tree.get(path) != (parent.tree.get(path) if parent else None):
                found.append(commit)
            sha = parent.sha if parent else None
        return found

    def open_pulls(self) -> list[Json]:
        return [p for p in self.pulls if p["state"] == "open"]

    def next_id(self) -> int:
        return next(self._ids)

    # -- faults -----------------------------------------------------------------

    def fail(
        self,
        status: int = 502,
        *,
        times: int | None = 1,
        method: str | None = None,
        route: str | None = None,
    ) -> None:
        self.faults.append(Fault("status", times, method, route, status=status))

    def rate_limit(
        self,
        status: int = 403,
        *,
        retry_after: float | None = None,
        times: int | None = 1,
        method: str | None = None,
        route: str | None = None,
    ) -> None:
        """403 with `x-ratelimit-remaining: 0` (primary), or with `retry-after` (secondary)."""
        self.faults.append(Fault("rate_limit", times, method, route, status, retry_after))

    # -- app --------------------------------------------------------------------

    def make_app(self) -> web.Application:
        from connectors.github.fake.api import add_routes  # noqa: PLC0415 - a cycle otherwise

        app = web.Application(middlewares=[_middleware])
        app[STATE] = self
        add_routes(app)

        async def release_hanging(_: web.Application) -> None:
            self._released.set()

        app.on_shutdown.append(release_hanging)
        return app


STATE = web.AppKey("github_fake", FakeGitHub)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
INSTALLATION_ROUTE = "/app/installations/{installation_id}/access_tokens"


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, status=status, headers=headers)


def _authorized(state: FakeGitHub, request: web.Request, route: str) -> bool:
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    if route == INSTALLATION_ROUTE:
        return scheme.lower() == "bearer"  # the JWT itself is checked by the handler
    if scheme.lower() not in ("token", "bearer"):
        return False
    return credential == state.token or credential in state.installation_tokens


@web.middleware
async def _middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE]
    exchange = await record_exchange(request)
    state.exchanges.append(exchange)
    state.calls[(request.method, exchange.route)] += 1
    if state.latency:
        await asyncio.sleep(state.latency)
    fault = state._take_fault(request.method, exchange.route)
    exchange.fault = fault.kind if fault else None
    response = await _answer(request, handler, state, fault, exchange.route)
    return finish_exchange(request, response, exchange)


async def _answer(
    request: web.Request,
    handler: Handler,
    state: FakeGitHub,
    fault: Fault | None,
    route: str,
) -> web.StreamResponse:
    if fault is not None and fault.kind == "hang":
        await state._released.wait()
        return json_response(503, error("Service Unavailable", 503))
    if fault is not None and fault.kind == "status":
        return json_response(fault.status, error("Server Error", fault.status))
    if fault is not None and fault.kind == "rate_limit":
        return _rate_limited(fault)
    if not _authorized(state, request, route):
        return json_response(401, error("Bad credentials", 401))
    if request.match_info.http_exception is not None:
        return json_response(404, error("Not Found", 404))
    return await handler(request)


def _rate_limited(fault: Fault) -> web.Response:
    if fault.retry_after is not None:
        # A secondary rate limit: GitHub says how long to wait.
        headers = {"retry-after": f"{fault.retry_after:.0f}"}
        body = error("You have exceeded a secondary rate limit.", fault.status)
    else:
        reset = int(time.time()) + 60
        headers = {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-used": "5000",
            "x-ratelimit-reset": str(reset),
            "x-ratelimit-resource": "core",
        }
        body = error("API rate limit exceeded for installation.", fault.status)
    return json_response(fault.status, body, headers)
