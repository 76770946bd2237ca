"""Retry by time, not by count (issue 12, defect 2), on SQLite and PostgreSQL.

The worker's clock is shifted instead of sleeping: each test jumps it to the next
due retry, so hours of backoff take a moment. The handlers play the vendor's side
(a 503, a 429 with Retry-After, refused credentials) through the error taxonomy.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from structlog.testing import capture_logs

from hub.errors import AuthFailed, RateLimited, Transient
from hub.jobs.kinds import EFFECT, effect_payload
from hub.jobs.pauses import list_pauses, resume
from hub.jobs.queue import Job, JobQueue, JobState
from hub.jobs.retrying import RetryPolicy
from hub.jobs.worker import JobHandler, Worker
from hub.store.db import utcnow


class ShiftedClock:
    """Real time plus an offset that only grows: retries come due by jumping it."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def jump_to(self, at: datetime) -> None:
        self.offset += max(timedelta(0), at - self())


def worker_for(
    queue: JobQueue, handlers: dict[str, JobHandler], clock: ShiftedClock, **policy: Any
) -> Worker:
    return Worker(
        queue,
        handlers,
        concurrency=1,
        poll_interval_seconds=0.05,
        retry_policy=RetryPolicy(**policy),
        clock=clock,
        rng=random.Random(12),
    )


async def drain(
    worker: Worker, queue: JobQueue, clock: ShiftedClock, *, until: datetime | None = None
) -> int:
    """Run every job, jumping the clock to each next run, until none is left (or the next
    is after `until`); how many jumps that took."""
    for jumps in range(1000):
        await worker.run_until_idle(retries_within=0, max_seconds=30)
        upcoming = await queue.next_run_at(clock())
        if upcoming is None or (until is not None and upcoming > until):
            return jumps
        clock.jump_to(upcoming)
    raise AssertionError("the jobs never settled")


def vendor_down_until(clock: Callable[[], datetime], end: datetime, error: Exception) -> JobHandler:
    async def handler(job: Job) -> None:
        if clock() < end:
            raise error

    return handler


async def test_an_outage_longer_than_eight_attempts_is_outlasted(queue: JobQueue) -> None:
    # Eight attempts at the default backoff were about four minutes: an outage of half an
    # hour dead-lettered the job. By time, with the default horizon, it succeeds.
    clock = ShiftedClock()
    end = clock() + timedelta(minutes=30)
    runs: list[datetime] = []
    down = vendor_down_until(clock, end, Transient("Slack users.lookupByEmail: HTTP 503"))

    async def handler(job: Job) -> None:
        runs.append(clock())
        await down(job)

    worker = worker_for(queue, {EFFECT: handler}, clock)
    job_id = await queue.enqueue(EFFECT, effect_payload("pd:1", "pm:1:announce", "slack"))
    assert job_id is not None
    await drain(worker, queue, clock)
    job = await queue.get(job_id)
    assert job is not None
    assert job.state is JobState.DONE
    assert len(runs) > 8
    assert runs[-1] >= end
    assert job.first_failed_at is not None
    # Capped backoff: no gap between runs is longer than backoff_max_seconds.
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(runs)]
    assert max(gaps) <= 600 + 1


async def test_past_its_horizon_a_job_dies_explained_and_ops_hear_it_once(
    queue: JobQueue,
) -> None:
    clock = ShiftedClock()
    never = vendor_down_until(clock, clock() + timedelta(days=30), Transient("HTTP 503"))
    worker = worker_for(queue, {"work": never}, clock, horizons={"work": timedelta(hours=1)})
    job_id = await queue.enqueue("work", {})
    assert job_id is not None
    with capture_logs() as logs:
        await drain(worker, queue, clock)
    job = await queue.get(job_id)
    assert job is not None
    assert job.state is JobState.DEAD
    assert job.first_failed_at is not None
    assert job.finished_at is not None
    failing_for = job.finished_at - job.first_failed_at
    assert timedelta(hours=1) <= failing_for < timedelta(hours=1, minutes=1)
    reason = job.last_error or ""
    assert "the retry horizon of work jobs is 1 h" in reason
    assert f"first failure {job.first_failed_at.isoformat()}" in reason
    assert reason.endswith("last error: Transient: HTTP 503")
    notices = [e for e in logs if e["event"] == "ops.job_dead"]
    assert [(n["job_id"], n["reason"]) for n in notices] == [(job_id, reason)]
    # Sent back by a person, it has a whole horizon again.
    assert await queue.retry(job_id, clock())
    again = await queue.get(job_id)
    assert again is not None
    assert (again.state, again.first_failed_at, again.takeovers) == (JobState.PENDING, None, 0)


async def test_rate_limits_neither_start_the_horizon_nor_end_the_job(queue: JobQueue) -> None:
    clock = ShiftedClock()
    end = clock() + timedelta(hours=3)  # three times the horizon, 18 rate-limited runs
    limited = vendor_down_until(clock, end, RateLimited("HTTP 429", retry_after=600))
    runs: list[datetime] = []

    async def handler(job: Job) -> None:
        runs.append(clock())
        await limited(job)

    worker = worker_for(queue, {"work": handler}, clock, horizons={"work": timedelta(hours=1)})
    job_id = await queue.enqueue("work", {})
    assert job_id is not None
    await drain(worker, queue, clock)
    job = await queue.get(job_id)
    assert job is not None
    assert job.state is JobState.DONE
    assert job.first_failed_at is None
    assert len(runs) > 8
    # Retry-After is honoured: never back sooner than the vendor asked.
    assert all((b - a) >= timedelta(seconds=600) for a, b in itertools.pairwise(runs))


