"""A retried ingest job repeats only the PagerDuty reads that failed (issue 12, defect 2).

An ingest job reads the incident, its log entries, the on-call and users' emails; under
vendor faults they rarely all succeed in one attempt. The reads that did are kept in the
job's checkpoint, so the retry starts from them. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.pagerduty import PagerDutyConnector
from connectors.pagerduty.fake import FakePagerDuty
from hub.errors import Transient
from hub.intake.adapters import AdapterOptions
from hub.intake.inbox import Delivery, accept_deliveries
from hub.intake.ingest import FactGatherer, Ingestor, Sources
from hub.jobs.queue import JobQueue
from hub.store.state import load_incident
from tests.connectors.pagerduty.conftest import INCIDENT
from tests.support.signing import pagerduty_delivery

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
INCIDENT_READ = ("GET", f"/incidents/{INCIDENT}")
LOG_READ = ("GET", f"/incidents/{INCIDENT}/log_entries")


async def test_a_retry_repeats_only_the_reads_that_failed(
    engine: AsyncEngine, fake: FakePagerDuty, connector: PagerDutyConnector
) -> None:
    queue = JobQueue(engine)
    # The resolution: the delivery that reads the incident and its log for the post-mortem.
    body, _ = pagerduty_delivery(
        "incident.resolved",
        incident_id=INCIDENT,
        webhook_id="W1",
        extra_data={"status": "resolved"},
    )
    delivery = Delivery("pagerduty", "W1", "incident.resolved", {}, body)
    await accept_deliveries(engine, [delivery], now=NOW)
    gatherer = FactGatherer(Sources(pagerduty=connector), AdapterOptions(), lambda: NOW)
    ingestor = Ingestor(engine, queue, gatherer, clock=lambda: NOW)
    fake.fail(503, times=1, route="/incidents/{id}/log_entries")

    [first] = await queue.lease("w", limit=1, lease_seconds=60)
    [error] = await ingestor.run_batch([first])
    assert isinstance(error, Transient)
    await queue.fail(first, "w", str(error), retry_at=first.run_at)
    assert (fake.calls[INCIDENT_READ], fake.calls[LOG_READ]) == (1, 1)

    [retry] = await queue.lease("w", limit=1, lease_seconds=60)
    assert retry.id == first.id
    assert await ingestor.run_batch([retry]) == [None]
    # The incident read that succeeded was not repeated; the failed log read was.
    assert (fake.calls[INCIDENT_READ], fake.calls[LOG_READ]) == (1, 2)
    record = await load_incident(engine, f"pagerduty:{INCIDENT}")
    assert record is not None
    assert record.incident.acknowledged_at is not None  # from the kept incident read


async def test_a_run_that_was_taken_over_cannot_overwrite_the_checkpoint(
    engine: AsyncEngine,
) -> None:
    queue = JobQueue(engine)
    job_id = await queue.enqueue("ingest", {"inbox_id": 1})
    [stale] = await queue.lease("a", limit=1, lease_seconds=0)
    [fresh] = await queue.lease("b", limit=1, lease_seconds=60)
    assert fresh.id == stale.id == job_id
    assert await queue.checkpoint(fresh, {"reads": {"k": 1}})
    assert not await queue.checkpoint(stale, {"reads": {"k": 0}})
    job = await queue.get(fresh.id)
    assert job is not None
    assert job.payload == {"inbox_id": 1, "reads": {"k": 1}}
