"""Durations as people say them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.policy.durations import (
    BusinessDays,
    CalendarDays,
    Duration,
    DurationError,
    Elapsed,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "expected", "shown"),
    [
        ("24h", Elapsed(timedelta(hours=24)), "24h"),
        ("30m", Elapsed(timedelta(minutes=30)), "30m"),
        ("90s", Elapsed(timedelta(seconds=90)), "90s"),
        ("90 minutes", Elapsed(timedelta(minutes=90)), "90m"),
        ("1 hour", Elapsed(timedelta(hours=1)), "1h"),
        ("3 calendar days", CalendarDays(3), "3 calendar days"),
        ("3 days", CalendarDays(3), "3 calendar days"),
        ("2d", CalendarDays(2), "2 calendar days"),
        ("1 week", CalendarDays(7), "7 calendar days"),
        ("2w", CalendarDays(14), "14 calendar days"),
        ("5 business days", BusinessDays(5), "5 business days"),
        ("1 Business Day", BusinessDays(1), "1 business day"),
        ("2 working days", BusinessDays(2), "2 business days"),
        ("  5   business   days ", BusinessDays(5), "5 business days"),
    ],
)
def test_parse(text: str, expected: Duration, shown: str) -> None:
    assert parse_duration(text) == expected
    assert str(parse_duration(text)) == shown


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("soon", "not a duration: 'soon'"),
        ("3 dayz", "unknown unit in '3 dayz'"),
        ("5 business hours", "only days can be business days"),
        ("3 calendar hours", "only days can be calendar days"),
        ("-1d", "not a duration"),
        (24, "a duration must be text like '24h', not 24"),
    ],
)
def test_reject(text: object, message: str) -> None:
    with pytest.raises(DurationError, match=message):
        parse_duration(text)