async def test_takeovers_neither_start_the_horizon_nor_use_attempts(queue: JobQueue) -> None:
    clock = ShiftedClock()
    calls: list[int] = []

    async def handler(job: Job) -> None:
        calls.append(job.attempts)
        if len(calls) == 1:
            raise Transient("HTTP 503")

    worker = worker_for(
        queue, {"work": handler}, clock, horizons={"work": timedelta(hours=1)}, max_attempts=3
    )
    job_id = await queue.enqueue("work", {})
    assert job_id is not None
    for _ in range(4):  # four workers crash running it, half an hour apart
        [taken] = await queue.lease("crashed", limit=1, lease_seconds=60, now=clock())
        assert taken.id == job_id
        clock.jump_to(clock() + timedelta(minutes=30))
    await drain(worker, queue, clock)
    job = await queue.get(job_id)
    assert job is not None
    assert job.state is JobState.DONE
    assert job.takeovers == 4
    assert calls == [5, 6]


async def test_a_job_that_every_worker_dies_on_ends_after_max_takeovers(queue: JobQueue) -> None:
    clock = ShiftedClock()
    worker = worker_for(queue, {"work": vendor_down_until(clock, clock(), Transient())}, clock)
    job_id = await queue.enqueue("work", {})
    assert job_id is not None
    for _ in range(RetryPolicy().max_takeovers + 1):
        await queue.lease("crashed", limit=1, lease_seconds=60, now=clock())
        clock.jump_to(clock() + timedelta(minutes=2))
    with capture_logs() as logs:
        await drain(worker, queue, clock)
    job = await queue.get(job_id)
    assert job is not None
    assert job.state is JobState.DEAD
    taken = RetryPolicy().max_takeovers + 1
    assert (job.last_error or "").startswith(f"gave up: {taken} runs never reported back")
    assert [e["event"] for e in logs].count("ops.job_dead") == 1


def slack_jobs() -> list[tuple[dict[str, str], str]]:
    return [(effect_payload("pd:1", f"pm:1:k{n}", "slack"), f"effect:pm:1:k{n}") for n in (1, 2)]


async def test_auth_failed_pauses_the_connector_and_its_jobs_wait(queue: JobQueue) -> None:
    clock = ShiftedClock()
    broken = {"slack": True}
    calls: list[str] = []

    async def handler(job: Job) -> None:
        calls.append(job.payload["key"])
        if broken["slack"]:
            raise AuthFailed("Slack: invalid_auth")

    worker = worker_for(queue, {EFFECT: handler}, clock, horizons={EFFECT: timedelta(hours=1)})
    ids = [await queue.enqueue(EFFECT, p, dedupe_key=k) for p, k in slack_jobs()]
    with capture_logs() as logs:
        # Credentials stay broken for three hours: three times the horizon.
        await drain(worker, queue, clock, until=clock() + timedelta(hours=3))
    [pause] = await list_pauses(queue.engine)
    assert pause.connector == "slack"
    assert pause.reason == "AuthFailed: Slack: invalid_auth"
    jobs = [await queue.get(i) for i in ids if i is not None]
    # Waiting, not dead, and their horizon never started.
    assert [(j.state, j.first_failed_at) for j in jobs if j] == [(JobState.PENDING, None)] * 2
    assert all(j.run_at >= pause.probe_at for j in jobs if j)
    # The first run paused it; after that one probe per probe time, not every job each time.
    assert calls[:1] == ["pm:1:k1"]
    assert len(calls) <= 2 * (3 * 60 // 15 + 1)
    assert [e["event"] for e in logs].count("ops.connector_paused") == 1

    broken["slack"] = False
    with capture_logs() as logs:
        await drain(worker, queue, clock)
    assert await list_pauses(queue.engine) == []
    assert [(await queue.get(i)).state for i in ids if i is not None] == [JobState.DONE] * 2  # type: ignore[union-attr]
    assert [e["event"] for e in logs].count("ops.connector_resumed") == 1


async def test_resuming_a_connector_brings_its_waiting_jobs_forward(queue: JobQueue) -> None:
    clock = ShiftedClock()
    broken = {"slack": True}

    async def handler(job: Job) -> None:
        if broken["slack"]:
            raise AuthFailed("invalid_auth")

    worker = worker_for(queue, {EFFECT: handler}, clock)
    ids = [await queue.enqueue(EFFECT, p, dedupe_key=k) for p, k in slack_jobs()]
    await drain(worker, queue, clock, until=clock() + timedelta(minutes=1))
    broken["slack"] = False  # a person fixed the token
    assert await resume(queue.engine, "slack", now=clock())
    assert not await resume(queue.engine, "slack", now=clock())
    await worker.run_until_idle(retries_within=0, max_seconds=30)  # no clock jump needed
    assert [(await queue.get(i)).state for i in ids if i is not None] == [JobState.DONE] * 2  # type: ignore[union-attr]
    assert await list_pauses(queue.engine) == []
