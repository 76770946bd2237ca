"""The worker against a real database: outcomes by error taxonomy, wake-ups, shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import structlog
from structlog.testing import capture_logs

from hub.errors import AuthFailed, Conflict, Permanent, RateLimited, Transient
from hub.jobs.queue import Job, JobQueue, JobState
from hub.jobs.worker import JobHandler, Worker
from hub.store.db import utcnow
from tests.store.helpers import wait_for_state, wait_until

FAST: dict[str, Any] = {
    "concurrency": 2,
    "max_attempts": 3,
    "backoff_base_seconds": 0.01,
    "backoff_max_seconds": 0.05,
    "lease_seconds": 30.0,
    "poll_interval_seconds": 0.05,
}


@asynccontextmanager
async def running(
    queue: JobQueue, handlers: dict[str, JobHandler], **options: Any
) -> AsyncIterator[Worker]:
    worker = Worker(queue, handlers, **(FAST | options))
    await worker.start()
    try:
        yield worker
    finally:
        await worker.stop(grace_seconds=2)


def failing(*errors: Exception) -> tuple[JobHandler, list[int]]:
    """A handler raising `errors` in turn, then succeeding; and its list of calls."""
    calls: list[int] = []

    async def handler(job: Job) -> None:
        calls.append(job.attempts)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]

    return handler, calls


async def enqueue(queue: JobQueue, kind: str = "work", **kwargs: Any) -> int:
    job_id = await queue.enqueue(kind, {}, **kwargs)
    assert job_id is not None
    return job_id


async def test_transient_errors_are_retried_until_success(queue: JobQueue) -> None:
    handler, calls = failing(Transient("503"), RateLimited("429", retry_after=0.01))
    async with running(queue, {"work": handler}):
        job = await wait_for_state(queue, await enqueue(queue), JobState.DONE)
    assert calls == [1, 2, 3]
    assert job.last_error == "RateLimited: 429"


async def test_a_retry_waits_at_least_retry_after(queue: JobQueue) -> None:
    handler, calls = failing(RateLimited("slow down", retry_after=3600))
    before = utcnow()
    async with running(queue, {"work": handler}):
        job_id = await enqueue(queue)
        await wait_until(lambda: _ran(calls), what="the first run")
        job = await wait_for_state(queue, job_id, JobState.PENDING)
    assert job.run_at >= before + timedelta(seconds=3600)
    assert job.last_error == "RateLimited: slow down"
    assert calls == [1]


async def test_dead_letter_after_max_attempts_keeps_the_last_error(queue: JobQueue) -> None:
    handler, calls = failing(*(Transient(f"vendor 503 #{n}") for n in range(1, 10)))
    async with running(queue, {"work": handler}):
        job = await wait_for_state(queue, await enqueue(queue), JobState.DEAD)
    assert calls == [1, 2, 3]
    assert job.last_error == "gave up after 3 attempts: Transient: vendor 503 #3"


async def test_a_jobs_own_max_attempts_wins(queue: JobQueue) -> None:
    handler, calls = failing(Transient("503"))
    async with running(queue, {"work": handler}):
        await wait_for_state(queue, await enqueue(queue, max_attempts=1), JobState.DEAD)
    assert calls == [1]


async def test_permanent_is_dead_at_once(queue: JobQueue) -> None:
    handler, calls = failing(Permanent("project PM does not exist"))
    async with running(queue, {"work": handler}):
        job = await wait_for_state(queue, await enqueue(queue), JobState.DEAD)
    assert calls == [1]
    assert job.last_error == "Permanent: project PM does not exist"


async def test_unknown_kind_is_dead_with_the_reason(queue: JobQueue) -> None:
    async with running(queue, {}):
        job = await wait_for_state(queue, await enqueue(queue, "mystery"), JobState.DEAD)
    assert job.last_error == "no handler registered for kind 'mystery'"
    assert job.attempts == 1


async def test_conflict_counts_as_done(queue: JobQueue) -> None:
    handler, calls = failing(Conflict("already posted", vendor_ref="ts-1"))
    async with running(queue, {"work": handler}):
        await wait_for_state(queue, await enqueue(queue), JobState.DONE)
    assert calls == [1]


async def test_a_bug_in_a_handler_is_retried_and_the_worker_survives(queue: JobQueue) -> None:
    handler, _ = failing(ValueError("oops"), ValueError("oops"), ValueError("oops"))
    ok, ok_calls = failing()
    async with running(queue, {"buggy": handler, "ok": ok}) as worker:
        buggy = await wait_for_state(queue, await enqueue(queue, "buggy"), JobState.DEAD)
        await wait_for_state(queue, await enqueue(queue, "ok"), JobState.DONE)
        assert worker.running
    assert buggy.last_error == "gave up after 3 attempts: ValueError: oops"
    assert ok_calls == [1]


async def test_auth_failure_waits_long_and_is_told_once(queue: JobQueue) -> None:
    handler, calls = failing(AuthFailed("token revoked"), AuthFailed("token revoked"))
    before = utcnow()
    with capture_logs() as logs:
        async with running(queue, {"slack": handler}, auth_retry_seconds=900):
            ids = [await enqueue(queue, "slack"), await enqueue(queue, "slack")]

            async def both_wait() -> bool:
                jobs = [await queue.get(i) for i in ids]
                return all(j and j.attempts == 1 and j.state is JobState.PENDING for j in jobs)

            await wait_until(both_wait, what="both jobs to wait for the connector")
            jobs = [await queue.get(i) for i in ids]
    # Each ran at most once (two slots: both may have started before the pause).
    assert calls in ([1], [1, 1])
    assert all(j and j.run_at >= before + timedelta(seconds=900) for j in jobs)
    assert [e["event"] for e in logs].count("ops.connector_paused") == 1


async def test_one_summary_line_per_run_with_job_context(queue: JobQueue) -> None:
    seen: list[dict[str, Any]] = []

    async def handler(job: Job) -> None:
        seen.append(structlog.contextvars.get_contextvars())
        if job.attempts == 1:
            raise Transient("flaky")

    with capture_logs() as logs:
        async with running(queue, {"work": handler}):
            job_id = await enqueue(queue)
            await wait_for_state(queue, job_id, JobState.DONE)
            # The summary line follows the store's update: wait for it, not just the row.
            await wait_until(_summaries(logs, 2), what="both summary lines")
    finished = [e for e in logs if e["event"] == "job.finished"]
    assert [e["outcome"] for e in finished] == ["retry", "done"]
    assert [e["attempts"] for e in finished] == [1, 2]
    assert all(isinstance(e["duration_ms"], float) for e in finished)
    assert seen == [{"job_id": job_id, "job_kind": "work"}] * 2


async def test_graceful_stop_releases_unfinished_jobs(queue: JobQueue) -> None:
    started = asyncio.Event()

    async def forever(job: Job) -> None:
        started.set()
        await asyncio.Event().wait()

    quick, _ = failing()
    worker = Worker(queue, {"slow": forever, "quick": quick}, **FAST)
    await worker.start()
    slow_id = await enqueue(queue, "slow")
    await asyncio.wait_for(started.wait(), timeout=15)
    assert await worker.stop(grace_seconds=0.05) == 1
    assert not worker.running
    job = await queue.get(slow_id)
    assert job is not None
    assert (job.state, job.lease_until) == (JobState.PENDING, None)
    # Stopped means stopped: the leasing loop has ended, so nothing is leased any more,
    # not even after a wake-up.
    assert worker.stopped
    quick_id = await enqueue(queue, "quick")
    queue.wake()
    assert worker.stopped
    quick_job = await queue.get(quick_id)
    assert quick_job is not None
    assert quick_job.state is JobState.PENDING


async def test_stop_lets_jobs_finish_within_the_grace_period(queue: JobQueue) -> None:
    started = asyncio.Event()

    async def short(job: Job) -> None:
        started.set()
        await asyncio.sleep(0.2)

    worker = Worker(queue, {"work": short}, **FAST)
    await worker.start()
    job_id = await enqueue(queue)
    await asyncio.wait_for(started.wait(), timeout=15)
    assert await worker.stop(grace_seconds=15) == 0
    job = await queue.get(job_id)
    assert job is not None
    assert job.state is JobState.DONE


async def test_a_slow_job_keeps_its_lease_alive(queue: JobQueue) -> None:
    calls: list[int] = []

    async def slow(job: Job) -> None:
        calls.append(job.attempts)
        await asyncio.sleep(1.2)  # two leases long; only the heartbeat keeps it ours

    async with running(queue, {"work": slow}, lease_seconds=0.6, concurrency=4):
        job = await wait_for_state(queue, await enqueue(queue), JobState.DONE)
    assert calls == [1]
    assert job.attempts == 1


async def test_enqueue_wakes_an_idle_worker(queue: JobQueue) -> None:
    handler, _ = failing()
    # The poll interval is longer than the wait below: only the wake-up can do it.
    async with running(queue, {"work": handler}, poll_interval_seconds=60):
        await asyncio.sleep(0.05)  # let the worker go idle
        await wait_for_state(queue, await enqueue(queue), JobState.DONE, timeout=10)


async def test_worker_sleeps_until_the_next_timer(queue: JobQueue) -> None:
    handler, calls = failing()
    async with running(queue, {"work": handler}, poll_interval_seconds=60):
        run_at = utcnow() + timedelta(seconds=0.3)
        job_id = await enqueue(queue, run_at=run_at)
        job = await wait_for_state(queue, job_id, JobState.DONE, timeout=10)
    assert job.finished_at is not None
    assert job.finished_at >= run_at
    assert calls == [1]


async def _ran(calls: list[int], times: int = 1) -> bool:
    return len(calls) >= times


def _summaries(logs: list[MutableMapping[str, Any]], count: int) -> Callable[[], Awaitable[bool]]:
    async def written() -> bool:
        return sum(1 for e in logs if e["event"] == "job.finished") >= count

    return written
