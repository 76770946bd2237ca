"""Fault injection and request recording shared by every vendor fake.

Each fake keeps its own `Fault` type (vendors fail in their own words: a Google
`reason`, a Statuspage 420), but what a fault *is* — how many times it fires, which
requests it matches — and what a fake records of each request are the same for all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

from aiohttp import web

FaultKind = Literal["status", "rate_limit", "hang", "drop_after_commit"]


class MatchingFault(Protocol):
    times: int | None  # None: every matching request until cleared

    def matches(self, method: str, route: str) -> bool: ...


F = TypeVar("F", bound=MatchingFault)


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
