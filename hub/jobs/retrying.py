"""What a failed run means for its job: retry when, pause the connector, or give up.

Retry by time, not by count (issue 12, defect 2). Eight attempts with a 2 s base are
about four minutes of backoff, so a vendor outage of a few minutes used to dead-letter
every job in flight. Each job kind now has a retry *horizon*, in hours by default and
at least as long as the vendors' own delivery retries (PagerDuty retries a webhook for
24-48 h, Svix for 24 h): a job keeps being retried, with capped exponential backoff and
full jitter, until it has been failing for longer than its horizon.

Not every failed run is a failure of the job:

- `RateLimited`: the vendor is up and says when to come back. The retry waits at least
  its Retry-After; it neither starts the horizon nor uses up an attempt cap. A pacer's
  `LaneBacklogged` is one too: the job would have waited behind a backed-up channel
  with the worker's waiting room full (hub.jobs.parking), so it comes back after the
  backlog instead. A `Held` (pmhub's own wait that knows its time: a message waiting
  for the owner's DM) comes back at exactly that time, without backoff or jitter.
- A takeover (the previous run's lease expired: a worker crashed or hung) is not the
  job's failure either; it is bounded on its own (`max_takeovers`), so a job that kills
  every worker that runs it still ends.
- `AuthFailed`: the connector's credentials were refused. No retry of this job can fix
  that, and no other job of that connector will fare better: the connector is paused
  (hub.jobs.pauses) and the job waits for the next probe, without starting its horizon.

A job past its horizon dies with an explained reason: its last error, when it first
failed and the horizon it had. `Permanent` dies at once with the vendor's reason.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from hub.errors import AuthFailed, Held, Permanent, RateLimited, Transient
from hub.jobs.backoff import next_retry_delay
from hub.jobs.kinds import DIGEST, EFFECT, INGEST, RECONCILE
from hub.jobs.model import Job

# At least the vendors' own delivery retries: a delivery PagerDuty retries for up to
# 48 h should not die here sooner. Reconciling is our own work over our own store;
# a digest is worth little once the week has moved on.
DEFAULT_HORIZONS: Mapping[str, timedelta] = {
    INGEST: timedelta(hours=48),
    RECONCILE: timedelta(hours=48),
    EFFECT: timedelta(hours=24),
    DIGEST: timedelta(hours=12),
}
FALLBACK_HORIZON = timedelta(hours=24)  # a kind not named above


class Action(StrEnum):
    RETRY = "retry"  # back to pending at `retry_at`
    DEAD = "dead"  # the dead letter, with `error` as the reason
    PAUSE = "pause"  # pause the job's connector; the job waits until `retry_at`


@dataclass(frozen=True)
class Decision:
    action: Action
    error: str  # the job's last_error (the reason, when dead)
    retry_at: datetime | None = None
    counted: bool = True  # a failure of the job: starts its horizon if not started


@dataclass(frozen=True)
class RetryPolicy:
    """How long each kind of job is retried, and how far apart the retries are."""

    horizons: Mapping[str, timedelta] = field(default_factory=lambda: dict(DEFAULT_HORIZONS))
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 600.0
    # An optional cap on failed runs on top of the horizon (tests, a cautious operator);
    # a job's own `max_attempts` wins over it. None: the horizon alone decides.
    # Takeovers do not count against it; rate-limited runs do not end a job by it.
    max_attempts: int | None = None
    # A job whose run kills its worker every time (a poison pill) ends after this many
    # takeovers. Not fewer: a fleet restarted often (a rolling deploy, OOM kills; the
    # chaos run kills a replica every few seconds) takes innocent jobs over too. Scenario
    # C of RELIABILITY.md (109 kills in 385 s) took some over six times.
    max_takeovers: int = 20
    auth_probe_seconds: float = 900.0  # a paused connector is tried again this often

    @classmethod
    def configured(
        cls,
        *,
        horizon_hours: Mapping[str, float],
        backoff_base_seconds: float,
        backoff_max_seconds: float,
        max_attempts: int | None,
        auth_probe_seconds: float,
    ) -> RetryPolicy:
        """The worker section of pmhub.yaml: horizons by kind over the defaults."""
        overrides = {kind: timedelta(hours=hours) for kind, hours in horizon_hours.items()}
        return cls(
            horizons={**DEFAULT_HORIZONS, **overrides},
            backoff_base_seconds=backoff_base_seconds,
            backoff_max_seconds=backoff_max_seconds,
            max_attempts=max_attempts,
            auth_probe_seconds=auth_probe_seconds,
        )

    def horizon(self, kind: str) -> timedelta:
        return self.horizons.get(kind, FALLBACK_HORIZON)

    def attempt_cap(self, job: Job) -> int | None:
        return job.max_attempts or self.max_attempts


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def decide(
    policy: RetryPolicy, job: Job, exc: Exception, *, now: datetime, rng: random.Random
) -> Decision:
    """The outcome of a run of `job` that raised `exc` (never `Conflict`: that is done)."""
    error = describe(exc)
    if isinstance(exc, Permanent):
        return Decision(Action.DEAD, f"Permanent: {exc.reason}")
    if isinstance(exc, AuthFailed):
        probe_at = now + timedelta(seconds=policy.auth_probe_seconds)
        return Decision(Action.PAUSE, error, retry_at=probe_at, counted=False)
    if isinstance(exc, Held):
        delay = exc.retry_after or 0.0  # pmhub's own wait: exactly its time
    else:
        delay = next_retry_delay(
            max(job.attempts, 1),
            base=policy.backoff_base_seconds,
            cap=policy.backoff_max_seconds,
            retry_after=exc.retry_after if isinstance(exc, Transient) else None,
            rng=rng,
        )
    retry_at = now + timedelta(seconds=delay)
    if isinstance(exc, RateLimited):
        return Decision(Action.RETRY, error, retry_at=retry_at, counted=False)
    cap = policy.attempt_cap(job)
    if cap is not None and failed_runs(job) >= cap:
        return Decision(Action.DEAD, f"gave up after {failed_runs(job)} attempts: {error}")
    first = job.first_failed_at or now
    horizon = policy.horizon(job.kind)
    if now - first >= horizon:
        return Decision(Action.DEAD, past_horizon(job, error, first, horizon, now))
    # The last try falls on the horizon itself rather than a backoff beyond it, but
    # never before the vendor's Retry-After: an earlier try would only be refused.
    floor = now + timedelta(seconds=exc.retry_after or 0) if isinstance(exc, Transient) else now
    return Decision(Action.RETRY, error, retry_at=max(min(retry_at, first + horizon), floor))


def failed_runs(job: Job) -> int:
    """Runs that count against an attempt cap: takeovers are not the job's failures."""
    return job.attempts - job.takeovers


def past_horizon(job: Job, error: str, first: datetime, horizon: timedelta, now: datetime) -> str:
    return (
        f"gave up after failing for {_span(now - first)} (the retry horizon of "
        f"{job.kind} jobs is {_span(horizon)}; first failure {first.isoformat()}, "
        f"{job.attempts} runs); last error: {error}"
    )


def takeover_verdict(policy: RetryPolicy, job: Job) -> str | None:
    """The dead-letter reason when a job may not run again after takeovers, else None."""
    if job.takeovers > policy.max_takeovers:
        return (
            f"gave up: {job.takeovers} runs never reported back (the worker running it "
            f"crashed or hung each time); last error: {job.last_error}"
        )
    return None


_HOUR, _MINUTE = 3600, 60


def _span(delta: timedelta) -> str:
    """A duration as a person reads it in a dead letter: 48 h, 4.5 h, 12 min, 30 s."""
    seconds = int(delta.total_seconds())
    if seconds >= _HOUR:
        return f"{round(seconds / _HOUR, 1):g} h"
    if seconds >= _MINUTE:
        return f"{seconds // _MINUTE} min"
    return f"{seconds} s"
