"""Retry delays: exponential backoff with full jitter, honouring Retry-After.

Full jitter (a uniform draw in [0, base·2^(n-1)], capped) spreads retries of
many jobs that failed together, e.g. when a vendor had an outage, so they do not
return as a synchronised wave. A vendor's Retry-After is a floor, and it is
honoured even above the cap: retrying earlier would only be refused again.
"""

from __future__ import annotations

import math
import random


def next_retry_delay(
    attempt: int,
    *,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number `attempt` (1 = after the first failure)."""
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    if base < 0 or cap < 0:
        raise ValueError(f"base and cap must be >= 0, got base={base} cap={cap}")
    # Bound the exponent so huge attempt numbers cannot overflow a float.
    exponent = min(attempt - 1, 62)
    ceiling = min(cap, base * math.pow(2, exponent))
    delay = (rng or random).uniform(0, ceiling)
    if retry_after is not None and retry_after > delay:
        return float(retry_after)
    return delay
