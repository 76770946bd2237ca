"""A person's change and an effect's completion on one post-mortem: neither is lost
(issue 12, defect 1), through the real EffectRunner, the real actions and the Google
Calendar fake, on SQLite and PostgreSQL.

On PostgreSQL the interleaving that lost a person's change is staged deterministically
with the database's own locks, not by timing: the test holds a transaction that has
enqueued the incident's reconcile job. A person's action (which saves the post-mortem,
then enqueues that job) then waits inside its transaction, its change written but not
committed. The effect finishing meanwhile used to read the post-mortem as it was before
that change and, once the person's transaction committed, write it back over it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from connectors.google_calendar import GoogleCalendarConnector
from connectors.google_calendar.fake import FakeGoogleCalendar
from hub.engine.actions.transitions import PostMortemActions
from hub.engine.effects import EffectRunner
from hub.engine.performers.calendar import calendar_performers
from hub.engine.reconcile import Reconciler
from hub.jobs.kinds import EFFECT, RECONCILE, effect_key, reconcile_key
from hub.jobs.leasing import pick_due
from hub.jobs.queue import Job, JobQueue, enqueue_job
from hub.model.postmortem import OwnerAcceptance
from hub.store.db import is_postgres, transaction
from hub.store.state import (
    UnlockedWrite,
    load_postmortem,
    lock_incident_id,
    save_postmortem,
)
from hub.store.tables import jobs
from tests.engine.calendar_incident import (
    ALICE,
    INCIDENT_ID,
    NOW,
    POLICIES,
    calendar_and_connector,
    store_resolved_incident,
)


@pytest.fixture
async def calendar() -> AsyncIterator[tuple[FakeGoogleCalendar, GoogleCalendarConnector]]:
    async with calendar_and_connector() as pair:
        yield pair


async def _meeting_job(engine: AsyncEngine, queue: JobQueue) -> Job:
    await Reconciler(engine, queue, POLICIES, clock=lambda: NOW).reconcile(INCIDENT_ID)
    jobs = await queue.lease("test", limit=1000, lease_seconds=60, now=NOW)
    return next(j for j in jobs if j.kind == EFFECT and str(j.payload["key"]).endswith(":meeting"))


def _runner(
    engine: AsyncEngine, queue: JobQueue, connector: GoogleCalendarConnector
) -> EffectRunner:
    performers = calendar_performers(connector, POLICIES, lambda: NOW)
    reconciler = Reconciler(engine, queue, POLICIES, clock=lambda: NOW)
    return EffectRunner(
        engine, POLICIES, performers, clock=lambda: NOW, reconcile=reconciler.request
    )


async def _lock_waiters(engine: AsyncEngine) -> int:
    """Backends of this database waiting for a lock another transaction holds."""
    async with engine.connect() as conn:
        found = await conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
        return int(found.scalar_one())


async def _until_waiting(engine: AsyncEngine, count: int, *running: Awaitable[Any]) -> None:
    """Return once `count` backends wait for a lock; fail if a task finished instead."""
    tasks = [asyncio.ensure_future(r) for r in running]
    for _ in range(1000):
        if await _lock_waiters(engine) >= count:
            return
        finished = [t for t in tasks if t.done()]
        assert not finished, "it finished without waiting for the incident's lock"
        await asyncio.sleep(0.01)
    pytest.fail(f"fewer than {count} transactions ever waited for a lock")


async def test_a_persons_change_survives_an_effect_finishing_meanwhile(
    engine: AsyncEngine, calendar: tuple[FakeGoogleCalendar, GoogleCalendarConnector]
) -> None:
    fake, connector = calendar
    await store_resolved_incident(engine)
    queue = JobQueue(engine)
    job = await _meeting_job(engine, queue)
    actions = PostMortemActions(engine, queue, POLICIES, clock=lambda: NOW)

    if is_postgres(engine):
        async with engine.connect() as gate:
            gate_transaction = await gate.begin()
            await enqueue_job(
                gate, RECONCILE, {"incident_id": INCIDENT_ID}, dedupe_key=reconcile_key(INCIDENT_ID)
            )
            accepting = asyncio.ensure_future(
                actions.accept_ownership(INCIDENT_ID, ALICE, origin="slack:press-1")
            )
            await _until_waiting(engine, 1, accepting)  # its change written, not committed
            booking = asyncio.ensure_future(_runner(engine, queue, connector)(job))
            await _until_waiting(engine, 2, booking)  # the effect is done and finishing
            await gate_transaction.commit()
        accepted = await accepting
        await booking
    else:  # SQLite serialises writers: one after the other, in the order they came
        accepted = await actions.accept_ownership(INCIDENT_ID, ALICE, origin="slack:press-1")
        await _runner(engine, queue, connector)(job)

    assert accepted.allowed
    pm = await load_postmortem(engine, INCIDENT_ID)
    assert pm is not None
    assert pm.acceptance == OwnerAcceptance(person=ALICE, at=NOW)  # the person's change
    [event] = fake.stored()
    assert pm.meeting is not None  # and the effect's
    assert pm.meeting.event_ref == event["id"]


async def test_a_job_leased_while_the_reconciler_looks_gets_no_twin(engine: AsyncEngine) -> None:
    """The suspected race in `Reconciler._enqueue_missing`: "is its job running?" and
    "enqueue it" are two statements. A replica whose lease of the pending job commits
    between them used to leave room for a second, pending job beside the running one."""
    await store_resolved_incident(engine)
    queue = JobQueue(engine)
    reconciler = Reconciler(engine, queue, POLICIES, clock=lambda: NOW)
    await reconciler.reconcile(INCIDENT_ID)
    key = effect_key(f"pm:{INCIDENT_ID}:meeting")

    if is_postgres(engine):
        async with engine.connect() as replica:
            lease = await replica.begin()  # another replica's lease, taken, not committed
            taken = await pick_due(replica, limit=1000, now=NOW, batch={})
            [meeting_job] = await _live_jobs(replica, key)
            assert meeting_job in taken
            await replica.execute(
                update(jobs)
                .where(jobs.c.id == meeting_job)
                .values(
                    state="running", lease_owner="replica-b", lease_until=NOW + timedelta(minutes=5)
                )
            )
            reconciling = asyncio.ensure_future(reconciler.reconcile(INCIDENT_ID))
            await _until_waiting(engine, 1, reconciling)
            await lease.commit()
        await reconciling
    else:  # one writer at a time: the lease is over before the reconcile looks
        await queue.lease("replica-b", limit=1000, lease_seconds=300, now=NOW)
        await reconciler.reconcile(INCIDENT_ID)

    async with engine.connect() as conn:
        live = await _live_jobs(conn, key)
    assert len(live) == 1  # the leased one, no pending twin beside it


async def _live_jobs(conn: AsyncConnection, key: str) -> list[int]:
    query = select(jobs.c.id).where(
        jobs.c.dedupe_key == key, jobs.c.state.in_(("pending", "running"))
    )
    return [row.id for row in await conn.execute(query)]


async def test_a_save_in_a_transaction_that_did_not_lock_the_incident_is_refused(
    engine: AsyncEngine,
) -> None:
    await store_resolved_incident(engine)
    async with transaction(engine) as conn:
        pm = await load_postmortem(conn, INCIDENT_ID)
        assert pm is not None
        with pytest.raises(UnlockedWrite, match="did not lock it first"):
            await save_postmortem(conn, pm.model_copy(update={"no_follow_ups": True}), now=NOW)
    async with transaction(engine) as conn:  # a new transaction: the earlier lock is gone
        await lock_incident_id(conn, INCIDENT_ID, now=NOW)
        await save_postmortem(conn, pm.model_copy(update={"no_follow_ups": True}), now=NOW)
    async with transaction(engine) as conn:
        with pytest.raises(UnlockedWrite):
            await save_postmortem(conn, pm, now=NOW)
    stored = await load_postmortem(engine, INCIDENT_ID)
    assert stored is not None
    assert stored.no_follow_ups
