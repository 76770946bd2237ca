"""Leasing for batches: a batch kind's due jobs come together; many jobs fenced at once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.jobs.queue import JobQueue, JobState, enqueue_jobs
from hub.store.db import transaction
from tests.store.helpers import T0

LEASE = 30.0


async def _enqueue(queue: JobQueue, kinds: str) -> dict[str, int]:
    """One job per letter, due a second apart in that order: upper case is kind 'bulk'."""
    ids = {}
    for n, name in enumerate(kinds):
        kind = "bulk" if name.isupper() else "single"
        job_id = await queue.enqueue(kind, {"name": name}, run_at=T0 + timedelta(seconds=n), now=T0)
        assert job_id is not None
        ids[name] = job_id
    return ids


async def test_a_batch_kind_brings_its_next_due_jobs_along(queue: JobQueue) -> None:
    ids = await _enqueue(queue, "AbCDeF")
    later = T0 + timedelta(minutes=1)
    leased = await queue.lease("w", limit=1, lease_seconds=LEASE, now=later, batch={"bulk": 3})
    # The oldest due job is a bulk one: the next two bulk ones join it, the others wait.
    assert [job.id for job in leased] == [ids["A"], ids["C"], ids["D"]]
    assert all(job.state is JobState.RUNNING and job.attempts == 1 for job in leased)


async def test_other_kinds_keep_their_place_in_line(queue: JobQueue) -> None:
    ids = await _enqueue(queue, "bAcDE")
    later = T0 + timedelta(minutes=1)
    leased = await queue.lease("w", limit=2, lease_seconds=LEASE, now=later, batch={"bulk": 2})
    assert sorted(job.id for job in leased) == sorted([ids["b"], ids["A"], ids["D"]])
    # Without a bulk job among the oldest, nothing extra is taken.
    rest = await queue.lease("w", limit=1, lease_seconds=LEASE, now=later, batch={"bulk": 5})
    assert [job.id for job in rest] == [ids["c"]]


async def test_jobs_not_yet_due_stay_out_of_a_batch(queue: JobQueue) -> None:
    ids = await _enqueue(queue, "ABC")
    leased = await queue.lease(
        "w", limit=1, lease_seconds=LEASE, now=T0 + timedelta(seconds=1), batch={"bulk": 10}
    )
    assert [job.id for job in leased] == [ids["A"], ids["B"]]


async def test_an_expired_lease_is_taken_with_the_pending_ones_in_order(
    queue: JobQueue,
) -> None:
    ids = await _enqueue(queue, "Ab")
    [crashed] = await queue.lease("crashed", limit=1, lease_seconds=LEASE, now=T0)
    assert crashed.id == ids["A"]
    after = T0 + timedelta(seconds=LEASE + 1)
    leased = await queue.lease("w", limit=2, lease_seconds=LEASE, now=after)
    assert [(job.id, job.attempts) for job in leased] == [(ids["A"], 2), (ids["b"], 1)]


async def test_complete_many_completes_only_the_leases_still_ours(queue: JobQueue) -> None:
    await _enqueue(queue, "ABC")
    start = T0 + timedelta(seconds=10)
    mine = await queue.lease("w1", limit=1, lease_seconds=LEASE, now=start, batch={"bulk": 3})
    assert len(mine) == 3
    # The first one's lease expires and another worker takes it over.
    later = start + timedelta(seconds=LEASE + 1)
    assert await queue.renew_many(mine[1:], "w1", lease_seconds=LEASE, now=start) == {
        job.id for job in mine[1:]
    }
    [taken] = await queue.lease("w2", limit=1, lease_seconds=LEASE, now=later)
    assert taken.id == mine[0].id
    done = await queue.complete_many(mine, "w1", now=later)
    assert done == {mine[1].id, mine[2].id}
    states = {job.id: (await queue.get(job.id)) for job in mine}
    assert {i: j.state for i, j in states.items() if j is not None} == {
        mine[0].id: JobState.RUNNING,
        mine[1].id: JobState.DONE,
        mine[2].id: JobState.DONE,
    }
    assert await queue.renew_many(mine, "w1", lease_seconds=LEASE, now=later) == set()
    assert await queue.complete_many([], "w1") == set()


async def test_enqueue_many_can_bring_a_pending_job_forward(
    engine: AsyncEngine, queue: JobQueue
) -> None:
    tomorrow = T0 + timedelta(days=1)
    timer = await queue.enqueue("reconcile", {"i": 1}, dedupe_key="r:1", run_at=tomorrow, now=T0)
    async with transaction(engine) as conn:
        await enqueue_jobs(
            conn,
            [("reconcile", {"i": 1}, "r:1"), ("reconcile", {"i": 2}, "r:2")],
            now=T0,
            move_earlier=True,
        )
    pending = {job.dedupe_key: job for job in await queue.list_jobs(state=JobState.PENDING)}
    assert set(pending) == {"r:1", "r:2"}
    assert pending["r:1"].id == timer
    assert pending["r:1"].run_at == T0  # brought forward, not doubled
    assert pending["r:2"].run_at == T0


async def test_a_lease_is_one_transaction_of_two_statements(
    engine: AsyncEngine, queue: JobQueue
) -> None:
    """Which jobs are due (pending or with an expired lease) is one read, and taking them
    returns them: a lease runs on every wake-up of the worker (issue 16: two reads, an
    update and a second transaction to read the rows back were a sixth of a storm's
    statements)."""
    ids = await _enqueue(queue, "AbC")
    [crashed] = await queue.lease("crashed", limit=1, lease_seconds=LEASE, now=T0)
    after = T0 + timedelta(seconds=LEASE + 1)
    transactions: list[list[str]] = []

    def began(_conn: object) -> None:
        transactions.append([])

    def seen(*args: object) -> None:
        statement = " ".join(str(args[2]).split()).upper()
        if transactions and not statement.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE
            transactions[-1].append(statement)

    event.listen(engine.sync_engine, "begin", began)
    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        leased = await queue.lease("w", limit=3, lease_seconds=LEASE, now=after, batch={"bulk": 2})
    finally:
        event.remove(engine.sync_engine, "begin", began)
        event.remove(engine.sync_engine, "before_cursor_execute", seen)

    assert [(job.id, job.attempts, job.takeovers) for job in leased] == [
        (crashed.id, 2, 1),
        (ids["b"], 1, 0),
        (ids["C"], 1, 0),
    ]
    assert all(job.state is JobState.RUNNING and job.lease_owner == "w" for job in leased)
    assert all(job.lease_until == after + timedelta(seconds=LEASE) for job in leased)
    [statements] = transactions
    assert len(statements) == 2
    assert statements[1].startswith("UPDATE JOBS")
