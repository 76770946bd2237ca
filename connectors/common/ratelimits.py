"""Vendors' published rate limits, enforced by the fakes when a benchmark or test asks.

Off by default (a fake's `limits` is None): most tests want a fake that answers at
once. Turned on, a fake refuses a request over its vendor's limit the way the vendor
does (429 with Retry-After) and counts the refusal, so a run can show how often pmhub
ran into a limit instead of pacing itself below it.

A `Limit` is a sliding window: at most `count` requests in any `per_seconds`. Limits
are named by scope (a Slack method, a Jira method and route) and kept per key within
the scope (a channel, a tenant): `check(scope, key)` admits and records the request,
or answers the seconds until it would be admitted.
"""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Limit:
    count: int
    per_seconds: float


@dataclass
class RateLimits:
    limits: dict[str, Limit]  # scope -> limit; a scope absent here is not limited
    clock: Callable[[], float] = time.monotonic
    refused: Counter[str] = field(default_factory=Counter)  # scope -> 429s given
    _admitted: dict[tuple[str, str], deque[float]] = field(default_factory=dict)

    def check(self, scope: str, key: str = "") -> float | None:
        """None (admitted, counted in its window), or the seconds to wait (refused)."""
        limit = self.limits.get(scope)
        if limit is None:
            return None
        now = self.clock()
        window = self._admitted.setdefault((scope, key), deque())
        while window and now - window[0] >= limit.per_seconds:
            window.popleft()
        if len(window) >= limit.count:
            self.refused[scope] += 1
            return limit.per_seconds - (now - window[0])
        window.append(now)
        return None

    @property
    def total_refused(self) -> int:
        return sum(self.refused.values())


def retry_after(wait: float) -> dict[str, str]:
    """The Retry-After header for a wait (whole seconds, at least one, as vendors send)."""
    return {"Retry-After": str(max(1, math.ceil(wait)))}


# Slack's Web API tiers, per method per workspace (docs.slack.dev "Rate limits"; each
# method's tier is in /work/shared/specs/slack_method_docs: `rate_limits`). Tier 3 is
# 50+ a minute, tier 4 100+. chat.postMessage is the special tier: one message a second
# per channel, which FakeSlack enforces itself (`min_post_interval`).
SLACK_TIER_3, SLACK_TIER_4 = Limit(50, 60.0), Limit(100, 60.0)
SLACK_METHOD_TIERS = {
    "chat.update": SLACK_TIER_3,
    "chat.scheduleMessage": SLACK_TIER_3,
    "conversations.open": SLACK_TIER_3,
    "users.lookupByEmail": SLACK_TIER_3,
    "chat.postEphemeral": SLACK_TIER_4,
    "views.open": SLACK_TIER_4,
}
# Jira Cloud's burst limit is per tenant, per endpoint, per HTTP method, per second
# (developer.atlassian.com, "Rate limiting": RateLimit-Reason jira-burst-based). The
# figure is not published as one number; 10 a second is the conservative one the
# Atlassian rate-limit summaries give for one app and user on one tenant.
JIRA_BURST = Limit(10, 1.0)


def slack_limits() -> RateLimits:
    return RateLimits(dict(SLACK_METHOD_TIERS))


def jira_limits() -> RateLimits:
    """One scope for every (method, route): the key names which."""
    return RateLimits({"burst": JIRA_BURST})
