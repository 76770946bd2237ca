"""The inbox: raw webhook deliveries, stored before anything else happens.

Intake verifies a signature, calls `accept_delivery`, and answers 202. The
delivery's bytes are kept exactly as received so normalisation can be replayed
(and re-verified) later. UNIQUE(source, delivery_id) makes a vendor's
redelivery a no-op, and the `ingest` job is enqueued in the same transaction,
so there is never an inbox row without the job that will process it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.intake.inbox_sqlite import SqliteInbox
from hub.jobs.kinds import INGEST, ingest_key
from hub.jobs.queue import enqueue_job, enqueue_jobs
from hub.store.db import Bind, dialect_insert, reading, transaction, utcnow
from hub.store.tables import inbox

INGEST_JOB = INGEST  # kept for callers that name it from here


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery as received: only the headers that matter, raw body."""

    source: str
    delivery_id: str
    event_type: str | None
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class AcceptResult:
    inbox_id: int  # for a redelivery: the id of the row stored the first time
    new: bool


@dataclass(frozen=True)
class StoredDelivery:
    """An inbox row: the delivery as received, plus when it was received and processed."""

    id: int
    source: str
    delivery_id: str
    event_type: str | None
    headers: dict[str, str]
    body: bytes
    received_at: datetime
    processed_at: datetime | None


ingest_dedupe_key = ingest_key


async def accept_delivery(bind: Bind, delivery: Delivery, *, now: datetime) -> AcceptResult:
    """Store a delivery and enqueue its `ingest` job, in one short transaction.

    This is the webhook hot path: a new delivery costs two INSERTs (inbox row,
    job) in one transaction and no reads; only a redelivery reads the original
    row's id back. The caller
    (intake) should `JobQueue.wake()` when `new` so a local worker starts at once.
    """
    stmt = (
        dialect_insert(bind, inbox)
        .values(
            source=delivery.source,
            delivery_id=delivery.delivery_id,
            event_type=delivery.event_type,
            headers=dict(delivery.headers),
            body=delivery.body,
            received_at=now,
        )
        .on_conflict_do_nothing(index_elements=[inbox.c.source, inbox.c.delivery_id])
        .returning(inbox.c.id)
    )
    async with transaction(bind) as conn:
        inbox_id: int | None = (await conn.execute(stmt)).scalar_one_or_none()
        if inbox_id is None:
            existing = await conn.execute(
                select(inbox.c.id).where(
                    inbox.c.source == delivery.source, inbox.c.delivery_id == delivery.delivery_id
                )
            )
            return AcceptResult(inbox_id=existing.scalar_one(), new=False)
        await enqueue_job(
            conn,
            INGEST_JOB,
            {"inbox_id": inbox_id},
            dedupe_key=ingest_dedupe_key(delivery.source, delivery.delivery_id),
            now=now,
        )
    return AcceptResult(inbox_id=inbox_id, new=True)


async def get_delivery(bind: Bind, inbox_id: int) -> StoredDelivery | None:
    return (await get_deliveries(bind, [inbox_id])).get(inbox_id)


async def get_deliveries(bind: Bind, inbox_ids: Sequence[int]) -> dict[int, StoredDelivery]:
    """The stored deliveries with these ids (absent ids are left out), in one read."""
    if not inbox_ids:
        return {}
    async with reading(bind) as conn:
        rows = await conn.execute(select(inbox).where(inbox.c.id.in_(inbox_ids)))
        return {
            row.id: StoredDelivery(
                id=row.id,
                source=row.source,
                delivery_id=row.delivery_id,
                event_type=row.event_type,
                headers=dict(row.headers),
                body=bytes(row.body),
                received_at=row.received_at,
                processed_at=row.processed_at,
            )
            for row in rows
        }


async def mark_processed(bind: Bind, inbox_id: int, *, now: datetime | None = None) -> bool:
    """Record that normalisation finished; False if the row does not exist."""
    return await mark_all_processed(bind, [inbox_id], now=now) > 0


