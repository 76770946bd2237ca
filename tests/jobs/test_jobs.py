"""The job queue on its own: dedupe, timers, leases, fencing, dead letters, admin retry."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.jobs.enqueue import keyed_jobs
from hub.jobs.queue import SUPERSEDED, JobQueue, JobState, LeaseLost
from tests.store.helpers import T0

LEASE = 30.0


async def lease_one(queue: JobQueue, owner: str, now: datetime = T0) -> int:
    jobs = await queue.lease(owner, limit=1, lease_seconds=LEASE, now=now)
    assert len(jobs) == 1, f"expected one job to lease, got {jobs}"
    return jobs[0].id


async def test_enqueue_with_a_pending_dedupe_key_is_a_no_op(queue: JobQueue) -> None:
    first = await queue.enqueue("remind", {"n": 1}, dedupe_key="k", now=T0)
    second = await queue.enqueue("remind", {"n": 2}, dedupe_key="k", now=T0)
    assert first is not None
    assert second is None
    jobs = await queue.list_jobs()
    assert [(j.id, j.payload) for j in jobs] == [(first, {"n": 1})]


async def test_the_earlier_run_at_wins_on_dedupe(queue: JobQueue) -> None:
    job_id = await queue.enqueue("t", {}, dedupe_key="k", run_at=T0 + timedelta(hours=2), now=T0)
    assert job_id is not None
    await queue.enqueue("t", {}, dedupe_key="k", run_at=T0 + timedelta(hours=1), now=T0)
    await queue.enqueue("t", {}, dedupe_key="k", run_at=T0 + timedelta(hours=3), now=T0)
    job = await queue.get(job_id)
    assert job is not None
    assert job.run_at == T0 + timedelta(hours=1)


async def test_dedupe_key_is_free_again_once_running_or_done(queue: JobQueue) -> None:
    first = await queue.enqueue("t", {}, dedupe_key="k", now=T0)
    assert first is not None
    assert await lease_one(queue, "w1") == first
    second = await queue.enqueue("t", {}, dedupe_key="k", now=T0)  # first is running
    assert second is not None
    assert second != first
    assert await queue.enqueue("t", {}, dedupe_key="k", now=T0) is None  # second is pending
    running = await queue.get(first)
    assert running is not None
    await queue.complete(running, "w1")
    assert await lease_one(queue, "w1") == second
    assert await queue.enqueue("t", {}, dedupe_key="k", now=T0) is not None


async def test_jobs_without_dedupe_key_never_collide(queue: JobQueue) -> None:
    ids = {await queue.enqueue("t", {}, now=T0) for _ in range(3)}
    assert len(ids) == 3
    assert None not in ids


async def test_a_timer_fires_at_run_at_and_not_before(queue: JobQueue) -> None:
    due = T0 + timedelta(days=2)
    job_id = await queue.enqueue("remind", {}, run_at=due, now=T0)
    assert await queue.lease("w", limit=10, lease_seconds=LEASE, now=T0) == []
    before = due - timedelta(microseconds=1)
    assert await queue.lease("w", limit=10, lease_seconds=LEASE, now=before) == []
    assert await queue.next_run_at(T0) == due
    assert await lease_one(queue, "w", now=due) == job_id
    assert await queue.next_run_at(T0) is None


async def test_lease_takes_oldest_first_and_respects_limit(queue: JobQueue) -> None:
    late = await queue.enqueue("t", {}, run_at=T0, now=T0)
    early = await queue.enqueue("t", {}, run_at=T0 - timedelta(minutes=5), now=T0)
    await queue.enqueue("t", {}, run_at=T0, now=T0)
    leased = await queue.lease("w", limit=2, lease_seconds=LEASE, now=T0)
    assert [j.id for j in leased] == [early, late]
    assert all(j.state is JobState.RUNNING and j.lease_owner == "w" for j in leased)
    assert all(j.attempts == 1 and j.lease_until == T0 + timedelta(seconds=LEASE) for j in leased)


async def test_an_expired_lease_is_taken_over(queue: JobQueue) -> None:
    job_id = await queue.enqueue("t", {}, now=T0)
    await lease_one(queue, "crashed")
    still_leased = T0 + timedelta(seconds=LEASE)
    assert await queue.lease("w2", limit=1, lease_seconds=LEASE, now=still_leased) == []
    after = still_leased + timedelta(seconds=1)
    [job] = await queue.lease("w2", limit=1, lease_seconds=LEASE, now=after)
    assert (job.id, job.lease_owner, job.attempts) == (job_id, "w2", 2)


async def test_a_stale_owner_cannot_complete_fail_or_renew(queue: JobQueue) -> None:
    await queue.enqueue("t", {}, now=T0)
    [stale] = await queue.lease("w1", limit=1, lease_seconds=LEASE, now=T0)
    later = T0 + timedelta(seconds=LEASE + 1)
    [current] = await queue.lease("w2", limit=1, lease_seconds=LEASE, now=later)
    with pytest.raises(LeaseLost, match="no longer leased by 'w1'"):
        await queue.complete(stale, "w1", now=later)
    with pytest.raises(LeaseLost):
        await queue.fail(stale, "w1", "boom", retry_at=None, now=later)
    assert not await queue.renew(stale, "w1", lease_seconds=LEASE, now=later)
    # The same owner name with the earlier lease (attempt) is fenced off too.
    with pytest.raises(LeaseLost):
        await queue.complete(stale, "w2", now=later)
    await queue.complete(current, "w2", now=later)
    done = await queue.get(current.id)
    assert done is not None
    assert (done.state, done.finished_at) == (JobState.DONE, later)


async def test_fail_with_retry_at_reschedules_and_keeps_the_error(queue: JobQueue) -> None:
    await queue.enqueue("t", {}, now=T0)
    [job] = await queue.lease("w", limit=1, lease_seconds=LEASE, now=T0)
    retry_at = T0 + timedelta(minutes=1)
    assert await queue.fail(job, "w", "Transient: 503", retry_at=retry_at, now=T0) is (
        JobState.PENDING
    )
    again = await queue.get(job.id)
    assert again is not None
    assert (again.state, again.run_at, again.last_error) == (
        JobState.PENDING,
        retry_at,
        "Transient: 503",
    )
    assert again.lease_until is None


async def test_fail_without_retry_dead_letters_with_the_error(queue: JobQueue) -> None:
    await queue.enqueue("t", {}, now=T0)
    [job] = await queue.lease("w", limit=1, lease_seconds=LEASE, now=T0)
    assert await queue.fail(job, "w", "Permanent: 404", retry_at=None, now=T0) is JobState.DEAD
    dead = await queue.get(job.id)
    assert dead is not None
    assert (dead.state, dead.last_error, dead.finished_at) == (JobState.DEAD, "Permanent: 404", T0)
    assert await queue.lease("w", limit=1, lease_seconds=LEASE, now=T0 + timedelta(days=9)) == []


async def test_a_retry_superseded_by_a_newer_pending_job_is_closed(queue: JobQueue) -> None:
    await queue.enqueue("t", {}, dedupe_key="k", now=T0)
    [job] = await queue.lease("w", limit=1, lease_seconds=LEASE, now=T0)
    newer = await queue.enqueue("t", {}, dedupe_key="k", now=T0)
    state = await queue.fail(job, "w", "boom", retry_at=T0 + timedelta(minutes=1), now=T0)
    assert state is JobState.DONE
    closed = await queue.get(job.id)
    assert closed is not None
    assert closed.last_error == f"boom ({SUPERSEDED})"
    assert [j.id for j in await queue.list_jobs(state=JobState.PENDING)] == [newer]


async def test_admin_retry_requeues_a_dead_job(queue: JobQueue) -> None:
    await queue.enqueue("t", {}, dedupe_key="k", now=T0)
    [job] = await queue.lease("w", limit=1, lease_seconds=LEASE, now=T0)
    assert not await queue.retry(job.id, T0)  # running, not dead
    await queue.fail(job, "w", "gave up", retry_at=None, now=T0)
    later = T0 + timedelta(hours=1)
    assert await queue.retry(job.id, later)
    again = await queue.get(job.id)
    assert again is not None
    assert (again.state, again.attempts, again.run_at) == (JobState.PENDING, 0, later)
    assert again.last_error == "gave up"  # history stays until the next run
    assert not await queue.retry(job.id, later)  # already pending
    assert not await queue.retry(999_999, later)


async def test_admin_retry_is_refused_when_the_key_is_pending_again(queue: JobQueue) -> None:
    await queue.enqueue("t", {}, dedupe_key="k", now=T0)
    [job] = await queue.lease("w", limit=1, lease_seconds=LEASE, now=T0)
    await queue.fail(job, "w", "gave up", retry_at=None, now=T0)
    await queue.enqueue("t", {}, dedupe_key="k", now=T0)
    assert not await queue.retry(job.id, T0)
    dead = await queue.get(job.id)
    assert dead is not None
    assert dead.state is JobState.DEAD


async def test_release_gives_running_jobs_back(queue: JobQueue) -> None:
    mine = await queue.enqueue("t", {}, now=T0)
    theirs = await queue.enqueue("t", {}, now=T0)
    assert mine is not None
    assert theirs is not None
    await queue.lease("me", limit=1, lease_seconds=LEASE, now=T0)
    await queue.lease("other", limit=1, lease_seconds=LEASE, now=T0)
    assert await queue.release("me", now=T0) == 1
    released, untouched = await queue.get(mine), await queue.get(theirs)
    assert released is not None
    assert untouched is not None
    assert (released.state, released.lease_until) == (JobState.PENDING, None)
    assert untouched.state is JobState.RUNNING


async def test_stats_count_by_kind_and_state(queue: JobQueue) -> None:
    await queue.enqueue("a", {}, run_at=T0 - timedelta(seconds=90), now=T0)
    await queue.enqueue("a", {}, now=T0)
    await queue.enqueue("b", {}, run_at=T0 + timedelta(hours=1), now=T0)
    [job] = await queue.lease("w", limit=1, lease_seconds=LEASE, now=T0)
    await queue.fail(job, "w", "x", retry_at=None, now=T0)
    stats = await queue.stats(T0)
    assert stats.counts == {
        ("a", JobState.DEAD): 1,
        ("a", JobState.PENDING): 1,
        ("b", JobState.PENDING): 1,
    }
    assert (stats.depth, stats.dead, stats.running) == (1, 1, 0)
    assert stats.oldest_pending_age_seconds == 0.0
    later = await queue.stats(T0 + timedelta(seconds=30))
    assert later.oldest_pending_age_seconds == 30.0


async def test_list_filters_and_orders_newest_first(queue: JobQueue) -> None:
    a1 = await queue.enqueue("a", {}, now=T0)
    b1 = await queue.enqueue("b", {}, now=T0)
    a2 = await queue.enqueue("a", {}, now=T0)
    assert [j.id for j in await queue.list_jobs()] == [a2, b1, a1]
    assert [j.id for j in await queue.list_jobs(kind="a", limit=1)] == [a2]
    assert await queue.list_jobs(state=JobState.DEAD) == []
    assert await queue.get(999_999) is None


async def test_enqueue_joins_the_callers_transaction(engine: AsyncEngine) -> None:
    queue = JobQueue(engine)

    class Rollback(Exception):
        pass

    async def enqueue_then_fail() -> None:
        async with engine.begin() as conn:
            assert await queue.enqueue("t", {}, conn=conn, now=T0) is not None
            raise Rollback

    with pytest.raises(Rollback):
        await enqueue_then_fail()
    assert await queue.list_jobs() == []
    async with engine.begin() as conn:
        await queue.enqueue("t", {}, conn=conn, now=T0)
    assert len(await queue.list_jobs()) == 1


async def test_dedupe_survives_prepared_statement_reuse(queue: JobQueue) -> None:
    # PostgreSQL switches a prepared statement to a generic plan after five runs;
    # the ON CONFLICT target must still match the partial index then.
    for n in range(12):
        assert await queue.enqueue("t", {}, dedupe_key=f"k{n}", now=T0) is not None
        assert await queue.enqueue("t", {}, dedupe_key=f"k{n}", now=T0) is None


async def test_keyed_jobs_tells_running_from_pending_and_when_pending_is_due(
    engine: AsyncEngine,
) -> None:
    queue = JobQueue(engine)
    later = T0 + timedelta(hours=1)
    await queue.enqueue("t", {}, dedupe_key="running", now=T0)
    assert await lease_one(queue, "w1") is not None
    await queue.enqueue("t", {}, dedupe_key="pending", run_at=later, now=T0)

    async with engine.begin() as conn:
        found = await keyed_jobs(conn, ["running", "pending", "absent"])

    assert found.running == {"running"}
    assert found.pending_run_at == {"pending": later}
    # Enqueueing could only change a key with no pending job, or one due later.
    assert found.enqueue_would_change("absent", T0)
    assert found.enqueue_would_change("running", T0)
    assert found.enqueue_would_change("pending", T0)
    assert not found.enqueue_would_change("pending", later)
    assert not found.enqueue_would_change("pending", later + timedelta(minutes=1))


async def test_keyed_jobs_tells_a_job_waiting_for_its_retry(engine: AsyncEngine) -> None:
    queue = JobQueue(engine)
    later = T0 + timedelta(hours=1)
    await queue.enqueue("t", {}, dedupe_key="fresh", run_at=later, now=T0)
    await queue.enqueue("t", {}, dedupe_key="retry", now=T0)
    [job] = await queue.lease("w1", limit=1, lease_seconds=LEASE, now=T0)
    await queue.fail(job, "w1", "HTTP 429", retry_at=later, now=T0, counted=False)

    async with engine.begin() as conn:
        found = await keyed_jobs(conn, ["fresh", "retry"])

    assert found.pending_run_at == {"fresh": later, "retry": later}
    assert found.retrying == {"retry"}
