"""Several pmhub processes on one PostgreSQL: no job runs twice, wake-ups cross replicas."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest

from hub.jobs.queue import Job, JobQueue, JobState
from hub.jobs.worker import JobHandler, Worker
from hub.store.db import create_engine
from hub.store.migrate import upgrade
from tests.store.helpers import wait_for_state, wait_until

pytestmark = pytest.mark.postgres

JOBS = 300


async def test_two_replicas_run_every_job_exactly_once(postgres_url: str) -> None:
    engines = [create_engine(postgres_url) for _ in range(2)]
    queues = [JobQueue(e) for e in engines]
    runs: Counter[int] = Counter()
    by_owner: Counter[str] = Counter()

    def handler_for(owner: str) -> JobHandler:
        async def handler(job: Job) -> None:
            runs[job.id] += 1
            by_owner[owner] += 1
            await asyncio.sleep(0.001)  # let the other replica get a look in

        return handler

    workers = [
        Worker(
            q,
            {"work": handler_for(f"replica-{n}")},
            owner=f"replica-{n}",
            concurrency=8,
            lease_seconds=60,
            poll_interval_seconds=0.05,
        )
        for n, q in enumerate(queues)
    ]
    try:
        await asyncio.gather(*(upgrade(e) for e in engines))
        for worker in workers:
            await worker.start()
        # Enqueue from both replicas, interleaved with the workers already leasing.
        ids = [
            await queues[n % 2].enqueue("work", {"n": n}, dedupe_key=f"job-{n}")
            for n in range(JOBS)
        ]

        async def all_done() -> bool:
            stats = await queues[0].stats()
            return stats.counts.get(("work", JobState.DONE), 0) == JOBS

        await wait_until(all_done, what=f"{JOBS} jobs to be done", timeout=60)
    finally:
        for worker in workers:
            await worker.stop(grace_seconds=5)
        for e in engines:
            await e.dispose()
    assert sorted(runs) == sorted(i for i in ids if i is not None)
    assert len(runs) == JOBS
    twice = {job_id: n for job_id, n in runs.items() if n != 1}
    assert twice == {}, f"jobs run more than once: {twice}"
    assert sum(by_owner.values()) == JOBS


async def test_notify_wakes_another_replica(postgres_url: str) -> None:
    engines = [create_engine(postgres_url) for _ in range(2)]
    try:
        await upgrade(engines[0])
        ran = asyncio.Event()

        async def handler(job: Job) -> None:
            ran.set()

        listening = JobQueue(engines[0])
        # Polling alone would take a minute: only NOTIFY can wake it in time.
        worker = Worker(listening, {"work": handler}, poll_interval_seconds=60)
        await worker.start()
        try:
            await wait_until(_is_listening(listening), what="LISTEN to be active")
            await asyncio.sleep(0.1)  # let the worker finish its first look and go idle
            other = JobQueue(engines[1])
            job_id = await other.enqueue("work", {})
            assert job_id is not None
            await wait_for_state(other, job_id, JobState.DONE, timeout=10)
        finally:
            await worker.stop(grace_seconds=2)
    finally:
        for e in engines:
            await e.dispose()


def _is_listening(queue: JobQueue) -> Callable[[], Awaitable[bool]]:
    async def predicate() -> bool:
        return queue.listening

    return predicate
