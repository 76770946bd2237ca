"""The worker's linger (issue 16): it gathers trickling deliveries into one batch, and
holds back nothing else: the next hop a job enqueues (ingest -> reconcile -> effect)
starts at once instead of after the linger.

The linger here is far longer than any wait below (60 s), so a job held back by it
would time the test out: what is asserted is which jobs run, not how fast.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hub.jobs.queue import Job, JobQueue, JobState
from hub.jobs.worker import Worker
from tests.jobs.test_worker import FAST
from tests.jobs.test_worker_batches import Bulk
from tests.store.helpers import wait_for_state

LONG_LINGER: dict[str, Any] = {**FAST, "poll_interval_seconds": 120.0, "linger_seconds": 60.0}


class Chaining(Bulk):
    """A batched kind whose jobs each enqueue a job of the plain kind, as ingest does."""

    def __init__(self, queue: JobQueue) -> None:
        super().__init__(batch_size=10)
        self.queue = queue
        self.followers: list[int] = []

    async def run_batch(self, jobs: Any) -> list[Exception | None]:
        outcome = await super().run_batch(jobs)
        for job in jobs:
            follower = await self.queue.enqueue("plain", {"after": job.payload["name"]})
            assert follower is not None
            self.followers.append(follower)
        return outcome


async def _plain(job: Job) -> None:
    return None


async def test_the_job_a_delivery_enqueues_starts_without_waiting_for_the_linger(
    queue: JobQueue,
) -> None:
    chaining = Chaining(queue)
    worker = Worker(queue, {"bulk": chaining, "plain": _plain}, **LONG_LINGER)
    await worker.start()
    try:
        await queue.enqueue("bulk", {"name": "first"})
        worker.wake()
        await asyncio.wait_for(_until_followers(chaining, 1), 10)
        # Well inside the 60 s linger that the delivery's lease started.
        await wait_for_state(queue, chaining.followers[0], JobState.DONE, timeout=10)
    finally:
        await worker.stop(grace_seconds=2)


async def test_a_delivery_arriving_during_the_linger_waits_for_it_the_next_hop_does_not(
    queue: JobQueue,
) -> None:
    chaining = Chaining(queue)
    worker = Worker(queue, {"bulk": chaining, "plain": _plain}, **LONG_LINGER)
    await worker.start()
    try:
        await queue.enqueue("bulk", {"name": "first"})
        worker.wake()
        await asyncio.wait_for(_until_followers(chaining, 1), 10)
        # Enqueued after the first delivery's lease, so inside its linger.
        second = await queue.enqueue("bulk", {"name": "second"})
        assert second is not None
        await wait_for_state(queue, chaining.followers[0], JobState.DONE, timeout=10)
        held = await queue.get(second)
        assert held is not None
        assert held.state is JobState.PENDING  # gathered for the next batch, not leased
        assert chaining.batches == [["first"]]
    finally:
        await worker.stop(grace_seconds=2)


async def _until_followers(chaining: Chaining, count: int) -> None:
    while len(chaining.followers) < count:
        await asyncio.sleep(0.01)
