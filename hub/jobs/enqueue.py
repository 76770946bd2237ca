"""Adding jobs inside a caller's transaction (the queue itself is `hub.jobs.queue`).

Dedupe: at most one *pending* job per `dedupe_key` (a partial unique index).
Enqueueing a key that is already pending is a no-op, except that the earlier
`run_at` wins. On PostgreSQL a NOTIFY wakes the other replicas' workers at commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal_column, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.jobs.model import JobState
from hub.jobs.wakeups import NOTIFY_CHANNEL
from hub.store.db import dialect_insert, is_postgres, utcnow
from hub.store.tables import jobs

# ON CONFLICT must name the partial index's predicate as a literal: with a bound
# parameter PostgreSQL cannot match the index once it switches a prepared
# statement to a generic plan ("no unique or exclusion constraint matching").
_PENDING_LITERAL = jobs.c.state == literal_column("'pending'")


async def has_running_job(conn: AsyncConnection, dedupe_key: str) -> bool:
    """Whether a job with this dedupe key is leased right now (see `running_jobs`)."""
    return dedupe_key in await running_jobs(conn, [dedupe_key])


async def running_jobs(conn: AsyncConnection, dedupe_keys: Sequence[str]) -> set[str]:
    """Which of these dedupe keys a leased job holds right now; decided for the rest of
    the caller's transaction, so that "none is running, enqueue one" cannot let a twin in.

    Pending jobs under the keys are locked (`FOR UPDATE`) until the caller commits: a
    replica leasing at this moment skips them (leases take `SKIP LOCKED` rows only), so
    they stay pending and the caller's enqueue dedupes into them. A lease already under
    way holds its row: this waits for it, and then sees that job running. (The look for
    running jobs comes second, in a statement of its own, so under READ COMMITTED it
    sees a lease that committed while the first one waited.) SQLite: the caller's
    transaction is the only writer (BEGIN IMMEDIATE), nothing is leased in between.
    """
    if not dedupe_keys:
        return set()
    keys = sorted(set(dedupe_keys))
    if is_postgres(conn):
        pending = (
            select(jobs.c.id)
            .where(jobs.c.dedupe_key.in_(keys), _PENDING_LITERAL)
            .order_by(jobs.c.id)
            .with_for_update()
        )
        await conn.execute(pending)
    running = select(jobs.c.dedupe_key).where(
        jobs.c.dedupe_key.in_(keys), jobs.c.state == JobState.RUNNING.value
    )
    return {row.dedupe_key for row in await conn.execute(running)}


@dataclass(frozen=True)
class KeyedJobs:
    """What holds a set of dedupe keys right now (see `keyed_jobs`)."""

    running: set[str]
    pending_run_at: dict[str, datetime]  # the pending job under each key, and when it is due
    # Keys whose pending job was tried and waits for its retry (attempts > 0): when it
    # runs is its own (backoff, a vendor's Retry-After, a pacer's return time).
    retrying: set[str] = field(default_factory=set)

    def enqueue_would_change(self, dedupe_key: str, run_at: datetime) -> bool:
        """Whether `enqueue_job(dedupe_key, run_at)` could do anything: not when a
        pending job under the key is due no later (the insert dedupes into it and the
        earlier `run_at` already wins)."""
        pending = self.pending_run_at.get(dedupe_key)
        return pending is None or pending > run_at


async def keyed_jobs(conn: AsyncConnection, dedupe_keys: Sequence[str]) -> KeyedJobs:
    """`running_jobs`, and also the pending jobs under the keys with their `run_at`, so a
    caller about to enqueue many keys can skip those already pending early enough (each
    skipped key saves an INSERT and an UPDATE that would both do nothing).

    The same guarantees as `running_jobs`, which this is: on PostgreSQL the pending rows
    are locked until the caller commits (a lease that was under way is waited for and the
    row, no longer pending, is not returned), so what is pending stays pending, at the
    same `run_at`, for the caller's transaction. SQLite: one statement, the caller's
    transaction being the only writer.
    """
    if not dedupe_keys:
        return KeyedJobs(set(), {})
    keys = sorted(set(dedupe_keys))
    columns = (jobs.c.dedupe_key, jobs.c.state, jobs.c.run_at, jobs.c.attempts)
    if not is_postgres(conn):
        rows = await conn.execute(
            select(*columns).where(
                jobs.c.dedupe_key.in_(keys),
                jobs.c.state.in_((JobState.PENDING.value, JobState.RUNNING.value)),
            )
        )
        found = list(rows)
        running = {row.dedupe_key for row in found if row.state == JobState.RUNNING.value}
        return KeyedJobs(running, *_pending(r for r in found if r.state != JobState.RUNNING.value))
    locked = await conn.execute(
        select(*columns)
        .where(jobs.c.dedupe_key.in_(keys), _PENDING_LITERAL)
        .order_by(jobs.c.id)
        .with_for_update()
    )
    pending, retrying = _pending(locked)
    running_rows = await conn.execute(
        select(jobs.c.dedupe_key).where(
            jobs.c.dedupe_key.in_(keys), jobs.c.state == JobState.RUNNING.value
        )
    )
    return KeyedJobs({row.dedupe_key for row in running_rows}, pending, retrying)


def _pending(rows: Iterable[Any]) -> tuple[dict[str, datetime], set[str]]:
    """Pending rows: when each key is due, and the keys waiting for a retry."""
    pending, retrying = {}, set()
    for row in rows:
        pending[row.dedupe_key] = row.run_at
        if row.attempts:
            retrying.add(row.dedupe_key)
    return pending, retrying


async def enqueue_job(
    conn: AsyncConnection,
    kind: str,
    payload: Mapping[str, Any],
    *,
    dedupe_key: str | None = None,
    run_at: datetime | None = None,
    now: datetime | None = None,
    max_attempts: int | None = None,
) -> int | None:
    """Insert a job inside the caller's transaction; the new id, or None if deduped.

    The common case is one INSERT .. ON CONFLICT DO NOTHING. Only when a pending
    job already holds the key is there a second statement, to let the earlier
    `run_at` win. On PostgreSQL a NOTIFY is queued; it is delivered at commit.
    """
    now = now or utcnow()
    run_at = run_at or now
    stmt = (
        dialect_insert(conn, jobs)
        .values(
            kind=kind,
            payload=dict(payload),
            dedupe_key=dedupe_key,
            state=JobState.PENDING.value,
            run_at=run_at,
            attempts=0,
            max_attempts=max_attempts,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=[jobs.c.dedupe_key], index_where=_PENDING_LITERAL)
        .returning(jobs.c.id)
    )
    job_id: int | None = (await conn.execute(stmt)).scalar_one_or_none()
    changed = job_id is not None
    if job_id is None:
        moved = await conn.execute(
            update(jobs)
            .where(
                jobs.c.dedupe_key == dedupe_key,
                jobs.c.state == JobState.PENDING.value,
                jobs.c.run_at > run_at,
            )
            .values(run_at=run_at, updated_at=now)
        )
        changed = moved.rowcount > 0
    if changed and is_postgres(conn):
        await conn.execute(select(func.pg_notify(NOTIFY_CHANNEL, kind)))
    return job_id


async def enqueue_jobs(
    conn: AsyncConnection,
    jobs_to_add: Sequence[tuple[str, Mapping[str, Any], str]],
    *,
    now: datetime,
    move_earlier: bool = False,
) -> None:
    """Insert many jobs (kind, payload, dedupe key) due now, in one statement.

    For the webhook batch every key is new (it names a delivery just stored), so a
    conflict can only be a pending twin, which is the same work. With `move_earlier`
    (keys that may be pending already, e.g. one reconcile per incident), a pending job
    whose key is taken is brought forward to now, as `enqueue_job` does, in a second
    statement for all of them.
    """
    if not jobs_to_add:
        return
    rows = [
        {
            "kind": kind,
            "payload": dict(payload),
            "dedupe_key": key,
            "state": JobState.PENDING.value,
            "run_at": now,
            "attempts": 0,
            "max_attempts": None,
            "created_at": now,
            "updated_at": now,
        }
        for kind, payload, key in jobs_to_add
    ]
    stmt = dialect_insert(conn, jobs).on_conflict_do_nothing(
        index_elements=[jobs.c.dedupe_key], index_where=_PENDING_LITERAL
    )
    await conn.execute(stmt, rows)
    if move_earlier:
        await conn.execute(
            update(jobs)
            .where(
                jobs.c.dedupe_key.in_([key for _, _, key in jobs_to_add]),
                jobs.c.state == JobState.PENDING.value,
                jobs.c.run_at > now,
            )
            .values(run_at=now, updated_at=now)
        )
    if is_postgres(conn):
        # One wake-up per transaction, not one per job.
        await conn.execute(select(func.pg_notify(NOTIFY_CHANNEL, rows[0]["kind"])))


async def unfinished_jobs_like(
    conn: AsyncConnection, patterns: Sequence[str], *, escape: str = "\\"
) -> dict[str, datetime]:
    """The jobs still to finish whose dedupe key matches one of these LIKE `patterns`:
    when each is due (a running one: the time it was due when leased). A plain read,
    locking nothing: for a caller deciding whether to wait for other jobs, not for one
    about to enqueue. Only pending and running rows are looked at (the state index)."""
    if not patterns:
        return {}
    rows = await conn.execute(
        select(jobs.c.dedupe_key, jobs.c.run_at).where(
            jobs.c.state.in_((JobState.PENDING.value, JobState.RUNNING.value)),
            or_(*(jobs.c.dedupe_key.like(pattern, escape=escape) for pattern in patterns)),
        )
    )
    return {row.dedupe_key: row.run_at for row in rows}


def like_literal(text: str) -> str:
    """`text` matched literally in a LIKE pattern (escape character: backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def bring_forward_waiting(
    conn: AsyncConnection, error_pattern: str, *, now: datetime, escape: str = "\\"
) -> int:
    """Pending jobs whose last run ended waiting for something, their `last_error`
    matching the LIKE `error_pattern` (the wait's name and what it waited for), are due
    now: it happened. In the caller's transaction, so they run only once it commits.
    How many."""
    moved = await conn.execute(
        update(jobs)
        .where(
            jobs.c.state == JobState.PENDING.value,
            jobs.c.last_error.like(error_pattern, escape=escape),
            jobs.c.run_at > now,
        )
        .values(run_at=now, updated_at=now)
    )
    count = int(moved.rowcount or 0)
    if count and is_postgres(conn):
        await conn.execute(select(func.pg_notify(NOTIFY_CHANNEL, "effect")))
    return count
