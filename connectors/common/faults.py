"""Fault injection and request recording shared by every vendor fake.

Each fake keeps its own `Fault` type (vendors fail in their own words: a Google
`reason`, a Statuspage 420), but what a fault *is* — how many times it fires, which
requests it matches — and what a fake records of each request are the same for all.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from aiohttp import web

FaultKind = Literal["status", "rate_limit", "hang", "drop_after_commit"]


class MatchingFault(Protocol):
    times: int | None  # None: every matching request until cleared

    def matches(self, method: str, route: str) -> bool: ...


F = TypeVar("F", bound=MatchingFault)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def take_fault(faults: list[F], method: str, route: str) -> F | None:
    """The first fault matching this request, counted down and dropped when spent."""
    for fault in faults:
        if fault.matches(method, route):
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    faults.remove(fault)
            return fault
    return None


@dataclass
class Exchange:
    """One request as received and what was answered (status None: nothing was)."""

    method: str
    path: str
    route: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: Any
    status: int | None = None
    response: Any = None
    fault: FaultKind | None = None


def parse_json(raw: bytes) -> Any:
    """A request body as a test wants to read it: JSON if it is JSON, else text."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


async def record_exchange(request: web.Request, *, strip_prefix: str = "") -> Exchange:
    """What a fake keeps of one request, keyed by its route template.

    `strip_prefix` writes paths the way the vendor's OpenAPI document does (e.g. without
    Statuspage's `/v1`), so contract tests can look the operation up directly.
    """
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else request.path
    return Exchange(
        method=request.method,
        path=request.path.removeprefix(strip_prefix),
        route=route.removeprefix(strip_prefix),
        query=list(request.query.items()),
        headers=dict(request.headers),
        body=parse_json(await request.read()),
    )


def finish_exchange(
    request: web.Request, response: web.StreamResponse, exchange: Exchange
) -> web.StreamResponse:
    """Record the answer, or, for "commit then drop", close the connection instead.

    The effect already happened; the caller never learns it. Writing the answer to
    the aborted transport then fails quietly inside aiohttp.
    """
    if exchange.fault == "drop_after_commit" and request.transport:
        request.transport.abort()
        return response
    exchange.status = response.status
    if isinstance(response, web.Response) and response.body is not None and response.text:
        exchange.response = json.loads(response.text)
    return response


@dataclass
class Fault:
    """A fault a fake injects into matching requests (`times` None: until cleared)."""

    kind: FaultKind
    times: int | None
    method: str | None = None
    route: str | None = None  # a route template, as the fake's routes name it
    status: int = 500
    retry_after: float | None = None

    def matches(self, method: str, route: str) -> bool:
        return self.method in (None, method) and self.route in (None, route)


class FaultInjection:
    """The fault calls every method/route-matching fake offers; `faults` is the fake's list."""

    faults: list[Fault]

    def hang(
        self, *, times: int | None = 1, method: str | None = None, route: str | None = None
    ) -> None:
        """Accept the request and never answer (until the fake shuts down)."""
        self.faults.append(Fault("hang", times, method, route))

    def drop_after_commit(
        self, *, times: int | None = 1, method: str | None = None, route: str | None = None
    ) -> None:
        """Carry out the request, then close the connection instead of answering."""
        self.faults.append(Fault("drop_after_commit", times, method, route))

    def _take_fault(self, method: str, route: str) -> Fault | None:
        return take_fault(self.faults, method, route)


# -- seeded random faults (the chaos run) ------------------------------------------------

RandomKind = Literal["status", "rate_limit", "hang", "drop_after_commit", "late"]
RANDOM_KINDS: tuple[RandomKind, ...] = ("status", "rate_limit", "hang", "drop_after_commit", "late")


class ScriptableFake(Protocol):
    """The scripted fault calls the HTTP fakes share (each answers in its vendor's words)."""

    def fail(self, status: int = ..., *, times: int | None = ...) -> None: ...
    def rate_limit(self, *, retry_after: float | None = ..., times: int | None = ...) -> None: ...
    def hang(self, *, times: int | None = ...) -> None: ...
    def drop_after_commit(self, *, times: int | None = ...) -> None: ...


@dataclass
class RandomFaults:
    """Seeded random faults: each request draws whether it fails, and how.

    Scripted faults hit "the next n matching requests"; a chaos run needs faults of
    every kind interleaved with everything else, and a failing run must be replayable:
    the sequence of draws is fixed by `seed` (which request meets which draw still
    depends on timing, as with a real vendor). `late` is the one kind no fake scripts:
    the request is carried out and answered after `late_seconds`, longer than the
    client waits, so the client sees a timeout for an effect that happened.
    """

    seed: int
    rate: float
    kinds: tuple[RandomKind, ...] = RANDOM_KINDS
    status: int = 503
    retry_after: tuple[float, float] = (0.5, 3.0)
    late_seconds: float = 5.0
    drawn: list[RandomKind] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)  # reproducible by design

    def draw(self) -> RandomKind | None:
        """This request's fault, or None; the same seed draws the same sequence."""
        if self._random.random() >= self.rate:
            return None
        kind = self._random.choice(self.kinds)
        self.drawn.append(kind)
        return kind

    def retry_after_seconds(self) -> float:
        low, high = self.retry_after
        return round(self._random.uniform(low, high), 1)


def with_random_faults(
    app: web.Application, fake: ScriptableFake, faults: RandomFaults
) -> web.Application:
    """Put `faults` in front of a fake's app (before it starts serving).

    A drawn fault becomes a one-off scripted fault on the fake, so it answers in the
    vendor's own words (Google's `reason`, Statuspage's 420, Slack's headers); `late`
    wraps the fake's answer instead.
    """

    @web.middleware
    async def random_fault(request: web.Request, handler: Handler) -> web.StreamResponse:
        kind = faults.draw()
        if kind == "status":
            fake.fail(faults.status, times=1)
        elif kind == "rate_limit":
            fake.rate_limit(retry_after=faults.retry_after_seconds(), times=1)
        elif kind == "hang":
            fake.hang(times=1)
        elif kind == "drop_after_commit":
            fake.drop_after_commit(times=1)
        response = await handler(request)
        if kind == "late":
            await asyncio.sleep(faults.late_seconds)
        return response

    app.middlewares.insert(0, random_fault)
    return app
