"""Retention: what months unattended would otherwise pile up, removed in small batches.

Four things grow with every delivery: the inbox (raw webhook bodies), finished jobs,
done effects' payloads (`detail`) and the audit. Each has its own horizon
(`Horizons`); everything older than it is removed, except what is still live:

- the inbox: only deliveries already processed (`processed_at` set); one a job has
  not ingested yet is kept however old. A vendor redelivering a removed delivery gets
  it ingested again, which is harmless: ingesting converges (DESIGN.md, Normalize).
- jobs: only `done` and `dead` ones, by when they finished; pending and running jobs,
  timers included, are never touched. Dead letters have their own, longer horizon:
  they are what someone debugging a failure reads.
- effects: the row stays (its key is what makes an effect happen exactly once); only
  the payload of a `done` effect is emptied, and never one of a post-mortem still
  open. The keys the flow reads back from a payload (`KEPT_DETAIL`) are kept.
- the audit: by entry time; its horizon is the longest (who decided what and why).

Every batch is its own short transaction (`batch_size` rows), so retention never
holds the SQLite writer lock or PostgreSQL row locks for long, and a crash midway
leaves nothing half done: the next run carries on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, literal, not_, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from hub.model.postmortem import PostMortemStatus
from hub.store.db import Bind, transaction
from hub.store.tables import audit, effects, inbox, jobs, pacing_slots, postmortems

# Read back from a done effect by the flow (milestones ask whether it was skipped).
KEPT_DETAIL = frozenset({"skipped"})
PRUNED = "pruned"
# A pacing key idle this long carries no state (its slot is long past).
PACING_IDLE = timedelta(days=1)


@dataclass(frozen=True)
class Horizons:
    """How long each kind of row is kept."""

    inbox: timedelta
    jobs: timedelta
    dead_jobs: timedelta
    effect_payloads: timedelta
    audit: timedelta


@dataclass(frozen=True)
class Removed:
    """Rows removed (effects: payloads emptied) by one retention run, per table."""

    inbox: int = 0
    jobs: int = 0
    effect_payloads: int = 0
    audit: int = 0
    pacing_slots: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "inbox": self.inbox,
            "jobs": self.jobs,
            "effect_payloads": self.effect_payloads,
            "audit": self.audit,
            "pacing_slots": self.pacing_slots,
        }


async def apply_retention(
    bind: Bind, horizons: Horizons, *, now: datetime, batch_size: int = 1000
) -> Removed:
    """Remove everything past its horizon, batch by batch; what was removed."""
    batch = _Batches(bind, batch_size)
    return Removed(
        inbox=await batch.delete(inbox, inbox.c.id, inbox.c.processed_at < now - horizons.inbox),
        jobs=await batch.delete(
            jobs,
            jobs.c.id,
            or_(
                and_(jobs.c.state == "done", jobs.c.finished_at < now - horizons.jobs),
                and_(jobs.c.state == "dead", jobs.c.finished_at < now - horizons.dead_jobs),
            ),
        ),
        effect_payloads=await _prune_effect_payloads(batch, now - horizons.effect_payloads),
        audit=await batch.delete(audit, audit.c.id, audit.c.at < now - horizons.audit),
        pacing_slots=await batch.delete(
            pacing_slots, pacing_slots.c.key, pacing_slots.c.next_at < now - PACING_IDLE
        ),
    )


class _Batches:
    def __init__(self, bind: Bind, size: int) -> None:
        if size < 1:
            raise ValueError("batch_size must be at least 1")
        self.bind = bind
        self.size = size

    async def delete(self, table: Any, key: Any, old: ColumnElement[bool]) -> int:
        """Delete the rows matching `old`, `size` at a time; the count."""
        total = 0
        while True:
            async with transaction(self.bind) as conn:
                chosen = select(key).where(old).limit(self.size).scalar_subquery()
                result = await conn.execute(delete(table).where(key.in_(chosen)))
            removed = int(result.rowcount or 0)
            total += removed
            if removed < self.size:
                return total


def _of_open_postmortem() -> ColumnElement[bool]:
    """The effect belongs to a post-mortem not yet closed (its key is `pm:<incident>:…`)."""
    prefix = literal("pm:") + postmortems.c.incident_id + literal(":%")
    return exists().where(
        postmortems.c.status != PostMortemStatus.CLOSED.value,
        effects.c.key.like(prefix),
    )


async def _prune_effect_payloads(batch: _Batches, before: datetime) -> int:
    """Empty the payloads of done effects past `before` (keeping `KEPT_DETAIL`); the count.

    Rows are read and rewritten in Python, so the kept keys are picked the same way on
    both databases; `updated_at` is left alone (milestones read it as the done time).
    The scan walks forward by id, so a run always ends.
    """
    prunable = and_(
        effects.c.state == "done",
        effects.c.updated_at < before,
        not_(_of_open_postmortem()),
    )
    pruned, after = 0, 0
    while True:
        async with transaction(batch.bind) as conn:
            rows = (
                await conn.execute(
                    select(effects.c.id, effects.c.detail)
                    .where(prunable, effects.c.id > after)
                    .order_by(effects.c.id)
                    .limit(batch.size)
                )
            ).all()
            for row in rows:
                slim = {k: v for k, v in dict(row.detail).items() if k in KEPT_DETAIL}
                slim[PRUNED] = True
                if dict(row.detail) != slim:
                    await conn.execute(
                        update(effects).where(effects.c.id == row.id).values(detail=slim)
                    )
                    pruned += 1
        if len(rows) < batch.size:
            return pruned
        after = rows[-1].id
