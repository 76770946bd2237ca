"""What `pmhub doctor` hears back from each connector's `diagnose`: one finding per check.

A finding is a sentence for a person setting pmhub up: what was checked and, when it
failed, what to change. Connectors make them; `hub/cli/doctor.py` prints them, one line
each, and exits non-zero when any failed.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from hub.errors import AuthFailed, ConnectorError, RateLimited, Transient

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Finding:
    ok: bool
    text: str  # "auth.test as @pmhub (team T123)", or the problem and what to change


def ok(text: str) -> Finding:
    return Finding(True, text)


def fail(text: str) -> Finding:
    return Finding(False, text)


class CheckFailed(Exception):
    """A check could not go on: `finding` says why (raised by `attempt`)."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.text)
        self.finding = finding


async def attempt(call: Awaitable[T], what: str, *, auth_hint: str) -> T:
    """`call`'s answer, or CheckFailed with a finding that says what to change.

    A refused credential gets `auth_hint` (where to find the right one); no answer or a
    vendor outage says so, since nothing in pmhub.yaml would fix it; anything else is
    the vendor's own message.
    """
    try:
        return await call
    except AuthFailed as exc:
        raise CheckFailed(fail(f"{what}: credentials refused ({exc}) — {auth_hint}")) from None
    except RateLimited as exc:
        raise CheckFailed(fail(f"{what}: rate limited ({exc}) — run doctor again later")) from None
    except Transient as exc:
        raise CheckFailed(
            fail(f"{what}: no usable answer ({exc}) — check the URL and the network path")
        ) from None
    except ConnectorError as exc:
        raise CheckFailed(fail(f"{what}: {exc}")) from None
