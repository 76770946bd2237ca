"""A worker process killed mid-job: after its lease expires, another worker runs the job."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from hub.jobs.queue import Job, JobQueue, JobState
from hub.jobs.worker import Worker
from hub.store.db import create_engine
from hub.store.migrate import upgrade

CHILD = Path(__file__).with_name("crash_child.py")
LEASE_SECONDS = 1.0


async def wait_for_file(path: Path, proc: asyncio.subprocess.Process, timeout: float) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not path.exists():
        if proc.returncode is not None:
            raise AssertionError(f"child worker exited early with {proc.returncode}")
        if loop.time() > deadline:
            raise AssertionError(f"child worker did not start the job within {timeout}s")
        await asyncio.sleep(0.05)
    return path.read_text()


@pytest.mark.slow
async def test_a_killed_workers_job_is_taken_over_and_completes(tmp_path: Path) -> None:
    db_path = tmp_path / "pmhub.db"
    marker = tmp_path / "started"
    engine = create_engine(f"sqlite+aiosqlite:///{db_path}")
    queue = JobQueue(engine)
    try:
        await upgrade(engine)
        job_id = await queue.enqueue("crashy", {"note": "survive me"})
        assert job_id is not None

        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(CHILD), str(db_path), str(marker), str(LEASE_SECONDS)
        )
        try:
            assert await wait_for_file(marker, proc, timeout=30) == f"{job_id} 1"
        finally:
            proc.kill()  # SIGKILL: no cleanup, no release, the lease stays held
            await proc.wait()
        orphaned = await queue.get(job_id)
        assert orphaned is not None
        assert (orphaned.state, orphaned.lease_owner) == (JobState.RUNNING, "doomed")

        reruns: list[int] = []

        async def handler(job: Job) -> None:
            reruns.append(job.attempts)

        survivor = Worker(
            queue, {"crashy": handler}, lease_seconds=LEASE_SECONDS, poll_interval_seconds=0.1
        )
        await survivor.start()
        try:
            job = await _wait_done(queue, job_id, timeout=30)
        finally:
            await survivor.stop(grace_seconds=2)
        assert reruns == [2]
        assert (job.attempts, job.lease_owner) == (2, survivor.owner)
    finally:
        await engine.dispose()


async def _wait_done(queue: JobQueue, job_id: int, timeout: float) -> Job:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        job = await queue.get(job_id)
        assert job is not None
        if job.state is JobState.DONE:
            return job
        if loop.time() > deadline:
            raise AssertionError(f"job {job_id} was not taken over within {timeout}s: {job}")
        await asyncio.sleep(0.05)
