"""Fault injection and request recording shared by every vendor fake.

Each fake keeps its own `Fault` type (vendors fail in their own words: a Google
`reason`, a Statuspage 420), but what a fault *is* — how many times it fires, which
requests it matches — and what a fake records of each request are the same for all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

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
