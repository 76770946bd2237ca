"""Child process for test_worker_crash: run one Worker until killed.

Usage: python crash_child.py <sqlite-db-path> <marker-path> <lease-seconds>

The handler writes the marker (so the parent knows the job is mid-run) and then
sleeps far longer than the test lasts: the parent SIGKILLs this process while
the job is running and its lease is held.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from hub.jobs.queue import Job, JobQueue
from hub.jobs.worker import Worker
from hub.store.db import create_engine


async def main(db_path: str, marker: Path, lease_seconds: float) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{db_path}")

    async def handler(job: Job) -> None:
        marker.write_text(f"{job.id} {job.attempts}")
        await asyncio.sleep(3600)

    worker = Worker(
        JobQueue(engine),
        {"crashy": handler},
        owner="doomed",
        lease_seconds=lease_seconds,
        poll_interval_seconds=0.05,
    )
    await worker.start()
    await asyncio.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])))
