"""When announcements coalesce, and how a roll-up's lines and versions move (no I/O)."""

from __future__ import annotations

from hub.engine.performers.rollup import DEFAULT_THRESHOLD, rollup_threshold, should_coalesce
from hub.store.rollups import Rollup, rollup_key


def test_coalescing_starts_above_what_the_channel_carries_in_a_minute() -> None:
    assert rollup_threshold(1.0) == 60
    assert rollup_threshold(0.5) == 120
    assert rollup_threshold(0) == DEFAULT_THRESHOLD
    assert not should_coalesce(60, 60)
    assert should_coalesce(61, 60)
    assert not should_coalesce(0, 60)


def test_a_storms_tail_joins_its_roll_up_while_it_lingers() -> None:
    # A roll-up that took a line in the last minute: the last announcements of the
    # storm join it rather than queue a minute of single posts behind it.
    assert should_coalesce(5, 60, storm_lingers=True)
    assert not should_coalesce(5, 60, storm_lingers=False)
    assert not should_coalesce(0, 60, storm_lingers=True)  # nothing waiting: no storm


def test_a_new_or_changed_line_is_a_new_version_and_the_same_line_is_not() -> None:
    opened = Rollup.opened("C1", 3)
    one = opened.with_line("pm:a:owner:announce", "A owns it")
    two = one.with_line("pm:b:owner:announce", "B owns it")
    same = two.with_line("pm:a:owner:announce", "A owns it")
    edited = two.with_line("pm:a:owner:announce", "A owns it, meeting booked")
    assert (opened.version, one.version, two.version) == (0, 1, 2)
    assert same is two
    assert edited.version == 3
    assert list(edited.lines) == ["pm:a:owner:announce", "pm:b:owner:announce"]  # in place


def test_a_roll_up_reads_back_what_it_stored() -> None:
    rollup = Rollup.opened("C1", 12).with_line("k1", "l1").with_line("k2", "l2")
    back = Rollup.from_detail(rollup.key, "C1/1.2", rollup.detail())
    assert back.lines == rollup.lines
    assert list(back.lines) == ["k1", "k2"]
    assert (back.version, back.shown, back.ref) == (2, 0, "C1/1.2")


def test_roll_up_keys_sort_in_the_order_they_were_opened() -> None:
    keys = [rollup_key("C1", seq) for seq in (1, 2, 10, 100)]
    assert sorted(keys) == keys
