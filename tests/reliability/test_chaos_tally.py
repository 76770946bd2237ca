"""The chaos run's count of unfinished effects: what is missing, and what a later one replaced."""

from __future__ import annotations

from tests.reliability.chaos.tally import unfinished_effects

PM = "pm:pagerduty:PCHAOS00007"
CHECK_AT_6 = f"{PM}:meeting:check@2026-12-07T06:10:00Z"
CHECK_AT_7 = f"{PM}:meeting:check@2026-12-07T07:10:00Z"


def test_a_check_cut_off_before_the_hour_turned_is_superseded_by_the_next_one_done() -> None:
    missing, superseded = unfinished_effects([(CHECK_AT_6, "pending"), (CHECK_AT_7, "done")])

    assert missing == []
    assert superseded == [f"{CHECK_AT_6} (pending)"]


def test_a_check_with_no_later_one_done_is_missing() -> None:
    alone = unfinished_effects([(CHECK_AT_6, "pending")])
    later_not_done = unfinished_effects([(CHECK_AT_6, "pending"), (CHECK_AT_7, "pending")])
    earlier_done = unfinished_effects([(CHECK_AT_6, "done"), (CHECK_AT_7, "pending")])

    assert alone == ([f"{CHECK_AT_6} (pending)"], [])
    assert later_not_done[0] == [f"{CHECK_AT_6} (pending)", f"{CHECK_AT_7} (pending)"]
    assert earlier_done == ([f"{CHECK_AT_7} (pending)"], [])


def test_only_a_check_of_the_same_meeting_supersedes() -> None:
    other = "pm:pagerduty:PCHAOS00008:meeting:check@2026-12-07T07:10:00Z"
    missing, superseded = unfinished_effects([(CHECK_AT_6, "failed"), (other, "done")])

    assert (missing, superseded) == ([f"{CHECK_AT_6} (failed)"], [])


def test_every_other_unfinished_effect_is_missing() -> None:
    rows = [
        (f"{PM}:slack:announce", "pending"),
        (f"{PM}:meeting", "failed"),
        (f"{PM}:reminder:owner@2026-12-07T06:00:00Z", "pending"),
        (f"{PM}:reminder:owner@2026-12-07T07:00:00Z", "done"),
    ]
    missing, superseded = unfinished_effects(rows)

    assert superseded == []
    assert len(missing) == 3
