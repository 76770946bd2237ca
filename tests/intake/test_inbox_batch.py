"""Group commit: many deliveries stored in one transaction, each answered correctly."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.intake.inbox import Delivery, accept_deliveries, count_deliveries
from hub.jobs.queue import JobQueue

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def _delivery(delivery_id: str, source: str = "pagerduty") -> Delivery:
    return Delivery(source, delivery_id, "incident.triggered", {}, b'{"event": {}}')


async def test_a_batch_stores_each_delivery_once_with_its_job(engine: AsyncEngine) -> None:
    batch = [_delivery("a"), _delivery("b"), _delivery("a"), _delivery("a", source="jira")]
    results = await accept_deliveries(engine, batch, now=NOW)
    # In the order given; a repeat within the batch is a duplicate of its first.
    assert [r.new for r in results] == [True, True, False, True]
    assert results[2].inbox_id == results[0].inbox_id
    assert await count_deliveries(engine) == 3
    jobs = await JobQueue(engine).list_jobs(kind="ingest", limit=10)
    assert sorted(job.dedupe_key or "" for job in jobs) == [
        "ingest:jira:a",
        "ingest:pagerduty:a",
        "ingest:pagerduty:b",
    ]


async def test_a_redelivery_in_a_later_batch_is_a_duplicate(engine: AsyncEngine) -> None:
    [first] = await accept_deliveries(engine, [_delivery("a")], now=NOW)
    again, other = await accept_deliveries(engine, [_delivery("a"), _delivery("c")], now=NOW)
    assert (again.new, again.inbox_id) == (False, first.inbox_id)
    assert other.new
    assert len(await JobQueue(engine).list_jobs(kind="ingest", limit=10)) == 2


async def test_an_empty_batch_does_nothing(engine: AsyncEngine) -> None:
    assert await accept_deliveries(engine, [], now=NOW) == []
    assert await count_deliveries(engine) == 0
