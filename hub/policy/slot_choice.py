"""Choosing the meeting slot from the policy's candidates and the invitees' free/busy.

Pure: the candidates come from `deadlines.candidate_slots` (inside working hours,
ending by the deadline), the busy periods from the calendar connector; nothing here
reads a clock or a calendar.

The rule (seed 004: the meeting must happen within the deadline, with the people
who were there):

1. the first candidate in which every *required* invitee is known to be free;
2. failing that, the least-conflicting candidate: the fewest busy required
   invitees, then the fewest busy optional ones (an optional invitee's conflict
   counts less than any required one's), the first of equals; together with who
   conflicts, so the owner can be told who cannot make it.

"First" is the earliest, or the latest with `prefer="latest"`: when the deadline
leaves no room after `meeting.not_before`, the meeting falls back as little as it
can, keeping as much writing and review time as the deadline allows.

An invitee whose calendar could not be read (None in `busy`, or absent) is
*unknown*: never counted as free, so no slot is "all free" while one is unknown,
and reported so the owner can check with them. Unknown invitees are the same in
every slot, so they do not change which slot wins; the busy ones do.

Intervals are half-open: a busy period ending at 10:00 does not conflict with a
slot starting at 10:00. Times are compared as instants, so slots and busy periods
may be in different zones; naive datetimes are refused.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, Literal, Protocol, TypeVar


class Interval(Protocol):
    """Anything with an aware start and end: `deadlines.Slot`, `hub.ports.BusyInterval`."""

    @property
    def start(self) -> datetime: ...

    @property
    def end(self) -> datetime: ...


SlotT = TypeVar("SlotT", bound=Interval)


@dataclass(frozen=True)
class SlotChoice(Generic[SlotT]):
    slot: SlotT
    conflicts: tuple[str, ...]  # required invitees busy during the slot
    unknown: tuple[str, ...]  # required invitees whose calendar could not be read
    optional_conflicts: tuple[str, ...] = ()  # optional invitees busy during the slot

    @property
    def all_free(self) -> bool:
        """Every required invitee is known to be free."""
        return not self.conflicts and not self.unknown


def choose_slot(
    candidates: Sequence[SlotT],
    busy: Mapping[str, Sequence[Interval] | None],
    required: Iterable[str],
    *,
    optional: Iterable[str] = (),
    deadline: datetime | None = None,
    prefer: Literal["earliest", "latest"] = "earliest",
) -> SlotChoice[SlotT] | None:
    """The slot to book, or None when there is no candidate (ending by `deadline`).

    `busy` is keyed by email; keys and invitees are matched case-insensitively.
    """
    slots = sorted(
        (slot for slot in candidates if deadline is None or _utc(slot.end) <= _utc(deadline)),
        key=lambda slot: _utc(slot.start),
        reverse=prefer == "latest",
    )
    if not slots:
        return None
    calendars = {email.casefold(): intervals for email, intervals in busy.items()}
    needed = _unique(required)
    wanted = [email for email in _unique(optional) if email.casefold() not in _folded(needed)]
    timelines = {
        email: _Timeline.of(calendars.get(email.casefold())) for email in [*needed, *wanted]
    }
    unknown = tuple(email for email in needed if timelines[email] is None)

    def busy_in(slot: SlotT, emails: Sequence[str]) -> tuple[str, ...]:
        start, end = _utc(slot.start), _utc(slot.end)
        return tuple(
            email
            for email in emails
            if (line := timelines[email]) is not None and line.overlaps(start, end)
        )

    best: tuple[tuple[int, int], SlotChoice[SlotT]] | None = None
    for slot in slots:
        conflicts, optional_busy = busy_in(slot, needed), busy_in(slot, wanted)
        if not conflicts:
            return SlotChoice(slot, (), unknown, optional_busy)
        score = (len(conflicts), len(optional_busy))
        # Strictly better only: of equals, the first in the order preferred wins.
        if best is None or score < best[0]:
            best = (score, SlotChoice(slot, conflicts, unknown, optional_busy))
    assert best is not None  # noqa: S101 - `slots` is not empty
    return best[1]


@dataclass(frozen=True, slots=True)
class _Timeline:
    """One calendar's busy periods, merged and sorted, for O(log n) overlap checks."""

    starts: tuple[datetime, ...]
    ends: tuple[datetime, ...]

    @classmethod
    def of(cls, intervals: Sequence[Interval] | None) -> _Timeline | None:
        if intervals is None:
            return None
        merged: list[list[datetime]] = []
        # Empty or inverted periods are no time at all: dropped rather than trusted.
        pairs = ((_utc(i.start), _utc(i.end)) for i in intervals)
        periods = sorted(pair for pair in pairs if pair[0] < pair[1])
        for start, end in periods:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        return cls(tuple(m[0] for m in merged), tuple(m[1] for m in merged))

    def overlaps(self, start: datetime, end: datetime) -> bool:
        # The last period starting before the slot ends; merged periods also end in
        # order, so if that one ended by the slot's start, every earlier one did too.
        index = bisect_left(self.starts, end) - 1
        return index >= 0 and self.ends[index] > start


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: slots need a time zone")
    return moment.astimezone(UTC)


def _unique(emails: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    unique = []
    for email in emails:
        if email.casefold() not in seen:
            seen.add(email.casefold())
            unique.append(email)
    return unique


def _folded(emails: Iterable[str]) -> set[str]:
    return {email.casefold() for email in emails}
