"""Durations as people write them in a policy: `24h`, `30m`, `3 calendar days`, `5 business days`.

Three kinds, because they move a clock differently (see `hub.policy.deadlines`):

* `Elapsed` - `30m`, `24h`, `90 minutes`: real elapsed time. `24h` across a DST
  change is 24 hours of real time, so the wall clock shows 23:00 or 01:00.
* `CalendarDays` - `3 calendar days`, `2d`, `1 week`, `3 days`: the same local
  wall-clock time N days later in the policy's time zone.
* `BusinessDays` - `5 business days`, `1 business day`: N working days, skipping
  weekends and holidays of the policy calendar.

A plain "day" is a calendar day: that is what people mean by "within 3 days".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

ALLOWED_FORMS = (
    "30m, 24h, 90s, 2d, 1w, '30 minutes', '24 hours', '3 calendar days', '3 days', "
    "'5 business days', '1 week'"
)

_SHORT = re.compile(r"^(\d+)\s*([smhdw])$")
_LONG = re.compile(r"^(\d+)\s+(calendar\s+|business\s+|working\s+)?([a-z]+)$")

_ELAPSED_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
}
_DAY_UNITS = {"d": 1, "day": 1, "w": 7, "week": 7}


@dataclass(frozen=True, slots=True)
class Elapsed:
    delta: timedelta

    def __str__(self) -> str:
        seconds = int(self.delta.total_seconds())
        for unit, size in (("h", 3600), ("m", 60)):
            if seconds % size == 0:
                return f"{seconds // size}{unit}"
        return f"{seconds}s"


@dataclass(frozen=True, slots=True)
class CalendarDays:
    days: int

    def __str__(self) -> str:
        return f"{self.days} calendar day{'s' if self.days != 1 else ''}"


@dataclass(frozen=True, slots=True)
class BusinessDays:
    days: int

    def __str__(self) -> str:
        return f"{self.days} business day{'s' if self.days != 1 else ''}"


Duration = Elapsed | CalendarDays | BusinessDays


class DurationError(ValueError):
    pass


def parse_duration(text: object) -> Duration:
    """Parse one duration; raises `DurationError` naming the accepted forms."""
    if isinstance(text, Elapsed | CalendarDays | BusinessDays):
        return text
    if not isinstance(text, str):
        raise DurationError(f"a duration must be text like '24h', not {text!r}")
    cleaned = " ".join(text.strip().lower().split())
    short = _SHORT.match(cleaned)
    if short:
        return _build(int(short.group(1)), "", short.group(2), text)
    long = _LONG.match(cleaned)
    if long:
        word = long.group(3)
        unit = word[:-1] if len(word) > 1 and word.endswith("s") else word  # plurals
        return _build(int(long.group(1)), (long.group(2) or "").strip(), unit, text)
    raise DurationError(f"not a duration: {text!r} (allowed: {ALLOWED_FORMS})")


def _build(amount: int, qualifier: str, unit: str, text: str) -> Duration:
    if unit not in _DAY_UNITS and unit not in _ELAPSED_UNITS:
        raise DurationError(f"unknown unit in {text!r} (allowed: {ALLOWED_FORMS})")
    if qualifier in ("business", "working"):
        if unit != "day":
            raise DurationError(f"only days can be business days: {text!r}")
        return BusinessDays(amount)
    if unit in _DAY_UNITS:
        return CalendarDays(amount * _DAY_UNITS[unit])
    if qualifier == "calendar":
        raise DurationError(f"only days can be calendar days: {text!r}")
    return Elapsed(timedelta(seconds=amount * _ELAPSED_UNITS[unit]))
