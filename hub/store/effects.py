"""The effects ledger: what pmhub did (or is doing) in the outside world.

A connector writes the `pending` row *before* its vendor call and completes it
with the vendor's id afterwards. After a crash, a `pending` row whose outcome
is unknown tells the connector to look for its own earlier effect before
repeating it. The reconciler diffs its plan against this ledger by key, and
compares `intent_hash` to notice an intent that changed.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, select, update

from hub.store.db import Bind, dialect_insert, reading, transaction, utcnow
from hub.store.tables import effects


class EffectState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class EffectRow:
    key: str
    kind: str
    state: EffectState
    vendor_ref: str | None
    intent_hash: str
    detail: dict[str, Any]
    error: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Row[Any]) -> EffectRow:
        return cls(
            key=row.key,
            kind=row.kind,
            state=EffectState(row.state),
            vendor_ref=row.vendor_ref,
            intent_hash=row.intent_hash,
            detail=dict(row.detail),
            error=row.error,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True)
class EffectStart:
    """What `begin_effect` found: the row, and whether this call made it. A row it did
    not make and that is still `pending` was made by an earlier attempt, which may have
    acted before it was cut off (a timeout, a crash): its outcome is unknown."""

    row: EffectRow
    created: bool

    @property
    def earlier_attempt_unfinished(self) -> bool:
        return not self.created and self.row.state is EffectState.PENDING


class EffectNotFound(LookupError):
    def __init__(self, key: str) -> None:
        super().__init__(f"no effect recorded with key {key!r}")
        self.key = key


async def begin_effect(
    bind: Bind, key: str, kind: str, intent_hash: str, *, now: datetime | None = None
) -> EffectStart:
    """Create the `pending` row for `key` if missing; return the row either way, and
    whether this call created it (the store knows; a clock that stands still does not).

    An existing row is returned unchanged, whatever its state: deciding whether
    a done/failed/changed effect should be redone is the caller's business.
    """
    now = now or utcnow()
    insert = (
        dialect_insert(bind, effects)
        .values(
            key=key,
            kind=kind,
            state=EffectState.PENDING.value,
            intent_hash=intent_hash,
            detail={},
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=[effects.c.key])
        .returning(*effects.c)
    )
    async with transaction(bind) as conn:
        row = (await conn.execute(insert)).one_or_none()
        created = row is not None
        if row is None:
            row = (await conn.execute(select(effects).where(effects.c.key == key))).one()
    return EffectStart(EffectRow.from_row(row), created=created)


async def _set(bind: Bind, key: str, values: dict[str, Any]) -> EffectRow:
    async with transaction(bind) as conn:
        row = (
            await conn.execute(
                update(effects).where(effects.c.key == key).values(values).returning(*effects.c)
            )
        ).one_or_none()
    if row is None:
        raise EffectNotFound(key)
    return EffectRow.from_row(row)


async def complete_effect(
    bind: Bind,
    key: str,
    vendor_ref: str | None,
    detail: dict[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> EffectRow:
    """Record success with the vendor's id (Slack ts, event id, issue key, ...)."""
    values = {
        "state": EffectState.DONE.value,
        "vendor_ref": vendor_ref,
        "detail": detail or {},
        "error": None,
        "updated_at": now or utcnow(),
    }
    return await _set(bind, key, values)


async def fail_effect(
    bind: Bind, key: str, reason: str, *, now: datetime | None = None
) -> EffectRow:
    """Record that the effect will not happen (a permanent vendor refusal)."""
    values = {"state": EffectState.FAILED.value, "error": reason, "updated_at": now or utcnow()}
    return await _set(bind, key, values)


async def get_effect(bind: Bind, key: str) -> EffectRow | None:
    async with reading(bind) as conn:
        row = (await conn.execute(select(effects).where(effects.c.key == key))).one_or_none()
    return EffectRow.from_row(row) if row is not None else None


async def get_effects(bind: Bind, keys: Iterable[str]) -> dict[str, EffectRow]:
    """The ledger rows under these keys, by key (a key with no row is absent): one
    statement for a whole plan, where `get_effect` per intent was one per intent."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    async with reading(bind) as conn:
        rows = await conn.execute(select(effects).where(effects.c.key.in_(wanted)))
        return {row.key: EffectRow.from_row(row) for row in rows}


async def list_effects(bind: Bind, prefix: str = "") -> builtins.list[EffectRow]:
    """Effects whose key starts with `prefix` (e.g. "pm:<id>:"), in key order."""
    query = select(effects).order_by(effects.c.key)
    if prefix:
        query = query.where(effects.c.key.startswith(prefix, autoescape=True))
    async with reading(bind) as conn:
        return [EffectRow.from_row(row) for row in await conn.execute(query)]


async def restart_effect(
    bind: Bind, key: str, intent_hash: str, *, now: datetime | None = None
) -> EffectRow:
    """The intent behind a done effect changed (e.g. new invitees): do it again, for this hash."""
    values = {
        "state": EffectState.PENDING.value,
        "intent_hash": intent_hash,
        "error": None,
        "updated_at": now or utcnow(),
    }
    return await _set(bind, key, values)
