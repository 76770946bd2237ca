"""Backoff: exponential with full jitter, capped, never below Retry-After."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.jobs.backoff import next_retry_delay


class Ceiling(random.Random):
    """An rng that always draws the top of the range, to read the ceiling off."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_ceiling_doubles_per_attempt_up_to_the_cap() -> None:
    delays = [next_retry_delay(n, base=1.0, cap=10.0, rng=Ceiling()) for n in range(1, 7)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_retry_after_is_a_floor_even_above_the_cap() -> None:
    assert next_retry_delay(1, base=1.0, cap=10.0, retry_after=30.0, rng=Ceiling()) == 30.0
    assert next_retry_delay(5, base=1.0, cap=100.0, retry_after=3.0, rng=Ceiling()) == 16.0


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="attempt"):
        next_retry_delay(0, base=1.0, cap=1.0)
    with pytest.raises(ValueError, match="base and cap"):
        next_retry_delay(1, base=-1.0, cap=1.0)


@given(
    attempt=st.integers(1, 10_000),
    base=st.floats(0, 100),
    cap=st.floats(0, 10_000),
    retry_after=st.none() | st.floats(0, 100_000),
    seed=st.integers(),
)
def test_bounds(
    attempt: int, base: float, cap: float, retry_after: float | None, seed: int
) -> None:
    delay = next_retry_delay(
        attempt, base=base, cap=cap, retry_after=retry_after, rng=random.Random(seed)
    )
    assert delay >= 0
    if retry_after is not None:
        assert delay >= retry_after
        assert delay <= max(cap, retry_after)
    else:
        assert delay <= cap
