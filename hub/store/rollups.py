"""Announcement roll-ups, stored in the effects ledger: one row per roll-up message.

A roll-up (`hub.engine.performers.rollup`) is a channel message holding many
post-mortems' announcements, a line each. Its row, keyed `rollup:<channel>:<seq>`,
holds the lines (by the announcement's effect key, in arrival order), a `version`
counting changes to them, `shown` (the version the message last showed) and, once
posted, the message's reference. The ledger's unique key and this row make a crash
or another replica carry on with the same roll-up instead of starting another.

Writers serialise on `rollup_lock`: an asyncio lock in the process and, on
PostgreSQL, a transaction-scoped advisory lock, so replicas queue too. No migration:
the effects table already holds a key, a JSON payload and a vendor reference.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text

from hub.store.db import Bind, dialect_insert, is_postgres, reading, transaction, utcnow
from hub.store.tables import effects, jobs

ROLLUP_PREFIX = "rollup:"
ROLLUP_KIND = "rollup"
# The engine's effect-job dedupe key of a post-mortem's channel announcement.
ANNOUNCE_JOB_PATTERN = "effect:pm:%:owner:announce"
WAITING_JOB_STATES = ("pending", "running")


@dataclass(frozen=True)
class Rollup:
    key: str
    channel: str
    seq: int
    lines: dict[str, str] = field(default_factory=dict)  # announcement key -> line
    version: int = 0
    shown: int = 0
    ref: str | None = None
    posting: bool = False  # a post was attempted: after a crash, look for it first
    updated_at: datetime | None = None  # as stored (None: not stored yet)

    @classmethod
    def opened(cls, channel: str, seq: int) -> Rollup:
        return cls(key=rollup_key(channel, seq), channel=channel, seq=seq)

    def with_line(self, key: str, line: str) -> Rollup:
        if self.lines.get(key) == line:
            return self
        return replace(self, lines={**self.lines, key: line}, version=self.version + 1)

    def detail(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "seq": self.seq,
            "lines": [[key, line] for key, line in self.lines.items()],
            "version": self.version,
            "shown": self.shown,
            "posting": self.posting,
        }

    @classmethod
    def from_detail(
        cls,
        key: str,
        vendor_ref: str | None,
        detail: dict[str, Any],
        updated_at: datetime | None = None,
    ) -> Rollup:
        lines = {str(k): str(v) for k, v in detail.get("lines") or ()}
        return cls(
            key=key,
            channel=str(detail["channel"]),
            seq=int(detail["seq"]),
            lines=lines,
            version=int(detail.get("version", 0)),
            shown=int(detail.get("shown", 0)),
            ref=vendor_ref,
            posting=bool(detail.get("posting", False)),
            updated_at=updated_at,
        )


def rollup_key(channel: str, seq: int) -> str:
    # Zero-padded: the keys of one channel sort in the order the roll-ups were opened.
    return f"{ROLLUP_PREFIX}{channel}:{seq:08d}"


def _channel_prefix(channel: str) -> str:
    return f"{ROLLUP_PREFIX}{channel}:"


async def waiting_announcements(bind: Bind) -> int:
    """Channel announcements queued or running now, across every replica sharing the store."""
    query = (
        select(func.count())
        .select_from(jobs)
        .where(jobs.c.kind == "effect")
        .where(jobs.c.state.in_(WAITING_JOB_STATES))
        .where(jobs.c.dedupe_key.like(ANNOUNCE_JOB_PATTERN))
    )
    async with reading(bind) as conn:
        return int((await conn.execute(query)).scalar_one())


async def load_rollup(bind: Bind, key: str) -> Rollup | None:
    query = select(
        effects.c.key, effects.c.vendor_ref, effects.c.detail, effects.c.updated_at
    ).where(effects.c.key == key)
    async with reading(bind) as conn:
        row = (await conn.execute(query)).one_or_none()
    if row is None or not row.detail.get("channel"):
        return None  # missing, or its payload emptied by retention: no lines to keep
    return Rollup.from_detail(row.key, row.vendor_ref, dict(row.detail), row.updated_at)


async def latest_rollup(bind: Bind, channel: str) -> Rollup | None:
    """The channel's newest roll-up (the one new lines go to while it has room)."""
    query = (
        select(effects.c.key)
        .where(effects.c.key.startswith(_channel_prefix(channel), autoescape=True))
        .order_by(effects.c.key.desc())
        .limit(1)
    )
    async with reading(bind) as conn:
        key = (await conn.execute(query)).scalar_one_or_none()
    return await load_rollup(bind, key) if key is not None else None


