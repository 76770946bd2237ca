"""When the post-mortem meeting may be: after the writing and the review, by the deadline.

Seed 004 wants the post-mortem written first and shared for review "about 24 hours
before the meeting"; seed 001 holds the analysis 24-48 hours after the incident. A
meeting booked an hour after resolution defeats both. So the slot search starts at
`meeting.not_before`, counted from the meeting's anchor; unset, that is one business
day of writing (`WRITING_TIME`) plus `review.share_before_meeting`.

Three outcomes, each pure (the booking job applies the same rule to the time it runs):

* **room**: working slots between `not_before` and the deadline, earliest first;
* **fallback**: the deadline leaves no working slot after `not_before`: the slots
  between the earliest allowed start (the anchor; for the booking job also now plus
  the calendar's minimum notice) and the deadline, *latest* first, so the meeting
  moves as little as it must and keeps as much writing time as the deadline allows.
  The owner is told it is earlier than the review needs, and why;
* **none**: no working time at all before the deadline (a SEV-1 resolved on a Friday
  evening before a Monday holiday). Nothing is booked: the owner and the incident
  commander are asked to pick a time, and pmhub proposes the first working slot
  after the deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from hub.policy.calendar import WorkCalendar, instant
from hub.policy.deadlines import Slot, candidate_slots, shift
from hub.policy.durations import BusinessDays
from hub.policy.schema import MeetingSpec, ReviewSpec

# How long the owner needs to write the post-mortem before it is shared for review,
# when the policy does not say (`meeting.not_before`). Seed 001's "24-48 hours after"
# and seed 004's "share it about 24 hours before" meet at one working day each.
WRITING_TIME = BusinessDays(1)
# Far enough to find a working slot after any deadline (a long holiday season);
# `WorkCalendar` itself refuses a calendar without a working day in two years.
PROPOSAL_HORIZON = timedelta(days=62)

Preference = Literal["earliest", "latest"]


def not_before(
    calendar: WorkCalendar, anchor: datetime, spec: MeetingSpec, review: ReviewSpec | None
) -> datetime:
    """The earliest start the writing and review time allow (see the module docstring)."""
    if spec.not_before is not None:
        return shift(calendar, anchor, spec.not_before)
    written = shift(calendar, anchor, WRITING_TIME)
    share = review.share_before_meeting if review else None  # None: no review request
    return shift(calendar, written, share) if share is not None else written


@dataclass(frozen=True)
class Candidates:
    """The slots to try, in the order to try them."""

    slots: tuple[Slot, ...]
    prefer: Preference
    early: bool  # earlier than `not_before`: the deadline left no room after it

    @property
    def first(self) -> Slot | None:
        if not self.slots:
            return None
        return self.slots[0] if self.prefer == "earliest" else self.slots[-1]


def meeting_candidates(
    earliest: datetime,
    preferred_start: datetime,
    deadline: datetime,
    duration: timedelta,
    calendar: WorkCalendar,
) -> Candidates:
    """The slots the meeting may take: after `preferred_start` if the deadline allows any,
    else the latest ones from `earliest` on (empty: no working time before the deadline).

    The slots are in time order; `prefer` says which end to try first.
    """
    start = max(earliest, preferred_start, key=instant)
    preferred = candidate_slots(start, deadline, duration, calendar)
    if preferred:
        return Candidates(preferred, "earliest", early=False)
    fallback = candidate_slots(earliest, deadline, duration, calendar)
    return Candidates(fallback, "latest", early=bool(fallback))


def proposed_slot(after: datetime, duration: timedelta, calendar: WorkCalendar) -> Slot:
    """The first working slot starting at or after `after`: what pmhub proposes when it
    cannot book before the deadline."""
    found = candidate_slots(after, after + PROPOSAL_HORIZON, duration, calendar, limit=1)
    if found:
        return found[0]
    # Only a calendar with its working hours shorter than the meeting gets here.
    opens = calendar.opens(calendar.next_working_day(calendar.local(after).date()))
    return Slot(opens, (instant(opens) + duration).astimezone(calendar.tz))
