"""The audit trail: who or what changed a post-mortem, and why (the rule).

Append-only: a row is never updated, so the trail can be trusted as history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select

from hub.store.db import Bind, reading, transaction, utcnow
from hub.store.tables import audit


@dataclass(frozen=True)
class AuditEntry:
    subject: str  # the incident or post-mortem id
    action: str
    actor: str  # a person, or "pmhub" for the policy engine
    reason: str
    rule: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    at: datetime | None = None  # set when recorded
    id: int | None = None

    @classmethod
    def from_row(cls, row: Row[Any]) -> AuditEntry:
        return cls(
            id=row.id,
            at=row.at,
            subject=row.subject,
            action=row.action,
            actor=row.actor,
            reason=row.reason,
            rule=row.rule,
            detail=dict(row.detail),
        )


async def record(bind: Bind, entry: AuditEntry, *, now: datetime | None = None) -> int:
    """Append an entry; returns its id. Pass a connection to audit atomically with a change."""
    stmt = (
        insert(audit)
        .values(
            at=entry.at or now or utcnow(),
            subject=entry.subject,
            action=entry.action,
            actor=entry.actor,
            reason=entry.reason,
            rule=entry.rule,
            detail=dict(entry.detail),
        )
        .returning(audit.c.id)
    )
    async with transaction(bind) as conn:
        return int((await conn.execute(stmt)).scalar_one())


async def list_entries(
    bind: Bind, subject: str | None = None, *, limit: int = 100
) -> list[AuditEntry]:
    """Entries oldest first (a trail reads forwards), optionally for one subject."""
    query = select(audit).order_by(audit.c.at, audit.c.id).limit(limit)
    if subject is not None:
        query = query.where(audit.c.subject == subject)
    async with reading(bind) as conn:
        return [AuditEntry.from_row(row) for row in await conn.execute(query)]