async def rollup_holding(
    bind: Bind, channel: str, line_key: str, *, recent: int = 50
) -> str | None:
    """The roll-up (of the channel's `recent` newest) that holds `line_key`'s line, if any.

    Asked on every retry of a job whose line waited for an edit, whose line is almost
    always in the newest roll-up or the one before: those are read first.
    """
    for limit in (2, recent):
        query = (
            select(effects.c.key, effects.c.detail)
            .where(effects.c.key.startswith(_channel_prefix(channel), autoescape=True))
            .order_by(effects.c.key.desc())
            .limit(limit)
        )
        async with reading(bind) as conn:
            rows = (await conn.execute(query)).all()
        for row in rows:
            if any(key == line_key for key, _ in row.detail.get("lines") or ()):
                return str(row.key)
        if len(rows) < limit:
            return None
    return None


async def save_rollup(bind: Bind, rollup: Rollup, *, now: datetime | None = None) -> None:
    """Insert or overwrite the roll-up's row (callers hold `rollup_lock`)."""
    now = now or utcnow()
    values = {
        "kind": ROLLUP_KIND,
        "state": "done",  # a record of a message, not an action waiting to be done
        "vendor_ref": rollup.ref,
        "intent_hash": ROLLUP_KIND,
        "detail": rollup.detail(),
        "error": None,
        "updated_at": now,
    }
    insert = dialect_insert(bind, effects).values(key=rollup.key, created_at=now, **values)
    upsert = insert.on_conflict_do_update(index_elements=[effects.c.key], set_=values)
    async with transaction(bind) as conn:
        await conn.execute(upsert)


_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(:name))")
_TRY_ADVISORY_LOCK = text("SELECT pg_try_advisory_xact_lock(hashtext(:name))")
# Per engine and name: two engines on one database in one process (tests, a tool)
# are two writers, as two replicas are, and meet at the database's lock.
_local_locks: weakref.WeakValueDictionary[tuple[int, str], asyncio.Lock] = (
    weakref.WeakValueDictionary()
)


@asynccontextmanager
async def rollup_lock(bind: Bind, name: str) -> AsyncIterator[None]:
    """Hold `name` against every other holder: in this process, and on PostgreSQL in
    every replica (a transaction-scoped advisory lock, released when the block ends).

    The process lock is taken first, so a process holds at most one connection per
    name waiting on the database's lock, whatever the number of jobs waiting here.
    """
    local = (id(bind), name)
    lock = _local_locks.get(local)
    if lock is None:
        lock = _local_locks[local] = asyncio.Lock()
    async with lock:
        if not is_postgres(bind):
            yield  # SQLite: one process by design, the process lock is the whole story
            return
        async with transaction(bind) as conn:
            await conn.execute(_ADVISORY_LOCK, {"name": name})
            yield


@asynccontextmanager
async def try_rollup_lock(bind: Bind, name: str) -> AsyncIterator[bool]:
    """`rollup_lock` if nobody holds it now (yields True, held for the block); else
    yields False at once: the caller does something better than wait."""
    local = (id(bind), name)
    lock = _local_locks.get(local)
    if lock is None:
        lock = _local_locks[local] = asyncio.Lock()
    if lock.locked():
        yield False
        return
    async with lock:
        if not is_postgres(bind):
            yield True
            return
        async with transaction(bind) as conn:
            taken = bool((await conn.execute(_TRY_ADVISORY_LOCK, {"name": name})).scalar_one())
            yield taken
