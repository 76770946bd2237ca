"""PagerDuty REST reads per incident, over its life (issue 16): read when needed, reuse the rest.

A storm of incidents on one escalation policy, each triggered -> acknowledged -> resolved,
reads each incident and its log once (at the resolution) and the policy's on-call once
per TTL; deliveries the last read already covers read nothing; a change after the
resolution reads the incident again and its log only since the last read. Against the
PagerDuty fake, counting its requests; the records are complete all the same.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.pagerduty import PagerDutyConfig, PagerDutyConnector
from connectors.pagerduty.client import PagerDutyClient
from connectors.pagerduty.fake import FakePagerDuty
from hub.intake.adapters import AdapterOptions
from hub.intake.inbox import Delivery, accept_deliveries
from hub.intake.ingest import FactGatherer, Ingestor, Sources
from hub.jobs.kinds import INGEST
from hub.jobs.queue import JobQueue
from hub.store.state import load_incident
from tests.connectors.pagerduty.conftest import ALICE, CAROL, POLICY
from tests.support.signing import pagerduty_delivery
from tests.support.tls import LoopbackTls

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
STORM = 20
CREATED, ACKED, RESOLVED = "2026-11-20T14:00:00Z", "2026-11-20T14:04:00Z", "2026-11-20T14:30:00Z"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _connector(base_url: str, tls: LoopbackTls, clock: Clock) -> PagerDutyConnector:
    config = PagerDutyConfig.model_validate(
        {
            "api_token": SecretStr(FakePagerDuty.token),
            "base_url": base_url,
            "timeout_seconds": 5,
            "ca_bundle": tls.ca_pem,
        }
    )
    return PagerDutyConnector(PagerDutyClient(config), oncall_cache_seconds=60, clock=clock)


def _seed_resolved(fake: FakePagerDuty, incident_id: str) -> None:
    """The incident as the API has it once resolved, with the log of its whole life."""
    fake.add_incident(
        incident_id,
        status="resolved",
        created_at=CREATED,
        updated_at=RESOLVED,
        resolved_at=RESOLVED,
        acknowledgers=[(ALICE, ACKED)],
        assignees=[(ALICE, CREATED)],
    )
    fake.add_log_entry(incident_id, "trigger_log_entry", created_at=CREATED, agent=("user", CAROL))
    fake.add_log_entry(
        incident_id, "acknowledge_log_entry", created_at=ACKED, agent=("user", ALICE)
    )
    fake.add_log_entry(incident_id, "resolve_log_entry", created_at=RESOLVED, agent=("user", ALICE))


def _delivery(incident_id: str, event: str, status: str, at: str, webhook_id: str) -> Delivery:
    # As PagerDuty sends them: the incident as of the event, its escalation policy named.
    data = {"status": status, "escalation_policy": {"id": POLICY, "type": "escalation_policy"}}
    body, _ = pagerduty_delivery(
        f"incident.{event}",
        incident_id=incident_id,
        webhook_id=webhook_id,
        extra_data=data,
        occurred_at=at,
    )
    return Delivery("pagerduty", webhook_id, f"incident.{event}", {}, body)


async def _ingest_all(engine: AsyncEngine, queue: JobQueue, ingestor: Ingestor) -> None:
    """Every ingest job, in batches as the worker runs them (reconciles are left alone)."""
    while jobs := await queue.lease("w", limit=Ingestor.batch_size, lease_seconds=60):
        ingest = [job for job in jobs if job.kind == INGEST]
        errors = await ingestor.run_batch(ingest)
        assert errors == [None] * len(ingest)
        for job in jobs:
            await queue.complete(job, "w")


def _reads(fake: FakePagerDuty, path_start: str) -> int:
    return sum(n for (m, p), n in fake.calls.items() if m == "GET" and p.startswith(path_start))


async def test_a_storm_reads_each_incident_once_and_the_oncall_once_per_ttl(
    engine: AsyncEngine, fake: FakePagerDuty, base_url: str, loopback_tls: LoopbackTls
) -> None:
    clock = Clock()
    connector = _connector(base_url, loopback_tls, clock)
    queue = JobQueue(engine)
    ingestor = Ingestor(
        engine,
        queue,
        FactGatherer(Sources(pagerduty=connector), AdapterOptions(), lambda: NOW),
        clock=lambda: NOW,
    )
    incidents = [f"PSTORM{n:02d}" for n in range(STORM)]
    for incident_id in incidents:
        _seed_resolved(fake, incident_id)
    fake.calls.clear()
    try:
        for event, status, at in (
            ("triggered", "triggered", CREATED),
            ("acknowledged", "acknowledged", ACKED),
            ("resolved", "resolved", RESOLVED),
        ):
            deliveries = [_delivery(i, event, status, at, f"{i}-{event}") for i in incidents]
            await accept_deliveries(engine, deliveries, now=NOW)
            await _ingest_all(engine, queue, ingestor)

        assert _reads(fake, "/oncalls") == 1  # 60 deliveries on one policy, within its TTL
        for incident_id in incidents:
            assert fake.calls[("GET", f"/incidents/{incident_id}")] == 1
            assert fake.calls[("GET", f"/incidents/{incident_id}/log_entries")] == 1
        rest_reads = _reads(fake, "/")
        # Users: Carol and Alice, once each, whatever the storm's size.
        assert _reads(fake, "/users/") <= 2
        assert rest_reads <= 3 * STORM
        for incident_id in incidents:
            record = await load_incident(engine, f"pagerduty:{incident_id}")
            assert record is not None
            incident = record.incident
            assert incident.status.value == "resolved"
            assert incident.manual_trigger is not None
            assert incident.manual_trigger.email == "carol@example.com"
            assert [a.person.email for a in incident.acknowledgers] == ["alice@example.com"]
            assert incident.primary_oncall is not None
            assert incident.primary_oncall.email == "alice@example.com"

        # Past the TTL, the on-call is read again: a shift may have changed hands.
        clock.now += 61
        late = [_delivery(incidents[0], "annotated", "resolved", "2026-11-20T15:00:00Z", "late")]
        await accept_deliveries(engine, late, now=NOW)
        await _ingest_all(engine, queue, ingestor)
        assert _reads(fake, "/oncalls") == 2
    finally:
        await connector.close()


async def test_a_covered_delivery_reads_nothing_and_a_later_change_reads_since(
    engine: AsyncEngine, fake: FakePagerDuty, base_url: str, loopback_tls: LoopbackTls
) -> None:
    connector = _connector(base_url, loopback_tls, Clock())
    queue = JobQueue(engine)
    gatherer = FactGatherer(Sources(pagerduty=connector), AdapterOptions(), lambda: NOW)
    ingestor = Ingestor(engine, queue, gatherer, clock=lambda: NOW)
    _seed_resolved(fake, "PLATE01")
    fake.calls.clear()
    try:
        resolved = _delivery("PLATE01", "resolved", "resolved", RESOLVED, "r1")
        await accept_deliveries(engine, [resolved], now=NOW)
        await _ingest_all(engine, queue, ingestor)
        assert fake.calls[("GET", "/incidents/PLATE01")] == 1

        # A late `triggered` and a second `resolved` sent again: the read was taken after
        # both events, so it holds what they say.
        late = [
            _delivery("PLATE01", "triggered", "triggered", CREATED, "t1"),
            _delivery("PLATE01", "resolved", "resolved", RESOLVED, "r2"),
        ]
        await accept_deliveries(engine, late, now=NOW)
        await _ingest_all(engine, queue, ingestor)
        assert fake.calls[("GET", "/incidents/PLATE01")] == 1
        assert fake.calls[("GET", "/incidents/PLATE01/log_entries")] == 1

        # A false-positive note after the resolution: a change the read cannot hold.
        fake.add_log_entry(
            "PLATE01",
            "annotate_log_entry",
            created_at="2026-11-20T16:00:00Z",
            agent=("user", ALICE),
            note="false positive: the probe was misconfigured",
        )
        note = _delivery("PLATE01", "annotated", "resolved", "2026-11-20T16:00:00Z", "n1")
        await accept_deliveries(engine, [note], now=NOW)
        await _ingest_all(engine, queue, ingestor)
        assert fake.calls[("GET", "/incidents/PLATE01")] == 2
        assert fake.calls[("GET", "/incidents/PLATE01/log_entries")] == 2
        [*_, since_read] = [e for e in fake.exchanges if e.path.endswith("/log_entries")]
        since = datetime.fromisoformat(RESOLVED.replace("Z", "+00:00")) - timedelta(minutes=1)
        assert dict(since_read.query).get("since") == since.strftime("%Y-%m-%dT%H:%M:%SZ")
        record = await load_incident(engine, "pagerduty:PLATE01")
        assert record is not None
        assert record.incident.false_positive  # the note's facts, from the log read since
    finally:
        await connector.close()
