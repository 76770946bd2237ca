"""Choosing the meeting slot: earliest all-free, else fewest busy; unknown is never free."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.policy.calendar import WorkCalendar
from hub.policy.deadlines import Slot, candidate_slots
from hub.policy.slot_choice import Interval, choose_slot

NY = ZoneInfo("America/New_York")
A, B, C = "a@example.com", "b@example.com", "c@example.com"


@dataclass(frozen=True)
class Busy:
    start: datetime
    end: datetime


def at(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=NY)


def slot(hour: int, minute: int = 0, day: int = 2) -> Slot:
    return Slot(at(hour, minute, day), at(hour, minute, day) + timedelta(minutes=30))


SLOTS = [slot(9), slot(9, 30), slot(10), slot(10, 30), slot(11)]


def busy(*periods: tuple[datetime, datetime]) -> list[Interval]:
    return [Busy(start, end) for start, end in periods]


Calendars = Mapping[str, Sequence[Interval] | None]


@pytest.mark.parametrize(
    ("calendars", "required", "chosen", "conflicts", "unknown"),
    [
        pytest.param({A: [], B: []}, [A, B], slot(9), (), (), id="all free: the first"),
        pytest.param(
            {A: busy((at(9), at(10))), B: []}, [A, B], slot(10), (), (), id="skips busy slots"
        ),
        pytest.param(
            {A: busy((at(9), at(9, 30))), B: busy((at(9, 30), at(10)))},
            [A, B],
            slot(10),
            (),
            (),
            id="touching periods do not conflict",
        ),
        pytest.param(
            {A: busy((at(8), at(12))), B: busy((at(9), at(10))), C: []},
            [A, B, C],
            slot(10),
            (A,),
            (),
            id="nobody free: fewest busy, earliest of equals",
        ),
        pytest.param(
            {A: busy((at(8), at(12))), B: busy((at(8), at(12)))},
            [A, B],
            slot(9),
            (A, B),
            (),
            id="everyone always busy: the first, with who conflicts",
        ),
        pytest.param(
            {A: [], B: None}, [A, B], slot(9), (), (B,), id="unknown is reported, not free"
        ),
        pytest.param(
            {A: busy((at(9), at(10)))},
            [A, B],
            slot(10),
            (),
            (B,),
            id="a calendar never asked about is unknown",
        ),
        pytest.param(
            {A: busy((at(9), at(12))), B: busy((at(9), at(9, 30)))},
            [B],
            slot(9, 30),
            (),
            (),
            id="only required invitees count",
        ),
        pytest.param(
            {"A@Example.com": busy((at(9), at(10)))},
            [A],
            slot(10),
            (),
            (),
            id="emails match case-insensitively",
        ),
        pytest.param(
            {A: busy((at(9, 15), at(9, 20)), (at(9, 10), at(10, 5)))},
            [A],
            slot(10, 30),
            (),
            (),
            id="overlapping periods merge",
        ),
        pytest.param(
            {A: busy((at(10), at(9)))}, [A], slot(9), (), (), id="an inverted period is no time"
        ),
        pytest.param(
            {A: busy((datetime(2026, 3, 2, 14, tzinfo=UTC), datetime(2026, 3, 2, 15, tzinfo=UTC)))},
            [A],
            slot(10),
            (),
            (),
            id="zones differ: compared as instants (14:00Z is 09:00 in New York)",
        ),
    ],
)
def test_choice(
    calendars: Calendars,
    required: list[str],
    chosen: Slot,
    conflicts: tuple[str, ...],
    unknown: tuple[str, ...],
) -> None:
    choice = choose_slot(SLOTS, calendars, required)
    assert choice is not None
    assert choice.slot == chosen
    assert choice.conflicts == conflicts
    assert choice.unknown == unknown
    assert choice.all_free == (not conflicts and not unknown)


def test_no_candidates_no_choice() -> None:
    assert choose_slot([], {A: []}, [A]) is None
    assert choose_slot(SLOTS, {A: []}, [A], deadline=at(9, 15)) is None


def test_the_deadline_drops_late_candidates() -> None:
    choice = choose_slot(SLOTS, {A: busy((at(9), at(10)))}, [A], deadline=at(10))
    assert choice is not None
    assert choice.slot == slot(9)  # nothing free before the deadline: the least bad
    assert choice.conflicts == (A,)


def test_optional_invitees_are_reported_but_do_not_decide() -> None:
    calendars = {A: [], B: busy((at(9), at(12)))}
    choice = choose_slot(SLOTS, calendars, [A], optional=[B, C])
    assert choice is not None
    assert choice.slot == slot(9)
    assert choice.optional_conflicts == (B,)
    assert choice.all_free


def test_optional_conflicts_count_less_than_required_ones() -> None:
    # Everyone required is busy somewhere: A at 9:00-10:00, B at 10:00-11:30. Among the
    # slots with one required conflict, the one without the optional C busy wins.
    calendars = {
        A: busy((at(9), at(10))),
        B: busy((at(10), at(11, 30))),
        C: busy((at(9), at(9, 30))),
    }
    choice = choose_slot(SLOTS, calendars, [A, B], optional=[C])
    assert choice is not None
    assert choice.slot == slot(9, 30)
    assert choice.conflicts == (A,)
    assert choice.optional_conflicts == ()
    # But an optional conflict never outweighs a required one.
    calendars[C] = busy((at(9), at(12)))
    choice = choose_slot(SLOTS, calendars, [A, B], optional=[C])
    assert choice is not None
    assert choice.slot == slot(9)
    assert choice.optional_conflicts == (C,)


def test_the_latest_preference_falls_back_as_little_as_it_can() -> None:
    choice = choose_slot(SLOTS, {A: busy((at(11), at(12)))}, [A], prefer="latest")
    assert choice is not None
    assert choice.slot == slot(10, 30)  # the latest slot A is free in
    everyone_busy = choose_slot(SLOTS, {A: busy((at(9), at(12)))}, [A], prefer="latest")
    assert everyone_busy is not None
    assert everyone_busy.slot == slot(11)  # the least bad, latest of equals
    assert everyone_busy.conflicts == (A,)


def test_unsorted_candidates_are_taken_in_time_order() -> None:
    choice = choose_slot(list(reversed(SLOTS)), {A: []}, [A])
    assert choice is not None
    assert choice.slot == slot(9)


def test_naive_times_are_refused() -> None:
    naive = Slot(datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 9, 30))
    with pytest.raises(ValueError, match="naive"):
        choose_slot([naive], {A: []}, [A])


def test_with_the_policy_slots() -> None:
    calendar = WorkCalendar(tz=NY)
    slots = candidate_slots(at(8), at(17, day=3), timedelta(minutes=30), calendar)
    calendars = {A: busy((at(9), at(17))), B: busy((at(9, day=3), at(10, day=3)))}
    choice = choose_slot(slots, calendars, [A, B])
    assert choice is not None
    assert choice.slot == Slot(at(10, day=3), at(10, 30, day=3))


# -- properties ----------------------------------------------------------------------

BASE = datetime(2026, 3, 2, 9, tzinfo=UTC)
EMAILS = [A, B, C]


@st.composite
def problems(draw: st.DrawFn) -> tuple[list[Slot], dict[str, list[Interval] | None], list[str]]:
    starts = draw(st.lists(st.integers(0, 40), min_size=0, max_size=12, unique=True))
    slots = [
        Slot(BASE + timedelta(minutes=15 * s), BASE + timedelta(minutes=15 * s + 30))
        for s in starts
    ]
    calendars: dict[str, list[Interval] | None] = {}
    for email in EMAILS:
        if draw(st.booleans()) and draw(st.booleans()):
            calendars[email] = None
            continue
        periods = draw(st.lists(st.tuples(st.integers(0, 44), st.integers(1, 8)), max_size=5))
        calendars[email] = [
            Busy(BASE + timedelta(minutes=15 * s), BASE + timedelta(minutes=15 * (s + n)))
            for s, n in periods
        ]
    required = draw(st.lists(st.sampled_from(EMAILS), min_size=1, max_size=3, unique=True))
    return slots, calendars, required


def busy_at(calendars: Calendars, email: str, candidate: Slot) -> bool:
    periods = calendars.get(email)
    return periods is not None and any(
        p.start < candidate.end and candidate.start < p.end for p in periods
    )


def free_for_all(calendars: Calendars, required: list[str], candidate: Slot) -> bool:
    return all(
        calendars.get(email) is not None and not busy_at(calendars, email, candidate)
        for email in required
    )


@given(problems())
def test_the_choice_is_a_candidate_and_all_free_wins_earliest(
    problem: tuple[list[Slot], dict[str, list[Interval] | None], list[str]],
) -> None:
    slots, calendars, required = problem
    choice = choose_slot(slots, calendars, required)
    if not slots:
        assert choice is None
        return
    assert choice is not None
    assert choice.slot in slots
    all_free = [s for s in slots if free_for_all(calendars, required, s)]
    if all_free:
        assert choice.all_free
        assert choice.slot == min(all_free, key=lambda s: s.start)
    else:
        assert not choice.all_free
    # What it reports is exactly who is busy or unknown in the chosen slot.
    assert set(choice.conflicts) == {e for e in required if busy_at(calendars, e, choice.slot)}
    assert set(choice.unknown) == {e for e in required if calendars.get(e) is None}
    # Nothing else has fewer busy required invitees.
    fewest = min(sum(busy_at(calendars, e, s) for e in required) for s in slots)
    assert len(choice.conflicts) == fewest
