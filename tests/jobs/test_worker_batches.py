"""The worker with a batch handler, and its step back while the front door is busy."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from hub.errors import Conflict, Permanent, Transient
from hub.jobs.queue import Job, JobQueue, JobState
from hub.jobs.worker import BatchJobHandler, Worker
from tests.jobs.test_worker import FAST, enqueue
from tests.store.helpers import wait_for_state, wait_until


class Bulk:
    """A batch handler that records its batches and fails the jobs it is told to."""

    def __init__(self, batch_size: int, failures: dict[str, list[Exception]] | None = None) -> None:
        self.batch_size = batch_size
        self.batches: list[list[str]] = []
        self.failures = failures or {}

    async def __call__(self, job: Job) -> None:
        [error] = await self.run_batch([job])
        if error is not None:
            raise error

    async def run_batch(self, jobs: Sequence[Job]) -> list[Exception | None]:
        self.batches.append([job.payload["name"] for job in jobs])
        return [self._outcome(job) for job in jobs]

    def _outcome(self, job: Job) -> Exception | None:
        planned = self.failures.get(job.payload["name"], [])
        return planned.pop(0) if planned else None


async def _bulk(queue: JobQueue, names: Sequence[str]) -> dict[str, int]:
    ids = {}
    for name in names:
        job_id = await queue.enqueue("bulk", {"name": name})
        assert job_id is not None
        ids[name] = job_id
    return ids


def test_a_handler_with_run_batch_is_a_batch_handler() -> None:
    assert isinstance(Bulk(3), BatchJobHandler)

    async def plain(job: Job) -> None:
        return None

    assert not isinstance(plain, BatchJobHandler)


async def test_due_jobs_of_a_batch_kind_run_together(queue: JobQueue) -> None:
    handler = Bulk(batch_size=3)
    ids = await _bulk(queue, "abcde")
    worker = Worker(queue, {"bulk": handler}, **FAST)
    await worker.start()
    try:
        for job_id in ids.values():
            await wait_for_state(queue, job_id, JobState.DONE)
    finally:
        await worker.stop(grace_seconds=2)
    assert sorted(name for batch in handler.batches for name in batch) == list("abcde")
    assert sorted(len(batch) for batch in handler.batches) == [2, 3]


async def test_each_job_of_a_batch_keeps_its_own_outcome(queue: JobQueue) -> None:
    handler = Bulk(
        batch_size=4,
        failures={
            "retry": [Transient("vendor 503")],
            "dead": [Permanent("no such incident")],
            "exists": [Conflict("already there")],
        },
    )
    ids = await _bulk(queue, ["ok", "retry", "dead", "exists"])
    with capture_logs(processors=[merge_contextvars]) as logs:
        worker = Worker(queue, {"bulk": handler}, **FAST)
        await worker.start()
        try:
            done = [await wait_for_state(queue, ids[n], JobState.DONE) for n in ("ok", "exists")]
            dead = await wait_for_state(queue, ids["dead"], JobState.DEAD)
            retried = await wait_for_state(queue, ids["retry"], JobState.DONE)
        finally:
            await worker.stop(grace_seconds=2)
    assert [job.attempts for job in done] == [1, 1]
    assert (dead.attempts, dead.last_error) == (1, "Permanent: no such incident")
    assert (retried.attempts, retried.last_error) == (2, "Transient: vendor 503")
    assert handler.batches[0] == ["ok", "retry", "dead", "exists"]
    finished = [e for e in logs if e["event"] == "job.finished"]
    first = {e["job_id"]: e for e in finished[:4]}
    assert {first[ids[n]]["outcome"] for n in ("ok", "exists")} == {"done"}
    assert (first[ids["retry"]]["outcome"], first[ids["dead"]]["outcome"]) == ("retry", "dead")
    assert all(e["batch"] == 4 for e in first.values())


async def test_under_pressure_one_task_at_a_time(queue: JobQueue) -> None:
    running: list[int] = []
    most = [0]

    async def slow(job: Job) -> None:
        running.append(job.id)
        most[0] = max(most[0], len(running))
        await asyncio.sleep(0.02)
        running.remove(job.id)

    ids = [await enqueue(queue, "work") for _ in range(4)]
    options: dict[str, Any] = FAST | {"concurrency": 4, "pressure_pause_seconds": 0.0}
    worker = Worker(queue, {"work": slow}, under_pressure=lambda: True, **options)
    await worker.start()
    try:
        for job_id in ids:
            await wait_for_state(queue, job_id, JobState.DONE)
    finally:
        await worker.stop(grace_seconds=2)
    assert most[0] == 1


async def test_without_pressure_jobs_run_side_by_side(queue: JobQueue) -> None:
    started: list[int] = []
    release = asyncio.Event()

    async def blocking(job: Job) -> None:
        started.append(job.id)
        await release.wait()

    ids = [await enqueue(queue, "work") for _ in range(3)]
    worker = Worker(queue, {"work": blocking}, **(FAST | {"concurrency": 3}))
    await worker.start()
    try:

        async def all_started() -> bool:
            return len(started) == 3

        await wait_until(all_started, what="three jobs running at once")
        release.set()
        for job_id in ids:
            await wait_for_state(queue, job_id, JobState.DONE)
    finally:
        await worker.stop(grace_seconds=2)


async def test_under_pressure_effects_keep_moving_between_intake_batches(
    queue: JobQueue,
) -> None:
    """Issue 16: the rest under pressure follows a batch of intake, not every task, so
    the jobs a burst of deliveries makes (reconcile, effects) are not held back by it."""
    intake = Bulk(batch_size=2)
    effects: list[int] = []

    async def effect(job: Job) -> None:
        effects.append(job.id)

    ids = [await enqueue(queue, "effect") for _ in range(3)]
    first = await _bulk(queue, ["d1", "d2"])
    later = await _bulk(queue, ["d3"])
    options: dict[str, Any] = FAST | {"concurrency": 4, "pressure_pause_seconds": 3600.0}
    worker = Worker(
        queue, {"bulk": intake, "effect": effect}, under_pressure=lambda: True, **options
    )
    await worker.start()
    try:
        for job_id in [*ids, *first.values()]:
            await wait_for_state(queue, job_id, JobState.DONE)
        assert effects == ids  # one after another, no rest between them
        assert intake.batches == [["d1", "d2"]]  # the next batch comes after the rest
        job = await queue.get(later["d3"])
        assert job is not None
        assert job.state is JobState.PENDING
    finally:
        await worker.stop(grace_seconds=2)
