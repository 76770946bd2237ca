"""What a failed run means for its job: the retry decision on its own (pure, no store)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hub.errors import AuthFailed, Held, Permanent, RateLimited, Transient
from hub.jobs.model import Job, JobState
from hub.jobs.retrying import Action, RetryPolicy, decide

T0 = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
POLICY = RetryPolicy(horizons={"effect": timedelta(hours=1)})


def job(attempts: int, first_failed_at: datetime | None) -> Job:
    return Job(
        id=1,
        kind="effect",
        payload={"connector": "slack"},
        dedupe_key=None,
        state=JobState.RUNNING,
        run_at=T0,
        attempts=attempts,
        max_attempts=None,
        lease_owner="w",
        lease_until=None,
        last_error=None,
        created_at=T0,
        updated_at=T0,
        finished_at=None,
        first_failed_at=first_failed_at,
    )


def test_the_last_retry_falls_on_the_horizon_not_beyond_it() -> None:
    now = T0 + timedelta(minutes=59)
    decision = decide(POLICY, job(30, T0), Transient("503"), now=now, rng=random.Random(1))
    assert decision.action is Action.RETRY
    assert decision.retry_at == T0 + timedelta(hours=1)


def test_retry_after_wins_over_the_horizon_end() -> None:
    now = T0 + timedelta(minutes=59)
    failure = Transient("503", retry_after=300)
    decision = decide(POLICY, job(30, T0), failure, now=now, rng=random.Random(1))
    assert decision.retry_at == now + timedelta(seconds=300)


def test_past_the_horizon_the_reason_says_when_and_why() -> None:
    now = T0 + timedelta(hours=1)
    decision = decide(POLICY, job(31, T0), Transient("HTTP 503"), now=now, rng=random.Random(1))
    assert decision.action is Action.DEAD
    assert decision.error == (
        "gave up after failing for 1 h (the retry horizon of effect jobs is 1 h; first "
        "failure 2026-12-07T03:00:00+00:00, 31 runs); last error: Transient: HTTP 503"
    )


def test_what_does_not_start_the_horizon() -> None:
    late = T0 + timedelta(days=3)
    rng = random.Random(1)
    limited = decide(POLICY, job(90, None), RateLimited("429", retry_after=60), now=late, rng=rng)
    refused = decide(POLICY, job(90, None), AuthFailed("invalid_auth"), now=late, rng=rng)
    assert (limited.action, limited.counted) == (Action.RETRY, False)
    assert (refused.action, refused.counted) == (Action.PAUSE, False)
    assert refused.retry_at == late + timedelta(seconds=POLICY.auth_probe_seconds)


def test_pmhubs_own_hold_comes_back_at_exactly_its_time() -> None:
    """A `Held` job knows when what it waits for is due: no backoff or jitter on top,
    however many times it ran (a 429's Retry-After is only a floor)."""
    now = T0 + timedelta(minutes=5)
    for attempts in (1, 12, 40):
        decision = decide(
            POLICY, job(attempts, None), Held("wait", 1.5), now=now, rng=random.Random(1)
        )
        assert (decision.action, decision.counted) == (Action.RETRY, False)
        assert decision.retry_at == now + timedelta(seconds=1.5)
    limited = decide(POLICY, job(12, None), RateLimited("429", 1.5), now=now, rng=random.Random(1))
    assert limited.retry_at is not None
    assert limited.retry_at > now + timedelta(seconds=1.5)


def test_permanent_is_dead_at_once() -> None:
    failure = Permanent("no such channel")
    decision = decide(POLICY, job(1, None), failure, now=T0, rng=random.Random(1))
    assert (decision.action, decision.error) == (Action.DEAD, "Permanent: no such channel")
