"""PagerDuty's published REST rate limit, kept by the client rather than learnt from 429s.

PagerDuty allows each API key 960 requests a minute (its "REST API Rate Limits" page:
account keys, user keys and app tokens alike). A storm reads for hundreds of incidents
at once; a 429 costs a round trip and a job retry, so each request first takes a slot
in a sliding window: at most `limit` requests start in any `period` seconds.

Slots are reserved synchronously (no lock), so one window serves every event loop and
every client of the same key in the process: the limit is the key's, not a client's.
Replicas each keep their own window: N replicas may send up to N times the limit, and
PagerDuty's 429 (with its Retry-After, honoured by the job runner) remains the backstop.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import deque
from collections.abc import Awaitable, Callable

PUBLISHED_REQUESTS_PER_MINUTE = 960
PERIOD_SECONDS = 60.0


class RequestWindow:
    """At most `limit` request starts in any `period` seconds; `limit <= 0` means no limit."""

    def __init__(
        self,
        limit: int,
        period: float = PERIOD_SECONDS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._limit, self._period = limit, period
        self._clock, self._sleep = clock, sleep
        # The last `limit` starts, oldest first (some may lie in the future: reserved).
        self._starts: deque[float] = deque(maxlen=max(limit, 1))

    def reserve(self) -> float:
        """The time this request may start: now, or when the oldest of the last `limit`
        starts leaves the window."""
        now = self._clock()
        if self._limit <= 0:
            return now
        at = now
        if len(self._starts) == self._limit:
            at = max(now, self._starts[0] + self._period)
        self._starts.append(at)
        return at

    async def wait_turn(self) -> float:
        """Wait for a slot; returns the seconds waited."""
        pause = self.reserve() - self._clock()
        if pause > 0:
            await self._sleep(pause)
            return pause
        return 0.0


MAX_WINDOWS = 64  # keys per process: a handful in practice; bounded all the same
_WINDOWS: dict[tuple[str, str, int], RequestWindow] = {}


def window_for(base_url: str, token: str, limit: int) -> RequestWindow:
    """The process's window for one API key (by a digest: the token is not kept as a key)."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    key = (base_url, digest, limit)
    window = _WINDOWS.get(key)
    if window is None:
        if len(_WINDOWS) >= MAX_WINDOWS:
            del _WINDOWS[next(iter(_WINDOWS))]
        window = _WINDOWS[key] = RequestWindow(limit)
    return window
