"""Which jobs a lease takes: the due ones, oldest first, each found through the index.

"Due" is two cases, pending jobs whose `run_at` has come and running jobs whose lease
expired. One query with `a OR b` cannot walk `ix_jobs_state_run_at` in order: SQLite
merged both sets and sorted every due job to return a handful, which with a backlog of
tens of thousands of deliveries cost milliseconds per lease, inside the write lock the
webhook front door waits for. Each case on its own is an index range scan already in
(`run_at`, `id`) order (SQLite's index carries the rowid; PostgreSQL stops at the limit
too), so each is asked for `limit` rows and the two short lists are merged here.
Both branches go in one statement (UNION ALL of two common table expressions, each
keeping its own ORDER BY, LIMIT and, on PostgreSQL, FOR UPDATE SKIP LOCKED): a lease
runs on every wake-up of the worker loop, and its statements were a sixth of a storm's
(issue 16).
The statement is built once, with bound parameters: each new statement object costs
SQLAlchemy a cache-key computation, measured at a good part of a millisecond a lease.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import CompoundSelect, Select, bindparam, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.jobs.model import JobState
from hub.store.tables import jobs


def _due(where: Any, limit: str) -> Select[Any]:
    """Built once: reused, a statement's cache key is not computed again for each lease."""
    return (
        select(jobs.c.id, jobs.c.run_at, jobs.c.kind)
        .where(where)
        .order_by(jobs.c.run_at, jobs.c.id)
        .limit(bindparam(limit))
        .with_for_update(skip_locked=True)
    )


_PENDING = _due(
    (jobs.c.state == JobState.PENDING.value) & (jobs.c.run_at <= bindparam("now")), "window"
).cte("due_pending")
_EXPIRED = _due(
    (jobs.c.state == JobState.RUNNING.value) & (jobs.c.lease_until < bindparam("now")), "limit"
).cte("due_expired")
# Each branch is read whole from its CTE, so its ORDER BY and LIMIT stay its own (a
# LIMIT on a bare UNION ALL branch would apply to the union).
_DUE: CompoundSelect[Any] = union_all(select(_PENDING), select(_EXPIRED))


async def pick_due(
    conn: AsyncConnection,
    *,
    limit: int,
    now: datetime,
    batch: Mapping[str, int],
    skip_kinds: Collection[str] = (),
) -> list[int]:
    """Ids of the jobs to lease, oldest first, inside the caller's transaction.

    The `limit` oldest due jobs; then, for each kind in `batch` among them, the next
    due jobs of that kind up to its batch size (they run together, so they take one
    of the worker's slots between them). Those come from the same read: the pending
    jobs are read a batch further than `limit`.

    Jobs of `skip_kinds` are left for a later lease (the worker's linger holds back the
    batched kinds while it lets the rest through); they still fill the read window, so
    a backlog of them hides the others until then, which is all the linger costs.
    """
    window = limit + max(batch.values(), default=0)
    due = list(await conn.execute(_DUE, {"now": now, "window": window, "limit": limit}))
    if skip_kinds:
        due = [row for row in due if row.kind not in skip_kinds]
    due.sort(key=lambda row: (row.run_at, row.id))
    picked, rest = due[:limit], due[limit:]
    ids = [row.id for row in picked]
    kinds = [row.kind for row in picked]
    for kind, size in batch.items():
        room = size - kinds.count(kind)
        if kind in kinds and room > 0:
            ids += [row.id for row in rest if row.kind == kind][:room]
    return ids