async def mark_all_processed(
    bind: Bind, inbox_ids: Sequence[int], *, now: datetime | None = None
) -> int:
    """`mark_processed` for many rows in one statement; how many rows exist."""
    if not inbox_ids:
        return 0
    async with transaction(bind) as conn:
        result = await conn.execute(
            update(inbox).where(inbox.c.id.in_(inbox_ids)).values(processed_at=now or utcnow())
        )
    return result.rowcount


async def count_deliveries(bind: Bind, source: str | None = None) -> int:
    query = select(func.count()).select_from(inbox)
    if source is not None:
        query = query.where(inbox.c.source == source)
    async with reading(bind) as conn:
        return int((await conn.execute(query)).scalar_one())


async def accept_deliveries(
    bind: Bind, deliveries: list[Delivery], *, now: datetime, sqlite: SqliteInbox | None = None
) -> list[AcceptResult]:
    """Store many deliveries and their `ingest` jobs in ONE transaction (group commit).

    The webhook front door batches concurrent requests through this: a storm of
    deliveries costs one write transaction per batch instead of one per delivery,
    and each request is still answered only after the commit that made it durable.
    Results come back in the order given; a delivery already stored (or repeated
    within the batch) is `new=False`. With `sqlite` (the SQLite file's own writer, see
    `hub.intake.inbox_sqlite`) the batch is one call into its thread.
    """
    if not deliveries:
        return []
    unique: dict[tuple[str, str], Delivery] = {}
    for delivery in deliveries:
        unique.setdefault((delivery.source, delivery.delivery_id), delivery)
    if sqlite is not None and isinstance(bind, AsyncEngine):
        created, existing = await sqlite.store(bind, list(unique.values()), now)
    else:
        created, existing = await _store_with_core(bind, unique, now=now)
    results: list[AcceptResult] = []
    first_seen: set[tuple[str, str]] = set()
    for delivery in deliveries:
        key = (delivery.source, delivery.delivery_id)
        if key in created and key not in first_seen:
            first_seen.add(key)
            results.append(AcceptResult(inbox_id=created[key], new=True))
        else:
            results.append(AcceptResult(inbox_id=created.get(key) or existing[key], new=False))
    return results


async def _store_with_core(
    bind: Bind, unique: dict[tuple[str, str], Delivery], *, now: datetime
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """`accept_deliveries` through SQLAlchemy: PostgreSQL, or a caller's open transaction."""
    rows = [
        {
            "source": d.source,
            "delivery_id": d.delivery_id,
            "event_type": d.event_type,
            "headers": dict(d.headers),
            "body": d.body,
            "received_at": now,
        }
        for d in unique.values()
    ]
    # One statement executed with many parameter sets ("insertmanyvalues"): compiled
    # once and cached, unlike a VALUES list whose length changes with every batch.
    insert = (
        dialect_insert(bind, inbox)
        .on_conflict_do_nothing(index_elements=[inbox.c.source, inbox.c.delivery_id])
        .returning(inbox.c.id, inbox.c.source, inbox.c.delivery_id)
    )
    async with transaction(bind, urgent=True) as conn:
        created = {(r.source, r.delivery_id): r.id for r in await conn.execute(insert, rows)}
        if created:
            await enqueue_jobs(
                conn,
                [
                    (INGEST, {"inbox_id": inbox_id}, ingest_key(source, delivery_id))
                    for (source, delivery_id), inbox_id in created.items()
                ],
                now=now,
            )
        existing = await _existing_ids(conn, [key for key in unique if key not in created])
    return created, existing


async def _existing_ids(
    conn: AsyncConnection, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """Ids of deliveries stored earlier (redeliveries are rare: one query for all of them)."""
    if not keys:
        return {}
    query = select(inbox.c.id, inbox.c.source, inbox.c.delivery_id).where(
        tuple_(inbox.c.source, inbox.c.delivery_id).in_(keys)
    )
    return {(r.source, r.delivery_id): r.id for r in await conn.execute(query)}
