"""Ingest in batches: the same incidents as one delivery at a time, each job its own outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.errors import Permanent
from hub.intake.adapters import AdapterOptions
from hub.intake.inbox import Delivery, accept_deliveries, get_delivery
from hub.intake.ingest import FactGatherer, Ingestor, Sources
from hub.jobs.kinds import INGEST, RECONCILE, reconcile_key
from hub.jobs.queue import Job, JobQueue, JobState
from hub.store.db import create_engine
from hub.store.migrate import upgrade
from hub.store.state import load_incident
from tests.support.signing import pagerduty_delivery

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
LIFECYCLE = [
    ("incident.triggered", "2026-11-20T14:05:00.000Z"),
    ("incident.acknowledged", "2026-11-20T14:07:00.000Z"),
    ("incident.resolved", "2026-11-20T14:30:00.000Z"),
]


def _deliveries() -> list[Delivery]:
    """Two incidents' lifecycles, interleaved, the second one delivered out of order."""
    made = []
    for incident, order in (("PA", [0, 1, 2]), ("PB", [2, 0, 1])):
        for n in order:
            event_type, at = LIFECYCLE[n]
            webhook_id = f"{incident}-{n}"
            body, _ = pagerduty_delivery(
                event_type, incident_id=incident, webhook_id=webhook_id, occurred_at=at
            )
            made.append(Delivery("pagerduty", webhook_id, event_type, {}, body))
    return made


def _ingestor(engine: AsyncEngine) -> Ingestor:
    gatherer = FactGatherer(Sources(), AdapterOptions(), lambda: NOW)
    return Ingestor(engine, JobQueue(engine), gatherer, clock=lambda: NOW)


async def _lease_all(queue: JobQueue, *, batch: int) -> list[Job]:
    return await queue.lease("w", limit=1, lease_seconds=60, now=NOW, batch={INGEST: batch})


async def test_a_batch_ends_where_one_at_a_time_ends(engine: AsyncEngine, tmp_path: Path) -> None:
    queue = JobQueue(engine)
    await accept_deliveries(engine, _deliveries(), now=NOW)
    jobs = await _lease_all(queue, batch=10)
    assert len(jobs) == 6
    assert await _ingestor(engine).run_batch(jobs) == [None] * 6

    single = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'single.db'}")
    try:
        await upgrade(single)
        await accept_deliveries(single, _deliveries(), now=NOW)
        one_queue, ingestor = JobQueue(single), _ingestor(single)
        while one := await one_queue.lease("w", limit=1, lease_seconds=60, now=NOW):
            if one[0].kind == INGEST:
                await ingestor(one[0])
            await one_queue.complete(one[0], "w", now=NOW)
        for incident in ("pagerduty:PA", "pagerduty:PB"):
            batched, alone = (
                await load_incident(engine, incident),
                await load_incident(single, incident),
            )
            assert batched is not None
            assert alone is not None
            assert batched.to_json() == alone.to_json()
            assert batched.incident.resolved_at is not None
    finally:
        await single.dispose()


async def test_a_batch_marks_its_deliveries_and_asks_one_reconcile_per_incident(
    engine: AsyncEngine,
) -> None:
    queue = JobQueue(engine)
    await accept_deliveries(engine, _deliveries(), now=NOW)
    jobs = await _lease_all(queue, batch=10)
    await _ingestor(engine).run_batch(jobs)
    for job in jobs:
        stored = await get_delivery(engine, job.payload["inbox_id"])
        assert stored is not None
        assert stored.processed_at == NOW
    reconciles = await queue.list_jobs(kind=RECONCILE, state=JobState.PENDING)
    assert sorted(job.dedupe_key or "" for job in reconciles) == [
        reconcile_key("pagerduty:PA"),
        reconcile_key("pagerduty:PB"),
    ]


async def test_a_bad_job_fails_alone(engine: AsyncEngine) -> None:
    queue = JobQueue(engine)
    await accept_deliveries(engine, _deliveries()[:2], now=NOW)
    await queue.enqueue(INGEST, {"inbox_id": 999_999}, now=NOW - timedelta(seconds=1))
    await queue.enqueue(INGEST, {"inbox_id": "nope"}, now=NOW - timedelta(seconds=1))
    jobs = await _lease_all(queue, batch=10)
    assert len(jobs) == 4
    errors = await _ingestor(engine).run_batch(jobs)
    by_job = {job.payload["inbox_id"]: error for job, error in zip(jobs, errors, strict=True)}
    assert isinstance(by_job[999_999], Permanent)
    assert "does not exist" in str(by_job[999_999])
    assert isinstance(by_job["nope"], Permanent)
    assert [error for key, error in by_job.items() if isinstance(key, int) and key < 999_999] == [
        None,
        None,
    ]
    incident = await load_incident(engine, "pagerduty:PA")
    assert incident is not None
