"""The worker's burst mode (`run_until_idle`): every due job, then back to the caller."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.errors import RateLimited, Transient
from hub.jobs.queue import Job, JobQueue, JobState
from hub.jobs.worker import Worker
from hub.store.db import utcnow
from tests.jobs.test_worker import FAST, enqueue, failing


async def test_it_runs_every_due_job_and_the_work_they_make_then_returns(
    queue: JobQueue,
) -> None:
    ran: list[str] = []

    async def first(job: Job) -> None:
        ran.append("first")
        await queue.enqueue("second", {})  # work made by work: run in the same burst

    async def second(job: Job) -> None:
        ran.append("second")

    worker = Worker(queue, {"first": first, "second": second}, **FAST)
    for _ in range(3):
        await enqueue(queue, "first")
    await worker.run_until_idle(max_seconds=10)  # the leasing loop never started
    assert sorted(ran) == ["first"] * 3 + ["second"] * 3
    assert {job.state for job in await queue.list_jobs()} == {JobState.DONE}


async def test_a_job_retrying_soon_is_waited_for(queue: JobQueue) -> None:
    handler, calls = failing(Transient("503"), Transient("503"))
    worker = Worker(queue, {"work": handler}, **FAST)
    job_id = await enqueue(queue)
    await worker.run_until_idle(max_seconds=10, retries_within=5)
    assert calls == [1, 2, 3]
    job = await queue.get(job_id)
    assert job is not None
    assert job.state is JobState.DONE


async def test_a_job_waiting_out_a_retry_after_is_waited_for(queue: JobQueue) -> None:
    # A 429 does not count as an attempt (issue 12): the job is still work to wait for,
    # not a timer, though its attempt count did not move.
    handler, calls = failing(RateLimited("429", retry_after=2.5))
    worker = Worker(queue, {"work": handler}, **FAST)
    job_id = await enqueue(queue)
    await worker.run_until_idle(max_seconds=10, retries_within=5)
    assert calls == [1, 2]
    job = await queue.get(job_id)
    assert job is not None
    assert job.state is JobState.DONE


async def test_timers_further_ahead_stay_queued(queue: JobQueue) -> None:
    handler, calls = failing()
    worker = Worker(queue, {"work": handler}, **FAST)
    later = await enqueue(queue, run_at=utcnow() + timedelta(hours=1))
    await enqueue(queue)
    await worker.run_until_idle(max_seconds=10)
    assert calls == [1]
    timer = await queue.get(later)
    assert timer is not None
    assert timer.state is JobState.PENDING


async def test_a_job_due_in_a_moment_is_not_mistaken_for_a_timer(queue: JobQueue) -> None:
    handler, calls = failing()
    worker = Worker(queue, {"work": handler}, **FAST)
    await enqueue(queue, run_at=utcnow() + timedelta(milliseconds=300))
    await worker.run_until_idle(max_seconds=10)
    assert calls == [1]


async def test_it_gives_up_after_max_seconds(queue: JobQueue) -> None:
    handler, _ = failing(*[Transient("503")] * 100)
    worker = Worker(queue, {"work": handler}, **(FAST | {"max_attempts": 1000}))
    await enqueue(queue)
    with pytest.raises(TimeoutError):
        await worker.run_until_idle(max_seconds=0.5, retries_within=60)
