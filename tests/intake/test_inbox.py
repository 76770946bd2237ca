"""The inbox: a redelivery is a no-op; a new delivery always comes with its ingest job."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.intake.inbox import (
    INGEST_JOB,
    Delivery,
    accept_delivery,
    count_deliveries,
    get_delivery,
    ingest_dedupe_key,
    mark_processed,
)
from hub.jobs.queue import JobQueue, JobState
from tests.store.helpers import T0

BODY = b'{"event": {"id": "01", "event_type": "incident.triggered"}}\n\x00\xff'


def delivery(delivery_id: str = "d-1", source: str = "pagerduty") -> Delivery:
    return Delivery(
        source=source,
        delivery_id=delivery_id,
        event_type="incident.triggered",
        headers={"content-type": "application/json"},
        body=BODY,
    )


async def test_a_redelivery_is_a_no_op(engine: AsyncEngine, queue: JobQueue) -> None:
    first = await accept_delivery(engine, delivery(), now=T0)
    again = await accept_delivery(engine, delivery(), now=T0 + timedelta(minutes=1))
    assert first.new
    assert not again.new
    assert again.inbox_id == first.inbox_id
    assert await count_deliveries(engine) == 1
    [job] = await queue.list_jobs()
    assert (job.kind, job.payload, job.state) == (
        INGEST_JOB,
        {"inbox_id": first.inbox_id},
        JobState.PENDING,
    )
    assert job.dedupe_key == ingest_dedupe_key("pagerduty", "d-1")


async def test_redelivery_after_processing_still_adds_nothing(
    engine: AsyncEngine, queue: JobQueue
) -> None:
    first = await accept_delivery(engine, delivery(), now=T0)
    [job] = await queue.lease("w", limit=1, lease_seconds=30, now=T0)
    await queue.complete(job, "w", now=T0)
    assert await mark_processed(engine, first.inbox_id, now=T0)
    assert not (await accept_delivery(engine, delivery(), now=T0)).new
    assert len(await queue.list_jobs()) == 1


async def test_same_delivery_id_from_another_source_is_distinct(engine: AsyncEngine) -> None:
    await accept_delivery(engine, delivery(source="pagerduty"), now=T0)
    result = await accept_delivery(engine, delivery(source="incidentio"), now=T0)
    assert result.new
    assert await count_deliveries(engine) == 2
    assert await count_deliveries(engine, source="incidentio") == 1


async def test_the_raw_delivery_reads_back_byte_for_byte(engine: AsyncEngine) -> None:
    result = await accept_delivery(engine, delivery(), now=T0)
    stored = await get_delivery(engine, result.inbox_id)
    assert stored is not None
    assert (stored.source, stored.delivery_id, stored.event_type) == (
        "pagerduty",
        "d-1",
        "incident.triggered",
    )
    assert stored.body == BODY
    assert stored.headers == {"content-type": "application/json"}
    assert (stored.received_at, stored.processed_at) == (T0, None)
    later = T0 + timedelta(seconds=3)
    assert await mark_processed(engine, result.inbox_id, now=later)
    processed = await get_delivery(engine, result.inbox_id)
    assert processed is not None
    assert processed.processed_at == later
    assert await get_delivery(engine, 999_999) is None
    assert not await mark_processed(engine, 999_999)


async def test_accept_joins_a_callers_transaction(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        result = await accept_delivery(conn, delivery(), now=T0)
        await conn.rollback()
    assert result.new
    assert await count_deliveries(engine) == 0
