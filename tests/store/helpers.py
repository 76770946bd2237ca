"""Small helpers for the store and worker tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from hub.jobs.queue import Job, JobQueue, JobState

# A fixed instant: tests pass explicit `now` values instead of sleeping.
T0 = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)


async def wait_until(
    predicate: Callable[[], Awaitable[bool]], *, what: str, timeout: float = 15.0
) -> None:
    """Poll `predicate` until it holds; fail with `what` after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


async def wait_for_state(
    queue: JobQueue, job_id: int, state: JobState, *, timeout: float = 15.0
) -> Job:
    """Wait until job `job_id` is in `state`, and return it."""

    async def reached() -> bool:
        job = await queue.get(job_id)
        return job is not None and job.state is state

    await wait_until(reached, what=f"job {job_id} to be {state.value}", timeout=timeout)
    job = await queue.get(job_id)
    assert job is not None
    return job
