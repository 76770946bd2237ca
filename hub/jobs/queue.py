"""The durable job queue: rows that are leased, retried, dead-lettered and timed.

Life of a job: `pending` (due at `run_at`) → `running` (leased by one worker until
`lease_until`) → `done` or back to `pending` (retry) or `dead` (dead letter).
A running job whose lease expired is leased again by anyone: that is how the
work of a crashed worker is taken over. Every lease bumps `attempts`, which
with `lease_owner` is a fencing token: a worker whose lease was taken over can
no longer complete, fail or renew the job (`LeaseLost`).

Dedupe: at most one *pending* job per `dedupe_key` (a partial unique index).
Enqueueing a key that is already pending is a no-op, except that the earlier
`run_at` wins. A job that would go back to pending while another pending job
holds its key (a retry, a release) is instead closed as superseded: the
pending one will do the same work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, and_, bindparam, case, func, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.jobs.enqueue import enqueue_job, enqueue_jobs, has_running_job
from hub.jobs.leasing import pick_due
from hub.jobs.model import (
    SUPERSEDED,
    Job,
    JobState,
    LeaseLost,
    QueueStats,
    totals_by_state,
)
from hub.jobs.wakeups import Listener
from hub.store.db import is_postgres, reading, transaction, utcnow
from hub.store.tables import jobs

__all__ = [
    "SUPERSEDED",
    "Job",
    "JobQueue",
    "JobState",
    "LeaseLost",
    "QueueStats",
    "enqueue_job",
    "enqueue_jobs",
    "has_running_job",
]


# The hot statements of leasing, built once (see hub.jobs.leasing for why).
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_TAKE = (
    update(jobs)
    .where(jobs.c.id.in_(_IDS))
    .values(
        state=JobState.RUNNING.value,
        lease_owner=bindparam("owner"),
        lease_until=bindparam("until"),
        attempts=jobs.c.attempts + 1,
        # A running job leased again is a takeover: its last run never reported back.
        takeovers=jobs.c.takeovers + case((jobs.c.state == JobState.RUNNING.value, 1), else_=0),
        updated_at=bindparam("now"),
    )
    # The leased rows as they are now, in the same statement (no second read).
    .returning(*jobs.c)
)
# The fence of many jobs at once: still running, same owner, same lease (attempt) each.
_OWNED = and_(
    tuple_(jobs.c.id, jobs.c.attempts).in_(bindparam("fences", expanding=True)),
    jobs.c.state == JobState.RUNNING.value,
    jobs.c.lease_owner == bindparam("owner"),
)
_RENEW = (
    update(jobs)
    .where(_OWNED)
    .values(lease_until=bindparam("until"), updated_at=bindparam("now"))
    .returning(jobs.c.id)
)
_COMPLETE = (
    update(jobs)
    .where(_OWNED)
    .values(
        state=JobState.DONE.value,
        lease_until=None,
        finished_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
    .returning(jobs.c.id)
)


def _fenced(batch: Sequence[Job], owner: str) -> dict[str, Any]:
    return {"fences": [(job.id, job.attempts) for job in batch], "owner": owner}


class JobQueue:
    """The job table's operations, plus the wake-up signal workers wait on."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._wakeup = asyncio.Event()
        self._listener: Listener | None = None

    # -- wake-ups ------------------------------------------------------------

    @property
    def wakeup(self) -> asyncio.Event:
        """Set when there may be new work; the worker clears it before leasing."""
        return self._wakeup

    def wake(self) -> None:
        """Signal local workers. Call after committing a transaction that enqueued."""
        self._wakeup.set()

    @property
    def listening(self) -> bool:
        """True while the PostgreSQL LISTEN connection is up (always False on SQLite)."""
        return self._listener is not None and self._listener.listening.is_set()

    async def start_listener(self) -> None:
        """On PostgreSQL, LISTEN for other replicas' enqueues (no-op on SQLite)."""
        if self._listener is None and is_postgres(self.engine):
            self._listener = Listener(self.engine.url, self.wake)
            self._listener.start()

    async def close(self) -> None:
        """Stop listening; the engine itself belongs to the caller."""
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None

    # -- producing -------------------------------------------------------------

    async def enqueue(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        dedupe_key: str | None = None,
        run_at: datetime | None = None,
        conn: AsyncConnection | None = None,
        now: datetime | None = None,
        max_attempts: int | None = None,
    ) -> int | None:
        """Add a job; the new id, or None when a pending job holds `dedupe_key`.

        With `conn`, the job joins the caller's transaction (so it exists if and
        only if the caller's writes do); the caller should `wake()` after commit.
        """
        async with transaction(conn or self.engine) as c:
            job_id = await enqueue_job(
                c,
                kind,
                payload,
                dedupe_key=dedupe_key,
                run_at=run_at,
                now=now,
                max_attempts=max_attempts,
            )
        if conn is None:
            self.wake()
        return job_id

    # -- consuming -------------------------------------------------------------

    async def lease(
        self,
        owner: str,
        *,
        limit: int,
        lease_seconds: float,
        now: datetime | None = None,
        batch: Mapping[str, int] | None = None,
        skip_kinds: Collection[str] = (),
    ) -> list[Job]:
        """Lease up to `limit` due jobs: pending ones, and running ones whose lease expired.

        Jobs of `skip_kinds` are not leased this time (`hub.jobs.leasing.pick_due`).

        `batch` names kinds that are run in batches (kind → batch size): when the
        due jobs include one of that kind, more due jobs of the same kind are leased
        with it, up to the batch size, in the same transaction.

        PostgreSQL: SELECT .. FOR UPDATE SKIP LOCKED lets replicas lease side by
        side without waiting on or double-leasing each other's rows. SQLite: the
        transaction starts with BEGIN IMMEDIATE (see hub.store.db), so the select
        and the update cannot interleave with another writer.
        """
        now = now or utcnow()
        async with transaction(self.engine) as conn:
            ids = await pick_due(
                conn, limit=limit, now=now, batch=batch or {}, skip_kinds=skip_kinds
            )
            if not ids:
                return []
            until = now + timedelta(seconds=lease_seconds)
            result = await conn.execute(
                _TAKE, {"ids": ids, "owner": owner, "until": until, "now": now}
            )
            rows = result.all()
        # The rows are ours now: decoding a batch of them (a few ms of Python) happens
        # after the commit, not while every other writer, the webhooks first, waits.
        leased = [Job.from_row(row) for row in rows]
        return sorted(leased, key=lambda job: (job.run_at, job.id))

    def _owned(self, job: Job, owner: str) -> Any:
        """The fencing predicate: still running, same owner, same lease (attempt)."""
        return and_(
            jobs.c.id == job.id,
            jobs.c.state == JobState.RUNNING.value,
            jobs.c.lease_owner == owner,
            jobs.c.attempts == job.attempts,
        )

    async def renew(
        self, job: Job, owner: str, *, lease_seconds: float, now: datetime | None = None
    ) -> bool:
        """Extend a lease (heartbeat); False when the lease was already taken over."""
        return job.id in await self.renew_many([job], owner, lease_seconds=lease_seconds, now=now)

    async def renew_many(
        self, batch: Sequence[Job], owner: str, *, lease_seconds: float, now: datetime | None = None
    ) -> set[int]:
        """Extend the leases of a batch in one statement; the ids still ours."""
        now = now or utcnow()
        until = now + timedelta(seconds=lease_seconds)
        async with transaction(self.engine) as conn:
            result = await conn.execute(
                _RENEW, _fenced(batch, owner) | {"until": until, "now": now}
            )
            return set(result.scalars())

    async def complete(self, job: Job, owner: str, *, now: datetime | None = None) -> None:
        """Mark a leased job done; raises LeaseLost if another worker owns it now."""
        if job.id not in await self.complete_many([job], owner, now=now):
            raise LeaseLost(job.id, owner)

    async def complete_many(
        self, batch: Sequence[Job], owner: str, *, now: datetime | None = None
    ) -> set[int]:
        """Mark a batch of leased jobs done in one statement; the ids that were still ours
        (any other was taken over after its lease expired: its result is dropped)."""
        if not batch:
            return set()
        now = now or utcnow()
        async with transaction(self.engine) as conn:
            result = await conn.execute(_COMPLETE, _fenced(batch, owner) | {"now": now})
            return set(result.scalars())

    async def fail(
        self,
        job: Job,
        owner: str,
        error: str,
        *,
        retry_at: datetime | None,
        now: datetime | None = None,
        counted: bool = True,
    ) -> JobState:
        """Record a failed run: back to pending at `retry_at`, or dead when it is None.

        A `counted` retry is a failure of the job: the first one starts its retry
        horizon (`first_failed_at`). A rate limit or a paused connector is not.
        Returns the job's new state (DONE when a retry was superseded by a newer
        pending job with the same dedupe key). Raises LeaseLost like `complete`.
        """
        now = now or utcnow()
        async with transaction(self.engine) as conn:
            if retry_at is None:
                values = {"state": JobState.DEAD.value, "finished_at": now}
                state = JobState.DEAD
            else:
                values = {"state": JobState.PENDING.value, "run_at": retry_at}
                if counted:
                    values["first_failed_at"] = func.coalesce(jobs.c.first_failed_at, now)
                state = JobState.PENDING
            values |= {"lease_until": None, "last_error": error, "updated_at": now}
            found, state = await _transition(conn, self._owned(job, owner), values, state, now)
        if not found:
            raise LeaseLost(job.id, owner)
        return state

    async def checkpoint(
        self, job: Job, progress: Mapping[str, Any], *, now: datetime | None = None
    ) -> bool:
        """Keep a running job's progress in its payload, for its retry to start from.

        Fenced by the run (the job still running at this attempt), so a run that was
        taken over cannot overwrite the newer run's payload. False when fenced out.
        """
        now = now or utcnow()
        where = and_(
            jobs.c.id == job.id,
            jobs.c.state == JobState.RUNNING.value,
            jobs.c.attempts == job.attempts,
        )
        async with transaction(self.engine) as conn:
            result = await conn.execute(
                update(jobs)
                .where(where)
                .values(payload={**job.payload, **progress}, updated_at=now)
            )
        return result.rowcount > 0

    async def release(self, owner: str, *, now: datetime | None = None) -> int:
        """Give this owner's running jobs back as pending (graceful shutdown).

        `attempts` is not rolled back: it is the fencing token, and a job that is
        interrupted on every run should still reach its attempt limit.
        """
        now = now or utcnow()
        values = {"state": JobState.PENDING.value, "lease_until": None, "updated_at": now}
        async with transaction(self.engine) as conn:
            ids = (
                (
                    await conn.execute(
                        select(jobs.c.id).where(
                            jobs.c.state == JobState.RUNNING.value, jobs.c.lease_owner == owner
                        )
                    )
                )
                .scalars()
                .all()
            )
            # One at a time: each may collide with the pending-dedupe index on its own.
            for job_id in ids:
                await _transition(conn, jobs.c.id == job_id, values, JobState.PENDING, now)
        if ids:
            self.wake()
        return len(ids)

    # -- administration ----------------------------------------------------------

    async def retry(self, job_id: int, now: datetime | None = None) -> bool:
        """Requeue a dead job now with a fresh attempt budget and retry horizon.

        False when the job is not dead, or when a pending job already holds its
        dedupe key (that job will do the work).
        """
        now = now or utcnow()
        values = {
            "state": JobState.PENDING.value,
            "run_at": now,
            "attempts": 0,
            "first_failed_at": None,
            "takeovers": 0,
            "lease_owner": None,
            "lease_until": None,
            "finished_at": None,
            "updated_at": now,
        }
        where = and_(jobs.c.id == job_id, jobs.c.state == JobState.DEAD.value)
        async with transaction(self.engine) as conn:
            try:
                async with conn.begin_nested():
                    result = await conn.execute(update(jobs).where(where).values(values))
            except IntegrityError:
                return False
        if result.rowcount > 0:
            self.wake()
            return True
        return False

    async def get(self, job_id: int) -> Job | None:
        async with reading(self.engine) as conn:
            row = (await conn.execute(select(jobs).where(jobs.c.id == job_id))).one_or_none()
        return Job.from_row(row) if row is not None else None

    async def list_jobs(
        self, state: JobState | str | None = None, kind: str | None = None, limit: int = 100
    ) -> list[Job]:
        """Newest first, optionally filtered by state and kind."""
        query = select(jobs).order_by(jobs.c.id.desc()).limit(limit)
        if state is not None:
            query = query.where(jobs.c.state == JobState(state).value)
        if kind is not None:
            query = query.where(jobs.c.kind == kind)
        async with reading(self.engine) as conn:
            return [Job.from_row(row) for row in await conn.execute(query)]

    async def next_run_at(self, now: datetime | None = None) -> datetime | None:
        """The earliest future run_at of a pending job (the worker sleeps until then)."""
        now = now or utcnow()
        query = select(func.min(jobs.c.run_at)).where(
            jobs.c.state == JobState.PENDING.value, jobs.c.run_at > now
        )
        async with reading(self.engine) as conn:
            value: datetime | None = (await conn.execute(query)).scalar_one()
        return value

    async def next_retry_at(self, now: datetime | None = None) -> datetime | None:
        """When the next job waiting to be retried comes due (pending, tried before).

        Tried before by any measure: a run that failed and counted (`attempts`), one that
        did not count (a 429, a paused connector: `last_error`), or a take-over. A job
        waiting out a Retry-After is work still to do, not a timer.
        """
        now = now or utcnow()
        tried = or_(
            jobs.c.attempts > 0,
            jobs.c.takeovers > 0,
            jobs.c.last_error.is_not(None),
            jobs.c.first_failed_at.is_not(None),
        )
        query = select(func.min(jobs.c.run_at)).where(jobs.c.state == JobState.PENDING.value, tried)
        async with reading(self.engine) as conn:
            value: datetime | None = (await conn.execute(query)).scalar_one()
        return value

    async def stats(self, now: datetime | None = None) -> QueueStats:
        now = now or utcnow()
        by_kind = select(jobs.c.kind, jobs.c.state, func.count()).group_by(
            jobs.c.kind, jobs.c.state
        )
        due = select(func.count(), func.min(jobs.c.run_at)).where(
            jobs.c.state == JobState.PENDING.value, jobs.c.run_at <= now
        )
        async with reading(self.engine) as conn:
            counts = {
                (kind, JobState(state)): int(n) for kind, state, n in await conn.execute(by_kind)
            }
            pending_due, oldest = (await conn.execute(due)).one()
        totals = totals_by_state(counts)
        return QueueStats(
            counts=counts,
            depth=int(pending_due),
            oldest_pending_age_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
            running=totals.get(JobState.RUNNING, 0),
            dead=totals.get(JobState.DEAD, 0),
        )


async def _transition(
    conn: AsyncConnection,
    where: Any,
    values: Mapping[str, Any],
    state: JobState,
    now: datetime,
) -> tuple[bool, JobState]:
    """Apply `values` to the job matching `where`; (matched, resulting state).

    A move back to pending can collide with the pending-dedupe index. The
    savepoint keeps the surrounding transaction usable so the job can be closed
    as superseded instead.
    """
    try:
        async with conn.begin_nested():
            result = await conn.execute(update(jobs).where(where).values(dict(values)))
    except IntegrityError:
        if state is not JobState.PENDING:
            raise
        result = await conn.execute(
            update(jobs)
            .where(where)
            .values(
                state=JobState.DONE.value,
                lease_until=None,
                last_error=_superseded(values.get("last_error")),
                finished_at=now,
                updated_at=now,
            )
        )
        state = JobState.DONE
    return result.rowcount > 0, state


def _superseded(error: str | None) -> str:
    return f"{error} ({SUPERSEDED})" if error else SUPERSEDED
