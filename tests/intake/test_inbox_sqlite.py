"""Group commit: whichever path stores a batch, the rows read back the same."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.intake.inbox import Delivery, accept_deliveries, count_deliveries, get_delivery
from hub.intake.inbox_sqlite import SqliteInbox
from hub.jobs.queue import JobQueue, JobState
from hub.store.db import create_engine
from hub.store.migrate import upgrade

NOW = datetime(2026, 11, 20, 15, 0, 0, 123456, tzinfo=UTC)
BODY = b'{"event": {"id": "01"}}\n\x00\xff binary too'


@pytest.fixture
async def writer(engine: AsyncEngine) -> AsyncIterator[SqliteInbox | None]:
    """The SQLite file's own group-commit writer (None on PostgreSQL: the engine path)."""
    made = SqliteInbox.for_engine(engine)
    yield made
    if made is not None:
        made.close()


def _delivery(delivery_id: str, source: str = "pagerduty") -> Delivery:
    headers = {"x-webhook-id": delivery_id, "user-agent": "PagerDuty-Webhook/V3.0 \u00e9"}
    return Delivery(source, delivery_id, "incident.triggered", headers, BODY)


async def test_a_batch_reads_back_exactly_as_written(
    engine: AsyncEngine, writer: SqliteInbox | None
) -> None:
    results = await accept_deliveries(
        engine, [_delivery("a"), _delivery("b")], now=NOW, sqlite=writer
    )
    assert all(result.new for result in results)
    stored = await get_delivery(engine, results[0].inbox_id)
    assert stored is not None
    assert (stored.source, stored.delivery_id, stored.event_type) == (
        "pagerduty",
        "a",
        "incident.triggered",
    )
    assert stored.headers == _delivery("a").headers
    assert stored.body == BODY
    assert (stored.received_at, stored.processed_at) == (NOW, None)
    jobs = {job.payload["inbox_id"]: job for job in await JobQueue(engine).list_jobs(kind="ingest")}
    job = jobs[results[1].inbox_id]
    assert (job.state, job.dedupe_key, job.attempts, job.max_attempts) == (
        JobState.PENDING,
        "ingest:pagerduty:b",
        0,
        None,
    )
    assert (job.run_at, job.created_at, job.updated_at) == (NOW, NOW, NOW)


async def test_the_jobs_of_a_batch_are_due_from_its_commit(
    engine: AsyncEngine, writer: SqliteInbox | None
) -> None:
    await accept_deliveries(engine, [_delivery("a"), _delivery("b")], now=NOW, sqlite=writer)
    queue = JobQueue(engine)
    before = NOW - timedelta(microseconds=1)
    assert await queue.lease("w", limit=5, lease_seconds=30, now=before) == []
    assert len(await queue.lease("w", limit=5, lease_seconds=30, now=NOW)) == 2


async def test_a_big_batch_with_repeats_and_redeliveries(
    engine: AsyncEngine, writer: SqliteInbox | None
) -> None:
    [early] = await accept_deliveries(engine, [_delivery("d-7")], now=NOW, sqlite=writer)
    batch = [_delivery(f"d-{n}") for n in range(700)] + [_delivery("d-3"), _delivery("d-3", "jira")]
    results = await accept_deliveries(engine, batch, now=NOW, sqlite=writer)
    assert [r.new for r in results].count(True) == 700  # 699 new pagerduty ids and one jira
    assert results[7].inbox_id == early.inbox_id
    assert not results[7].new
    assert results[700].inbox_id == results[3].inbox_id
    assert await count_deliveries(engine) == 701
    assert len(await JobQueue(engine).list_jobs(kind="ingest", limit=1000)) == 701


async def test_in_memory_sqlite_takes_the_engine_path() -> None:
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    assert SqliteInbox.for_engine(engine) is None
    try:
        await upgrade(engine)
        results = await accept_deliveries(engine, [_delivery("a"), _delivery("a")], now=NOW)
        assert [r.new for r in results] == [True, False]
        assert await count_deliveries(engine) == 1
    finally:
        await engine.dispose()


async def test_a_database_that_cannot_be_opened_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "gone.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    writer = SqliteInbox.for_engine(engine)
    assert writer is not None
    try:
        await upgrade(engine)
        await accept_deliveries(engine, [_delivery("a")], now=NOW, sqlite=writer)
        await engine.dispose()  # as a restart would: the group-commit connection goes too
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.mkdir()
        with pytest.raises(DBAPIError):
            await accept_deliveries(engine, [_delivery("b")], now=NOW, sqlite=writer)
    finally:
        writer.close()
        await engine.dispose()
