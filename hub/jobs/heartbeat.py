"""A run's heartbeat: its leases renewed every lease/3, so a long job is not taken over
while alive (a job waiting its vendor turn in hub.jobs.parking keeps its lease so too)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import structlog

from hub.jobs.queue import Job, JobQueue

log = structlog.get_logger(__name__)


async def keep_leases(
    queue: JobQueue,
    jobs: list[Job],
    owner: str,
    lease_seconds: float,
    clock: Callable[[], datetime],
) -> None:
    """Renew `jobs`' leases until cancelled, dropping each one taken over."""
    interval = lease_seconds / 3
    alive = list(jobs)
    while alive:
        await asyncio.sleep(interval)
        try:
            ours = await queue.renew_many(alive, owner, lease_seconds=lease_seconds, now=clock())
        except Exception:
            log.warning("job.lease_renew_failed", exc_info=True)
            continue
        for job in alive:
            if job.id not in ours:
                # Taken over: our result will be dropped; the new owner's run counts.
                log.warning("job.lease_lost", owner=owner, job_id=job.id)
        alive = [job for job in alive if job.id in ours]
